"""Contact sheets of the phantom knee and foot: `python -m imagine_med.engine.gallery_knee_foot
docs/gallery` writes phantom-knee.png (views with a skyline, a child, Schatzker I-VI, the patella, a
lipohaemarthrosis, Kellgren-Lawrence grades), phantom-foot.png (views, fifth
metatarsal zones, Lisfranc, a march fracture over weeks) and
phantom-fracture-patterns.png (segmental, avulsion, stress and intra-articular patterns).
Tiles marked x2 are a finding's neighbourhood at twice the scale."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from imagine_med.engine.gallery_limb import _render, _tile
from imagine_med.engine.phantom.regions.limb.labels import LABELS
from imagine_med.engine.sheet import contact_sheet, sheet_main

KNEE_TILES = (
    ("AP, left, adult", "AP x-ray of the left knee, age 40"),
    ("lateral (30 deg flexed)", "lateral x-ray of the left knee, age 40"),
    ("AP, right, age 12", "AP x-ray of the right knee, age 12"),
    ("horizontal-beam lateral", "cross-table lateral x-ray of the left knee, age 40"),
    *((f"Schatzker {r}", f"AP x-ray of the left knee, Schatzker {r} tibial plateau "
       "fracture, age 45") for r in ("I", "II", "III", "IV", "V", "VI")),
    ("patella, transverse (lateral)", "lateral x-ray of the left knee, patellar fracture, "
     "age 50"),
    ("lipohaemarthrosis (horizontal beam)", "cross-table lateral x-ray of the left knee, "
     "tibial plateau fracture with lipohaemarthrosis, age 45"),
    ("skyline (Merchant)", "skyline view of the left knee, age 40"),
    *((f"Kellgren-Lawrence {g}", f"AP x-ray of the left knee, Kellgren-Lawrence {g}, "
       "age 68") for g in (2, 3, 4)),
)
FOOT_TILES = (
    ("DP, left", "DP x-ray of the left foot, age 40"),
    ("medial oblique, left", "oblique x-ray of the left foot, age 40"),
    ("lateral, left", "lateral x-ray of the left foot, age 40"),
    ("DP, right", "DP x-ray of the right foot, age 40"),
    ("5th MT base avulsion (zone 1)", "DP x-ray of the left foot, fifth metatarsal base "
     "avulsion fracture, age 35"),
    ("Jones (zone 2)", "DP x-ray of the left foot, Jones fracture, age 30"),
    ("Jones, oblique", "oblique x-ray of the left foot, Jones fracture, age 30"),
    ("Lisfranc", "DP x-ray of the left foot, Lisfranc injury, age 30"),
)
MARCH = "DP x-ray of the left foot, march fracture, healing series, age 22"
PATTERN_TILES = (
    ("segmental tibia (AP)", "AP x-ray of the left knee, segmental fracture of the tibia, "
     "age 35"),
    ("segmental tibia (lateral)", "lateral x-ray of the left knee, segmental fracture of the "
     "tibia, age 35"),
    ("avulsion: Segond", "AP x-ray of the left knee, Segond fracture, age 25"),
    ("avulsion: 5th MT tuberosity", "DP x-ray of the left foot, fifth metatarsal base "
     "avulsion fracture, age 35"),
    ("intra-articular: Schatzker II", "AP x-ray of the left knee, Schatzker II tibial plateau "
     "fracture, 8 mm depression, age 45"),
    ("intra-articular: Schatzker IV", "AP x-ray of the left knee, Schatzker IV tibial plateau "
     "fracture, age 45"),
)


def _zoomed(prompt: str, size: int, seed: int, weeks: float | None = None):
    """A finding's tile: rendered at twice the size and cropped round the finding's box
    (a hairline or a 3 mm step is lost when a whole film shrinks into a tile); a normal
    film is shown whole."""
    res = _render(prompt, 2 * size, seed, weeks)
    box = res.findings[0].bbox if res.findings else None
    if box is None:
        return _render(prompt, size, seed, weeks)
    h, w = res.pixels.shape
    cx, cy = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
    if "lipohaemarthrosis" in prompt:  # the level, not the fracture
        ys, xs = np.nonzero(np.isin(res.label_map, [LABELS["effusion_fat"],
                                                    LABELS["haemarthrosis"]]))
        cx, cy = int(xs.mean()), int(ys.mean())
    x0 = int(np.clip(cx - size // 2, 0, w - size))
    y0 = int(np.clip(cy - size // 2, 0, h - size))
    crop = (slice(y0, y0 + size), slice(x0, x0 + size))
    return replace(res, pixels=np.ascontiguousarray(res.pixels[crop]),
                   label_map=np.ascontiguousarray(res.label_map[crop]))


def _tiles(table, size: int, seed: int) -> list:
    out = []
    for caption, prompt in table:
        zoom = any(w in prompt for w in ("fracture", "injury", "Kellgren"))
        res = _zoomed(prompt, size, seed) if zoom else _render(prompt, size, seed)
        out.append(_tile(res, caption + (" (x2)" if zoom else "")))
    return out


def _sheet(out: Path, tiles) -> Path:
    contact_sheet(tiles, 4).convert("L").save(out, optimize=True)  # grey films: one channel
    return out


def build_knee_sheet(out_dir: Path, size: int = 256, seed: int = 11) -> Path:
    return _sheet(out_dir / "phantom-knee.png", _tiles(KNEE_TILES, size, seed))


def _march_tiles(size: int, seed: int, weeks=(0.0, 2.0, 6.0, 12.0)) -> list:
    out = []
    for w in weeks:
        res = _zoomed(MARCH, size, seed, w)
        zoomed = bool(res.findings and res.findings[0].bbox)  # united: shown whole
        out.append(_tile(res, f"march fracture, {w:g} weeks" + (" (x2)" if zoomed else "")))
    return out


def build_foot_sheet(out_dir: Path, size: int = 256, seed: int = 11) -> Path:
    tiles = _tiles(FOOT_TILES, size, seed)
    return _sheet(out_dir / "phantom-foot.png", tiles + _march_tiles(size, seed))


def build_pattern_sheet(out_dir: Path, size: int = 256, seed: int = 11) -> Path:
    tiles = _tiles(PATTERN_TILES, size, seed)
    tiles += _march_tiles(size, seed, (2.0, 6.0))
    return _sheet(out_dir / "phantom-fracture-patterns.png", tiles)


def build(out_dir: Path, size: int, seed: int) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [build_knee_sheet(out_dir, size, seed), build_foot_sheet(out_dir, size, seed),
            build_pattern_sheet(out_dir, size, seed)]


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 256, build)


if __name__ == "__main__":
    sys.exit(main())
