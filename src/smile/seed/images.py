"""Small pictures drawn with Pillow for the demo: post images and initials avatars (PNG bytes).

Deterministic: the same name gives the same picture, so a second seed run draws nothing new.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFont

PALETTES = [
    ((255, 183, 77), (233, 30, 99)),
    ((38, 198, 218), (63, 81, 181)),
    ((156, 204, 101), (0, 121, 107)),
    ((255, 241, 118), (255, 112, 67)),
    ((179, 157, 219), (49, 27, 146)),
    ((129, 212, 250), (1, 87, 155)),
    ((255, 204, 188), (191, 54, 12)),
    ((200, 230, 201), (27, 94, 32)),
]
SIZE = (480, 320)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False, compress_level=1)
    return out.getvalue()


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # a Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int], size: tuple[int, int]) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def picture(name: str, caption: str = "") -> bytes:
    """A landscape-ish scene (sky gradient, sun, hills) or an abstract composition, keyed by `name`."""
    rng = random.Random(name)
    top, bottom = rng.choice(PALETTES)
    image = _gradient(top, bottom, SIZE)
    draw = ImageDraw.Draw(image, "RGBA")
    w, h = SIZE
    if rng.random() < 0.5:
        x, y, r = rng.randint(80, w - 80), rng.randint(60, h // 2), rng.randint(30, 70)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 250, 220, 230))
        for layer in range(3):
            base = h - 60 - layer * 50 + rng.randint(-20, 20)
            points = [(0, h)] + [(x, base + rng.randint(-40, 40)) for x in range(0, w + 60, 60)] + [(w, h)]
            shade = 40 + layer * 30
            draw.polygon(points, fill=(shade // 2, shade, shade // 2 + 20, 200))
    else:
        for _ in range(rng.randint(5, 9)):
            x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(20, 120)
            colour = tuple(rng.randint(40, 255) for _ in range(3)) + (rng.randint(90, 180),)
            if rng.random() < 0.5:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
            else:
                draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    if caption:
        font = _font(22)
        draw.rectangle((0, h - 40, w, h), fill=(0, 0, 0, 110))
        draw.text((14, h - 34), caption[:40], fill=(255, 255, 255), font=font)
    return _png(image)


def avatar(username: str, display_name: str) -> bytes:
    """A coloured square with the person's initials."""
    rng = random.Random(f"avatar:{username}")
    top, bottom = rng.choice(PALETTES)
    image = _gradient(top, bottom, (256, 256))
    initials = "".join(part[0] for part in display_name.split()[:2]).upper() or username[:2].upper()
    draw = ImageDraw.Draw(image)
    font = _font(110)
    box = draw.textbbox((0, 0), initials, font=font)
    x, y = (256 - (box[2] - box[0])) / 2 - box[0], (256 - (box[3] - box[1])) / 2 - box[1]
    draw.text((x, y), initials, fill=(255, 255, 255), font=font)
    return _png(image)
