"""The phantom engine's ultrasound renderer: abdominal B-mode from a seeded scan plane.

Steps per variant: build the plane (regions/abdomen_us) -> sample tissue fractions on the beam
grid -> B-mode physics along the lines (physics/ultrasound.py) -> scan conversion to the
sector -> labels on the display grid (plus the shadow the physics made) -> depth scale, focus
and probe marks -> measure -> key.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.phantom.model import AGE_OF_GROUP
from imagine_med.engine.phantom.physics.ultrasound import (
    BMode,
    Probe,
    behind,
    bmode,
    colour_map,
    doppler_velocity,
    prf_hz,
    scan_convert,
)
from imagine_med.engine.phantom.regions.abdomen_us import findings as us_findings
from imagine_med.engine.phantom.regions.abdomen_us.anatomy import LABELS, AbdomenPlane, build_plane
from imagine_med.engine.phantom.regions.base import Grid
from imagine_med.engine.phantom.regions.vessels_us.anatomy import LABELS as NECK_LABELS
from imagine_med.engine.phantom.regions.vessels_us.anatomy import NeckPlane, build_neck
from imagine_med.engine.phantom.renderer_base import PhantomRenderer

REGIONS = ("gallbladder", "liver", "kidney", "abdomen", "ruq", "spleen", "carotid")
STEER_DEG = 20.0  # the colour box is steered so the beam meets the carotid's flow at 70 deg
LEFT_WORDS = ("luq", "left upper quadrant", "splenorenal", "spleen", "perisplenic")
SHADOW_DB = 6.0  # one-way excess loss behind a stone that counts as shadow in the label map


@dataclass
class Frame:
    """Everything one variant computed (the test hook): the plane, the probe, the beam-grid
    B-mode (envelope before log compression), the beam-grid labels, the display grid."""

    plane: AbdomenPlane | NeckPlane
    probe: Probe
    beam: BMode
    beam_labels: np.ndarray
    x: np.ndarray
    y: np.ndarray
    px: float
    pixels: np.ndarray
    labels: np.ndarray
    inside: np.ndarray


def view_of(spec) -> str:
    if spec.region == "carotid":
        return "carotid"
    text = (spec.prompt or "").lower().replace("'", " ")
    locs = " ".join(f.location or "" for f in spec.findings)
    if spec.region == "spleen" or any(w in text or w in locs for w in LEFT_WORDS):
        return "luq"
    return "ruq"


def probe_for(spec) -> Probe:
    """Curvilinear 3.5 MHz, 16 cm deep, focus 7 cm; '5 MHz' or 'depth 12 cm' in the prompt set
    them (2-6 MHz, 8-24 cm)."""
    text = (spec.prompt or "").lower()
    f = re.search(r"(\d+(?:\.\d+)?)\s*mhz", text)
    d = re.search(r"depth\s*(\d+(?:\.\d+)?)\s*cm", text)
    if spec.region == "thyroid":  # linear 10 MHz (7-15), 4 cm deep, both lobes in 50 mm
        freq = float(np.clip(float(f.group(1)), 7.0, 15.0)) if f else 10.0
        return Probe(kind="linear", freq_mhz=freq, depth_mm=40.0, focus_mm=18.0,
                     aperture_mm=12.0, width_mm=54.0, cycles=2.5, lines=256, sample_mm=0.07)
    if spec.region == "pelvis":  # curvilinear 3.5 MHz, 14 cm deep, focus 8 cm
        freq = float(np.clip(float(f.group(1)), 2.0, 6.0)) if f else 3.5
        depth = float(np.clip(float(d.group(1)) * 10, 80.0, 240.0)) if d else 140.0
        return Probe(freq_mhz=freq, depth_mm=depth, focus_mm=min(80.0, depth * 0.6))
    if view_of(spec) == "carotid":  # linear 7.5 MHz (5-15), 4 cm deep, focus 2 cm
        freq = float(np.clip(float(f.group(1)), 5.0, 15.0)) if f else 7.5
        return Probe(kind="linear", freq_mhz=freq, depth_mm=40.0, focus_mm=20.0,
                     aperture_mm=10.0, width_mm=40.0, cycles=2.5, lines=192, sample_mm=0.08)
    freq = float(np.clip(float(f.group(1)), 2.0, 6.0)) if f else 3.5
    depth = float(np.clip(float(d.group(1)) * 10, 80.0, 240.0)) if d else 160.0
    return Probe(freq_mhz=freq, depth_mm=depth, focus_mm=min(70.0, depth * 0.55))


def display_grid(probe: Probe, width: int, height: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Pixel centres in probe mm: the field centred, 5% margin above, room for the scale."""
    hw, top, bottom = probe.extent_mm()
    px = max(2 * hw / (width * 0.90), (bottom - top) / (height * 0.92))
    cols = (np.arange(width, dtype=np.float32) - width / 2 + 0.5) * np.float32(px)
    rows = np.float32(top) + (np.arange(height, dtype=np.float32) - height * 0.04) * np.float32(px)
    x, y = np.meshgrid(cols, rows)
    return x, y, float(px)


