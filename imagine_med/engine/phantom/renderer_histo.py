"""The phantom engine's histology renderer: a liver biopsy field, H&E, PAS or PAS-diastase.

Steps per variant: magnification -> build the field (regions/liver_tissue) -> stain maps
for the requested stain -> microscope (physics/microscopy.py: slide variation, blur,
Beer-Lambert, scanner noise) -> measure (regions/liver_tissue/key.py) -> key.
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
from imagine_med.engine.phantom.regions.liver_tissue import findings as liver_findings
from imagine_med.engine.phantom.regions.liver_tissue import key
from imagine_med.engine.phantom.regions.liver_tissue.model import LABELS, LiverField, build_field
from imagine_med.engine.phantom.renderer_base import PhantomRenderer

STAINS = ("he", "pas", "pas_d")
STAIN_NAMES = {"he": "H&E", "pas": "PAS", "pas_d": "PAS after diastase (PAS-D)"}
DEFAULT_MAGNIFICATION = 20
_DIASTASE = re.compile(r"\b(pas[\s-]?d|d[\s-]?pas|diastase)\b", re.I)


def magnification(spec) -> int:
    """The objective the parser read into spec.magnification ('x20', '40x', 'high power'),
    else 20x."""
    return spec.magnification or DEFAULT_MAGNIFICATION


def stain_of(spec) -> str:
    """H&E, PAS, or PAS-D ('PAS-D', 'D-PAS', 'PAS with diastase')."""
    stain = (spec.stain or "he").lower()
    if stain == "pas" and _DIASTASE.search(spec.prompt or ""):  # a spec from older vocabulary
        return "pas_d"
    if stain not in STAINS:
        raise EngineError(f"The phantom liver is stained with {', '.join(STAIN_NAMES.values())}"
                          f"; '{spec.stain}' is not modelled yet.")
    return stain


_STAGE_RE = re.compile(r"\b(?:stage\s*|f\s?)([0-4])\b", re.I)
STAGE_OF_MODIFIER = {"perisinusoidal": 1, "periportal": 2, "bridging": 3}
STAGE_OF_SEVERITY = {"mild": 1, "moderate": 2, "severe": 3}


def fibrosis_stage(spec) -> int:
    """0-4: cirrhosis is 4; else 'stage 3' / 'F3', a pattern word (bridging 3, periportal
    2, perisinusoidal 1), a severity (mild 1 ... severe 3); plain fibrosis 2."""
    stage = 0
    for f in spec.findings:
        if f.name == "cirrhosis":
            return 4
        if f.name != "fibrosis":
            continue
        m = _STAGE_RE.search(spec.prompt or "")
        stage = int(m.group(1)) if m else next(
            (STAGE_OF_MODIFIER[x] for x in f.modifiers if x in STAGE_OF_MODIFIER),
            STAGE_OF_SEVERITY.get(f.severity or "", 2))
    return stage


EXTRA_FINDINGS = ("steatohepatitis", "cholestasis", "hepatocellular_carcinoma")


def _steatosis(spec) -> tuple[float, float]:
    """(macrovesicular fraction, microvesicular fraction) of hepatocytes asked for."""
    macro = micro = 0.0
    for f in spec.findings:
        if f.name in ("fibrosis", "cirrhosis", "hepatitis", *EXTRA_FINDINGS):
            continue
        if f.name != "steatosis":
            raise EngineError(f"The phantom liver has no model of {f.name.replace('_', ' ')} "
                              "yet; it renders steatosis (macrovesicular or microvesicular), "
                              "steatohepatitis, cholestasis, fibrosis (stages 1-3), "
                              "cirrhosis, chronic hepatitis and hepatocellular carcinoma.")
        frac = f.extent if f.extent is not None else {
            "mild": 0.2, "moderate": 0.5, "severe": 0.8}.get(f.severity or "", 0.5)
        if "microvesicular" in f.modifiers:
            micro = frac
        else:
            macro = frac
    return macro, micro


def stain_maps(fld: LiverField, stain: str) -> np.ndarray:
    """(H, W, S) concentrations for the stain set: H&E uses haematoxylin and eosin; PAS a
    haematoxylin counterstain and PAS magenta (glycogen + basement membranes); diastase
    digests the glycogen first."""
    cv = fld.canvas
    if stain == "he":
        return np.stack([cv.hema, cv.eosin], -1)
    pas = cv.membrane + (cv.glycogen if stain == "pas" else 0.0)
    return np.stack([cv.hema * np.float32(0.85), pas.astype(np.float32)], -1)


def measure(fld: LiverField, labels: np.ndarray, instances: np.ndarray, nuclei: list[dict],
            px: float) -> dict[str, float]:
    cells = key.hepatocytes(labels, px)
    n = len(cells.inner)
    k = int(cells.steatotic.sum())
    shift_st, shift_other = key.nucleus_displacement(cells, instances, px)
    classes = {d["id"]: d["class"] for d in nuclei}
    sizes = key.nucleus_sizes(instances, classes, px)
    rbc = key.red_cell_sizes(labels, px)
    return {"hepatocytes_counted": float(n), "steatotic_hepatocytes": float(k),
            "steatosis_percent": round(100.0 * k / max(n, 1), 1),
            "microvesicular_hepatocytes": float(cells.micro.sum()),
            "nucleus_offset_steatotic": round(shift_st, 3),
            "nucleus_offset_other": round(shift_other, 3),
            "hepatocyte_nucleus_median_um":
                round(float(np.median(sizes)), 2) if len(sizes) else 0.0,
            "red_cell_median_um": round(float(np.median(rbc)), 2) if len(rbc) else 0.0,
            "binucleate_percent": round(100.0 * len(fld.binucleate) / max(n, 1), 1),
            "mitoses_in_field": float(sum(1 for d in nuclei if d.get("mitosis")
                                          and d["id"] in set(np.unique(instances).tolist())))}


def describe_field(fld: LiverField, stain: str, mag: int, px: float, m: dict[str, float]
                   ) -> str:
    seen = []
    present = set(np.unique(fld.canvas.labels).tolist())
    if LABELS["central_vein"] in present:
        seen.append("a central vein")
    if LABELS["portal_tract"] in present:
        seen.append("a portal tract (portal vein, hepatic artery and bile duct in collagen, "
                    "a few lymphocytes)")
    where = " and ".join(seen) if seen else "mid-zonal parenchyma"
    if fld.hcc:
        return (f"Liver, {STAIN_NAMES[stain]}, {mag}x objective ({px:.2f} um per pixel): "
                "tumour only, no portal tracts or central veins in the field.")
    rbc = f" ({m['red_cell_median_um']:.1f} um)" if m["red_cell_median_um"] else ""
    text = (f"Liver biopsy, {STAIN_NAMES[stain]}, {mag}x objective ({px:.2f} um per pixel). "
            f"The field shows {where}; hepatocytes in plates one cell thick separated by "
            f"sinusoids with red cells{rbc} and lining cells; "
            f"hepatocyte nuclei measure a median {m['hepatocyte_nucleus_median_um']:.1f} um.")
    if stain == "pas":
        text += (" PAS: hepatocyte cytoplasm is magenta with glycogen; basement membranes "
                 "are outlined.")
    elif stain == "pas_d":
        text += (" PAS-D: diastase has removed the glycogen, so hepatocytes are pale; basement "
                 "membranes and Kupffer cell granules stay PAS-positive.")
    return text


class PhantomHisto(PhantomRenderer):
    """Liver histology (regions/liver_tissue) through the microscope (physics/microscopy.py)."""

    modality = "histo"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        if spec.region not in (None, "liver"):
            raise EngineError("This phantom renderer draws liver histology only; it has no "
                              f"{spec.region.replace('_', ' ')} model.")
        stain = stain_of(spec)
        mag = magnification(spec)
        px = microscopy.OBJECTIVES[mag][0]
        macro, micro = _steatosis(spec)
        stage = fibrosis_stage(spec)
        hepatitis = any(f.name == "hepatitis" for f in spec.findings)
        names_asked = {f.name for f in spec.findings}
        nash = "steatohepatitis" in names_asked
        if nash and macro == 0:
            macro = 0.3   # steatohepatitis is steatosis with injury: show the fat too
        progress(0.05, "tissue")
        fld = build_field(np.random.default_rng([request.seed, 15]), request.width,
                          request.height, px, mag, macro, micro, stage, hepatitis,
                          steatohepatitis=nash, cholestasis="cholestasis" in names_asked,
                          hcc="hepatocellular_carcinoma" in names_asked)
        progress(0.6, "stain")
        conc = stain_maps(fld, stain)
        slide = microscopy.draw_slide("pas" if stain == "pas_d" else stain,
                                      np.random.default_rng([request.seed, 16]))
        rgb, seen = microscopy.render(conc, slide, mag, px,
                                      np.random.default_rng([request.seed, 17]),
                                      pigment=fld.bile, pigment_vector=liver_findings.BILE)
        cv = fld.canvas
        m = measure(fld, cv.labels, cv.instances, cv.nuclei, px)
        findings, sentences = [], []
        for name, label, modifier, text, mm in key.extra_findings(fld, px, names_asked):
            findings.append(self._finding(name, label, cv.labels == LABELS[label], modifier,
                                          text, mm))
            sentences.append(text)
        if macro > 0:
            mask = cv.labels == LABELS["fat_droplet"]
            findings.append(self._finding("steatosis", "fat_droplet", mask, "macrovesicular",
                                          key.steatosis_sentence(
                                              int(m["hepatocytes_counted"]),
                                              int(m["steatotic_hepatocytes"]),
                                              m["steatosis_percent"],
                                              m["nucleus_offset_steatotic"]), m))
            sentences.append(findings[-1].description)
        if micro > 0:
            mask = cv.labels == LABELS["microvesicular_fat"]
            text = key.micro_sentence(int(m["hepatocytes_counted"]),
                                      int(m["microvesicular_hepatocytes"]))
            findings.append(self._finding("steatosis", "microvesicular_fat", mask,
                                          "microvesicular", text, m))
            sentences.append(text)
        if stage:
            fm = key.fibrosis_measures(cv.labels, px)
            text = key.fibrosis_sentence(stage, fm)
            septa = cv.labels == LABELS["fibrous_septum"]
            findings.append(self._finding("cirrhosis" if stage == 4 else "fibrosis",
                                          "fibrous_septum", septa, f"F{stage}", text,
                                          {**fm, "stage": float(stage)}))
            sentences.append(text)
        if hepatitis:
            hm = key.inflammation(fld)
            text = key.hepatitis_sentence(hm)
            lym = cv.labels == LABELS["lymphocyte"]
            findings.append(self._finding("hepatitis", "lymphocyte", lym, "chronic", text, hm))
            sentences.append(text)
        text = describe_field(fld, stain, mag, px, m)
        if sentences:
            text = " ".join(sentences) + " " + text + ("" if stage else " No fibrosis.")
        else:
            text += " No steatosis, inflammation or fibrosis."
        names = {v: k for k, v in LABELS.items()}
        present = {int(i): names[int(i)] for i in np.unique(cv.labels) if i}
        progress(1.0, "done")
        return RenderResult(
            pixels=rgb, label_map=cv.labels.copy(), labels=present, findings=findings,
            pixel_spacing_mm=(px / 1000.0, px / 1000.0), answer_key=text,
            tags={"engine": "phantom", "modality": "histo", "region": "liver", "stain": stain,
                  "magnification": f"{mag}x", "um_per_pixel": f"{px:g}", "view": fld.view,
                  "stain_vectors": stain if stain != "pas_d" else "pas",
                  "i0": ",".join(f"{v:.2f}" for v in slide.i0),
                  "stain_strength": ",".join(f"{v:.3f}" for v in slide.strength)},
            raw=seen, raw_unit="stain_od", instances=cv.instances.copy(), nuclei=list(cv.nuclei))

    @staticmethod
    def _finding(name, label, mask, modifier, text, m) -> FindingResult:
        ys, xs = np.nonzero(mask)
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
            if len(ys) else None
        return FindingResult(name, LABELS[label], bbox, None, modifier, text,
                             {k: v for k, v in m.items()})


def histo_renderer() -> PhantomHisto:
    return PhantomHisto()
