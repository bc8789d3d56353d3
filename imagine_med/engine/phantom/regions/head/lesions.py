"""More head findings (issue 14, second part), each one object like those in findings.py:
extradural haematoma with a skull fracture, subarachnoid blood, meningioma with a dural tail,
metastases, multiple sclerosis plaques, hydrocephalus, atrophy and abscess.

Small structures are evaluated only inside their own bounding boxes (`local`), so a slice
or a 3D volume pays for the pixels near a lesion, not for the whole field of view.
Tissue changes use `tissues.changed` on the table's rows (sources in the comments):
physics.md "Neuro additions" (acute blood 50-90 HU; ADC ~3000 for CSF, ~750 white matter),
BrainWeb's MS lesion (T1 752 / T2 237 / PD 0.76 against white matter 500 / 70 / 0.77).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.base import Part
from imagine_med.engine.phantom.regions.head.anatomy import Ctx, HeadModel
from imagine_med.engine.phantom.regions.head.findings import HeadFinding, age_of
from imagine_med.engine.phantom.regions.head.shapes import F32, Waves, ellipsoid, fraction
from imagine_med.engine.phantom.tissues import TISSUES, changed

T = TISSUES
# tissues the new findings bring, each a change of a table row
MENINGIOMA = changed(T["tumour"], "meningioma", hu_delta=12.0, t1=1.05, t2=0.95, adc=0.9,
                     gd_mM=0.6)  # hyperdense, grey-matter-like, avid homogeneous enhancement
PUS = changed(T["necrosis"], "pus", hu_delta=8.0, t2=0.8, adc=0.18)  # ADC ~400: restricted
CAPSULE = changed(T["tumour"], "abscess_capsule", t2=0.5, t2s=0.5, gd_mM=0.45)  # T2-dark rim
PLAQUE = changed(T["white_matter"], "ms_plaque", t1=1.5, t2=3.1, pd=1.0, adc=1.4,
                 hu_delta=-7.0)
ACTIVE_PLAQUE = changed(PLAQUE, "ms_plaque_active", gd_mM=0.3)
SAH_BLOOD = changed(T["csf"], "csf_blood", hu_delta=52.0, t1=0.35, t2=0.12, t2s=0.05,
                    adc=0.4)  # blood in CSF: dense on CT, not nulled on FLAIR
FRACTURE_FILL = T["blood"]
SINUS_CLOT = changed(T["blood_acute"], "sinus_clot", hu_delta=-4.0)  # ~68 HU, T2-dark


def local(c: Ctx, centre, reach: float, fn, fill: float = 0.0, brain: bool = True
          ) -> np.ndarray:
    """`fn(qx, qy, qz)` evaluated only within `reach` mm (a box) of `centre`, `fill`
    elsewhere: a small lesion costs what its box holds."""
    x, y, z = (c.qx, c.qy, c.qz) if brain else (c.x, c.y, c.z)
    cx, cy, cz = centre
    box = (np.abs(x - F32(cx)) < reach) & (np.abs(y - F32(cy)) < reach) \
        & (np.abs(z - F32(cz)) < reach)
    out = np.full(x.shape, F32(fill), F32)
    if box.any():
        out[box] = fn(x[box], y[box], z[box])
    return out


def surface_point(head: HeadModel, direction) -> tuple[np.ndarray, np.ndarray]:
    """Where a ray from the cavity's centre meets the inner table, and the outward normal."""
    c, a = np.array(head.cav_c), np.array(head.cav_a)
    d = np.asarray(direction, float)
    d = d / np.linalg.norm(d)
    p = c + d / np.sqrt(np.sum((d / a) ** 2))
    n = (p - c) / a ** 2
    return p, n / np.linalg.norm(n)


def lateral_sq(x, y, z, p, n):
    """(distance along n from p, squared distance from the axis through p along n)."""
    dx, dy, dz = x - F32(p[0]), y - F32(p[1]), z - F32(p[2])
    along = dx * F32(n[0]) + dy * F32(n[1]) + dz * F32(n[2])
    return along, dx * dx + dy * dy + dz * dz - along * along


def _replace(parts: list[Part], mask: np.ndarray, labels: tuple[str, ...], label: str,
             tissue) -> list[Part]:
    """Move `mask` of the parts under `labels` into `label` with `tissue`."""
    out = []
    for p in parts:
        if p.label not in labels:
            out.append(p)
            continue
        moved = p.fraction * mask
        out += [Part(p.label, p.tissue, p.fraction - moved), Part(label, tissue, moved)]
    return out


