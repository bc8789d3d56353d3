"""The 2x2 grid of four labelled variants, numbered 1-4 as the U/V buttons are."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from imagine_med.provenance.visible import add_label_band


def gutter_px(cell_width: int) -> int:
    return max(2, cell_width // 128)


def compose_grid(variants: Sequence[Image.Image]) -> Image.Image:
    """Four unlabelled variants -> one grid; each cell carries its own label band and number."""
    if len(variants) != 4:
        raise ValueError(f"a grid needs 4 variants, got {len(variants)}")
    mode = "L" if all(v.mode == "L" for v in variants) else "RGB"
    cells = [add_label_band(v.convert(mode), tag=str(i + 1)) for i, v in enumerate(variants)]
    w = max(c.width for c in cells)
    h = max(c.height for c in cells)
    g = gutter_px(w)
    grid = Image.new(mode, (2 * w + g, 2 * h + g), 0 if mode == "L" else (0, 0, 0))
    for i, cell in enumerate(cells):
        grid.paste(cell, ((i % 2) * (w + g), (i // 2) * (h + g)))
    return grid


def cell_box(grid_size: tuple[int, int], index: int) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1) of variant `index` (0-3) in a grid of `grid_size`."""
    gw, gh = grid_size
    # Solve 2w + g = gw with g = gutter_px(w): try the few candidates around gw / 2.
    for w in range(gw // 2, gw // 2 - 64, -1):
        g = gw - 2 * w
        if g == gutter_px(w):
            break
    else:  # pragma: no cover - only for grids not made by compose_grid
        raise ValueError(f"{grid_size} is not a grid made by compose_grid")
    h = (gh - g) // 2
    x0, y0 = (index % 2) * (w + g), (index // 2) * (h + g)
    return x0, y0, x0 + w, y0 + h
