"""Age changes of the head's tissue (the sizes that change with age, ventricles and sulci,
are built in anatomy.build_head):

- infants: white matter not yet myelinated has more free water, so longer T1 and T2 than
  grey matter (dark on T1, bright on T2: the adult contrast inverted), a higher ADC and a
  lower CT density; myelination runs through the first two years (T1 first, T2 later).
- the elderly: white-matter hyperintensities (small-vessel disease), periventricular caps
  and rims and punctate deep foci, more with each decade after 60 (Fazekas grades 0-3):
  long T2 (FLAIR bright), slightly low density on CT. They keep the label white_matter:
  they are the normal ageing of this head, not a finding.
"""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.regions.base import Part
from imagine_med.engine.phantom.regions.head.shapes import F32, fraction
from imagine_med.engine.phantom.tissues import TISSUES, changed

WMH = changed(TISSUES["white_matter"], "white_matter_wmh", t1=1.35, t2=2.6, adc=1.35,
              hu_delta=-6.0)


def unmyelinated(age: int):
    """White matter at `age` years: fully unmyelinated at birth, adult by two."""
    f = float(np.clip(1.0 - age / 2.0, 0.0, 1.0))
    return changed(TISSUES["white_matter"], f"white_matter_unmyelinated_{f:.2f}",
                   t1=1.0 + 0.9 * f, t2=1.0 + 0.75 * f, pd=1.0 + 0.15 * f,
                   adc=1.0 + 0.6 * f, hu_delta=-8.0 * f)


def fazekas(age: int) -> float:
    return float(np.clip((age - 60) / 10.0, 0.0, 3.0))


def age_changes(head, c, parts: list[Part]) -> list[Part]:
    if head.age < 2:
        wm = unmyelinated(head.age)
        return [Part(p.label, wm, p.fraction) if p.tissue.name == "white_matter"
                and p.label not in ("optic_nerve",) else p for p in parts]
    grade = fazekas(head.age)
    if grade <= 0:
        return parts
    lv = ("lateral_ventricle_left", "lateral_ventricle_right")
    grown = [f for lab, _, f in head.ventricles(c, grow=1.0 + 0.8 * grade) if lab in lv]
    caps = np.maximum(*grown)
    caps = caps * caps * (F32(3) - F32(2) * caps)  # a softer edge
    # caps at the frontal and occipital horns, a thin rim along the bodies
    horn = fraction(np.abs(c.qy + F32(4 * head.size)) - F32(14), 6.0)
    mask = caps * (F32(0.3) + F32(0.7) * horn)
    rng = np.random.default_rng([int(head.folia_phase * 1e6), 60])
    for _ in range(int(4 * grade)):  # punctate deep foci in the centrum semiovale
        side = 1.0 if rng.uniform() < 0.5 else -1.0
        ctr = (side * rng.uniform(14, 32), rng.uniform(-35, 30), rng.uniform(12, 40))
        r = rng.uniform(1.5, 2.5 + grade)
        d = np.sqrt((c.qx - F32(ctr[0])) ** 2 + (c.qy - F32(ctr[1])) ** 2
                    + (c.qz - F32(ctr[2])) ** 2)
        mask = np.maximum(mask, fraction(F32(r) - d, c.px))
    out = []
    for p in parts:
        if p.tissue.name != "white_matter" or p.label != "white_matter":
            out.append(p)
            continue
        moved = p.fraction * mask
        out += [Part(p.label, p.tissue, p.fraction - moved), Part(p.label, WMH, moved)]
    return out
