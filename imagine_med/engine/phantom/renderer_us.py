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
from imagine_med.engine.phantom.physics.us_settings import settings_note, with_settings
from imagine_med.engine.phantom.regions.abdomen_us import artefacts as us_artefacts
from imagine_med.engine.phantom.regions.abdomen_us import findings as us_findings
from imagine_med.engine.phantom.regions.abdomen_us.anatomy import LABELS, AbdomenPlane, build_plane
from imagine_med.engine.phantom.regions.base import Grid
from imagine_med.engine.phantom.regions.vessels_us.anatomy import LABELS as NECK_LABELS
from imagine_med.engine.phantom.regions.vessels_us.anatomy import NeckPlane, build_neck
from imagine_med.engine.phantom.renderer_base import PhantomRenderer

REGIONS = ("gallbladder", "liver", "kidney", "abdomen", "ruq", "spleen", "carotid", "heart")
DEFAULT_SCALE_CM_S = 30.0  # colour Doppler scale of a carotid preset
STEER_DEG = 20.0  # the colour box is steered so the beam meets the carotid's flow at 70 deg
LEFT_WORDS = ("luq", "left upper quadrant", "splenorenal", "spleen", "perisplenic")
# the phased (cardiac) probe: named, or implied by a cardiac window
PHASED_WORDS = re.compile(r"\b(phased|phased array|cardiac probe|echo|echocardiogra\w*|"
                          r"subxiphoid|sub xiphoid|subcostal|sub costal)\b")
CARDIAC_WORDS = re.compile(r"\b(subxiphoid|sub xiphoid|subcostal|sub costal|pericardial|"
                           r"pericardium|cardiac view|four chamber|4 chamber)\b")
# a FAST scan with no space named: its four views, one per variant
FAST_WORDS = re.compile(r"\b(e ?)?fast\b")
FAST_VIEWS = ("ruq", "luq", "pelvis", "pericardial")
FAST_FLUIDS = ("free_fluid", "ascites", "pericardial_effusion")
VIEW_WORDS = re.compile(r"\b(ruq|luq|right upper quadrant|left upper quadrant|morison|"
                        r"hepatorenal|splenorenal|perisplenic|pelvic view|pelvis view|douglas|"
                        r"subxiphoid|subcostal|pericardial view)")
ARTEFACTS = ("reverberation", "comet_tail", "side_lobe", "edge_shadow")
SHADOW_DB = 6.0  # one-way excess loss behind a stone that counts as shadow in the label map
CINE_FRAME_MS = 50.0  # 20 frames a second: an abdominal B-mode frame rate
CINE_SLIDE_MM = 2.0  # the probe's lateral slide over the clip


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
    artefacts: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def view_of(spec) -> str:
    if spec.region == "carotid":
        return "carotid"
    if spec.view in ("ruq", "luq", "pericardial"):  # set per variant by a FAST survey
        return spec.view
    text = (spec.prompt or "").lower().replace("'", " ")
    if spec.region == "heart" or any(f.name == "pericardial_effusion" for f in spec.findings) \
            or (CARDIAC_WORDS.search(text) and spec.region in (None, "abdomen", "heart")):
        return "pericardial"
    locs = " ".join(f.location or "" for f in spec.findings)
    if spec.region == "spleen" or any(w in text or w in locs for w in LEFT_WORDS):
        return "luq"
    return "ruq"


def probe_for(spec) -> Probe:
    """The view's transducer at its preset: curvilinear 3.5 MHz 16 cm for the abdomen (14 cm
    for the pelvis), linear 10 MHz 4 cm for the thyroid and 7.5 MHz 4 cm for the carotid,
    phased 2.5 MHz 16 cm for the heart. The prompt's settings (spec.us) are applied after,
    within the probe's range (physics/us_settings.py)."""
    text = (spec.prompt or "").lower()
    if spec.region == "thyroid":  # both lobes in 50 mm
        return Probe(kind="linear", freq_mhz=10.0, depth_mm=40.0, focus_mm=18.0,
                     aperture_mm=12.0, width_mm=54.0, cycles=2.5, lines=256, sample_mm=0.07)
    if spec.region == "pelvis":
        return Probe(freq_mhz=3.5, depth_mm=140.0, focus_mm=80.0)
    if view_of(spec) == "carotid":  # focus 2 cm
        return Probe(kind="linear", freq_mhz=7.5, depth_mm=40.0, focus_mm=20.0,
                     aperture_mm=10.0, width_mm=40.0, cycles=2.5, lines=192, sample_mm=0.08)
    if view_of(spec) == "pericardial" or PHASED_WORDS.search(text):
        return phased_probe()
    return Probe(freq_mhz=3.5, depth_mm=160.0, focus_mm=70.0)


