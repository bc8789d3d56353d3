"""Ovaries on the pelvic ultrasound renderer: which transverse view the prompt asks for, its
probe, and the measurements read back from the label map: each ovary's two diameters in the
plane and its volume (a prolate ellipsoid), its antral follicles counted and sized, a cyst's
or dermoid's diameter; polycystic ovarian morphology called from those counts and volumes
(regions/pelvis_us/ovaries.py).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.physics.ultrasound import Probe
from imagine_med.engine.phantom.regions.pelvis_us.ovaries import (
    LABELS,
    PCOM_FOLLICLES,
    PCOM_VOLUME_ML,
    PelvisTransverse,
    ovary_diameters,
    prolate_volume_ml,
)

GYN_WORDS = (
    "ovar",
    "follic",
    "adnex",
    "pcos",
    "pcom",
    "transvaginal",
    "endovaginal",
    "tvus",
    "dermoid",
    "teratoma",
)
GYN_FINDINGS = ("ovarian_cyst", "polycystic_ovaries", "dermoid")
FOLLICLE_MM = (2.0, 9.0)  # the antral follicle range the count uses
CYST_MM = 40.0


def asks_ovaries(text: str, names: list[str]) -> bool:
    return any(n in GYN_FINDINGS for n in names) or any(w in text.lower() for w in GYN_WORDS)


def gyn_probe(plane: PelvisTransverse, freq_mhz: float) -> Probe:
    """Curvilinear, a 75-degree sector (both ovaries and the iliac vessels beside them), as
    deep as the pelvic floor behind the uterus; the time-gain compensation lowered for the
    path through the full bladder (as a sonographer sets it, else fluid behind it glows)."""
    depth = float(
        np.clip(10.0 * math.ceil((plane.uterus.cy + plane.uterus.b + 30.0) / 10.0), 100.0, 160.0)
    )
    return Probe(
        freq_mhz=freq_mhz,
        depth_mm=depth,
        focus_mm=plane.uterus.cy,
        sector_deg=75.0,
        lines=224,
        tgc_alpha=GYN_TGC_ALPHA,
    )


GYN_TGC_ALPHA = 0.4  # dB/cm/MHz: the preset's TGC behind a full bladder
GYN_MHZ = 5.0  # the gynaecological preset (a slim pelvis, the ovaries at 6-10 cm)


def _owner(labels: np.ndarray, comp: np.ndarray) -> str | None:
    """Which ovary a follicle or cyst lies in: the ovary label most of its rim touches."""
    ring = ndimage.binary_dilation(comp, iterations=2) & ~comp
    votes = {s: int((labels[ring] == LABELS[f"ovary_{s}"]).sum()) for s in ("right", "left")}
    side = max(votes, key=votes.get)
    return side if votes[side] > 0 else None


def _padded(sl: tuple[slice, slice], shape: tuple[int, ...], pad: int) -> tuple[slice, slice]:
    return tuple(
        slice(max(0, s.start - pad), min(n, s.stop + pad)) for s, n in zip(sl, shape, strict=True)
    )  # type: ignore[return-value]


def ovary_measure(labels: np.ndarray, px: float) -> dict[str, dict[str, float]]:
    """Per ovary (from the label map): long and short axes, prolate volume, follicles of 2-9
    mm counted (each sized by its equal-area diameter), the largest follicle, any cyst or
    dermoid (equal-area diameter), and the centroid column (for laterality). Each part is
    handled in its own padded box."""
    parts: dict[str, list[tuple[str, float]]] = {"right": [], "left": []}
    whole = {s: labels == LABELS[f"ovary_{s}"] for s in ("right", "left")}
    for name in ("follicle", "ovarian_cyst", "dermoid"):
        comps, _ = ndimage.label(labels == LABELS[name])
        for i, sl in enumerate(ndimage.find_objects(comps), 1):
            box = _padded(sl, labels.shape, 3)
            comp = comps[box] == i
            side = _owner(labels[box], comp)
            if side is not None:
                parts[side].append((name, float(comp.sum())))
                whole[side][box] |= comp
    out: dict[str, dict[str, float]] = {}
    for side in ("right", "left"):
        if (labels == LABELS[f"ovary_{side}"]).sum() < 10:
            continue
        box = _padded(ndimage.find_objects(whole[side].astype(np.uint8))[0], labels.shape, 1)
        filled = np.zeros_like(whole[side])
        filled[box] = ndimage.binary_fill_holes(whole[side][box])
        long_mm, short_mm = ovary_diameters(filled, px)
        sizes = [2 * math.sqrt(a / math.pi) * px for n, a in parts[side] if n == "follicle"]
        counted = [d for d in sizes if FOLLICLE_MM[0] <= d <= FOLLICLE_MM[1]]
        m = {
            "long_mm": round(long_mm, 1),
            "short_mm": round(short_mm, 1),
            "volume_ml": round(prolate_volume_ml(long_mm, short_mm), 1),
            "follicles_2_9mm": float(len(counted)),
            "largest_follicle_mm": round(max(sizes), 1) if sizes else 0.0,
            "centroid_x_px": round(float(np.nonzero(filled)[1].mean()), 1),
        }
        for name in ("ovarian_cyst", "dermoid"):
            areas = [a for n, a in parts[side] if n == name]
            if areas:
                m[f"{name}_mm"] = round(2 * math.sqrt(max(areas) / math.pi) * px, 1)
        out[side] = m
    return out


def pcom(m: dict[str, float]) -> bool:
    """20 or more follicles of 2-9 mm, or 10 ml or more; the volume is not used where a cyst,
    a dermoid or a dominant follicle (> 10 mm) enlarges the ovary (Teede 2018)."""
    own = "ovarian_cyst_mm" in m or "dermoid_mm" in m or m["largest_follicle_mm"] > 10.0
    return m["follicles_2_9mm"] >= PCOM_FOLLICLES or (m["volume_ml"] >= PCOM_VOLUME_ML and not own)


def ovary_sentence(side: str, m: dict[str, float]) -> str:
    text = (
        f"The {side} ovary measures {m['long_mm']:.0f} x {m['short_mm']:.0f} mm in this "
        f"plane (about {m['volume_ml']:.1f} ml as a prolate ellipsoid) with "
        f"{m['follicles_2_9mm']:.0f} antral follicle"
        f"{'' if m['follicles_2_9mm'] == 1 else 's'} of 2-9 mm in this plane"
    )
    if m["largest_follicle_mm"] > FOLLICLE_MM[1]:
        text += f" and a dominant follicle of {m['largest_follicle_mm']:.0f} mm"
    if "ovarian_cyst_mm" in m:
        d = m["ovarian_cyst_mm"]
        text += (
            f"; a simple cyst of {d:.0f} mm: round, anechoic and thin-walled with "
            "posterior acoustic enhancement, a crescent of ovarian tissue at its edge ("
            + ("O-RADS US 2, almost certainly benign" if d > 30 else "O-RADS US 1, physiological")
            + ")"
        )
    if "dermoid_mm" in m:
        text += (
            f"; a {m['dermoid_mm']:.0f} mm cyst holding an echogenic plug that casts a "
            "posterior acoustic shadow (the tip of the iceberg): a dermoid (mature cystic "
            "teratoma)"
        )
    return text + "."


def ovaries_sentences(ms: dict[str, dict[str, float]]) -> list[str]:
    """One sentence an ovary, then the polycystic call (Teede 2018 thresholds)."""
    out = [ovary_sentence(s, m) for s, m in ms.items()]
    hit = [s for s, m in ms.items() if pcom(m)]
    if hit:
        which = "Both ovaries meet" if len(hit) == 2 else f"The {hit[0]} ovary meets"
        out.append(
            f"{which} the criteria for polycystic ovarian morphology (at least "
            f"{PCOM_FOLLICLES} follicles of 2-9 mm per ovary, or a volume of "
            f"{PCOM_VOLUME_ML:g} ml or more; the 2018 international PCOS guideline); a "
            "diagnosis of PCOS also needs the clinical criteria."
        )
    return out


__all__ = [
    "CYST_MM",
    "GYN_MHZ",
    "asks_ovaries",
    "gyn_probe",
    "ovaries_sentences",
    "ovary_measure",
    "pcom",
]