@dataclass
class Extradural(HeadFinding):
    """Extradural haematoma: a biconvex (lentiform) lens of acute blood between the inner
    table and the dura, held by the sutures (so short and thick, unlike a subdural's
    crescent), usually temporal, over a skull fracture (the middle meningeal artery)."""

    thickness: float = 16.0
    extent: float = 34.0  # lens radius along the table (mm)
    p: tuple = (0.0, 0.0, 0.0)
    n: tuple = (1.0, 0.0, 0.0)

    def lens(self, c: Ctx) -> np.ndarray:
        def inside(x, y, z):
            _, r2 = lateral_sq(x, y, z, self.p, self.n)
            t = F32(self.thickness) * (F32(1) - r2 / F32(self.extent ** 2))
            return np.minimum(c_cav_local(x, y, z), t - c_cav_local(x, y, z))

        c_cav_local = _cavity_fn(self._head)
        return local(c, self.p, self.extent + 4, inside, fill=-50.0, brain=False)

    def structures(self, head, c):
        self._head = head
        tissue = {"chronic": "blood_chronic", "subacute": "blood_late_subacute"}.get(
            age_of(self.placed.modifiers), "blood_acute")
        return [("extradural_haematoma", tissue, fraction(self.lens(c), c.px))]

    def change(self, head, c, parts):
        """The fracture: a 2 mm gap across the vault at the lens's centre (a plane holding
        the normal and the vertical), filled with blood and soft tissue."""
        n = np.array(self.n)
        u = np.array([-n[1], n[0], 0.0])
        u /= np.linalg.norm(u)

        def gap(x, y, z):
            dx, dy, dz = x - F32(self.p[0]), y - F32(self.p[1]), z - F32(self.p[2])
            across = np.abs(dx * F32(u[0]) + dy * F32(u[1]) + dz * F32(u[2]))
            along = dx * F32(n[0]) + dy * F32(n[1]) + dz * F32(n[2])
            return np.minimum(F32(1.0) - across, F32(12) - np.abs(along))

        mask = fraction(local(c, self.p, 22, gap, fill=-50.0, brain=False), c.px * 0.5)
        return _replace(parts, mask, ("skull",), "skull_fracture", FRACTURE_FILL)

    _head: HeadModel | None = None


def _cavity_fn(head: HeadModel):
    def d(x, y, z):
        return head.cavity(Ctx(x, y, z, x, y, z, 1.0))
    return d


@dataclass
class Subarachnoid(HeadFinding):
    """Subarachnoid blood: the CSF of the basal cisterns, sylvian fissures and sulci near
    the circle of Willis turned to blood-stained CSF (dense on CT, bright on FLAIR), most
    round the ruptured aneurysm's side."""

    reach: float = 75.0
    bias: float = 0.0  # mm toward the patient's side of the aneurysm
    whole_head_volume = True  # its volume needs the anatomy's sulci and cisterns

    def change(self, head, c, parts):
        s = head.size
        cx = self.sign * self.bias
        d = np.sqrt((c.qx - F32(cx)) ** 2 + ((c.qy - F32(5 * s)) * F32(0.8)) ** 2
                    + ((c.qz + F32(12 * s)) * F32(1.3)) ** 2)
        mask = fraction(F32(self.reach) - d, 8.0)
        return _replace(parts, mask, ("csf",), "subarachnoid_haemorrhage", SAH_BLOOD)


@dataclass
class Meningioma(HeadFinding):
    """Meningioma: an extra-axial dural-based hemisphere of homogeneous, avidly enhancing
    tumour with a broad base on the inner table and a tapering dural tail beyond it."""

    radius: float = 16.0
    p: tuple = (0.0, 0.0, 0.0)
    n: tuple = (1.0, 0.0, 0.0)

    def shapes(self, c: Ctx) -> tuple[np.ndarray, np.ndarray]:
        r = self.radius
        centre = np.array(self.p) - np.array(self.n) * 0.45 * r
        ball = local(c, centre, r + 3, lambda x, y, z: ellipsoid(x, y, z, tuple(centre),
                                                                 (r, r, r)), -50.0, False)
        inside = np.minimum(ball, c.d_cav)

        def tail(x, y, z):
            _, r2 = lateral_sq(x, y, z, self.p, self.n)
            t = F32(1.8) * (F32(1) - np.sqrt(np.maximum(r2, 0)) / F32(2.3 * r))
            d = c_fn(x, y, z)
            return np.minimum(d + F32(0.3), t - d)

        c_fn = _cavity_fn(self._head)
        t = local(c, self.p, 2.3 * r + 2, tail, -50.0, False)
        return fraction(inside, c.px), fraction(t, c.px * 0.7)

    def structures(self, head, c):
        self._head = head
        body, tail = self.shapes(c)
        return [("meningioma", MENINGIOMA, body), ("dural_tail", MENINGIOMA, tail)]

    _head: HeadModel | None = None


