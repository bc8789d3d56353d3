"""The phantom engine's cardiac ultrasound: the subcostal (subxiphoid) four-chamber view with a
phased-array probe, the pericardial view of a FAST scan, with or without an effusion.

Steps per variant: the plane (regions/heart_us) -> the abdominal renderer's B-mode physics
and scan conversion (`PhantomUltrasound.frame`, a phased probe: apex at the skin, 90 degrees)
-> marks outside the sector -> measurements from the label map (the effusion's depth, its
echoes against the myocardium, the right and left ventricles' widths) -> a report.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.phantom.model import AGE_OF_GROUP
from imagine_med.engine.phantom.regions.base import PlacedFinding
from imagine_med.engine.phantom.regions.heart_us.anatomy import (
    EFFUSION_MM,
    LABELS,
    HeartPlane,
    build_heart,
    effusion_grade,
)
from imagine_med.engine.phantom.renderer_base import mask_bbox
from imagine_med.engine.phantom.renderer_us import (
    PhantomUltrasound,
    _marks,
    probe_tags,
    scan_tags,
)

SEVERITY_GRADE = {"mild": "small", "moderate": "moderate", "severe": "large"}
COLLAPSE_RATIO = 0.4  # RV cavity width / LV's below this: the free wall has collapsed


class PhantomCardiacUS(PhantomUltrasound):
    """Subcostal four-chamber view, phased array 2.5 MHz, 16 cm."""

    def build(self, request: RenderRequest) -> HeartPlane:
        spec = request.spec
        rng = np.random.default_rng([request.seed, 16])
        lo, hi = AGE_OF_GROUP.get(spec.age_group or "adult", (25, 64))
        age = spec.age if spec.age is not None else round(rng.uniform(lo, hi + 0.999))
        sex = spec.sex or ("female" if rng.uniform() < 0.5 else "male")
        plane = build_heart(rng, age, sex)
        for f in spec.findings:
            if f.name != "pericardial_effusion":
                raise EngineError(
                    "The subcostal cardiac view draws the four chambers and a "
                    "pericardial effusion; not "
                    f"{f.name.replace('_', ' ')}."
                )
            grade = SEVERITY_GRADE.get(f.severity or "", "moderate")
            depth = float(np.clip(f.size_mm or EFFUSION_MM[grade], 2.0, 40.0))
            plane.add_effusion(depth)
            tamponade = "tamponade" in f.modifiers or "tamponade" in (spec.prompt or "").lower()
            if tamponade:
                plane.compress_right_ventricle()
            plane.findings.append(
                PlacedFinding(
                    "pericardial_effusion",
                    None,
                    "pericardium",
                    f.modifiers,
                    (plane.heart.cx, plane.heart.cy, 0.0),
                    {"depth_mm": depth, "tamponade": float(tamponade)},
                )
            )
        return plane

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        fr = self.frame(request, progress)
        plane = fr.plane
        assert isinstance(plane, HeartPlane)
        pixels, labels = fr.pixels, fr.labels
        _marks(pixels, labels, fr)
        results, sentences = [], []
        ventricles = ventricle_widths(labels, fr.px)
        for p in plane.findings:
            m = measure_effusion(labels, pixels, fr.px)
            m.update(ventricles)
            text = effusion_sentence(m, bool(p.params.get("tamponade")))
            sentences.append(text)
            results.append(
                FindingResult(
                    p.name,
                    LABELS["pericardial_effusion"],
                    mask_bbox(labels == LABELS["pericardial_effusion"]),
                    None,
                    p.location,
                    text,
                    m,
                )
            )
        if not plane.findings:
            sentences.append(
                "No pericardial effusion: the bright pericardium lies directly on "
                "the myocardium all round (a negative pericardial FAST view)."
            )
        sentences.append(chambers_sentence(labels, ventricles))
        head = (
            f"Ultrasound, subcostal (subxiphoid) four-chamber view through the liver, "
            f"phased-array {fr.probe.freq_mhz:g} MHz, {fr.probe.sector_deg:g}-degree "
            f"sector, depth {fr.probe.depth_mm / 10:g} cm ({plane.age}-year-old "
            f"{plane.sex}). "
        )
        names = {v: k for k, v in LABELS.items()}
        present = {int(i): names[int(i)] for i in np.unique(labels) if i}
        tags = {
            **scan_tags(fr.probe, "heart", "pericardial", plane.sex, plane.age),
            **probe_tags(fr.probe, request.width, request.height),
        }
        progress(1.0, "done")
        return RenderResult(
            pixels=pixels,
            label_map=labels,
            labels=present,
            findings=results,
            pixel_spacing_mm=(fr.px, fr.px),
            answer_key=head + " ".join(sentences),
            tags=tags,
        )


def _width(mask: np.ndarray, px: float) -> float:
    """Twice the largest inscribed radius: a cavity's or a rim's depth."""
    return float(ndimage.distance_transform_edt(mask).max()) * 2 * px if mask.any() else 0.0


def ventricle_widths(labels: np.ndarray, px: float) -> dict[str, float]:
    rv = _width(labels == LABELS["right_ventricle"], px)
    lv = _width(labels == LABELS["left_ventricle"], px)
    out = {"rv_width_mm": round(rv, 1), "lv_width_mm": round(lv, 1)}
    if lv > 0:
        out["rv_lv_ratio"] = round(rv / lv, 2)
    return out


def measure_effusion(labels: np.ndarray, pixels: np.ndarray, px: float) -> dict[str, float]:
    """The effusion's depth (twice the largest inscribed radius of its label) and its mean
    grey against the myocardium's (eroded 2 px, away from the bright pericardium)."""
    mask = labels == LABELS["pericardial_effusion"]
    if not mask.any():
        return {}
    inner = ndimage.binary_erosion(mask, iterations=2)
    myo = ndimage.binary_erosion(labels == LABELS["myocardium"], iterations=2)
    m = {"depth_mm": round(_width(mask, px), 1)}
    if inner.any() and myo.any():
        m["fluid_grey"] = round(float(pixels[inner].mean()), 1)
        m["myocardium_grey"] = round(float(pixels[myo].mean()), 1)
    return m


