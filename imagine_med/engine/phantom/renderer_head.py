"""The phantom engine's head renderers: brain MRI and head CT from one seeded 3D head.

Steps per variant (diffusers' habit: a pipeline reads as named steps): build the head
(regions/head) -> place the slice's grid -> sample tissue fractions on it -> physics
(physics/mri.py or physics/ct.py) -> display and L/R marker -> measure -> key.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.phantom.physics.artefacts import (
    GIBBS_LINES_FRACTION,
    bandwidth_lines,
    beam_hardening,
    gibbs_ringing,
)
from imagine_med.engine.phantom.physics.ct import HEAD_WINDOWS, render_ct, window
from imagine_med.engine.phantom.physics.mri import SEQUENCES, display, render_mri
from imagine_med.engine.phantom.regions.base import Grid
from imagine_med.engine.phantom.regions.head import key
from imagine_med.engine.phantom.regions.head.anatomy import (
    BRAIN_LABELS,
    LABELS,
    LEVELS_Z,
    HeadModel,
)
from imagine_med.engine.phantom.regions.head.region import REGION_NAMES, HeadRegion
from imagine_med.engine.phantom.renderer_base import PhantomRenderer

PLANES = ("axial", "coronal", "sagittal")
FOV_MM = 230.0  # field of view across the larger image side
FIELDS = {"1.5t": "1.5T", "3t": "3T"}
_REGION = HeadRegion()


def is_head(spec) -> bool:
    return spec.region in REGION_NAMES


def make_grid(head: HeadModel, plane: str, level: float, width: int, height: int) -> Grid:
    """Pixel centres in patient mm. Axial and coronal: the patient's left on the image
    right; axial anterior up; coronal and sagittal superior up; sagittal anterior left."""
    px = FOV_MM / max(width, height)
    cols = (np.arange(width, dtype=np.float32) - width / 2 + 0.5) * px
    rows = (height / 2 - 0.5 - np.arange(height, dtype=np.float32)) * px
    u, v = np.meshgrid(cols, rows)
    lev = np.full_like(u, level)
    if plane == "axial":
        return Grid(u, v, lev, px, plane, level)
    if plane == "coronal":
        return Grid(u, lev, v + np.float32(5.0), px, plane, level)
    return Grid(lev, -u, v + np.float32(5.0), px, plane, level)


def slice_level(spec, head: HeadModel, plane: str) -> tuple[float, str]:
    """The named level; else through the first finding's centre; else basal ganglia."""
    if spec.level is not None and spec.level.startswith("mm:"):
        try:
            return float(spec.level[3:]), spec.level
        except ValueError:
            raise EngineError(f"'{spec.level}' is not a slice position; use e.g. mm:4.0."
                              ) from None
    if spec.level is not None and spec.level not in LEVELS_Z:
        raise EngineError(f"Unknown head level '{spec.level}'. Use one of: "
                          + ", ".join(LEVELS_Z) + ".")
    if spec.level is None and head.placed:
        axis = {"axial": 2, "coronal": 1, "sagittal": 0}[plane]
        at = float(head.placed[0].center[axis])
        if plane == "sagittal":  # through the hemisphere, not tangential to the skull
            at = float(np.clip(at, -45.0 * head.size, 45.0 * head.size))
        return at, "finding"
    return head.level_mm(plane, spec.level)


