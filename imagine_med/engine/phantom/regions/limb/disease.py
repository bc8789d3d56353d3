"""Bone disease on any limb region's 3D bones: each disease a named function turning a built
limb into a diseased one (the lesions of lesions.py on the bones it affects), with its label
and the measurements its key sentence is written from.

- osteoporosis: fewer, thinner trabeculae and a cortex at ~40 % of normal (the metacarpal
  cortical index, combined cortical thickness / shaft width at the second metacarpal's
  midshaft, normal > ~0.45: Barnett & Nordin 1960; Meema);
- rheumatoid arthritis of the hand: periarticular osteopenia, marginal erosions at the bare
  areas of the MCP and PIP joints (radial side of MCP 2-3 first) and the ulnar styloid,
  symmetric narrowing of the MCP and PIP joints; osteoarthritis of the hand to contrast:
  DIP and PIP narrowing with osteophytes (Heberden's nodes at the DIP, Bouchard's at the
  PIP), MCPs spared;
- bone tumours (Lodwick's patterns of destruction: geographic with a narrow zone of
  transition, moth-eaten, permeative; matrix; periosteal reaction: solid, lamellated "onion
  skin", sunburst, Codman triangle): giant cell tumour of the distal radius (eccentric,
  epiphyseal to subchondral bone, geographic, expansile, no matrix), osteosarcoma of the
  proximal humeral metaphysis (osteoid "cloud" matrix, permeative, sunburst and Codman
  triangles), Ewing sarcoma of the femoral diaphysis (permeative, lamellated onion skin),
  a sclerotic metastasis of the proximal femur (sclerotic, narrow zone, no reaction);
- Paget's disease of the proximal femur and hemipelvis: enlarged bone, cortex ~1.9x thick,
  coarse trabeculae, a V-shaped lytic front ("blade of grass") in the shaft;
- osteoarthritis of the hip by Kellgren-Lawrence grade (Kellgren & Lawrence 1957): joint
  space narrowing superolaterally, osteophytes, subchondral sclerosis and cysts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Wrist
from imagine_med.engine.phantom.regions.limb.lesions import (
    Blob,
    Bump,
    Erosion,
    Lesion,
    Osteopenia,
    Pagetic,
    Periosteal,
    Tumour,
    wrap,
)
from imagine_med.engine.phantom.regions.limb.shapes import LongBone

ERODE_MC_MM, ERODE_PIP_MM = 2.6, 2.0  # erosion radii (moderate RA: 2-5 mm bites)
OSTEOPOROTIC_CORTEX = 0.4  # cortex left, of normal (Meema: MCI falls from ~0.55 to < 0.4)
MCI_NORMAL = 0.45  # metacarpal cortical index: below it, osteopenia
HIP_JOINT_SPACE_MM = 2.5  # the model's superolateral hip joint space (hip.py: 26.5 - 24)
SUPEROLATERAL = np.array([0.5, 0.0, -0.866])  # 30 deg lateral of vertical (weight-bearing)
# KL grade -> (target joint space mm (None: unchanged), osteophyte radius mm, sclerosis band
# mm, cysts)
KL_HIP: dict[int, tuple[float | None, float, float, int]] = {
    0: (None, 0.0, 0.0, 0),
    1: (None, 2.2, 0.0, 0),
    2: (2.1, 4.2, 0.0, 0),
    3: (1.2, 5.5, 2.5, 1),
    4: (0.3, 7.5, 4.0, 2),
}
# disease -> (regions it is built on, typical ages, usual sex or None)
DISEASES: dict[str, tuple[tuple[str, ...], tuple[float, float], str | None]] = {
    "osteoporosis": (("hand", "wrist", "hip"), (68.0, 85.0), "female"),
    "rheumatoid_arthritis": (("hand", "wrist"), (40.0, 68.0), "female"),
    "hand_osteoarthritis": (("hand",), (55.0, 80.0), "female"),
    "hip_osteoarthritis": (("hip",), (55.0, 82.0), None),
    "giant_cell_tumour": (("wrist",), (22.0, 40.0), None),
    "osteosarcoma": (("shoulder",), (12.0, 19.0), None),
    "ewing_sarcoma": (("hip",), (9.0, 18.0), None),
    "sclerotic_metastasis": (("hip",), (58.0, 80.0), "male"),
    "paget": (("hip",), (60.0, 85.0), None),
    "osteoid_osteoma": (("hip",), (10.0, 25.0), "male"),
}


@dataclass(frozen=True)
class Disease:
    name: str
    grade: int | None = None  # Kellgren-Lawrence grade

    def default_age(self, seed: int) -> float:
        lo, hi = DISEASES[self.name][1]
        return float(np.random.default_rng([seed, 61]).uniform(lo, hi))

    def default_sex(self) -> str | None:
        return DISEASES[self.name][2]


FINDING_DISEASE = {
    "osteoporosis": "osteoporosis",
    "rheumatoid_arthritis": "rheumatoid_arthritis",
    "giant_cell_tumour": "giant_cell_tumour",
    "osteosarcoma": "osteosarcoma",
    "ewing_sarcoma": "ewing_sarcoma",
    "sclerotic_metastasis": "sclerotic_metastasis",
    "paget": "paget",
    "osteoid_osteoma": "osteoid_osteoma",
}


def split_findings(findings, region: str) -> tuple[Disease | None, tuple]:
    """The bone disease a request names (None: none) and its other findings (a fracture
    through the diseased bone); EngineError for two diseases on one film or a disease not
    built on this region."""
    ill, rest = None, []
    for f in findings:
        d = _disease_of(f, region)
        if d is None:
            rest.append(f)
        elif ill is not None:
            raise EngineError(
                f"One bone disease per film: {ill.name.replace('_', ' ')} or "
                f"{d.name.replace('_', ' ')}."
            )
        else:
            ill = d
    return ill, tuple(rest)


def wanted_disease(findings, region: str) -> Disease | None:
    return split_findings(findings, region)[0]


def _disease_of(f, region: str) -> Disease | None:
    name = FINDING_DISEASE.get(f.name)
    grade = None
    if f.name == "osteoarthritis":
        name = "hip_osteoarthritis" if region == "hip" else "hand_osteoarthritis"
        grade = next((int(m[-1]) for m in f.modifiers if m.startswith("kl_")), None)
        if region == "hip" and grade is None:
            grade = 3
    if name is None:
        return None
    regions = DISEASES[name][0]
    if region not in regions:
        where = " or ".join(regions)
        raise EngineError(
            f"{name.replace('_', ' ').capitalize()} is built on the {where} "
            f"film; not the {region}. Ask for e.g. '{regions[0]} x-ray, "
            f"{name.replace('_', ' ')}'."
        )
    return Disease(name, grade)


# --- building -------------------------------------------------------------------------


def _each_bone(limb: Wrist, fn: Callable[[Bone], Bone | None]) -> Wrist:
    """fn on every bone and part (None: unchanged)."""
    out = []
    for b in limb.bones:
        parts = [fn(p) or p for p in b.parts]
        nb = fn(b) or b
        out.append(replace(nb, parts=parts))
    return replace(limb, bones=out)


def _with(bone: Bone, *lesions: Lesion) -> Bone:
    return replace(bone, shape=wrap(bone.shape, *lesions))


def _ends(bone: Bone) -> tuple[float, ...]:
    sh = bone.shape
    if isinstance(getattr(sh, "base", sh), LongBone):
        return (float(sh.z_lo), float(sh.z_hi))
    return ()


def osteoporosis(limb: Wrist, seed: int) -> Wrist:
    """Every bone: a thin cortex and sparse trabeculae."""

    def thin(b: Bone) -> Bone | None:
        return None if b.tissue else _with(b, Osteopenia(OSTEOPOROTIC_CORTEX, 17 + b.tex_offset))

    return _each_bone(limb, thin)


def _ray_shift(limb: Wrist, ray: int, first: str, step_mm: float) -> Wrist:
    """Move the bones of a finger from phalanx `first` on toward the palm by `step_mm`
    (a joint space narrowed)."""
    order = ("proximal", "middle", "distal")
    start = order.index(first)
    names = {f"{k}_phalanx_{ray}" for k in order[start:]}
    bones = []
    for b in limb.bones:
        if b.name in names:
            axis = b.rot @ np.array([0.0, 0.0, 1.0])
            b = replace(b, centre=b.centre - axis * step_mm)
        bones.append(b)
    return replace(limb, bones=bones)


def _head_site(
    b: Bone, side: float, back_mm: float, inset: float = 0.95
) -> tuple[float, float, float]:
    """A point on the margin of a long bone's distal head: radial (side +1) or ulnar (-1),
    `back_mm` proximal to its end (the bare area)."""
    sh = b.shape
    z = float(sh.z_hi) - back_mm
    a = float(np.interp(z, sh.z_knots, sh.a))
    return (side * a * inset, 0.0, z)


EROSION_SITES = (
    ("metacarpal_2", +1),
    ("metacarpal_3", +1),
    ("metacarpal_5", -1),
    ("metacarpal_4", -1),
    ("proximal_phalanx_2", +1),
    ("proximal_phalanx_3", +1),
    ("proximal_phalanx_4", -1),
    ("proximal_phalanx_5", -1),
)


def rheumatoid(limb: Wrist, seed: int) -> Wrist:
    """Periarticular osteopenia of every bone near its joints (and the carpus), marginal
    erosions at a seeded choice of MCP/PIP bare areas and the ulnar styloid, symmetric
    MCP and PIP narrowing."""
    rng = np.random.default_rng([seed, 67])
    s = limb.scale
    n = int(rng.integers(3, 7))
    picks = {EROSION_SITES[i] for i in rng.choice(len(EROSION_SITES), n, replace=False)}
    here = {b.name for b in limb.bones}

    def affect(b: Bone) -> Bone | None:
        if b.tissue:
            return None
        ends = _ends(b)
        les: list[Lesion] = [Osteopenia(0.7, 41 + b.tex_offset, ends, 12.0 * s)]
        for name, side in picks:
            if b.name == name:
                meta = name.startswith("meta")
                back = (4.2 if meta else 2.6) * s
                radius = (ERODE_MC_MM if meta else ERODE_PIP_MM) * s
                les.append(Erosion(_head_site(b, side, back, 0.9), radius))
        if b.name == "ulna" and isinstance(b.shape, LongBone):  # at the styloid's base
            les.append(Erosion((-6.6 * s, -2.2 * s, -1.5 * s), ERODE_MC_MM * s))
        return _with(b, *les)

    limb = _each_bone(limb, affect)
    if "proximal_phalanx_2" in here:
        for ray in range(2, 6):
            limb = _ray_shift(limb, ray, "proximal", 0.45 * s)
            limb = _ray_shift(limb, ray, "middle", 0.35 * s)
    return limb


def hand_osteoarthritis(limb: Wrist, seed: int) -> Wrist:
    """DIP and PIP narrowing with marginal osteophytes either side: Heberden's nodes (DIP:
    head of the middle phalanx, base of the distal), Bouchard's (PIP: head of the proximal
    phalanx); MCPs spared."""
    rng = np.random.default_rng([seed, 71])
    s = limb.scale

    def spurs(b: Bone) -> Bone | None:
        if not (
            "middle_phalanx" in b.name or b.name.startswith("proximal_phalanx_")
        ) or b.name.endswith("_1"):
            return None
        big = 1.5 if "middle" in b.name else 1.2
        les = [
            Bump(_head_site(b, side, 1.4 * s, 1.0), big * s * float(rng.uniform(0.85, 1.15)))
            for side in (+1, -1)
        ]
        return _with(b, *les)

    limb = _each_bone(limb, spurs)
    for ray in range(2, 6):
        limb = _ray_shift(limb, ray, "middle", 0.35 * s)
        limb = _ray_shift(limb, ray, "distal", 0.45 * s)
    return limb


def _femur_shaft(b: Bone) -> int | None:
    return next((i for i, p in enumerate(b.parts) if isinstance(p.shape, LongBone)), None)


def _on_part(limb: Wrist, bone: str, index: int | None, *lesions: Lesion) -> Wrist:
    """Lesions on one bone (index None) or one of its parts."""
    bones = []
    for b in limb.bones:
        if b.name == bone:
            if index is None:
                b = _with(b, *lesions)
            else:
                parts = list(b.parts)
                parts[index] = _with(parts[index], *lesions)
                b = replace(b, parts=parts)
        bones.append(b)
    return replace(limb, bones=bones)


def tumour(limb: Wrist, seed: int, name: str) -> Wrist:
    """The named tumour on its bone, in the bone's frame."""
    rng = np.random.default_rng([seed, 73])
    s = limb.scale
    j = float(rng.uniform(0.9, 1.1))
    if name == "giant_cell_tumour":  # eccentric (radial), epiphysis to subchondral bone
        les = Tumour(
            (4.0 * s, 0.5 * s, -9.0 * s),
            (8.5 * s * j, 7.5 * s, 11.5 * s * j),
            "lytic",
            0.8,
            expand_mm=1.6 * s,
            seed=seed,
        )
        return _on_part(limb, "radius", None, les)
    if name == "osteosarcoma":  # proximal humeral metaphysis, through the cortex
        z0, L = 40.0 * s * j, 26.0 * s
        les = (
            Tumour(
                (0.0, 0.0, z0),
                (13.0 * s, 12.0 * s, L),
                "osteoid",
                9.0,
                keeps_cortex=False,
                seed=seed,
            ),
            Periosteal("sunburst", (z0 - 0.7 * L, z0 + 0.7 * L), 13.0 * s),
            Periosteal("codman", (z0 - 1.15 * L, z0 + 1.15 * L), 5.0 * s),
        )
        return _on_part(limb, "humerus", None, *les)
    femur = next(b for b in limb.bones if b.name == "femur")
    k = _femur_shaft(femur)
    if name == "ewing_sarcoma":  # femoral diaphysis, permeative, onion skin
        z0, L = 72.0 * s * j, 26.0 * s
        les = (
            Tumour(
                (0.0, 0.0, z0),
                (15.0 * s, 15.0 * s, L),
                "lytic",
                12.0,
                keeps_cortex=False,
                seed=seed,
            ),
            Periosteal("lamellated", (z0 - 1.1 * L, z0 + 1.1 * L), 8.0 * s, 2.8 * s),
        )
        return _on_part(limb, "femur", k, *les)
    if name == "sclerotic_metastasis":  # subtrochanteric, dense, well defined
        les = Tumour(
            (2.0 * s, 0.0, 22.0 * s * j), (9.0 * s, 8.0 * s, 13.0 * s), "sclerotic", 0.8, seed=seed
        )
        return _on_part(limb, "femur", k, les)
    if name == "osteoid_osteoma":  # a lucent nidus in the lateral cortex, solid reaction
        z0 = 45.0 * s * j
        a = float(np.interp(z0, femur.parts[k].shape.z_knots, femur.parts[k].shape.a))
        les = (
            Periosteal(
                "solid", (z0 - 28.0 * s, z0 + 28.0 * s), 5.0 * s, lateral_only=True
            ),  # first: the nidus is painted over it
            Tumour(
                (a - 1.5 * s, 0.0, z0),
                (4.5 * s, 4.5 * s, 5.5 * s),
                "lytic",
                0.8,
                keeps_cortex=False,
                seed=seed,
            ),
        )
        return _on_part(limb, "femur", k, *les)
    raise EngineError(f"No tumour model named {name}.")


