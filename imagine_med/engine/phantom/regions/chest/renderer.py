"""The phantom engine's renderers (registry targets): chest radiographs and chest CT."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.parallel import fan_out
from imagine_med.engine.phantom import answer_key
from imagine_med.engine.phantom.answer_key import Seen
from imagine_med.engine.phantom.extent import Extent, extent
from imagine_med.engine.phantom.labels import NAMES, label_id
from imagine_med.engine.phantom.measure import borders_met, ctr, finding_mask, measure_finding
from imagine_med.engine.phantom.physics.ct import window
from imagine_med.engine.phantom.regions.chest.ct_slice import WINDOWS, make_plane, render_slice
from imagine_med.engine.phantom.regions.chest.findings import Placed
from imagine_med.engine.phantom.regions.chest.region import CT_PLANES, XRAY_VIEWS, Built, build
from imagine_med.engine.phantom.scene import Scene
from imagine_med.engine.phantom.version import VERSION
from imagine_med.engine.phantom.xray import make_view, render_film, side_marker

CT_LEVELS = ("thoracic_inlet", "lung_apices", "aortic_arch", "carina", "pulmonary_trunk",
             "heart", "lung_bases", *(f"t{k}" for k in range(1, 13)))
NORMAL_AXIS = {"axial": 2, "coronal": 1, "sagittal": 0}  # patient axis across each plane
# findings whose built volume the key quotes (solids a reader could measure in 3D)
VOLUME_FINDINGS = {"nodule", "mass", "cavity", "consolidation", "collapse", "pleural_effusion",
                   "pneumothorax", "hiatus_hernia", "pneumoperitoneum"}

__all__ = ["VERSION", "PhantomCT", "PhantomXray", "ct_renderer", "xray_renderer"]


class _Extents:
    """Each finding's 3D extent, sampled once per render and only when asked for."""

    def __init__(self, scene: Scene, ct: bool):
        self.scene, self.ct = scene, ct
        self.cache: dict[str, Extent] = {}

    def __call__(self, name: str) -> Extent:
        if name not in self.cache:
            self.cache[name] = extent(self.scene, name, self.ct)
        return self.cache[name]


def _observe(b: Built, labels: np.ndarray, spacing: tuple[float, float], view: str,
             extents: _Extents, hu: np.ndarray | None = None, level: float | None = None
             ) -> list[tuple[Placed, Seen]]:
    """What this image shows of each requested finding (first of each name): measured on its
    label map, or, on a CT slice that misses it, how far away it lies."""
    out = []
    names: set[str] = set()
    axis = NORMAL_AXIS.get(view)
    for p in b.placed:
        if p.name in names:
            continue
        names.add(p.name)
        present = bool(finding_mask(labels, p.name).any())
        volume = extents(p.name).volume_ml if p.name in VOLUME_FINDINGS else None
        offset = None
        if not present and axis is not None and level is not None:
            offset = extents(p.name).offset(axis, level)
        out.append((p, Seen(
            present=present,
            measurements=measure_finding(p.name, labels, spacing, view, p.side, hu),
            borders=borders_met(labels, p.name) if present and axis is None else (),
            offset_mm=offset, axis=axis,
            volume_ml=round(volume, 1) if volume else None)))
    return out


def _findings(observed: list[tuple[Placed, Seen]], labels: np.ndarray, view: str
              ) -> list[FindingResult]:
    out = []
    for p, seen in observed:
        ys, xs = np.nonzero(finding_mask(labels, p.name))
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(
            xs) else None
        location = p.lobe or p.zone or (f"rib_{p.rib}" if p.rib else None)
        m = dict(seen.measurements)
        if seen.volume_ml is not None:
            m["volume_ml"] = seen.volume_ml
        if seen.offset_mm is not None and seen.offset_mm == seen.offset_mm:
            m["offset_mm"] = round(seen.offset_mm, 1)
        out.append(FindingResult(p.name, label_id(p.name), bbox, p.side, location,
                                 answer_key.sentence(p, seen, view), m))
    return out


