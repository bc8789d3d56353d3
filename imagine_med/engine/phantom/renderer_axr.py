"""The phantom engine's plain abdominal radiograph: supine or erect AP films of one seeded
abdomen (regions/abdomen_xr), detector physics from physics/radiography.py, key measured from
the label map."""

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
from imagine_med.engine.phantom.regions.abdomen_xr import film, key
from imagine_med.engine.phantom.regions.abdomen_xr.labels import LABELS, NAMES
from imagine_med.engine.phantom.regions.abdomen_xr.region import build
from imagine_med.engine.phantom.renderer_base import PhantomRenderer, mask_bbox

VIEWS = ("supine", "erect")
FINDING_LABEL = {"small_bowel_obstruction": "small_bowel",
                 "large_bowel_obstruction": "caecum", "sigmoid_volvulus": "sigmoid_colon",
                 "pneumoperitoneum": "free_air", "renal_stone": "renal_stone",
                 "ureteric_stone": "ureteric_stone", "gallstones": "gallstone",
                 "foreign_body": "foreign_body"}


class PhantomAXR(PhantomRenderer):
    modality = "xray"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        if spec.region not in (None, "abdomen"):
            raise EngineError("This phantom renderer draws abdominal radiographs only; it has "
                              f"no {spec.region.replace('_', ' ')} model.")
        if spec.view not in (None, *VIEWS, "ap", "pa"):
            raise EngineError(f"Abdominal films are supine or erect; not {spec.view}.")
        progress(0.05, "abdomen")
        ab = build(spec, request.seed)
        progress(0.3, "film")
        pixels, labels, px = film.render(ab, request.width, request.height,
                                         np.random.default_rng([request.seed, 77]))
        progress(0.85, "measure")
        m = key.measure(labels, px)
        text = key.sentences(m, ab, film.MAGNIFICATION)
        findings = []
        for name, side in ab.findings:
            lname = FINDING_LABEL[name]
            meas: dict[str, float] = {}
            if name == "small_bowel_obstruction":
                meas = {"small_bowel_diameter_mm": m["diameter_mm"]["small_bowel"],
                        "air_fluid_levels": float(len(m["levels"])),
                        "small_bowel_levels": float(sum(lv["loop"] == "small_bowel"
                                                        for lv in m["levels"]))}
            elif name == "large_bowel_obstruction":
                meas = {"colon_diameter_mm": max(m["diameter_mm"][s] for s in (
                    "ascending_colon", "transverse_colon", "descending_colon")),
                    "caecum_diameter_mm": m["diameter_mm"]["caecum"]}
            elif name == "sigmoid_volvulus":
                meas = {"sigmoid_diameter_mm": m["diameter_mm"]["sigmoid_colon"]}
            elif name == "pneumoperitoneum":
                meas = {"free_air_cm2": m["free_air_cm2"]}
            else:
                rows = m[lname]
                meas = {"count": float(len(rows))}
                if rows:
                    meas["size_mm"] = max(r["size_mm"] for r in rows)
            findings.append(FindingResult(name, LABELS[lname],
                                          mask_bbox(labels == LABELS[lname]), side, None, "",
                                          meas))
        present = {int(i): NAMES[int(i)] for i in np.unique(labels) if i}
        tags = {"modality": "xray", "engine": "phantom", "region": "abdomen",
                "view": "erect" if ab.erect else "supine", "age": f"{ab.age:g}",
                "sex": ab.sex, "magnification": f"{film.MAGNIFICATION:.2f}",
                "air_fluid_levels": str(len(m["levels"]))}
        progress(1.0, "done")
        return RenderResult(pixels=pixels, label_map=labels, labels=present, findings=findings,
                            pixel_spacing_mm=(px, px), answer_key=text, tags=tags)


def axr_renderer() -> PhantomAXR:
    return PhantomAXR()
