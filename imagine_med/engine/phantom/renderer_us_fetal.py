"""Fetal biometry on the pelvic ultrasound renderer (14-40 weeks): which plane and age the
prompt asks for, the probe that fits the fetal part, and the measurements read back from the
label map (BPD outer-to-inner and HC by an ellipse fit on the skull, AC by an ellipse fit on the
abdominal skin line, FL along the femoral diaphysis) with the gestational age Hadlock's
regressions give for each (regions/pelvis_us/fetal.py).
"""

from __future__ import annotations

import math
import re

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.physics.ultrasound import Probe
from imagine_med.engine.phantom.regions.pelvis_us.fetal import (
    LABELS,
    MAX_WEEKS,
    MIN_WEEKS,
    PLANES,
    FetalPlane,
    ellipse_perimeter,
    ga_weeks,
)

DEFAULT_WEEKS = 20.0
THIRD_TRIMESTER_WEEKS = 32.0
OB_TGC_ALPHA = 0.3  # dB/cm/MHz the obstetric preset's TGC assumes
OB_GAIN_DB = 6.0  # the preset's overall gain, for the fetal soft tissue under a thick wall
PLANE_WORDS = {
    "head": (
        "bpd",
        "biparietal",
        "head circumference",
        "hc ",
        "transthalamic",
        "fetal head",
        "thalami",
    ),
    "abdomen": ("abdominal circumference", " ac ", "ac,", "fetal abdomen", "stomach bubble"),
    "femur": ("femur length", "femur", "femoral length", " fl ", "fl,"),
}
BIOMETRY_WORDS = (
    "biometry",
    "anatomy scan",
    "anomaly scan",
    "second trimester",
    "third trimester",
    "growth scan",
    "fetal growth",
    "morphology scan",
    *(w for ws in PLANE_WORDS.values() for w in ws),
)
HEAD = ("fetal_skull", "fetal_brain", "falx", "thalamus", "cavum_septi_pellucidi")
ABDOMEN = ("fetal_abdomen", "stomach", "umbilical_vein", "fetal_spine")


def asks_biometry(text: str, weeks: float | None) -> bool:
    """A second- or third-trimester request: an age of 14 weeks or more, or biometry words."""
    t = f" {text.lower()} "
    return (weeks is not None and weeks >= MIN_WEEKS) or any(w in t for w in BIOMETRY_WORDS)


def plane_asked(text: str, rng: np.random.Generator) -> str:
    """The plane the prompt names (head, abdomen, femur), else one drawn per variant."""
    t = f" {text.lower()} "
    named = [p for p in PLANES if any(w in t for w in PLANE_WORDS[p])]
    return named[0] if len(named) == 1 else str(rng.choice(PLANES))


def weeks_asked(text: str, found: re.Match | None) -> float:
    """The prompt's age in weeks (14-40), else 32 for a third-trimester or growth scan, else
    20 (the anatomy scan)."""
    if found is None:
        late = any(w in text for w in ("third trimester", "growth scan", "fetal growth"))
        return THIRD_TRIMESTER_WEEKS if late else DEFAULT_WEEKS
    w = float(found.group(1)) + (int(found.group(2)) / 7 if found.group(2) else 0.0)
    return float(np.clip(w, MIN_WEEKS, MAX_WEEKS))


def fetal_probe(plane: FetalPlane, freq_mhz: float) -> Probe:
    """Curvilinear, a 60-degree sector as deep as the fetal part needs, focused on it; the
    obstetric preset's time-gain compensation assumes 0.3 dB/cm/MHz (half the abdominal
    preset's: most of the path is amniotic fluid, which would otherwise glow with noise)."""
    depth = plane.depth_mm()
    return Probe(
        freq_mhz=freq_mhz,
        depth_mm=depth,
        focus_mm=min(depth - 10.0, plane.part.cy),
        sector_deg=60.0,
        tgc_alpha=OB_TGC_ALPHA,
        gain_db=OB_GAIN_DB,
    )


# --- measurements from the label map -----------------------------------------------------


def ellipse_fit(mask: np.ndarray) -> tuple[float, float, float, float, np.ndarray]:
    """(semi-major, semi-minor, cx, cy, minor-axis unit vector) in pixels of a filled region,
    from its second moments (a uniform ellipse has variance a^2 / 4 along each axis)."""
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], 1).astype(np.float64)
    c = pts.mean(0)
    w, v = np.linalg.eigh(np.cov((pts - c).T, bias=True))
    w = np.maximum(w - 1 / 12, 1e-9)  # less the pixel grid's own variance
    return 2 * math.sqrt(w[1]), 2 * math.sqrt(w[0]), float(c[0]), float(c[1]), v[:, 0]


