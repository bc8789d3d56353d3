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
from imagine_med.engine.phantom.ct import WINDOWS, make_plane, render_slice, window
from imagine_med.engine.phantom.labels import NAMES, label_id
from imagine_med.engine.phantom.model import CT_PLANES, XRAY_VIEWS, Built, build
from imagine_med.engine.phantom.pathology import Placed
from imagine_med.engine.phantom.xray import make_view, render_film, side_marker

VERSION = "1.0"
CT_LEVELS = ("thoracic_inlet", "lung_apices", "aortic_arch", "carina", "pulmonary_trunk",
             "heart", "lung_bases", *(f"t{k}" for k in range(1, 13)))


def _findings(placed: list[Placed], labels: np.ndarray, modality: str = "xray",
              supine: bool = False) -> list[FindingResult]:
    out = []
    seen: set[str] = set()
    for p in placed:
        if p.name in seen:
            continue
        seen.add(p.name)
        lid = label_id(p.name)
        ys, xs = np.nonzero(labels == lid)
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(
            xs) else None
        location = p.lobe or p.zone or (f"rib_{p.rib}" if p.rib else None)
        out.append(FindingResult(p.name, lid, bbox, p.side, location,
                                 answer_key.sentence(p, modality, supine)))
    return out


def _labels_present(labels: np.ndarray) -> dict[int, str]:
    return {int(i): NAMES[int(i)] for i in np.unique(labels) if i}


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
        pixels, labels, _ = render_film(b.scene, v, _seed_rng(request.seed, 1))
        side_marker(pixels, labels, v)
        progress(1.0, "done")
        ctr = b.scene.landmarks["ctr_target"]
        return RenderResult(
            pixels=pixels, label_map=labels, labels=_labels_present(labels),
            findings=_findings(b.placed, labels, "xray", view == "ap"),
            pixel_spacing_mm=(v.px, v.px),
            answer_key=answer_key.compose(b.placed, "xray", view, ctr, b.age, b.sex),
            tags={"modality": "CR", "view": view.upper() if view != "lateral" else "LATERAL",
                  "engine": "phantom", "sex": b.sex, "age": str(b.age)},
        )


def slice_level(spec, b: Built, plane: str) -> tuple[float, str]:
    L = b.scene.landmarks
    named = {"thoracic_inlet": L["z_inlet"], "lung_apices": L["z_apices"],
             "aortic_arch": L["z_arch"] + 5 * L["size"], "carina": L["z_carina"] - 4 * L["size"],
             "pulmonary_trunk": L["z_pulmonary_trunk"], "heart": L["z_heart"],
             "lung_bases": L["z_bases"]}
    named.update({f"t{k}": L[f"t{k}"] for k in range(1, 13)})
    level = spec.level
    if level is not None and level.startswith("mm:"):
        # an exact plane position, as reported in a previous result's `level_mm` tag
        try:
            return float(level[3:]), level
        except ValueError:
            raise EngineError(f"'{level}' is not a slice position; use e.g. mm:-12.5.") from None
    if level is not None and level not in named:
        raise EngineError(f"Unknown CT level '{level}'. Use one of: "
                          + ", ".join(CT_LEVELS) + ".")
    centre = next((p.center for p in b.placed if p.center is not None), None)
    if plane == "axial":
        if level:
            return float(named[level]), level
        if centre is not None:
            return float(centre[2]), "finding"
        return float(named["carina"]), "carina"
    if plane == "coronal":
        if centre is not None and not level:
            return float(centre[1]), "finding"
        if level == "heart":
            return float(b.scene.points["heart_center"][1]), level
        return float(b.scene.points["carina"][1]), level or "carina"
    if centre is not None and not level:
        return float(centre[0]), "finding"
    return float(b.scene.points["carina"][0]), level or "midline"


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
        b = build(spec, request.seed, request.variation, request.base_seed, "ct")
        progress(0.5, "slice")
        level, level_name = slice_level(spec, b, plane_name)
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
        return RenderResult(
            pixels=pixels, label_map=labels, labels=_labels_present(labels),
            findings=_findings(b.placed, labels, "ct"), pixel_spacing_mm=(plane.px, plane.px),
            answer_key=answer_key.compose(b.placed, "ct", plane_name,
                                          b.scene.landmarks["ctr_target"], b.age, b.sex),
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
