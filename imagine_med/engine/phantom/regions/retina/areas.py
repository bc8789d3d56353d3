"""Findings of the retina that cover an area rather than a spot: retinal detachment, the
ischaemic whitening of an artery occlusion, geographic atrophy, a neovascular (wet) AMD
membrane with its subretinal blood, and vitreous haemorrhage; plus panretinal laser scars.

An `Area` is a soft density (0-1) over the fundus, a function of (u, v) in millimetres in
the right-eye frame (u toward the disc = nasal, v down = inferior), built once from the
seeded rng. The label is where the density passes one half; the optics mix each area's
colour in by its density, so label and picture share one outline.
Shapes and sizes: physics.md "Fundus additions" and standard atlases (Kanski, Clinical
Ophthalmology, 9th ed.: detachment ch. 16, CRAO ch. 13, AMD ch. 14), judged not measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.regions.retina.eye import FIELD_RADIUS, EyeModel
from imagine_med.engine.phantom.regions.retina.lesions import Lesion, Placer, quadrant_of

Density = Callable[[np.ndarray, np.ndarray], np.ndarray]

# unit vectors (right-eye frame) from the fovea toward each quadrant's far corner
QUADRANT_DIRECTION = {"superotemporal": (-0.7071, -0.7071), "superonasal": (0.7071, -0.7071),
                      "inferotemporal": (-0.7071, 0.7071), "inferonasal": (0.7071, 0.7071),
                      "superior": (0.0, -1.0), "inferior": (0.0, 1.0),
                      "temporal": (-1.0, 0.0), "nasal": (1.0, 0.0)}
FOVEOLA_SPARED_MM = 0.35  # no ganglion cells at the foveola: it stays red (cherry-red spot)
WHITENING_SIGMA_MM = 2.4  # ischaemic oedema is densest where the ganglion cell layer is thick
LASER_SPOT_MM = (0.12, 0.2)  # PRP burns 200-500 um, healed scars a little larger
LASER_RING_FROM_FOVEA_MM = (3.6, 6.1)  # outside the arcades, sparing the macula


@dataclass
class Area:
    kind: str
    density: Density
    quadrant: str | None = None


def _smooth(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0)


def _field(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (np.hypot(u, v) < FIELD_RADIUS + 0.5).astype(np.float32)


def detachment(eye: EyeModel, rng: np.random.Generator, quadrant: str, macula_off: bool
               ) -> Area:
    """A rhegmatogenous detachment rising from the periphery of one quadrant: the detached
    retina is the part beyond a wavy edge whose distance from the fovea, along the quadrant's
    direction, is > 0 when the macula is still on and < 0 (past the fovea) when it is off."""
    du, dv = QUADRANT_DIRECTION[quadrant]
    fu, fv = eye.fovea
    edge = float(rng.uniform(-1.2, -0.6)) if macula_off else float(rng.uniform(1.4, 2.4))
    amp, k, ph = float(rng.uniform(0.15, 0.35)), int(rng.integers(2, 5)), float(rng.uniform(0, 6.3))
    bulge = float(rng.uniform(0.05, 0.09))  # the edge curves round toward the periphery

    def density(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        s = (u - fu) * du + (v - fv) * dv
        t = -(u - fu) * dv + (v - fv) * du  # along the edge
        e = edge + amp * np.sin(k * t / 2.0 + ph) + bulge * t * t
        return _smooth((s - e) / 0.25 + 0.5) * _field(u, v)

    return Area("detached_retina", density, quadrant)


def retinal_whitening(eye: EyeModel, quadrant: str | None) -> Area:
    """Artery occlusion: the inner retina swells milky white over the posterior pole, densest
    round the macula; the foveola has no inner retina and shows the choroid through it (the
    cherry-red spot). A branch occlusion whitens the territory of the quadrant's arteries
    (within ~1.3 mm of them), stopping sharply at the horizontal raphe."""
    fu, fv = eye.fovea
    d = eye.disc
    territory = _artery_territory(eye, quadrant) if quadrant is not None else None

    def density(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        r2 = (u - fu) ** 2 + (v - fv) ** 2
        dens = np.clip(1.5 * np.exp(-r2 / (2 * WHITENING_SIGMA_MM ** 2)) - 0.05, 0, 1)
        dens *= _smooth((np.sqrt(r2) - FOVEOLA_SPARED_MM) / 0.12)
        disc = ((u - d.cu) / (d.width / 2)) ** 2 + ((v - d.cv) / (d.height / 2)) ** 2
        dens *= _smooth((np.sqrt(disc) - 1.0) / 0.1)
        if territory is not None:
            sup = quadrant.startswith("supero")
            dens *= _smooth(((fv - v) if sup else (v - fv)) / 0.12 + 0.5)
            dens *= territory(u, v)
        return dens.astype(np.float32)

    return Area("retinal_whitening", density, quadrant)


def _in_arcade(eye: EyeModel, quadrant: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A quadrant's arcade as an artery runs: from the disc, above or below the fovea's
    horizontal, toward the temporal (away from the disc) or nasal side of the disc."""
    sup = v < eye.fovea[1] if quadrant.startswith("supero") else v > eye.fovea[1]
    d = eye.disc
    side = u < d.cu + 0.2 * d.width if quadrant.endswith("temporal") else u > d.cu - 0.2 * d.width
    return sup & side


