"""The phantom engine's axial-skeleton radiographs: the cervical spine (lateral, AP,
open-mouth peg view), the lumbar spine (AP, lateral) and the full pelvis (AP), normal or
injured, each film keyed from its own label maps.

Steps per variant: who (age, sex) -> what injury (regions/axial/request.py) -> the region
(cervical.py, lumbar.py, pelvis.py; the injury built into its solids) -> position for the
view (film.py: the limb's voxeliser on a trunk's grid, each hip in its own frame) ->
projection and detector (physics/radiography.py) -> display, side marker -> measure
(measure.py, label maps only) -> key (key.py).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

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
from imagine_med.engine.phantom.physics.radiography import (
    Exposure,
    display,
    expose,
    named_labels,
    project,
    resize,
)
from imagine_med.engine.phantom.regions.axial import key
from imagine_med.engine.phantom.regions.axial import measure as ms
from imagine_med.engine.phantom.regions.axial.cervical import build_cervical
from imagine_med.engine.phantom.regions.axial.film import (
    NECK,
    TRUNK,
    AxialClasses,
    Framing,
    geometry,
    in_frame,
    side_marker,
    voxelise_parts,
)
from imagine_med.engine.phantom.regions.axial.labels import LABELS, LUMBAR, NAMES
from imagine_med.engine.phantom.regions.axial.lumbar import build_lumbar, psoas_shadow
from imagine_med.engine.phantom.regions.axial.pelvis import (
    build_pelvis,
    external_rotation,
    open_book_turn,
    with_rami_fracture,
)
from imagine_med.engine.phantom.regions.axial.request import Want, wanted
from imagine_med.engine.phantom.regions.limb.fracture import build_fracture
from imagine_med.engine.phantom.regions.limb.hip import dislocate
from imagine_med.engine.phantom.regions.limb.views import soft_tissue
from imagine_med.engine.phantom.renderer_base import PhantomRenderer, mask_bbox

VIEWS = {
    "cervical_spine": ("lateral", "ap", "open_mouth"),
    "lumbar_spine": ("ap", "lateral", "oblique"),
    "pelvis": ("ap",),
}
FRAMING = {
    ("cervical_spine", "lateral"): Framing((215.0, 215.0), (0.0, -8.0, 62.0)),
    ("cervical_spine", "ap"): Framing((200.0, 180.0), (0.0, 0.0, 66.0)),
    ("cervical_spine", "open_mouth"): Framing((100.0, 100.0), (0.0, 6.0, 10.0)),
    ("lumbar_spine", "ap"): Framing((300.0, 250.0), (0.0, -12.0, 0.0)),
    ("lumbar_spine", "lateral"): Framing((300.0, 250.0), (0.0, -30.0, 0.0)),
    ("lumbar_spine", "oblique"): Framing((300.0, 250.0), (0.0, -20.0, 0.0)),
    ("pelvis", "ap"): Framing((265.0, 380.0), (0.0, 0.0, -38.0)),
}
AGES = {
    "wedge": (68.0, 88.0),
    "rami": (75.0, 92.0),
    "garden": (72.0, 92.0),
    "spondylolisthesis": (35.0, 60.0),
    "degenerative": (55.0, 80.0),
}
MIDDLE = (30.0, 60.0)  # otherwise (trauma, normal films)
LUMBAR_NAMES = (*LUMBAR, "s1")
# voxels the field's edge may drift within a depth slab: a trunk is deep (many slabs at one
# voxel) and its bones lie near the central ray, where the drift is a fraction of that
SLAB_TOLERANCE = {"cervical_spine": 1.0, "lumbar_spine": 3.0, "pelvis": 2.0}
AEC_QUANTA = 2500.0  # detected quanta per 0.8 mm pixel behind the median path
CONED_MM = (200.0, 200.0)  # a coned lateral on an injured lumbar level
CONED_VOXEL_MM = 0.8  # its voxels: body heights to ~0.4 mm (Genant grades are 5-15 % wide)
# share of the large-scale density taken out before windowing (the trunk's thickness varies
# far more across a film than the bones' contrast; units equalise it)
EQUALISE = {"cervical_spine": 0.6, "lumbar_spine": 0.9, "pelvis": 0.8}


def _region(spec) -> str:
    """'spine' alone: the view or the level named decides (the peg view or a cervical level:
    the neck), else lumbar."""
    if spec.region != "spine":
        return spec.region
    loc = spec.findings[0].location if spec.findings else None
    neck = spec.view == "open_mouth" or (loc is not None and loc[0] == "c") or loc == "dens"
    return "cervical_spine" if neck else "lumbar_spine"


def _who(spec, seed: int, want: Want | None) -> tuple[float, str]:
    rng = np.random.default_rng([seed, 7])
    sex = spec.sex or (
        "female"
        if rng.random() < (0.7 if want and want.pattern in ("wedge", "rami") else 0.5)
        else "male"
    )
    if spec.age is not None:
        return float(spec.age), sex
    key_ = want.pattern.split("_")[0] if want else ""
    lo, hi = AGES.get(key_, MIDDLE)
    return float(rng.uniform(lo, hi)), sex


class PhantomAxialXray(PhantomRenderer):
    """Cervical spine, lumbar spine and pelvis radiographs with their injuries."""

    modality = "xray"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        spec = request.spec
        region = _region(spec)
        if region not in VIEWS:
            raise EngineError(
                f"The axial renderer draws the cervical and lumbar spine and "
                f"the pelvis; not {region}."
            )
        view = spec.view or VIEWS[region][0]
        view = "ap" if view == "pa" else view
        if view not in VIEWS[region]:
            names = ", ".join(key.VIEW_WORD[v] for v in VIEWS[region])
            raise EngineError(
                f"{region.replace('_', ' ').capitalize()} views are {names}; not '{view}'."
            )
        want = wanted(spec, region)
        age, sex = _who(spec, request.seed, want)
        side = None
        if (
            want is not None
            and want.side is None
            and region == "pelvis"
            and want.pattern != "open_book"
        ):
            side = "left" if np.random.default_rng([request.seed, 11]).random() < 0.5 else "right"
            want = Want(want.pattern, want.level, want.amount, want.grade, side, want.mechanism)
        progress(0.1, "anatomy")
        framing = FRAMING[(region, view)]
        cls = AxialClasses()
        if region == "pelvis":
            body, blocks, geo = self._pelvis(request, want, age, sex, framing, cls)
        else:
            body = (
                build_cervical(request.seed, age, sex, want, view)
                if region == "cervical_spine"
                else build_lumbar(request.seed, age, sex, want)
            )
            framing = centred_on(framing, body, want, view)
            geo = geometry(body, view, framing, request.width, request.height)
            blocks = voxelise_parts(geo, body, cls)
        progress(0.5, "projection")
        background, inside, _w = soft_tissue(geo, body)
        sheath = None
        if region == "lumbar_spine" and view == "ap":
            shadow, sheath = psoas_shadow(geo, body.scale)
            background = background + shadow
        pr = project(
            blocks,
            cls.items,
            geo.grid,
            geo.beam,
            geo.shape,
            geo.px_det,
            container="muscle",
            background=background,
            slab_tolerance=SLAB_TOLERANCE[region],
        )
        exposure = aec(NECK if region == "cervical_spine" else TRUNK, pr.line, inside, geo.px_det)
        q = expose(pr.line, geo.px_det, np.random.default_rng([request.seed, 19, 3]), exposure)
        labels = named_labels(pr.labels, pr.label_names, inside, LABELS)
        if sheath is not None:
            labels[sheath & (labels == LABELS["soft_tissue"])] = LABELS["psoas"]
        q = flatten(q, inside, geo.px_det, EQUALISE[region])
        pixels = display(
            q, geo.px_det, inside, edge_gain=1.0, window_on=around_bone(labels, inside, geo.px_obj)
        )
        side_marker(pixels, labels, "L", right=True)
        progress(0.85, "measure")
        m = measure(labels, geo.px_obj, region, view, want)
        text = (
            (key.finding(want, m) if want is not None else key.normal(region, m))
            + " "
            + key.who(region, view, age, sex)
        )
        findings = []
        if want is not None:
            mask = labels == LABELS["fracture_line"]
            if (
                want.pattern in ("spondylolisthesis", "degenerative", "posterior_dislocation")
                or not mask.any()
            ):
                mask = np.isin(labels, [LABELS[n] for n in _focus(want)])
            findings.append(
                FindingResult(
                    spec.findings[0].name,
                    LABELS["fracture_line"],
                    mask_bbox(mask),
                    want.side,
                    want.level or want.pattern,
                    text,
                    m,
                )
            )
        present = {int(i): NAMES[int(i)] for i in np.unique(labels) if i}
        tags = {
            "modality": "DX",
            "view": view,
            "region": region,
            "engine": "phantom",
            "sex": sex,
            "age": f"{age:.0f}",
            "magnification": f"{geo.px_det / geo.px_obj:.3f}",
            "display": "anterior to the image left"
            if view == "lateral"
            else "patient's left on the image right",
        }
        progress(1.0, "done")
        return RenderResult(
            pixels=pixels,
            label_map=labels,
            labels=present,
            findings=findings,
            pixel_spacing_mm=(geo.px_obj, geo.px_obj),
            answer_key=text,
            tags=tags,
        )

    def _pelvis(self, request, want, age, sex, framing, cls):
        mid, sides = build_pelvis(request.seed, age, sex)
        geo = geometry(mid, "ap", framing, request.width, request.height)
        blocks = voxelise_parts(geo, mid, cls)
        s = mid.scale
        for i, sd in enumerate(sides):
            name = "left" if i == 0 else "right"
            f = None
            if want is not None and want.pattern == "open_book":
                sd.limb = external_rotation(sd.limb, open_book_turn(want.amount, s), s)
            elif want is not None and want.side == name:
                if want.pattern == "rami":
                    sd = with_rami_fracture(sd)
                elif want.pattern == "posterior_dislocation":
                    sd.limb = dislocate(sd.limb, request.seed)
                elif want.pattern.startswith("garden_"):
                    f = build_fracture(sd.limb, request.seed, want.pattern, None, "elderly_fall")
            blocks += voxelise_parts(in_frame(geo, sd.origin, sd.mirror), sd.limb, cls, f)
        return mid, blocks, geo


def flatten(q: np.ndarray, inside: np.ndarray, px: float, share: float) -> np.ndarray:
    """A trunk film's large-area equalisation (the unit's multi-frequency processing): `share`
    of the density varying over more than ~25 mm taken out both ways, so the bones' local
    contrast fills the window whatever the body's thickness does across the film."""
    sigma = 25.0 / (px * 4)
    w = inside[::4, ::4].astype(np.float32)  # the body's own density only: no bright rim
    num = ndimage.gaussian_filter(q[::4, ::4] * w, sigma, mode="nearest")  # at the skin
    den = ndimage.gaussian_filter(w, sigma, mode="nearest")
    big = resize((num / np.maximum(den, 1e-3)).astype(np.float32), *q.shape)
    ref = float(np.median(q[inside])) if inside.any() else 0.0
    out = q - share * (big - ref)
    return np.where(inside, out, q)


