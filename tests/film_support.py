"""Reading a film's side marker: which letter its glyph is."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def marker_letter(glyph: np.ndarray) -> str:
    """'L' or 'R', whichever rendered letter overlaps the marker's glyph best."""
    ys, xs = np.nonzero(glyph)
    crop = glyph[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    scores = {}
    for ch in "LR":
        im = Image.new("L", (200, 200), 0)
        ImageDraw.Draw(im).text((20, 20), ch, fill=255, font=ImageFont.load_default(size=120))
        a = np.asarray(im) > 128
        yy, xx = np.nonzero(a)
        ref = Image.fromarray(a[yy.min():yy.max() + 1, xx.min():xx.max() + 1])
        ref = np.asarray(ref.resize(crop.shape[::-1], Image.NEAREST)) > 0
        scores[ch] = (ref & crop).sum() / (ref | crop).sum()
    return max(scores, key=scores.get)