TERRITORY_MM = 1.3  # how far from an occluded arteriole its inner retina whitens
_GRID_MM = 0.05


def _artery_territory(eye: EyeModel, quadrant: str) -> Density:
    """0-1: nearness to the arterial points of the quadrant's arcade (a distance map on a
    0.05 mm grid, looked up bilinearly)."""
    n = int(2 * (FIELD_RADIUS + 1) / _GRID_MM)
    hit = np.zeros((n, n), bool)
    for b in eye.vessels:
        if b.kind != "artery":
            continue
        pts = b.pts[_in_arcade(eye, quadrant, b.pts[:, 0], b.pts[:, 1])]
        if not len(pts):
            continue
        ij = np.clip(np.rint((pts + FIELD_RADIUS + 1) / _GRID_MM).astype(int), 0, n - 1)
        hit[ij[:, 1], ij[:, 0]] = True
    dist = ndimage.distance_transform_edt(~hit) * _GRID_MM if hit.any() else np.full((n, n), 99.0)
    near = np.clip((TERRITORY_MM - dist) / 0.3 + 0.5, 0, 1).astype(np.float32)

    def density(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        uu, vv = np.broadcast_arrays(u, v)
        rows = (vv + FIELD_RADIUS + 1) / _GRID_MM
        cols = (uu + FIELD_RADIUS + 1) / _GRID_MM
        return ndimage.map_coordinates(near, [rows.ravel(), cols.ravel()], order=1,
                                       mode="nearest").reshape(uu.shape)

    return density


def _blobs(rng: np.random.Generator, centres: list[tuple[float, float]],
           sizes: list[tuple[float, float, float]], edge: float,
           wave: tuple[float, float] = (0.06, 0.14)) -> Density:
    """The union of soft ellipses (centre, semi-axes a, b and angle) with a wavy edge."""
    waves = [(int(rng.integers(3, 7)), float(rng.uniform(0, 6.3)), float(rng.uniform(*wave)))
             for _ in centres]

    def density(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        out = np.zeros(np.broadcast(u, v).shape, np.float32)
        for (cu, cv), (a, b, ang), (k, ph, amp) in zip(centres, sizes, waves, strict=True):
            x, y = u - cu, v - cv
            ca, sa = math.cos(ang), math.sin(ang)
            p, q = (x * ca + y * sa) / a, (-x * sa + y * ca) / b
            rr = np.hypot(p, q)
            theta = np.arctan2(q, p)
            rr = rr / (1 + amp * np.sin(k * theta + ph))
            np.maximum(out, _smooth((1 - rr) * min(a, b) / edge + 0.5), out=out)
        return out

    return density


def geographic_atrophy(eye: EyeModel, rng: np.random.Generator) -> Area:
    """Geographic atrophy: one to three sharp-edged patches of lost RPE round the fovea
    (total 1.5-9 mm2), the larger choroidal vessels showing through; often foveal sparing."""
    fu, fv = eye.fovea
    n = int(rng.integers(1, 4))
    centres, sizes = [], []
    for i in range(n):
        t = float(rng.uniform(0, 2 * math.pi))
        r = 0.0 if (i == 0 and rng.uniform() < 0.5) else float(rng.uniform(0.5, 1.2))
        centres.append((fu + r * math.cos(t), fv + r * math.sin(t)))
        a = float(rng.uniform(0.5, 1.2)) / math.sqrt(n)
        sizes.append((a, a * float(rng.uniform(0.6, 1.0)), float(rng.uniform(0, math.pi))))
    return Area("geographic_atrophy", _blobs(rng, centres, sizes, 0.03))


def neovascular_amd(eye: EyeModel, rng: np.random.Generator) -> list[Area]:
    """Wet AMD: a grey-green choroidal neovascular membrane under or beside the fovea and
    the subretinal blood round it (dark red, sharp-edged)."""
    fu, fv = eye.fovea
    t = float(rng.uniform(0, 2 * math.pi))
    off = float(rng.uniform(0.0, 0.4))
    cu, cv = fu + off * math.cos(t), fv + off * math.sin(t)
    a = float(rng.uniform(0.45, 0.8))
    membrane = _blobs(rng, [(cu, cv)], [(a, a * float(rng.uniform(0.7, 1.0)), t)], 0.05)
    ha = a + float(rng.uniform(0.7, 1.5))
    ht = float(rng.uniform(0, 2 * math.pi))
    blood_c = (cu + 0.35 * math.cos(ht), cv + 0.35 * math.sin(ht))
    blood = _blobs(rng, [blood_c], [(ha, ha * float(rng.uniform(0.65, 0.9)), ht)], 0.03,
                   wave=(0.03, 0.07))

    def ring(u: np.ndarray, v: np.ndarray) -> np.ndarray:  # the blood shows round the membrane
        return np.minimum(blood(u, v), 1 - membrane(u, v))

    return [Area("subretinal_haemorrhage", ring), Area("cnv_membrane", membrane)]


def vitreous_haemorrhage(eye: EyeModel, rng: np.random.Generator, severity: str | None
                         ) -> Area:
    """Blood in the gel settles inferiorly: a red veil, densest below, hiding what lies
    behind it; clouds of 1.5-3.5 mm, more and denser with severity."""
    n = {"mild": 2, "severe": 6}.get(severity or "", 4)
    centres, sizes = [], []
    for _ in range(n):
        u = float(rng.uniform(-0.7, 0.7)) * FIELD_RADIUS
        v = float(rng.uniform(0.1, 0.8)) * FIELD_RADIUS
        a = float(rng.uniform(1.5, 3.5))
        centres.append((u, v))
        sizes.append((a, a * float(rng.uniform(0.5, 0.9)), float(rng.uniform(0, math.pi))))
    clouds = _blobs(rng, centres, sizes, 0.9)
    return Area("vitreous_haemorrhage", lambda u, v: clouds(u, v) * _field(u, v))


def place_laser_scars(eye: EyeModel, rng: np.random.Generator) -> list[Lesion]:
    """Panretinal photocoagulation: rows of round burns about one burn-width apart in the
    mid-periphery, outside the arcades and clear of the disc and the vessels."""
    p = Placer(eye, rng)
    for _ in range(int(rng.integers(90, 140))):
        p.place("laser_scar", None, LASER_SPOT_MM, (0.85, 1.0), tries=25,
                rho=LASER_RING_FROM_FOVEA_MM, vessel_gap=0.03)
    return p.placed


def artery_attenuation(eye: EyeModel, quadrant: str | None, factor: float) -> None:
    """An occluded artery's blood column thins (all arteries, or those of one quadrant)."""
    for b in eye.vessels:
        if b.kind != "artery":
            continue
        mid = b.pts[len(b.pts) // 2]
        if quadrant is None or quadrant_of(eye, float(mid[0]), float(mid[1])) == quadrant:
            b.radius = b.radius * np.float32(factor)
