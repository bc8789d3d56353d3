"""Pathology built into the 3D chest, so a case's radiograph and CT agree.

Two steps: `plan_findings` turns the request into placed findings and the changes they make
to normal anatomy before it is built (a bigger heart, a pushed-over mediastinum, flat domes);
`add_findings` then edits the built model (a recoiled lung, a fluid level clipping the lobes)
and adds each finding's own components, all carrying the finding's label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.geometry import (
    Convex,
    Solid,
    Tubes,
    box,
    dome_q,
    ellipsoid,
    ellipsoid_q,
    halfspace,
    rotation,
    scale_about,
    up_paraboloid_above,
)
from imagine_med.engine.phantom.labels import DEVICES, SUPPORTED_FINDINGS
from imagine_med.engine.phantom.materials import M
from imagine_med.engine.phantom.regions.chest.devices import DEVICE_BUILDERS
from imagine_med.engine.phantom.regions.chest.frame import LOBE_SIDE, LOBES, Adjust, Anatomy, Rand
from imagine_med.engine.phantom.scene import Component
from imagine_med.engine.phantom.textures import holes_hu, honeycomb_hu
from imagine_med.prompt.spec import Finding

ZONE_LOBE = {
    ("right", "upper_zone"): "rul", ("right", "mid_zone"): "rml", ("right", "lower_zone"): "rll",
    ("left", "upper_zone"): "lul", ("left", "mid_zone"): "lingula", ("left", "lower_zone"): "lll",
    ("right", "apex"): "rul", ("left", "apex"): "lul", ("right", "base"): "rll",
    ("left", "base"): "lll",
}
SEVERITY = {"mild": 0, "moderate": 1, "severe": 2}
LUNG_FINDINGS = {"consolidation", "nodule", "mass", "cavity", "collapse"}
SIDED = {"pleural_effusion", "pneumothorax", "rib_fracture"}


@dataclass
class Placed:
    """A requested finding resolved to a place in this seed's anatomy."""

    name: str
    side: str | None
    lobe: str | None
    zone: str | None
    severity: str
    size_mm: float | None
    extent: float | None
    modifiers: tuple[str, ...]
    rib: int | None = None
    center: np.ndarray | None = None
    facts: dict = field(default_factory=dict)
    # a CT slice plane (patient axis 0/1/2, position mm) the finding should cross: set when
    # the prompt names a level, so a lesion is placed where its lobe meets that slice
    target: tuple[int, float] | None = None

    @property
    def level(self) -> int:
        return SEVERITY[self.severity]


def _other(side: str) -> str:
    return "left" if side == "right" else "right"


def resolve(finding: Finding, rand: Rand) -> Placed:
    name = finding.name
    if name not in SUPPORTED_FINDINGS:
        raise EngineError(
            f"The phantom chest cannot show '{name.replace('_', ' ')}'. It renders: "
            + ", ".join(n.replace("_", " ") for n in SUPPORTED_FINDINGS) + ".")
    loc = finding.location
    side = finding.laterality
    lobe = zone = None
    rib = None
    if loc in LOBES:
        lobe = loc
        lobe_side = LOBE_SIDE[loc]
        if side in ("left", "right") and side != lobe_side:
            raise EngineError(f"The {loc.upper()} is in the {lobe_side} lung, but the prompt says "
                              f"{side}. Use a {side} lobe or drop the side.")
        side = lobe_side
    elif loc and loc.startswith("rib_"):
        try:
            rib = int(loc.split("_")[1])
        except ValueError:
            rib = None
        if rib is None or not 1 <= rib <= 12:
            raise EngineError(f"'{loc}' is not a rib; use rib_1 to rib_12.")
    elif loc in ("upper_zone", "mid_zone", "lower_zone", "apex", "base"):
        zone = loc
    elif loc is not None and name not in DEVICES:
        raise EngineError(
            f"'{loc.replace('_', ' ')}' is not a place in the phantom chest. Use a lobe (RUL, "
            "RML, RLL, LUL, lingula, LLL), a zone (upper, mid, lower zone, apex, base) or a rib.")
    # every finding draws the same number of values, so variants stay comparable
    side_draw = rand.uniform(0, 1)
    lobe_draw = rand.uniform(0, 1)
    if side is None and (name in LUNG_FINDINGS or name in SIDED):
        side = "right" if side_draw < 0.55 else "left"
    if side == "bilateral" and name in LUNG_FINDINGS:
        side = "right" if side_draw < 0.55 else "left"
    if name in LUNG_FINDINGS and lobe is None:
        if zone is not None:
            lobe = ZONE_LOBE[(side, zone)]
        else:
            options = [lb for lb in LOBES if LOBE_SIDE[lb] == side]
            if name == "collapse":
                options = [lb for lb in options if lb in ("rul", "rml", "rll", "lul", "lll")]
            lobe = options[int(lobe_draw * len(options)) % len(options)]
    severity = finding.severity or "moderate"
    return Placed(name, side, lobe, zone, severity, finding.size_mm, finding.extent,
                  tuple(finding.modifiers), rib)