def phased_probe() -> Probe:
    """Phased array (cardiac): a ~20 mm footprint, the sector's apex at the skin, 90 degrees,
    2.5 MHz, 16 cm deep, focus at half the depth."""
    return Probe(kind="phased", freq_mhz=2.5, depth_mm=160.0, focus_mm=80.0, aperture_mm=18.0,
                 radius_mm=0.0, sector_deg=90.0, cycles=2.5, lines=192)


PROBE_NAMES = {"curvilinear": "curvilinear", "linear": "linear", "phased": "phased-array"}


def probe_tags(probe: Probe, width: int, height: int) -> dict[str, str]:
    """The field's geometry, so a reader of the files can redraw the sector: its angle, the
    apex behind the face (0 for a phased array) and where the apex lies in pixels (column,
    row; the middle of the probe face for a linear probe)."""
    _hw, top, _bottom = probe.extent_mm()
    px = display_px(probe, width, height)
    linear = probe.kind == "linear"
    apex_row = height * 0.04 + (-(0.0 if linear else probe.radius_mm) - top) / px
    return {"sector_deg": "0" if linear else f"{probe.sector_deg:g}",
            "apex_behind_face_mm": "0" if linear else f"{probe.radius_mm:g}",
            "apex_px": f"{width / 2 - 0.5:.3f},{apex_row:.3f}"}


def scan_tags(probe: Probe, region: str, view: str, sex: str, age: int) -> dict[str, str]:
    """The tags every ultrasound image carries: what was scanned and with which settings (the
    DICOM writer reads the frequency; a reader of case.json sees what the scanner was set to)."""
    return {"modality": "US", "engine": "phantom", "region": region, "view": view,
            "probe": probe.kind, "frequency_mhz": f"{probe.freq_mhz:g}",
            "depth_mm": f"{probe.depth_mm:g}", "focus_mm": f"{probe.focus_mm:g}",
            "dynamic_range_db": f"{probe.dynamic_range_db:g}", "gain_db": f"{probe.gain_db:g}",
            "sex": sex, "age": str(age)}


def artefact_options(spec) -> set[str]:
    """Artefacts the prompt asks for ("with reverberation", "comet tail", "side lobes",
    "edge shadows"): the modifiers its words carry, attached to a finding or not."""
    from imagine_med.prompt.lexer import lex

    found = {m for f in spec.findings for m in f.modifiers}
    for m in lex(spec.prompt or "").matches:
        found |= {str(v) for name, v in m.facts if name == "modifier"}
    return found & set(ARTEFACTS)


def fast_survey(spec) -> bool:
    """'FAST scan' naming no space (and no finding but fluid): the four views."""
    text = (spec.prompt or "").lower().replace("'", " ")
    return (bool(FAST_WORDS.search(text)) and spec.region in (None, "abdomen")
            and spec.view is None and not VIEW_WORDS.search(text)
            and all(f.name in FAST_FLUIDS and not f.location for f in spec.findings))


def one_patient(spec, seed: int):
    """A FAST survey's views are one patient's: age and sex drawn once (from the first
    variant's seed) unless the prompt gives them."""
    rng = np.random.default_rng([seed, 21])
    lo, hi = AGE_OF_GROUP.get(spec.age_group or "adult", (25, 64))
    age = spec.age if spec.age is not None else round(rng.uniform(lo, hi + 0.999))
    sex = spec.sex or ("female" if rng.uniform() < 0.5 else "male")
    return spec.model_copy(update={"age": age, "sex": sex})


def fast_view_spec(spec, view: str):
    """The spec of one FAST view: fluid goes to that view's space (the pericardial view takes
    a pericardial effusion, the others free fluid)."""
    if view == "pericardial":
        keep = tuple(f for f in spec.findings if f.name == "pericardial_effusion")
        return spec.model_copy(update={"region": "heart", "view": "pericardial",
                                       "findings": keep})
    loc = {"ruq": "morison_pouch", "luq": "splenorenal", "pelvis": "pouch_of_douglas"}[view]
    fluid = tuple(f.model_copy(update={"location": loc}) for f in spec.findings
                  if f.name != "pericardial_effusion")
    if view == "pelvis":
        return spec.model_copy(update={"region": "pelvis", "findings": fluid})
    return spec.model_copy(update={"view": view, "findings": fluid})