def around_bone(labels: np.ndarray, inside: np.ndarray, px: float) -> np.ndarray:
    """Where the film's window is set: the bones and the soft tissue within ~10 mm of them
    (a radiographer windows a spine or pelvis film for bone, not for the flanks)."""
    soft = [LABELS[n] for n in ("soft_tissue", "airway", "psoas", "disc", "side_marker")]
    bone = (labels > 0) & ~np.isin(labels, soft)
    small = bone[::4, ::4]
    grown = ndimage.binary_dilation(small, iterations=max(1, round(10.0 / (4 * px))))
    return np.repeat(np.repeat(grown, 4, 0), 4, 1)[: labels.shape[0], : labels.shape[1]] & inside


def centred_on(framing: Framing, body, want: Want | None, view: str) -> Framing:
    """A film asked for an injured level is centred on it, as a radiographer centres a
    lateral on the level in question (a coned lateral, ~20 cm: the fracture and two levels
    either side): the central ray through its endplates, so the beam's divergence does not
    splay them (far from the central ray a body's near and far edges project at different
    heights, which shrinks a wedge's apparent height loss)."""
    if want is None or want.level is None or body.region != "lumbar_spine":
        return framing
    z = body.bone(want.level).centre[2] / body.scale
    if want.pattern == "spondylolisthesis":  # centred on the disc between the two bodies
        below = "s1" if want.level == "l5" else f"l{int(want.level[1]) + 1}"
        z = 0.5 * (z + body.bone(below).centre[2] / body.scale)
    if view != "lateral":
        return Framing(framing.fov_mm, (framing.centre[0], framing.centre[1], float(z)))
    return Framing(CONED_MM, (framing.centre[0], framing.centre[1], float(z)), CONED_VOXEL_MM)