PAGET_BOW_MM = 5.0  # lateral bowing of the femoral shaft at the front
PAGET_FRONT_MM = 85.0  # shaft-frame z of the lytic front's base (below the measured level)


def paget(limb: Wrist, seed: int) -> Wrist:
    """Paget's disease of the proximal femur (head, neck, trochanters, the shaft down to a
    V-shaped lytic front) and the hemipelvis, with the shaft bowed a little laterally."""
    rng = np.random.default_rng([seed, 79])
    s = limb.scale
    front = PAGET_FRONT_MM * s * float(rng.uniform(0.95, 1.05))

    def affect(b: Bone) -> Bone | None:
        if b.tissue:
            return None
        if isinstance(b.shape, LongBone) and b.shape.z_hi > 200:  # the femoral shaft
            r = float(np.interp(front, b.shape.z_knots, b.shape.a))
            return _with(
                b,
                Pagetic(
                    front, 3.0 * s, 1.9, 24.0 * s, r + 3.0 * s, 23 + b.tex_offset, PAGET_BOW_MM * s
                ),
            )
        grow = 0.6 * s if b.name == "acetabulum" else 2.0 * s  # not into the joint
        return _with(b, Pagetic(1e9, grow, 1.9, 0.0, 15.0, 23 + b.tex_offset))

    return _each_bone(limb, affect)


