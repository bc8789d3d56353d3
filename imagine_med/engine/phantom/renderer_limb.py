"""The phantom engine's wrist radiographs: PA, AP, lateral and PA oblique of a seeded 3D wrist,
normal or with a fracture built as a cut through the bone; a healing series over weeks.

Steps per variant: who (side, age, sex) -> the wrist (regions/limb/anatomy.py) -> the
fracture (fracture.py; the hand follows a distal radial fragment) -> position for the view
(views.py: voxels in the beam's frame, the soft tissue in closed form) -> projection and
detector (physics/radiography.py) -> display and side marker -> measure (measure.py, from
label maps only) -> key. A request naming a healing series renders its four variants as one
fracture at day 0 and 2, 6 and 12 weeks (the same patient: the first variant's seed).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.parallel import fan_out
from imagine_med.engine.phantom.physics.radiography import (
    EXTREMITY,
    display,
    expose,
    named_labels,
    project,
)
from imagine_med.engine.phantom.regions.limb import (
    deformity,
    disease,
    disease_key,
    dislocations,
    foot,
    key,
    knee,
)
from imagine_med.engine.phantom.regions.limb import measure as ms
from imagine_med.engine.phantom.regions.limb.anatomy import Wrist, build_hand, build_wrist
from imagine_med.engine.phantom.regions.limb.ankle import build_ankle
from imagine_med.engine.phantom.regions.limb.elbow import build_elbow, fat_pads
from imagine_med.engine.phantom.regions.limb.fracture import (
    HEALING_WEEKS,
    Fracture,
    build_fracture,
)
from imagine_med.engine.phantom.regions.limb.hip import build_hip, dislocate
from imagine_med.engine.phantom.regions.limb.labels import LABELS, NAMES, RADIUS_PARTS
from imagine_med.engine.phantom.regions.limb.request import Wanted, wanted
from imagine_med.engine.phantom.regions.limb.shoulder import (
    build_shoulder,
    dislocate_anterior,
    dislocate_posterior,
    shoulder_numbers,
    shoulder_sentence,
)
from imagine_med.engine.phantom.regions.limb.views import (
    ANKLE_VIEWS,
    VIEWS,
    geometry,
    soft_tissue,
    voxelise,
)
from imagine_med.engine.phantom.renderer_base import PhantomRenderer

REGIONS = ("wrist", "hand", "ankle", "elbow", "hip", "shoulder", "knee", "foot")
REGION_VIEWS = {"wrist": VIEWS, "hand": VIEWS, "ankle": ANKLE_VIEWS,
                "elbow": ("ap", "lateral"), "hip": ("ap",),
                "shoulder": ("ap", "scapular_y"),
                "knee": knee.KNEE_VIEWS, "foot": foot.FOOT_VIEWS}
BUILDERS = {"wrist": build_wrist, "hand": build_hand, "ankle": build_ankle, "hip": build_hip,
            "shoulder": build_shoulder}
FRONTAL_AP = ("ankle", "elbow", "hip", "shoulder", "knee")  # filmed AP: a PA request means the AP
JOINTS = {"posterior_dislocation": ("femoral_head", "acetabulum", "hip"),
          "anterior_dislocation": ("humeral_head", "glenoid", "shoulder")}
FOOT_BONES = ("talus", "calcaneus", "navicular", "cuboid")
TALAR_SHIFT = {"weber_b": 0.4, "weber_c": 0.9}  # of the fibula's lateral shift
AGE_OF_GROUP = {"neonate": (0.1, 0.1), "infant": (1.0, 2.0), "child": (6.0, 12.0),
                "adolescent": (13.0, 16.0), "adult": (25.0, 64.0), "elderly": (66.0, 88.0)}
CHILD_DEFAULT_AGE = {"buckle": 7.0, "greenstick": 9.0, "salter_harris": 11.0}
CARRIES_HAND = ("colles", "smith", "salter_harris")  # the carpus follows these
MEASURE_PX = 0.35  # mm: the label projections the key's lateral numbers are read from


def _who(spec, seed: int, pattern_hint: str | None) -> tuple[str, float, str]:
    rng = np.random.default_rng([seed, 7])
    side = spec.laterality if spec.laterality in ("left", "right") else None
    if side is None and spec.findings and spec.findings[0].laterality in ("left", "right"):
        side = spec.findings[0].laterality
    side = side or ("left" if rng.random() < 0.5 else "right")
    sex = spec.sex or ("female" if rng.random() < 0.5 else "male")
    if spec.age is not None:
        age = float(spec.age)
    elif spec.age_group is not None:
        lo, hi = AGE_OF_GROUP[spec.age_group]
        age = float(rng.uniform(lo, hi))
    elif pattern_hint in CHILD_DEFAULT_AGE:
        age = CHILD_DEFAULT_AGE[pattern_hint]
    else:
        age = float(rng.uniform(45.0, 80.0) if spec.findings else rng.uniform(25.0, 64.0))
    return side, age, sex


def _pattern_hint(spec) -> str | None:
    if not spec.findings:
        return None
    mods = spec.findings[0].modifiers
    if any(m.startswith("salter_harris") for m in mods):
        return "salter_harris"
    return next((m for m in mods if m in CHILD_DEFAULT_AGE), None)


def carry_hand(wrist: Wrist, f: Fracture) -> Wrist:
    """The carpus and hand follow a distal radial fragment (the dinner-fork deformity): they
    move as the centre of its articular surface moves, keeping their orientation (the
    patient holds the hand in line)."""
    r = wrist.bone("radius")
    end = np.array([0.0, 0.0, r.shape.z_knots[-1]])  # type: ignore[union-attr]
    moved_end = f.rot @ (end - f.pivot) + f.pivot + f.shift_mm
    step = moved_end - end
    bones = [b if b.name in ("radius", "ulna") else replace(b, centre=b.centre + step)
             for b in wrist.bones]
    return replace(wrist, bones=bones)


def carry_forearm(limb: Wrist, f: Fracture) -> Wrist:
    """The forearm goes with the distal humeral fragment (the humerus' frame is the limb's)."""
    R = f.rot
    bones = []
    for b in limb.bones:
        if b.name in ("radius", "ulna"):
            parts = [replace(p, centre=R @ (p.centre - f.pivot) + f.pivot + f.shift_mm,
                             rot=R @ p.rot) for p in b.parts]
            b = replace(b, centre=R @ (b.centre - f.pivot) + f.pivot + f.shift_mm,
                        rot=R @ b.rot, parts=parts)
        bones.append(b)
    return replace(limb, bones=bones)


def shift_talus(limb: Wrist, f: Fracture) -> Wrist:
    """A torn syndesmosis lets the talus (and the foot under it) follow the fibula out."""
    step = np.array([f.shift_mm[0] * TALAR_SHIFT.get(f.pattern, 0.0), 0.0, 0.0])
    bones = [replace(b, centre=b.centre + step) if b.name in FOOT_BONES else b
             for b in limb.bones]
    return replace(limb, bones=bones)


def side_marker(pixels: np.ndarray, labels: np.ndarray, side: str, view: str) -> None:
    """The lead letter of the side examined, in the upper outer corner of the field."""
    h, w = pixels.shape
    size = max(10, int(min(h, w) * 0.07))
    im = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(im)
    text = "L" if side == "left" else "R"
    right = (side == "left") if view != "lateral" else True
    x = int(w * 0.86) if right else int(w * 0.06)
    d.text((x, int(h * 0.04)), text, fill=255, font=ImageFont.load_default(size=size))
    m = np.asarray(im) > 128
    pixels[m] = 250
    labels[m] = LABELS["side_marker"]


def label_projection(wrist: Wrist, f: Fracture | None, view: str, side: str,
                     bone: str = "radius") -> tuple[np.ndarray, float]:
    """The radius alone, projected with a parallel beam at MEASURE_PX: what the key's lateral
    numbers are read from, whatever view the film itself is."""
    n = 400
    geo = geometry(wrist, view, side, n, n, parallel=True)
    scale = MEASURE_PX / geo.px_obj
    geo = geometry(wrist, view, side, round(n / scale), round(n / scale), parallel=True)
    blocks, cls = voxelise(geo, wrist, f, only=(bone,), labels_only=True)
    pr = project(blocks, cls.items, geo.grid, geo.beam, geo.shape, geo.px_det,
                 labels_only=True)
    return named_labels(pr.labels, pr.label_names, np.zeros(geo.shape, bool), LABELS), geo.px_obj


class PhantomLimbXray(PhantomRenderer):
    """Wrist radiographs (PA, AP, lateral, PA oblique) with fractures and healing."""

    modality = "xray"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        return self.render_at((request, None), progress)

    def render_batch(self, requests: list[RenderRequest], progress: ProgressFn = no_progress
                     ) -> list[RenderResult]:
        spec = requests[0].spec if requests else None
        series = bool(spec and spec.findings and "healing_series" in spec.findings[0].modifiers)
        if series and requests:
            first = requests[0].seed
            items = [(replace(r, seed=first), HEALING_WEEKS[i % len(HEALING_WEEKS)])
                     for i, r in enumerate(requests)]
        else:
            items = [(r, None) for r in requests]
        return fan_out(self.render_at, items, progress, warm=(type(self).__module__,),
                       staged=self.render_at)

    def render_at(self, item: tuple[RenderRequest, float | None],
                  progress: ProgressFn = no_progress) -> RenderResult:
        """One variant; `weeks` set for a member of a healing series."""
        request, weeks = item
        spec = request.spec
        region = spec.region or "wrist"
        if region not in REGIONS:
            raise EngineError(f"The limb renderer draws the wrist, hand and ankle so far; it "
                              f"has no {region.replace('_', ' ')} model.")
        view = spec.view or "pa"
        if region in FRONTAL_AP and view == "pa":
            view = "ap"
        if region == "foot" and view in ("pa", "ap"):
            view = "dp"  # a foot's frontal film is dorsoplantar
        if view not in REGION_VIEWS[region]:
            names = ", ".join(v.upper() if len(v) == 2 else v for v in REGION_VIEWS[region])
            raise EngineError(f"{region.capitalize()} views are {names}; not '{view}'.")
        progress(0.05, "anatomy")
        side, age, sex = _who(spec, request.seed, _pattern_hint(spec))
        if region in JOINT_MODULES:
            return render_joint(request, JOINT_MODULES[region], view, side, age, sex, weeks)
        ill, rest = disease.split_findings(spec.findings, region)
        if ill is not None:  # bone disease: its own ages; a fracture may go through it
            age = age if spec.age is not None or spec.age_group else ill.default_age(
                request.seed)
            sex = spec.sex or ill.default_sex() or sex
        want = wanted(rest, age, sex, region)
        if region == "elbow":  # extended for the AP, flexed 90 degrees for the lateral
            wrist = build_elbow(request.seed, age, sex, flexed=view == "lateral")
        else:
            wrist = BUILDERS[region](request.seed, age, sex)
        f = None
        if ill is not None:  # the disease first: a fracture cuts the diseased bone
            wrist = disease.apply(wrist, ill, request.seed)
        if want is not None and want.pattern == "posterior_dislocation":
            wrist = dislocate(wrist, request.seed)
        elif want is not None and want.pattern == "anterior_dislocation":
            wrist = dislocate_anterior(wrist, request.seed)
        elif want is not None and want.pattern == "posterior_shoulder_dislocation":
            wrist = dislocate_posterior(wrist, request.seed)
        elif want is not None and want.pattern in dislocations.PATTERNS:
            wrist = dislocations.dislocate(wrist, want.pattern, request.seed)
        elif want is not None:
            series_weeks = weeks if weeks is not None else (0.0 if not want.healing_series
                                                            else None)
            f = build_fracture(wrist, request.seed, want.pattern, want.salter_harris,
                               want.mechanism, series_weeks or 0.0)
            f = deformity.apply(f, deformity.asked(rest[0].modifiers), wrist.scale)
            if want.pattern in CARRIES_HAND and f.salter_harris in (None, 1, 2):
                wrist = carry_hand(wrist, f)
            if want.pattern in TALAR_SHIFT:
                wrist = shift_talus(wrist, f)
            if region == "elbow":
                wrist = carry_forearm(wrist, f)
        if region == "elbow":  # a fracture's haemarthrosis lifts both fat pads
            wrist = replace(wrist, bones=[*wrist.bones, *fat_pads(wrist.scale, f is not None)])
        progress(0.3, "voxels")
        geo = geometry(wrist, view, side, request.width, request.height)
        blocks, cls = voxelise(geo, wrist, f)
        background, body, window_on = soft_tissue(geo, wrist)
        progress(0.6, "projection")
        pr = project(blocks, cls.items, geo.grid, geo.beam, geo.shape, geo.px_det,
                     container="muscle", background=background)
        q = expose(pr.line, geo.px_det, np.random.default_rng([request.seed, 19, 2]), EXTREMITY)
        ankle = region == "ankle"  # window on the leg, the foot equalised
        pixels = display(q, geo.px_det, body, window_on=window_on,
                         equalise=0.8 if ankle else 0.0)
        labels = named_labels(pr.labels, pr.label_names, body, LABELS)
        side_marker(pixels, labels, side, view)
        progress(0.85, "measure")
        findings, text = self._key(wrist, f, want, labels, geo.px_obj, view, side, weeks)
        if ill is not None:  # the disease's sentence, after a fracture's if there is one
            sick, said = disease_key.finding(ill, wrist, pixels, labels, geo.px_obj, view,
                                             side, who=want is None)
            findings, text = sick + findings, (said if want is None else f"{text} {said}")
        present = {int(i): NAMES[int(i)] for i in np.unique(labels) if i}
        tags = {"modality": "DX", "view": view, "region": region, "laterality": side,
                "engine": "phantom", "sex": sex, "age": f"{age:.0f}",
                "magnification": f"{geo.px_det / geo.px_obj:.3f}"}
        if weeks is not None:
            tags["weeks"] = f"{weeks:g}"
        progress(1.0, "done")
        return RenderResult(pixels=pixels, label_map=labels, labels=present, findings=findings,
                            pixel_spacing_mm=(geo.px_obj, geo.px_obj), answer_key=text,
                            tags=tags)

    def _key(self, wrist: Wrist, f: Fracture | None, want: Wanted | None, labels: np.ndarray,
             px: float, view: str, side: str, weeks: float | None
             ) -> tuple[list[FindingResult], str]:
        if wrist.region == "shoulder":
            return _shoulder_key(wrist, want, labels, px, view, side)
        if want is not None and want.pattern in dislocations.PATTERNS:
            m = dislocations.measure(labels, px, want.pattern, wrist.region)
            text = f"{dislocations.sentence(want.pattern, m, view)} " \
                f"{key.who(side, view, wrist.age, wrist.region)}"
            bone = "radius" if want.pattern == "elbow_dislocation" else (
                "lunate" if want.pattern == "lunate_dislocation" else "capitate")
            ys, xs = np.nonzero(labels == LABELS[bone])
            bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
                if len(ys) else None
            return [FindingResult("dislocation", LABELS[bone], bbox, side, wrist.region, text,
                                  m)], text
        if want is not None and want.pattern in JOINTS:
            head, socket, joint = JOINTS[want.pattern]
            m = _hip_numbers(labels, px, head, socket)
            text = key.dislocation_sentence(want, m, view, side, wrist.age, joint)
            ys, xs = np.nonzero(labels == LABELS[head])
            bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
                if len(ys) else None
            return [FindingResult("dislocation", LABELS[head], bbox, side, joint, text, m)], \
                text
        if f is None or want is None:
            return [], key.normal_sentence(wrist, labels, px, view, side)
        m = measure_fracture(wrist, f, labels, px, view, side)
        if weeks is not None:
            m["weeks"] = float(weeks)
        line = labels == LABELS["fracture_line"]
        ys, xs = np.nonzero(line | (labels == LABELS["fragment_distal"])
                            | (labels == LABELS["callus"]))
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
            if len(ys) else None
        text = key.fracture_sentence(f, want, m, view, side, wrist.age)
        where = {"scaphoid": "scaphoid", "fibula": "lateral_malleolus",
                 "metacarpal_5": "fifth_metacarpal", "humerus": "supracondylar",
                 "femur": "femoral_neck", "tibia": "tibial_shaft"}.get(f.bone, "distal_radius")
        return [FindingResult("fracture", LABELS["fracture_line"], bbox, side, where, text,
                              m)], text


def _shoulder_key(limb: Wrist, want: Wanted | None, labels: np.ndarray, px: float,
                  view: str, side: str) -> tuple[list[FindingResult], str]:
    """The shoulder's key (AP or Y view), normal or dislocated."""
    m = shoulder_numbers(labels, px, view, side)
    pattern = want.pattern if want is not None else None
    text = shoulder_sentence(pattern, m, view, side, limb.age)
    if pattern is None:
        return [], text
    ys, xs = np.nonzero(labels == LABELS["humeral_head"])
    bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
        if len(ys) else None
    return [FindingResult("dislocation", LABELS["humeral_head"], bbox, side, "shoulder", text,
                          m)], text


