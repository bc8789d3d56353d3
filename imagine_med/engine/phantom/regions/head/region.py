"""The head region: from a CaseSpec and a seed to one patient's head with findings built in."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.model import AGE_OF_GROUP
from imagine_med.engine.phantom.regions.head.anatomy import LEVELS_Z, HeadModel, build_head
from imagine_med.engine.phantom.regions.head.findings import place
from imagine_med.prompt.spec import CaseSpec

REGION_NAMES = ("brain", "head")


class HeadRegion:
    """Region interface (regions/base.py) for the head."""

    name = "brain"

    def build(self, spec: CaseSpec, seed: int) -> HeadModel:
        """Anatomy and findings draw from separate seeded streams, so a case with a finding
        and the same-seed normal study show the same patient."""
        rng = np.random.default_rng([seed, 14])
        lo, hi = AGE_OF_GROUP.get(spec.age_group or "adult", (25, 64))
        age_draw = round(rng.uniform(lo, hi + 0.999))
        sex_draw = "female" if rng.uniform() < 0.5 else "male"
        age = spec.age if spec.age is not None else age_draw
        head = build_head(rng, age, spec.sex or sex_draw)
        frng = np.random.default_rng([seed, 15])
        level_z = None
        if (spec.plane or "axial") == "axial" and spec.level in LEVELS_Z:
            level_z = LEVELS_Z[spec.level] * head.size
        for f in spec.findings:
            built = place(head, f, frng, level_z)
            head.findings.append(built)
            head.placed.append(built.placed)
        return head