def hip_osteoarthritis(limb: Wrist, seed: int, grade: int) -> Wrist:
    """Kellgren-Lawrence grade `grade`: the femur migrated superolaterally into the socket
    (the joint space narrowed to the grade's), osteophytes at the lateral head-neck
    junction, the inferomedial head and the acetabular rim, subchondral sclerosis of the
    roof and head, subchondral cysts."""
    if grade not in KL_HIP:
        raise EngineError(f"Kellgren-Lawrence grades run 0-4; not {grade}.")
    rng = np.random.default_rng([seed, 83])
    s = limb.scale
    js, ost, scl, cysts = KL_HIP[grade]
    n = SUPEROLATERAL
    head_r, cup_r = 24.0 * s, 26.5 * s
    move = n * ((cup_r - head_r) - js) if js is not None else np.zeros(3)
    out = []
    for b in limb.bones:
        if b.name == "femur":
            parts = []
            for p in b.parts:
                p = replace(p, centre=p.centre + move)
                if p.name == "femoral_head":
                    p = _with(p, *_head_changes(head_r, ost * s, scl * s, cysts, rng))
                parts.append(p)
            b = replace(b, centre=b.centre + move, parts=parts)
        elif b.name == "acetabulum":
            b = _with(b, *_cup_changes(cup_r, ost * s, scl * s, cysts, rng))
        out.append(b)
    return replace(limb, bones=out)


