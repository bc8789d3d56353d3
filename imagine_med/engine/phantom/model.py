"""From a CaseSpec and a seed to one patient's 3D chest with its findings built in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.anatomy import Anatomy, Rand, build_anatomy
from imagine_med.engine.phantom.pathology import Placed, add_findings, plan_findings
from imagine_med.engine.phantom.scene import Scene
from imagine_med.prompt.spec import CaseSpec

XRAY_VIEWS = ("pa", "ap", "lateral")
CT_PLANES = ("axial", "coronal", "sagittal")
AGE_OF_GROUP = {"neonate": (0, 0), "infant": (1, 1), "child": (4, 11), "adolescent": (13, 17),
                "adult": (25, 64), "elderly": (66, 88)}


@dataclass
class Built:
    scene: Scene
    anatomy: Anatomy
    placed: list[Placed]
    age: int
    sex: str


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
