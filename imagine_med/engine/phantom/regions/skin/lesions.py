"""Skin lesions as pigment by depth plus structure-level labels (one object per lesion).

A lesion adds to the skin's optical columns (physics/skin_optics.Columns): melanin in the
stratum corneum shows black, at the dermo-epidermal junction brown, in the dermis blue-grey
(so colour follows biology); blood shows red, fibrosis and regression white (more scatter),
keratin yellow-brown. Every structure paints its own label id, so what a key says about it
is measured from the label map (measure.py), never from the request.

Each builder reads as steps: outline -> body pigment -> structures, and draws from its own
seeded stream: the same seed gives the same lesion and labels on every skin type.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.skin.skin import F32, Field, noise

LABELS = {"lesion": 100, "pigment_network": 101, "globules": 102, "dots": 103, "streaks": 104,
          "blue_white_veil": 105, "regression": 106, "vessels": 107, "milia_like_cyst": 108,
          "comedo_like_opening": 109, "blue_grey_nests": 110, "central_white_patch": 111,
          "lacunae": 112, "scale": 113, "wheal": 114, "active_border": 115, "excoriation": 116,
          "keratin_mass": 117, "ulceration": 118, "follicular_openings": 119,
          "angulated_lines": 120}
MELANOCYTIC = ("naevus", "dysplastic_naevus", "melanoma", "blue_naevus", "spitz_naevus",
               "congenital_naevus", "melanoma_in_situ")
SEGMENTS = 8  # border segments (ABCD's B)
_NOWHERE = np.s_[0:0, 0:0]  # an empty window


@dataclass
class Lesion:
    """What a lesion adds to the skin, per pixel, and its labels (0: not the lesion)."""

    name: str
    labels: np.ndarray
    mel_corneal: np.ndarray
    mel_junction: np.ndarray
    mel_dermal: np.ndarray
    blood: np.ndarray
    scatter: np.ndarray
    keratin: np.ndarray
    skin_keep: np.ndarray          # fraction of the skin's own blood kept (1 outside)
    center_mm: tuple[float, float]
    plan: dict[str, float] = field(default_factory=dict)
    relief: np.ndarray | None = None  # raised or scaly surface (added to the skin's relief)
    surface: np.ndarray | None = None  # cover 0-1 of loose white scale lying on the skin

    def paint(self, w: np.ndarray, sl=np.s_[:, :], **add: float) -> None:
        for k, v in add.items():
            getattr(self, k)[sl] += F32(v) * w

    def label(self, mask: np.ndarray, name: str, sl=np.s_[:, :]) -> None:
        self.labels[sl][mask] = LABELS[name]


def _new(name: str, f: Field, center: tuple[float, float]) -> Lesion:
    shape = f.x.shape  # calloc'd zeros: a layer the lesion never paints costs no writes
    return Lesion(name, np.zeros(shape, np.uint8), *(np.zeros(shape, F32) for _ in range(6)),
                  np.ones(shape, F32), center)


@dataclass
class Outline:
    """Polar outline about the centre: rho, theta per pixel; r(theta) the border radius;
    `inside` the pigment profile 0-1 (soft where the border fades gradually)."""

    rho: np.ndarray
    theta: np.ndarray
    r: np.ndarray
    inside: np.ndarray
    body: np.ndarray
    radius_mm: float
    r_of: Callable[[float], float]  # border radius at a polar angle
    major_angle: float
    box: tuple[slice, slice] = _NOWHERE  # the window outside which `inside` is 0


def _outline(rng: np.random.Generator, f: Field, lesion: Lesion, radius: float, aspect: float,
             harmonics: list[tuple[int, float]], sharp: list[bool]) -> Outline:
    """Border radius r(theta) = R * ellipse * (1 + sum a_k cos(k theta + phi_k)); each of the
    8 segments fades sharply (0.03 mm) or gradually (0.7 mm). Worked on the window that holds
    the fade; beyond it rho is FAR, r the largest radius, inside and body 0 (what every
    builder's test of rho against r and every product with `inside` makes of far skin)."""
    cx, cy = lesion.center_mm
    rot = rng.uniform(0, np.pi)
    a, b = radius * np.sqrt(aspect), radius / np.sqrt(aspect)
    phases = [(k, amp, rng.uniform(0, 2 * np.pi)) for k, amp in harmonics]

    def r_of(ang):
        if isinstance(ang, float):  # one angle: math's functions, the same values as numpy's
            return _r_at(ang, rot, float(a), float(b), phases)
        t = ang - rot
        e = a * b / np.sqrt((b * np.cos(t)) ** 2 + (a * np.sin(t)) ** 2)
        return e * (1 + sum(amp * np.cos(k * ang + ph) for k, amp, ph in phases))

    # r(theta) from a table of 4096 angles (one gather instead of a cosine per harmonic)
    n_tab = 4096
    table = r_of(np.linspace(-np.pi, np.pi, n_tab + 1)).astype(F32)
    win = window(f, cx, cy, float(table.max()) + FADE_REACH)
    shape = f.x.shape
    win = _NOWHERE if win is None else win
    rho, r = _filled_outside(shape, win, FAR), _filled_outside(shape, win, table.max())
    theta, inside = np.zeros(shape, F32), np.zeros(shape, F32)
    body = np.zeros(shape, bool)
    if win is not _NOWHERE:
        dx, dy = f.x[0, win[1]] - F32(cx), f.y[win[0], 0] - F32(cy)  # a row, a column
        rho[win] = _distance(dx, dy)
        np.arctan2(dy[:, None], dx[None, :], out=theta[win])
        r[win], inside[win] = _border(table, theta[win], rho[win], sharp)
        body[win] = rho[win] < r[win]
        lesion.label(body[win], "lesion", win)
    return Outline(rho, theta, r, inside, body, radius, r_of, float(rot), win)


def _r_at(ang: float, rot: float, a: float, b: float,
          phases: list[tuple[int, float, float]]) -> float:
    """`_outline`'s r_of at one angle, in Python floats (a tenth of numpy's scalar cost)."""
    t = ang - rot
    e = a * b / math.sqrt((b * math.cos(t)) ** 2 + (a * math.sin(t)) ** 2)
    return e * (1 + sum(amp * math.cos(k * ang + ph) for k, amp, ph in phases))


def _distance(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """np.hypot(dx[None, :], dy[:, None]) for float32 offsets along a row and down a column
    (the field's x and y), value for value: hypotf is sqrt(x^2 + y^2) worked in double
    (glibc), so the squares are made once per row and column, the sums and roots a band of
    rows at a time (half the cost of hypot's per-pixel calls)."""
    sx, sy = dx.astype(np.float64), dy.astype(np.float64)
    sx *= sx
    sy *= sy
    out = np.empty((len(dy), len(dx)), F32)
    for i in range(0, len(dy), DISTANCE_ROWS):
        band = np.add(sy[i:i + DISTANCE_ROWS, None], sx[None, :])
        np.sqrt(band, out=band)
        out[i:i + DISTANCE_ROWS] = band
    return out


DISTANCE_ROWS = 64  # rows of double a band of `_distance` (384 KB at 768 px: in L2)


def _filled_outside(shape: tuple[int, int], win: tuple[slice, slice], value) -> np.ndarray:
    """A float32 array holding `value` outside the window (the window left to be written)."""
    out = np.empty(shape, F32)
    rows, cols = win
    i0, i1, _ = rows.indices(shape[0])
    j0, j1, _ = cols.indices(shape[1])
    if i1 <= i0 or j1 <= j0:
        out[:] = value
        return out
    out[:i0], out[i1:] = value, value
    out[i0:i1, :j0], out[i0:i1, j1:] = value, value
    return out


FADE_REACH = 0.5  # mm beyond the largest border radius that the outline's window reaches:
# the widest fade (0.7 mm) is 0 from half its width beyond the border
FAR = F32(1e4)  # rho (mm) beyond the outline's window: farther than any border


def _border(table: np.ndarray, theta: np.ndarray, rho: np.ndarray, sharp: list[bool]
            ) -> tuple[np.ndarray, np.ndarray]:
    """The border radius r(theta) at each pixel (from `table`) and the pigment profile
    `inside` 0-1: each segment's fade width, blended over the outer 15 % of a segment on
    either side (log scale), so a change of border type leaves no radial seam. The fade is
    worked out on the ring within FADE_RING of the border only: farther in `inside` is 1,
    farther out 0 (what the clip makes of a gap over half the widest fade)."""
    n_tab = len(table) - 1
    turn = theta + F32(np.pi)  # 0-2pi
    r = table[(turn * F32(n_tab / (2 * np.pi)) + F32(0.5)).astype(np.int32)]
    gap = r - rho
    inside = (gap > 0).astype(F32)
    ring = np.flatnonzero(np.abs(gap) < F32(FADE_RING))
    pos = turn.ravel()[ring] / F32(2 * np.pi) * SEGMENTS - F32(0.5)
    i0 = np.floor(pos).astype(np.int32)
    frac = np.clip((pos - i0 - F32(0.35)) / F32(0.3), 0.0, 1.0)
    logw = np.log(np.where(np.asarray(sharp), 0.03, 0.7)).astype(F32)
    seg = np.arange(-1, SEGMENTS + 1)  # i0 runs -1..SEGMENTS: the two log widths by i0 + 1
    i0 += 1
    w = np.exp(logw[seg % SEGMENTS][i0] * (1 - frac) + logw[(seg + 1) % SEGMENTS][i0] * frac)
    inside.ravel()[ring] = np.clip(gap.ravel()[ring] / w + 0.5, 0.0, 1.0)
    return r, inside


FADE_RING = 0.36  # mm either side of the border where a fade (at most 0.7 mm wide) is not
# yet flat: beyond it (gap / width + 0.5) is over 1 or under 0 whatever the segment


def _sharp_segments(rng: np.random.Generator, n: int) -> list[bool]:
    """n abrupt segments in one contiguous run (a real border is cut off over an arc)."""
    start = int(rng.integers(0, SEGMENTS))
    return [((i - start) % SEGMENTS) < n for i in range(SEGMENTS)]


def _network(rng: np.random.Generator, f: Field, spacing: float, width: float, warp: float,
             broken: float, box: tuple[slice, slice] = np.s_[:, :]) -> np.ndarray:
    """Reticular lines 0-1 round lighter holes (`_network_on`), drawn on `box` only (0
    elsewhere: the outline's, beyond which the network is painted with weight 0)."""
    on = _network_on(rng, f, spacing, width, warp, broken)
    out = np.zeros(f.x.shape, F32)
    out[box] = on(box)
    return out


def _network_on(rng: np.random.Generator, f: Field, spacing: float, width: float,
                warp: float, broken: float) -> Callable[[tuple[slice, slice]], np.ndarray]:
    """Reticular lines 0-1 round lighter holes (a honeycomb `spacing` mm across): the sum of
    three warped cosine waves 120 degrees apart peaks at the holes' centres on a triangular
    lattice, so its low ground is a hexagonal net of lines; `width` (0-1) thickens the
    lines, `broken` > 0 interrupts them (an atypical network). Its noise is drawn whole
    here; the lines are worked out on the window they are asked for (the same values
    whatever the window)."""
    shape = f.x.shape
    cells = max(3, int(f.width_mm / 1.5))
    wx, wy = noise(rng, shape, cells), noise(rng, shape, cells)
    k = F32(2 * np.pi / spacing * 2 / np.sqrt(3))
    base = rng.uniform(0, np.pi)
    gaps = noise(rng, shape, int(f.width_mm / 0.4)) > F32(1.0 - broken * 2.0) \
        if broken > 0 else None

    def on(box: tuple[slice, slice]) -> np.ndarray:
        x, y = f.x[box] + F32(warp) * wx[box], f.y[box] + F32(warp) * wy[box]
        h = np.zeros(x.shape, F32)
        for n in range(3):
            a = base + n * 2 * np.pi / 3
            h += np.cos(k * (x * F32(np.cos(a)) + y * F32(np.sin(a))))
        out = np.clip((F32(width * 2.0 - 0.6) - h) / F32(0.9), 0.0, 1.0)
        if gaps is not None:
            out[gaps[box]] *= F32(0.25)
        return out

    return on


def window(f: Field, cx: float, cy: float, r: float):
    """The pixel window (a slice) round a disc, or None off the image."""
    h, w = f.x.shape
    px = f.px
    j0 = int(max(0, (cx - r) / px + w / 2 - 2))
    j1 = int(min(w, (cx + r) / px + w / 2 + 3))
    i0 = int(max(0, (cy - r) / px + h / 2 - 2))
    i1 = int(min(h, (cy + r) / px + h / 2 + 3))
    if j1 <= j0 or i1 <= i0:
        return None
    return slice(i0, i1), slice(j0, j1)


def _stamp(f: Field, cx: float, cy: float, r: float):
    """The window around a disc: (slice, soft disc 0-1 on it, hard mask)."""
    px = f.px
    sl = window(f, cx, cy, r)
    if sl is None:
        return None
    # the field's x varies along rows only, y down columns: one row and one column of it
    d = np.hypot(f.x[0, sl[1]] - F32(cx), (f.y[sl[0], 0] - F32(cy))[:, None])
    soft = np.subtract(F32(r), d)
    soft /= F32(max(px, 0.02))
    soft += 0.5
    np.maximum(soft, 0.0, out=soft)  # np.clip's values at a fraction of its call's cost
    np.minimum(soft, 1.0, out=soft)
    return sl, soft, d < r


def _points(rng: np.random.Generator, o: Outline, lesion: Lesion, n: int, r_lo: float,
            r_hi: float, min_gap: float, where: Callable[[float, float], bool] | None = None,
            ) -> list[tuple[float, float]]:
    """Up to n points inside the body (fraction r_lo-r_hi of the border radius), at least
    min_gap mm apart, optionally only where `where(angle, frac)` holds."""
    cx, cy = lesion.center_mm
    pts: list[tuple[float, float]] = []
    for _ in range(n * 30):
        if len(pts) >= n:
            break
        ang = rng.uniform(-np.pi, np.pi)
        frac = np.sqrt(rng.uniform(r_lo ** 2, r_hi ** 2))
        if where is not None and not where(ang, frac):
            continue
        rr = _radius_at(o, ang) * frac
        p = (cx + rr * np.cos(ang), cy + rr * np.sin(ang))
        if all((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 >= min_gap ** 2 for q in pts):
            pts.append(p)
    return pts


def _radius_at(o: Outline, ang: float) -> float:
    """Border radius at a polar angle."""
    return float(o.r_of(ang))


def _discs(f: Field, lesion: Lesion, pts, radii, name: str, **pigment: float) -> None:
    for (cx, cy), r in zip(pts, radii, strict=True):
        got = _stamp(f, cx, cy, r)
        if got is None:
            continue
        sl, soft, hard = got
        lesion.paint(soft, sl, **pigment)
        lesion.label(hard, name, sl)


def _blob(f: Field, lesion: Lesion, o: Outline, ang: float, frac: float, size: float,
          rng: np.random.Generator) -> np.ndarray:
    """A soft irregular patch (0-1) inside the body, centred at (ang, frac of radius)."""
    return _blob_in(f, lesion, o, ang, frac, size, rng)[0]


def _blob_in(f: Field, lesion: Lesion, o: Outline, ang: float, frac: float, size: float,
             rng: np.random.Generator) -> tuple[np.ndarray, tuple[slice, slice]]:
    """`_blob` and the window outside which it is 0 (painting it there adds nothing)."""
    cx, cy = lesion.center_mm
    rr = _radius_at(o, ang) * frac
    bx, by = cx + rr * np.cos(ang), cy + rr * np.sin(ang)
    out = np.zeros(f.x.shape, F32)  # (calloc: pages beyond the window are never written)
    reach = size * 1.9 + 0.2
    sl = window(f, bx, by, reach)  # only the window the blob can reach is computed
    if sl is None:
        return out, _NOWHERE
    d = _distance(f.x[0, sl[1]] - F32(bx), f.y[sl[0], 0] - F32(by))
    wob = noise(rng, d.shape, max(2, int(2 * reach / 1.2)))
    out[sl] = np.clip((F32(size) * (1 + 0.25 * wob) - d) / F32(0.15), 0, 1) * o.body[sl]
    return out, sl


# ------------------------------------------------------------------ melanocytic lesions


def naevus(rng, f: Field, lesion: Lesion) -> None:
    """Common naevus: small, symmetric, two browns, regular network fading at the rim,
    regular central globules; a gradual border. ABCD plan: A 0, B 0-1, C 2, D 2."""
    o = _outline(rng, f, lesion, rng.uniform(1.6, 2.4), rng.uniform(1.0, 1.25),
                 [(6, 0.01), (8, 0.008)], _sharp_segments(rng, int(rng.integers(0, 2))))
    centre = np.clip(1.0 - o.rho / (o.r * 0.9), 0, 1)
    lesion.paint(o.inside, mel_junction=1.0)
    lesion.paint(o.inside * centre, mel_junction=1.6)
    net = _network(rng, f, rng.uniform(0.16, 0.22), 0.3, 0.1, 0.0, o.box)
    lesion.paint(net * o.inside, mel_junction=1.2)
    lesion.label(o.rho < o.r * 0.97, "pigment_network")
    pts = _points(rng, o, lesion, int(rng.integers(5, 10)), 0.0, 0.35, 0.35)
    _discs(f, lesion, pts, [rng.uniform(0.12, 0.14)] * len(pts), "globules",
           mel_junction=1.1, mel_dermal=0.1)
    lesion.plan.update(A=0, C=2, D=2)


def dysplastic_naevus(rng, f: Field, lesion: Lesion) -> None:
    """Dysplastic (Clark) naevus: larger, oval, asymmetric about one axis (a dark
    structureless patch at one end), atypical network, a few irregular dots and globules,
    pink erythema. ABCD plan: A 1, B 2-3, C 3, D 4 (TDS 5.0-5.1, suspicious)."""
    aspect = rng.uniform(1.45, 1.7)
    o = _outline(rng, f, lesion, rng.uniform(2.4, 3.0), aspect, [(7, 0.015), (9, 0.012)],
                 _sharp_segments(rng, int(rng.integers(2, 4))))
    lesion.paint(o.inside, mel_junction=1.0, blood=0.25)
    # the long axis: the direction of the largest radius
    ang = o.major_angle + (np.pi if rng.uniform() < 0.5 else 0.0)
    cx, cy = lesion.center_mm
    along = (f.x - F32(cx)) * F32(np.cos(ang)) + (f.y - F32(cy)) * F32(np.sin(ang))
    across = -(f.x - F32(cx)) * F32(np.sin(ang)) + (f.y - F32(cy)) * F32(np.cos(ang))
    along = along + F32(0.25) * np.cos(F32(3.0) * np.abs(across))  # a curved, even cut
    cap = (along > F32(o.radius_mm * 0.3)) & o.body
    net = _network(rng, f, rng.uniform(0.18, 0.26), 0.4, 0.09, 0.25, o.box)
    lesion.paint(net * o.inside * ~cap, mel_junction=1.4)
    lesion.label(o.body & ~cap & (o.rho < o.r * 0.95), "pigment_network")
    lesion.paint(cap * o.inside, mel_junction=2.6)
    core = np.clip((along - F32(o.radius_mm * 0.6)) / F32(0.3), 0, 1) * (o.rho < o.r * 0.92)
    lesion.paint(core * o.inside, mel_corneal=1.2, mel_junction=0.6)
    lesion.label(cap, "lesion")
    lesion.plan["cap_angle"] = ang
    gp = _points(rng, o, lesion, 4, 0.2, 0.85, 0.5)
    _discs(f, lesion, gp, [rng.uniform(0.1, 0.22) for _ in gp], "globules",
           mel_junction=2.0, mel_dermal=0.4)
    dp = _points(rng, o, lesion, 6, 0.1, 0.9, 0.3)
    _discs(f, lesion, dp, [rng.uniform(0.022, 0.032) for _ in dp], "dots",
           mel_corneal=1.5, mel_junction=1.0)
    lesion.plan.update(A=1, C=3, D=4)


def melanoma(rng, f: Field, lesion: Lesion) -> None:
    """Invasive melanoma: asymmetric in shape, colour and structure; irregular border cut
    off abruptly over most of its length; light and dark brown, black, blue-grey, white;
    atypical network, structureless blotch, irregular dots and globules, peripheral streaks
    on one side, blue-white veil, regression. ABCD plan: A 2, B 4-7, C 5, D 5."""
    o = _outline(rng, f, lesion, rng.uniform(3.0, 3.8), rng.uniform(1.1, 1.4),
                 [(1, 0.12), (2, 0.10), (3, 0.08), (5, 0.04), (7, 0.035), (11, 0.025)],
                 _sharp_segments(rng, int(rng.integers(4, 8))))
    lesion.paint(o.inside, mel_junction=1.2)
    a0 = rng.uniform(-np.pi, np.pi)
    net = _network_on(rng, f, rng.uniform(0.2, 0.3), 0.5, 0.14, 0.35)
    # each zone is painted and labelled on its blob's window only (0 beyond it)
    zone, w = _blob_in(f, lesion, o, a0 + np.pi, 0.45, o.radius_mm * 0.6, rng)
    netzone = zone > 0.5
    lesion.paint(net(w) * o.inside[w] * netzone[w], w, mel_junction=1.8)
    lesion.label(netzone[w], "pigment_network", w)
    blotch, w = _blob_in(f, lesion, o, a0 + 0.5 * np.pi, 0.4, o.radius_mm * 0.28, rng)
    lesion.paint(blotch[w], w, mel_junction=2.6, mel_corneal=1.2)
    lesion.label((blotch[w] > 0.5) & ~netzone[w], "lesion", w)
    veil, w = _blob_in(f, lesion, o, a0, 0.45, o.radius_mm * 0.4, rng)
    veil[w] *= blotch[w] < 0.3
    lesion.paint(veil[w], w, mel_dermal=1.2, scatter=2.6, mel_junction=-0.6)
    lesion.label(veil[w] > 0.5, "blue_white_veil", w)
    reg, w = _blob_in(f, lesion, o, a0 - 0.6 * np.pi, 0.5, o.radius_mm * 0.3, rng)
    reg[w] *= veil[w] < 0.3
    lesion.paint(reg[w], w, mel_junction=-1.0, scatter=1.8, blood=0.15)
    pepper = _points(rng, o, lesion, 14, 0.2, 0.9, 0.12,
                     lambda a, fr: bool(_blob_at(reg, f, lesion, o, a, fr) > 0.5))
    _discs(f, lesion, pepper, [0.03] * len(pepper), "regression", mel_dermal=2.0)
    lesion.label(reg[w] > 0.5, "regression", w)
    gp = _points(rng, o, lesion, 8, 0.2, 0.92, 0.45)
    _discs(f, lesion, gp, [rng.uniform(0.08, 0.25) for _ in gp], "globules",
           mel_junction=2.6, mel_dermal=0.6)
    dp = _points(rng, o, lesion, 12, 0.3, 0.95, 0.25)
    _discs(f, lesion, dp, [rng.uniform(0.022, 0.032) for _ in dp], "dots", mel_corneal=2.2)
    _streaks(rng, f, lesion, o, a0 + np.pi, rng.uniform(0.6, 1.2), int(rng.integers(6, 11)))
    lesion.plan.update(A=2, C=5, D=5)


def _blob_at(mask: np.ndarray, f: Field, lesion: Lesion, o: Outline, ang: float,
             frac: float) -> float:
    cx, cy = lesion.center_mm
    rr = _radius_at(o, ang) * frac
    j = int((cx + rr * np.cos(ang)) / f.px + f.x.shape[1] / 2)
    i = int((cy + rr * np.sin(ang)) / f.px + f.x.shape[0] / 2)
    h, w = mask.shape
    return float(mask[min(max(i, 0), h - 1), min(max(j, 0), w - 1)])


def _streaks(rng, f: Field, lesion: Lesion, o: Outline, centre_ang: float, arc: float,
             n: int) -> None:
    """Radial streaks (pseudopods) across the border over one arc: dark lines from 0.15 mm
    inside the border to 0.4-0.9 mm beyond it, ending in a bulb (stamps 0.8 px apart)."""
    cx, cy = lesion.center_mm
    xs: list[float] = []
    ys: list[float] = []
    radii: list[float] = []
    for k in range(n):
        ang = centre_ang + arc * (k / max(1, n - 1) - 0.5) + rng.uniform(-0.05, 0.05)
        rb = _radius_at(o, ang)
        length = rng.uniform(0.4, 0.9)
        ca, sa = float(np.cos(ang)), float(np.sin(ang))
        for s in np.arange(-0.15, length, f.px * 0.8).tolist():  # Python floats: same sums
            xs.append(cx + (rb + s) * ca)
            ys.append(cy + (rb + s) * sa)
            radii.append(0.04 if s < length - 0.08 else 0.07)
    _pile_up(f, lesion, xs, ys, radii)


PILE_MAX = 4.0  # junctional melanin a streak's stamps pile up to, no further


def _pile_up(f: Field, lesion: Lesion, xs: list[float], ys: list[float],
             radii: list[float]) -> None:
    """Stamp discs one after another into the junctional melanin (weight 1, none where it
    has reached PILE_MAX) and label them streaks. The discs' soft edges are all worked out
    at once, on windows of one size that hold each disc's own window (`window`; the pixels
    past it are 0 in `_stamp`'s sums too); the piling up, which depends on the order, runs
    disc by disc."""
    mel, lab, streak = lesion.mel_junction, lesion.labels, LABELS["streaks"]
    h, w = mel.shape
    px = f.px
    size = int(2 * max(radii, default=0.0) / px) + 7  # a window's widest extent
    if size > min(h, w):  # a tiny image: each disc on its own window
        for cx, cy, rr in zip(xs, ys, radii, strict=True):
            got = _stamp(f, cx, cy, rr)
            if got is not None:
                sl, soft, hard = got
                soft *= mel[sl] < PILE_MAX
                mel[sl] += soft
                lab[sl][hard] = streak
        return
    x, y, r = (np.asarray(v, np.float64) for v in (xs, ys, radii))
    j0 = np.maximum(0, (x - r) / px + w / 2 - 2).astype(np.int64)  # `window`'s sums
    j1 = np.minimum(w, (x + r) / px + w / 2 + 3).astype(np.int64)
    i0 = np.maximum(0, (y - r) / px + h / 2 - 2).astype(np.int64)
    i1 = np.minimum(h, (y + r) / px + h / 2 + 3).astype(np.int64)
    on = (j1 > j0) & (i1 > i0)  # off the image: no stamp
    i0, j0 = np.minimum(i0[on], h - size), np.minimum(j0[on], w - size)  # inside the image
    span = np.arange(size)
    r32 = r[on].astype(F32)[:, None, None]
    d = np.hypot(f.x[0][j0[:, None] + span][:, None, :] - x[on].astype(F32)[:, None, None],
                 f.y[:, 0][i0[:, None] + span][:, :, None] - y[on].astype(F32)[:, None, None])
    soft = np.subtract(r32, d)  # `_stamp`'s sums
    soft /= F32(max(px, 0.02))
    soft += 0.5
    np.maximum(soft, 0.0, out=soft)
    np.minimum(soft, 1.0, out=soft)
    for k, (i, j) in enumerate(zip(i0.tolist(), j0.tolist(), strict=True)):
        sub = mel[i:i + size, j:j + size]
        s = soft[k]
        s *= sub < PILE_MAX
        sub += s
    kk, ii, jj = np.nonzero(d < r32)
    lab[i0[kk] + ii, j0[kk] + jj] = streak


# -------------------------------------------------------------- non-melanocytic lesions


def seborrhoeic_keratosis(rng, f: Field, lesion: Lesion) -> None:
    """Seborrhoeic keratosis: sharply demarcated waxy brown plaque (keratin), milia-like
    cysts (white-yellow) and comedo-like openings (dark keratin plugs), fissures."""
    o = _outline(rng, f, lesion, rng.uniform(2.5, 3.4), rng.uniform(1.1, 1.4),
                 [(4, 0.03), (6, 0.02)], _sharp_segments(rng, 8))
    mott = noise(rng, f.x.shape, int(f.width_mm / 0.8))
    lesion.paint(o.inside * (1 + 0.25 * mott), mel_junction=1.6, keratin=1.5)
    fiss = np.exp(-(noise(rng, f.x.shape, int(f.width_mm / 0.9)) / F32(0.18)) ** 2)
    lesion.paint(fiss * o.inside, mel_junction=1.0, keratin=1.0)
    mp = _points(rng, o, lesion, int(rng.integers(6, 12)), 0.0, 0.85, 0.45)
    _discs(f, lesion, mp, [rng.uniform(0.09, 0.16) for _ in mp], "milia_like_cyst",
           mel_junction=-2.0, keratin=-1.2, scatter=3.5)
    cp = _points(rng, o, lesion, int(rng.integers(5, 10)), 0.0, 0.85, 0.45)
    _discs(f, lesion, cp, [rng.uniform(0.12, 0.22) for _ in cp], "comedo_like_opening",
           mel_corneal=1.1, mel_junction=1.5, keratin=1.0)


def basal_cell_carcinoma(rng, f: Field, lesion: Lesion) -> None:
    """Pigmented nodular BCC: pearly pink-white translucent base with no network, sharp
    arborising vessels (tree-like, tapering), blue-grey ovoid nests."""
    o = _outline(rng, f, lesion, rng.uniform(2.4, 3.2), rng.uniform(1.0, 1.3),
                 [(3, 0.04), (5, 0.02)], _sharp_segments(rng, 1))
    lesion.paint(o.inside, scatter=1.6, blood=0.3, mel_junction=-1.5)
    lesion.skin_keep[:] = np.where(o.body, 0.5, 1.0)
    for _ in range(int(rng.integers(2, 4))):
        ang = rng.uniform(-np.pi, np.pi)
        rb = _radius_at(o, ang)
        cx, cy = lesion.center_mm
        _vessel(rng, f, lesion, cx + 0.9 * rb * np.cos(ang), cy + 0.9 * rb * np.sin(ang),
                ang + np.pi + rng.uniform(-0.4, 0.4), 0.05, 4)
    npts = _points(rng, o, lesion, int(rng.integers(3, 6)), 0.2, 0.8, 0.9)
    for (nx, ny) in npts:
        a, b = rng.uniform(0.25, 0.45), rng.uniform(0.15, 0.25)
        rot = rng.uniform(0, np.pi)
        dx, dy = f.x - F32(nx), f.y - F32(ny)
        u = dx * F32(np.cos(rot)) + dy * F32(np.sin(rot))
        v = -dx * F32(np.sin(rot)) + dy * F32(np.cos(rot))
        e = np.clip((1 - np.sqrt((u / F32(a)) ** 2 + (v / F32(b)) ** 2)) / F32(0.25), 0, 1)
        lesion.paint(e, mel_dermal=1.6, scatter=0.4, blood=-0.15)
        lesion.label(e > 0.5, "blue_grey_nests")


def _vessel(rng, f: Field, lesion: Lesion, x: float, y: float, ang: float, r: float,
            depth: int) -> None:
    """An arborising vessel: a tapering, gently curving trunk that forks."""
    length = rng.uniform(0.5, 1.0) * (0.7 ** (4 - depth))
    steps = max(2, int(length / (f.px * 0.8)))
    for _ in range(steps):
        ang += rng.normal(0, 0.06)
        x += np.cos(ang) * f.px * 0.8
        y += np.sin(ang) * f.px * 0.8
        got = _stamp(f, x, y, r)
        if got is not None:
            sl, soft, hard = got
            lesion.blood[sl] = np.maximum(lesion.blood[sl], F32(3.0) * soft)
            lesion.label(hard, "vessels", sl)
    if depth > 1:
        for side in (-1, 1):
            _vessel(rng, f, lesion, x, y, ang + side * rng.uniform(0.4, 0.8), r * 0.7,
                    depth - 1)


def dermatofibroma(rng, f: Field, lesion: Lesion) -> None:
    """Dermatofibroma: central white scar-like patch, delicate light-brown network at the
    periphery fading into the skin."""
    o = _outline(rng, f, lesion, rng.uniform(2.0, 2.8), rng.uniform(1.0, 1.25),
                 [(5, 0.02)], _sharp_segments(rng, 0))
    lesion.paint(o.inside, mel_junction=0.6, blood=0.1)
    net = _network(rng, f, rng.uniform(0.14, 0.2), 0.35, 0.04, 0.0, o.box)
    ring = (o.rho > o.r * 0.5) & o.body
    lesion.paint(net * o.inside * ring, mel_junction=1.0)
    lesion.label(ring & (o.rho < o.r * 0.97), "pigment_network")
    patch = _blob(f, lesion, o, 0.0, 0.0, o.radius_mm * 0.42, rng)
    lesion.paint(patch, scatter=2.5, mel_junction=-0.8, blood=-0.04)
    lesion.label(patch > 0.5, "central_white_patch")


def haemangioma(rng, f: Field, lesion: Lesion) -> None:
    """Haemangioma (cherry angioma): red to purple lacunae, sharply bounded, separated by
    whitish septa."""
    o = _outline(rng, f, lesion, rng.uniform(1.6, 2.4), rng.uniform(1.0, 1.2),
                 [(4, 0.03)], _sharp_segments(rng, 8))
    lesion.paint(o.inside, scatter=1.2, blood=0.1)
    lesion.skin_keep[:] = np.where(o.body, 0.6, 1.0)
    pts = _points(rng, o, lesion, 40, 0.0, 0.9, 0.45)
    radii = [rng.uniform(0.18, 0.3) for _ in pts]
    for (x, y), r in zip(pts, radii, strict=True):
        got = _stamp(f, x, y, r)
        if got is None:
            continue
        sl, soft, hard = got
        deep = rng.uniform(0, 1)
        lesion.blood[sl] = np.maximum(lesion.blood[sl], F32(2.5 + 3 * deep) * soft)
        lesion.mel_dermal[sl] += F32(0.6 * deep) * soft
        lesion.label(hard & o.body[sl], "lacunae", sl)


def blue_naevus(rng, f: Field, lesion: Lesion) -> None:
    """Blue naevus: symmetric, homogeneous steel-blue (melanin deep in the dermis under
    scattering collagen), structureless, no network."""
    o = _outline(rng, f, lesion, rng.uniform(1.8, 2.6), rng.uniform(1.0, 1.2),
                 [(5, 0.015)], _sharp_segments(rng, 8))
    centre = np.clip(1.0 - o.rho / o.r, 0, 1)
    lesion.paint(o.inside, mel_dermal=1.1, scatter=1.4, mel_junction=-0.4)
    lesion.paint(o.inside * centre, mel_dermal=0.7)


def spitz_naevus(rng, f: Field, lesion: Lesion) -> None:
    """Spitz / Reed naevus, starburst pattern: symmetric, dark brown-black centre with a
    blue-grey tinge, regular streaks (pseudopods) evenly all round the rim."""
    o = _outline(rng, f, lesion, rng.uniform(1.8, 2.4), rng.uniform(1.0, 1.1),
                 [(6, 0.01)], _sharp_segments(rng, 8))
    centre = np.clip(1.0 - o.rho / (o.r * 0.8), 0, 1)
    lesion.paint(o.inside, mel_junction=2.2)
    lesion.paint(o.inside * centre, mel_junction=1.2, mel_corneal=0.8, mel_dermal=0.8)
    n = int(rng.integers(26, 34))
    _streaks(rng, f, lesion, o, rng.uniform(-np.pi, np.pi), 2 * np.pi * (1 - 1 / n), n)




def congenital_naevus(rng, f: Field, lesion: Lesion) -> None:
    """Small congenital naevus: larger (6-9 mm), round to oval, symmetric; a cobblestone of
    regular brown globules in the centre, a reticular network at the rim, perifollicular
    hypopigmentation and a few terminal hairs (hypertrichosis). ABCD plan: A 0, C 2-3, D 3."""
    o = _outline(rng, f, lesion, rng.uniform(3.0, 4.4), rng.uniform(1.05, 1.3),
                 [(5, 0.012), (8, 0.01)], _sharp_segments(rng, int(rng.integers(0, 3))))
    lesion.paint(o.inside, mel_junction=1.5)
    net = _network(rng, f, rng.uniform(0.2, 0.26), 0.35, 0.08, 0.0, o.box)
    rim = (o.rho > o.r * 0.6) & o.body
    lesion.paint(net * o.inside * rim, mel_junction=1.0)
    lesion.label(rim & (o.rho < o.r * 0.97), "pigment_network")
    pts = _points(rng, o, lesion, int(rng.integers(30, 45)), 0.0, 0.55, 0.32)
    _discs(f, lesion, pts, [rng.uniform(0.11, 0.15) for _ in pts], "globules",
           mel_junction=1.3, mel_dermal=0.15)
    hp = _points(rng, o, lesion, int(rng.integers(6, 12)), 0.1, 0.9, 0.8)
    for (x, y) in hp:  # pale halo round a follicle, the hair's dark dot in its centre
        got = _stamp(f, x, y, 0.16)
        if got is not None:
            sl, soft, _ = got
            lesion.paint(soft, sl, mel_junction=-1.2)
            dot = _stamp(f, x, y, 0.035)
            if dot is not None:
                lesion.paint(dot[1], dot[0], mel_corneal=1.5)
    lesion.plan.update(A=0, C=2, D=3, hairs=len(hp))


def melanoma_in_situ(rng, f: Field, lesion: Lesion) -> None:
    """Melanoma in situ: a flat, 4-7 mm, asymmetric macule; atypical (broken, thick)
    network, irregular dots at the periphery, angulated lines, regression peppering; no
    blue-white veil or streaks (not invasive). ABCD plan: A 1-2, B 3-6, C 4, D 4."""
    o = _outline(rng, f, lesion, rng.uniform(2.2, 3.2), rng.uniform(1.3, 1.6),
                 [(1, 0.12), (2, 0.09), (3, 0.06), (6, 0.03)],
                 _sharp_segments(rng, int(rng.integers(3, 7))))
    lesion.paint(o.inside, mel_junction=1.0)
    a0 = rng.uniform(-np.pi, np.pi)
    net = _network(rng, f, rng.uniform(0.22, 0.3), 0.55, 0.12, 0.4, o.box)
    netzone = _blob(f, lesion, o, a0 + np.pi, 0.35, o.radius_mm * 0.7, rng) > 0.5
    lesion.paint(net * o.inside * netzone, mel_junction=1.9)
    lesion.label(netzone, "pigment_network")
    dark = _blob(f, lesion, o, a0 + 0.5 * np.pi, 0.45, o.radius_mm * 0.32, rng) * ~netzone
    lesion.paint(dark, mel_junction=2.4, mel_corneal=1.3)  # an eccentric black blotch
    reg = _blob(f, lesion, o, a0, 0.5, o.radius_mm * 0.34, rng) * (dark < 0.3) * ~netzone
    lesion.paint(reg, mel_junction=-0.8, scatter=2.0, mel_dermal=0.5)  # grey-white regression
    pepper = _points(rng, o, lesion, 16, 0.2, 0.9, 0.1,
                     lambda a, fr: bool(_blob_at(reg, f, lesion, o, a, fr) > 0.5))
    _discs(f, lesion, pepper, [0.03] * len(pepper), "regression", mel_dermal=2.0)
    lesion.label(reg > 0.5, "regression")
    dp = _points(rng, o, lesion, 12, 0.6, 0.95, 0.25)
    _discs(f, lesion, dp, [rng.uniform(0.022, 0.032) for _ in dp], "dots", mel_corneal=2.0)
    for _ in range(int(rng.integers(3, 6))):  # angulated lines: polygonal zig-zags
        ang = rng.uniform(-np.pi, np.pi)
        fr = rng.uniform(0.3, 0.8)
        cx, cy = lesion.center_mm
        rr = _radius_at(o, ang) * fr
        x, y = cx + rr * np.cos(ang), cy + rr * np.sin(ang)
        heading = rng.uniform(0, 2 * np.pi)
        for _k in range(3):
            heading += rng.choice([-1, 1]) * rng.uniform(1.0, 1.6)
            for s in np.arange(0, 0.4, f.px * 0.8):
                got = _stamp(f, x + s * np.cos(heading), y + s * np.sin(heading), 0.025)
                if got is not None:
                    sl, soft, hard = got
                    lesion.paint(soft, sl, mel_junction=1.2)
                    lesion.label(hard & o.body[sl], "angulated_lines", sl)
            x, y = x + 0.4 * np.cos(heading), y + 0.4 * np.sin(heading)
    lesion.plan.update(C=4, D=4)
