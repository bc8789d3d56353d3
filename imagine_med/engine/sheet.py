"""Contact sheets for docs/gallery: equal tiles pasted row by row on a dark grid, the one layout
every gallery module uses."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from imagine_med.engine.base import RenderResult

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


def prompt_tile(prompt: str, caption: str, width: int, height: int, seed: int,
                note: Callable[[RenderResult], str | None] | None = None,
                font_px: int = 10) -> Image.Image:
    """One tile rendered from a prompt as a user would type it (the parser's words, the
    registry's renderer), its caption top left and `note(result)` (e.g. what the key
    measured) bottom left."""
    from PIL import ImageDraw, ImageFont

    from imagine_med.engine.base import RenderRequest
    from imagine_med.engine.registry import get_renderer
    from imagine_med.prompt import parse

    spec = parse(prompt)[0]
    res = get_renderer("phantom", spec.modality, spec.region).render(
        RenderRequest(spec=spec, seed=seed, width=width, height=height))
    img = Image.fromarray(res.pixels).convert("RGB")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=font_px)
    d.text((4, 3), caption, fill=(255, 255, 120), font=font)
    text = note(res) if note else None
    if text:
        d.text((4, height - height // 14), text, fill=(200, 200, 200), font=font)
    return img


def prompt_sheet(path: Path, tiles: Sequence[tuple[str, str]], width: int, height: int,
                 seed: int, cols: int, note: Callable[[RenderResult], str | None] | None = None,
                 font_px: int = 10, mode: str = "L") -> Path:
    """A sheet of (caption, prompt) tiles written to `path` (its folder created)."""
    sheet = contact_sheet([prompt_tile(p, c, width, height, seed, note, font_px)
                           for c, p in tiles], cols, gap=3).convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, optimize=True)
    return path
