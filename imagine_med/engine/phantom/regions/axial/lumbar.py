"""The lumbar spine: T12 to L5 on the sacrum, with discs, pedicles, laminae, articular
processes, the pars, transverse and spinous processes, the psoas margins in retroperitoneal
fat and the abdomen's soft tissue; and what injures or wears it (an osteoporotic wedge, a
burst, an isthmic spondylolisthesis on pars defects, a narrowed disc with osteophytes).

Adult numbers (one table, `LEVELS`): bodies ~40-50 mm wide, ~30-35 mm deep, 24-28 mm high,
discs 7-12 mm growing caudally; inner interpedicular distance ~22 mm at L1 to ~28 mm at L5
(Elsberg-Dyke / Hinck norms); lordosis ~40-60 deg with the sacral slope ~38 deg (Legaye
2011 pelvic parameters). Body frame: x left, y anterior, z caudal; origin the abdomen's axis
at L3's mid-height.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.physics.radiography import mu_per_mm
from imagine_med.engine.phantom.regions.axial.shapes import Capsule, VertebralBody
from imagine_med.engine.phantom.regions.axial.vertebra import (
    Level,
    body_solid,
    lumbar_posterior,
    moved,
    place,
    solid,
)
from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Wrist, size_scale
from imagine_med.engine.phantom.regions.limb.shapes import Ovoid, rotation

LEVELS = (  # name, a, b, h, inner interpedicular distance, spinous, transverse length
    Level("t12", 19.0, 14.5, 24.0, 21.0, 24.0, 14.0),
    Level("l1", 20.5, 15.0, 25.0, 22.0, 26.0, 22.0),
    Level("l2", 21.5, 15.5, 26.0, 23.0, 27.0, 28.0),
    Level("l3", 22.5, 16.0, 27.0, 24.0, 27.0, 34.0),
    Level("l4", 23.5, 16.5, 27.0, 25.5, 26.0, 30.0),
    Level("l5", 24.5, 17.0, 26.0, 28.0, 22.0, 27.0),
)
DISC_MM = (7.0, 8.0, 9.0, 10.0, 11.0, 10.5)  # below T12, L1, ..., L5 (L5/S1)
TILT_DEG = (-10.0, -8.0, -4.0, 2.0, 10.0, 20.0)  # sagittal tilt of each body (lordosis)
SACRAL_SLOPE_DEG = 38.0
BODY_Y_L3 = -12.0  # mm: L3's centre behind the abdomen's axis
ENVELOPE = {
    "z": (-400.0, -150.0, 0.0, 120.0, 200.0, 400.0),
    "A": (150.0, 150.0, 160.0, 170.0, 170.0, 170.0),
    "B": (105.0, 105.0, 110.0, 110.0, 110.0, 110.0),
    "x0": (0.0,) * 6,
    "fat": (22.0, 22.0, 25.0, 28.0, 28.0, 28.0),
}
PSOAS = ((-150.0, 8.0), (0.0, 20.0), (130.0, 30.0))  # z, radius (mm): it thickens caudally
PSOAS_FAT_MM = 6.0  # the retroperitoneal fat round it


@dataclass
class Spine:
    """The film's subject: its solids and, per level, where its body sits (for findings)."""

    bones: list[Bone]
    centres: dict[str, np.ndarray] = field(default_factory=dict)
    tilts: dict[str, float] = field(default_factory=dict)