def _labels_present(labels: np.ndarray) -> dict[int, str]:
    # the ids present, by counting (a uint8 map: far cheaper than np.unique's sort)
    return {i: NAMES[i] for i in np.flatnonzero(np.bincount(labels.ravel(), minlength=256)).tolist()
            if i}


def _seed_rng(seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, salt])


class _Batched:
    """A job's variants on the render pool (engine.parallel): same bytes as one by one, since
    every variant draws only from its own seed."""

    render: Callable[[RenderRequest], RenderResult]

    def render_batch(self, requests: list[RenderRequest], progress: ProgressFn = no_progress
                     ) -> list[RenderResult]:
        return fan_out(self.render, requests, progress, warm=(__name__,), staged=self.render)


class PhantomXray(_Batched):
    """PA, AP (supine) and lateral chest films from the 3D phantom."""

    engine = "phantom"
    version = VERSION

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        view = (spec.view or "pa").lower()
        if view not in XRAY_VIEWS:
            raise EngineError(f"The phantom chest radiograph has views PA, AP and lateral; "
                              f"'{view}' is not one of them.")
        progress(0.05, "anatomy")
        b = build(spec, request.seed, request.variation, request.base_seed, view)
        progress(0.45, "projection")
        v = make_view(b.scene, view, request.width, request.height)
        masks: dict[str, np.ndarray] = {}
        pixels, labels, _ = render_film(b.scene, v, _seed_rng(request.seed, 1), masks=masks)
        side_marker(pixels, labels, v)
        masks["side_marker"] = labels == label_id("side_marker")
        progress(1.0, "done")
        spacing = (v.px, v.px)
        observed = _observe(b, labels, spacing, view, _Extents(b.scene, ct=False))
        return RenderResult(
            pixels=pixels, label_map=labels, labels=_labels_present(labels),
            findings=_findings(observed, labels, view),
            pixel_spacing_mm=spacing, masks=masks,
            answer_key=answer_key.compose([p for p, _ in observed], [s for _, s in observed],
                                          "xray", view, ctr(labels), b.age, b.sex),
            tags={"modality": "CR", "view": view.upper() if view != "lateral" else "LATERAL",
                  "engine": "phantom", "sex": b.sex, "age": str(b.age)},
        )


def named_level(spec, scene: Scene, plane: str) -> tuple[float, str] | None:
    """The slice position the prompt names (a level, or `mm:<value>` from a previous result's
    `level_mm` tag); None when it names none."""
    L = scene.landmarks
    named = {"thoracic_inlet": L["z_inlet"], "lung_apices": L["z_apices"],
             "aortic_arch": L["z_arch"] + 5 * L["size"], "carina": L["z_carina"] - 4 * L["size"],
             "pulmonary_trunk": L["z_pulmonary_trunk"], "heart": L["z_heart"],
             "lung_bases": L["z_bases"]}
    named.update({f"t{k}": L[f"t{k}"] for k in range(1, 13)})
    level = spec.level
    if level is None:
        return None
    if level.startswith("mm:"):
        # an exact plane position, as reported in a previous result's `level_mm` tag
        try:
            return float(level[3:]), level
        except ValueError:
            raise EngineError(f"'{level}' is not a slice position; use e.g. mm:-12.5.") from None
    if level not in named:
        raise EngineError(f"Unknown CT level '{level}'. Use one of: "
                          + ", ".join(CT_LEVELS) + ".")
    if plane == "axial":
        return float(named[level]), level
    if plane == "coronal":
        if level == "heart":
            return float(scene.points["heart_center"][1]), level
        return float(scene.points["carina"][1]), level
    return float(scene.points["carina"][0]), level