def measure_fracture(wrist: Wrist, f: Fracture, labels: np.ndarray, px: float, view: str,
                     side: str) -> dict[str, float]:
    """Numbers of a fracture from label maps: this film's, and for distal radial fractures
    label projections of the radius as built and as it was before the injury."""
    L = LABELS
    m: dict[str, float] = {}
    line_id = L["fracture_line"]
    m["gap_mm"] = round(ms.gap_mm(labels, line_id, px), 2)
    m["callus_area_mm2"] = round(ms.area_mm2(labels, L["callus"], px), 1)
    if f.bone == "fibula" and view in ("ap", "mortise"):
        m.update(_weber_numbers(labels, px))
    radius_ids = [L[n] for n in RADIUS_PARTS]
    if f.bone == "radius" and view in ("pa", "ap"):
        top = ms.end_row(labels, radius_ids)
        rows = np.flatnonzero((labels == line_id).any(axis=1))
        if top is not None and len(rows):
            m["distance_to_articular_mm"] = round(float(np.median(rows) - top) * px, 1)
    zone_ids = {"epiphysis": L["radius_epiphysis"], "physis": L["radius_physis"],
                "metaphysis": L["radius_metaphysis"]}
    if f.salter_harris and view in ("pa", "ap"):
        zones = ms.zones_crossed(labels, line_id, zone_ids)
        m["crosses_epiphysis"] = float("epiphysis" in zones)
        m["crosses_physis"] = float("physis" in zones)
        m["crosses_metaphysis"] = float("metaphysis" in zones)
    if f.bone == "radius" and (f.pattern in ("colles", "smith")
                               or f.salter_harris in (1, 2)):
        m.update(_distal_radius_numbers(wrist, f, side))
    if f.pattern == "boxer":
        m.update(_head_numbers(wrist, f, side))
    if f.bone == "femur":
        m.update(_hip_numbers(labels, px))
        head = np.nonzero(labels == L["femoral_head"])
        line = np.nonzero(labels == line_id)
        if len(head[0]) and len(line[0]):
            m["line_from_head_centre_mm"] = round(float(np.hypot(
                np.median(line[0]) - head[0].mean(), np.median(line[1]) - head[1].mean())) * px,
                1)
    if f.pattern == "segmental":  # pieces along the shaft (knee.shaft_fragments)
        m["tibial_fragments"] = float(knee.shaft_fragments(labels, L))
    if f.bone == "humerus" and view == "lateral":
        m["posterior_fat_pad_mm2"] = round(ms.area_mm2(labels, L["posterior_fat_pad"], px), 1)
    return m


