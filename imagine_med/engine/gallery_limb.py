"""Contact sheets of the phantom wrist: `python -m imagine_med.engine.gallery_limb docs/gallery`
writes phantom-wrist.png (the region: views and ages), phantom-wrist-mechanisms.png (one row
per mechanism or pattern, PA and lateral), phantom-wrist-healing.png (a healing series
on PA and lateral), phantom-hand.png (views, a child, the boxer's fracture) and
phantom-elbow.png (a child's elbow, supracondylar fractures by Gartland grade),
phantom-ankle.png (views and the Weber levels), phantom-hip.png (Garden stages, a
posterior dislocation) and phantom-shoulder.png (anterior and posterior dislocations, AP
and scapular Y views)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.registry import get_renderer
from imagine_med.engine.sheet import contact_sheet, sheet_main
from imagine_med.prompt import parse

REGION_TILES = (
    ("PA, adult", "PA x-ray of the left wrist, adult"),
    ("lateral, adult", "lateral x-ray of the left wrist, adult"),
    ("PA oblique, adult", "oblique x-ray of the left wrist, adult"),
    ("PA, right wrist", "PA x-ray of the right wrist, adult"),
    ("PA, age 3", "PA x-ray of the left wrist, age 3"),
    ("PA, age 7", "PA x-ray of the left wrist, age 7"),
    ("PA, age 11", "PA x-ray of the left wrist, age 11"),
    ("lateral, age 11", "lateral x-ray of the left wrist, age 11"),
)
MECHANISMS = (
    ("FOOSH, 62 F: Colles", "left wrist, fall on the outstretched hand, woman aged 62"),
    ("flexed-wrist fall: Smith", "left wrist, fracture from a fall on the flexed wrist, "
     "age 50"),
    ("scaphoid waist", "left wrist, scaphoid waist fracture, man aged 24"),
    ("FOOSH, age 7: buckle", "left wrist, fracture from a fall on the outstretched hand, "
     "age 7"),
    ("FOOSH, age 12: SH II", "left wrist, fracture from a fall on the outstretched hand, "
     "age 12"),
    ("Salter-Harris I", "left wrist, Salter-Harris I fracture, age 11"),
    ("Salter-Harris III", "left wrist, Salter-Harris III fracture, age 11"),
    ("Salter-Harris IV", "left wrist, Salter-Harris IV fracture, age 11"),
    ("Salter-Harris V", "left wrist, Salter-Harris V fracture, age 11"),
    ("greenstick, age 8", "left wrist, greenstick fracture, age 8"),
    ("transverse shaft", "left wrist, transverse fracture of the radius, age 40"),
    ("oblique shaft", "left wrist, oblique fracture of the radius, age 40"),
    ("spiral shaft", "left wrist, spiral fracture of the radius, age 40"),
    ("comminuted (wedge)", "left wrist, comminuted fracture of the radius, age 40"),
    ("perilunate dislocation", "left wrist, perilunate dislocation, age 30"),
    ("lunate dislocation", "left wrist, lunate dislocation, age 30"),
)


ANKLE_TILES = (
    ("AP, adult", "AP x-ray of the left ankle, adult"),
    ("mortise, adult", "mortise view of the left ankle, adult"),
    ("lateral, adult", "lateral x-ray of the left ankle, adult"),
    ("AP, right ankle", "AP x-ray of the right ankle, adult"),
    ("Weber A (mortise)", "mortise view of the left ankle, Weber A fracture, age 40"),
    ("Weber B (mortise)", "mortise view of the left ankle, Weber B fracture, age 40"),
    ("Weber C (mortise)", "mortise view of the left ankle, Weber C fracture, age 40"),
    ("inversion injury: Weber B (lateral)",
     "lateral x-ray of the left ankle after an inversion injury, age 40"),
)


HAND_TILES = (
    ("PA, adult", "PA x-ray of the left hand, adult"),
    ("PA oblique, adult", "oblique x-ray of the left hand, adult"),
    ("lateral, adult", "lateral x-ray of the left hand, adult"),
    ("PA, age 6", "PA x-ray of the left hand, age 6"),
    ("punch: boxer's (PA)", "PA x-ray of the right hand after a punch, man aged 22"),
    ("boxer's (oblique)", "oblique x-ray of the right hand, boxer's fracture, man aged 22"),
    ("boxer's (lateral)", "lateral x-ray of the right hand, boxer's fracture, man aged 22"),
    ("PA, right hand", "PA x-ray of the right hand, adult"),
)


ELBOW_TILES = (
    ("AP, age 7", "AP x-ray of the left elbow, age 7"),
    ("lateral, age 7", "lateral x-ray of the left elbow, age 7"),
    ("AP, adult", "AP x-ray of the left elbow, adult"),
    ("lateral, adult", "lateral x-ray of the left elbow, adult"),
    ("Gartland I: fat pads only", "lateral x-ray of the left elbow, supracondylar fracture, "
     "gartland i, age 6"),
    ("Gartland II (lateral)", "lateral x-ray of the left elbow, supracondylar fracture, "
     "gartland ii, age 6"),
    ("Gartland III (lateral)", "lateral x-ray of the left elbow, supracondylar fracture, "
     "gartland iii, age 6"),
    ("Gartland III (AP)", "AP x-ray of the left elbow, supracondylar fracture, gartland iii, "
     "age 6"),
    ("posterior dislocation (lateral)", "lateral x-ray of the left elbow, elbow dislocation, "
     "adult"),
    ("posterior dislocation (AP)", "AP x-ray of the left elbow, elbow dislocation, adult"),
)


HIP_TILES = (
    ("AP, age 75", "AP x-ray of the left hip, age 75"),
    ("Garden I", "AP x-ray of the left hip, neck of femur fracture, Garden I, age 80"),
    ("Garden II", "AP x-ray of the left hip, neck of femur fracture, Garden II, age 80"),
    ("Garden III", "AP x-ray of the left hip, neck of femur fracture, Garden III, age 80"),
    ("Garden IV", "AP x-ray of the left hip, neck of femur fracture, Garden IV, age 80"),
    ("dashboard: posterior dislocation", "AP x-ray of the left hip, dashboard injury, age 30"),
    ("AP, right hip", "AP x-ray of the right hip, age 40"),
    ("right hip, posterior dislocation", "AP x-ray of the right hip, posterior dislocation, "
     "age 30"),
)


SHOULDER_TILES = (
    ("AP, left, adult", "AP x-ray of the left shoulder, adult"),
    ("anterior dislocation", "AP x-ray of the left shoulder, anterior dislocation, age 25"),
    ("AP, right, adult", "AP x-ray of the right shoulder, adult"),
    ("anterior dislocation", "AP x-ray of the right shoulder, anterior dislocation, age 25"),
    ("Y view, normal", "scapular Y view of the left shoulder, adult"),
    ("Y view, anterior dislocation", "Y view of the left shoulder, anterior dislocation, age 25"),
    ("Y view, posterior dislocation", "Y view of the left shoulder, posterior dislocation, "
     "age 25"),
    ("AP, posterior (light bulb)", "AP x-ray of the left shoulder, posterior dislocation, "
     "age 25"),
)


def _render(prompt: str, size: int, seed: int, weeks: float | None = None):
    spec = parse(prompt)[0]
    renderer = get_renderer("phantom", "xray", "wrist")
    req = RenderRequest(spec=spec, seed=seed, width=size, height=size)
    if weeks is None:
        return renderer.render(req)
    return renderer.render_at((replace(req), weeks))  # type: ignore[attr-defined]


def _tile(res, caption: str) -> Image.Image:
    img = Image.fromarray(np.ascontiguousarray(res.pixels)).convert("RGB")
    d = ImageDraw.Draw(img)
    w, h = img.size
    d.rectangle((0, h - 14, w, h), fill=(0, 0, 0))
    d.text((3, h - 13), caption, fill=(255, 255, 255))
    return img


def build_mechanism_sheet(out_dir: Path, size: int = 256, seed: int = 11) -> Path:
    """Rows of four: each mechanism or pattern on a PA and a lateral, two per row."""
    tiles = []
    for caption, prompt in MECHANISMS:
        for view in ("PA", "lateral"):
            res = _render(f"{view} x-ray of the {prompt}", size, seed)
            tiles.append(_tile(res, f"{caption} ({view})"))
    path = out_dir / "phantom-wrist-mechanisms.png"
    contact_sheet(tiles, 4).save(path, optimize=True)
    return path


def build_healing_sheet(out_dir: Path, size: int = 256, seed: int = 11) -> Path:
    tiles = []
    for view in ("PA", "lateral"):
        for weeks in (0.0, 2.0, 6.0, 12.0):
            res = _render(f"{view} x-ray, healing series of a left Colles fracture, age 60",
                          size, seed, weeks)
            tiles.append(_tile(res, f"{view}, {weeks:g} weeks"))
    path = out_dir / "phantom-wrist-healing.png"
    contact_sheet(tiles, 4).save(path, optimize=True)
    return path


# sheets of one tile per (caption, prompt): file name -> tiles
TILE_SHEETS = {"phantom-wrist.png": REGION_TILES, "phantom-hand.png": HAND_TILES,
               "phantom-elbow.png": ELBOW_TILES, "phantom-ankle.png": ANKLE_TILES,
               "phantom-hip.png": HIP_TILES, "phantom-shoulder.png": SHOULDER_TILES}


def build_tile_sheet(out_dir: Path, name: str, size: int = 256, seed: int = 11) -> Path:
    tiles = [_tile(_render(p, size, seed), c) for c, p in TILE_SHEETS[name]]
    path = out_dir / name
    contact_sheet(tiles, 4).save(path, optimize=True)
    return path


def build(out_dir: Path, size: int, seed: int) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [build_mechanism_sheet(out_dir, size, seed), build_healing_sheet(out_dir, size, seed),
            *(build_tile_sheet(out_dir, name, size, seed) for name in TILE_SHEETS)]


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 256, build)

if __name__ == "__main__":
    sys.exit(main())