def beam_label_map(plane: AbdomenPlane, grid: Grid) -> np.ndarray:
    return plane.sample(grid).label_map()


def frame_of(plane, probe: Probe, seed: int, width: int, height: int,
             progress: ProgressFn = no_progress) -> Frame:
    """One plane through one probe: the beam-grid B-mode, scan-converted to width x height,
    with its labels as the beam saw them."""
    grid = probe.beam_grid()
    progress(0.2, "beam")
    sample = plane.sample(grid)
    beam = bmode(sample, probe, np.random.default_rng([seed, 18]))
    beam_labels = sample.label_map()
    progress(0.6, "scan conversion")
    x, y, px = display_grid(probe, width, height)
    grey, inside = scan_convert(beam.grey, probe, x, y)
    pixels = np.round(grey * 255).astype(np.uint8)
    # labels as the beam saw them (nearest beam sample): the label map and the physics
    # share one sampling of the plane
    labels, _ = scan_convert(beam_labels, probe, x, y, order=0)
    stone = beam_labels == LABELS["stone"]
    if isinstance(plane, AbdomenPlane) and stone.any():
        sh = behind(stone) & (beam.excess_loss_db > SHADOW_DB)
        shadow, _ = scan_convert(sh.astype(np.uint8), probe, x, y, order=0)
        labels[(shadow > 0) & (labels != LABELS["stone"])] = LABELS["shadow"]
    labels[~inside] = 0
    return Frame(plane, probe, beam, beam_labels, x, y, px, pixels, labels, inside)


