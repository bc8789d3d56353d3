"""From a CaseSpec and a seed to one patient's 3D chest with its findings built in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.labels import ANATOMY, FINDINGS
from imagine_med.engine.phantom.materials import M
from imagine_med.engine.phantom.model import AGE_OF_GROUP
from imagine_med.engine.phantom.regions.base import Grid, Part, PlacedFinding, Sample
from imagine_med.engine.phantom.regions.chest.anatomy import build_anatomy
from imagine_med.engine.phantom.regions.chest.ct_slice import paint_order
from imagine_med.engine.phantom.regions.chest.findings import Placed, add_findings, plan_findings
from imagine_med.engine.phantom.regions.chest.frame import Anatomy, Rand
from imagine_med.engine.phantom.scene import Scene
from imagine_med.engine.phantom.tissues import Tissue, tissue
from imagine_med.prompt.spec import CaseSpec

XRAY_VIEWS = ("pa", "ap", "lateral")
CT_PLANES = ("axial", "coronal", "sagittal")


# tube sets with more pieces than this (the lung trees) are left out of `Built.sample`: a
# point-by-segment distance over thousands of twigs is what ct_slice.py's renderer avoids
SAMPLE_MAX_TUBES = 400


@dataclass
class Built:
    """One patient's chest for one view (films and CT each get their own build: the lateral
    film's corrections and CT's finer trees differ), with its findings placed."""

    scene: Scene
    anatomy: Anatomy
    placed: list[Placed]
    age: int
    sex: str

    @property
    def findings(self) -> list[PlacedFinding]:
        """The placed findings in the regions' common form (regions/base.py)."""
        return [PlacedFinding(p.name, p.side, p.lobe or p.zone, p.modifiers,
                              tuple(float(v) for v in p.center) if p.center is not None
                              else (0.0, 0.0, 0.0), dict(p.facts)) for p in self.placed]

    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]:
        """A named level's position on `plane` (regions/base.Body); the carina without one."""
        from imagine_med.engine.phantom.regions.chest.renderer import named_level

        found = named_level(CaseSpec(modality="ct", level=level), self.scene, plane)
        if found is None:
            found = named_level(CaseSpec(modality="ct", level="carina"), self.scene, plane)
        assert found is not None
        return found

    def sample(self, grid: Grid) -> Sample:
        """The chest at a grid's points for the modalities of regions/base.py: each
        component painted in CT's order, so a point belongs (fraction 1) to the last one
        holding it; no partial volume (ct_slice.py renders the chest's own CT with it)."""
        pts = np.stack([grid.x, grid.y, grid.z], axis=-1).reshape(-1, 3)
        owner = np.full(len(pts), -1)
        comps = [c for c in paint_order(self.scene) if c.ct and not c.ct_label_only]
        for i, c in enumerate(comps):
            if c.solid is not None:
                owner[c.solid.inside(pts)] = i
            elif c.tubes is not None and 0 < len(c.tubes) <= SAMPLE_MAX_TUBES:
                owner[c.tubes.signed_distance(pts, range(len(c.tubes))) <= 0] = i
        parts = []
        for i in np.unique(owner[owner >= 0]):
            c = comps[i]
            m = M[c.material]
            parts.append(Part(c.label, Tissue(m.name, m.hu, {}, mu=m.mu),
                              (owner == i).reshape(grid.x.shape).astype(np.float32)))
        if not parts:
            parts.append(Part("body", tissue("air"), np.zeros(grid.x.shape, np.float32)))
        return Sample(parts, {**ANATOMY, **FINDINGS})


def check_region(spec: CaseSpec) -> None:
    if spec.region not in (None, "chest"):
        kind = "radiographs" if spec.modality == "xray" else "CT"
        raise EngineError(
            f"The phantom engine renders the chest only (chest {kind}); it has no "
            f"{spec.region.replace('_', ' ')} model. Ask for a chest study, or use "
            "--engine diffusion where a model for that region is installed.")


def posture_for(spec: CaseSpec) -> str:
    if spec.modality == "ct":
        return "supine"
    return "supine" if (spec.view or "pa") == "ap" else "upright"


def build(spec: CaseSpec, seed: int, variation: float = 0.0, base_seed: int | None = None,
          view: str = "pa",
          slice_target: Callable[[Scene], tuple[int, float] | None] | None = None) -> Built:
    """Anatomy and pathology draw from separate seeded streams, so a case with a finding and
    the same-seed normal study show the same patient. `slice_target` gives, from the built
    anatomy, the CT plane (axis, position) a prompt's named level puts the slice on: lesions
    are then placed where their lobe meets it."""
    check_region(spec)
    rand = Rand(seed, base_seed, variation)
    prand = Rand(seed ^ 0x5EED5EED, None if base_seed is None else base_seed ^ 0x5EED5EED,
                 variation)
    lo, hi = AGE_OF_GROUP.get(spec.age_group or "adult", (25, 64))
    age_draw = round(float(rand.uniform(lo, hi + 0.999)))
    age = spec.age if spec.age is not None else age_draw
    sex_draw = "female" if rand.uniform(0, 1) < 0.5 else "male"
    sex = spec.sex or sex_draw
    posture = posture_for(spec)
    placed, adjust = plan_findings(spec.findings, spec.exclude, prand, posture)
    an = build_anatomy(rand, sex, age, posture, adjust, view)
    target = slice_target(an.scene) if slice_target is not None else None
    for p in placed:
        p.target = target
    add_findings(an, placed, prand)
    an.scene.params["tex_seed"] = float(seed % (2**31))
    return Built(an.scene, an, placed, age, sex)


def view_of(spec: CaseSpec) -> str:
    """The build a spec needs: its film view, or "ct"."""
    return "ct" if spec.modality == "ct" else (spec.view or "pa").lower()


class ChestRegion:
    """Region interface (regions/base.py) for the chest."""

    name = "chest"

    def build(self, spec: CaseSpec, seed: int) -> Built:
        return build(spec, seed, view=view_of(spec))