@dataclass
class Metastases(HeadFinding):
    """Metastases: several round enhancing deposits at the grey-white junction of both
    hemispheres, the larger ones with a necrotic centre (ring), each with vasogenic oedema
    out of proportion to its size, spreading through the white matter."""

    deposits: list = field(default_factory=list)  # (centre, radius)

    def structures(self, head, c):
        tumour = np.zeros(c.x.shape, F32)
        core = np.zeros(c.x.shape, F32)
        for ctr, r in self.deposits:
            def d(x, y, z, ctr=ctr):
                return np.sqrt((x - F32(ctr[0])) ** 2 + (y - F32(ctr[1])) ** 2
                               + (z - F32(ctr[2])) ** 2)
            dist = local(c, ctr, r + 3, d, 1e3)
            tumour = np.maximum(tumour, fraction(F32(r) - dist, c.px))
            if r >= 7:
                core = np.maximum(core, fraction(F32(0.55 * r) - dist, c.px))
        return [("metastases", "necrosis", core), ("metastases", "tumour", tumour)]

    def change(self, head, c, parts):
        oedema = np.zeros(c.x.shape, F32)
        for ctr, r in self.deposits:
            reach = 2.6 * r + 6

            def d(x, y, z, ctr=ctr, reach=reach):
                return F32(reach) - np.sqrt((x - F32(ctr[0])) ** 2 + (y - F32(ctr[1])) ** 2
                                            + (z - F32(ctr[2])) ** 2)
            oedema = np.maximum(oedema, fraction(local(c, ctr, reach + 3, d, -50.0), c.px * 4))
        return self._convert(parts, oedema, "oedema", "oedema", kinds=("white_matter",),
                             adc=1.8, t2=2.2, t1=1.5, pd=1.1, hu_delta=-11)


@dataclass
class Plaques(HeadFinding):
    """Multiple sclerosis: ovoid plaques with their long axes perpendicular to the lateral
    ventricles (Dawson's fingers), a few juxtacortical and one infratentorial; active ones
    take up gadolinium."""

    plaques: list = field(default_factory=list)  # (centre, unit axis, long, short, active)

    def change(self, head, c, parts):
        quiet = np.zeros(c.x.shape, F32)
        active = np.zeros(c.x.shape, F32)
        for ctr, u, a, b, on in self.plaques:
            def d(x, y, z, ctr=ctr, u=u, a=a, b=b):
                dx, dy, dz = x - F32(ctr[0]), y - F32(ctr[1]), z - F32(ctr[2])
                t = dx * F32(u[0]) + dy * F32(u[1]) + dz * F32(u[2])
                perp = np.sqrt(np.maximum(dx * dx + dy * dy + dz * dz - t * t, 0))
                return (F32(1) - np.sqrt((t / F32(a)) ** 2 + (perp / F32(b)) ** 2)) * F32(b)
            f = fraction(local(c, ctr, a + 2, d, -50.0), c.px)
            if on:
                active = np.maximum(active, f)
            else:
                quiet = np.maximum(quiet, f)
        kinds = ("white_matter", "deep_grey", "grey_matter")
        parts = self._convert(parts, active, "active_plaque", "plaque_active", kinds=kinds,
                              t1=1.35, t2=3.3, adc=1.5, hu_delta=-7, gd_mM=0.3)
        return self._convert(parts, quiet, "ms_plaques", "plaque", kinds=kinds, t1=1.5,
                             t2=3.1, adc=1.4, hu_delta=-7)


