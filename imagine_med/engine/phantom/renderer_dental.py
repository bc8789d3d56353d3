"""The phantom engine's dental renderer: panoramic films (orthopantomograms) of one seeded jaw.

Steps per variant: build the jaws and dentition (regions/dental: age -> eruption tables, teeth
along the arch, findings on named teeth) -> the film (regions/dental/film.py with the focal
trough of physics/panoramic.py) -> measure the label map (regions/dental/key.py) -> key.
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
from imagine_med.engine.phantom.physics.panoramic import FOCAL_MAG
from imagine_med.engine.phantom.regions.dental import film, intraoral, key
from imagine_med.engine.phantom.regions.dental.labels import LABELS, NAMES
from imagine_med.engine.phantom.regions.dental.region import DentalRegion
from imagine_med.engine.phantom.renderer_base import PhantomRenderer, mask_bbox

VIEWS = ("panoramic", "bitewing", "periapical")
_REGION = DentalRegion()
FINDING_LABEL = {"caries": "caries", "periapical_lesion": "periapical_lesion",
                 "restoration": "restoration", "implant": "implant",
                 "mandibular_fracture": "fracture_line", "impacted_tooth": None,
                 "periodontal_bone_loss": "mandible"}


def _intraoral_target(spec, body) -> tuple[str, int | None]:
    """Which side (and tooth, for a periapical) an intraoral film shows: a named tooth's, else
    the prompt's side, else the right."""
    fdi = None
    for f in spec.findings:
        if f.location and f.location.startswith("tooth_"):
            fdi = int(f.location.split("_")[1])
            break
    if fdi is None:
        hit = next((f.fdi for f in body.findings if f.fdi is not None), None)
        fdi = hit
    if fdi is not None:
        return ("right" if fdi // 10 in (1, 4, 5, 8) else "left"), fdi
    side = spec.laterality if spec.laterality in ("left", "right") else "right"
    return side, None


class PhantomDental(PhantomRenderer):
    modality = "xray"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        if spec.region not in (None, "teeth"):
            raise EngineError("This phantom renderer draws panoramic films of the jaws and "
                              f"teeth only; it has no {spec.region.replace('_', ' ')} model.")
        if spec.view not in (None, *VIEWS):
            raise EngineError(f"The dental phantom draws panoramic, bitewing and periapical "
                              f"films; not {spec.view}.")
        progress(0.05, "jaws")
        body = _REGION.build(spec, request.seed)
        progress(0.3, "film")
        rng = np.random.default_rng([request.seed, 36])
        view = spec.view or "panoramic"
        if view == "panoramic":
            grey, labels, px = film.render(body, request.width, request.height, rng)
        else:
            side, fdi = _intraoral_target(spec, body)
            grey, labels, px = intraoral.render(body, view, side, fdi, request.width,
                                                request.height, rng)
        progress(0.85, "measure")
        m = key.measure(labels, px)
        text = key.sentences(m, body, FOCAL_MAG) if view == "panoramic" else \
            key.intraoral_sentences(m, body, view)
        findings = [self._finding(f, m, labels, px) for f in body.findings]
        present = {int(i): NAMES[int(i)] for i in np.unique(labels) if i}
        tags = {"modality": "xray", "engine": "phantom", "region": "teeth",
                "view": view, "age": f"{body.age:g}", "sex": body.sex,
                "tooth_count": str(len(m["teeth"])),
                "teeth": ",".join(str(f) for f in m["teeth"]),
                "germs": ",".join(str(f) for f in m["germs"]),
                "magnification": f"{FOCAL_MAG if view == 'panoramic' else intraoral.MAG:.3f}"}
        progress(1.0, "done")
        return RenderResult(pixels=grey, label_map=labels, labels=present, findings=findings,
                            pixel_spacing_mm=(px, px), answer_key=text, tags=tags)

    @staticmethod
    def _finding(f, m: dict, labels: np.ndarray, px: float) -> FindingResult:
        lname = FINDING_LABEL.get(f.name)
        meas: dict[str, float] = {}
        bbox = None
        if f.name == "impacted_tooth":
            row = next((r for r in m["findings"]["impacted"] if r["tooth"] == f.fdi), None)
            if row:
                meas = {"angle_deg": row["angle_deg"]}
            ids = [LABELS[n] for n in (f"tooth_{f.fdi}", f"tooth_{f.fdi}_enamel",
                                       f"tooth_{f.fdi}_pulp")]
            bbox = mask_bbox(np.isin(labels, ids))
            lid = ids[0]
        elif f.name == "periodontal_bone_loss":
            if m["crest_mm"] is not None:
                meas = {"crest_to_cej_mm": m["crest_mm"]}
            lid = LABELS["mandible"]
        elif f.name == "mandibular_fracture":
            lid = LABELS["fracture_line"]
            bbox = mask_bbox(labels == lid)
            if m["fracture"]:
                meas = {"step_mm": m["fracture"]["step_mm"]}
        else:
            lid = LABELS[lname]
            rows = m["findings"].get(lname, [])
            row = next((r for r in rows if r["tooth"] == f.fdi), rows[0] if rows else None)
            bbox = mask_bbox(labels == lid)
            if row:
                meas = {k: row[k] for k in ("diameter_mm", "height_mm", "width_mm")}
                meas["tooth"] = float(row["tooth"]) if row["tooth"] else 0.0
        loc = f"tooth_{f.fdi}" if f.fdi is not None else None
        return FindingResult(f.name, lid, bbox, f.side, loc, "", meas)


def dental_renderer() -> PhantomDental:
    return PhantomDental()
