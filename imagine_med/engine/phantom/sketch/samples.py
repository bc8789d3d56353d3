"""Two sketches drawn as a user would (flat shapes in the palette's colours): a frontal chest
and an axial head. For the gallery, the help's legend and the web app's "start from an
example"; `python -m imagine_med.engine.phantom.sketch.samples [out_dir]` writes the gallery
sheet (each sketch beside its film, CT and MRI)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from imagine_med.engine.phantom.sketch.palette import BY_NAME, colourise
from imagine_med.engine.phantom.sketch.render import render_sketch
from imagine_med.engine.sheet import contact_sheet, sheet_main
from imagine_med.prompt.spec import CaseSpec


def _rgb(name: str) -> tuple[int, int, int]:
    return BY_NAME[name].rgb


def chest(size: int = 256, antialias: bool = False) -> Image.Image:
    """Frontal chest: body, lungs, mediastinum, heart, spine, ribs; a nodule in the right
    lung (image left) and a left pleural effusion (image right). `antialias` draws it 4x
    larger and shrinks it, as a drawing program's smoothed edges (blended colours)."""
    big = 4 if antialias else 1
    k = size * big / 256
    im = Image.new("RGB", (size * big, size * big), "white")
    d = ImageDraw.Draw(im)

    def box(*xy: float) -> list[float]:
        return [v * k for v in xy]

    d.ellipse(box(20, 10, 236, 262), fill=_rgb("soft_tissue"))
    d.ellipse(box(40, 40, 120, 215), fill=_rgb("lung"))
    d.ellipse(box(136, 40, 216, 215), fill=_rgb("lung"))
    d.rectangle(box(112, 30, 144, 230), fill=_rgb("mediastinum"))
    d.ellipse(box(105, 110, 190, 200), fill=_rgb("heart"))
    d.rectangle(box(120, 20, 136, 250), fill=_rgb("spine"))
    for y in range(60, 200, 28):
        d.line(box(45, y, 118, y + 10), fill=_rgb("bone"), width=max(1, round(3 * k)))
        d.line(box(138, y + 10, 211, y), fill=_rgb("bone"), width=max(1, round(3 * k)))
    d.ellipse(box(60, 80, 84, 104), fill=_rgb("nodule"))
    d.polygon(box(150, 215, 216, 215, 214, 165, 190, 195), fill=_rgb("pleural_effusion"))
    return im.resize((size, size), Image.LANCZOS) if antialias else im


def head(size: int = 256) -> Image.Image:
    """Axial head: scalp, skull, grey and white matter, ventricles; a haemorrhage with
    oedema around it in the left hemisphere (image right)."""
    k = size / 256
    im = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(im)

    def box(*xy: float) -> list[float]:
        return [v * k for v in xy]

    d.ellipse(box(30, 14, 226, 242), fill=_rgb("soft_tissue"))
    d.ellipse(box(36, 20, 220, 236), fill=_rgb("bone"))
    d.ellipse(box(44, 28, 212, 228), fill=_rgb("csf"))
    d.ellipse(box(48, 32, 208, 224), fill=_rgb("grey_matter"))
    d.ellipse(box(64, 50, 192, 206), fill=_rgb("white_matter"))
    d.ellipse(box(108, 90, 124, 150), fill=_rgb("csf"))
    d.ellipse(box(132, 90, 148, 150), fill=_rgb("csf"))
    d.ellipse(box(150, 120, 196, 170), fill=_rgb("oedema"))
    d.ellipse(box(160, 130, 186, 160), fill=_rgb("haemorrhage"))
    return im


def _tile(pixels: np.ndarray, size: int) -> Image.Image:
    return Image.fromarray(pixels).convert("RGB").resize((size, size))


def build(out_dir: Path, size: int, seed: int) -> list[Path]:
    import io

    from imagine_med.engine.phantom.sketch.parse import parse_sketch

    tiles = []
    for drawing, rows in ((chest(size), (("xray", None), ("ct", None), ("mri", "t2"))),
                          (head(size), (("xray", None), ("ct", None), ("mri", "flair")))):
        buf = io.BytesIO()
        drawing.save(buf, format="PNG")
        labels = parse_sketch(buf.getvalue())
        tiles.append(Image.fromarray(colourise(labels)))
        for modality, seq in rows:
            spec = CaseSpec(prompt="sketch", modality=modality, region="sketch",
                            sequence=seq, width=size, height=size)
            tiles.append(_tile(render_sketch(labels, spec, seed, size, size).pixels, size))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "sketch.png"
    contact_sheet(tiles, cols=4).save(path)
    return [path]


if __name__ == "__main__":
    sys.exit(sheet_main(None, __doc__, 384, build))