def _ray(
    labels: np.ndarray, c: tuple[float, float], d: np.ndarray, step: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """Labels met along a ray from c in direction d (nearest pixel), and their distances."""
    n = int(max(labels.shape) / step)
    s = np.arange(n) * step
    xs, ys = np.round(c[0] + s * d[0]).astype(int), np.round(c[1] + s * d[1]).astype(int)
    ok = (xs >= 0) & (xs < labels.shape[1]) & (ys >= 0) & (ys < labels.shape[0])
    return labels[ys[ok], xs[ok]], s[ok]


def head_measure(labels: np.ndarray, px: float) -> dict[str, float]:
    """BPD outer-to-inner: along the minor axis through the head's centre, from the outer edge
    of the near parietal bone to the inner edge of the far one; HC: the perimeter of the
    ellipse fitted to the skull's outer edge; the cephalic index BPD / OFD."""
    head = ndimage.binary_fill_holes(np.isin(labels, [LABELS[k] for k in HEAD]))
    if head.sum() < 50:
        return {}
    a, b, cx, cy, minor = ellipse_fit(head)
    near = minor if minor[1] < 0 else -minor  # toward the probe (up)
    lab, s = _ray(head.astype(np.uint8), (cx, cy), near)
    d_near = s[np.argmax(lab == 0)] if (lab == 0).any() else s[-1]
    lab, s = _ray(labels, (cx, cy), -near)
    d_far = s[np.argmax(lab == LABELS["fetal_skull"])]
    bpd = (d_near + d_far) * px
    hc = ellipse_perimeter(a, b) * px
    return {
        "bpd_mm": round(bpd, 1),
        "hc_mm": round(hc, 1),
        "ofd_mm": round(2 * a * px, 1),
        "cephalic_index": round((2 * b) / (2 * a), 2),
        "ga_bpd_weeks": round(ga_weeks("bpd", bpd), 1),
        "ga_hc_weeks": round(ga_weeks("hc", hc), 1),
    }


def abdomen_measure(labels: np.ndarray, px: float) -> dict[str, float]:
    """AC: the perimeter of the ellipse fitted to the abdominal skin line."""
    body = ndimage.binary_fill_holes(np.isin(labels, [LABELS[k] for k in ABDOMEN]))
    if body.sum() < 50:
        return {}
    a, b, *_ = ellipse_fit(body)
    ac = ellipse_perimeter(a, b) * px
    return {
        "ac_mm": round(ac, 1),
        "ap_diameter_mm": round(2 * b * px, 1),
        "transverse_diameter_mm": round(2 * a * px, 1),
        "stomach_seen": float((labels == LABELS["stomach"]).any()),
        "ga_ac_weeks": round(ga_weeks("ac", ac), 1),
    }


def femur_measure(labels: np.ndarray, px: float) -> dict[str, float]:
    """FL: the ossified diaphysis end to end, along its main axis (+1 pixel for the ends)."""
    bone = labels == LABELS["femur"]
    if bone.sum() < 5:
        return {}
    ys, xs = np.nonzero(bone)
    pts = np.stack([xs, ys], 1).astype(float)
    pts -= pts.mean(0)
    axis = np.linalg.svd(pts, full_matrices=False)[2][0]
    fl = (float(np.ptp(pts @ axis)) + 1.0) * px
    tilt = abs(math.degrees(math.atan2(axis[1], axis[0])))
    tilt = min(tilt, 180.0 - tilt)
    return {
        "fl_mm": round(fl, 1),
        "tilt_deg": round(tilt, 1),
        "ga_fl_weeks": round(ga_weeks("fl", fl), 1),
    }


def weeks_days(weeks: float) -> str:
    d = round(weeks * 7)
    return f"{d // 7}w{d % 7}d"


def biometry_sentence(plane: str, m: dict[str, float]) -> str:
    if not m:
        return "The requested biometry plane is not in the field."
    if plane == "head":
        return (
            f"Transthalamic plane (midline falx, cavum septi pellucidi, thalami): BPD "
            f"{m['bpd_mm']:.1f} mm (outer-to-inner), HC {m['hc_mm']:.0f} mm (ellipse), "
            f"cephalic index {m['cephalic_index']:.2f}; {weeks_days(m['ga_bpd_weeks'])} by "
            f"BPD and {weeks_days(m['ga_hc_weeks'])} by HC (Hadlock 1984)."
        )
    if plane == "abdomen":
        return (
            f"Abdominal plane (stomach bubble, intrahepatic umbilical vein, spine): AC "
            f"{m['ac_mm']:.0f} mm (ellipse); {weeks_days(m['ga_ac_weeks'])} by AC "
            "(Hadlock 1984)."
        )
    return (
        f"Femur: the ossified diaphysis, bright with a posterior acoustic shadow, FL "
        f"{m['fl_mm']:.1f} mm; {weeks_days(m['ga_fl_weeks'])} by FL (Hadlock 1984)."
    )


MEASURE = {"head": head_measure, "abdomen": abdomen_measure, "femur": femur_measure}
FINDING_LABEL = {"head": "fetal_skull", "abdomen": "fetal_abdomen", "femur": "femur"}

__all__ = [
    "FINDING_LABEL",
    "MEASURE",
    "asks_biometry",
    "biometry_sentence",
    "fetal_probe",
    "plane_asked",
    "weeks_asked",
    "weeks_days",
]