@dataclass
class Hydrocephalus(HeadFinding):
    """Hydrocephalus: ventricles enlarged out of proportion to the sulci (built into the
    head: HeadModel.ventricle_scale), with transependymal CSF seeping into the white matter
    round the frontal horns (FLAIR-bright caps)."""

    whole_head_volume = True  # the caps are what is left round the painted ventricles

    def change(self, head, c, parts):
        lv = ("lateral_ventricle_left", "lateral_ventricle_right")
        vent = [f for lab, _, f in head.ventricles(c, grow=3.0) if lab in lv]
        near = np.maximum(*vent) if vent else np.zeros(c.x.shape, F32)
        frontal = fraction(c.qy - F32(2 * head.size), 6.0)
        return self._convert(parts, near * (F32(0.35) + F32(0.65) * frontal),
                             "hydrocephalus", "transependymal",
                             kinds=("white_matter", "deep_grey"), t1=1.3, t2=2.2, adc=1.4,
                             hu_delta=-9)


@dataclass
class Atrophy(HeadFinding):
    """Global atrophy: sulci and the CSF over the convexity widened, ventricles enlarged in
    proportion (ex vacuo). The widened CSF (beyond this head's own baseline) is labelled
    `atrophy` (HeadModel.cortex and HeadModel.intracranial split it off)."""

    whole_head_volume = True


@dataclass
class Abscess(HeadFinding):
    """Cerebral abscess: pus that restricts diffusion (DWI bright, ADC dark) inside a thin,
    smooth capsule that enhances and is dark on T2, in a sea of vasogenic oedema."""

    radius: float = 13.0
    lobes: Waves | None = None

    def _dist(self, c: Ctx, reach: float) -> np.ndarray:
        ctr = self.placed.center

        def d(x, y, z):
            return np.sqrt((x - F32(ctr[0])) ** 2 + (y - F32(ctr[1])) ** 2
                           + ((z - F32(ctr[2])) * F32(1.1)) ** 2)
        return local(c, ctr, reach, d, 1e3)

    def structures(self, head, c):
        dist = self._dist(c, self.radius + 3)
        r = F32(self.radius)
        return [("brain_abscess", PUS, fraction(r - F32(2.6) - dist, c.px)),
                ("abscess_wall", CAPSULE, fraction(r - dist, c.px))]

    def change(self, head, c, parts):
        reach = 2.4 * self.radius
        dist = self._dist(c, reach + 3)
        return self._convert(parts, fraction(F32(reach) - dist, c.px * 4), "oedema", "oedema",
                             kinds=("white_matter",), adc=1.8, t2=2.2, t1=1.5, pd=1.1,
                             hu_delta=-11)


@dataclass
class SinusThrombosis(HeadFinding):
    """Cerebral venous (superior sagittal sinus) thrombosis: the sinus's flowing blood
    replaced by clot: dense on CT (the cord / dense delta sign, 60-80 HU against ~40 for
    flowing blood), dark on T2 while acute (deoxyhaemoglobin), and not enhancing on T1
    post-contrast (the empty delta sign: contrast round the clot, none in it)."""

    whole_head_volume = True  # it fills the anatomy's own sinus

    def change(self, head, c, parts):
        return _replace(parts, np.ones_like(parts[0].fraction), ("venous_sinus",),
                        "venous_thrombosis", SINUS_CLOT)


EXTRA_TISSUES = {t.name: t for t in (MENINGIOMA, PUS, CAPSULE, SAH_BLOOD)}