FIELD_WIDTH = {"curvilinear": 0.90, "linear": 0.90, "phased": 0.86}  # of the image width


def display_px(probe: Probe, width: int, height: int) -> float:
    """mm per pixel: the field's width or depth fills the image, the wider sector of a phased
    array leaving room for the depth scale beside it."""
    hw, top, bottom = probe.extent_mm()
    return max(2 * hw / (width * FIELD_WIDTH[probe.kind]), (bottom - top) / (height * 0.92))


def display_grid(probe: Probe, width: int, height: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Pixel centres in probe mm: the field centred, 5% margin above, room for the scale."""
    _hw, top, _bottom = probe.extent_mm()
    px = display_px(probe, width, height)
    cols = (np.arange(width, dtype=np.float32) - width / 2 + 0.5) * np.float32(px)
    rows = np.float32(top) + (np.arange(height, dtype=np.float32) - height * 0.04) * np.float32(px)
    x, y = np.meshgrid(cols, rows)
    return x, y, float(px)


def beam_label_map(plane: AbdomenPlane, grid: Grid) -> np.ndarray:
    return plane.sample(grid).label_map()


def frame_of(plane, probe: Probe, seed: int, width: int, height: int,
             progress: ProgressFn = no_progress, options: frozenset[str] = frozenset()
             ) -> Frame:
    """One plane through one probe: the beam-grid B-mode, scan-converted to width x height,
    with its labels as the beam saw them; `options` the artefacts asked for (abdomen)."""
    if probe.kind == "phased":  # the wall's layers are arcs round the apex at the skin
        plane.radius_mm = probe.radius_mm
    grid = probe.beam_grid()
    progress(0.2, "beam")
    sample = plane.sample(grid)
    beam_labels = sample.label_map()
    wanted = {}
    if isinstance(plane, AbdomenPlane):
        sources = {"reverberation": beam_labels == LABELS["bowel_gas"],
                   "comet_tail": beam_labels == LABELS["crystal"]}
        wanted = {k: sources.get(k) for k in options}
    beam = bmode(sample, probe, np.random.default_rng([seed, 18]), wanted)
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
    shown = {}
    for name, mask in beam.shows.items():
        m, _ = scan_convert(mask.astype(np.uint8), probe, x, y, order=0)
        shown[name] = (m > 0) & inside
    labels[~inside] = 0
    return Frame(plane, probe, beam, beam_labels, x, y, px, pixels, labels, inside, shown)


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
        opts = artefact_options(spec)
        if opts:  # the reflectors the artefacts need, before findings settle in the plane
            us_artefacts.artefact_scene(plane, opts, np.random.default_rng([request.seed, 20]))
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
        probe = with_settings(self.probe(request, plane), request.spec.us)
        return frame_of(plane, probe, request.seed, request.width, request.height, progress,
                        frozenset(artefact_options(request.spec)))

    def render_batch(self, requests: list[RenderRequest], progress: ProgressFn = no_progress
                     ) -> list[RenderResult]:
        """A FAST survey renders its four views, one per variant (RUQ, LUQ, pelvis,
        pericardium); any other case renders its one view four times."""
        if requests and fast_survey(requests[0].spec):
            spec = one_patient(requests[0].spec, requests[0].seed)
            requests = [dataclasses.replace(r, spec=fast_view_spec(spec, FAST_VIEWS[i % 4]))
                        for i, r in enumerate(requests)]
        return super().render_batch(requests, progress)

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        if spec.region == "carotid" and any(w in (spec.prompt or "").lower() for w in (
                "spectral", "waveform", "pulsed wave", "pw doppler", "psv", "peak systolic")):
            from imagine_med.engine.phantom.renderer_us_spectral import spectral_render

            return spectral_render(request, progress)
        if view_of(spec) == "pericardial" and type(self) is PhantomUltrasound:
            # the pericardial view of a FAST scan is the cardiac renderer's plane
            from imagine_med.engine.phantom.renderer_us_cardiac import cardiac_us_renderer

            return cardiac_us_renderer().render(dataclasses.replace(request, spec=spec.model_copy(
                update={"region": "heart"})), progress)
        if spec.region == "pelvis" and type(self) is PhantomUltrasound:
            from imagine_med.engine.phantom.renderer_us_pelvis import pelvis_us_renderer

            return pelvis_us_renderer().render(request, progress)
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
        masks = us_artefacts.label_artefacts(fr, labels) if fr.artefacts else None
        dr = fr.probe.dynamic_range_db
        results, sentences = [], []
        for p in fr.plane.findings:
            present, m, bbox = us_findings.measure(p, labels, pixels, fr.px, dr)
            text = us_findings.sentence(p, present, m)
            sentences.append(text)
            lab_name = {"gallstones": "stone", "renal_stone": "stone",
                        "cholecystitis": "gallbladder_wall", **us_findings.lesions.LABEL_OF
                        }.get(p.name, p.name)
            results.append(FindingResult(p.name, LABELS[lab_name],
                                         bbox, p.side, p.location, text, m))
        names = {v: k for k, v in LABELS.items()}
        present_labels = {int(i): names[int(i)] for i in np.unique(labels) if i}
        n_frames = spec.us.frames if spec.us is not None and spec.us.frames else 0
        frames = self._cine(request, fr, pixels, n_frames) if n_frames else None
        view = "left upper quadrant" if fr.plane.view == "luq" else "right upper quadrant"
        head = (f"Ultrasound, {view}, {PROBE_NAMES[fr.probe.kind]} {fr.probe.freq_mhz:g} MHz, "
                f"depth {fr.probe.depth_mm / 10:g} cm ({fr.plane.age}-year-old {fr.plane.sex}). ")
        artefact_text, artefact_m = us_artefacts.sentences(fr, labels, pixels,
                                                           artefact_options(spec))
        key = head + " ".join([*sentences, _normal(fr, labels), *artefact_text])
        note = settings_note(fr.probe, spec.us)
        if note:
            key += " " + note
        progress(1.0, "done")
        tags = {**scan_tags(fr.probe, fr.plane.view, fr.plane.view, fr.plane.sex, fr.plane.age),
                **probe_tags(fr.probe, request.width, request.height)}
        for name, m in artefact_m.items():
            tags.update({f"{name}_{k}": f"{v:g}" for k, v in m.items()})
        if frames is not None:
            tags.update(frames=str(len(frames)), frame_time_ms=f"{CINE_FRAME_MS:g}")
            key += (f" Cine: {len(frames)} frames at {1000 / CINE_FRAME_MS:g} per second, the "
                    f"probe sliding +/-{CINE_SLIDE_MM:g} mm; the labels are frame 1's.")
        return RenderResult(pixels=pixels, label_map=labels, labels=present_labels,
                            findings=results, pixel_spacing_mm=(fr.px, fr.px), answer_key=key,
                            tags=tags, masks=masks, frames=frames)

    def _cine(self, request: RenderRequest, fr: Frame, still: np.ndarray, n: int
              ) -> np.ndarray:
        """A short clip: frame 0 is the still; each later frame slides the probe along the
        skin (the plane moves laterally by up to CINE_SLIDE_MM, one slow back-and-forth over
        the clip) and draws fresh speckle and noise, as a real probe's small motions do."""
        assert isinstance(fr.plane, AbdomenPlane)
        grid = fr.probe.beam_grid()
        out = [still]
        for k in range(1, n):
            dx = np.float32(CINE_SLIDE_MM * np.sin(2 * np.pi * k / n))
            moved = dataclasses.replace(grid, x=grid.x + dx)
            beam = bmode(fr.plane.sample(moved), fr.probe,
                         np.random.default_rng([request.seed, 18, k]))
            grey, _ = scan_convert(beam.grey, fr.probe, fr.x, fr.y)
            pix = np.round(grey * 255).astype(np.uint8)
            _marks(pix, np.zeros_like(fr.labels), fr)
            out.append(pix)
        return np.stack(out)

    def _doppler(self, request: RenderRequest, fr: Frame) -> RenderResult:
        """Colour Doppler over the B-mode: the flow model's velocity along the steered beam,
        wrapped at the scale, shown inside the lumens within the colour box."""
        spec, plane = request.spec, fr.plane
        assert isinstance(plane, NeckPlane)
        asked = spec.us.scale_cm_s if spec.us is not None else None
        scale = asked if asked is not None else DEFAULT_SCALE_CM_S
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
        tags = {**scan_tags(fr.probe, "carotid", "carotid", plane.sex, plane.age),
                "doppler": "colour",
                "doppler_scale_cm_s": f"{scale:g}", "steer_deg": f"{STEER_DEG:g}",
                "prf_hz": f"{prf_hz(scale, fr.probe.freq_mhz):.0f}"}
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
    if (labels == LABELS["gallbladder"]).any() and not names & {
            "gallstones", "sludge", "gallbladder_polyp", "cholecystitis"}:
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
