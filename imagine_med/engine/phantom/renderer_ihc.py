"""The phantom engine's immunohistochemistry renderer: invasive breast carcinoma with HER2
(membranous), ER, PR or Ki-67 (nuclear) on a haematoxylin counterstain, H-DAB vectors.

Steps per variant: antibody, score or percent (from the prompt) -> field
(regions/breast_tissue) -> microscope (physics/microscopy.py) -> measured score -> key.
"""

from __future__ import annotations

import re

import numpy as np

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.phantom.physics import microscopy
from imagine_med.engine.phantom.regions.breast_tissue import key
from imagine_med.engine.phantom.regions.breast_tissue.model import LABELS, build_field
from imagine_med.engine.phantom.renderer_base import PhantomRenderer
from imagine_med.engine.phantom.renderer_histo import magnification

MARKERS = {"her2": r"\b(?:her[\s-]?2(?:/neu)?|erbb2|c-?erbb-?2)\b",
           "ki67": r"\b(?:ki[\s-]?67|mib[\s-]?1)\b",
           "er": r"\b(?:er|oestrogen receptors?|estrogen receptors?)\b",
           "pr": r"\b(?:pr|pgr|progesterone receptors?)\b"}
DEFAULT_PERCENT = {"er": 80.0, "pr": 60.0, "ki67": 20.0}
_SCORE = re.compile(r"(?:\b([0-3])\s*\+)|(?:(?:score|her[\s-]?2)\s*(?:of\s*)?([0-3])\b(?!\s*%))",
                    re.I)
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")


def antibody(prompt: str) -> str:
    for name, pattern in MARKERS.items():
        if re.search(pattern, prompt or "", re.I):
            return name
    raise EngineError("Name the antibody for breast immunohistochemistry: HER2, ER, PR or "
                      "Ki-67 (e.g. 'breast carcinoma, IHC HER2 3+').")


def her2_score(prompt: str) -> int:
    m = _SCORE.search(prompt or "")
    if m:
        return int(m.group(1) or m.group(2))
    low = (prompt or "").lower()
    return 0 if "negative" in low else 2 if "equivocal" in low else 3


def percent(prompt: str, spec, marker: str) -> float:
    m = _PERCENT.search(prompt or "")
    if m:
        return min(100.0, float(m.group(1)))
    ext = next((f.extent for f in spec.findings if f.extent is not None), None)
    return 100.0 * ext if ext is not None else DEFAULT_PERCENT[marker]


class PhantomIHC(PhantomRenderer):
    """Breast carcinoma immunohistochemistry (regions/breast_tissue)."""

    modality = "histo"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        if spec.region != "breast":
            raise EngineError("This phantom renderer draws breast immunohistochemistry only.")
        if (spec.stain or "he") != "ihc":
            raise EngineError("The phantom breast is modelled for immunohistochemistry (IHC "
                              "with HER2, ER, PR or Ki-67) only; H&E of the breast is not "
                              "built yet.")
        marker = spec.antibody or antibody(spec.prompt)  # older specs: no field
        if marker not in MARKERS:
            raise EngineError("Breast IHC is modelled with HER2, ER, PR and Ki-67, not "
                              f"{marker.upper()}.")
        score = her2_score(spec.prompt) if marker == "her2" else 0
        pct = percent(spec.prompt, spec, marker) if marker != "her2" else 0.0
        mag = magnification(spec)
        px = microscopy.OBJECTIVES[mag][0]
        progress(0.05, "tissue")
        fld = build_field(np.random.default_rng([request.seed, 25]), request.width,
                          request.height, px, marker, score, pct)
        slide = microscopy.draw_slide("ihc", np.random.default_rng([request.seed, 26]))
        conc = np.stack([fld.hema, fld.dab], -1)
        rgb, seen = microscopy.render(conc, slide, mag, px,
                                      np.random.default_rng([request.seed, 27]))
        dab = seen[..., 1]
        m = key.her2(fld.cell_ids, fld.labels, dab) if marker == "her2" else \
            key.nuclear(fld.cell_ids, fld.labels, dab)
        text = key.sentence(marker, m)
        where = LABELS["tumour_membrane" if marker == "her2" else "tumour_nucleus"]
        ys, xs = np.nonzero((fld.labels == where) & (dab >= key.STAINED))
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
            if len(ys) else None
        finding = FindingResult(f"{marker}_ihc", where, bbox, None, marker, text, m)
        text += (f" Invasive carcinoma in nests within collagenous stroma; IHC with "
                 f"haematoxylin counterstain, {mag}x objective ({px:.2f} um per pixel).")
        names = {v: k for k, v in LABELS.items()}
        progress(1.0, "done")
        return RenderResult(
            pixels=rgb, label_map=fld.labels, findings=[finding],
            labels={int(i): names[int(i)] for i in np.unique(fld.labels) if i},
            pixel_spacing_mm=(px / 1000.0, px / 1000.0), answer_key=text,
            tags={"engine": "phantom", "modality": "histo", "region": "breast", "stain": "ihc",
                  "antibody": marker, "magnification": f"{mag}x", "um_per_pixel": f"{px:g}",
                  "stain_vectors": "ihc", "i0": ",".join(f"{v:.2f}" for v in slide.i0)},
            raw=seen, raw_unit="stain_od", instances=fld.instances, nuclei=fld.nuclei)


def ihc_renderer() -> PhantomIHC:
    return PhantomIHC()
