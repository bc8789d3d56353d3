"""The phantom engine's thyroid ultrasound: a transverse neck plane with a linear probe and
nodules built from, and scored by, ACR TI-RADS.

Steps per variant: the plane (regions/thyroid_us: gland, trachea, vessels, nodules from the
requested TR level or named features) -> the same B-mode physics and scan conversion as the
abdominal renderer (`PhantomUltrasound.frame`) -> shadows behind coarse calcifications ->
depth scale and marks -> each nodule read off the frame (regions/thyroid_us/tirads.py) ->
a report. Transverse: the patient's right on the image left.
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
from imagine_med.engine.phantom.physics.ultrasound import behind, scan_convert
from imagine_med.engine.phantom.regions.thyroid_us import tirads
from imagine_med.engine.phantom.regions.thyroid_us.anatomy import (
    LABELS,
    ThyroidPlane,
    build_thyroid,
    features_for,
    place_nodule,
)
from imagine_med.engine.phantom.renderer_base import mask_bbox
from imagine_med.engine.phantom.renderer_us import SHADOW_DB, PhantomUltrasound, _marks, scan_tags

NODULE_PARTS = (LABELS["nodule"], LABELS["cystic_component"], LABELS["echogenic_focus"])
DEFAULT_SIZE_MM = {1: 14.0, 2: 16.0, 3: 18.0, 4: 14.0, 5: 11.0}


def _level(mods: tuple[str, ...]) -> int | None:
    for m in mods:
        if m.startswith("tirads_"):
            return int(m.rsplit("_", 1)[1])
    return None


class PhantomThyroidUS(PhantomUltrasound):
    """Thyroid B-mode, transverse, linear 10 MHz."""

    def build(self, request: RenderRequest) -> ThyroidPlane:
        spec = request.spec
        rng = np.random.default_rng([request.seed, 16])
        lo, hi = AGE_OF_GROUP.get(spec.age_group or "adult", (25, 64))
        age = spec.age if spec.age is not None else round(rng.uniform(lo, hi + 0.999))
        sex = spec.sex or ("female" if rng.uniform() < 0.75 else "male")  # nodules: F 3-4:1
        plane = build_thyroid(rng, age, sex)
        frng = np.random.default_rng([request.seed, 17])
        for f in spec.findings:
            if f.name not in ("thyroid_nodule", "cyst"):
                raise EngineError("The thyroid ultrasound phantom draws thyroid nodules (by "
                                  "TI-RADS level or features) only; not "
                                  f"{f.name.replace('_', ' ')}.")
            words = (*f.modifiers, "cystic") if f.name == "cyst" else f.modifiers
            feats = features_for(_level(f.modifiers), words, frng)
            lobe = f.laterality if f.laterality in ("right", "left") else \
                ("right", "left")[int(frng.integers(2))]
            level = _level(f.modifiers) or 3
            size = float(np.clip(f.size_mm or DEFAULT_SIZE_MM[level] * frng.uniform(0.8, 1.2),
                                 5.0, 2 * plane.lobe[lobe].a))
            n = place_nodule(plane, lobe, size, feats, frng)
            plane.findings.append(_placed(n, f))
        return plane

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress
               ) -> RenderResult:
        fr = self.frame(request, progress)
        plane = fr.plane
        assert isinstance(plane, ThyroidPlane)
        pixels, labels = fr.pixels, fr.labels
        focus = fr.beam_labels == LABELS["echogenic_focus"]
        if focus.any():  # a coarse calcification's shadow (punctate foci cast none): loss
            # beyond what the neighbouring lines lost at the same depth
            ex = fr.beam.excess_loss_db
            sh = behind(focus) & (ex - np.median(ex, axis=1, keepdims=True) > SHADOW_DB)
            shadow, _ = scan_convert(sh.astype(np.uint8), fr.probe, fr.x, fr.y, order=0)
            labels[(shadow > 0) & ~np.isin(labels, NODULE_PARTS)] = LABELS["shadow"]
        _marks(pixels, labels, fr)
        dr = fr.probe.dynamic_range_db
        mid = float(np.argmin(np.abs(fr.x[0])))  # the midline column (the trachea's centre)
        pieces, n = ndimage.label(np.isin(labels, NODULE_PARTS))
        read = []
        for i in range(1, n + 1):
            mask = pieces == i
            if mask.sum() * fr.px ** 2 < 4.0:  # a fleck cut off by a vessel, not a nodule
                continue
            lobe = "right" if np.nonzero(mask)[1].mean() < mid else "left"
            read.append((lobe, tirads.read_nodule(labels, pixels, fr.px, dr, mask),
                         mask_bbox(mask)))
        results, sentences = [], []
        for p in plane.findings:
            mine = [r for r in read if r[0] == p.side]
            if not mine:
                sentences.append(f"The requested {p.side} lobe nodule is not in this plane.")
                results.append(FindingResult(p.name, LABELS["nodule"], None, p.side,
                                             f"{p.side}_lobe", sentences[-1], {}))
                continue
            lobe, m, bbox = max(mine, key=lambda r: r[1]["size_mm"])
            read.remove((lobe, m, bbox))
            sentences.append(tirads.sentence(lobe, m))
            meas = {k: float(v) for k, v in m.items() if k != "features"}
            meas |= {f"{k}_points": float(tirads.POINTS[k][v]) for k, v in m["features"].items()}
            results.append(FindingResult(p.name, LABELS["nodule"], bbox, lobe, f"{lobe}_lobe",
                                         sentences[-1], meas))
        gland = _gland(labels, fr.px, mid)
        head = (f"Thyroid ultrasound, transverse, linear {fr.probe.freq_mhz:g} MHz, depth "
                f"{fr.probe.depth_mm / 10:g} cm ({plane.age}-year-old {plane.sex}); the "
                f"patient's right on the image left. {gland}")
        if not plane.findings:
            sentences.append("No thyroid nodule.")
        names = {v: k for k, v in LABELS.items()}
        present = {int(i): names[int(i)] for i in np.unique(labels) if i}
        tags = scan_tags(fr.probe, "thyroid", "transverse", plane.sex, plane.age)
        progress(1.0, "done")
        return RenderResult(pixels=pixels, label_map=labels, labels=present, findings=results,
                            pixel_spacing_mm=(fr.px, fr.px),
                            answer_key=head + " " + " ".join(sentences), tags=tags)


def _placed(n, f):
    from imagine_med.engine.phantom.regions.base import PlacedFinding

    return PlacedFinding(f.name, n.lobe, f"{n.lobe}_lobe", f.modifiers,
                         (n.shape.cx, n.shape.cy, 0.0), dict.fromkeys(n.features, 1.0))


def _gland(labels: np.ndarray, px: float, mid: float) -> str:
    """Each lobe's transverse and AP size and the isthmus thickness, from the label map."""
    th = np.isin(labels, (LABELS["thyroid"], *NODULE_PARTS))
    out = []
    for side, cols in (("right", slice(0, int(mid) - 10)), ("left", slice(int(mid) + 10, None))):
        part = np.zeros_like(th)
        part[:, cols] = th[:, cols]
        if part.sum() < 20:
            continue
        ys, xs = np.nonzero(part)
        out.append(f"{side} lobe {np.ptp(xs) * px:.0f} x {np.ptp(ys) * px:.0f} mm")
    col = th[:, int(mid)]
    isth = f", isthmus {col.sum() * px:.1f} mm" if col.any() else ""
    return ("Gland: " + ", ".join(out) + isth + ", homogeneous echotexture.") if out else ""


def thyroid_us_renderer() -> PhantomThyroidUS:
    return PhantomThyroidUS()