class PhantomUltrasound(PhantomRenderer):
    """Abdominal B-mode: right upper quadrant (liver, gallbladder, right kidney, Morison's
    pouch) and left upper quadrant (spleen, left kidney) with a curvilinear probe."""

    modality = "us"

    def build(self, request: RenderRequest) -> AbdomenPlane | NeckPlane:
        spec = request.spec
        if spec.region is not None and spec.region not in REGIONS:
            raise EngineError("This phantom renderer draws abdominal ultrasound (right or left "
                              f"upper quadrant) only; it has no {spec.region.replace('_', ' ')} "
                              "model.")
        rng = np.random.default_rng([request.seed, 16])
        if view_of(spec) == "carotid":
            neck = build_neck(rng, spec.age or 50, spec.sex or "female")
            for f in spec.findings:
                if f.name != "venous_thrombosis":
                    raise EngineError("The neck vessel view draws normal flow and jugular vein "
                                      f"thrombosis only; not {f.name.replace('_', ' ')}.")
                neck.findings.append(neck.thrombose())
            return neck
        lo, hi = AGE_OF_GROUP.get(spec.age_group or "adult", (25, 64))
        age_draw = round(rng.uniform(lo, hi + 0.999))
        sex = spec.sex or ("female" if rng.uniform() < 0.5 else "male")
        age = spec.age if spec.age is not None else age_draw
        plane = build_plane(rng, view_of(spec), age, sex)
        frng = np.random.default_rng([request.seed, 17])
        for f in spec.findings:
            plane.findings.append(us_findings.place(plane, f, frng, spec.prompt or "",
                                                    spec.region))
        return plane

    def probe(self, request: RenderRequest, plane) -> Probe:
        """The transducer and its settings for this plane (the prompt's, else the view's)."""
        return probe_for(request.spec)

    def frame(self, request: RenderRequest, progress: ProgressFn = no_progress) -> Frame:
        progress(0.05, "anatomy")
        plane = self.build(request)
        probe = self.probe(request, plane)
        return frame_of(plane, probe, request.seed, request.width, request.height, progress)


    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        if spec.region == "carotid" and any(w in (spec.prompt or "").lower() for w in (
                "spectral", "waveform", "pulsed wave", "pw doppler", "psv", "peak systolic")):
            from imagine_med.engine.phantom.renderer_us_spectral import spectral_render

            return spectral_render(request, progress)
        if spec.region != "pelvis" and any(f.location == "pouch_of_douglas"
                                           for f in spec.findings):
            # the pelvic view of a FAST scan is the pelvis renderer's plane
            from imagine_med.engine.phantom.renderer_us_pelvis import pelvis_us_renderer

            pelvic = dataclasses.replace(request, spec=spec.model_copy(
                update={"region": "pelvis"}))
            return pelvis_us_renderer().render(pelvic, progress)
        fr = self.frame(request, progress)
        if isinstance(fr.plane, NeckPlane):
            return self._doppler(request, fr)
        pixels, labels = fr.pixels, fr.labels
        _marks(pixels, labels, fr)
        dr = fr.probe.dynamic_range_db
        results, sentences = [], []
        for p in fr.plane.findings:
            present, m, bbox = us_findings.measure(p, labels, pixels, fr.px, dr)
            text = us_findings.sentence(p, present, m)
            sentences.append(text)
            lab_name = {"gallstones": "stone", "renal_stone": "stone",
                        "cholecystitis": "gallbladder_wall"}.get(
                p.name, p.name)
            results.append(FindingResult(p.name, LABELS[lab_name],
                                         bbox, p.side, p.location, text, m))
        names = {v: k for k, v in LABELS.items()}
        present_labels = {int(i): names[int(i)] for i in np.unique(labels) if i}
        view = "left upper quadrant" if fr.plane.view == "luq" else "right upper quadrant"
        head = (f"Ultrasound, {view}, curvilinear {fr.probe.freq_mhz:g} MHz, depth "
                f"{fr.probe.depth_mm / 10:g} cm ({fr.plane.age}-year-old {fr.plane.sex}). ")
        key = head + " ".join([*sentences, _normal(fr, labels)])
        progress(1.0, "done")
        tags = {"modality": "US", "engine": "phantom", "region": fr.plane.view,
                "view": fr.plane.view, "probe": fr.probe.kind,
                "frequency_mhz": f"{fr.probe.freq_mhz:g}", "depth_mm": f"{fr.probe.depth_mm:g}",
                "focus_mm": f"{fr.probe.focus_mm:g}", "dynamic_range_db": f"{dr:g}",
                "gain_db": f"{fr.probe.gain_db:g}", "sex": fr.plane.sex,
                "age": str(fr.plane.age)}
        return RenderResult(pixels=pixels, label_map=labels, labels=present_labels,
                            findings=results, pixel_spacing_mm=(fr.px, fr.px), answer_key=key,
                            tags=tags)


    def _doppler(self, request: RenderRequest, fr: Frame) -> RenderResult:
        """Colour Doppler over the B-mode: the flow model's velocity along the steered beam,
        wrapped at the scale, shown inside the lumens within the colour box."""
        spec, plane = request.spec, fr.plane
        assert isinstance(plane, NeckPlane)
        text = (spec.prompt or "").lower()
        m = re.search(r"scale\s*(\d+(?:\.\d+)?)\s*cm", text)
        scale = float(np.clip(float(m.group(1)), 2.0, 150.0)) if m else (
            10.0 if "alias" in text else 30.0)
        pixels, labels = fr.pixels, fr.labels
        _marks(pixels, labels, fr)
        vx, vy = plane.flow(fr.x, fr.y)
        v, toward = doppler_velocity(vx, vy, STEER_DEG, scale,
                                     np.random.default_rng([request.seed, 19]))
        lumen = np.isin(labels, [NECK_LABELS["carotid_artery"], NECK_LABELS["jugular_vein"]])
        box = np.abs(fr.x - fr.y * np.float32(np.tan(np.radians(STEER_DEG))) + 3.0) <= 15.0
        box &= (fr.y >= 4.0) & (fr.y <= 36.0)
        show = lumen & box & (np.abs(toward) >= 0.1 * scale)
        rgb = np.repeat(pixels[..., None], 3, axis=2)
        rgb[show] = colour_map(v, scale)[show]
        _colour_bar(rgb, labels, fr)
        results, sentences = [], []
        vein = "thrombus" if plane.thrombosed else "jugular_vein"
        for name, label in (("carotid_artery", "carotid_artery"), ("jugular_vein", vein)):
            meas = doppler_measure(rgb, labels == NECK_LABELS[label], scale)
            if label == "thrombus":
                meas.update(thrombus_measure(labels == NECK_LABELS[label], pixels, fr.px))
                name = "venous_thrombosis"
            sentences.append(doppler_sentence(name, meas, scale))
            ys, xs = np.nonzero(labels == NECK_LABELS[label])
            bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
                if len(xs) else None
            results.append(FindingResult(name, NECK_LABELS[label], bbox, None, None,
                                         sentences[-1], meas))
        names = {i: k for k, i in NECK_LABELS.items()}
        present_labels = {int(i): names[int(i)] for i in np.unique(labels) if i}
        key = (f"Colour Doppler of the common carotid artery, longitudinal, linear "
               f"{fr.probe.freq_mhz:g} MHz, colour box steered {STEER_DEG:g} degrees, scale "
               f"+/-{scale:g} cm/s (PRF {prf_hz(scale, fr.probe.freq_mhz) / 1000:.1f} kHz); "
               f"cranial on the image left. " + " ".join(sentences))
        tags = {"modality": "US", "engine": "phantom", "region": "carotid", "view": "carotid",
                "probe": "linear", "frequency_mhz": f"{fr.probe.freq_mhz:g}",
                "depth_mm": f"{fr.probe.depth_mm:g}", "focus_mm": f"{fr.probe.focus_mm:g}",
                "dynamic_range_db": f"{fr.probe.dynamic_range_db:g}", "doppler": "colour",
                "doppler_scale_cm_s": f"{scale:g}", "steer_deg": f"{STEER_DEG:g}",
                "prf_hz": f"{prf_hz(scale, fr.probe.freq_mhz):.0f}",
                "sex": plane.sex, "age": str(plane.age)}
        return RenderResult(pixels=rgb, label_map=labels, labels=present_labels,
                            findings=results, pixel_spacing_mm=(fr.px, fr.px), answer_key=key,
                            tags=tags)