def _head_numbers(limb: Wrist, f: Fracture, side: str) -> dict[str, float]:
    """A metacarpal head tipped into the palm, from lateral label projections of the bone
    broken and unbroken: the size of the rotation laying the unbroken head onto the fragment
    (a head is nearly symmetric, so the overlap cannot tell the two ways apart) and its sense
    from where the fragment's centre moved (volar, image left: into the palm, apex dorsal)."""
    L = LABELS
    lat_f, _px = label_projection(limb, f, "lateral", side, f.bone)
    lat_n, _ = label_projection(limb, None, "lateral", side, f.bone)
    frag = lat_f == L["fragment_distal"]
    prox = lat_f == L[f.bone]
    if not frag.any() or not prox.any():
        return {}
    cut_row = int(np.median([np.flatnonzero(prox[:, c]).min()
                             for c in np.flatnonzero(prox.any(axis=0))]))
    before = lat_n == L[f.bone]
    before[cut_row:] = False
    ang, _iou = ms.rotation_between(before, frag)
    shift = (np.nonzero(frag)[1].mean() - np.nonzero(before)[1].mean()) * _px
    sense = 1.0 if shift <= 0 else -1.0  # toward the palm (image left) +
    return {"angulation_deg": round(sense * abs(ang), 1),
            "displacement_mm": round(float(-shift), 1)}


