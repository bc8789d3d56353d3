"""The phantom engine's fundus renderer: colour fundus photographs of one seeded eye.

Steps per variant: build the eye (regions/retina: disc, cup, fovea, pigment, vessel trees,
findings) -> photograph it (physics/fundus_optics.py: labels, colour, camera) -> measure the
label map (regions/retina/key.py) -> findings and answer key from those measurements.
"""

from __future__ import annotations

import numpy as np

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.phantom.physics.fundus_optics import render_fundus
from imagine_med.engine.phantom.regions.retina import key
from imagine_med.engine.phantom.regions.retina.labels import LABELS
from imagine_med.engine.phantom.regions.retina.lesions import QUADRANTS
from imagine_med.engine.phantom.regions.retina.region import REGION_NAMES, RetinaRegion
from imagine_med.engine.phantom.renderer_base import PhantomRenderer, mask_bbox

_REGION = RetinaRegion()
FINDING_LABELS = {"diabetic_retinopathy": ("microaneurysm", "dot_blot_haemorrhage",
                                           "flame_haemorrhage", "hard_exudate",
                                           "cotton_wool_spot", "venous_beading", "irma",
                                           "neovascularisation", "preretinal_haemorrhage"),
                  "glaucomatous_cupping": ("optic_cup",), "papilloedema": ("optic_disc",),
                  "macular_degeneration": ("drusen", "geographic_atrophy", "cnv_membrane",
                                           "subretinal_haemorrhage"),
                  "optic_atrophy": ("optic_disc",),
                  "retinal_artery_occlusion": ("retinal_whitening",),
                  "retinal_detachment": ("detached_retina",),
                  "laser_scars": ("laser_scar",),
                  "vitreous_haemorrhage": ("vitreous_haemorrhage",),
                  "retinal_vein_occlusion": ("flame_haemorrhage", "dot_blot_haemorrhage",
                                             "cotton_wool_spot"),
                  "hypertensive_retinopathy": ("artery", "flame_haemorrhage",
                                               "cotton_wool_spot", "hard_exudate")}


def _bbox(labels: np.ndarray, names) -> tuple[int, int, int, int] | None:
    return mask_bbox(np.isin(labels, [LABELS[n] for n in names]))


def vessel_tree_tag(eye) -> str:
    """The trees as `id,parent,kind` triples (parent -1 for a root), for checking."""
    return ";".join(f"{b.id},{-1 if b.parent is None else b.parent},{b.kind[0]}"
                    for b in eye.vessels)


class PhantomFundus(PhantomRenderer):
    modality = "fundus"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        if spec.region is not None and spec.region not in REGION_NAMES:
            raise EngineError("This phantom renderer draws fundus photographs of the retina "
                              f"only; it has no {spec.region.replace('_', ' ')} model.")
        progress(0.05, "eye")
        eye = _REGION.build(spec, request.seed)
        progress(0.4, "photograph")
        rgb, labels, px = render_fundus(eye, request.width, request.height,
                                        np.random.default_rng([request.seed, 19]))
        progress(0.8, "measure")
        m = key.measure(labels, px, rgb)
        geo, table = m["geo"], m["table"]
        names = [f.name for f in eye.findings]
        text = key.sentences(eye.eye, m, names, eye.age, eye.sex)
        base = {k: round(geo[k], 3) for k in ("cdr", "disc_fovea_dd", "fovea_below_deg",
                                               "va_ratio") if k in geo}
        findings = []
        for f in eye.findings:
            meas = dict(base)
            if f.name == "diabetic_retinopathy":
                meas["icdr_grade"] = m["grade"]
                meas["dmo"] = float(m["dmo"])
                for kind in FINDING_LABELS[f.name]:
                    row = table.get(kind, dict.fromkeys(QUADRANTS, 0))
                    meas[f"{kind}_count"] = sum(row.values())
                    for q in QUADRANTS:
                        meas[f"{kind}_{q}"] = row[q]
            elif f.name == "glaucomatous_cupping":
                meas |= {k: round(v, 3) for k, v in geo.items() if k.startswith("rim_")}
            elif f.name in ("retinal_vein_occlusion", "hypertensive_retinopathy"):
                for kind in FINDING_LABELS[f.name][-3:]:
                    row = table.get(kind, dict.fromkeys(QUADRANTS, 0))
                    meas[f"{kind}_count"] = sum(row.values())
                    for q in QUADRANTS:
                        meas[f"{kind}_{q}"] = row[q]
            elif f.name == "macular_degeneration":
                meas["drusen_count"] = sum(table.get("drusen", {}).values())
            elif f.name == "laser_scars":
                meas["laser_scar_count"] = sum(table.get("laser_scar", {}).values())
            elif f.name == "optic_atrophy" and "rim_green_red" in m["colour"]:
                meas["rim_green_red"] = round(m["colour"]["rim_green_red"], 3)
            if f.name == "retinal_artery_occlusion" and "fovea_to_macula_green" in m["colour"]:
                meas["fovea_to_macula_green"] = round(m["colour"]["fovea_to_macula_green"], 3)
            for kind in FINDING_LABELS[f.name]:
                for k, v in m["areas"].get(kind, {}).items():
                    if k != "quadrant":
                        meas[f"{kind}_{k}"] = round(v, 3)
            findings.append(FindingResult(
                f.name, LABELS[FINDING_LABELS[f.name][0]], _bbox(labels, FINDING_LABELS[f.name]),
                eye.eye, f.location, text, meas))
        counts = np.bincount(labels.ravel(), minlength=256)
        present = {int(i): n for n, i in LABELS.items() if counts[i]}
        tags = {"modality": "fundus", "engine": "phantom", "region": "retina",
                "eye": eye.eye, "laterality": "OD" if eye.eye == "right" else "OS",
                "field_deg": "45", "age": str(eye.age), "sex": eye.sex,
                "pigment": eye.ethnicity, "vessel_tree": vessel_tree_tag(eye)}
        tags |= {k: f"{v:.3f}" for k, v in base.items()}
        if eye.grade is not None or not eye.findings:  # measured, also for a normal eye
            tags["icdr_grade"] = str(m["grade"])
        progress(1.0, "done")
        return RenderResult(pixels=rgb, label_map=labels, labels=present, findings=findings,
                            pixel_spacing_mm=(px, px), answer_key=text, tags=tags)


def fundus_renderer() -> PhantomFundus:
    return PhantomFundus()
