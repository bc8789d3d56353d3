"""The visible "SYNTHETIC - NOT FOR DIAGNOSIS" band.

The band is added BELOW the image rather than drawn over it, so it never covers anatomy and
pixel coordinates (label maps, bounding boxes) are unchanged above it. Its height scales with
the image so the text stays legible when a chat client shows the grid as a thumbnail.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

LABEL_TEXT = "SYNTHETIC - NOT FOR DIAGNOSIS"
BAND_FRACTION = 0.085  # of the image width
MIN_BAND_PX = 16
BAND_COLOUR = 0
TEXT_COLOUR = 255


def band_height(width: int) -> int:
    return max(MIN_BAND_PX, round(width * BAND_FRACTION))


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def fit_font(text: str, max_width: int, max_height: int) -> ImageFont.FreeTypeFont:
    """The largest default-font size whose rendering of `text` fits the box."""
    size = max(6, int(max_height * 1.6))
    while size > 6:
        font = _font(size)
        left, top, right, bottom = font.getbbox(text)
        if right - left <= max_width and bottom - top <= max_height:
            return font
        size -= 1
    return _font(6)


def add_label_band(image: Image.Image, tag: str | None = None) -> Image.Image:
    """Return a copy of `image` with the label band below it; `tag` (e.g. a variant number)
    is shown in a box at the band's left end."""
    mode = "RGB" if image.mode not in ("L",) else "L"
    image = image.convert(mode)
    width, height = image.size
    band = band_height(width)
    out = Image.new(mode, (width, height + band), BAND_COLOUR if mode == "L" else (0, 0, 0))
    out.paste(image, (0, 0))
    draw = ImageDraw.Draw(out)
    fg = TEXT_COLOUR if mode == "L" else (255, 255, 255)
    pad = max(2, band // 8)
    left_reserved = 0
    if tag:
        tag_font = fit_font(tag, band * 2, band - 2 * pad)
        tl, tt, tr, tb = tag_font.getbbox(tag)
        box_w = max(band - 2 * pad, tr - tl + 2 * pad)
        draw.rectangle([pad, height + pad, pad + box_w, height + band - pad], outline=fg, width=1)
        draw.text(
            (pad + (box_w - (tr - tl)) / 2 - tl, height + (band - (tb - tt)) / 2 - tt),
            tag, fill=fg, font=tag_font,
        )
        left_reserved = pad + box_w + pad
    avail = width - 2 * left_reserved - 2 * pad
    font = fit_font(LABEL_TEXT, avail, band - 2 * pad)
    left, top, right, bottom = font.getbbox(LABEL_TEXT)
    x = (width - (right - left)) / 2 - left
    y = height + (band - (bottom - top)) / 2 - top
    draw.text((x, y), LABEL_TEXT, fill=fg, font=font)
    return out
