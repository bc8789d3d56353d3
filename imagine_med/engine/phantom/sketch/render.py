"""A sketched label map rendered by the phantom's physics: chest film, CT or MRI.

The sketch is the anatomy; the physics is the engine's own. Film: each drawn structure is a
solid whose depth along the beam rises from its outline to `Entry.depth_mm` like a rounded
body (round lesions as deep as they are wide), its tissue's attenuation displacing that of the
structure it sits in; the line integrals go through the chest film's detector (scatter,
quantum noise, blur, log, the chest unit's processing; xray.py). CT and MRI: the sketch is the
slice, each label a tissue fraction with a half-pixel partial volume at its edges, through
physics/ct.py (HU, filtered back-projection grain) or physics/mri.py (signal equations, coil
field, Rician noise). The label map written is the sketch resampled to the image (nearest),
and the answer key measures its findings from that map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.phantom.physics.ct import HEAD_WINDOWS, render_ct, window
from imagine_med.engine.phantom.physics.mri import SEQUENCES, display, render_mri
from imagine_med.engine.phantom.regions.base import Part, Sample
from imagine_med.engine.phantom.regions.chest.ct_slice import WINDOWS
from imagine_med.engine.phantom.renderer_base import PhantomRenderer
from imagine_med.engine.phantom.sketch.palette import BY_ID, BY_NAME, NAMES, PALETTE, Entry
from imagine_med.engine.phantom.sketch.parse import decode_labels
from imagine_med.engine.phantom.xray import _detector

MODALITIES = ("xray", "ct", "mri")
# field of view across the larger side (mm): a 43 cm chest detector (film shows ~40 cm of
# chest), a chest CT's ~38 cm display field, a head's ~24 cm (physics.md geometry)
FOV_MM = {("xray", "chest"): 400.0, ("ct", "chest"): 380.0, ("mri", "chest"): 400.0,
          ("xray", "head"): 260.0, ("ct", "head"): 240.0, ("mri", "head"): 240.0}
BODY_DEPTH_MM = {"chest": 220.0, "head": 180.0}  # the body's own front-to-back depth
CT_NOISE_HU = {"chest": 10.0, "head": 3.5}  # sd: chest soft kernel, head routine dose
LUNG_MARKINGS_MM = 12.0  # soft tissue (vessels) a lung ray crosses beyond its mean, at most
PARTIAL_VOLUME_PX = 0.5  # edge blur of a drawn outline on CT/MR (a pixel's worth)
CREASE_MM = 2.0  # smoothing of drawn depth maps (their medial-axis creases)


@dataclass(frozen=True)
class _PixelView:
    """What the film detector needs of a view: its pixel size (mm)."""

    px: float
    name: str = "pa"


def group_of(labels: np.ndarray) -> str:
    """'head' when the sketch draws brain (grey/white matter, CSF), else 'chest'."""
    ids = set(np.unique(labels).tolist())
    return "head" if any(BY_ID[i].group == "head" for i in ids if i in BY_ID) else "chest"


def resample(labels: np.ndarray, width: int, height: int) -> np.ndarray:
    """The sketch at the output size, nearest neighbour (ids are not blended)."""
    if labels.shape == (height, width):
        return labels
    return np.asarray(Image.fromarray(labels).resize((width, height), Image.NEAREST))


def _descendants(name: str) -> list[Entry]:
    out = [BY_NAME[name]]
    for e in PALETTE:
        if e.within == name:
            out += _descendants(e.name)
    return out


def _depth(mask: np.ndarray, px: float, depth_mm: float | None) -> np.ndarray:
    """Path length (mm) along the beam through a drawn structure: rounded from its outline
    (each connected piece rises over the lesser of its own half-width and half its depth);
    a round one (depth None) is a sphere-like solid as deep as it is wide."""
    if not mask.any():
        return np.zeros(mask.shape, np.float32)
    d = ndimage.distance_transform_edt(mask).astype(np.float32) * np.float32(px)
    pieces, n = ndimage.label(mask)
    rmax = np.zeros(n + 1, np.float32)  # each piece's half-width (ndimage.maximum sorts: slow)
    np.maximum.at(rmax, pieces.ravel(), d.ravel())
    r = np.maximum(rmax, np.float32(px))[pieces]
    if depth_mm is None:
        out = 2.0 * np.sqrt(np.maximum(0.0, 2 * r * d - d * d))
    else:
        ramp = np.minimum(r, np.float32(depth_mm / 2))
        t = np.minimum(d / ramp, 1.0)
        out = depth_mm * np.sqrt(1.0 - (1.0 - t) ** 2)
    # the distance map creases along each shape's medial axis (a ridge a film's edge
    # enhancement would draw as a line); a body has no such ridges
    return ndimage.gaussian_filter(out.astype(np.float32), CREASE_MM / px)


def _lung_markings(shape: tuple[int, int], px: float, rng: np.random.Generator) -> np.ndarray:
    """Seeded vessel-like texture (0-1): band-passed noise at vessel scales (2-6 mm)."""
    noise = rng.standard_normal(shape).astype(np.float32)
    band = ndimage.gaussian_filter(noise, 2.0 / px) - ndimage.gaussian_filter(noise, 6.0 / px)
    band /= max(float(band.std()), 1e-6)
    return np.clip(band - 0.5, 0, 2.5) / 2.5


def film_line_integral(labels: np.ndarray, px: float, group: str, rng: np.random.Generator
                       ) -> np.ndarray:
    """Sum of mu x path length (dimensionless) per detector pixel."""
    body = _depth(labels > 0, px, BODY_DEPTH_MM[group])
    base = BY_NAME["soft_tissue"].tissue
    line = body * np.float32(base.mu / 10.0)
    for e in PALETTE:
        if e.name == "soft_tissue":
            continue
        family = [f.id for f in _descendants(e.name)]
        mask = np.isin(labels, family)
        if not (labels == e.id).any():
            continue
        container = BY_NAME[e.within].tissue if e.within else base
        depth = np.minimum(_depth(mask, px, e.depth_mm), body)
        line += depth * np.float32((e.tissue.mu - container.mu) / 10.0)
        if e.name == "lung":
            vessels = _lung_markings(labels.shape, px, rng) * LUNG_MARKINGS_MM
            frac = depth / np.float32(max(e.depth_mm or 1.0, 1.0))
            line += vessels * frac * np.float32((base.mu - e.tissue.mu) / 10.0) * (labels == e.id)
    return line


def render_film(labels: np.ndarray, px: float, group: str, rng: np.random.Generator
                ) -> np.ndarray:
    line = film_line_integral(labels, px, group, rng)
    lung = labels == BY_NAME["lung"].id
    return _detector(line, _PixelView(px), rng, lung if lung.any() else None)


def sample_of(labels: np.ndarray) -> Sample:
    """Tissue fractions from a label map: each label's one-hot mask with a half-pixel edge."""
    parts = []
    for i in np.unique(labels):
        if i == 0:
            continue
        e = BY_ID[int(i)]
        frac = ndimage.gaussian_filter((labels == i).astype(np.float32), PARTIAL_VOLUME_PX)
        parts.append(Part(e.name, e.tissue, frac))
    if not parts:
        raise EngineError("The sketch is empty.")
    total = np.maximum(sum(p.fraction for p in parts), 1.0)
    for p in parts:
        p.fraction = (p.fraction / total).astype(np.float32)
    return Sample(parts, {e.name: e.id for e in PALETTE})


