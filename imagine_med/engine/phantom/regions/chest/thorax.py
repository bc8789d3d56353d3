"""Thorax step: the body wall (skin-side fat over a muscle layer: torso, shoulder cap, neck),
the film-only outline for the lateral view, the thoracic cavity's fat and the breasts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.geometry import (
    Convex,
    LimbProfile,
    Profile,
    Solid,
    cylinder_q,
    ellipsoid,
    ellipsoid_q,
    halfspace,
    rotation,
    smoothstep,
)
from imagine_med.engine.phantom.regions.chest.frame import SIDES, Frame
from imagine_med.engine.phantom.scene import Component


@dataclass
class Wall:
    """The body wall as later steps need it: its top, outer radii and pieces."""

    z_top: float
    rx_b: float
    ry_b: float
    torso: Convex
    body_pieces: list[Convex]


def body_wall(fr: Frame) -> Wall:
    """The fat envelope with a muscle layer inside, and the cavity's mediastinal fat. Films
    get the body as one smooth surface (`body_profile`); CT slices keep the box model (a
    torso column, a shoulder cap roofed by two planes and a neck), which a slice shows only
    in cross-section."""
    s, zT, a_mid, b_mid, fat, scene = fr.s, fr.zT, fr.a_mid, fr.b_mid, fr.fat, fr.scene
    z_top = zT(1) + 18 * s
    rx_b, ry_b = a_mid + 14 * s + fat, b_mid + 14 * s + fat * 0.9
    neck_r = np.array([52, 50]) * s * (1.0 + fat / (100 * s))
    if fr.view == "ct":
        torso, body_pieces = _box_body(fr, rx_b, ry_b, neck_r, z_top)
    else:
        outer, arms = body_and_arms(fr, rx_b, ry_b, neck_r, z_top)
        torso = Convex([outer], outer.box())
        inner = Profile(outer.z, outer.a - fat, outer.b - 0.9 * fat, outer.cy)
        body_pieces = [torso]
        scene.add(Component("subcutaneous_fat", "fat", "air", Solid([torso]), label_priority=1,
                            ct=False))
        scene.add(Component("muscle", "muscle", "fat", Solid([Convex([inner], inner.box())]),
                            label_priority=2, ct=False))
        if arms is not None:
            _add_arms(fr, *arms, torso)
    # the thoracic cavity (and upper abdomen): mediastinal / extrapleural fat by default
    cav_piece = fr.cavity.with_(halfspace([0, 0, 1], z_top - 4 * s))
    scene.add(Component("mediastinal_fat", "cavity", "muscle", Solid([cav_piece]),
                        label_priority=3, label_min_mm=30))
    return Wall(z_top, rx_b, ry_b, torso, body_pieces)


# the body outline's levels (mm at body size 1, from the humeral head's centre and the top of
# the torso): the shoulder is widest at the humeral head, the deltoid reaching ~44 mm beyond
# it (rx_b + 30); the neck meets the trapezius ~80 mm above the torso's top (adult shoulder
# slope ~20-25 degrees from the horizontal between acromion and neck)
SHOULDER_REACH = 30.0
NECK_BASE = 80.0
PARASPINAL_BULGE = 20.0  # lateral film: the back's muscle bulge behind the ribs' curve
# frontal films: the arm (a `LimbProfile` joined to the body, `arm_profiles`). Its axis runs
# from 30 mm above the humeral head's centre (6 mm lateral to it) down toward the elbow,
# 310 mm below the head; the upper arm's half-width and half-depth at mid-arm (~80 x 88 mm:
# adult mid-arm circumference ~260-330 mm); abducted ~25 degrees on a PA (hands on the
# hips, elbows out), ~12 supine with the arms at the sides
ARM_HALF = (40.0, 44.0)
ARM_LENGTH = 340.0
ABDUCTION_DEG = {"pa": 25.0, "ap": 12.0}
# the axillary notch's dome: the skin's curve where the arm's medial side meets the chest
# wall (the axillary folds' free edges), a circle tangent to both (radius ~15-20 mm, about
# the hollow a finger fits); the outline turns from the shoulder
# down into the arm over SHOULDER_ROUND (a real deltoid's curve, radius 30-50 mm)
AXILLA_RADIUS = 16.0
SHOULDER_ROUND = 60.0


def body_profile(fr: Frame, rx_b: float, ry_b: float, neck_r: np.ndarray, z_top: float
                 ) -> Profile:
    """The skin surface for films as height profiles: the flanks curve gently in toward the
    waist, rise over the shoulders (widest at the humeral heads; arms raised on a lateral,
    so no shoulder there) and turn through the trapezius' convex-concave slope into the
    neck, which narrows upward; the depth falls from the chest's to the neck's over the
    same span. Every join is a smoothstep, so the outline has no corner. Below the shoulder
    the frontal films' outline is the arm's (`arm_profiles`): the body's own edge falls
    under it to the chest wall, smoothly with height, and the axillary notch is cut out of
    the arm. The skin itself is
    not drawn: 2 mm of dermis over fat differs by 0.0012/mm (a line of a grey level or two,
    measured) and would cost a body-sized solid; a film's skin line is this surface's edge
    against air."""
    return body_and_arms(fr, rx_b, ry_b, neck_r, z_top)[0]


def body_and_arms(fr: Frame, rx_b: float, ry_b: float, neck_r: np.ndarray, z_top: float
                  ) -> tuple[Profile, tuple[list[LimbProfile], list[LimbProfile], float] | None]:
    """`body_profile` and, on frontal films, `arm_profiles`' arms, notches and dome height
    (None on a lateral), from one pass (the notch's rounding is the costly part)."""
    s = fr.s
    z, flank, a_up, neck_b = _outline_heights(fr, rx_b, neck_r, z_top)
    if fr.view == "lateral":
        a, arms = a_up, None
    else:
        a, arm, notch, z0 = _with_arm(fr, rx_b, ry_b, z, flank, a_up)
        arms = ([arm, _mirrored(arm)], [notch, _mirrored(notch)], z0)
    z_nb = z_top + NECK_BASE * s
    deep = smoothstep((z - (z_top - 30 * s)) / (z_nb - z_top + 30 * s))
    # lateral: one back outline, the paraspinal muscles' bulge being the body's own (even
    # with height, so it adds alike behind the upper and the lower spine: the spine sign)
    bulge = PARASPINAL_BULGE * s if fr.view == "lateral" else 0.0
    front = ry_b + (8 * s + neck_b - ry_b) * deep
    # lateral: the back's outline follows the thoracic kyphosis (the back alone moves, so the
    # body's depth changes with it; on a frontal film that would only thin the upper back)
    kyph = kyphosis(fr, z) if fr.view == "lateral" else 0.0
    back = -(ry_b + bulge) - kyph * (1 - deep) \
        + (8 * s - neck_b + ry_b + bulge) * deep
    return Profile(z, a, (front - back) / 2, (front + back) / 2), arms


# the thoracic kyphosis (Cobb angle T4-T12): ~26 degrees in young adults, rising with age
# (~0.35 degrees a year after 30) to ~40 at 70 (Fon, Pitt & Thies 1980, 316 subjects: 20-29
# years ~26, 60-79 years ~40; normal range ~20-45)
KYPHOSIS_DEG = (26.0, 0.35, 50.0)  # at 30 years or younger, per year after, at most


def kyphosis_deg(age: float) -> float:
    base, per_year, most = KYPHOSIS_DEG
    return float(min(base + per_year * max(age - 30.0, 0.0), most))


def kyphosis(fr: Frame, z: np.ndarray) -> np.ndarray:
    """How far (mm) the back's skin lies behind its straight line from T4 to T12: a circular
    arc between them turning by the Cobb angle (its tangents there tilted by half of it),
    continued along those tangents above and below (the back leaning forward toward the
    neck, and toward the lumbar lordosis)."""
    half = np.radians(kyphosis_deg(fr.age)) / 2
    z4, z12 = fr.zT(4), fr.zT(12)
    zm, c = 0.5 * (z4 + z12), 0.5 * (z4 - z12)
    r = c / np.sin(half)
    dz = np.abs(z - zm)
    arc = np.sqrt(np.maximum(r * r - np.minimum(dz, c) ** 2, 0.0)) - r * np.cos(half)
    return np.where(dz <= c, arc, -(dz - c) * np.tan(half))


def _outline_heights(fr: Frame, rx_b: float, neck_r: np.ndarray, z_top: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Heights (1 mm apart), the chest wall's flank, the outline's half-width from the
    shoulder up through the trapezius into the neck (frontal; the lateral view's width
    rounds over the cavity's top), and the neck's half-depth."""
    s, zT = fr.s, fr.zT
    z = np.arange(zT(16), z_top + 300 * s, 1.0)
    z_sh = zT(1) - 6 * s
    z_nb = z_top + NECK_BASE * s
    flank = rx_b * np.sqrt(np.maximum(1 - ((z - (z_sh - 60 * s)) / (720 * s)) ** 2, 0.0))
    taper = np.sqrt(np.maximum(1 - ((z - (z_top - 40 * s)) / (400 * s)) ** 2, 1e-4))
    neck_a, neck_b = neck_r[0] * taper, neck_r[1] * 1.06 * taper
    if fr.view == "lateral":
        # the beam runs along x: the width is path length only, not outline. The arms are
        # raised, so the shoulder girdle's bulk leaves the beam: the width rounds off over
        # the cavity's top (the wall's ellipse, 14 mm + fat outside the cavity, 85 mm above)
        dome = rx_b * np.sqrt(np.maximum(1 - ((z - fr.zc) / (fr.rz_cav + 85 * s)) ** 2, 0.0))
        return z, flank, np.maximum(dome, neck_a), neck_b
    # the shoulder's full width (flat at the humeral head); the slope's start eased
    # (u^1.4): the shoulder stays full over the acromion, which sits ~40 mm above the
    # humeral head's centre, before the trapezius falls to the neck
    shoulder = np.interp(z_sh, z, flank) + SHOULDER_REACH * s
    u = np.clip((z - z_sh) / (z_nb - z_sh), 0.0, 1.0) ** 1.4
    return z, flank, shoulder + (neck_a - shoulder) * _smootherstep(u), neck_b


def _smootherstep(u: np.ndarray) -> np.ndarray:
    """6u^5 - 15u^4 + 10u^3: level ends with no curvature there. The trapezius' fall into
    the neck with a smoothstep (curvature 6 at its ends) met the vertical neck in a ~12 mm
    fillet (the outline's radius is 1 / x'' where it is vertical); this one bends the most
    where the outline already slopes (radius ~45 mm; a real neck-shoulder curve 30-50)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (u * (6.0 * u - 15.0) + 10.0)


def _arm_axis(fr: Frame, rx_b: float, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arm's natural section along its axis at heights z: centre x (one side, +), its
    half-width and half-depth (tapering toward the elbow as the old ellipsoid did), centre
    y. The humerus (`shoulders`) hangs on the same line."""
    s = fr.s
    z_sh = fr.zT(1) - 6 * s
    top_z = z_sh + 30 * s
    slope = np.tan(np.radians(ABDUCTION_DEG[fr.view]))
    cx = rx_b - 10 * s + slope * (z_sh - z)  # 4 mm lateral to the humeral head's centre
    mid = top_z - ARM_LENGTH * s / 2
    f = np.sqrt(np.maximum(1 - ((z - mid) / (ARM_LENGTH * s / 2 * 1.1)) ** 2, 0.02))
    cy = fr.y_cav - 22 * s + 16 * s * np.clip((top_z - z) / (ARM_LENGTH * s), 0, 1)
    return cx, ARM_HALF[0] * s * f, ARM_HALF[1] * s * f, cy


NOTCH_GRID_MM = 0.5  # the notch's rounding is found on a grid this fine (a tenth of a px)


def _notch(z: np.ndarray, x_wall: np.ndarray, x_arm: np.ndarray, r: float
           ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per height z, the air between the chest wall (tissue at x < x_wall) and the arm's
    medial side (tissue at x > x_arm), with the tissue's concave corner where they part
    rounded to radius r: the gap's opening in the (x, z) plane (eroded by r, then dilated
    by r, by distance transforms), so the dome is an arc tangent to both sides. Returns
    the notch's left and right x per height (nan where closed: above the dome), and the
    same on the finer grid (heights, left, right) for the notch's own profile."""
    gap = x_arm - x_wall
    rows = np.flatnonzero(gap > 0)
    left, right = np.full(len(z), np.nan), np.full(len(z), np.nan)
    if not len(rows):
        return left, right, (z[:2], x_wall[:2], x_wall[:2])
    h = NOTCH_GRID_MM
    # the rounding only reaches down to where the gap is 2 radii wide (its circle touches
    # both sides there; 2.5 kept): below, the sides are the wall and the arm themselves
    wide = rows[gap[rows] > 2.5 * r]
    z_lo = max(z[rows].min(), z[wide].max() - 2 * r) if len(wide) else z[rows].min()
    win = rows[z[rows] >= z_lo]
    zs = np.arange(z_lo - 2 * r, z[win].max() + h, h)
    xs = np.arange(x_wall[win].min() - h, x_arm[win].max() + h, h)
    wall, arm = np.interp(zs, z, x_wall), np.interp(zs, z, x_arm)
    air = (xs[None, :] > wall[:, None]) & (xs[None, :] < arm[:, None])
    core = ndimage.distance_transform_edt(air) * h >= r
    opened = ndimage.distance_transform_edt(~core) * h <= r
    has = opened.any(1)
    first = xs[np.argmax(opened, 1)]
    last = xs[opened.shape[1] - 1 - np.argmax(opened[:, ::-1], 1)]
    lo, hi = np.where(has, first, np.nan), np.where(has, last, np.nan)
    below = (gap > 0) & (z < z_lo)
    left[below], right[below] = x_wall[below], x_arm[below]
    inside = (z >= z_lo) & (z <= zs[-1])
    idx = np.clip(np.round((z[inside] - zs[0]) / h).astype(int), 0, len(zs) - 1)
    left[inside], right[inside] = lo[idx], hi[idx]
    fine = zs >= z_lo
    zs, lo, hi = zs[fine], lo[fine], hi[fine]
    # the coarse grid's heights below the window, on the fine grid's spacing
    zb = np.arange(zs[0] - h * np.floor((zs[0] - z[rows].min()) / h), zs[0] - h / 2, h)
    zs = np.concatenate([zb, zs])
    lo = np.concatenate([np.interp(zb, z, x_wall), lo])
    hi = np.concatenate([np.interp(zb, z, x_arm), hi])
    return left, right, (zs, lo, hi)


def _with_arm(fr: Frame, rx_b: float, ry_b: float, z: np.ndarray, flank: np.ndarray,
              a_up: np.ndarray) -> tuple[np.ndarray, LimbProfile, LimbProfile, float]:
    """The frontal body's half-width with the arm joined (one side; the body is symmetric),
    the arm's profile and the axillary notch's (+x side) and the axillary dome's height.
    The outline is the shoulder's above the humeral head and turns over SHOULDER_ROUND
    into the arm's lateral side below. Body and arm keep sections that change smoothly
    with height (any jump in a section's width draws a line across it on the film): around
    the dome the arm reaches ARM_UNDER in under the chest wall (so its full depth, not its
    thin edge, lies beside the wall's thin edge: two thin edges side by side leave a dark
    valley), and the notch is cut out of it (`_notch`: the gap between the chest wall and
    the arm's own medial side, rounded at its top), so its dome is an arc tangent to both
    sides and the union's outline has no corner and no seam of air."""
    s = fr.s
    z_sh = fr.zT(1) - 6 * s
    cx, ha, hb, cy = _arm_axis(fr, rx_b, z)
    sh = np.interp(z_sh, z, a_up)
    outline = np.where(z >= z_sh, a_up,
                       sh + (cx + ha - sh) * smoothstep((z_sh - z) / (SHOULDER_ROUND * s)))
    medial = cx - ha
    left, _right, (zf, lf, rf) = _notch(z, flank, medial, AXILLA_RADIUS * s)
    open_ = np.flatnonzero((z < z_sh) & np.isfinite(left))
    z0 = float(z[open_.max()]) if len(open_) else float(z[0])  # the dome
    # the body's edge: the chest wall, rising under the arm over the last SHOULDER_ROUND
    # below the humeral head to the shoulder's outline
    a = np.where(z >= z_sh, a_up,
                 flank + (outline - flank) * smoothstep(1 + (z - z_sh) / (SHOULDER_ROUND * s)))
    # (back to the arm's own section toward the humeral head, halfway up from the dome)
    up = max(0.5 * (z_sh - z0), 1.0)
    under = ARM_UNDER * s * smoothstep((z - z0) / (ARM_UNDER_FADE * s) + 1) \
        * (1 - smoothstep((z - z0 - up) / up))
    cap = CAP_MM * s
    keep = z <= z_sh + cap
    zz = z[keep]
    shrink = np.where(zz <= z_sh, 1.0, np.sqrt(np.clip(1 - ((zz - z_sh) / cap) ** 2, 0, 1)))
    m = (medial - under)[keep]
    arm = LimbProfile(zz, np.maximum(0.5 * (outline[keep] - m) * shrink, 0.5),
                      np.maximum(hb[keep] * shrink, 0.5), 0.5 * (m + outline[keep]), cy[keep])
    # the cut on the notch's finer grid (its dome closes within a sample), one empty
    # sample above the dome
    k = np.flatnonzero(np.isfinite(lf) & (zf <= z0 + 1.0))
    sl = slice(k.min(), min(k.max() + 2, len(zf))) if len(k) else slice(0, 2)
    mid_x = np.nan_to_num(0.5 * (lf + rf), nan=float(np.nanmean(lf)) if len(k) else 0.0)
    half = np.where(np.isfinite(lf), 0.5 * (rf - lf) + NOTCH_MARGIN * s, 1e-3)
    notch = LimbProfile(zf[sl], half[sl],
                        np.full(len(zf), NOTCH_DEPTH * s)[sl], mid_x[sl],
                        np.interp(zf, z, cy)[sl])
    return a, arm, notch, z0


def _add_arms(fr: Frame, arms: list[LimbProfile], notches: list[LimbProfile], z0: float,
              torso: Convex) -> None:
    """The arms' soft tissue outside the body surface (one union: no seam, no overlap), the
    axillary notch cut out; the band round the notch's dome where the arm's medial side
    meets the chest wall (the folds' free edges bound the notch) labelled
    `axillary_fold`, the rest of the arm `muscle`."""
    s = fr.s
    band = (z0 - FOLD_BAND[0] * s, z0 + FOLD_BAND[1] * s)
    for arm, notch in zip(arms, notches, strict=True):
        lo, hi = arm.box()
        cut = Convex([notch], notch.box())
        for name, z_lo, z_hi in (("muscle", lo[2], band[0]), ("axillary_fold", *band),
                                 ("muscle", band[1], hi[2])):
            piece = Convex([arm, halfspace([0, 0, -1], -z_lo), halfspace([0, 0, 1], z_hi)],
                           _box_between(arm, z_lo, z_hi))
            fr.scene.add(Component(name, "soft", "air", Solid([piece], [torso, cut]),
                                   label_priority=1,
                                   label_min_mm=4 if name == "axillary_fold" else 3,
                                   ct=False, film_views=("pa", "ap")))


def _box_between(p: LimbProfile, z_lo: float, z_hi: float) -> tuple[np.ndarray, np.ndarray]:
    """The box of a limb profile's part between two heights (a sample either side kept):
    the arm's section reaches in under the body only round the dome, so its whole box
    would send every ray over the lateral lung through the arm's intervals."""
    k = np.flatnonzero((p.z >= z_lo - 1.0) & (p.z <= z_hi + 1.0))
    if not len(k):
        return np.array([0.0, 0.0, z_lo]), np.array([0.0, 0.0, z_lo])
    sl = slice(max(k.min() - 1, 0), k.max() + 2)
    lo = np.array([(p.cx - p.a)[sl].min(), (p.cy - p.b)[sl].min(), max(z_lo, p.z[0])])
    hi = np.array([(p.cx + p.a)[sl].max(), (p.cy + p.b)[sl].max(), min(z_hi, p.z[-1])])
    return lo, hi


# mm: around the dome the arm's section reaches this far in under the chest wall, fading
# out over ARM_UNDER_FADE below the dome and toward the humeral head above it (so the arm's
# section changes smoothly, and the head keeps the soft tissue round it it had)
ARM_UNDER = 60.0
ARM_UNDER_FADE = 60.0
NOTCH_DEPTH = 70.0  # the notch cut's half-depth: clears the arm (~44) front to back but for the
# last mm or two of its sides, where the arm's skin curves away (a skin line's soft edge)
# mm: the cut reaches this far past the notch's sides (and over its dome), so that its soft
# edge (where its elliptic section is shallower than the arm) lies on them: without it the
# air was ~12 mm narrower than the rounding's 2 radii (measured), a slot with a tight top
NOTCH_MARGIN = 5.0
FOLD_BAND = (40.0, 30.0)  # mm below and above the dome labelled axillary_fold


CAP_MM = 20.0  # the arm's rounded top inside the shoulder, above its join with the body


def arm_profiles(fr: Frame, rx_b: float, ry_b: float, neck_r: np.ndarray, z_top: float
                 ) -> tuple[list[LimbProfile], list[LimbProfile], float]:
    """Frontal films: both arms as `LimbProfile`s joined to `body_profile`'s surface, the
    axillary notches cut out of them, and the notch's dome height."""
    arms = body_and_arms(fr, rx_b, ry_b, neck_r, z_top)[1]
    assert arms is not None, "no arms on a lateral film"
    return arms


def _mirrored(p: LimbProfile) -> LimbProfile:
    return LimbProfile(p.z, p.a, p.b, -p.cx, p.cy)


def _box_body(fr: Frame, rx_b: float, ry_b: float, neck_r: np.ndarray, z_top: float
              ) -> tuple[Convex, list[Convex]]:
    """CT's body: a torso column, a shoulder cap roofed by two planes, a neck; each with a
    muscle layer under the fat. Returns the torso and the body's pieces."""
    s, zT, fat, scene = fr.s, fr.zT, fr.fat, fr.scene
    # the flanks curve in toward the waist (a tall ellipsoid clips the cylinder)
    z_waist = z_top + 40 * s

    def waist(rx: float, ry: float):
        return ellipsoid_q([0, 0, z_waist], [rx * 1.1, ry * 1.25, 620 * s])

    torso = Convex([cylinder_q([0, 0, 0], [rx_b, ry_b]), halfspace([0, 0, 1], z_top),
                    waist(rx_b, ry_b)],
                   (np.array([-rx_b, -ry_b, zT(14)]), np.array([rx_b, ry_b, z_top])))
    # the trapezius slopes from the neck down to the shoulder tips: two planes roof the cap
    slope = np.radians(28)

    def roof(inset: float) -> list:
        d = np.sin(slope) * neck_r[0] + np.cos(slope) * (z_top + 58 * s) - inset
        return [halfspace([sx * np.sin(slope), 0, np.cos(slope)], d) for sx in (-1, 1)]

    cap = ellipsoid([0, 0, z_top], [rx_b, ry_b, 62 * s], None,
                    halfspace([0, 0, -1], -z_top), *roof(0.0))
    # the neck narrows upward (a tall ellipsoid, not a cylinder)
    neck = Convex([ellipsoid_q([0, 8 * s, z_top - 40 * s], [neck_r[0] * 1.12, neck_r[1] * 1.06,
                                                            260 * s]),
                   halfspace([0, 0, -1], -z_top)],
                  (np.array([-neck_r[0], -60 * s, z_top]), np.array([neck_r[0], 60 * s,
                                                                      z_top + 260 * s])))
    scene.add(Component("subcutaneous_fat", "fat", "air", Solid([torso]), label_priority=1))
    scene.add(Component("subcutaneous_fat", "fat", "air", Solid([cap.with_()]),
                        label_priority=1))
    scene.add(Component("muscle", "muscle", "air", Solid([neck], [cap]), label_priority=1))
    mrx, mry = rx_b - fat, ry_b - fat * 0.9
    torso_m = Convex([cylinder_q([0, 0, 0], [mrx, mry]), halfspace([0, 0, 1], z_top),
                      waist(mrx, mry)],
                     (np.array([-mrx, -mry, zT(14)]), np.array([mrx, mry, z_top])))
    cap_m = ellipsoid([0, 0, z_top], [mrx, mry, 62 * s - fat], None,
                      halfspace([0, 0, -1], -z_top), *roof(fat))
    scene.add(Component("muscle", "muscle", "fat", Solid([torso_m]), label_priority=2))
    scene.add(Component("muscle", "muscle", "fat", Solid([cap_m]), label_priority=2))
    return torso, [torso, cap]


def breasts(fr: Frame, w: Wall) -> None:
    """Breasts by sex and age (from 13 years), hanging upright and flattened supine."""
    s, age, rand, scene, posture = fr.s, fr.age, fr.rand, fr.scene, fr.posture
    rx_b, ry_b, z_dome_r, torso = w.rx_b, w.ry_b, fr.z_dome_r, w.torso
    if not fr.female or age < 13:
        return
    bsz = s * rand.uniform(0.8, 1.25) * min(1.0, (age - 12) / 6)
    # habitus: breast volume follows body fat (the subcutaneous layer's draw; a woman's mean
    # is 20 mm at body size 1), so a slim woman's shadows are smaller than a heavy one's
    bsz *= float(np.clip(fr.fat / (20 * s), 0.6, 1.6)) ** 0.5
    for sx in SIDES.values():
        # set deep in the chest wall: only the lower part protrudes, so the upper margin
        # fades into the wall and the inframammary fold is the sharp edge
        # upright, the breast hangs: thickest at its lower pole, tapering up into the wall;
        # supine it flattens and falls to the side. A thinner cap (AP radius well under
        # the others) keeps it a soft density over the lower zones, not a bright disc
        if posture == "supine":
            c = np.array([sx * 0.6 * rx_b, ry_b - 26 * s, z_dome_r - 22 * s])
            radii, pitch = np.array([64, 42, 58]), -0.6
        else:
            c = np.array([sx * 0.46 * rx_b, ry_b - 24 * s, z_dome_r - 18 * s])
            radii, pitch = np.array([58, 50, 60]), -0.55
        # three nested shells, each a third of the density: where the breast meets the
        # chest wall its thickness rises in three small steps at different heights, so
        # that junction fades instead of drawing a sharp arc across the chest
        for k, f in enumerate((1.0, 0.86, 0.72)):
            br = ellipsoid(c - [0, (1 - f) * 20 * s, 0], radii * bsz * f,
                           rotation(pitch=pitch))
            scene.add(Component("breast", "breast", "air", Solid([br], [torso]),
                                label_priority=4, label_min_mm=8, labelled=k == 0,
                                xray_gain=1 / 3, ct=k == 0))