def doppler_measure(rgb: np.ndarray, lumen: np.ndarray, scale: float) -> dict[str, float]:
    """From the output colours: the share of the lumen coloured; the direction read where the
    flow is slow and never aliases (the outer quarter of the lumen, by the wall), as a
    sonographer reads it; and the share of the central half whose colour is the other sign
    (aliasing)."""
    from scipy import ndimage

    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    coloured = lumen & ((r != g) | (b != g))
    red, blue = coloured & (r > b), coloured & (b > r)
    out = {"coloured_percent": round(100.0 * coloured.sum() / max(1, lumen.sum()), 1)}
    if not coloured.any():
        return out
    dist = ndimage.distance_transform_edt(lumen)
    rim, core = dist <= 0.25 * dist.max(), dist >= 0.5 * dist.max()
    out["toward_percent"] = round(100.0 * (red & rim).sum() / max(1, (coloured & rim).sum()),
                                  1)
    other = blue if out["toward_percent"] >= 50 else red
    out["aliased_core_percent"] = round(
        100.0 * (other & core).sum() / max(1, (coloured & core).sum()), 1)
    return out


def thrombus_measure(mask: np.ndarray, grey: np.ndarray, px: float) -> dict[str, float]:
    """The thrombosed vein's calibre (twice the largest inscribed radius) and its echoes."""
    from scipy import ndimage

    if not mask.any():
        return {}
    inner = ndimage.binary_erosion(mask, iterations=2)
    return {"diameter_mm": round(float(ndimage.distance_transform_edt(mask).max()) * 2 * px, 1),
            "mean_grey": round(float(grey[inner if inner.any() else mask].mean()), 1)}