def plan_findings(findings: tuple[Finding, ...], exclude: tuple[str, ...], rand: Rand,
                  posture: str) -> tuple[list[Placed], Adjust]:
    placed = [resolve(f, rand) for f in findings if f.name not in exclude
              and not (f.name in DEVICES and "devices" in exclude)]
    adj = Adjust()
    for p in placed:
        lvl = p.level
        if p.name == "cardiomegaly":
            adj.ctr = [0.57, 0.62, 0.68][lvl]
        elif p.name == "pulmonary_edema":
            adj.ctr = max(adj.ctr or 0, 0.58)
            adj.vessel_scale_upper = 1.45
        elif p.name == "emphysema":
            adj.dome_shift = {"right": -36.0, "left": -34.0}
            adj.dome_flatten = 0.45
            adj.ctr = 0.39
            adj.vessel_scale_periphery = 0.55
        elif p.name == "fibrosis":
            adj.dome_shift = {k: v + 14 for k, v in adj.dome_shift.items()}
        elif p.name == "pneumothorax" and "tension" in p.modifiers:
            adj.shift_x += 24.0 if p.side == "right" else -24.0
            adj.dome_shift[p.side] -= 22.0
            adj.dome_flatten = min(adj.dome_flatten, 0.7)
        elif p.name == "collapse":
            adj.shift_x += (-7.0 if p.side == "right" else 7.0)
            if p.lobe in ("rll", "lll", "rml"):
                adj.dome_shift[p.side] += 12.0
        elif p.name == "pleural_effusion" and lvl == 2:
            adj.shift_x += (12.0 if p.side == "right" else -12.0)
        elif p.name == "rib_fracture":
            p.rib = p.rib or int(5 + rand.uniform(0, 4))
            # the posterior arc where it crosses the lung field (40-65% of the half-width on a
            # PA film): a break there shows against aerated lung, not in the rib crowd at the wall
            phi = 0.45 + rand.uniform(0, 0.25)
            adj.rib_fracture = (p.side, p.rib, phi, [4.0, 6.5, 9.0][lvl])
            p.facts["phi"] = phi
        elif p.name == "mediastinal_widening":
            adj.mediastinum_widen = [1.5, 1.9, 2.3][lvl]
        elif p.name == "pneumoperitoneum":
            adj.liver_top_drop = [7.0, 12.0, 20.0][lvl] if posture == "upright" else 0.0
    return placed, adj


# ---------------------------------------------------------------------------------------------


def _lobe_solid(an: Anatomy, lobe: str, *clips) -> Solid:
    return Solid([an.lobe_pieces[lobe].with_(*clips)], an.lobe_holes[lobe])


def _lobe_points(an: Anatomy, lobe: str, rand: Rand, n: int = 500) -> np.ndarray:
    piece = an.lobe_pieces[lobe]
    lo, hi = piece.bounds
    cand = lo + rand.uniform(0, 1, (n, 3)) * (hi - lo)
    comp = an.comps[f"lung_{lobe}"]
    pts = cand[comp.solid.inside(cand)]
    if len(pts) == 0:
        return ((lo + hi) / 2)[None]
    return pts


def _near_target(an: Anatomy, p: Placed, pts: np.ndarray, step: float = 2.5) -> np.ndarray:
    """Where a lesion may be centred when the prompt names a slice level: the lobe's points
    on that plane (a grid, no seeded draws, so variants stay comparable), so the slice cuts
    the lesion through its middle; the 8 lobe points nearest the plane where the lobe does
    not reach it. Without a target, `pts` unchanged."""
    if p.target is None or len(pts) == 0:
        return pts
    axis, level = p.target
    lo, hi = an.lobe_pieces[p.lobe].bounds
    u, v = [k for k in range(3) if k != axis]
    gu = np.arange(lo[u], hi[u] + step, step)
    gv = np.arange(lo[v], hi[v] + step, step)
    grid = np.zeros((len(gu) * len(gv), 3))
    grid[:, u] = np.repeat(gu, len(gv))
    grid[:, v] = np.tile(gv, len(gu))
    grid[:, axis] = level
    on_plane = grid[an.comps[f"lung_{p.lobe}"].solid.inside(grid)]
    if len(on_plane):
        return on_plane
    return pts[np.argsort(np.abs(pts[:, axis] - level))[:8]]


