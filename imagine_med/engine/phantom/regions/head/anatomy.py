"""A seeded 3D head, sampled one slice at a time.

Patient millimetres: x toward the patient's left, y anterior, z superior, origin near the
foramen of Monro. The build draws a few dozen numbers (size, skull and scalp thickness, the
cortical fold pattern, ventricle size by age); `sample` then evaluates closed-form solids on
the slice's points only, in named steps: scalp and skull, face (orbits, sinuses),
intracranial spaces, ventricles and nuclei, brainstem and cerebellum, cortex and white
matter. Adult sizes follow common anatomical atlases (skull 5-8 mm, cortex 2.5-3 mm thick,
lateral ventricle bodies 5-6 mm wide in young adults and wider with age).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.base import Grid, Part, PlacedFinding, Sample
from imagine_med.engine.phantom.regions.head.shapes import (
    F32,
    Waves,
    capsule,
    culled,
    ellipse_xy,
    ellipsoid,
    fraction,
    sigmoid,
    slab,
)
from imagine_med.engine.phantom.tissues import TISSUES

T = TISSUES

LABELS: dict[str, int] = {
    "scalp": 1, "skull": 2, "csf": 3, "grey_matter": 4, "white_matter": 5,
    "lateral_ventricle_left": 6, "lateral_ventricle_right": 7, "third_ventricle": 8,
    "fourth_ventricle": 9, "caudate": 10, "lentiform": 11, "thalamus": 12,
    "internal_capsule": 13, "corpus_callosum": 14, "brainstem": 15, "cerebellum": 16,
    "globe": 17, "lens": 18, "orbital_fat": 19, "optic_nerve": 20, "extraocular_muscle": 21,
    "sinus": 22, "muscle": 23, "dura": 24, "venous_sinus": 25, "soft_tissue": 26,
    "side_marker": 60,
    # findings (100+) and their parts
    "infarct": 100, "haemorrhage": 101, "subdural_haematoma": 102, "glioma": 103,
    "extradural_haematoma": 104, "subarachnoid_haemorrhage": 105, "meningioma": 106,
    "metastases": 107, "ms_plaques": 108, "hydrocephalus": 109, "atrophy": 115,
    "brain_abscess": 116,
    "oedema": 110, "necrosis": 111, "skull_fracture": 112, "dural_tail": 113,
    "active_plaque": 114, "abscess_wall": 117, "venous_thrombosis": 118,
}
BRAIN_LABELS = ("grey_matter", "white_matter", "caudate", "lentiform", "thalamus",
                "internal_capsule", "corpus_callosum", "brainstem", "cerebellum")
INTRACRANIAL = (*BRAIN_LABELS, "csf", "lateral_ventricle_left", "lateral_ventricle_right",
                "third_ventricle", "fourth_ventricle", "dura", "venous_sinus", "infarct",
                "haemorrhage", "subdural_haematoma", "glioma", "oedema", "necrosis",
                "extradural_haematoma", "subarachnoid_haemorrhage", "meningioma",
                "metastases", "ms_plaques", "hydrocephalus", "atrophy", "brain_abscess",
                "dural_tail", "active_plaque", "abscess_wall", "venous_thrombosis")

# axial levels (z, mm) in this model's frame; the head's size scales them
LEVELS_Z: dict[str, float] = {
    "vertex": 62.0, "centrum_semiovale": 38.0, "lateral_ventricles": 20.0,
    "basal_ganglia": 4.0, "third_ventricle": -4.0, "midbrain": -9.0, "orbits": -27.0,
    "pons": -32.0, "posterior_fossa": -50.0,
}
SIDES = {"left": 1.0, "right": -1.0}  # sign of x on the patient's side

# layer thicknesses (mm)
SCALP_SKIN = 2.0
INNER_TABLE, OUTER_TABLE = 1.6, 1.9
CORTEX = 2.7          # grey-matter ribbon
SULCUS_DEPTH = 17.0   # how deep the convexity sulci cut
GYRUS_WAVELENGTH = 30.0  # gyri ~1 cm wide, sulci ~1.5-2 cm apart


@dataclass
class Ctx:
    """One slice's points, in patient space (x, y, z) and in brain space (qx, qy, qz): the
    brain may be pushed aside by a mass (`HeadModel.warp`), the skull may not."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    qx: np.ndarray
    qy: np.ndarray
    qz: np.ndarray
    px: float
    d_cav: np.ndarray = field(default=None)  # type: ignore[assignment]
    cache: dict = field(default_factory=dict)


