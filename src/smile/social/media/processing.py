"""Type sniffing and image re-encoding (blocking: run in a thread).

The type comes from the bytes, never from the filename or the declared content type.
Images (JPEG, PNG, WebP, GIF) are decoded by Pillow and re-encoded to WebP without their
metadata (EXIF, GPS...), at most 2048 px on the long side, plus a 400 px thumbnail;
animated GIF/WebP stay animated (at most 300 frames). Before any pixel is decoded, frames x
width x height must fit `SMILE_MEDIA_MAX_DECODED_PIXELS` (422 otherwise), and animation
frames are decoded, resized and handed to the encoder one at a time. Videos (MP4, WebM) are recognised by their
magic bytes and stored as they are, without a thumbnail (the UI shows a video placeholder).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import filetype
from PIL import Image, ImageOps

from smile.kit.errors import AppError, UnsupportedMedia
from smile.kit.images import check_decoded_pixels, frame_count

IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
VIDEO_TYPES = {"video/mp4": "mp4", "video/webm": "webm"}
MAX_SIDE = 2048
THUMB_SIDE = 400
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


def _fit(frame: Image.Image, side: int) -> Image.Image:
    fitted = frame.convert("RGBA")
    fitted.thumbnail((side, side), Image.Resampling.LANCZOS)
    return fitted


class _LazyFrames(Image.Image):
    """Frames 1..count of an animation, as one multi-frame image for Pillow's `append_images`.

    The WebP encoder seeks through it; each frame is decoded and resized only then, so one
    decoded frame is alive at a time instead of a list of all of them.
    """

    def __init__(self, source: Image.Image, count: int, side: int) -> None:
        super().__init__()
        self._source, self._side, self.n_frames = source, side, count
        self.seek(0)

    def seek(self, frame: int) -> None:
        self._source.seek(frame + 1)
        fitted = _fit(self._source, self._side)
        self.im, self._mode, self._size = fitted.im, fitted.mode, fitted.size


def _encode(image: Image.Image, side: int) -> bytes:
    """WebP, no metadata, fitting in side x side; animation kept."""
    out = io.BytesIO()
    frames = frame_count(image, MAX_FRAMES)
    if frames > 1:
        image.seek(0)
        first = _fit(image, side)
        first.save(
            out,
            "WEBP",
            save_all=True,
            append_images=[_LazyFrames(image, frames - 1, side)],
            quality=82,
            duration=image.info.get("duration", 100),
            loop=image.info.get("loop", 0),
        )
    else:
        single = ImageOps.exif_transpose(image)
        single = single.convert("RGBA" if single.mode in ("RGBA", "LA", "P", "PA") else "RGB")
        single.thumbnail((side, side), Image.Resampling.LANCZOS)
        single.save(out, "WEBP", quality=82)
    return out.getvalue()


def _image(path: Path, max_pixels: int) -> Processed | None:
    try:
        with Image.open(path) as probe:
            if probe.format not in IMAGE_FORMATS:
                return None
            check_decoded_pixels(probe, max_pixels, MAX_FRAMES)
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


def process(path: Path, max_pixels: int) -> Processed:
    """Sniff and prepare an uploaded file; 415 for anything but the supported types.

    max_pixels bounds frames x width x height of an image before it is decoded (422 above it).
    """
    image = _image(path, max_pixels)
    if image is not None:
        return image
    kind = filetype.guess(str(path))
    if kind is not None and kind.mime in VIDEO_TYPES:
        return Processed("video", kind.mime, VIDEO_TYPES[kind.mime])
    raise UnsupportedMedia(REFUSED)
