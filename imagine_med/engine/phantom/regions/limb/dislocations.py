"""Dislocations that move a set of bones against the rest of the joint: the carpus round a
lunate that stays with the radius (perilunate, Mayfield stage III), the lunate out of a
carpus that stays in line (lunate dislocation, Mayfield IV), and the elbow (the forearm
driven behind and above the humerus, a fall on the outstretched hand in an adult).

Each is a rigid move of named bones in the limb frame (x radial, y volar/anterior, z
distal). The key measures it on the film's label map as a reader does: on a lateral wrist
the lunate's and capitate's centres against the radius' long axis (both within a few mm of
it normally: the "cup and saucer" in line); at the elbow the radiocapitellar line (the
radial shaft's axis passes through the capitellum in every view of a normal elbow).
Displacements from the teaching literature (Mayfield 1980 J Hand Surg; Rockwood and
Green's Fractures in Adults): perilunate capitate 8-14 mm dorsal, lunate dislocation 8-12
mm volar and tipped 60-90 deg; posterior elbow 15-25 mm back and 8-14 mm up.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from imagine_med.engine.phantom.regions.limb.anatomy import CARPALS, Wrist
from imagine_med.engine.phantom.regions.limb.labels import LABELS
from imagine_med.engine.phantom.regions.limb.shapes import rotation

PATTERNS = ("perilunate_dislocation", "lunate_dislocation", "elbow_dislocation")
# what moves: the carpus but the lunate (with the metacarpals and fingers), or the lunate
_DISTAL_CARPUS = tuple(c for c in CARPALS if c != "lunate")


def _moves_with_carpus(name: str) -> bool:
    return name in _DISTAL_CARPUS or name.startswith(("metacarpal", "proximal_phalanx",
                                                      "middle_phalanx", "distal_phalanx"))


def _move(limb: Wrist, which, R: np.ndarray, shift: np.ndarray, pivot: np.ndarray) -> Wrist:
    """Bones whose name passes `which` turned by R about `pivot`, then shifted."""
    bones = []
    for b in limb.bones:
        if which(b.name):
            parts = [replace(p, centre=R @ (p.centre - pivot) + pivot + shift, rot=R @ p.rot)
                     for p in b.parts]
            b = replace(b, centre=R @ (b.centre - pivot) + pivot + shift, rot=R @ b.rot,
                        parts=parts)
        bones.append(b)
    return replace(limb, bones=bones)


def dislocate(limb: Wrist, pattern: str, seed: int) -> Wrist:
    rng = np.random.default_rng([seed, 53])
    s = limb.scale
    if pattern == "perilunate_dislocation":  # the carpus dorsal and riding up on the lunate
        shift = np.array([0.0, -rng.uniform(8, 14), -rng.uniform(4, 7)]) * s
        return _move(limb, _moves_with_carpus, np.eye(3), shift, np.zeros(3))
    if pattern == "lunate_dislocation":  # the lunate tipped volarly out of the row
        lunate = limb.bone("lunate")
        tip = rotation(rng.uniform(60, 90), 0.0, 0.0)  # about x: its distal face turns volar
        shift = np.array([0.0, rng.uniform(8, 12), -rng.uniform(2, 5)]) * s
        return _move(limb, lambda n: n == "lunate", tip, shift, lunate.centre)
    if pattern == "elbow_dislocation":  # the forearm behind and above the humerus
        shift = np.array([rng.uniform(-2, 2), -rng.uniform(15, 25), -rng.uniform(8, 14)]) * s
        return _move(limb, lambda n: n in ("radius", "ulna"), np.eye(3), shift, np.zeros(3))
    raise ValueError(pattern)


def _axis(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A label's long axis: its centroid and unit direction (principal component)."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 20:
        return None
    pts = np.stack([xs, ys], axis=1).astype(float)
    c = pts.mean(axis=0)
    _, vecs = np.linalg.eigh(np.cov((pts - c).T))
    return c, vecs[:, -1]


def _off_axis_mm(labels: np.ndarray, px: float, axis, name: str) -> float | None:
    """How far a label's centroid lies from a line (mm, unsigned)."""
    ys, xs = np.nonzero(labels == LABELS[name])
    if axis is None or len(ys) == 0:
        return None
    c, d = axis
    v = np.array([xs.mean(), ys.mean()]) - c
    return float(abs(v[0] * d[1] - v[1] * d[0]) * px)


def measure(labels: np.ndarray, px: float, pattern: str | None, region: str
            ) -> dict[str, float]:
    """Wrist: the lunate's and capitate's centres off the radius' axis (lateral films);
    elbow: the capitellum's centre off the proximal radial shaft's axis."""
    m: dict[str, float] = {}
    if region in ("wrist", "hand"):
        axis = _axis(labels == LABELS["radius"])
        for name in ("lunate", "capitate"):
            d = _off_axis_mm(labels, px, axis, name)
            if d is not None:
                m[f"{name}_off_radial_axis_mm"] = round(d, 1)
    elif region == "elbow":
        radius = labels == LABELS["radius"]
        d = _off_axis_mm(labels, px, _axis(radius), "capitellum")
        if d is not None:
            m["radiocapitellar_offset_mm"] = round(d, 1)
    return m


RADIOCAPITELLAR_MM = 5.0  # a normal elbow: the line passes through the capitellum


def sentence(pattern: str, m: dict[str, float], view: str) -> str:
    if pattern == "elbow_dislocation":
        d = m.get("radiocapitellar_offset_mm")
        where = (f" The radiocapitellar line misses the capitellum by {d:.0f} mm (it passes "
                 "through it in a normal elbow); the radius and ulna lie behind and above the "
                 "distal humerus." if d is not None and d > RADIOCAPITELLAR_MM else "")
        return f"Posterior dislocation of the elbow.{where}"
    lun = m.get("lunate_off_radial_axis_mm")
    cap = m.get("capitate_off_radial_axis_mm")
    if view != "lateral" or lun is None or cap is None:
        name = "Perilunate" if pattern == "perilunate_dislocation" else "Lunate"
        return (f"{name} dislocation (Mayfield {'III' if name == 'Perilunate' else 'IV'}); the "
                "carpal arcs are broken. A lateral film shows which bone left the radius' axis.")
    if pattern == "perilunate_dislocation":
        return (f"Perilunate dislocation (Mayfield III): the capitate's centre lies {cap:.0f} mm "
                f"off the radius' long axis, dorsal, while the lunate stays on the radius "
                f"({lun:.0f} mm off the axis).")
    return (f"Lunate dislocation (Mayfield IV): the lunate is tipped volarly out of the "
            f"carpus, its centre {lun:.0f} mm off the radius' long axis (the 'spilled "
            f"teacup'), while the capitate stays in line ({cap:.0f} mm).")
