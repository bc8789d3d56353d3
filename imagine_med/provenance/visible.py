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


TWO_LINE_BELOW_PX = 320  # narrower images break the label in two, to keep the letters large


def band_height(width: int) -> int:
    if width < TWO_LINE_BELOW_PX:
        return max(MIN_BAND_PX, round(width * BAND_FRACTION * 2.2))
    return max(MIN_BAND_PX, round(width * BAND_FRACTION))


def label_lines(width: int) -> list[str]:
    if width < TWO_LINE_BELOW_PX:
        return ["SYNTHETIC", "NOT FOR DIAGNOSIS"]
    return [LABEL_TEXT]


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
        side = min(band - 2 * pad, max(12, round(width * 0.1)))
        tag_font = fit_font(tag, side - 4, side - 6)
        tl, tt, tr, tb = tag_font.getbbox(tag)
        box_w = max(side, tr - tl + 6)
        y0 = height + (band - side) / 2
        draw.rectangle([pad, y0, pad + box_w, y0 + side], outline=fg, width=1)
        draw.text(
            (pad + (box_w - (tr - tl)) / 2 - tl, y0 + (side - (tb - tt)) / 2 - tt),
            tag, fill=fg, font=tag_font,
        )
        left_reserved = pad + box_w + pad
    avail = width - 2 * left_reserved - 2 * pad
    lines = label_lines(width)
    line_h = (band - 2 * pad) / len(lines)
    font = fit_font(max(lines, key=len), avail, int(line_h * 0.9))
    for k, line in enumerate(lines):
        left, top, right, bottom = font.getbbox(line)
        x = (width - (right - left)) / 2 - left
        y = height + pad + k * line_h + (line_h - (bottom - top)) / 2 - top
        draw.text((x, y), line, fill=fg, font=font)
    return out
