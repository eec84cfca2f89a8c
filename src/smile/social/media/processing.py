"""Type sniffing and image re-encoding (blocking: run in a thread).

The type comes from the bytes, never from the filename or the declared content type.
Images (JPEG, PNG, WebP, GIF) are decoded by Pillow and re-encoded to WebP without their
metadata (EXIF, GPS...), at most 2048 px on the long side, plus a 400 px thumbnail;
animated GIF/WebP stay animated. Videos (MP4, WebM) are recognised by their magic bytes
and stored as they are, without a thumbnail (the UI shows a video placeholder).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import filetype
from PIL import Image, ImageOps, ImageSequence

from smile.kit.errors import AppError, Invalid, UnsupportedMedia

IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
VIDEO_TYPES = {"video/mp4": "mp4", "video/webm": "webm"}
MAX_SIDE = 2048
THUMB_SIDE = 400
MAX_PIXELS = 50_000_000
MAX_FRAMES = 300


REFUSED = "Upload a JPEG, PNG, WebP or GIF image, or an MP4 or WebM video."


@dataclass
class Processed:
    kind: str  # image|video
    mime: str
    ext: str
    width: int | None = None
    height: int | None = None
    image: bytes | None = None  # re-encoded image (None for videos: the upload is stored as is)
    thumb: bytes | None = None


def _encode(image: Image.Image, side: int) -> bytes:
    """WebP, no metadata, fitting in side x side; animation kept."""
    out = io.BytesIO()
    if getattr(image, "n_frames", 1) > 1:
        frames = []
        for frame in ImageSequence.Iterator(image):
            if len(frames) >= MAX_FRAMES:
                break
            frame = frame.convert("RGBA")
            frame.thumbnail((side, side), Image.Resampling.LANCZOS)
            frames.append(frame)
        frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], quality=82,
                       duration=image.info.get("duration", 100), loop=image.info.get("loop", 0))
    else:
        single = ImageOps.exif_transpose(image)
        single = single.convert("RGBA" if single.mode in ("RGBA", "LA", "P", "PA") else "RGB")
        single.thumbnail((side, side), Image.Resampling.LANCZOS)
        single.save(out, "WEBP", quality=82)
    return out.getvalue()


def _image(path: Path) -> Processed | None:
    try:
        with Image.open(path) as probe:
            if probe.format not in IMAGE_FORMATS:
                return None
            if probe.width * probe.height > MAX_PIXELS:
                raise Invalid("The image has too many pixels (at most 50 megapixels).")
            probe.verify()
    except AppError:
        raise
    except Exception:  # Pillow raises many types on files it cannot read: all mean "not an image"
        return None
    try:
        with Image.open(path) as image:
            full = _encode(image, MAX_SIDE)
            thumb = _encode(image, THUMB_SIDE)
        with Image.open(io.BytesIO(full)) as done:
            width, height = done.size
    except Exception as exc:
        raise UnsupportedMedia("The image could not be decoded. " + REFUSED) from exc
    return Processed("image", "image/webp", "webp", width, height, full, thumb)


def process(path: Path) -> Processed:
    """Sniff and prepare an uploaded file; 415 for anything but the supported types."""
    image = _image(path)
    if image is not None:
        return image
    kind = filetype.guess(str(path))
    if kind is not None and kind.mime in VIDEO_TYPES:
        return Processed("video", kind.mime, VIDEO_TYPES[kind.mime])
    raise UnsupportedMedia(REFUSED)