def _deep_point(pts: np.ndarray, rand: Rand, spread: float = 0.35) -> np.ndarray:
    """A point well inside the lobe: near its centroid, nudged by a seeded offset."""
    c = pts.mean(axis=0)
    sd = pts.std(axis=0)
    target = c + rand.normal(3) * sd * spread
    return pts[np.argmin(((pts - target) ** 2).sum(axis=1))]


def _replace_lobe(an: Anatomy, lobe: str, solid: Solid) -> None:
    an.comps[f"lung_{lobe}"].solid = solid
    an.lobe_pieces[lobe] = solid.pieces[0]


def add_findings(an: Anatomy, placed: list[Placed], rand: Rand) -> None:
    for p in placed:
        _BUILDERS[p.name](an, p, rand)


def _add(an: Anatomy, p: Placed, material: str, container: str, solid=None, tubes=None,
         label: str | None = None, **kw) -> Component:
    kw.setdefault("label_priority", 60)
    return an.scene.add(Component(label or p.name, material, container, solid=solid,
                                  tubes=tubes, finding=p.name, **kw))


def _consolidation(an: Anatomy, p: Placed, rand: Rand) -> None:
    pts = _lobe_points(an, p.lobe, rand)
    lobar = p.extent is None and p.size_mm is None and p.severity != "mild"
    lobar = lobar or (p.extent is not None and p.extent >= 0.75)
    c = _deep_point(pts if lobar else _near_target(an, p, pts), rand, 0.2)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    if lobar:
        # the airspace fills the lobe up to its fissure and (nearly) to the chest wall; the
        # apex and the outermost rim fade through the halos below, as in lobar pneumonia
        span = hi - lo
        side = -1.0 if LOBE_SIDE[p.lobe] == "right" else 1.0
        c = (lo + hi) / 2 + np.array([-side * 0.04, 0.0, -0.12]) * span
        blob = ellipsoid_q(c, span * np.array([0.48, 0.56, 0.56]))
    else:
        frac = p.extent if p.extent is not None else 0.4
        r = (p.size_mm / 2) if p.size_mm else None
        radii = np.full(3, r) if r else np.maximum((hi - lo) * (0.2 + 0.35 * frac), 18)
        blob = ellipsoid_q(c, radii, rotation(*(rand.normal(3) * 0.4)))
    core = _lobe_solid(an, p.lobe, blob)
    radii = np.asarray(blob.params[2])
    # halos are shells round the core (the core's own texture stays intact); their patchy
    # film textures make the margin fade in acinar clumps instead of one smooth edge
    lobe_bounds = an.lobe_pieces[p.lobe].bounds
    inner = [Convex([blob], lobe_bounds)]
    halo_q = ellipsoid_q(c, radii * 1.2 + 4)
    halo = Solid([an.lobe_pieces[p.lobe].with_(halo_q)], [*an.lobe_holes[p.lobe], *inner])
    halo2 = Solid([an.lobe_pieces[p.lobe].with_(ellipsoid_q(c, radii * 1.45 + 8))],
                  [*an.lobe_holes[p.lobe], *inner, Convex([halo_q], lobe_bounds)])
    rng_seed = int(rand.uniform(0, 1e6))

    def tex(q: np.ndarray) -> np.ndarray:
        g = np.random.default_rng(rng_seed)
        k = g.normal(size=(6, 3)) / 9.0
        ph = g.uniform(0, 6.3, 6)
        wave = np.sin(q @ k.T + ph).sum(axis=1) / 2.4
        return 38 + 18 * wave

    _add(an, p, "ground_glass", "lung", halo, label_priority=59, xray_texture="patchy",
         labelled=False, xray_gain=1.6)
    _add(an, p, "ground_glass", "lung", halo2, label_priority=59, xray_texture="patchy",
         labelled=False, xray_gain=0.9)
    _add(an, p, "consolidation", "lung", core, xray_texture="airspace", ct_texture=tex,
         label_min_mm=12)
    br = an.air_bronchi.get(p.lobe, an.bronchi[p.lobe])
    film_br = an.comps.get(f"bronchi_{p.lobe}")
    if film_br is not None:
        # the film's air bronchograms: long branching lucencies through a near-homogeneous
        # opacity, so they need more contrast than the few dark dots the plain gain gives;
        # labelled where they cross the consolidation's label
        film_br.container, film_br.xray_gain = "consolidation", 4.2
        film_br.labelled, film_br.label_as = True, "air_bronchogram"
        film_br.label_within, film_br.label_priority = "consolidation", 61
    if len(br):
        an.scene.add(Component("airway", "air", "lung", tubes=br, xray=False, labelled=False,
                               shell_mm=0.8, shell_material="consolidation",
                               finding=p.name))
    p.center = c
    p.facts["lobar"] = lobar
    p.facts["air_bronchograms"] = True