def _distal_radius_numbers(wrist: Wrist, f: Fracture, side: str) -> dict[str, float]:
    """From lateral label projections of the radius broken and unbroken: the fragment's
    rotation (angulation, dorsal +), the articular tilt, the shift of the fragment's centre
    and the length lost at its distal end (shortening)."""
    L = LABELS
    out: dict[str, float] = {}
    end_ids = [L["fragment_distal"], L["radius_epiphysis"], L["radius"]]
    shaft = [L["radius"], L["radius_metaphysis"]]
    lat_f, px = label_projection(wrist, f, "lateral", side)
    lat_n, _ = label_projection(wrist, None, "lateral", side)
    axis = ms.shaft_axis(lat_n, shaft, px)
    frag = np.isin(lat_f, [L["fragment_distal"]]) if (lat_f == L["fragment_distal"]).any() \
        else np.isin(lat_f, [L["radius_epiphysis"]])
    prox = np.isin(lat_f, shaft)
    if axis is not None and frag.any() and prox.any():
        # the piece the fragment was: the unbroken radius distal to the proximal piece's end
        cut_row = int(np.median([np.flatnonzero(prox[:, c]).min()
                                 for c in np.flatnonzero(prox.any(axis=0))]))
        before = np.isin(lat_n, end_ids + shaft)
        before[cut_row:] = False
        ang, _iou = ms.rotation_between(before, frag)
        t_n = ms.articular_tilt(lat_n, end_ids, axis, px)
        out["angulation_deg"] = round(ang, 1)  # + dorsal
        if t_n is not None:
            out["palmar_tilt_deg"] = round(t_n - ang, 1)
            out["dorsal_tilt_deg"] = round(ang - t_n, 1)
        cf = np.nonzero(frag)[1].mean()
        cn = np.nonzero(before)[1].mean()
        out["displacement_mm"] = round(float(cf - cn) * px, 1)  # + dorsal
    # length lost: the fragment's most distal point against the unbroken bone's, along the
    # shaft on the same lateral projections
    top_f = ms.end_row(lat_f, [*end_ids, L["fracture_line"]])
    top_n = ms.end_row(lat_n, end_ids)
    if top_f is not None and top_n is not None:
        out["shortening_mm"] = round(float(top_f - top_n) * px, 1)
    return out


