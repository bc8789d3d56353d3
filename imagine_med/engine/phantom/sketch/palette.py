"""The sketch palette: one flat colour per tissue or finding a user may draw.

Why a palette: a sketch is a label map a person can paint in any drawing program. Each colour
names a structure (the region label names of `labels.py` and `regions/head`), the tissue of
`tissues.py` that gives it its physics on every modality, and, for radiographs, how deep the
structure runs along the beam (a sketch is flat; the film needs path lengths). Ids are the
palette's own (a sketch mixes chest and head words, whose region ids collide), stable, and
written into the job's label maps with their names.

Colours are far apart (at least `MIN_DISTANCE` in RGB) so a colour blurred by a drawing program's
anti-aliasing or a lossy save still snaps to exactly one entry (`SNAP_TOLERANCE`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from imagine_med.engine.phantom.tissues import TISSUES, Tissue

BACKGROUND_ID = 0
# background: white (a fresh canvas), black (a film's air) or transparent
BACKGROUND_RGB = ((255, 255, 255), (0, 0, 0))
SNAP_TOLERANCE = 28.0  # RGB distance within which a colour is taken as a palette colour
MIN_DISTANCE = 2 * SNAP_TOLERANCE + 4  # palette colours (and background) at least this far apart


@dataclass(frozen=True)
class Entry:
    """One drawable structure. `depth_mm`: its largest extent along a radiograph's beam (None:
    as deep as it is wide, for round lesions); `within`: the entry whose tissue it displaces
    along the beam (the body's soft tissue when None); `finding`: a finding the answer key
    measures, not anatomy."""

    id: int
    name: str
    rgb: tuple[int, int, int]
    tissue_name: str
    depth_mm: float | None
    within: str | None = None
    finding: bool = False
    group: str = "chest"
    note: str = ""

    @property
    def tissue(self) -> Tissue:
        return TISSUES[self.tissue_name]

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


# Depths along the beam: an adult chest is ~220 mm deep (front to back) at the hila, the heart
# ~120 mm, the mediastinum between the lungs ~100 mm, a rib ~10 mm of bone, a vertebral body
# ~45 mm; an adult head ~180 mm (the body's own depth is set per group in render.py).
PALETTE: tuple[Entry, ...] = (
    Entry(1, "soft_tissue", (222, 184, 135), "muscle", None, group="any",
          note="body wall, neck, limbs: the body outline everything else sits in"),
    Entry(2, "fat", (255, 215, 0), "fat", 40.0, group="any"),
    Entry(3, "bone", (160, 160, 160), "cortical_bone", 10.0, group="any",
          note="ribs, clavicles, skull"),
    Entry(4, "spine", (96, 96, 96), "diploe", 45.0, group="any"),
    Entry(5, "lung", (100, 170, 255), "lung", 180.0),
    Entry(6, "heart", (220, 30, 30), "blood", 120.0),
    Entry(7, "mediastinum", (190, 110, 220), "fat", 100.0),
    Entry(8, "trachea", (0, 200, 200), "air", 18.0),
    Entry(9, "liver", (140, 70, 20), "liver", 150.0),
    Entry(10, "gastric_bubble", (0, 0, 150), "air", 40.0),
    Entry(11, "grey_matter", (255, 140, 180), "grey_matter", 140.0, group="head"),
    Entry(12, "white_matter", (200, 255, 200), "white_matter", 120.0, within="grey_matter",
          group="head"),
    Entry(13, "csf", (0, 90, 255), "csf", 60.0, within="grey_matter", group="head"),
    # findings (drawn over the structure they sit in)
    Entry(20, "consolidation", (255, 130, 0), "consolidation", 90.0, within="lung",
          finding=True),
    Entry(21, "pleural_effusion", (0, 150, 60), "serous_fluid", 120.0, within="lung",
          finding=True),
    Entry(22, "pneumothorax", (170, 255, 255), "air", 140.0, within="lung", finding=True),
    Entry(23, "nodule", (255, 0, 255), "tumour", None, within="lung", finding=True),
    Entry(24, "mass", (150, 0, 100), "tumour", None, within="lung", finding=True),
    Entry(25, "oedema", (140, 255, 110), "oedema", 60.0, within="white_matter", finding=True,
          group="head"),
    Entry(26, "haemorrhage", (100, 0, 0), "blood_acute", None, within="grey_matter",
          finding=True, group="head"),
)

BY_NAME: dict[str, Entry] = {e.name: e for e in PALETTE}
BY_ID: dict[int, Entry] = {e.id: e for e in PALETTE}
NAMES: dict[int, str] = {e.id: e.name for e in PALETTE}


def entry(name: str) -> Entry:
    return BY_NAME[name]


def colours() -> np.ndarray:
    """(n, 3) palette colours, in PALETTE order."""
    return np.array([e.rgb for e in PALETTE], dtype=np.float32)


def min_distance() -> float:
    """The smallest RGB distance between two palette colours or a colour and a background."""
    cols = np.concatenate([colours(), np.array(BACKGROUND_RGB, np.float32)])
    d = np.linalg.norm(cols[:, None] - cols[None], axis=2)
    d[np.diag_indices(len(cols))] = np.inf
    d[len(PALETTE):, len(PALETTE):] = np.inf  # the two backgrounds are one label
    return float(d.min())


def colourise(labels: np.ndarray) -> np.ndarray:
    """A label map (palette ids) as the RGB sketch that draws it (white background)."""
    lut = np.full((256, 3), 255, np.uint8)
    for e in PALETTE:
        lut[e.id] = e.rgb
    return lut[labels]


def legend_png(swatch: int = 28) -> bytes:
    """The palette as a PNG legend (swatch, name, hex, what it is): for /imagine-med-help and
    the web app, so a user can pick colours from it with an eyedropper."""
    rows = [("background", (255, 255, 255), "#ffffff", "white, black or transparent: air")]
    rows += [(e.name.replace("_", " ") + (" (finding)" if e.finding else ""), e.rgb, e.hex,
              f"{e.group}; {e.tissue_name.replace('_', ' ')}" + (f"; {e.note}" if e.note else ""))
             for e in PALETTE]
    font = ImageFont.load_default(size=max(11, swatch // 2))
    pad, width = 8, 760
    img = Image.new("RGB", (width, pad * 2 + (swatch + 4) * (len(rows) + 1)), "white")
    d = ImageDraw.Draw(img)
    d.text((pad, pad), "imagine-med sketch palette: paint with these exact colours (PNG)",
           fill="black", font=font)
    for i, (name, rgb, hexv, what) in enumerate(rows, start=1):
        y = pad + i * (swatch + 4)
        d.rectangle([pad, y, pad + swatch * 2, y + swatch], fill=rgb, outline=(0, 0, 0))
        d.text((pad + swatch * 2 + 10, y + 4), f"{name}", fill="black", font=font)
        d.text((pad + swatch * 2 + 230, y + 4), hexv, fill="black", font=font)
        d.text((pad + swatch * 2 + 320, y + 4), what[:48], fill=(60, 60, 60), font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def palette_text() -> str:
    """One line per entry, for help messages and docs."""
    return "\n".join(f"{e.hex}  {e.name.replace('_', ' ')}" + (" (finding)" if e.finding else "")
                     for e in PALETTE)