def _effusion(an: Anatomy, p: Placed, rand: Rand, sides=None, level=None) -> None:
    s = an.scene.landmarks["size"]
    for side in sides or ([p.side] if p.side in ("left", "right") else ["right", "left"]):
        lvl = p.level if level is None else level
        zd = an.scene.landmarks[f"z_dome_{side}"]
        sx = -1 if side == "right" else 1
        lobes = [lb for lb in LOBES if LOBE_SIDE[lb] == side]
        if an.scene.posture == "upright":
            # small: the costophrenic angle only; moderate: over the dome with a lateral
            # meniscus; large: to the mid zone
            z0 = zd + [-30, 14, 60][lvl] * s
            clip = up_paraboloid_above([sx * 25 * s, 30 * s, z0], 0.0075 / s)
            neg = Convex([clip], (np.array([-500, -500, z0]), np.array([500, 500, 600])))
        else:
            yb = an.scene.landmarks["y_cav"] - an.scene.landmarks["b_mid"]
            depth = [28, 55, 95][lvl] * s
            clip = halfspace([0, -1, 0], -(yb + depth))
            neg = Convex([clip], (np.array([-500, yb + depth, -600]), np.array([500, 500, 600])))
        for lb in lobes:
            comp = an.comps[f"lung_{lb}"]
            _replace_lobe(an, lb, Solid([comp.solid.pieces[0].with_(clip)], comp.solid.holes))
        sol = Solid([an.side_envelope[side]], [*an.side_holes[side], neg])
        _add(an, p, "fluid", "cavity", sol, label_min_mm=8)
        if p.center is None:
            p.center = np.array([sx * 90 * s, -40 * s, zd - 10 * s])


def _pneumothorax(an: Anatomy, p: Placed, rand: Rand) -> None:
    s = an.scene.landmarks["size"]
    side = p.side if p.side in ("left", "right") else "right"
    sx = -1 if side == "right" else 1
    tension = "tension" in p.modifiers
    f = 0.45 if tension else [0.9, 0.8, 0.66][p.level]
    if p.extent is not None:
        f = float(np.clip(1 - p.extent * 0.6, 0.4, 0.97))
    hil = an.hila[side]
    if an.scene.posture == "upright":
        anchor = np.array([hil[0] * 1.1, hil[1], an.scene.landmarks[f"z_dome_{side}"] - 5 * s])
    else:
        anchor = np.array([hil[0] + sx * 20 * s, an.scene.landmarks["y_cav"] - 70 * s, hil[2]])
    lobes = [lb for lb in LOBES if LOBE_SIDE[lb] == side]
    env = an.side_envelope[side]
    fac = [f, 0.5 + 0.5 * f, f]  # mostly apical and lateral air, as in an upright patient
    shrunk = scale_about(env, anchor, fac)
    # the recoiled lung keeps its mass in a smaller volume, so on a film it is denser than
    # normal lung: mu scales by 1/volume (capped at soft tissue), which is what sets the
    # collapsed lung's grey against the black of the pleural air
    mu_lung, mu_cav = M["lung"].mu_mm, M["cavity"].mu_mm
    dense = min(mu_lung / float(np.prod(fac)), M["soft"].mu_mm)
    for lb in lobes:
        comp = an.comps[f"lung_{lb}"]
        comp.xray_gain *= (dense - mu_cav) / (mu_lung - mu_cav)
        comp.label_priority = 59  # the film's pneumothorax label: pleural air with no lung
        # in front of or behind it, the lucent rim a reader points at
        piece = scale_about(comp.solid.pieces[0], anchor, fac)
        # a lobe's own boundary holes (the curved horizontal fissure) recoil with it
        shared = {id(h) for h in an.side_holes[side]}
        holes = [h if id(h) in shared else scale_about(h, anchor, fac)
                 for h in comp.solid.holes]
        _replace_lobe(an, lb, Solid([piece], holes))
        an.lobe_holes[lb] = holes

        def fn(q, a=anchor):
            return a + (q - a) * np.asarray(fac)

        for key in (f"vessels_{lb}", f"bronchi_{lb}"):
            if key in an.comps:
                an.comps[key].tubes = an.comps[key].tubes.transformed(fn)
    # the pleural space now holds air; a thin visceral pleural line bounds the lung
    # the hemithorax envelope's medial face is the midline plane: air up to it would draw a
    # sharp vertical edge beside the spine, so the air stops at an oblique plane (the beam
    # meets it at 50 degrees: its path length ramps) just medial to the hilum
    oblique = halfspace([-sx, 0.85, 0], float(np.array([-sx, 0.85, 0]) @ (hil * [0.6, 1, 1])))
    _add(an, p, "air", "cavity", Solid([env.with_(oblique)], [*an.side_holes[side], shrunk]),
         label_min_mm=6, label_priority=58)
    # the visceral pleural line shows only where the lung edge meets the beam along a curve
    # (apex and lateral wall); against the mediastinum the recoiled lung's face is flat, and a
    # shell there would draw a long straight line down the heart border
    inner = scale_about(env.shrunk(1.0), anchor, fac)
    lateral = halfspace([-sx, 0, 0], -sx * hil[0] - 15 * s)
    _add(an, p, "soft", "lung", Solid([shrunk.with_(lateral)], [*an.side_holes[side], inner]),
         labelled=False, xray_gain=0.7)
    p.center = np.array([sx * 95 * s, 0, an.scene.landmarks["z_apex"] - 60 * s])
    p.facts.update({"tension": tension, "fraction": round(1 - f**3, 2)})