def _ct(labels, px, group, spec, rng) -> tuple[np.ndarray, dict[str, str], np.ndarray]:
    hu = render_ct(sample_of(labels), rng, px, CT_NOISE_HU[group])
    windows = {**WINDOWS, **HEAD_WINDOWS}
    name = spec.window or ("brain" if group == "head" else "lung"
                           if (labels == BY_NAME["lung"].id).any() else "soft_tissue")
    if name not in windows:
        raise EngineError(f"Unknown CT window '{name}'. Use: {', '.join(windows)}.")
    wc, ww = windows[name]
    wc = spec.window_center if spec.window_center is not None else wc
    ww = spec.window_width if spec.window_width is not None else ww
    tags = {"modality": "CT", "plane": "axial", "window": name, "window_center": f"{wc:g}",
            "window_width": f"{ww:g}"}
    return window(hu, wc, ww), tags, np.clip(np.round(hu), -1024, 3071).astype(np.int16)


def _mri(labels, group, spec, rng) -> tuple[np.ndarray, dict[str, str]]:
    seq = (spec.sequence or "t2").lower()
    if seq not in SEQUENCES:
        raise EngineError(f"Unknown MRI sequence '{seq}'. Use: {', '.join(SEQUENCES)}.")
    field = "3T" if "3t" in (spec.prompt or "").lower().replace(" ", "") else "1.5T"
    image, sq = render_mri(sample_of(labels), seq, field, rng)
    pixels, wc, ww = display(image, sq, labels > 0)
    return pixels, {"modality": "MR", "plane": "axial", "sequence": seq, "field": field,
                    "sequence_description": sq.description, "window_center": f"{wc:.1f}",
                    "window_width": f"{ww:.1f}"}


