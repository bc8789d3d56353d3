"""Palette sketches drawn the way a user would (flat shapes in a drawing program), for tests."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from imagine_med.engine.phantom.sketch.palette import BY_NAME


def rgb(name: str) -> tuple[int, int, int]:
    return BY_NAME[name].rgb


def chest_sketch(size: int = 256, antialias: bool = False) -> Image.Image:
    """A frontal chest: body, two lungs, heart, mediastinum, spine, ribs, a right-lung nodule
    (image left) and a left pleural effusion (image right)."""
    s = size / 256
    big = 4 if antialias else 1
    k = s * big
    im = Image.new("RGB", (size * big, size * big), "white")
    d = ImageDraw.Draw(im)

    def box(*xy: float) -> list[float]:
        return [v * k for v in xy]

    d.ellipse(box(20, 10, 236, 262), fill=rgb("soft_tissue"))
    d.ellipse(box(40, 40, 120, 215), fill=rgb("lung"))
    d.ellipse(box(136, 40, 216, 215), fill=rgb("lung"))
    d.rectangle(box(112, 30, 144, 230), fill=rgb("mediastinum"))
    d.ellipse(box(105, 110, 190, 200), fill=rgb("heart"))
    d.rectangle(box(120, 20, 136, 250), fill=rgb("spine"))
    for y in range(60, 200, 28):
        d.line(box(45, y, 118, y + 10), fill=rgb("bone"), width=max(1, round(3 * k)))
        d.line(box(138, y + 10, 211, y), fill=rgb("bone"), width=max(1, round(3 * k)))
    d.ellipse(box(60, 80, 84, 104), fill=rgb("nodule"))
    d.polygon(box(150, 215, 216, 215, 214, 165, 190, 195), fill=rgb("pleural_effusion"))
    if antialias:
        im = im.resize((size, size), Image.LANCZOS)
    return im


def png_bytes(im: Image.Image, **save) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **save)
    return buf.getvalue()
