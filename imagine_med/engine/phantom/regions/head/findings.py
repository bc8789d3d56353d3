"""Head findings, each one object: its 3D shape, its tissue change, its label and mass effect.

A finding either paints structures of its own into the cranial cavity (`structures`: a
haematoma, a tumour) or changes the tissue of the brain under it (`change`: an infarct
keeps grey matter grey, with restricted diffusion and, after some hours, more water), and
may push the brain aside (`shift_mm`, `sign`: HeadModel.warp). Measurements and key
sentences are taken from the rendered output (regions/head/key.py), never from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.regions.base import Part, PlacedFinding
from imagine_med.engine.phantom.regions.head.anatomy import (
    LABELS,
    SIDES,
    TERRITORY_CODES,
    Ctx,
    HeadModel,
)
from imagine_med.engine.phantom.regions.head.shapes import F32, Waves, ellipsoid, fraction
from imagine_med.engine.phantom.tissues import TISSUES, Tissue, changed

BRAIN_TISSUES = ("grey_matter", "white_matter", "deep_grey")
KEEP_LABELS = ("infarct", "haemorrhage", "glioma", "subdural_haematoma", "necrosis",
               "extradural_haematoma", "meningioma", "dural_tail", "metastases",
               "ms_plaques", "active_plaque", "brain_abscess", "abscess_wall", "hydrocephalus",
               "venous_thrombosis")
SIZE_MM = {"mild": 0.7, None: 1.0, "moderate": 1.0, "severe": 1.4}


def age_of(modifiers: tuple[str, ...], default: str = "acute") -> str:
    for m in ("hyperacute", "early_subacute", "late_subacute", "acute", "subacute", "chronic"):
        if m in modifiers:
            return m
    return default


# Infarct tissue change by age (physics.md "Neuro additions"): ADC ~50-60% of normal in the
# first hours and lowest at 1-2 days, pseudo-normal in week 2, high when chronic; FLAIR/T2
# turn bright after ~4.5-6 h (oedema: T2 ~120-200 ms); CT hypodense once oedematous;
# chronic: encephalomalacia, near CSF.
INFARCT_CHANGE = {
    "hyperacute": dict(adc=0.55, t2=1.03, t1=1.02, hu_delta=-1.5),
    "acute": dict(adc=0.5, t2=1.75, t1=1.25, pd=1.06, hu_delta=-12.0),
    "subacute": dict(adc=1.0, t2=1.8, t1=1.3, pd=1.08, hu_delta=-14.0, gd_mM=0.12),
    "chronic": dict(adc=2.8, t2=8.0, t1=3.0, pd=1.2, hu_delta=-20.0),
}


# haemosiderin (chronic haematoma's rim): iron shortens T2 and T2* far below brain
HAEMOSIDERIN = changed(TISSUES["blood_acute"], "haemosiderin", hu_delta=-30.0, t1=1.0, t2=0.5,
                       t2s=0.25)


@dataclass
class HeadFinding:
    placed: PlacedFinding
    shift_mm: float = 0.0
    sign: float = 1.0
    tissues: dict[str, Tissue] = field(default_factory=dict)

    def structures(self, head: HeadModel, c: Ctx) -> list[tuple[str, str, np.ndarray]]:
        return []

    def change(self, head: HeadModel, c: Ctx, parts: list[Part]) -> list[Part]:
        return parts

    def _convert(self, parts: list[Part], mask: np.ndarray, label: str, suffix: str,
                 kinds: tuple[str, ...] = BRAIN_TISSUES, **change) -> list[Part]:
        """Move `mask` of each brain part into `label`, its tissue changed."""
        out = []
        for p in parts:
            if p.tissue.name not in kinds or p.label in KEEP_LABELS:
                out.append(p)
                continue
            key = f"{p.tissue.name}+{suffix}"
            if key not in self.tissues:
                self.tissues[key] = changed(p.tissue, key, **change)
            moved = p.fraction * mask
            out += [Part(p.label, p.tissue, p.fraction - moved),
                    Part(label, self.tissues[key], moved)]
        return out


@dataclass
class Infarct(HeadFinding):
    """Ischaemic infarct in one arterial territory: the territory (brain space) inside a
    seeded ellipsoid round its centre, every brain tissue there changed by age."""

    code: int = 12
    radius: float = 30.0
    lobes: Waves | None = None
    whole_head_volume = True  # brain tissue only: the ventricles and sulci are not infarct

    def mask(self, head: HeadModel, qx, qy, qz) -> np.ndarray:
        cx, cy, cz = self.placed.center
        d = ellipsoid(qx, qy, qz, (cx, cy, cz), (self.radius * 0.75, self.radius,
                                                self.radius * 0.8), pad=8)
        if self.lobes is not None:  # an irregular edge where the ball, not the territory, ends
            d = d + F32(6.0 / 5.0) * self.lobes.value(qx, qy, qz)
        ball = fraction(d, 2.0)
        near = ball > 0  # the territory is looked up only inside the ball
        if near.any():
            ball[near] *= head.territory(qx[near], qy[near], qz[near]) == self.code
        return ball

    def change(self, head: HeadModel, c: Ctx, parts: list[Part]) -> list[Part]:
        age = age_of(self.placed.modifiers)
        return self._convert(parts, self.mask(head, c.qx, c.qy, c.qz), "infarct",
                             f"infarct_{age}", **INFARCT_CHANGE[age])


@dataclass
class Haemorrhage(HeadFinding):
    """Intraparenchymal haematoma (lobulated ellipsoid, default in the putamen, the commonest
    hypertensive site), blood of the requested age, with a thin rim of oedema."""

    radius: float = 15.0
    lobes: Waves | None = None

    def solid(self, qx, qy, qz) -> np.ndarray:
        cx, cy, cz = self.placed.center
        r = self.radius
        d = ellipsoid(qx, qy, qz, (cx, cy, cz), (r * 0.8, r, r * 0.75))
        return d + F32(r * 0.12) * self.lobes.value(qx, qy, qz) / F32(3)

    def structures(self, head, c):
        """Blood of the stage asked for (the five MRI stages: hyperacute, acute, early and
        late subacute, chronic); a chronic one is ringed by haemosiderin (dark on T2/SWI)."""
        age = age_of(self.placed.modifiers)
        age = "early_subacute" if age == "subacute" else age
        d = self.solid(c.qx, c.qy, c.qz)
        if age == "chronic":
            return [("haemorrhage", "blood_chronic", fraction(d - F32(2.0), c.px)),
                    ("haemorrhage", HAEMOSIDERIN, fraction(d, c.px))]
        return [("haemorrhage", f"blood_{age}", fraction(d, c.px))]

    def change(self, head, c, parts):
        rim = fraction(self.solid(c.qx, c.qy, c.qz) + F32(5), c.px * 3)
        return self._convert(parts, rim, "oedema", "oedema", adc=1.6, t2=1.9, t1=1.3,
                             hu_delta=-10)


@dataclass
class Subdural(HeadFinding):
    """Subdural haematoma: a crescent between the inner table and the brain over one
    convexity (crossing sutures, stopped by the falx), thickest laterally; acute blood."""

    thickness: float = 10.0

    def structures(self, head, c):
        side = self.sign
        dir_x = side * c.x / (np.sqrt(c.x * c.x + (c.y + 5) ** 2 + (c.z - 5) ** 2) + F32(1e-3))
        profile = np.clip((dir_x - 0.05) / 0.55, 0, 1) ** F32(0.8) \
            * np.clip((c.z + 25) / 25, 0, 1)
        t = F32(self.thickness) * profile
        inside = np.minimum(c.d_cav, t - c.d_cav)
        tissue = {"chronic": "blood_chronic", "subacute": "blood_late_subacute"}.get(
            age_of(self.placed.modifiers), "blood_acute")
        return [("subdural_haematoma", tissue, fraction(inside, c.px) * (t > 0.3))]


@dataclass
class Glioblastoma(HeadFinding):
    """Glioblastoma: an irregular enhancing rim of tumour round a necrotic core, with
    vasogenic oedema spreading through the white matter around it (not the cortex)."""

    radius: float = 20.0
    lobes: Waves | None = None

    def r_norm(self, qx, qy, qz) -> np.ndarray:
        cx, cy, cz = self.placed.center
        d = np.sqrt((qx - cx) ** 2 + (qy - cy) ** 2 + (qz - cz) ** 2)
        return d / (F32(self.radius) * (F32(1) + F32(0.06) * self.lobes.value(qx, qy, qz)))

    def structures(self, head, c):
        r = self.r_norm(c.qx, c.qy, c.qz)
        px = F32(c.px / self.radius)
        return [("necrosis", "necrosis", fraction((F32(0.58) - r) / px, 1.0)),
                ("glioma", "tumour", fraction((F32(1.0) - r) / px, 1.0))]

    def change(self, head, c, parts):
        r = self.r_norm(c.qx, c.qy, c.qz)
        oedema = fraction((F32(1.9) - r) * F32(self.radius), c.px * 4)
        return self._convert(parts, oedema, "oedema", "oedema", kinds=("white_matter",),
                             adc=1.8, t2=2.2, t1=1.5, pd=1.1, hu_delta=-11)


SUPPORTED = ("infarct", "haemorrhage", "subdural_haematoma", "glioma", "extradural_haematoma",
             "subarachnoid_haemorrhage", "meningioma", "metastases", "ms_plaques",
             "hydrocephalus", "atrophy", "brain_abscess", "venous_thrombosis")


def place(head: HeadModel, finding, rng: np.random.Generator, level_z: float | None
          ) -> HeadFinding:
    """Build one requested finding into the head; `level_z` is the axial level a prompt
    names, so the lesion is centred across the slice (as the chest does)."""
    s = head.size
    side = finding.laterality if finding.laterality in SIDES else (
        "left" if rng.uniform() < 0.5 else "right")
    sign = SIDES[side]
    mods = tuple(finding.modifiers)
    scale = SIZE_MM[finding.severity]
    zc = level_z if level_z is not None else None
    if finding.name == "infarct":
        loc = finding.location if finding.location in TERRITORY_CODES else "mca"
        centres = {"mca": (50, 2, 6), "aca": (8, 25, 35), "pca": (20, -60, 5),
                   "basilar": (12, -50, -38), "pica": (14, -55, -45)}
        x, y, z = centres[loc]
        z = zc if zc is not None else z * s
        # big enough that the territory's own borders (ACA, PCA, the cortex) shape it
        radius = (finding.size_mm / 2 if finding.size_mm else 40.0 * scale)
        if finding.severity == "severe" or (finding.extent or 0) > 0.7:
            radius = 120.0
        p = PlacedFinding("infarct", side, loc, mods, (sign * x * s, y * s, z),
                          {"radius_mm": radius})
        code = TERRITORY_CODES[loc] + (10 if sign > 0 else 0)
        return Infarct(p, code=code, radius=radius, lobes=Waves(rng, 28, 5))
    if finding.name == "haemorrhage":
        r = finding.size_mm / 2 if finding.size_mm else 15.0 * scale
        z = zc if zc is not None else 2 * s
        p = PlacedFinding("haemorrhage", side, finding.location or "basal_ganglia", mods,
                          (sign * 24 * s, 2 * s, z), {"radius_mm": r})
        return Haemorrhage(p, shift_mm=0.25 * r, sign=sign, radius=r, lobes=Waves(rng, 18, 5))
    if finding.name == "subdural_haematoma":
        t = 10.0 * scale
        p = PlacedFinding("subdural_haematoma", side, "convexity", mods,
                          (sign * 60 * s, -5 * s, 25 * s), {"thickness_mm": t})
        return Subdural(p, shift_mm=0.8 * t, sign=sign, thickness=t)
    if finding.name == "glioma":
        r = finding.size_mm / 2 if finding.size_mm else 18.0 * scale
        z = zc if zc is not None else 20 * s
        p = PlacedFinding("glioma", side, finding.location or "frontal_lobe", mods,
                          (sign * 30 * s, 22 * s, z), {"radius_mm": r})
        return Glioblastoma(p, shift_mm=0.3 * r, sign=sign, radius=r, lobes=Waves(rng, 14, 5))
    from imagine_med.engine.phantom.regions.head.lesions import place_more

    more = place_more(head, finding, rng, level_z, side, sign, scale)
    if more is not None:
        return more
    raise EngineError(f"The phantom head has no model for {finding.name.replace('_', ' ')} "
                      f"yet; it draws: {', '.join(n.replace('_', ' ') for n in SUPPORTED)}.")


assert all(n in LABELS for n in SUPPORTED)
assert "blood_acute" in TISSUES