def place_more(head: HeadModel, finding, rng: np.random.Generator, level_z: float | None,
               side: str, sign: float, scale: float) -> HeadFinding | None:
    """Build one of this module's findings, or None if the name is not one of them."""
    from imagine_med.engine.phantom.regions.base import PlacedFinding

    s = head.size
    mods = tuple(finding.modifiers)
    name = finding.name
    if name == "extradural_haematoma":
        t = (finding.size_mm or 16.0 * scale)
        zc = level_z if level_z is not None else 4 * s
        p, n = surface_point(head, (sign * 1.0, 0.05, (zc - head.cav_c[2]) / 60))
        pf = PlacedFinding(name, side, "temporal", mods, tuple(float(v) for v in p),
                           {"thickness_mm": t, "radius_mm": 36.0})
        return Extradural(pf, shift_mm=0.7 * t, sign=sign, thickness=t, p=tuple(p),
                          n=tuple(n))
    if name == "venous_thrombosis":
        pf = PlacedFinding(name, None, "superior_sagittal_sinus", mods, (0.0, 0.0, 30 * s),
                           {"radius_mm": 80.0})
        return SinusThrombosis(pf, sign=1.0)
    if name == "subarachnoid_haemorrhage":
        zc = level_z if level_z is not None else -6 * s
        pf = PlacedFinding(name, side, "basal_cisterns", mods, (sign * 10 * s, 5 * s, zc),
                           {"radius_mm": 60.0})
        return Subarachnoid(pf, sign=sign, reach=50.0 * scale, bias=12.0)
    if name == "meningioma":
        r = finding.size_mm / 2 if finding.size_mm else 15.0 * scale
        zc = level_z if level_z is not None else 22 * s
        p, n = surface_point(head, (sign * 0.85, 0.55, (zc - head.cav_c[2]) / 70))
        pf = PlacedFinding(name, side, finding.location or "frontal_convexity", mods,
                           tuple(float(v) for v in p - n * 0.45 * r), {"radius_mm": r})
        return Meningioma(pf, shift_mm=0.3 * r, sign=sign, radius=r, p=tuple(p), n=tuple(n))
    if name == "metastases":
        zc = level_z if level_z is not None else 16 * s
        k = int(rng.integers(4, 7))
        deps = []
        for i in range(k):
            sd = sign if i == 0 else (1.0 if rng.uniform() < 0.5 else -1.0)
            ang = rng.uniform(-1.1, 1.3) if i else 0.35
            rad = rng.uniform(36, 48) * s
            z = zc + (rng.uniform(-3, 3) if i < 3 else rng.uniform(-30, 30))
            r = (11.0 if i == 0 else rng.uniform(4.0, 8.5)) * scale
            deps.append(((sd * rad * np.cos(ang), rad * np.sin(ang) * 1.15 - 5 * s, z), r))
        c0 = deps[0][0]
        pf = PlacedFinding(name, side, "multiple", mods, tuple(float(v) for v in c0),
                           {"radius_mm": 40.0, "count": float(k)})
        return Metastases(pf, shift_mm=0.0, sign=sign, deposits=deps)
    if name == "ms_plaques":
        zc = level_z if level_z is not None else 18 * s
        v = head.ventricle_scale
        plaques = []
        active = "active" in mods or "ring_enhancing" in mods
        for i in range(8):
            sd = 1.0 if i % 2 else -1.0
            th = rng.uniform(0.0, 0.45)
            y = rng.uniform(-26, 14) * s
            wall = (2.5 + 9 * v) * s
            a, b = rng.uniform(4.5, 7.0), rng.uniform(1.8, 2.6)
            u = np.array([sd * np.cos(th), 0.0, np.sin(th)])
            base = np.array([sd * wall, y, zc + rng.uniform(-1.5, 1.5)])
            plaques.append((tuple(base + u * (a + 0.5)), tuple(u), a, b, active and i < 3))
        for i in range(2):  # juxtacortical
            sd = 1.0 if i else -1.0
            ang = rng.uniform(-0.6, 1.0)
            ctr = (sd * 52 * s * np.cos(ang), 60 * s * np.sin(ang) - 5 * s, zc)
            plaques.append((ctr, (0.0, 0.0, 1.0), 4.0, 2.4, False))
        plaques.append(((sign * 6 * s, -22 * s, -30 * s), (0.0, 1.0, 0.0), 4.0, 2.5, False))
        pf = PlacedFinding(name, side, "periventricular", mods,
                           (float(plaques[0][0][0]), float(plaques[0][0][1]), float(zc)),
                           {"radius_mm": 40.0, "count": float(len(plaques))})
        return Plaques(pf, plaques=plaques)
    if name == "hydrocephalus":
        head.ventricle_scale = max(head.ventricle_scale, 2.4 * (1.15 if scale > 1 else 1.0))
        head.atrophy = 0.0
        pf = PlacedFinding(name, None, "ventricles", mods, (0.0, 10 * s, 16 * s),
                           {"radius_mm": 40.0})
        return Hydrocephalus(pf)
    if name == "atrophy":
        head.atrophy_base = head.atrophy
        head.atrophy = head.atrophy + 0.9 * scale
        head.ventricle_scale *= 1.0 + 0.45 * scale
        pf = PlacedFinding(name, None, "global", mods, (0.0, 0.0, 20 * s), {"radius_mm": 60.0})
        return Atrophy(pf)
    if name == "brain_abscess":
        r = finding.size_mm / 2 if finding.size_mm else 13.0 * scale
        zc = level_z if level_z is not None else 20 * s
        pf = PlacedFinding(name, side, finding.location or "frontal_lobe", mods,
                           (sign * 30 * s, 24 * s, zc), {"radius_mm": r})
        return Abscess(pf, shift_mm=0.25 * r, sign=sign, radius=r)
    return None
