"""Decoding budget for untrusted images: frames x width x height, checked before any pixel is decoded.

A few kilobytes of GIF can declare a 2048x2048 canvas and hundreds of frames, each of which
decodes to the full canvas (16 MB as RGBA). The header tells the size and frame count
without decoding, so the bound is checked first; `SMILE_MEDIA_MAX_DECODED_PIXELS` sets it.
"""

from __future__ import annotations

from PIL import Image

from smile.kit.errors import Invalid


def frame_count(image: Image.Image, max_frames: int | None = None) -> int:
    """Frames that will be decoded (at most max_frames); reads headers only."""
    frames = getattr(image, "n_frames", 1) or 1
    return min(frames, max_frames) if max_frames else frames


def check_decoded_pixels(image: Image.Image, limit: int, max_frames: int | None = None) -> int:
    """Raise Invalid (422) when decoding `image` would produce more than `limit` pixels; returns the count."""
    frames = frame_count(image, max_frames)
    total = frames * image.width * image.height
    if total > limit:
        what = f"{frames} frames of {image.width}x{image.height}" if frames > 1 else f"{image.width}x{image.height}"
        raise Invalid(
            f"The image is too large to process: {what} pixels is {_mp(total)} megapixels once decoded, "
            f"and the limit is {_mp(limit)}. Upload a smaller image or a shorter animation.",
            fields={"file": "too_many_pixels"},
        )
    return total


def _mp(pixels: int) -> str:
    return f"{pixels / 1_000_000:.0f}" if pixels >= 10_000_000 else f"{pixels / 1_000_000:.1f}"
