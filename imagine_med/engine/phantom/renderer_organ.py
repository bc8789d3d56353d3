"""The phantom engine's histology of the other organs: kidney, colon, lymph node, skin.

Steps per variant: organ (spec.region) -> objective (spec.magnification) and stain
(spec.stain, spec.antibody) -> the organ's field (regions/<organ>_tissue/model.py) -> stain
maps -> microscope (physics/microscopy.py, the liver's physics) -> the organ's key measured
from the rendered labels and nuclei (regions/<organ>_tissue/key.py).
"""

from __future__ import annotations

from importlib import import_module

import numpy as np

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.phantom.histo_organs import ORGANS, STAIN_NAMES
from imagine_med.engine.phantom.physics import microscopy
from imagine_med.engine.phantom.renderer_base import PhantomRenderer


def magnification_of(spec, default: int = 20) -> int:
    """The objective the parser read into spec.magnification, else the organ's default."""
    mag = spec.magnification or default
    if mag not in microscopy.OBJECTIVES:
        raise EngineError(f"Objectives are 4x, 10x, 20x and 40x; {mag}x is not modelled.")
    return mag


def stain_maps(cv, stain: str) -> np.ndarray:
    """(H, W, S) concentrations: H&E; PAS (glycogen + diastase-resistant PAS) on a
    haematoxylin counterstain; PAS-D without the glycogen; IHC: DAB on haematoxylin."""
    if stain == "he":
        return np.stack([cv.hema, cv.eosin], -1)
    if stain == "ihc":
        return np.stack([cv.hema * np.float32(0.8), cv.dab], -1)
    pas = cv.membrane + (cv.glycogen if stain == "pas" else 0.0)
    return np.stack([cv.hema * np.float32(0.85), pas.astype(np.float32)], -1)


class PhantomOrganHisto(PhantomRenderer):
    """Histology of the kidney, colon, lymph node and skin through the liver's microscope."""

    modality = "histo"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        organ = ORGANS.get(spec.region or "")
        if organ is None:
            raise EngineError(f"No phantom histology model of the {spec.region}.")
        stain = spec.stain or "he"
        if stain not in organ.stains:
            raise EngineError(f"The phantom {organ.title} is stained with "
                              f"{', '.join(STAIN_NAMES[s] for s in organ.stains)}; "
                              f"{STAIN_NAMES.get(stain, stain)} is not modelled for it yet.")
        antibody = spec.antibody
        if stain == "ihc" and antibody not in organ.antibodies:
            raise EngineError(f"Immunohistochemistry of the phantom {organ.title} is "
                              f"modelled with {', '.join(a.upper() for a in organ.antibodies)}"
                              f"; {(antibody or 'no antibody').upper()} is not.")
        wanted = []
        for f in spec.findings:
            if f.name not in organ.findings:
                raise EngineError(f"The phantom {organ.title} has no model of "
                                  f"{f.name.replace('_', ' ')}; it renders "
                                  f"{', '.join(x.replace('_', ' ') for x in organ.findings)}.")
            wanted.append(f.name)
        mag = magnification_of(spec, organ.default_magnification)
        px = microscopy.OBJECTIVES[mag][0]
        model = import_module(f"imagine_med.engine.phantom.regions.{organ.package}.model")
        key = import_module(f"imagine_med.engine.phantom.regions.{organ.package}.key")
        progress(0.05, "tissue")
        fld = model.build(np.random.default_rng([request.seed, 35]), request.width,
                          request.height, px, mag, tuple(wanted), antibody)
        cv = fld.canvas
        progress(0.6, "stain")
        slide = microscopy.draw_slide("pas" if stain == "pas_d" else stain,
                                      np.random.default_rng([request.seed, 36]))
        rgb, seen = microscopy.render(stain_maps(cv, stain), slide, mag, px,
                                      np.random.default_rng([request.seed, 37]),
                                      pigment=cv.pigment)
        text, found, m = key.report(fld, stain, mag, px, tuple(wanted), antibody, seen)
        findings = [_finding(cv, name, label, modifier, sentence, m)
                    for name, label, modifier, sentence in found]
        names = {v: k for k, v in cv.table.items()}
        progress(1.0, "done")
        tags = {"engine": "phantom", "modality": "histo", "region": spec.region, "stain": stain,
                "magnification": f"{mag}x", "um_per_pixel": f"{px:g}",
                "stain_vectors": "pas" if stain == "pas_d" else stain,
                "i0": ",".join(f"{v:.2f}" for v in slide.i0),
                "stain_strength": ",".join(f"{v:.3f}" for v in slide.strength)}
        if antibody and stain == "ihc":
            tags["antibody"] = antibody
        return RenderResult(
            pixels=rgb, label_map=cv.labels.copy(),
            labels={int(i): names[int(i)] for i in np.unique(cv.labels) if i},
            findings=findings, pixel_spacing_mm=(px / 1000.0, px / 1000.0), answer_key=text,
            tags=tags, raw=seen, raw_unit="stain_od", instances=cv.instances.copy(),
            nuclei=list(cv.nuclei))


def _finding(cv, name: str, label: str, modifier: str, text: str,
             m: dict[str, float]) -> FindingResult:
    ident = cv.table[label]
    ys, xs = np.nonzero(cv.labels == ident)
    bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
        if len(ys) else None
    return FindingResult(name, ident, bbox, None, modifier, text, dict(m))


def organ_histo_renderer() -> PhantomOrganHisto:
    return PhantomOrganHisto()



