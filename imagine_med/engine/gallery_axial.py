"""Contact sheets of the phantom axial skeleton: `python -m imagine_med.engine.gallery_axial
docs/gallery` writes phantom-spine.png (the cervical spine's three views, its dens, Jefferson
and flexion teardrop fractures; the lumbar spine's two views, a wedge, a burst, a
spondylolisthesis, a worn disc and a pars defect) and phantom-pelvis.png (normal, pubic
rami, open book, neck of femur fractures either side, a posterior dislocation). Each
caption ends with the number the key measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.registry import get_renderer
from imagine_med.engine.sheet import contact_sheet, sheet_main
from imagine_med.prompt import parse

SPINE_TILES = (
    ("C-spine lateral", "lateral c-spine x-ray, adult", None),
    ("C-spine AP", "AP x-ray of the cervical spine, adult", None),
    ("peg view", "peg view, adult", "overhang_total_mm"),
    ("dens type II (lateral)", "lateral c-spine, odontoid fracture type II", "prevertebral_c2_mm"),
    ("dens type II (peg)", "peg view, odontoid fracture type II", "line_in_dens"),
    ("Jefferson (peg)", "peg view, Jefferson fracture", "overhang_total_mm"),
    (
        "C5 flexion teardrop",
        "lateral c-spine, C5 flexion teardrop fracture",
        "posterior_line_step_mm",
    ),
    ("L-spine AP", "AP lumbar spine x-ray, adult", None),
    ("L-spine lateral", "lateral lumbar spine x-ray, adult", None),
    (
        "L1 wedge, moderate",
        "lateral lumbar spine, moderate L1 wedge fracture, elderly woman",
        "height_loss_pct",
    ),
    ("L1 burst (AP)", "AP lumbar spine, L1 burst fracture", "interpedicular_mm"),
    ("L5/S1 listhesis gr 2", "lateral lumbar spine, spondylolisthesis L5/S1 grade 2", "slip_pct"),
    ("L4/5 disc degeneration", "lateral lumbar spine, degenerative disc disease L4/5", "disc_mm"),
    ("L5 spondylolysis", "lateral lumbar spine, L5 spondylolysis", None),
)
PELVIS_TILES = (
    ("AP pelvis, adult", "pelvis x-ray, adult", "symphysis_mm"),
    (
        "right pubic rami, 84 F",
        "pelvis x-ray, right pubic rami fractures, woman aged 84",
        "symphysis_mm",
    ),
    ("open book", "pelvis x-ray, open book injury", "symphysis_mm"),
    (
        "left NOF Garden III",
        "pelvis x-ray, left neck of femur fracture, Garden III",
        "shenton_break_mm",
    ),
    (
        "right NOF Garden IV",
        "pelvis x-ray, right neck of femur fracture, Garden IV",
        "shenton_break_mm",
    ),
    (
        "left posterior dislocation",
        "pelvis x-ray, left posterior hip dislocation",
        "shenton_break_mm",
    ),
)


def _render(prompt: str, size: int, seed: int):
    spec = parse(prompt)[0]
    renderer = get_renderer("phantom", "xray", spec.region)
    return renderer.render(RenderRequest(spec=spec, seed=seed, width=size, height=size))


def _tile(res, caption: str, number: str | None) -> Image.Image:
    img = Image.fromarray(np.ascontiguousarray(res.pixels)).convert("L")
    m = res.findings[0].measurements if res.findings else {}
    if number is not None and not res.findings:  # a normal film: the key's own numbers
        m = _normal_numbers(res)
    if number is not None and number in m:
        caption = f"{caption}: {m[number]:g}"
    d = ImageDraw.Draw(img)
    w, h = img.size
    d.rectangle((0, h - 14, w, h), fill=0)
    d.text((3, h - 13), caption, fill=255)
    return img


def _normal_numbers(res) -> dict[str, float]:
    from imagine_med.engine.phantom.renderer_axial import measure

    region = res.tags["region"]
    return measure(res.label_map, res.pixel_spacing_mm[0], region, res.tags["view"], None)


def build(out_dir: Path, size: int, seed: int) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, tiles, cols in (
        ("phantom-spine.png", SPINE_TILES, 7),
        ("phantom-pelvis.png", PELVIS_TILES, 3),
    ):
        tiles = [_tile(_render(p, size, seed), c, n) for c, p, n in tiles]
        sheet = contact_sheet(tiles, cols, mode="L")
        path = out_dir / name
        sheet.save(path, optimize=True)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 256, build)


if __name__ == "__main__":
    raise SystemExit(main())
