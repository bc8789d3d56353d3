"""A fracture's requested deformity ("30 degrees of dorsal angulation", "displaced 5 mm",
"shortened 1 cm"; the parser's modifiers angulation_deg_N, displacement_mm_N,
shortening_mm_N) set on the fractures that can take it, in place of the seeded typical
values. The key still measures what was built (renderer_limb's label projections)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.regions.limb.fracture import Fracture
from imagine_med.prompt import vocab

KINDS = ("angulation_deg", "displacement_mm", "shortening_mm")
# pattern -> what it can take, with the range the model builds (deg / mm): the prompt's table
# (the parser refuses the same before queueing)
LIMITS: dict[str, dict[str, tuple[float, float]]] = {
    **{p: vocab.DEFORMITY_LIMITS[p] for p in ("colles", "smith", "boxer")},
    "supracondylar_2": {
        "angulation_deg": vocab.DEFORMITY_LIMITS["supracondylar"]["angulation_deg"]
    },
    "supracondylar_3": vocab.DEFORMITY_LIMITS["supracondylar"],
}


def asked(modifiers: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for m in modifiers:
        kind, _, value = m.rpartition("_")
        if kind in KINDS:
            out[kind] = float(value)
    return out


def check(pattern: str, want: dict[str, float]) -> None:
    """EngineError naming what this fracture can take, for anything else."""
    if not want:
        return
    limits = LIMITS.get(pattern)
    if limits is None:
        takes = ", ".join(sorted(LIMITS))
        raise EngineError(
            f"A requested angle or displacement is built for {takes} "
            f"fractures; not a {pattern.replace('_', ' ')} fracture."
        )
    for kind, v in want.items():
        what = kind.rsplit("_", 1)[0]
        if kind not in limits:
            raise EngineError(
                f"A {pattern.replace('_', ' ')} fracture's {what} is not set "
                f"by request; it takes {', '.join(k.rsplit('_', 1)[0] for k in limits)}."
            )
        lo, hi = limits[kind]
        if not lo <= v <= hi:
            unit = "degrees" if kind.endswith("deg") else "mm"
            raise EngineError(
                f"A {pattern.replace('_', ' ')} fracture is built with {what} "
                f"{lo:g}-{hi:g} {unit}; not {v:g}."
            )


def apply(f: Fracture, want: dict[str, float], scale: float) -> Fracture:
    """The fracture with the requested angle (the fragment's rotation: dorsal for Colles,
    volar for Smith, into the palm for a boxer's, posterior for a supracondylar), its shift
    (dorsal / volar / posterior) and its shortening."""
    check(f.pattern, want)
    if not want:
        return f
    sign = {"colles": 1.0, "smith": -1.0, "boxer": -1.0}.get(f.pattern, 1.0)
    angles = list(f.angles_deg)
    shift = np.array(f.shift_mm, float)
    if "angulation_deg" in want:
        angles[0] = sign * want["angulation_deg"]
    g = replace(f, angles_deg=(angles[0], angles[1], angles[2]))
    # the rotation about the hinge already moves the fragment: the shift asked for is of the
    # fragment's middle and of its distal end, so take off what the rotation did to them
    mid = np.array([0.0, 0.0, f.level_mm * 0.1])  # the fragment's mass lies distally (it flares)
    end = np.array([0.0, 0.0, 0.0])
    turned_mid = g.rot @ (mid - f.pivot) + f.pivot - mid
    turned_end = g.rot @ (end - f.pivot) + f.pivot - end
    if "displacement_mm" in want:  # colles: dorsal is -y; supracondylar: posterior is -y
        way = sign if f.pattern in ("colles", "smith") else 1.0
        shift[1] = -way * want["displacement_mm"] - turned_mid[1]
    if "shortening_mm" in want:
        shift[2] = -want["shortening_mm"] - turned_end[2]
    return replace(g, shift_mm=shift)
