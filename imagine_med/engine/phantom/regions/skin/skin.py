"""Plain skin: a seeded patch of layered skin by Fitzpatrick type, seen from above (2D).

Steps: the skin type's ITA target (drawn inside the type's ITA range) -> epidermal melanin
that gives that ITA (physics/skin_optics.melanin_for_ita) -> mottled melanin and blood ->
surface relief (skin furrows, follicular openings) -> hair. Coordinates are millimetres on
the skin, x to the image right, y down; photographs are as seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from imagine_med.engine.phantom.physics.skin_optics import melanin_for_ita

F32 = np.float32
TYPES = ("I", "II", "III", "IV", "V", "VI")
# ITA degrees per Fitzpatrick type (physics.md: very light > 55, light 41-55, intermediate
# 28-41, tan 10-28, brown -30 to 10, dark < -30; the open ends closed at 70 and -55)
ITA_RANGE = {"I": (55.0, 70.0), "II": (41.0, 55.0), "III": (28.0, 41.0), "IV": (10.0, 28.0),
             "V": (-30.0, 10.0), "VI": (-55.0, -30.0)}
# body sites: (terminal hairs in a 12 mm field, hair colour darkness 0-1 is set by type)
SITES = {"back": (0, 3), "trunk": (0, 3), "chest": (1, 5), "face": (0, 2), "arm": (2, 6),
         "leg": (2, 6), "scalp": (10, 16)}
DEFAULT_SITE = "back"
EXPOSURE = 1.05
LABELS = {"skin": 1, "hair": 2, "ruler": 3}


@dataclass(frozen=True)
class Field:
    """Pixel centres in mm: `x`, `y` (H, W) and the spacing `px`."""

    x: np.ndarray
    y: np.ndarray
    px: float
    width_mm: float


def make_field(width: int, height: int, width_mm: float) -> Field:
    px = width_mm / max(width, height)
    xs = (np.arange(width, dtype=F32) - width / 2 + 0.5) * F32(px)
    ys = (np.arange(height, dtype=F32) - height / 2 + 0.5) * F32(px)
    x, y = np.meshgrid(xs, ys)
    return Field(x, y, px, width_mm)


def noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth noise, about N(0, 1), with `cells` features across the larger side."""
    h, w = shape
    n = max(2, cells)
    small = rng.standard_normal((max(2, round(n * h / max(h, w))) + 3,
                                 max(2, round(n * w / max(h, w))) + 3)).astype(F32)
    img = Image.fromarray(small, mode="F").resize((w, h), Image.BICUBIC)
    out = np.asarray(img, F32)
    return out * F32(1.0 / max(1e-6, float(out[::7, ::7].std())))


@dataclass
class Skin:
    """One patient's skin patch: columns of plain skin, relief and hair."""

    skin_type: str
    ita_target: float
    site: str
    melanin: np.ndarray
    blood: np.ndarray
    relief: np.ndarray      # surface height (furrows low), for texture and highlights
    hair: np.ndarray        # hair cover 0-1
    hair_dark: float
    m0: float


def build_skin(rng: np.random.Generator, f: Field, skin_type: str, site: str) -> Skin:
    """Steps: ITA target -> melanin -> mottling and blood -> relief -> hair."""
    lo, hi = ITA_RANGE[skin_type]
    pad = 0.2 * (hi - lo)
    target = float(rng.uniform(lo + pad, hi - pad))
    b0 = float(rng.uniform(0.05, 0.09))
    m0 = melanin_for_ita(target, b0, EXPOSURE)
    shape = f.x.shape
    cells = max(2, int(f.width_mm / 3))
    mottle = noise(rng, shape, cells)
    melanin = (m0 * (1.0 + 0.05 * mottle)).astype(F32)
    blood = (b0 * (1.0 + 0.25 * noise(rng, shape, cells * 2))).astype(F32)
    relief = _relief(rng, f)
    hair = _hair(rng, f, site)
    dark = {"I": 0.45, "II": 0.6, "III": 0.8}.get(skin_type, 1.0)
    return Skin(skin_type, target, site, melanin, blood, relief, hair, dark, m0)


def _relief(rng: np.random.Generator, f: Field) -> np.ndarray:
    """Skin furrows: two crossing families of gently wavy lines ~0.6-1 mm apart (the
    rhomboid skin-line pattern), fading in and out along their length."""
    shape = f.x.shape
    cells = max(3, int(f.width_mm / 2.0))
    out = np.zeros(shape, F32)
    base = rng.uniform(0, np.pi)
    for k, ang in enumerate((base, base + rng.uniform(0.9, 1.3))):
        spacing = rng.uniform(0.6, 1.0)
        u = f.x * F32(np.cos(ang)) + f.y * F32(np.sin(ang)) + F32(0.15) * noise(rng, shape, cells)
        s = np.sin(F32(np.pi / spacing) * u)
        depth = np.clip(0.6 + 0.5 * noise(rng, shape, cells), 0.0, 1.0) * (1.0 - 0.3 * k)
        out = np.maximum(out, depth * np.exp(-(s / F32(0.12)) ** 2))
    return (-out).astype(F32)


def _hair(rng: np.random.Generator, f: Field, site: str) -> np.ndarray:
    """Terminal hairs: gently curved strands crossing the field (drawn with PIL)."""
    lo, hi = SITES.get(site, SITES[DEFAULT_SITE])
    n = int(rng.integers(lo, hi + 1))
    h, w = f.x.shape
    img = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(img)
    for _ in range(n):
        ang = rng.uniform(0, np.pi)
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
        length = rng.uniform(0.5, 1.2) * max(w, h)
        bend = rng.uniform(-0.15, 0.15)
        width = max(1, round(rng.uniform(0.05, 0.09) / f.px))
        t = np.linspace(-0.5, 0.5, 24)
        dx, dy = np.cos(ang), np.sin(ang)
        xs = cx + t * length * dx - bend * length * (t ** 2 - 0.25) * dy
        ys = cy + t * length * dy + bend * length * (t ** 2 - 0.25) * dx
        d.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=255, width=width)
    return (np.asarray(img, F32) / 255.0).astype(F32)