def aec(exposure: Exposure, line: np.ndarray, inside: np.ndarray, px: float) -> Exposure:
    """Automatic exposure control: the tube output raised until the detector behind the
    body's median path gets AEC_QUANTA per 0.8 mm pixel (a thick lateral lumbar film takes
    tens of times an AP's mAs), never below the exposure's own."""
    med = float(np.median(line[::4, ::4][inside[::4, ::4]])) if inside.any() else 0.0
    need = AEC_QUANTA * float(np.exp(min(med, 12.0)))
    return replace(exposure, quanta_per_08mm=max(exposure.quanta_per_08mm, need))


def _focus(want: Want) -> tuple[str, ...]:
    if want.pattern == "posterior_dislocation":
        return ("femoral_head",)
    if want.pattern == "spondylolisthesis":
        return (want.level,)
    return (want.level,) if want.level in LABELS else ("pubis",)


def measure(
    labels: np.ndarray, px: float, region: str, view: str, want: Want | None
) -> dict[str, float]:
    """The film's numbers, from its label map."""
    L = LABELS
    m: dict[str, float] = {}
    p = want.pattern if want is not None else None
    if region == "cervical_spine" and view == "lateral":
        for lvl in ("c2", "c6"):
            v = ms.prevertebral_mm(labels, L[lvl], L["airway"], px)
            if v is not None:
                m[f"prevertebral_{lvl}_mm"] = round(v, 1)
        m.update(
            ms.vertebral_lines(
                labels, L, ("c2", "c3", "c4", "c5", "c6", "c7"), L["spinous_process"], px
            )
        )
    if region == "cervical_spine" and view == "open_mouth":
        o = ms.overhang_mm(labels, L["c1_lateral_mass"], L["c2_lateral_mass"], px)
        if o is not None:
            m["overhang_image_right_mm"], m["overhang_image_left_mm"] = (
                round(o[0], 1),
                round(o[1], 1),
            )
            m["overhang_total_mm"] = round(o[0] + o[1], 1)
    if p == "dens":
        v = ms.line_in_dens(labels, L["dens"], L["fracture_line"])
        if v is not None:
            m["line_in_dens"] = round(v, 3)
    if p == "wedge" and view == "lateral":
        ids = (
            [L[n] for n in LUMBAR_NAMES]
            if want.level in LUMBAR_NAMES
            else [L[n] for n in ("c2", "c3", "c4", "c5", "c6", "c7", "t1")]
        )
        i = ids.index(L[want.level])
        h = ms.heights(labels == L[want.level], px, ms.spine_up(labels, ids, i))
        if h is not None:
            m["anterior_height_mm"], m["posterior_height_mm"] = round(h[0], 1), round(h[1], 1)
            m["height_loss_pct"] = round(100.0 * (1 - h[0] / h[1]), 1)
            m["genant_grade"] = float(ms.genant_grade(m["height_loss_pct"]))
    if p == "spondylolisthesis" and view == "lateral":
        i = LUMBAR_NAMES.index(want.level)
        ids = [L[n] for n in LUMBAR_NAMES]
        up = ms.spine_up(labels, ids, i + 1)
        sl = ms.slip_pct(labels == L[want.level], labels == L[LUMBAR_NAMES[i + 1]], up)
        if sl is not None:
            m["slip_pct"], m["slip_mm"] = round(sl[0], 1), round(sl[1] * px, 1)
            m["meyerding_grade"] = float(ms.meyerding_grade(sl[0]))
    if p == "burst" and view == "ap":
        b = ms.bands(labels, L, LUMBAR)
        i = LUMBAR.index(want.level)
        at = ms.interpedicular_mm(labels, b[want.level], L["pedicle"], px)
        beside = [
            ms.interpedicular_mm(labels, b[n], L["pedicle"], px)
            for n in (LUMBAR[i - 1], LUMBAR[i + 1])
            if n in b
        ]
        beside = [v for v in beside if v is not None]
        if at is not None and beside:
            m["interpedicular_mm"] = round(at, 1)
            m["interpedicular_adjacent_mm"] = round(float(np.mean(beside)), 1)
    if p == "burst" and view == "lateral":
        frag = np.nonzero(labels == L["retropulsed_fragment"])
        body = np.nonzero(labels == L[want.level])
        if len(frag[1]) and len(body[1]):
            m["retropulsion_mm"] = round(float(frag[1].max() - np.percentile(body[1], 98)) * px, 1)
    if p == "degenerative" and view == "lateral":
        m.update(_discs(labels, px, want.level))
    if region == "pelvis":
        d = ms.diastasis_mm(labels, L["pubis"], px)
        if d is not None:
            m["symphysis_mm"] = round(d, 1)
        m.update(ms.pelvic_lines(labels, L, px))
        sh = (
            ms.shenton_offsets(labels, L, px)
            if p in (None, "posterior_dislocation") or str(p).startswith("garden_")
            else {}
        )
        m.update(sh)
        if want is not None and want.side and len(sh) == 2:
            inj = "image_right" if want.side == "left" else "image_left"
            other = "image_left" if inj == "image_right" else "image_right"
            m["shenton_break_mm"] = round(
                abs(sh[f"shenton_offset_{inj}_mm"] - sh[f"shenton_offset_{other}_mm"]), 1
            )
    return m


def _discs(labels: np.ndarray, px: float, level: str) -> dict[str, float]:
    """Disc heights on a lateral: between a body's inferior endplate and the next one's
    superior endplate, midpoints to midpoints, mm."""
    out = {}
    hs = {}
    ids = [LABELS[n] for n in LUMBAR_NAMES]
    for i, (up, _lo) in enumerate(itertools.pairwise(LUMBAR_NAMES)):
        axis = ms.spine_up(labels, ids, i)
        cu, cl = ms.corners(labels == ids[i], axis), ms.corners(labels == ids[i + 1], axis)
        if cu is None or cl is None:
            continue
        a = (cu["inferior_anterior"] + cu["inferior_posterior"]) / 2
        b = (cl["superior_anterior"] + cl["superior_posterior"]) / 2
        hs[up] = float(np.hypot(*(a - b))) * px
    if level in hs:
        out["disc_mm"] = round(hs[level], 1)
        others = [v for k, v in hs.items() if k != level]
        if others:
            out["disc_adjacent_mm"] = round(float(np.median(others)), 1)
    return out


def axial_renderer() -> PhantomAxialXray:
    return PhantomAxialXray()