def _nodule_like(an: Anatomy, p: Placed, rand: Rand, default_mm: float) -> tuple:
    """A lesion in the lobe's lung field, lateral to the hilum: a lobe's centroid often
    projects onto the hilar vessels, where a teaching nodule would hide."""
    d = p.size_mm or default_mm * [0.7, 1.0, 1.5][p.level]
    pts = _lobe_points(an, p.lobe, rand, n=1500)
    hil = an.hila[LOBE_SIDE[p.lobe]]
    pts = _near_target(an, p, pts)
    lateral = pts[np.abs(pts[:, 0]) > abs(hil[0]) + 0.6 * d + 15 * an.scene.landmarks["size"]]
    c = _deep_point(lateral if len(lateral) >= 8 else pts, rand, 0.45)
    return c, d / 2


def _nodule(an: Anatomy, p: Placed, rand: Rand, default_mm: float = 16.0) -> None:
    c, r = _nodule_like(an, p, rand, default_mm)
    calcified = "calcified" in p.modifiers
    mat = "calcium" if calcified else "tumour"
    _add(an, p, mat, "lung", Solid([ellipsoid(c, [r, r * 0.95, r * 0.92])]), label_min_mm=2)
    for _ in range(3):
        off = rand.normal(3)
        off = off / np.linalg.norm(off) * r * 0.55
        bump = ellipsoid(c + off, np.full(3, r * 0.55))
        _add(an, p, mat, "lung", Solid([bump], [ellipsoid(c, [r, r * 0.95, r * 0.92])]),
             label_min_mm=2)
    if "spiculated" in p.modifiers:
        _spicules(an, p, rand, c, r)
    p.center = c
    p.facts["diameter_mm"] = round(2 * r)


