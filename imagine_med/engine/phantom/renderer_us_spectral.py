"""Spectral (pulsed-wave) Doppler on the linear vessel views (issue 16): the common carotid
(regions/vessels_us/anatomy) or the common femoral artery (regions/vessels_us/leg) in its long
axis, with the sample volume gate, the steered beam line and the angle-correction cursor drawn
on the B-mode above, and the spectral display below it (time across, velocity up, flow toward
the probe above the baseline) from the flow model of physics/spectral.py; the key's PSV and
EDV are read from the written trace's envelope.

Steps: the plane, its vessel tilted 10 degrees (heel-toe) so a 20-degree steer meets the flow
at 60 degrees -> the B-mode frame (renderer_us.frame_of) -> the gate -> the waveform -> the
display (aliasing wraps what exceeds the scale) -> the envelope read back from the pixels.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from imagine_med.engine.base import FindingResult, ProgressFn, RenderRequest, RenderResult
from imagine_med.engine.base import no_progress as _no_progress
from imagine_med.engine.phantom.physics.spectral import (
    GATE_FRACTION,
    Display,
    Waveform,
    carotid_waveform,
    display_for,
    femoral_waveform,
    insonation_deg,
    read_trace,
    spectrum,
    vein_waveform,
)
from imagine_med.engine.phantom.physics.ultrasound import (
    Probe,
    colour_map,
    doppler_velocity,
    prf_hz,
)
from imagine_med.engine.phantom.physics.us_settings import with_settings
from imagine_med.engine.phantom.regions.vessels_us.anatomy import Tube, build_neck
from imagine_med.engine.phantom.regions.vessels_us.leg import build_femoral_long
from imagine_med.engine.phantom.renderer_base import mask_bbox
from imagine_med.engine.phantom.renderer_us import frame_of

STEER_DEG = 20.0
HEEL_TOE_DEG = 10.0  # the vessel tilted in the image so the steered beam meets it at 60 deg
SWEEP_S = 3.0
TOP_FRACTION = 0.55  # of the image height: the B-mode; the spectrum below
HEADROOM = 1.3  # the default scale: 1.3 x the expected peak above (or below) the baseline
GATE_RGB = (80, 255, 80)
COLOUR_SCALE = 40.0  # cm/s, the triplex colour box's Nyquist velocity
LABEL_IDS = {"gate": 62, "spectral_display": 63, "baseline": 64}


def _vessel_plane(request: RenderRequest, rng: np.random.Generator):
    """(plane, gated tube, waveform, steer, vessel name) for the prompt: the carotid view or
    the femoral one; the gate on the vein if the prompt names it (the jugular, a vein)."""
    spec = request.spec
    text = (spec.prompt or "").lower()
    wrng = np.random.default_rng([request.seed, 21])
    age = spec.age if spec.age is not None else round(rng.uniform(40, 80.999))
    sex = spec.sex or ("female" if rng.uniform() < 0.5 else "male")
    on_vein = ("jugular" in text or "vein" in text) and "arter" not in text
    if spec.region == "carotid":
        plane = build_neck(rng, age, sex)
        steer = STEER_DEG  # the carotid flows to the image left (toward the head)
        slope = math.tan(math.radians(HEEL_TOE_DEG))
        plane.carotid = dataclasses.replace(plane.carotid, slope=slope)
        plane.jugular = dataclasses.replace(plane.jugular, slope=slope)
        if on_vein:
            return plane, plane.jugular, vein_waveform(wrng), steer, "internal jugular vein"
        return plane, plane.carotid, carotid_waveform(wrng), steer, "common carotid artery"
    plane = build_femoral_long(rng, age, sex)
    steer = -STEER_DEG  # the femoral artery flows to the image right (toward the feet)
    slope = -math.tan(math.radians(HEEL_TOE_DEG))
    plane.artery = dataclasses.replace(plane.artery, slope=slope)
    plane.vein = dataclasses.replace(plane.vein, slope=slope)
    if on_vein:
        return plane, plane.vein, vein_waveform(wrng, 15.0), steer, "common femoral vein"
    return plane, plane.artery, femoral_waveform(wrng), steer, "common femoral artery"


def toward_sign(tube: Tube, steer_deg: float) -> float:
    """+1 where the tube's flow runs toward the probe along the steered beam."""
    st = math.radians(steer_deg)
    n = math.hypot(1.0, tube.slope)
    d = np.array([tube.direction / n, tube.direction * tube.slope / n])
    return 1.0 if float(d @ np.array([math.sin(st), math.cos(st)])) < 0 else -1.0