def effusion_sentence(m: dict[str, float], tamponade: bool) -> str:
    if "depth_mm" not in m:
        return "The requested pericardial effusion is not in this plane."
    depth = m["depth_mm"]
    grade = effusion_grade(depth)
    txt = (
        f"A {grade} pericardial effusion: an anechoic rim between the myocardium and the "
        f"bright pericardium, {depth:.0f} mm deep (small < 10, moderate 10-20, large "
        "> 20 mm); a positive pericardial FAST view."
    )
    ratio = m.get("rv_lv_ratio")
    if tamponade and ratio is not None and ratio < COLLAPSE_RATIO:
        txt += (
            f" The right ventricular free wall is collapsed inward (RV cavity "
            f"{m['rv_width_mm']:.0f} mm against the LV's {m['lv_width_mm']:.0f} mm): "
            "diastolic RV collapse, an echocardiographic sign of tamponade (a clinical "
            "diagnosis: hypotension, raised JVP, pulsus paradoxus)."
        )
    return txt


def chambers_sentence(labels: np.ndarray, v: dict[str, float]) -> str:
    seen = [
        n.replace("_", " ")
        for n in ("right_ventricle", "left_ventricle", "right_atrium", "left_atrium")
        if (labels == LABELS[n]).any()
    ]
    if len(seen) < 4:
        return "Not all four chambers are in this plane."
    return (
        f"All four chambers are seen, the right ventricle nearest the liver; RV "
        f"{v['rv_width_mm']:.0f} mm and LV {v['lv_width_mm']:.0f} mm wide in this plane."
    )


def cardiac_us_renderer() -> PhantomCardiacUS:
    return PhantomCardiacUS()


__all__ = ["PhantomCardiacUS", "cardiac_us_renderer"]