def _head_changes(r: float, ost: float, scl: float, cysts: int, rng) -> list[Lesion]:
    """The head's osteophytes (lateral, at the head-neck junction; inferomedial), its
    sclerosis and a cyst, in the head's frame (the limb's axes, origin at its centre)."""
    les: list[Lesion] = []
    if ost > 0:
        for direction, k in (((0.97, 0.0, 0.26), 1.0), ((-0.45, 0.0, 0.89), 0.8)):
            c = tuple(v * r * 0.98 for v in direction)
            les.append(Bump(c, ost * k * float(rng.uniform(0.9, 1.1))))
    if scl > 0:
        les.append(
            Blob(
                (0.0, 0.0, 0.0),
                r,
                "sclerosis",
                "impacted_bone",
                shell=(r - scl, r + 0.5),
                axis=tuple(SUPEROLATERAL),
                cone=0.9,
            )
        )
    if cysts >= 2:
        c = tuple(SUPEROLATERAL * (r - 5.0))
        les.append(Blob(c, 3.2, "cyst", "serous_fluid"))
    return les


def _cup_changes(r_in: float, ost: float, scl: float, cysts: int, rng) -> list[Lesion]:
    les: list[Lesion] = []
    if ost > 0:  # the lateral acetabular margin, beyond the roof
        c = tuple(np.array([0.79, 0.0, -0.62]) * (r_in + 3.5))
        les.append(Bump(c, ost * float(rng.uniform(0.9, 1.1))))
    if scl > 0:
        les.append(
            Blob(
                (0.0, 0.0, 0.0),
                r_in,
                "sclerosis",
                "impacted_bone",
                shell=(r_in - 0.5, r_in + scl),
                axis=tuple(SUPEROLATERAL),
                cone=0.85,
            )
        )
    if cysts >= 1:
        c = tuple(SUPEROLATERAL * (r_in + 4.5))
        les.append(Blob(c, 3.5, "cyst", "serous_fluid"))
    return les


def apply(limb: Wrist, d: Disease, seed: int) -> Wrist:
    if d.name == "osteoporosis":
        return osteoporosis(limb, seed)
    if d.name == "rheumatoid_arthritis":
        return rheumatoid(limb, seed)
    if d.name == "hand_osteoarthritis":
        return hand_osteoarthritis(limb, seed)
    if d.name == "hip_osteoarthritis":
        return hip_osteoarthritis(limb, seed, d.grade if d.grade is not None else 3)
    if d.name == "paget":
        return paget(limb, seed)
    return tumour(limb, seed, d.name)