def _side(mask: np.ndarray, body: np.ndarray) -> str | None:
    """Patient side from image position: viewer's left is the patient's right (films, axial
    CT and MR, as displayed)."""
    xs = np.nonzero(mask)[1]
    bx = np.nonzero(body)[1]
    if not len(xs) or not len(bx):
        return None
    mid = (bx.min() + bx.max()) / 2
    left, right = (xs < mid).mean(), (xs >= mid).mean()
    if min(left, right) > 0.2:
        return "bilateral"
    return "right" if left > right else "left"


def measure_findings(labels: np.ndarray, px: float) -> list[FindingResult]:
    """Each drawn finding measured on the written label map: area, equivalent diameter,
    widest extent, pieces, side."""
    out = []
    body = labels > 0
    for e in PALETTE:
        if not e.finding:
            continue
        mask = labels == e.id
        if not mask.any():
            continue
        ys, xs = np.nonzero(mask)
        area = float(mask.sum()) * px * px
        _, pieces = ndimage.label(mask)
        m = {"area_mm2": round(area, 1),
             "equivalent_diameter_mm": round(2 * np.sqrt(area / np.pi), 1),
             "width_mm": round((xs.max() - xs.min() + 1) * px, 1),
             "height_mm": round((ys.max() - ys.min() + 1) * px, 1), "pieces": float(pieces)}
        side = _side(mask, body)
        where = {"right": "on the patient's right (image left)",
                 "left": "on the patient's left (image right)",
                 "bilateral": "on both sides"}.get(side or "", "")
        text = (f"{e.name.replace('_', ' ').capitalize()} {where}: {pieces} drawn region"
                f"{'s' if pieces != 1 else ''}, {m['width_mm']:g} x {m['height_mm']:g} mm, "
                f"area {area / 100:.1f} cm^2.").replace("  ", " ")
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        out.append(FindingResult(e.name, e.id, bbox, side, None, text, m))
    return out


def render_sketch(labels: np.ndarray, spec, seed: int, width: int, height: int
                  ) -> RenderResult:
    """One variant of a sketch (palette ids) as `spec.modality`; the web app calls this too."""
    modality = spec.modality
    if modality not in MODALITIES:
        raise EngineError("A sketch renders as a chest film (X-ray), a CT slice or an MRI "
                          f"slice; not {modality}.")
    if modality == "xray" and (spec.view or "pa") not in ("pa", "ap"):
        raise EngineError("A sketch is drawn face-on: it renders as a PA or AP film, not "
                          f"a {spec.view} view.")
    group = group_of(labels)
    lab = resample(labels, width, height)
    px = FOV_MM[(modality, group)] / max(width, height)
    rng = np.random.default_rng([seed, 24])
    raw = None
    if modality == "xray":
        pixels = render_film(lab, px, group, rng)
        view = (spec.view or "pa").upper()
        tags = {"modality": "CR" if group == "chest" else "DX", "view": view}
    elif modality == "ct":
        pixels, tags, raw = _ct(lab, px, group, spec, rng)
    else:
        pixels, tags = _mri(lab, group, spec, rng)
    findings = measure_findings(lab, px)
    drawn = [NAMES[int(i)].replace("_", " ") for i in np.unique(lab) if i]
    study = {"xray": f"{tags.get('view', 'PA')} radiograph", "ct": "axial CT slice",
             "mri": f"axial {tags.get('sequence_description', 'MR')} slice"}[modality]
    key = " ".join([f"Rendered from a sketch as a {group} {study}; drawn: {', '.join(drawn)}.",
                    *(f.description for f in findings)])
    tags.update({"engine": "phantom", "source": "sketch", "region": group})
    return RenderResult(
        pixels=pixels, label_map=lab.astype(np.uint8),
        labels={int(i): NAMES[int(i)] for i in np.unique(lab) if i},
        findings=findings, pixel_spacing_mm=(px, px), answer_key=key, tags=tags,
        raw=raw, raw_unit="HU" if raw is not None else None)


class SketchRenderer(PhantomRenderer):
    """Renders `spec.sketch` (a label map the bot or web app parsed) in the spec's modality."""

    modality = "sketch"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        if not getattr(spec, "sketch", None):
            raise EngineError("This job has no sketch to render.")
        progress(0.05, "sketch")
        labels = decode_labels(spec.sketch)
        result = render_sketch(labels, spec, request.seed, request.width, request.height)
        progress(1.0, "done")
        return result


def renderer() -> SketchRenderer:
    return SketchRenderer()