def _hip_numbers(labels: np.ndarray, px: float, head_name: str = "femoral_head",
                 socket_name: str = "acetabulum") -> dict[str, float]:
    """How far a ball's centre (its label's centroid: the femoral or humeral head) lies from
    its socket's visible label's centroid (acetabulum, glenoid), on the AP."""
    head = labels == LABELS[head_name]
    cup = labels == LABELS[socket_name]
    if not head.any() or not cup.any():
        return {}
    hy, hx = np.nonzero(head)
    cy, cx = np.nonzero(cup)
    return {"head_offset_mm": round(float(np.hypot(hy.mean() - cy.mean(),
                                                   hx.mean() - cx.mean())) * px, 1),
            "head_above_cup_mm": round(float(cy.mean() - hy.mean()) * px, 1)}


def _weber_numbers(labels: np.ndarray, px: float) -> dict[str, float]:
    """Where the fibular line lies against the tibial plafond (frontal views, distal down):
    the plafond is the lowest tibial row over the middle of the tibia (between the malleoli,
    clear of the fibula); + above it."""
    tibia = np.isin(labels, [LABELS[n] for n in ("tibia", "tibia_epiphysis")])
    cols = np.flatnonzero(tibia.any(axis=0))
    line = labels == LABELS["fracture_line"]
    if len(cols) < 10 or not line.any():
        return {}
    mid = cols[len(cols) * 3 // 10: len(cols) * 6 // 10]
    plafond = float(np.median([np.flatnonzero(tibia[:, c]).max() for c in mid]))
    rows = np.flatnonzero(line.any(axis=1))
    return {"line_top_above_plafond_mm": round((plafond - rows.min()) * px, 1),
            "line_bottom_above_plafond_mm": round((plafond - rows.max()) * px, 1)}


def limb_renderer() -> PhantomLimbXray:
    return PhantomLimbXray()


JOINT_MODULES = {"knee": knee, "foot": foot}  # joints whose module builds its own scene


def render_joint(request: RenderRequest, mod, view: str, side: str, age: float, sex: str,
                 weeks: float | None) -> RenderResult:
    """A joint whose module (knee.py, foot.py) builds the scene, measures and keys it: the
    same film steps (voxels, soft tissue, projection, detector, display), a horizontal-beam
    or foot lateral filmed along the limb and turned upright."""
    sc = mod.scene(request.spec, request.seed, age, sex, view, weeks)
    w, h = (request.height, request.width) if sc.turn else (request.width, request.height)
    geo = geometry(sc.limb, sc.film_view, side, w, h)
    blocks, cls = voxelise(geo, sc.limb, sc.fracture)
    background, body, window_on = soft_tissue(geo, sc.limb)
    pr = project(blocks, cls.items, geo.grid, geo.beam, geo.shape, geo.px_det,
                 container="muscle", background=background)
    q = expose(pr.line, geo.px_det, np.random.default_rng([request.seed, 19, 2]), EXTREMITY)
    pixels = display(q, geo.px_det, body, window_on=window_on, equalise=sc.equalise)
    labels = named_labels(pr.labels, pr.label_names, body, LABELS)
    if sc.turn:
        pixels, labels = np.ascontiguousarray(np.rot90(pixels)), np.ascontiguousarray(
            np.rot90(labels))
    side_marker(pixels, labels, side, "lateral" if sc.turn else view)
    m = mod.measure(sc, labels, LABELS, geo.px_obj, view)
    if weeks is not None:
        m["weeks"] = float(weeks)
    text = mod.key_text(sc, m, view, side)
    findings = []
    if sc.fracture is not None or m:
        name, label, where = mod.finding_name(sc)
        ys, xs = np.nonzero(np.isin(labels, [LABELS[label], LABELS["fragment_distal"]]))
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
            if len(ys) else None
        findings.append(FindingResult(name, LABELS[label], bbox, side, where, text, m))
    present = {int(i): NAMES[int(i)] for i in np.unique(labels) if i}
    tags = {"modality": "DX", "view": view, "region": sc.limb.region, "laterality": side,
            "engine": "phantom", "sex": sex, "age": f"{age:.0f}",
            "magnification": f"{geo.px_det / geo.px_obj:.3f}"}
    if weeks is not None:
        tags["weeks"] = f"{weeks:g}"
    return RenderResult(pixels=pixels, label_map=labels, labels=present, findings=findings,
                        pixel_spacing_mm=(geo.px_obj, geo.px_obj), answer_key=text, tags=tags)