def display_scale(asked_cm_s: float | None, wave: Waveform, sign: float) -> Display:
    """The baseline a quarter up (forward flow toward the probe) or down (away); the top (or
    bottom) at 1.3 x the expected peak, or at the prompt's scale ('scale N cm/s', --scale;
    'aliasing' asks for a low one: prompt/scan.py)."""
    frac = 0.25 if sign > 0 else 0.75
    peak = max(wave.psv(), 1.0)
    limit = asked_cm_s if asked_cm_s is not None else HEADROOM * peak
    limit = max(5.0, 5.0 * math.ceil(limit / 5.0))
    room = 1.0 - frac if sign > 0 else frac  # the share of the height on the flow's side
    return display_for(limit / room / 2.0, frac, SWEEP_S)


def _mm_to_px(fr, x_mm: float, y_mm: float) -> tuple[int, int]:
    col = int(np.argmin(np.abs(fr.x[0] - x_mm)))
    row = int(np.argmin(np.abs(fr.y[:, 0] - y_mm)))
    return row, col


def draw_gate(rgb: np.ndarray, labels: np.ndarray, fr, tube: Tube, steer_deg: float) -> float:
    """The sample volume (two bars across the beam, GATE_FRACTION of the lumen apart, on the
    axis at x = 0), the steered beam line down to it (dotted) and the angle cursor along the
    vessel; returns the gate length in mm."""
    st = math.radians(steer_deg)
    bx, by = math.sin(st), math.cos(st)  # the beam, pointing deeper
    cx, cy = 0.0, tube.y0
    half = GATE_FRACTION * tube.radius
    n = math.hypot(1.0, tube.slope)
    ax, ay = 1.0 / n, tube.slope / n

    def seg(x0, y0, x1, y1, step=0.05, dotted=False):
        k = int(math.hypot(x1 - x0, y1 - y0) / step) + 1
        for i in range(k):
            if dotted and (i * step) % 2.0 > 1.0:
                continue
            r, c = _mm_to_px(
                fr, x0 + (x1 - x0) * i / max(k - 1, 1), y0 + (y1 - y0) * i / max(k - 1, 1)
            )
            if fr.inside[r, c]:
                rgb[r, c] = GATE_RGB
                labels[r, c] = LABEL_IDS["gate"]

    for s in (-1.0, 1.0):  # the gate's two bars, across the beam
        gx, gy = cx + s * half * bx, cy + s * half * by
        seg(gx - 1.2 * by, gy + 1.2 * bx, gx + 1.2 * by, gy - 1.2 * bx)
    seg(cx - (cy - 0.5) * bx / by, 0.5, cx - half * bx, cy - half * by, dotted=True)
    seg(
        cx - 2.2 * tube.radius * ax,
        cy - 2.2 * tube.radius * ay,
        cx - 1.2 * tube.radius * ax,
        cy - 1.2 * tube.radius * ay,
    )
    seg(
        cx + 1.2 * tube.radius * ax,
        cy + 1.2 * tube.radius * ay,
        cx + 2.2 * tube.radius * ax,
        cy + 2.2 * tube.radius * ay,
    )
    return 2 * half


def colour_box(
    rgb: np.ndarray, fr, plane, tube: Tube, steer_deg: float, rng: np.random.Generator
) -> None:
    """Triplex: colour Doppler in a steered box round the gate (both lumens), on the same
    beam angle as the trace, scale +/- COLOUR_SCALE cm/s."""
    vx, vy = plane.flow(fr.x, fr.y)
    v, toward = doppler_velocity(vx, vy, steer_deg, COLOUR_SCALE, rng)
    ids = _plane_labels(plane)
    lumen = np.isin(
        fr.labels,
        [ids[k] for k in ("carotid_artery", "jugular_vein", "artery", "vein") if k in ids],
    )
    tan = np.float32(math.tan(math.radians(steer_deg)))
    box = (np.abs(fr.x - (fr.y - np.float32(tube.y0)) * tan) <= 10.0) & (
        np.abs(fr.y - np.float32(tube.y0)) <= 11.0
    )
    show = lumen & box & (np.abs(toward) >= 0.1 * COLOUR_SCALE)
    rgb[show] = colour_map(v, COLOUR_SCALE)[show]