@dataclass
class HeadModel:
    """One seeded head. `findings` are head.findings objects; they paint their own
    structures, change tissue of the brain under them, and may push the brain aside."""

    age: int
    sex: str
    size: float
    skull: float
    scalp: float
    ventricle_scale: float
    atrophy: float
    gyri: Waves
    folia_phase: float
    atrophy_base: float | None = None  # the head's own atrophy when a finding adds more
    findings: list = field(default_factory=list)
    placed: list[PlacedFinding] = field(default_factory=list)

    # ---- frame -------------------------------------------------------------------------
    @property
    def cav_c(self) -> tuple[float, float, float]:
        return (0.0, -5.0, 5.0)

    @property
    def cav_a(self) -> tuple[float, float, float]:
        s = self.size
        return (67.0 * s, 86.0 * s, 72.0 * s)

    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]:
        """Slice position of a named level (axial z; coronal y; sagittal x)."""
        if plane == "axial":
            name = level if level in LEVELS_Z else "basal_ganglia"
            return LEVELS_Z[name] * self.size, name
        if plane == "coronal":
            return (-8.0 if level in (None, "basal_ganglia", "third_ventricle") else 0.0), (
                level or "basal_ganglia")
        return 0.0, "midline"

    # ---- the slice ---------------------------------------------------------------------
    def warp(self, x, y, z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Brain-space points: each finding with mass effect shifts the brain away from
        itself (most at the centre of the hemispheres, none where the falx meets bone)."""
        qx = x
        for f in self.findings:
            shift = getattr(f, "shift_mm", 0.0)
            if shift:
                bulk = np.exp(-((y + 5) / F32(45)) ** 2 - ((z - 12) / F32(45)) ** 2
                              - (x / F32(45)) ** 2)
                qx = qx + F32(f.sign * shift) * bulk.astype(F32)
        return qx, y, z

    def sample(self, grid: Grid) -> Sample:
        x, y, z = (np.asarray(a, F32) for a in (grid.x, grid.y, grid.z))
        qx, qy, qz = self.warp(x, y, z)
        c = Ctx(x, y, z, qx, qy, qz, grid.px)
        c.d_cav = self.cavity(c)
        inside_head = fraction(self.head_outline(c), c.px)
        in_cav = np.minimum(fraction(c.d_cav, c.px), inside_head)
        parts = self.intracranial(c, in_cav)
        parts += self.extracranial(c, inside_head - in_cav)
        from imagine_med.engine.phantom.regions.head.ageing import age_changes

        parts = age_changes(self, c, parts)
        for f in self.findings:
            parts = f.change(self, c, parts)
        return Sample([p for p in parts if p.fraction.any()], LABELS)

    def sample_finding(self, grid: Grid, finding) -> Sample:
        """A finding alone, for its volume: its own structures in the cavity and its tissue
        change of a brain reduced to white matter inside a CSF layer (the anatomy's other
        solids are skipped, so a 3D volume round a lesion costs little)."""
        x, y, z = (np.asarray(a, F32) for a in (grid.x, grid.y, grid.z))
        qx, qy, qz = self.warp(x, y, z)
        c = Ctx(x, y, z, qx, qy, qz, grid.px)
        c.d_cav = self.cavity(c)
        rem = fraction(c.d_cav, c.px)
        parts = []
        for label, tissue, f in finding.structures(self, c):
            take = rem * f
            rem -= take
            parts.append(Part(label, T[tissue] if isinstance(tissue, str) else tissue, take))
        brain = fraction(self.brain_depth(c), c.px)
        parts += [Part("white_matter", T["white_matter"], rem * brain),
                  Part("csf", T["csf"], rem * (F32(1) - brain))]
        return Sample(finding.change(self, c, parts), LABELS)

    # ---- skull and scalp ---------------------------------------------------------------
    def skull_base(self, x, y, grad: bool = False):
        """Floor of the cranial cavity (z): anterior fossa over the orbits, the deeper middle
        fossa for the temporal lobes, the sella centrally, the posterior fossa behind the
        clivus. With `grad`, also its slope (d/dx, d/dy), from the sigmoids' derivatives."""
        s = self.size
        sx = sigmoid((20.0 - np.abs(x)) / F32(4))
        y_pf = (-22.0 + 24.0 * sx) * s
        s1 = sigmoid((35.0 * s - y) / F32(2.5))
        s2 = sigmoid((y_pf - y) / F32(2.5))
        floor = -12.0 * s - 28.0 * s * s1 - 26.0 * s * s2
        a = sigmoid((16 - np.abs(x)) / F32(3))
        b = sigmoid((y - 2 * s) / F32(3))
        e = sigmoid((35 * s - y) / F32(3))
        sella = a * b * e
        deep = floor < -28 * s
        out = np.where(deep, floor + (F32(-28.0 * s) - floor) * sella, floor)
        if not grad:
            return out
        sgn = np.sign(x)
        ds1_dy = -s1 * (1 - s1) / F32(2.5)
        ds2 = s2 * (1 - s2) / F32(2.5)
        dypf_dx = F32(24.0 * s) * sx * (1 - sx) * (-sgn) / F32(4)
        fx = -26.0 * s * ds2 * dypf_dx
        fy = -28.0 * s * ds1_dy - 26.0 * s * (-ds2)
        dsel_dx = (a * (1 - a) * (-sgn) / F32(3)) * b * e
        dsel_dy = a * (b * (1 - b) / F32(3) * e - b * e * (1 - e) / F32(3))
        gap = F32(-28.0 * s) - floor
        fx = np.where(deep, fx * (1 - sella) + gap * dsel_dx, fx)
        fy = np.where(deep, fy * (1 - sella) + gap * dsel_dy, fy)
        return out, fx, fy

    def floor_distance(self, c: Ctx) -> np.ndarray:
        """Signed distance above the skull base (the floor's slope taken into account);
        once per slice."""
        if "floor" not in c.cache:
            f, fx, fy = self.skull_base(c.x, c.y, grad=True)
            # the first-order distance undercuts steep steps (the sphenoid ridge, the
            # petrous ridge); no point of the floor lies above -12 mm, so the height above
            # that is a distance too: take the larger of the two lower bounds
            c.cache["floor"] = np.maximum((c.z - f) / np.sqrt(1 + fx * fx + fy * fy),
                                          c.z + F32(12.0 * self.size))
        return c.cache["floor"]

    def vault_distance(self, c: Ctx) -> np.ndarray:
        """Signed distance inside the vault's inner surface (once per slice)."""
        if "vault" not in c.cache:
            c.cache["vault"] = ellipsoid(c.x, c.y, c.z, self.cav_c, self.cav_a)
        return c.cache["vault"]

    def cavity(self, c: Ctx) -> np.ndarray:
        return np.minimum(self.vault_distance(c),
                          self.floor_distance(c))

    def outer_a(self, extra: float) -> tuple[float, float, float]:
        a = self.cav_a
        return (a[0] + extra, a[1] + extra, a[2] + extra)

    def head_outline(self, c: Ctx) -> np.ndarray:
        if "outline" not in c.cache:
            c.cache["outline"] = self._head_outline(c)
        return c.cache["outline"]

    def _head_outline(self, c: Ctx) -> np.ndarray:
        head = ellipsoid(c.x, c.y, c.z, self.cav_c, self.outer_a(self.skull + self.scalp))
        brow = ellipsoid(c.x, c.y, c.z, (0, self.cav_a[1] * 0.97, 8 * self.size),
                         (24, 11 + self.scalp, 18), pad=3)
        return np.minimum(np.maximum(head, brow), c.z + 100)

    def extracranial(self, c: Ctx, room: np.ndarray) -> list[Part]:
        """Outside the cavity, in painting order: the eyes, the air spaces, bone, then the
        scalp's layers; what is left is the soft tissue of the face and neck."""
        layers = [*self.orbits(c), *self.air_spaces(c), *self.bone(c), *self.scalp_layers(c)]
        parts, rem = [], room.astype(F32)
        for label, tissue, f in layers:
            take = rem * f
            rem -= take
            parts.append(Part(label, T[tissue], take))
        parts.append(Part("soft_tissue", T["muscle"], rem))
        return parts

    def scalp_layers(self, c: Ctx) -> list[tuple[str, str, np.ndarray]]:
        depth = self.head_outline(c)
        temporal = sigmoid((25 - c.z) / F32(6)) * sigmoid((c.y + 20) / F32(6)) \
            * sigmoid((np.abs(c.x) - 45) / F32(4))
        skin = fraction(F32(SCALP_SKIN) - depth, c.px)
        return [("scalp", "skin", skin),
                ("muscle", "muscle", temporal * fraction(depth - F32(self.scalp * 0.45), c.px)),
                # subcutaneous fat within the scalp's thickness; deeper (the face and neck
                # under the skull base) is left to soft tissue, not a block of fat
                ("scalp", "fat", fraction(F32(self.scalp) - depth, c.px))]

    def bone(self, c: Ctx) -> list[tuple[str, str, np.ndarray]]:
        """The calvarium as inner table, diploe and outer table; the skull base as a plate
        under the floor, the frontal bone thickened round its sinus, thin orbital walls."""
        out = -self.vault_distance(c)  # outside the vault
        t = self.skull
        vault = np.minimum(out, F32(t) - out)
        frontal = ellipsoid(c.x, c.y, c.z, (0, self.cav_a[1] * 0.97, 8 * self.size), (24, 11, 18),
                            pad=3)
        base = F32(2.5) - np.abs(self.floor_distance(c) + F32(2.5))
        walls = np.maximum(base, frontal)
        for s in (-1, 1):
            orbit = ellipsoid(c.x, c.y, c.z, (s * 29 * self.size, 52 * self.size, -27 * self.size),
                              (17, 26, 17), pad=3)
            walls = np.maximum(walls, np.minimum(orbit + 1.5, -orbit))
        tables = np.maximum(np.minimum(vault, F32(INNER_TABLE) - out),
                            np.minimum(vault, out - F32(t - OUTER_TABLE)))
        return [("skull", "cortical_bone", fraction(np.maximum(tables, walls), c.px)),
                ("skull", "diploe", fraction(vault, c.px))]

    def orbits(self, c: Ctx) -> list[tuple[str, str, np.ndarray]]:
        s = self.size
        out: list[tuple[str, str, np.ndarray]] = []
        for side in (-1, 1):
            gc = (side * 31 * s, 62 * s, -27 * s)
            out += [
                ("lens", "lens", fraction(ellipsoid(c.x, c.y, c.z, (gc[0], gc[1] + 9.5, gc[2]),
                                                    (4.5, 2.0, 4.5), pad=2), c.px)),
                ("globe", "vitreous", fraction(ellipsoid(c.x, c.y, c.z, gc, (12, 12, 12), pad=2),
                                               c.px)),
                ("optic_nerve", "white_matter", fraction(capsule(
                    c.x, c.y, c.z, (gc[0] * 0.95, gc[1] - 11, gc[2]),
                    (side * 12 * s, 22 * s, -24 * s), 2.4, pad=2), c.px)),
                ("extraocular_muscle", "muscle", fraction(np.maximum(
                    ellipsoid(c.x, c.y, c.z, (side * 17.5 * s, 46 * s, gc[2]), (2.6, 16, 5), pad=2),
                    ellipsoid(c.x, c.y, c.z, (side * 43 * s, 46 * s, gc[2]), (2.6, 16, 5), pad=2)),
                    c.px)),
                ("orbital_fat", "fat", fraction(ellipsoid(
                    c.x, c.y, c.z, (side * 29 * s, 52 * s, -27 * s), (15.5, 24.5, 15.5), pad=2),
                    c.px)),
            ]
        return out

    def air_spaces(self, c: Ctx) -> list[tuple[str, str, np.ndarray]]:
        """Frontal, ethmoid, sphenoid and maxillary sinuses and the nasal cavity, with thin
        bony septa (ethmoid air cells, the nasal septum)."""
        s = self.size
        cells = np.abs(np.cos(c.x * 0.5) * np.cos(c.y * 0.45 + 1) * np.cos(c.z * 0.4))
        septa = fraction(F32(0.12) - cells, c.px * 0.2)
        midline = fraction(F32(0.7) - np.abs(c.x), c.px)
        air = [
            ellipsoid(c.x, c.y, c.z, (0, self.cav_a[1] * 0.97 + 1, 6 * s), (16, 5, 12), pad=2),
            np.minimum(ellipsoid(c.x, c.y, c.z, (0, 52 * s, -27 * s), (11, 17, 12), pad=2),
                       F32(20) - c.z * 0 - F32(0)),
            ellipsoid(c.x, c.y, c.z, (0, 16 * s, -42 * s), (12, 10, 9), pad=2),
            ellipsoid(c.x, c.y, c.z, (0, 58 * s, -52 * s), (10, 20, 11), pad=2),
        ]
        for side in (-1, 1):
            air.append(ellipsoid(c.x, c.y, c.z, (side * 26 * s, 48 * s, -57 * s), (13, 16, 14),
                                 pad=2))
        f = fraction(maximum(air), c.px)
        return [("skull", "cortical_bone", f * np.maximum(septa, midline)),
                ("sinus", "air", f)]

    # ---- inside the skull ----------------------------------------------------------------
    def intracranial(self, c: Ctx, room: np.ndarray) -> list[Part]:
        """Painted in order, each taking its share of what is left: findings' own
        structures, dural sinuses and folds, the subarachnoid space, ventricles, nuclei,
        brainstem, cerebellum, then cortex and white matter."""
        layers: list[tuple[str, str, np.ndarray]] = []
        for f in self.findings:
            layers += f.structures(self, c)
        layers += self.dura_and_sinuses(c)
        brain = fraction(self.brain_depth(c), c.px)
        if self.atrophy_base is None:
            layers.append(("csf", "csf", F32(1) - brain))
        else:  # atrophy as a finding: the CSF beyond this head's own is labelled `atrophy`
            brain0 = fraction(self.brain_depth(c, self.atrophy_base), c.px)
            layers += [("csf", "csf", F32(1) - brain0),
                       ("atrophy", "csf", (brain0 - brain) / np.maximum(brain0, F32(1e-6)))]
        layers += self.ventricles(c)
        layers += self.nuclei(c)
        layers += self.brainstem(c)
        layers += self.cerebellum(c)
        layers += self.cortex(c)
        parts, rem = [], room.astype(F32)
        for label, tissue, f in layers:
            take = rem * f
            rem -= take
            parts.append(Part(label, T[tissue] if isinstance(tissue, str) else tissue, take))
        parts.append(Part("white_matter", T["white_matter"], rem))
        return parts

    def extra_axial_csf(self, atrophy: float | None = None) -> float:
        return 1.6 + 3.0 * (self.atrophy if atrophy is None else atrophy)

    def brain_cavity(self, c: Ctx) -> np.ndarray:
        """The cavity's signed distance in brain space (the same as c.d_cav unwarped)."""
        if c.qx is c.x and c.d_cav is not None:
            return c.d_cav
        if "brain_cavity" not in c.cache:
            c.cache["brain_cavity"] = self.cavity(Ctx(c.qx, c.qy, c.qz, c.qx, c.qy, c.qz,
                                                      c.px))
        return c.cache["brain_cavity"]

    def brain_depth(self, c: Ctx, atrophy: float | None = None) -> np.ndarray:
        """Distance inside the brain's outer surface (the cavity less its CSF layer)."""
        return self.brain_cavity(c) - F32(self.extra_axial_csf(atrophy))

    def tentorium_z(self, y: np.ndarray) -> np.ndarray:
        return (-16.0 + 0.32 * np.minimum(y + 18.0, 0.0)) * self.size

    def infratentorial(self, c: Ctx) -> np.ndarray:
        """Weight of the posterior fossa (below the tentorium, behind the clivus); once per
        slice."""
        if "infra" not in c.cache:
            y_pf = (-22.0 + 24.0 * sigmoid((20.0 - np.abs(c.qx)) / F32(4))) * self.size
            c.cache["infra"] = sigmoid((y_pf - c.qy) / F32(2)) * sigmoid(
                (self.tentorium_z(c.qy) - c.qz) / F32(1))
        return c.cache["infra"]

    def dura_and_sinuses(self, c: Ctx) -> list[tuple[str, str, np.ndarray]]:
        core = self.deep_core(c)
        falx = fraction(F32(0.5) - np.abs(c.qx), c.px) * (F32(1) - core) \
            * (F32(1) - self.infratentorial(c)) * fraction(c.d_cav - F32(2), c.px)
        tent = fraction(F32(0.6) - np.abs(c.qz - self.tentorium_z(c.qy)), c.px) \
            * sigmoid((-20 * self.size - c.qy) / F32(2)) \
            * sigmoid((np.abs(c.qx) - 13) / F32(1.5) + (-c.qy - 45) / F32(1.5))
        sss = fraction(F32(0.7) * (F32(7) - c.d_cav) - np.abs(c.qx), c.px) \
            * fraction(c.d_cav, c.px) * sigmoid((c.z + 10) / F32(2))
        return [("venous_sinus", "blood", sss), ("dura", "dura", np.maximum(falx, tent))]

    def deep_core(self, c: Ctx) -> np.ndarray:
        """The central block (corpus callosum and below) that the interhemispheric fissure
        does not cut."""
        s = self.size
        if "deep_core" not in c.cache:
            c.cache["deep_core"] = fraction(ellipse_xy(c.qy, c.qz, (-4 * s, 3 * s),
                                                       (40 * s, 24 * s)), c.px)
        return c.cache["deep_core"]

    def ventricles(self, c: Ctx, grow: float = 0.0) -> list[tuple[str, str, np.ndarray]]:
        """Lateral ventricles (frontal horn, body, atrium and occipital horn, temporal horn),
        wider with age; the third ventricle, the aqueduct and the fourth ventricle."""
        s, v = self.size, self.ventricle_scale
        out = []
        for side, name in ((1, "lateral_ventricle_left"), (-1, "lateral_ventricle_right")):
            pieces = [
                ellipsoid(c.qx, c.qy, c.qz, (side * (2.5 + 4.5 * v) * s, -4 * s, 17 * s),
                          (4.5 * v, 27 * s, 4.5 * v ** 0.5), pad=grow + 3),
                ellipsoid(c.qx, c.qy, c.qz, (side * (2.5 + 4.5 * v) * s, 18 * s, 10 * s),
                          (4.5 * v, 11 * s, 7.5), pad=grow + 3),
                ellipsoid(c.qx, c.qy, c.qz, (side * 17 * s, -30 * s, 9 * s),
                          (5 * v, 11 * s, 7 * v ** 0.5), pad=grow + 3),
                ellipsoid(c.qx, c.qy, c.qz, (side * 29 * s, -8 * s, -17 * s),
                          (2.5 * v, 14 * s, 2.5 * v), pad=grow + 3),
            ]
            out.append((name, "csf", fraction(maximum(pieces) + F32(grow),
                                              c.px)))
        third = ellipsoid(c.qx, c.qy, c.qz, (0, -6 * s, -3 * s), (2.2 * v, 13 * s, 10 * s), pad=3)
        fourth = ellipsoid(c.qx, c.qy, c.qz, (0, -36 * s, -38 * s), (7 * v ** 0.5, 4.5, 8), pad=3)
        aqueduct = capsule(c.qx, c.qy, c.qz, (0, -20 * s, -10 * s), (0, -33 * s, -31 * s), 1.1,
                           pad=3)
        cisterns = np.maximum(
            ellipsoid(c.qx, c.qy, c.qz, (0, 8 * s, -15 * s), (13, 9, 4), pad=3),  # suprasellar
            ellipsoid(c.qx, c.qy, c.qz, (0, -68 * s, -58 * s), (14, 10, 10), pad=3))  # magna
        out += [("third_ventricle", "csf", fraction(third, c.px)),
                ("fourth_ventricle", "csf", fraction(np.maximum(fourth, aqueduct), c.px)),
                ("csf", "csf", fraction(cisterns, c.px))]
        return out

    def nuclei(self, c: Ctx) -> list[tuple[str, str, np.ndarray]]:
        """Caudate heads beside the frontal horns, lentiform nuclei, thalami, the internal
        capsule between them, the corpus callosum arching over the ventricles."""
        s = self.size
        out = []
        for side in (-1, 1):
            gap = 4.5 * (self.ventricle_scale - 1)
            out += [
                ("thalamus", "deep_grey", fraction(ellipsoid(
                    c.qx, c.qy, c.qz, (side * (10 + gap) * s, -15 * s, 2 * s), (7.5, 12, 9), pad=2),
                    c.px)),
                ("caudate", "deep_grey", fraction(ellipsoid(
                    c.qx, c.qy, c.qz, (side * (13.5 + gap) * s, 13 * s, 9 * s), (4.5, 11, 9),
                    pad=2),
                    c.px)),
                ("lentiform", "deep_grey", fraction(ellipsoid(
                    c.qx, c.qy, c.qz, (side * 23 * s, 2 * s, 0), (6.5, 15, 10), pad=2), c.px)),
                ("internal_capsule", "white_matter", fraction(ellipsoid(
                    c.qx, c.qy, c.qz, (side * 18 * s, 0, 1 * s), (5, 24, 11), pad=2), c.px)),
            ]
        outer = ellipsoid(c.qx * 0, c.qy, c.qz, (0, -5 * s, 6 * s), (1e3, 38 * s, 21 * s))
        inner = ellipsoid(c.qx * 0, c.qy, c.qz, (0, -5 * s, 6 * s), (1e3, 33 * s, 15.5 * s))
        cc = np.minimum(np.minimum(outer, -inner), F32(20) - np.abs(c.qx))
        out.append(("corpus_callosum", "white_matter",
                    fraction(np.minimum(cc, c.qz - F32(-2)), c.px)))
        return out

    def brainstem(self, c: Ctx) -> list[tuple[str, str, np.ndarray]]:
        """Midbrain (with cerebral peduncles), pons bulging forward, medulla: an elliptic
        section whose centre and size change with height."""
        s = self.size
        zs = np.array([-70, -44, -34, -20, -12, 0], F32) * s
        cy = np.array([-26, -22, -16, -15, -17, -18], F32) * s
        ax = np.array([8, 9, 15, 14, 13, 10], F32)
        ay = np.array([8, 9, 14, 12, 11, 9], F32)

        def section(qx, qy, qz):
            zq = np.clip(qz, zs[0], zs[-1])
            cyy, axx, ayy = (np.interp(zq, zs, arr).astype(F32) for arr in (cy, ax, ay))
            u, v = qx / axx, (qy - cyy) / ayy
            r = np.sqrt(u * u + v * v) + F32(1e-6)
            sec = (F32(1) - r) * np.minimum(axx, ayy)
            notch = ellipse_xy(qx, qy, (0, -4 * s), (3.5, 5)) * (qz > -20 * s)
            return np.minimum(np.minimum(sec, -notch), slab(qz, zs[0], zs[-1]))

        d = culled(section, c.qx, c.qy, c.qz, (0.0, -18 * s, -35 * s), (15.5, 24 * s, 35 * s),
                   pad=2)
        return [("brainstem", "white_matter", fraction(d, c.px))]

    def cerebellum(self, c: Ctx) -> list[tuple[str, str, np.ndarray]]:
        """Below the tentorium: folia (thin CSF clefts a few mm apart, concentric round the
        fourth ventricle), a grey cortex, a white core in each hemisphere."""
        s = self.size
        infra = self.infratentorial(c)
        r = np.sqrt((c.qx / F32(1.4)) ** 2 + (c.qy + 36 * s) ** 2 + ((c.qz + 38 * s) * 1.2) ** 2)
        folia = np.abs(np.sin(r * F32(np.pi / 3.2) + F32(self.folia_phase)))
        cleft = fraction(F32(0.18) - folia, c.px * 0.35) * fraction(r - F32(22), c.px)
        core = np.maximum(*(ellipsoid(c.qx, c.qy, c.qz, (side * 16 * s, -50 * s, -40 * s),
                                      (10, 12, 9), pad=2) for side in (-1, 1)))
        vermis_core = ellipsoid(c.qx, c.qy, c.qz, (0, -47 * s, -33 * s), (4, 8, 6), pad=2)
        white = fraction(np.maximum(core, vermis_core), c.px)
        return [("csf", "csf", infra * cleft),
                ("cerebellum", "white_matter", infra * white),
                ("cerebellum", "grey_matter", infra)]

    def cortex(self, c: Ctx) -> list[tuple[str, str, np.ndarray]]:
        """The folded grey ribbon. Sulci are the zero set of a seeded fold field drawn on a
        sphere and carried straight inward (so they run perpendicular to the surface, as
        on a real axial slice), CSF-filled down to SULCUS_DEPTH; cortex CORTEX mm thick
        lines the surface and both walls of every sulcus; the interhemispheric fissure and
        the sylvian fissure (its stem and the cistern over the insula) are deep sulci."""
        s = self.size
        depth = self.brain_depth(c)
        # above the skull base's highest point the convexity alone sets how deep sulci
        # cut (the floor's first-order distance would draw its steps into the slice)
        if c.qx is c.x:
            vault = self.vault_distance(c)
        else:
            vault = ellipsoid(c.qx, c.qy, c.qz, self.cav_c, self.cav_a)
        w = sigmoid((c.qz + F32(6 * s)) / F32(3))
        depth = w * (vault - F32(self.extra_axial_csf())) + (F32(1) - w) * depth
        behind = (c.qy < -20 * s) & (self.infratentorial(c) < 0.5)
        depth = np.minimum(depth, np.where(behind, c.qz - self.tentorium_z(c.qy), F32(1e3)))
        half = F32(0.55 + 1.2 * self.atrophy)
        # the fold field only where sulci reach (the brain's outer SULCUS_DEPTH + CORTEX)
        need = (depth > -2) & (depth < F32(SULCUS_DEPTH + CORTEX + 3))
        dn = np.full(depth.shape, F32(1e3), F32)
        dn[need] = self.sulcus_distance(c.qx[need], c.qy[need], c.qz[need])
        reach = fraction(F32(SULCUS_DEPTH) - depth, c.px * 2)
        open_mid = F32(1) - self.deep_core(c)
        mid = np.abs(c.qx)
        sylvian, insula = self.sylvian(c)
        def csf_of(half):
            return np.maximum.reduce([
                fraction(half - dn, c.px) * reach,
                fraction(F32(1.0) + half - mid, c.px) * open_mid,
                fraction(F32(1.0) + half - sylvian, c.px),
            ])
        csf = csf_of(half)
        g = F32(CORTEX)
        grey = np.maximum.reduce([
            fraction(g - depth, c.px),
            fraction(half + g - dn, c.px) * fraction(F32(SULCUS_DEPTH) + g - depth, c.px * 2),
            fraction(F32(1.0) + half + g - mid, c.px) * open_mid,
            fraction(F32(1.0) + half + g - sylvian, c.px),
            insula,
        ])
        if self.atrophy_base is not None:
            csf0 = csf_of(F32(0.55 + 1.2 * self.atrophy_base))
            return [("csf", "csf", csf0),
                    ("atrophy", "csf", (csf - csf0) / np.maximum(F32(1) - csf0, F32(1e-6))),
                    ("grey_matter", "grey_matter", grey)]
        return [("csf", "csf", csf), ("grey_matter", "grey_matter", grey)]

    def sulcus_distance(self, qx, qy, qz) -> np.ndarray:
        """Distance (mm) to the nearest convexity sulcus: the fold field evaluated where the
        point's ray from the brain's centre meets a 70 mm sphere, scaled back by depth."""
        cx, cy, cz = 0.0, -5.0 * self.size, 8.0 * self.size
        vx, vy, vz = qx - F32(cx), qy - F32(cy), qz - F32(cz)
        r = np.sqrt(vx * vx + vy * vy + vz * vz) + F32(1e-3)
        # sulci wander as they go in: the ray turns a little with depth (not straight spokes)
        turn = F32(0.05) * np.sin(r * F32(0.12) + F32(3) * vz / r + F32(self.folia_phase))
        cos_t, sin_t = np.cos(turn), np.sin(turn)
        vx, vy = vx * cos_t - vy * sin_t, vx * sin_t + vy * cos_t
        k = F32(70.0) / r
        return self.gyri.distance(vx * k, vy * k, vz * k) / k

    def sylvian(self, c: Ctx) -> tuple[np.ndarray, np.ndarray]:
        """Distance to the sylvian fissure and the insular cortex's fraction. The insula is
        a surface bowed outward, its cistern an oval band (fading at its edges, no
        corners); the fissure's stem leaves it for the lateral surface running backward
        and a little wavy."""
        s = self.size
        ax = np.abs(c.qx)
        e = ((c.qy - F32(3 * s)) / F32(21 * s)) ** 2 + ((c.qz - F32(1.5 * s)) / F32(13.5 * s)) ** 2
        band = fraction((F32(1) - e) * F32(12), c.px * 6)
        x_ins = F32(38.5 * s) - F32(0.012) * (c.qy - F32(3 * s)) ** 2 / F32(s)
        out = ax - x_ins
        y_stem = (10 + 0.3 * c.qz) * s - F32(0.35) * out + F32(0.8) * np.sin(ax * F32(0.12))
        stem = np.where(out > 0, np.abs(c.qy - y_stem) * F32(0.94), F32(1e3))
        dist = np.minimum(stem, np.abs(out)) / np.maximum(band, F32(1e-3))
        insula = fraction(slab(out, -4.5, -0.5), c.px) * band
        return dist, insula

    # ---- vascular territories ----------------------------------------------------------
    def territory(self, qx, qy, qz) -> np.ndarray:
        """Arterial territory per point (brain space): 0 none, 1 ACA, 2 MCA, 3 PCA, 4
        vertebrobasilar; add 10 on the patient's left. ACA: the medial frontal and parietal
        strip and the high convexity; PCA: occipital lobe, inferomedial temporal lobe,
        thalamus; vertebrobasilar: brainstem and cerebellum; MCA: the rest (lateral
        convexity, insula, lentiform, most of the internal capsule)."""
        s = self.size
        qx, qy, qz = (np.asarray(a, F32) for a in (qx, qy, qz))
        ax = np.abs(qx)
        c = Ctx(qx, qy, qz, qx, qy, qz, 1.0)
        infra = self.infratentorial(c) > 0.5
        stem = (ax < 16) & (qz < -14 * s) & (qy > -34 * s) & (qy < -2 * s)
        aca = (ax < 14 * s + 0.25 * np.maximum(qz, 0)) & (qy > -42 * s) & (qz > 4 * s) \
            | (qy > 20 * s) & (ax < 12 * s) & (qz > -8 * s)
        pca = (qy < -48 * s + 0.15 * qz) | ((qz < -6 * s) & (qy < -8 * s) & (ax < 36 * s)) \
            | (ellipsoid(qx * np.sign(qx + 1e-6), qy, qz, (10 * s, -15 * s, 2 * s),
                         (8, 12.5, 9.5), pad=2) > 0)
        t = np.full(qx.shape, 2, np.int8)
        t = np.where(pca, 3, t)
        t = np.where(aca & ~pca, 1, t)
        t = np.where(infra | stem, 4, t)
        return (t + np.where(qx > 0, 10, 0)).astype(np.int8)


def maximum(arrays: list[np.ndarray]) -> np.ndarray:
    """Elementwise maximum of several arrays (a union of solids) without stacking them."""
    out = np.array(arrays[0], F32)
    for a in arrays[1:]:
        np.maximum(out, a, out=out)
    return out


TERRITORY_CODES = {"aca": 1, "mca": 2, "pca": 3, "basilar": 4, "pica": 4}


def build_head(rng: np.random.Generator, age: int, sex: str) -> HeadModel:
    """Seeded sizes: head 0.94-1.06 (women ~4% smaller), skull 5.5-8 mm, scalp 4.5-7 mm;
    ventricles and sulci widen after ~40 (about 1% a year in width)."""
    size = float(rng.uniform(0.95, 1.05)) * (0.96 if sex == "female" else 1.0)
    if age < 18:
        size *= 0.88 + 0.12 * min(age, 18) / 18
    ageing = max(0.0, age - 40) / 40.0
    return HeadModel(
        age=age, sex=sex, size=size, skull=float(rng.uniform(5.5, 8.0)),
        scalp=float(rng.uniform(4.5, 7.0)),
        ventricle_scale=float(rng.uniform(0.9, 1.1)) * (1.0 + 0.5 * ageing),
        atrophy=0.6 * ageing, gyri=Waves(rng, GYRUS_WAVELENGTH, n=9, spread=(0.85, 1.2)),
        folia_phase=float(rng.uniform(0, np.pi)))