def side_marker(pixels: np.ndarray, labels: np.ndarray, plane: str) -> None:
    """An 'R' at the top left (the patient's right) on axial and coronal images, an 'A'
    (anterior) on sagittal ones; label 60 where it is drawn."""
    h, w = pixels.shape
    size = max(8, h // 28)
    img = Image.new("L", (size * 2, size * 2), 0)
    d = ImageDraw.Draw(img)
    d.text((size // 2, size // 3), "R" if plane != "sagittal" else "A", fill=255)
    glyph = np.asarray(img.resize((size * 2, size * 2), Image.NEAREST)) > 100
    y0, x0 = max(2, h // 40), max(2, w // 40)
    region = pixels[y0:y0 + glyph.shape[0], x0:x0 + glyph.shape[1]]
    g = glyph[:region.shape[0], :region.shape[1]]
    region[g] = 255
    labels[y0:y0 + g.shape[0], x0:x0 + g.shape[1]][g] = LABELS["side_marker"]


def options(spec) -> set[str]:
    """Artefact options the prompt asks for ("with Gibbs ringing", "beam hardening"): the
    modifiers its words carry, attached to a finding or not."""
    from imagine_med.prompt.lexer import lex

    found = {m for f in spec.findings for m in f.modifiers}
    for m in lex(spec.prompt or "").matches:
        found |= {str(v) for name, v in m.facts if name == "modifier"}
    return found & {"gibbs_ringing", "beam_hardening"}


class _HeadBase(PhantomRenderer):
    modality = "ct"

    def _setup(self, request: RenderRequest, progress: ProgressFn):
        spec = request.spec
        if not is_head(spec) and spec.region is not None:
            what = "MRI of the brain" if self.modality == "mri" else "CT of the head"
            raise EngineError(f"This phantom renderer draws {what} only; it has no "
                              f"{spec.region.replace('_', ' ')} model.")
        plane = (spec.plane or "axial").lower()
        if plane not in PLANES:
            raise EngineError(f"Head planes are axial, coronal and sagittal; not '{plane}'.")
        progress(0.05, "anatomy")
        head = _REGION.build(spec, request.seed)
        level, level_name = slice_level(spec, head, plane)
        grid = make_grid(head, plane, level, request.width, request.height)
        progress(0.3, "slice")
        sample = head.sample(grid)
        labels = sample.label_map()
        return spec, plane, head, level, level_name, grid, sample, labels

    def _findings(self, head: HeadModel, labels, image, grid: Grid, seq: str | None
                  ) -> tuple[list[FindingResult], list[str]]:
        out, sentences = [], []
        axis = {"axial": 2, "coronal": 1, "sagittal": 0}[grid.plane]
        for p in head.placed:
            seen = key.measure(p.name, labels, image, grid.px)
            reach = 95.0 if p.name == "subdural_haematoma" else min(
                90.0, p.params.get("radius_mm", 30.0) * 1.6 + 8)
            volume, pts = key.built_extent(head, p.name, p.center, reach)
            offset = None
            if not seen.present and len(pts):
                offset = float(np.min(np.abs(pts[:, axis] - grid.level_mm)))
            m = dict(seen.measurements)
            m["volume_ml"] = round(volume, 1)
            if offset is not None:
                m["offset_mm"] = round(offset, 1)
            ys, xs = np.nonzero(key.finding_mask(labels, p.name))
            bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
                if seen.present else None
            text = key.sentence(p, seen, self.modality, seq, volume, offset)
            sentences.append(text)
            out.append(FindingResult(p.name, LABELS[p.name], bbox, p.side, p.location, text, m))
        return out, sentences

    def _result(self, pixels, labels, raw, raw_unit, grid, head, findings, sentences, what,
                tags, extra: list[str] | None = None) -> RenderResult:
        side_marker(pixels, labels, grid.plane)
        names = {v: k for k, v in LABELS.items()}
        present = {int(i): names[int(i)] for i in np.unique(labels) if i}
        text = " ".join(sentences) if sentences else key.normal_sentence(
            labels, grid.px, head.age, head.sex, what)
        if extra:
            text += " " + " ".join(extra)
        return RenderResult(
            pixels=pixels, label_map=labels, labels=present, findings=findings,
            pixel_spacing_mm=(grid.px, grid.px), answer_key=text,
            tags={"plane": grid.plane, "level_mm": f"{grid.level_mm:.1f}", "engine": "phantom",
                  "region": "brain", "sex": head.sex, "age": str(head.age), **tags},
            raw=raw, raw_unit=raw_unit)


class PhantomHeadCT(_HeadBase):
    """Head CT in HU (brain 80/40, subdural 200/75, stroke 40/40, bone 2800/600 windows)."""

    modality = "ct"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec, _plane, head, _level, level_name, grid, sample, labels = self._setup(
            request, progress)
        progress(0.6, "physics")
        hu = render_ct(sample, np.random.default_rng([request.seed, 2]), grid.px)
        extra: list[str] = []
        if "beam_hardening" in options(spec):
            clean, hu = hu, beam_hardening(hu, grid.px)
            extra.append(artefact_sentence_ct(clean, hu, labels))
        wname = spec.window or "brain"
        if wname not in HEAD_WINDOWS:
            raise EngineError(f"Head CT windows are {', '.join(HEAD_WINDOWS)}; not '{wname}'.")
        wc, ww = HEAD_WINDOWS[wname]
        if spec.window_center is not None and spec.window is None:
            wc, ww = spec.window_center, spec.window_width or ww
        pixels = window(hu, wc, ww)
        findings, sentences = self._findings(head, labels, hu, grid, None)
        progress(1.0, "done")
        return self._result(pixels, labels, np.clip(np.round(hu), -1024, 3071).astype(np.int16),
                            "HU", grid, head, findings, sentences, "head CT",
                            {"modality": "CT", "level": level_name, "window": wname,
                             "window_center": f"{wc:g}", "window_width": f"{ww:g}"}, extra)


class PhantomMRI(_HeadBase):
    """Brain MRI: T1, T2, PD, FLAIR, STIR, DWI, ADC, T1 post-gadolinium, SWI at 1.5 T or 3 T."""

    modality = "mri"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        seq = (spec.sequence or "t2").lower()
        if seq not in SEQUENCES:
            raise EngineError(f"Unknown MRI sequence '{seq}'. Use: {', '.join(SEQUENCES)}.")
        field = "3T" if "3t" in (spec.prompt or "").lower().replace(" ", "") else "1.5T"
        _spec, _plane, head, _level, level_name, grid, sample, labels = self._setup(
            request, progress)
        progress(0.6, "physics")
        image, sq = render_mri(sample, seq, field, np.random.default_rng([request.seed, 3]))
        extra: list[str] = []
        if "gibbs_ringing" in options(spec):
            image = gibbs_ringing(image, max(16, round(GIBBS_LINES_FRACTION * image.shape[1])))
            extra.append(f"Gibbs (truncation) ringing: the image holds "
                         f"{bandwidth_lines(image)} phase-encoding lines (left-right) for "
                         f"{image.shape[1]} pixels, so sharp edges ring in bands parallel "
                         "to them (not a lesion).")
        pixels, wc, ww = display(image, sq, labels > 0)
        findings, sentences = self._findings(head, labels, image, grid, seq)
        progress(1.0, "done")
        tags = {"modality": "MR", "level": level_name, "sequence": seq, "field": field,
                "tr_ms": f"{sq.tr:g}", "te_ms": f"{sq.te:g}", "flip_deg": f"{sq.flip:g}",
                "window_center": f"{wc:.1f}",
                "window_width": f"{ww:.1f}", "sequence_description": sq.description}
        if sq.ti is not None:
            tags["ti_ms"] = f"{sq.ti:g}"
        raw = np.clip(np.round(image), 0, 65535).astype(np.uint16)
        return self._result(pixels, labels, raw, "MR", grid, head, findings, sentences,
                            f"{sq.description} brain MRI", tags, extra)


def artefact_sentence_ct(before: np.ndarray, after: np.ndarray, labels: np.ndarray) -> str:
    """Beam hardening, measured on this slice: the artefact (after - before) over the brain,
    its dark and bright streaks (5th and 95th percentiles), and how much it widens the
    brain's spread of HU."""
    brain = np.isin(labels, [v for k, v in LABELS.items() if k in BRAIN_LABELS])
    if brain.sum() < 50:
        return "Beam-hardening artefact requested; this slice holds too little brain to show it."
    diff = (after - before)[brain]
    lo, hi = (float(np.percentile(diff, q)) for q in (5, 95))
    sd0, sd1 = float(before[brain].std()), float(after[brain].std())
    return (f"Beam-hardening streaks from the dense skull base run across the brain "
            f"({lo:+.0f} to {hi:+.0f} HU) and widen its spread of HU from {sd0:.0f} to "
            f"{sd1:.0f} (an artefact, not a lesion).")


def mri_renderer() -> PhantomMRI:
    return PhantomMRI()


def head_ct_renderer() -> PhantomHeadCT:
    return PhantomHeadCT()