def _placements(s: float, discs: list[float]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Body centres walking up and down from L3 along the lordotic curve."""
    centres = {"l3": np.array([0.0, BODY_Y_L3 * s, 0.0])}
    tilts = {lv.name: t for lv, t in zip(LEVELS, TILT_DEG, strict=True)}
    tilts["s1"] = SACRAL_SLOPE_DEG
    names = [lv.name for lv in LEVELS]
    heights = {lv.name: lv.h * s for lv in LEVELS}
    heights["s1"] = 28.0 * s
    order = [*names, "s1"]
    i3 = order.index("l3")
    for i in range(i3 - 1, -1, -1):  # upwards
        lo, up = order[i + 1], order[i]
        axis = rotation(0.5 * (tilts[lo] + tilts[up]), 0, 0) @ np.array([0.0, 0.0, 1.0])
        centres[up] = centres[lo] - axis * (heights[lo] / 2 + discs[i] + heights[up] / 2)
    for i in range(i3 + 1, len(order)):  # downwards
        up, lo = order[i - 1], order[i]
        axis = rotation(0.5 * (tilts[lo] + tilts[up]), 0, 0) @ np.array([0.0, 0.0, 1.0])
        centres[lo] = centres[up] + axis * (heights[up] / 2 + discs[i - 1] + heights[lo] / 2)
    return centres, tilts


def _sacrum(s: float, c: np.ndarray, tilt: float) -> list[Bone]:
    """S1's body (its own label: the sacral endplate listhesis is measured on) and the rest of
    the sacrum (alae, the lower segments curving back, the coccyx)."""
    R = rotation(tilt, 0, 0)
    s1 = Bone(
        "s1",
        VertebralBody(25.0 * s, 17.0 * s, 28.0 * s, 28.0 * s, 1.0 * s),
        c,
        R,
        40,
        tex_offset=91,
    )
    out = [s1]
    for sx in (-1.0, 1.0):  # the alae, out and down to the sacroiliac joints
        ala = Capsule(
            (sx * 14.0 * s, -8.0 * s, 0.0), (sx * 44.0 * s, -12.0 * s, 14.0 * s), 11.0 * s, 9.0 * s
        )
        out.append(place(solid("sacrum", ala, tex=93), c, R))
    rest = Capsule((0.0, -4.0 * s, 16.0 * s), (0.0, -14.0 * s, 80.0 * s), 20.0 * s, 7.0 * s)
    out.append(place(solid("sacrum", rest, tex=95), c, R))
    return out


def _discs(
    s: float, centres: dict[str, np.ndarray], tilts: dict[str, float], discs: list[float]
) -> list[Bone]:
    """Each disc a soft solid between its bodies (label only: water-rich fibrocartilage is
    as dense as muscle on a film)."""
    order = [*(lv.name for lv in LEVELS), "s1"]
    heights = {lv.name: lv.h * s for lv in LEVELS}
    out = []
    for i in range(len(order) - 1):
        up, lo = order[i], order[i + 1]
        c = centres[up] + rotation(tilts[up], 0, 0) @ np.array(
            [0.0, 0.0, heights[up] / 2 + discs[i] / 2]
        )
        lv = LEVELS[i]
        shape = VertebralBody(lv.a * s, lv.b * s, discs[i], discs[i], 0.5)
        out.append(
            Bone(
                "disc", shape, c, rotation(0.5 * (tilts[up] + tilts[lo]), 0, 0), 5, tissue="fibrous"
            )
        )
    return out


def psoas_shadow(geo, s: float) -> tuple[np.ndarray, np.ndarray]:
    """The psoas margins on an AP in closed form: each psoas a vertical cylinder of muscle
    (radius r(z), thickening caudally) in a sheath of retroperitoneal fat `PSOAS_FAT_MM`
    thick; a ray at distance d from its axis crosses 2 (sqrt(R^2 - d^2) - sqrt(r^2 - d^2))
    of fat instead of muscle. Returns (the line-integral change on the detector, the sheath's
    pixels). Voxels would cost more than all the bones together for two soft cylinders."""
    H, W = geo.shape
    v = (np.arange(H, dtype=np.float32) - (H - 1) / 2) * geo.px_obj
    u = (np.arange(W, dtype=np.float32) - (W - 1) / 2) * geo.px_obj
    z = geo.centre[2] + v[:, None]
    x = geo.centre[0] + u[None, :]
    zk = np.array([p[0] for p in PSOAS]) * s
    r = np.interp(z, zk, np.array([p[1] for p in PSOAS]) * s)
    R = r + PSOAS_FAT_MM * s
    off = (22.0 + 0.16 * (z / s + 150.0)) * s  # the axis moves out as it descends
    delta = np.zeros((H, W), np.float32)
    sheath = np.zeros((H, W), bool)
    mu = mu_per_mm("fat") - mu_per_mm("muscle")
    top, bottom = zk[0], zk[-1]
    within = (z >= top) & (z <= bottom)
    for sx in (-1.0, 1.0):
        d = np.abs(x - sx * off)
        fat = 2 * (np.sqrt(np.maximum(R * R - d * d, 0)) - np.sqrt(np.maximum(r * r - d * d, 0)))
        fat = np.where(within, fat, 0.0)
        delta += (mu * fat).astype(np.float32)
        sheath |= within & (d > r) & (d < R)
    return delta, sheath


def build_lumbar(seed: int, age: float, sex: str, finding=None) -> Wrist:
    """The lumbar film's subject; `finding` (request.Want) changes one level."""
    rng = np.random.default_rng([seed, 61])
    s = size_scale(max(age, 17.0), sex) * float(1.0 + rng.uniform(-0.04, 0.04))
    discs = [d * s for d in DISC_MM]
    pattern = finding.pattern if finding is not None else None
    at = finding.level if finding is not None else None
    if pattern == "degenerative":
        discs[[lv.name for lv in LEVELS].index(at)] *= 1 - finding.amount
    centres, tilts = _placements(s, discs)
    bones: list[Bone] = []
    slip = np.zeros(3)
    if pattern == "spondylolisthesis":  # the body forward along the lower endplate
        slip = _slip_vector(s, centres, tilts, at, finding.amount)
    for i, lv in enumerate(LEVELS):
        c, R = centres[lv.name], rotation(tilts[lv.name], 0, 0)
        here = at == lv.name
        ant = finding.amount if here and pattern == "wedge" else 0.0
        if here and pattern == "burst":
            body = body_solid(lv, s, 11 * i + 3, 0.42, 0.30, widen=1.12, cup=3.0)
        else:
            body = body_solid(lv, s, 11 * i + 3, ant_loss=ant)
        gap = 2.0 if here and pattern in ("spondylolisthesis", "spondylolysis") else 0.0
        front, back = lumbar_posterior(lv, s, 11 * i + 5, pars_gap_mm=gap)
        if here and pattern == "burst":  # the pedicles spread: the interpedicular distance
            front = [
                moved(b, np.array([np.sign(b.centre[0] or 1) * 3.0 * s, 0, 0]))
                if b.name == "pedicle"
                else b
                for b in front
            ]
        pieces = [body, *front, *_finding_pieces(lv, s, finding if here else None)]
        # the column above rides forward on the slipped body; its arch (behind the pars
        # defects) stays on the sacrum
        shift = (
            slip if pattern == "spondylolisthesis" and i <= LEVELS.index(_lv(at)) else np.zeros(3)
        )
        bones += [moved(place(b, c, R), shift) for b in pieces]
        stay = slip if pattern == "spondylolisthesis" and i < LEVELS.index(_lv(at)) else np.zeros(3)
        bones += [moved(place(b, c, R), stay) for b in back]
    bones += _sacrum(s, centres["s1"], tilts["s1"])
    bones += _discs(s, centres, tilts, discs)
    if pattern == "degenerative":
        bones += _osteophytes(s, at, centres, tilts)
    env = {k: tuple(v * s for v in vals) for k, vals in ENVELOPE.items()}
    return Wrist(bones, age, sex, s, env, region="lumbar_spine", voxel_max_mm=1.6, voxel_px=1.5)


def _slip_vector(
    s: float, centres: dict[str, np.ndarray], tilts: dict[str, float], at: str, share: float
) -> np.ndarray:
    """The shift along the lower body's superior endplate (anterior +) that puts the slipped
    body's posterior-inferior corner `share` of that endplate's length in front of the lower
    body's posterior-superior corner (where it already sits in the lordotic curve counts)."""
    order = [*(lv.name for lv in LEVELS), "s1"]
    lo = order[order.index(at) + 1]
    up_lv = _lv(at)
    b_lo, h_lo = (17.0 * s, 28.0 * s) if lo == "s1" else (_lv(lo).b * s, _lv(lo).h * s)
    R_up, R_lo = rotation(tilts[at], 0, 0), rotation(tilts[lo], 0, 0)
    corner_up = centres[at] + R_up @ np.array([0.0, -up_lv.b * s, up_lv.h * s / 2])
    corner_lo = centres[lo] + R_lo @ np.array([0.0, -b_lo, -h_lo / 2])
    e = R_lo @ np.array([0.0, 1.0, 0.0])
    already = float((corner_up - corner_lo) @ e)
    return e * (share * 2 * b_lo - already)


def _lv(name: str | None) -> Level:
    return next((lv for lv in LEVELS if lv.name == name), LEVELS[-1])


def _finding_pieces(lv: Level, s: float, finding) -> list[Bone]:
    """A fracture's extra solids at its level, in the vertebra's frame: the dense band of
    impacted trabeculae under a collapsed endplate (labelled as the body: it is its bone);
    a burst's retropulsed posterosuperior fragment."""
    if finding is None or finding.pattern not in ("wedge", "burst"):
        return []
    h = lv.h * s
    ant = finding.amount if finding.pattern == "wedge" else 0.42
    post = 0.0 if finding.pattern == "wedge" else 0.30
    top = VertebralBody(lv.a * s * 0.96, lv.b * s * 0.96, 3.0 * s, 3.0 * s, 0.5)
    band_h = h * (1 - (ant + post) / 2)
    band = Bone(
        lv.name,  # sclerotic impacted trabeculae: still the body
        top,
        np.array([0.0, 0.0, h / 2 - band_h + 2.0 * s]),
        rotation(np.degrees(np.arctan((ant - post) * h / (2 * lv.b * s))), 0, 0),
        60,
        tissue="impacted_bone",
    )
    out = [band]
    if finding.pattern == "burst":
        frag = Ovoid(9.0 * s, 5.0 * s, 6.0 * s, 1.0)
        out.append(
            Bone(
                "retropulsed_fragment",
                frag,
                np.array([0.0, -(lv.b + 0.5) * s, -0.1 * h]),
                rotation(20, 0, 0),
                50,
                tex_offset=7,
            )
        )
    return out


def _osteophytes(
    s: float, at: str, centres: dict[str, np.ndarray], tilts: dict[str, float]
) -> list[Bone]:
    """Spurs off the anterior and lateral corners of the bodies either side of a worn disc."""
    i = [lv.name for lv in LEVELS].index(at)
    out = []
    for name, sign in ((at, 1.0), (LEVELS[i + 1].name if i + 1 < len(LEVELS) else "s1", -1.0)):
        lv = LEVELS[min(i + (sign < 0), len(LEVELS) - 1)]
        c, R = centres[name], rotation(tilts[name], 0, 0)
        h = lv.h * s if name != "s1" else 28.0 * s
        z = sign * h / 2
        for p0, p1 in (
            ((0.0, lv.b * s - 1, z - sign * 3 * s), (0.0, (lv.b + 5.0) * s, z + sign * 3.5 * s)),
            ((lv.a * s - 1, 0.0, z - sign * 3 * s), ((lv.a + 6.0) * s, 0.0, z + sign * 4 * s)),
            ((-lv.a * s + 1, 0.0, z - sign * 3 * s), (-(lv.a + 6.0) * s, 0.0, z + sign * 4 * s)),
        ):
            out.append(place(solid("osteophyte", Capsule(p0, p1, 3.0 * s, 1.2 * s), tex=51), c, R))
    return out