def _axis(rgb, labels, disp: Display, top: int, rows: int, c0: int, c1: int) -> int:
    """The baseline (faint, below the envelope threshold) and velocity ticks every 10 or 20
    cm/s at the right of the trace; returns the baseline row."""
    base = top + round(disp.top / disp.span * rows)
    rgb[base, c0:c1] = 45
    labels[base, c0:c1] = LABEL_IDS["baseline"]
    step = 10.0 if disp.span <= 120 else 20.0
    v = math.ceil(disp.bottom / step) * step
    while v <= disp.top:
        r = top + round((disp.top - v) / disp.span * rows)
        if top <= r < top + rows:
            w = 5 if v == 0 else 3
            rgb[r, c1 + 2 : c1 + 2 + w] = 200
            labels[r, c1 + 2 : c1 + 2 + w] = LABEL_IDS["baseline"]
        v += step
    return base


def spectral_sentence(vessel: str, m: dict[str, float], disp: Display, sign: float) -> str:
    side = "above" if sign > 0 else "below"
    way = "toward" if sign > 0 else "away from"
    if m.get("aliasing"):
        limit = disp.top if sign > 0 else -disp.bottom
        return (
            f"{vessel.capitalize()}: the peaks exceed the {limit:.0f} cm/s scale and wrap "
            "round to the other edge of the display (aliasing); the peak "
            "velocity cannot be read at this scale: raise the scale (PRF) or move the "
            "baseline."
        )
    psv = m.get("psv_cm_s", 0.0)
    text = f"{vessel.capitalize()}: flow {way} the probe, {side} the baseline; "
    if "vein" in vessel:
        return text + (f"continuous phasic venous flow, peak {m.get('psv_cm_s', 0):.0f} cm/s.")
    if "carotid" in vessel:
        edv = m.get("edv_cm_s", 0.0)
        ri = (psv - edv) / psv if psv > 0 else 0.0
        return text + (
            f"PSV {psv:.0f} cm/s, EDV {edv:.0f} cm/s (resistive index {ri:.2f}): a "
            "sharp systolic peak with forward flow through diastole, a "
            "low-resistance waveform."
        )
    rev = m.get("reverse_peak_cm_s")
    text += f"PSV {psv:.0f} cm/s"
    if rev is not None:
        text += (
            f", a brief reversal to {rev:.0f} cm/s in early diastole on the other side of "
            "the baseline, then a small forward wave: a normal triphasic waveform"
        )
    return text + "."


