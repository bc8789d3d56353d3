"""Linear-probe vessel studies of the leg (issue 16): compression ultrasound of the common
femoral or popliteal vein as a split screen (left without, right with probe pressure), and the
spectral Doppler trace of the femoral artery (physics/spectral.py draws the trace for this and
the carotid view).

Steps (compression): the leg plane (regions/vessels_us/leg.py) -> the same plane under the
probe -> both through the same B-mode physics (renderer_us.frame_of) -> side by side, each
half with its depth scale -> the lumen (vein or thrombus labels) measured in both halves:
compressibility is the lumen area with pressure over without; the artery's roundness too.
"""

from __future__ import annotations

import math

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
from imagine_med.engine.phantom.physics.ultrasound import Probe
from imagine_med.engine.phantom.physics.us_settings import with_settings
from imagine_med.engine.phantom.regions.vessels_us.leg import LABELS, SITES, LegPlane, build_leg
from imagine_med.engine.phantom.renderer_base import mask_bbox
from imagine_med.engine.phantom.renderer_us import PhantomUltrasound, _marks, frame_of, scan_tags

SPECTRAL_WORDS = (
    "spectral",
    "waveform",
    "pulsed wave",
    "pw doppler",
    "psv",
    "peak systolic",
    "triphasic",
    "velocity",
)
COMPRESSIBLE_BELOW = 0.10  # lumen area with pressure / without: a normal vein collapses
NONCOMPRESSIBLE_ABOVE = 0.70
PRESS_MM = (5.0, 9.0)  # how far the probe pushes the skin in


def asks_spectral(text: str) -> bool:
    return any(w in text.lower() for w in SPECTRAL_WORDS)


def site_of(text: str) -> str:
    return "popliteal" if any(w in text.lower() for w in ("poplit", "knee")) else "common_femoral"


def leg_probe(site: str) -> Probe:
    """Linear 7.5 MHz, 4 cm deep (3.5 cm at the knee), focus at the vessels (the prompt's
    settings are applied after: physics/us_settings.py)."""
    depth = 35.0 if site == "popliteal" else 40.0
    return Probe(
        kind="linear",
        freq_mhz=7.5,
        depth_mm=depth,
        focus_mm=22.0,
        aperture_mm=10.0,
        width_mm=40.0,
        cycles=2.5,
        lines=128,
        sample_mm=0.08,
    )


def lumen_area_mm2(labels: np.ndarray, px: float) -> float:
    """The vein's lumen: blood or thrombus inside its wall."""
    return float(np.isin(labels, [LABELS["vein"], LABELS["thrombus"]]).sum()) * px * px


def roundness(mask: np.ndarray) -> float:
    """Minor over major axis of a region (1 for a circle), from its second moments."""
    if mask.sum() < 5:
        return 0.0
    ys, xs = np.nonzero(mask)
    w = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(float), bias=True))
    return float(math.sqrt(max(w[0], 1e-9) / max(w[1], 1e-9)))


def compression_measure(left: np.ndarray, right: np.ndarray, px: float) -> dict[str, float]:
    """From the two halves' labels: lumen areas, compressibility (the ratio), the vein's size
    without pressure, the artery's roundness with it, and whether thrombus is present."""
    a0, a1 = lumen_area_mm2(left, px), lumen_area_mm2(right, px)
    vein = np.isin(left, [LABELS["vein"], LABELS["thrombus"]])
    out = {
        "lumen_area_mm2": round(a0, 1),
        "lumen_area_compressed_mm2": round(a1, 1),
        "residual_lumen_percent": round(100.0 * a1 / max(a0, 1e-6), 1),
        "artery_roundness_compressed": round(roundness(right == LABELS["artery"]), 2),
        "thrombus_present": float((left == LABELS["thrombus"]).any()),
    }
    if vein.any():
        ys, xs = np.nonzero(vein)
        out["vein_width_mm"] = round(float(np.ptp(xs) + 1) * px, 1)
        out["vein_depth_mm"] = round(float(np.ptp(ys) + 1) * px, 1)
        inner = ndimage.binary_erosion(left == LABELS["thrombus"], iterations=2)
        if inner.any():
            out["thrombus_fraction_of_lumen"] = round(
                float((left == LABELS["thrombus"]).sum()) / float(vein.sum()), 2
            )
    return out


def compression_sentence(site: str, side: str, m: dict[str, float]) -> str:
    name = f"{side} {SITES[site]} vein"
    size = (
        f"{m.get('vein_width_mm', 0):.0f} x {m.get('vein_depth_mm', 0):.0f} mm"
        if "vein_width_mm" in m
        else "not seen"
    )
    ratio = m["residual_lumen_percent"]
    if m["thrombus_present"] and ratio > 100 * NONCOMPRESSIBLE_ABOVE:
        return (
            f"The {name} is distended ({size}) and filled with low-level echoes; under "
            f"probe pressure it keeps {ratio:.0f}% of its lumen area while the artery beside "
            "it stays round: a non-compressible vein, acute deep vein thrombosis."
        )
    if ratio < 100 * COMPRESSIBLE_BELOW:
        return (
            f"The {name} ({size}, anechoic) collapses under probe pressure ({ratio:.0f}% of "
            "its lumen area left) while the artery beside it stays round: fully "
            "compressible, no deep vein thrombosis at this level."
        )
    return (
        f"The {name} ({size}) keeps {ratio:.0f}% of its lumen area under pressure: "
        "partly compressible, indeterminate."
    )


