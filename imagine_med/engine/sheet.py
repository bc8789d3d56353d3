"""Contact sheets for docs/gallery: equal tiles pasted row by row on a dark grid, the one layout
every gallery module uses."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

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


def sheet_main(argv: list[str] | None, doc: str | None, size: int,
               build: Callable[[Path, int, int], Iterable[Path]]) -> int:
    """The command line of a gallery module: `[out_dir] [--size N] [--seed N]`; `build` writes
    its sheets and returns their paths."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("out_dir", nargs="?", default="docs/gallery")
    ap.add_argument("--size", type=int, default=size)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    for path in build(Path(args.out_dir), args.size, args.seed):
        print(f"{path} ({path.stat().st_size // 1024} KiB)")
    return 0