def _spicules(an, p, rand, c, r) -> None:
    dirs = rand.normal((14, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    lengths = r * (0.6 + rand.uniform(0, 1, 14) * 0.9)
    p0 = c + dirs * r * 0.8
    p1 = c + dirs * (r + lengths)[:, None]
    _add(an, p, "tumour", "lung", tubes=Tubes(p0, p1, np.full(14, 1.4), np.full(14, 0.4)),
         blur_px=0.6, label_priority=61)


def _mass(an: Anatomy, p: Placed, rand: Rand) -> None:
    _nodule(an, p, rand, default_mm=52.0)


def _cavity(an: Anatomy, p: Placed, rand: Rand) -> None:
    c, r = _nodule_like(an, p, rand, 42.0)
    wall = [4.0, 6.0, 9.0][p.level]
    outer = ellipsoid(c, [r, r * 0.95, r])
    inner = ellipsoid(c, np.array([r, r * 0.95, r]) - wall)
    _add(an, p, "tumour", "lung", Solid([outer], [inner]), label_min_mm=2)
    if an.scene.posture == "upright":
        lvl = c[2] - r * 0.35
        air = inner.with_(halfspace([0, 0, -1], -lvl))
        fluid = inner.with_(halfspace([0, 0, 1], lvl))
    else:
        lvl = c[1] - r * 0.35
        air = inner.with_(halfspace([0, -1, 0], -lvl))
        fluid = inner.with_(halfspace([0, 1, 0], lvl))
    _add(an, p, "air", "lung", Solid([air]), label_min_mm=1, label="cavity_lumen")
    _add(an, p, "fluid", "lung", Solid([fluid]), label_min_mm=1, label="cavity_lumen")
    p.center = c
    p.facts.update({"diameter_mm": round(2 * r), "wall_mm": wall})


def _cardiomegaly(an: Anatomy, p: Placed, rand: Rand) -> None:
    # the heart itself is enlarged at build time; the finding label is the heart's outline
    for cv in an.heart[:2]:
        _add(an, p, "blood", "blood", Solid([cv]), xray=True, label_min_mm=5,
             label_priority=31, xray_gain=0.0)
    p.center = an.scene.points["heart_center"]
    p.facts["ctr"] = an.scene.landmarks["ctr_target"]


def _edema(an: Anatomy, p: Placed, rand: Rand) -> None:
    s = an.scene.landmarks["size"]
    mat = "consolidation" if p.level == 2 else "ground_glass"
    for side in ("right", "left"):
        hil = an.hila[side]
        sx = -1 if side == "right" else 1
        blob = ellipsoid_q(hil + np.array([sx * 22, 5, -8]) * s, np.array([62, 80, 78]) * s)
        for lb in LOBES:
            if LOBE_SIDE[lb] == side:
                _add(an, p, mat, "lung", _lobe_solid(an, lb, blob), xray_texture="fluffy",
                     label_min_mm=15, xray_gain=0.8, label_priority=22)  # under the heart
        # Kerley B lines: short septal plates at the lateral bases, seen edge-on
        zd = an.scene.landmarks[f"z_dome_{side}"]
        plates = []
        for k in range(9):
            z = zd + (8 + k * 7.5) * s + rand.uniform(-2, 2)
            a = an.scene.landmarks["a_mid"]
            x_out = sx * (a - 4 * s) * np.sqrt(max(0.2, 1 - ((z - zd) / 260) ** 2))
            x_in = x_out - sx * (13 + rand.uniform(0, 8)) * s
            lo = np.array([min(x_in, x_out), -30 * s, z - 0.6])
            hi = np.array([max(x_in, x_out), 30 * s, z + 0.6])
            plates.append(box(lo, hi))
        holes = [an.comps[f"lung_{lb}"].solid for lb in LOBES if LOBE_SIDE[lb] == side]
        del holes
        _add(an, p, "soft", "lung", Solid(plates), label_min_mm=20, xray_gain=1.6)
    _effusion(an, p, rand, sides=["right", "left"], level=0)
    p.center = an.hila["right"]
    p.side = "bilateral"


def _collapse(an: Anatomy, p: Placed, rand: Rand) -> None:
    s = an.scene.landmarks["size"]
    lobe = p.lobe
    comp = an.comps[f"lung_{lobe}"]
    piece = comp.solid.pieces[0]
    hil = an.hila[LOBE_SIDE[lobe]]
    sx = -1 if LOBE_SIDE[lobe] == "right" else 1
    anchors = {
        "rul": np.array([-30 * s, 0, an.scene.landmarks["z_apex"] - 45 * s]),
        "rml": np.array([hil[0] + 10 * s, 30 * s, hil[2] - 25 * s]),
        "rll": np.array([-28 * s, -50 * s, an.scene.landmarks["z_dome_right"] + 8 * s]),
        "lul": np.array([28 * s, 25 * s, hil[2] + 35 * s]),
        "lingula": np.array([hil[0] + 5 * s, 30 * s, hil[2] - 30 * s]),
        "lll": np.array([30 * s, -50 * s, an.scene.landmarks["z_dome_left"] + 10 * s]),
    }
    anchor = anchors[lobe]
    del sx
    f = [0.6, 0.48, 0.36][p.level]
    collapsed = scale_about(piece, anchor, [f, f, f])
    _add(an, p, "consolidation", "lung", Solid([collapsed], comp.solid.holes), label_min_mm=10)
    p.center = anchor
    p.facts["fraction"] = f


def _emphysema(an: Anatomy, p: Placed, rand: Rand) -> None:
    s = an.scene.landmarks["size"]
    zcut = an.scene.landmarks["z_horizontal_fissure"] - 20 * s
    centres = rand.uniform(-1, 1, (4000, 3)) * np.array([140, 100, 170]) * s
    centres[:, 2] += zcut + 100 * s
    # centrilobular holes, larger and more crowded toward the apices
    radii = rand.uniform(1.5, 4.0, 4000) * s * (1 + np.clip((centres[:, 2] - zcut) / 200, 0, 1))

    def tex(q, c=centres, r=radii):
        return holes_hu(q, c, r, base=-885.0, hole=-1000.0)

    # film labels: over the lungs and their vessels, under the heart and mediastinum, so a
    # film's label map keeps the heart's outline (its CTR is measured from it)
    for lb in LOBES:
        _add(an, p, "emphysema", "lung", _lobe_solid(an, lb), ct_texture=tex, label_min_mm=25,
             label_priority=22)
    # apical bullae
    for side in ("right", "left"):
        sx = -1 if side == "right" else 1
        lb = "rul" if side == "right" else "lul"
        c = np.array([sx * 60 * s, 0, an.scene.landmarks["z_apex"] - 38 * s]) + rand.normal(3) * 5
        r = rand.uniform(16, 26) * s
        b = ellipsoid_q(c, [r, r, r * 0.85])
        _add(an, p, "air", "lung", _lobe_solid(an, lb, b), label_min_mm=8, label_priority=23)
    p.center = np.array([-60 * s, 0, zcut + 60 * s])
    p.side = "bilateral"


def _fibrosis(an: Anatomy, p: Placed, rand: Rand) -> None:
    s = an.scene.landmarks["size"]
    zc = an.scene.landmarks["z_horizontal_fissure"] - 25 * s
    seeds = rand.uniform(-1, 1, (24000, 3)) * np.array([150, 110, 70]) * s
    seeds[:, 2] += zc - 70 * s

    def tex(q, sd=seeds):
        return honeycomb_hu(q, sd, cyst=-900.0, wall=30.0, wall_mm=1.3 * s)

    zd = min(an.scene.landmarks["z_dome_right"], an.scene.landmarks["z_dome_left"])
    for lb in ("rll", "lll"):
        side = LOBE_SIDE[lb]
        inner = an.side_envelope[side].shrunk(28 * s)
        sx = -1 if side == "right" else 1
        basal = ellipsoid_q([sx * 80 * s, -30 * s, zd - 20 * s], np.array([120, 150, 115]) * s)
        sol = Solid([an.lobe_pieces[lb].with_(basal)], [*an.lobe_holes[lb], inner])
        _add(an, p, "ground_glass", "lung", sol, ct_texture=tex, xray_texture="reticular",
             label_min_mm=6, xray_gain=0.9)
    p.center = np.array([-100 * s, -40 * s, an.scene.landmarks["z_dome_right"] + 20 * s])
    p.side = "bilateral"


def _miliary(an: Anatomy, p: Placed, rand: Rand) -> None:
    """Innumerable 1-3 mm nodules spread evenly through both lungs: each one is faint, their
    number makes the fine granular pattern. A lobe's box is mostly outside it, so candidates
    are drawn until the lobe holds its share (by volume: the fraction that lands inside)."""
    per_cm3 = [1.2, 2.2, 3.6][p.level]  # candidate nodules per cm3 of the lobe's box
    pts_all = []
    for lb in LOBES:
        lo, hi = an.lobe_pieces[lb].bounds
        n_box = int(per_cm3 * float(np.prod(hi - lo)) / 1e3)
        pts_all.append(_lobe_points(an, lb, rand, n=max(n_box, 50)))
    pts = np.concatenate(pts_all)
    r = rand.uniform(0.8, 1.4, len(pts)) * an.scene.landmarks["size"]
    _add(an, p, "tumour", "lung", tubes=Tubes(pts, pts.copy(), r, r), blur_px=0.7,
         label_min_mm=0.5, xray_gain=3.2)
    p.center = an.hila["right"] + np.array([-40, 0, 20])
    p.side = "bilateral"
    p.facts["count"] = len(pts)


def _pneumoperitoneum(an: Anatomy, p: Placed, rand: Rand) -> None:
    s = an.scene.landmarks["size"]
    kx, ky = an.scene.params["kx"], an.scene.params["ky"]
    zr = an.scene.landmarks["z_dome_right"]
    if an.scene.posture == "upright":
        t = [7.0, 12.0, 20.0][p.level]
        apex = an.scene.points["dome_right_apex"]
        top = dome_q(apex - [0, 0, 4 * s], kx, ky)
        bot = dome_q(apex - [0, 0, 4 * s + t], kx, ky)
        reg = Convex([top, *an.cavity.quadrics, halfspace([0, 0, -1], -(zr - 70 * s)),
                      halfspace([1, 0, 0], 20 * s)],
                     (np.array([-300, -300, zr - 80 * s]), np.array([40, 300, zr])))
        hole = Convex([bot], (np.array([-400, -400, -600]), np.array([400, 400, zr])))
        _add(an, p, "air", "cavity", Solid([reg], [hole]), label_min_mm=5)
        p.center = apex - [0, 0, 8 * s]
    else:
        yf = an.scene.landmarks["y_cav"] + an.scene.landmarks["b_mid"]
        depth = [10, 18, 30][p.level] * s
        reg = Convex([*an.cavity.quadrics, halfspace([0, -1, 0], -(yf - depth)),
                      dome_q(an.scene.points["dome_right_apex"] - [0, 0, 4 * s], kx, ky),
                      halfspace([0, 0, 1], zr - 15 * s)],
                     (np.array([-200, yf - depth, zr - 200]), np.array([200, yf, zr])))
        _add(an, p, "air", "cavity", Solid([reg]), label_min_mm=5, label_priority=62)
        p.center = np.array([-20 * s, yf - depth / 2, zr - 40 * s])
    p.side = None


def _rib_fracture(an: Anatomy, p: Placed, rand: Rand) -> None:
    s = an.scene.landmarks["size"]
    c = an.ribs[("fracture", 0)]
    _add(an, p, "soft", "soft", Solid([ellipsoid(c, np.full(3, 9 * s))]), label_min_mm=1,
         xray_gain=0.0, label_priority=70, ct_label_only=True)
    p.center = c


def _hiatus(an: Anatomy, p: Placed, rand: Rand) -> None:
    s = an.scene.landmarks["size"]
    zl = an.scene.landmarks["z_dome_left"]
    r = (p.size_mm / 2 if p.size_mm else [24, 32, 42][p.level]) * s
    c = np.array([8 * s, an.scene.landmarks["y_spine"] + 30 * s + r * 0.4, zl + r * 0.55])
    outer = ellipsoid(c, [r * 1.15, r * 0.9, r])
    inner = ellipsoid(c, np.array([r * 1.15, r * 0.9, r]) - 4 * s)
    for lb in ("rll", "lll"):
        comp = an.comps[f"lung_{lb}"]
        comp.solid = Solid(comp.solid.pieces, [*comp.solid.holes, outer])
        an.lobe_holes[lb] = comp.solid.holes
    _add(an, p, "soft", "cavity", Solid([outer]), label_min_mm=6)
    if an.scene.posture == "upright":
        air = inner.with_(halfspace([0, 0, -1], -(c[2] - r * 0.15)))
    else:
        air = inner.with_(halfspace([0, -1, 0], -(c[1] + r * 0.2)))
    _add(an, p, "air", "soft", Solid([air]), label_min_mm=3)
    p.center = c


def _widening(an: Anatomy, p: Placed, rand: Rand) -> None:
    s = an.scene.landmarks["size"]
    w = [42, 52, 62][p.level] * s
    c = np.array([2 * s, -5 * s, an.scene.landmarks["z_arch"] + 5 * s])
    mass = ellipsoid(c, np.array([w, 45 * s, 70 * s]))
    for lb in LOBES:
        comp = an.comps[f"lung_{lb}"]
        comp.solid = Solid(comp.solid.pieces, [*comp.solid.holes, mass])
        an.lobe_holes[lb] = comp.solid.holes
    _add(an, p, "soft", "cavity", Solid([mass]), label_min_mm=20, label_priority=35)
    p.center = c
    p.facts["width_mm"] = round(2 * w)


_BUILDERS = {
    "consolidation": _consolidation, "pleural_effusion": _effusion,
    "pneumothorax": _pneumothorax, "nodule": _nodule, "mass": _mass, "cavity": _cavity,
    "cardiomegaly": _cardiomegaly, "pulmonary_edema": _edema, "collapse": _collapse,
    "emphysema": _emphysema, "fibrosis": _fibrosis, "miliary_nodules": _miliary,
    "pneumoperitoneum": _pneumoperitoneum, "rib_fracture": _rib_fracture,
    "hiatus_hernia": _hiatus, "mediastinal_widening": _widening, **DEVICE_BUILDERS,
}