def _divider(pixels: np.ndarray, labels: np.ndarray, col: int) -> None:
    pixels[:, col] = 90
    labels[:, col] = LABELS["annotation"]


def _press_mark(pixels: np.ndarray, labels: np.ndarray, col0: int, width: int) -> None:
    """A downward arrow over the right half's field: the frame taken with pressure."""
    c = col0 + width // 2
    for k in range(6):
        pixels[2 + k, c - (5 - k) : c + (6 - k)] = 230
        labels[2 + k, c - (5 - k) : c + (6 - k)] = LABELS["annotation"]


class PhantomLegVessels(PhantomUltrasound):
    """Compression ultrasound of the leg's deep veins, and the femoral spectral trace."""

    def build(self, request: RenderRequest) -> LegPlane:
        spec = request.spec
        text = (spec.prompt or "").lower()
        rng = np.random.default_rng([request.seed, 16])
        side = spec.laterality or next((f.laterality for f in spec.findings if f.laterality), None)
        side = side if side in ("right", "left") else ("right", "left")[int(rng.integers(0, 2))]
        age = spec.age if spec.age is not None else round(rng.uniform(30, 85.999))
        sex = spec.sex or ("female" if rng.uniform() < 0.5 else "male")
        plane = build_leg(rng, site_of(text), side, age, sex)
        for f in spec.findings:
            if f.name != "venous_thrombosis":
                raise EngineError(
                    "The leg vein view draws normal compressible veins and deep "
                    f"vein thrombosis; not {f.name.replace('_', ' ')}."
                )
            plane.findings.append(plane.thrombose())
        return plane

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        if asks_spectral(request.spec.prompt or ""):
            from imagine_med.engine.phantom.renderer_us_spectral import spectral_render

            return spectral_render(request, progress)
        return self.compression(request, progress)

    def compression(
        self, request: RenderRequest, progress: ProgressFn = no_progress
    ) -> RenderResult:
        """Two frames side by side: without (left) and with (right) probe compression."""
        progress(0.05, "anatomy")
        plane = self.build(request)
        rng = np.random.default_rng([request.seed, 20])
        pressed = plane.with_compression(rng.uniform(*PRESS_MM))
        probe = with_settings(leg_probe(plane.site), request.spec.us)
        half = request.width // 2
        frames = [
            frame_of(p, probe, request.seed, w, request.height)
            for p, w in ((plane, half), (pressed, request.width - half))
        ]
        for fr in frames:
            _marks(fr.pixels, fr.labels, fr)
        progress(0.8, "measure")
        pixels = np.concatenate([frames[0].pixels, frames[1].pixels], axis=1)
        labels = np.concatenate([frames[0].labels, frames[1].labels], axis=1)
        px = frames[0].px
        m = compression_measure(frames[0].labels, frames[1].labels, px)
        _divider(pixels, labels, half)
        _press_mark(pixels, labels, half, request.width - half)
        text = compression_sentence(plane.site, plane.side, m)
        results = []
        if plane.findings:
            p = plane.findings[0]
            results.append(
                FindingResult(
                    p.name,
                    LABELS["thrombus"],
                    mask_bbox(labels == LABELS["thrombus"]),
                    p.side,
                    p.location,
                    text,
                    m,
                )
            )
        else:
            results.append(
                FindingResult(
                    "compressible_vein",
                    LABELS["vein"],
                    mask_bbox(labels[:, :half] == LABELS["vein"]),
                    plane.side,
                    f"{plane.site}_vein",
                    text,
                    m,
                )
            )
        names = {v: k for k, v in LABELS.items()}
        present = {int(i): names[int(i)] for i in np.unique(labels) if i}
        view = SITES[plane.site]
        head = (
            f"Compression ultrasound of the {plane.side} {view} vein, transverse, linear "
            f"{probe.freq_mhz:g} MHz, depth {probe.depth_mm / 10:g} cm, split screen: "
            "left without and right with probe compression; the patient's right on the "
            f"image left ({plane.age}-year-old {plane.sex}). "
        )
        tags = {
            **scan_tags(probe, "leg_veins", f"{plane.site}_compression", plane.sex, plane.age),
            "split_column": str(half),
            "side": plane.side,
        }
        progress(1.0, "done")
        return RenderResult(
            pixels=pixels,
            label_map=labels,
            labels=present,
            findings=results,
            pixel_spacing_mm=(px, px),
            answer_key=head + text,
            tags=tags,
        )


def leg_vessels_renderer() -> PhantomLegVessels:
    return PhantomLegVessels()


__all__ = ["PhantomLegVessels", "asks_spectral", "compression_measure", "leg_vessels_renderer"]