def level_target(spec, plane: str):
    """For `build`: the plane a named level puts the slice on, as (axis, position), so
    lesions are placed across it. None for exact `mm:` positions (a re-slice of a case must
    find its lesions where they were) and for prompts naming no level."""
    if spec.level is None or spec.level.startswith("mm:"):
        return None

    def target(scene: Scene) -> tuple[int, float] | None:
        found = named_level(spec, scene, plane)
        return None if found is None else (NORMAL_AXIS[plane], found[0])

    return target


def slice_level(spec, b: Built, plane: str, extents: _Extents | None = None
                ) -> tuple[float, str]:
    """The named level; else through the first finding (its centre, or the middle of what
    was built where the centre's plane would miss it, e.g. a posteriorly layering effusion
    on a coronal slice); else the carina (axial, coronal) or the midline (sagittal)."""
    found = named_level(spec, b.scene, plane)
    if found is not None:
        return found
    axis = NORMAL_AXIS[plane]
    extents = extents or _Extents(b.scene, ct=True)
    for p in b.placed:
        if p.center is None:
            continue
        ext = extents(p.name)
        level = float(p.center[axis])
        if len(ext.points) and ext.offset(axis, level) != 0.0:
            level = ext.median(axis)
        return level, "finding"
    if plane == "axial":
        L = b.scene.landmarks
        return float(L["z_carina"] - 4 * L["size"]), "carina"
    if plane == "coronal":
        return float(b.scene.points["carina"][1]), "carina"
    return float(b.scene.points["carina"][0]), "midline"


def default_window(placed: list[Placed]) -> str:
    names = {p.name for p in placed}
    if names & {"rib_fracture"}:
        return "bone"
    if names and names <= {"cardiomegaly", "hiatus_hernia", "mediastinal_widening",
                           "pleural_effusion", "pacemaker", "central_line", "et_tube"}:
        return "mediastinum"
    return "lung"


class PhantomCT(_Batched):
    """Axial, coronal and sagittal chest CT slices in HU from the same 3D phantom."""

    engine = "phantom"
    version = VERSION

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        plane_name = (spec.plane or "axial").lower()
        if plane_name not in CT_PLANES:
            raise EngineError(f"CT planes are axial, coronal and sagittal; not '{plane_name}'.")
        progress(0.05, "anatomy")
        b = build(spec, request.seed, request.variation, request.base_seed, "ct",
                  level_target(spec, plane_name))
        progress(0.5, "slice")
        extents = _Extents(b.scene, ct=True)
        level, level_name = slice_level(spec, b, plane_name, extents)
        plane = make_plane(b.scene, plane_name, level, request.width, request.height)
        hu, labels = render_slice(b.scene, plane, _seed_rng(request.seed, 2))
        wname = spec.window or default_window(b.placed)
        if wname not in WINDOWS:
            raise EngineError(f"Unknown CT window '{wname}'. Use: {', '.join(WINDOWS)}.")
        wc, ww = WINDOWS[wname]
        wc = spec.window_center if spec.window_center is not None else wc
        ww = spec.window_width if spec.window_width is not None else ww
        pixels = window(hu, wc, ww)
        progress(1.0, "done")
        spacing = (plane.px, plane.px)
        observed = _observe(b, labels, spacing, plane_name, extents, hu, level)
        return RenderResult(
            pixels=pixels, label_map=labels, labels=_labels_present(labels),
            findings=_findings(observed, labels, plane_name), pixel_spacing_mm=spacing,
            answer_key=answer_key.compose([p for p, _ in observed], [s for _, s in observed],
                                          "ct", plane_name, None, b.age, b.sex),
            tags={"modality": "CT", "plane": plane_name, "level": level_name,
                  "level_mm": f"{level:.1f}", "window": wname, "window_center": f"{wc:g}",
                  "window_width": f"{ww:g}", "engine": "phantom", "sex": b.sex,
                  "age": str(b.age)},
            raw=np.clip(np.round(hu), -1024, 3071).astype(np.int16), raw_unit="HU",
        )


def xray_renderer() -> PhantomXray:
    return PhantomXray()


def ct_renderer() -> PhantomCT:
    return PhantomCT()