def spectral_render(request: RenderRequest, progress: ProgressFn = _no_progress) -> RenderResult:
    """The B-mode with the gate above, the spectral display below, one image."""
    spec = request.spec
    text = (spec.prompt or "").lower()
    rng = np.random.default_rng([request.seed, 16])
    plane, tube, wave, steer, vessel = _vessel_plane(request, rng)
    probe = with_settings(Probe(
        kind="linear",
        freq_mhz=7.5,
        depth_mm=40.0,
        focus_mm=round(tube.y0),
        aperture_mm=10.0,
        width_mm=40.0,
        cycles=2.5,
        lines=160,
        sample_mm=0.08,
    ), spec.us)
    w, h = request.width, request.height
    top_h = round(h * TOP_FRACTION)
    progress(0.1, "B-mode")
    fr = frame_of(plane, probe, request.seed, w, top_h)
    rgb = np.zeros((h, w, 3), np.uint8)
    labels = np.zeros((h, w), np.uint8)
    rgb[:top_h] = fr.pixels[..., None]
    labels[:top_h] = fr.labels
    triplex = any(w in text for w in ("colour", "color", "triplex"))
    if triplex:
        colour_box(rgb[:top_h], fr, plane, tube, steer, np.random.default_rng([request.seed, 19]))
    gate_mm = draw_gate(rgb[:top_h], labels[:top_h], fr, tube, steer)
    progress(0.6, "spectrum")
    sign = toward_sign(tube, steer)
    disp = display_scale(spec.us.scale_cm_s if spec.us is not None else None, wave, sign)
    p_top, p_rows = top_h + 4, h - top_h - 8
    c0, c1 = round(0.03 * w), round(0.9 * w)
    panel = spectrum(wave, sign, disp, c1 - c0, p_rows, np.random.default_rng([request.seed, 22]))
    rgb[p_top : p_top + p_rows, c0:c1] = panel[..., None]
    labels[p_top : p_top + p_rows, c0:c1] = LABEL_IDS["spectral_display"]
    base = _axis(rgb, labels, disp, p_top, p_rows, c0, c1)
    # the key reads the trace from the written panel (the baseline drawn below threshold)
    m = read_trace(rgb[p_top : p_top + p_rows, c0:c1, 0], disp, wave.period_s, sign)
    m |= {
        "flow_model_psv_cm_s": round(wave.psv(), 1),
        "flow_model_edv_cm_s": round(wave.edv(), 1),
        "insonation_deg": round(insonation_deg(steer, tube.slope), 1),
        "gate_mm": round(gate_mm, 1),
    }
    if wave.kind != "carotid":  # no end-diastolic velocity to speak of in these traces
        m.pop("edv_cm_s", None)
        m.pop("flow_model_edv_cm_s", None)
    text_key = spectral_sentence(vessel, m, disp, sign)
    # the Nyquist limit is a Doppler shift: c PRF / (4 f0) = scale x cos(angle)
    freq = probe.freq_mhz
    prf = prf_hz(disp.span / 2 * math.cos(math.radians(m["insonation_deg"])), freq)
    names = {v: k for k, v in {**_plane_labels(plane), **LABEL_IDS}.items()}
    present = {int(i): names.get(int(i), "structure") for i in np.unique(labels) if i}
    lumen_name = (
        "carotid_artery"
        if "carotid" in vessel
        else "jugular_vein"
        if "jugular" in vessel
        else "vein"
        if "vein" in vessel
        else "artery"
    )
    lumen_id = _plane_labels(plane)[lumen_name]
    lumen = fr.labels == lumen_id
    res = FindingResult(
        "spectral_doppler",
        lumen_id,
        mask_bbox(lumen),
        None,
        vessel.replace(" ", "_"),
        text_key,
        m,
    )
    head = (
        ("Triplex (colour and spectral) Doppler" if triplex else "Spectral Doppler")
        + f" of the {vessel}, longitudinal, linear {freq:g} MHz; cranial on "
        f"the image left. Sample volume {gate_mm:.1f} mm mid-lumen, beam steered "
        f"{abs(steer):g} degrees, angle of insonation {m['insonation_deg']:.0f} degrees "
        f"(angle-corrected), scale +{disp.top:.0f} / {disp.bottom:.0f} cm/s (PRF "
        f"{prf / 1000:.1f} kHz), sweep {SWEEP_S:g} s. "
    )
    tags = {
        "modality": "US",
        "engine": "phantom",
        "region": spec.region or "leg_veins",
        "view": "spectral_doppler",
        "probe": "linear",
        "frequency_mhz": f"{freq:g}",
        "doppler": "spectral",
        "steer_deg": f"{steer:g}",
        "flow_toward_probe": "yes" if sign > 0 else "no",
        "spectrum_top_row": str(p_top),
        "spectrum_rows": str(p_rows),
        "spectrum_left_col": str(c0),
        "spectrum_right_col": str(c1),
        "baseline_row": str(base),
        "velocity_top_cm_s": f"{disp.top:g}",
        "velocity_bottom_cm_s": f"{disp.bottom:g}",
        "sweep_s": f"{SWEEP_S:g}",
        "sex": plane.sex,
        "age": str(plane.age),
    }
    progress(1.0, "done")
    return RenderResult(
        pixels=rgb,
        label_map=labels,
        labels=present,
        findings=[res],
        pixel_spacing_mm=(fr.px, fr.px),
        answer_key=head + text_key,
        tags=tags,
    )


def _plane_labels(plane) -> dict[str, int]:
    from imagine_med.engine.phantom.regions.vessels_us import anatomy, leg

    return anatomy.LABELS if hasattr(plane, "carotid") else leg.LABELS


__all__ = ["spectral_render", "toward_sign"]
