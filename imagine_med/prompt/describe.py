"""The "interpreted as" line: one wording of a spec, shared by every adapter and the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imagine_med.prompt.spec import CaseSpec

MODALITY_WORDS = {"xray": "X-ray", "ct": "CT", "mri": "MRI", "us": "ultrasound",
                  "histo": "histology", "derm": "dermatoscopy", "fundus": "fundus photo"}


def _words(value: str | None) -> str:
    return value.replace("_", " ") if value else ""


def describe_spec(spec: CaseSpec) -> str:
    head = []
    if spec.view:
        head.append(spec.view.upper() if len(spec.view) <= 2 else spec.view)
    if spec.plane:
        head.append(spec.plane)
    if spec.sequence:
        head.append(spec.sequence.upper() if spec.sequence != "flair" else "FLAIR")
    if spec.stain:
        names = {"he": "H&E", "pas": "PAS", "pas_d": "PAS-D", "ihc": "IHC"}
        head.append(names.get(spec.stain, spec.stain))
    if spec.antibody:
        head.append({"ki67": "Ki-67"}.get(spec.antibody, spec.antibody.upper()))
    if spec.magnification:
        head.append(f"{spec.magnification}x")
    if spec.laterality:
        head.append(spec.laterality)
    if spec.region:
        head.append(_words(spec.region))
    head.append(MODALITY_WORDS.get(spec.modality, spec.modality))
    parts = [" ".join(head)]
    if spec.level:
        level = spec.level.upper() if len(spec.level) <= 3 else _words(spec.level)
        parts.append(f"at {level}")
    if spec.us is not None:
        from imagine_med.prompt.scan import describe as describe_scan

        parts.append(describe_scan(spec.us))
    if spec.window:
        if spec.window == "custom":
            parts.append(f"window {spec.window_center:g}/{spec.window_width:g}")
        else:
            parts.append(f"{_words(spec.window)} window")
    parts.append("; ".join(f.describe() for f in spec.findings) or "normal study")
    who = " ".join(x for x in (f"{spec.age} y" if spec.age is not None else _words(spec.age_group),
                               spec.sex or "") if x)
    if who:
        parts.append(who)
    if spec.exclude:
        parts.append("no " + ", ".join(_words(x) for x in spec.exclude))
    parts.append(f"{spec.width}x{spec.height}")
    if spec.seed is not None:
        parts.append(f"seed {spec.seed}")
    if spec.engine != "phantom":
        parts.append(f"{spec.engine} engine" + (f", {spec.steps} steps" if spec.steps else ""))
    return " · ".join(parts)
