"""Contact sheets for docs/gallery: equal tiles pasted row by row on a dark grid, the one layout
every gallery module uses."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

BACKGROUND = 40  # the grid's grey between tiles


def contact_sheet(tiles: Sequence[Image.Image], cols: int, gap: int = 2,
                  mode: str = "RGB") -> Image.Image:
    """`tiles` (all one size) in rows of `cols`, `gap` pixels apart."""
    w, h = tiles[0].size
    rows = -(-len(tiles) // cols)
    fill = BACKGROUND if mode == "L" else (BACKGROUND,) * 3
    canvas = Image.new(mode, (cols * w + (cols - 1) * gap, rows * h + (rows - 1) * gap), fill)
    for i, t in enumerate(tiles):
        canvas.paste(t, ((i % cols) * (w + gap), (i // cols) * (h + gap)))
    return canvas