def doppler_sentence(name: str, m: dict[str, float], scale: float) -> str:
    if name == "venous_thrombosis":
        if "diameter_mm" not in m:
            return "The requested jugular thrombus is not in this plane."
        return (f"Internal jugular vein: distended to {m['diameter_mm']:.0f} mm and filled with "
                f"low-level echoes, with {'no' if m['coloured_percent'] < 5 else 'little'} "
                "colour flow: occlusive acute thrombosis (the vein would not compress).")
    what = "Common carotid artery" if name == "carotid_artery" else "Internal jugular vein"
    if m["coloured_percent"] < 5:
        return f"{what}: no colour flow at this scale."
    toward = m["toward_percent"] >= 50
    head = "toward the head" if name == "carotid_artery" else "toward the heart"
    colour = "red, toward the probe" if toward else "blue, away from the probe"
    txt = f"{what}: flow {head} ({colour}) filling {m['coloured_percent']:.0f}% of the lumen"
    if m.get("aliased_core_percent", 0) > 20:
        txt += (f"; aliasing in the centre of the stream ({m['aliased_core_percent']:.0f}% "
                f"wraps to the opposite colour): the velocity exceeds the +/-{scale:g} cm/s "
                "scale")
    return txt + "."


def _colour_bar(rgb: np.ndarray, labels: np.ndarray, fr: Frame) -> None:
    """The colour scale at the left edge, outside the field: red (toward) above, blue below."""
    h, _w = labels.shape
    rows = np.arange(int(h * 0.08), int(h * 0.40))
    c0, c1 = 2, max(5, rgb.shape[1] // 64)
    if (fr.inside[:, :c1 + 1]).any():
        return
    v = np.linspace(1.0, -1.0, len(rows), dtype=np.float32)
    bar = colour_map(v, 1.0)
    rgb[rows, c0:c1] = bar[:, None, :]
    labels[rows, c0:c1] = NECK_LABELS["annotation"]


def _normal(fr: Frame, labels: np.ndarray) -> str:
    """What the rest of the frame shows, measured: the kidney's length, the gallbladder."""
    kid = np.isin(labels, [LABELS["kidney_cortex"], LABELS["kidney_medulla"],
                           LABELS["renal_sinus"]])
    bits = []
    side = "left" if fr.plane.view == "luq" else "right"
    if kid.sum() > 20:
        ys, xs = np.nonzero(kid)
        pts = np.stack([xs, ys], 1).astype(np.float64)
        pts -= pts.mean(0)
        axis = np.linalg.svd(pts, full_matrices=False)[2][0]
        length = float(np.ptp(pts @ axis)) * fr.px
        bits.append(f"The {side} kidney measures {length:.0f} mm in this plane with preserved "
                    "corticomedullary differentiation and an echogenic central sinus.")
    names = {p.name for p in fr.plane.findings}
    if (labels == LABELS["gallbladder"]).any() and "gallstones" not in names:
        bits.append("The gallbladder is thin-walled with anechoic bile and no stones.")
    if "free_fluid" not in names:
        bits.append("No free fluid in the " + ("splenorenal space." if side == "left" else
                                                  "hepatorenal space (Morison's pouch)."))
    return " ".join(bits)


def _marks(pixels: np.ndarray, labels: np.ndarray, fr: Frame) -> None:
    """Depth scale (a dot each cm, a bar each 5 cm) and the focus marker at the right edge,
    and the probe's orientation mark at the top left of the field: labelled, never inside the
    field."""
    h, w = pixels.shape
    col = w - max(4, w // 40)
    for cm in range(0, int(fr.probe.depth_mm // 10) + 1):
        yy = fr.y[:, 0]
        row = int(np.argmin(np.abs(yy - cm * 10.0)))
        half = 3 if cm % 5 == 0 else 1
        sl = (slice(max(0, row - 1), row + 1), slice(col - half, col + 1))
        pixels[sl] = 200
        labels[sl] = LABELS["annotation"]
    row = int(np.argmin(np.abs(fr.y[:, 0] - fr.probe.focus_mm)))
    for k in range(4):
        sl = (slice(max(0, row - 3 + k), row + 4 - k), col - 6 - k)
        pixels[sl] = 230
        labels[sl] = LABELS["annotation"]
    ys, xs = np.nonzero(fr.inside)
    if len(ys):
        top = ys.min()
        left = xs[ys == top].min()
        r0, c0 = max(0, top - 2), max(0, left - 10)
        for dy in range(3):
            for dx in range(3):
                rr, cc = r0 + dy - 1, c0 + dx
                if 0 <= rr < h and 0 <= cc < w and not fr.inside[rr, cc]:
                    pixels[rr, cc] = 255
                    labels[rr, cc] = LABELS["side_marker"]


def us_renderer() -> PhantomUltrasound:
    return PhantomUltrasound()
