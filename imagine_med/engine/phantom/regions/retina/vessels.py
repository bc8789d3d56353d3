"""Retinal vessel trees grown from the disc: four arcade pairs of arteries and veins.

Each tree starts at the cup: a trunk splits into superior and inferior papillary vessels on
the disc, each into a temporal arcade (curving round the macula) and a nasal branch. Branches
shed side branches every 0.7-1.4 mm (asymmetric forks at 55-80 degrees, the parent bending
a little away); calibres follow Murray's law r^k = r1^k + r2^k (k 2.6 arteries, 2.0 veins,
physics.md) and taper along each branch; tortuosity is a random curvature (AR(1)). A branch
stops at the field's edge, below ~24 um across, or at the foveal avascular zone.
The trees are trees by construction: every branch has one parent, the root has none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.regions.retina.eye import (
    FIELD_RADIUS,
    RETINA,
    VESSEL_STOP_FROM_FOVEA,
    EyeModel,
)

STEP = 0.08  # mm between centreline points
MIN_RADIUS = 0.012
# arcade calibres at the disc margin (diameters, mm): Knudtson's CRAE ~150 um and CRVE ~230 um
# are equivalents of the temporal and nasal branch (0.88 and 0.95 x root of sum of squares:
# 0.141 and 0.234 mm here)
ARCADE_D = {"artery": (0.125, 0.100), "vein": (0.195, 0.150)}  # (temporal, nasal)
VA_RATIO = (1.4, 1.55)  # vein/artery calibre at the disc (physics.md: ~2:3)
MURRAY = {"artery": RETINA["murray_artery"][0], "vein": RETINA["murray_vein"][0]}


@dataclass
class Branch:
    id: int
    parent: int | None
    kind: str  # artery | vein
    gen: int
    pts: np.ndarray  # (n, 2) u, v in mm (right-eye frame)
    radius: np.ndarray  # (n,) mm


class _Tree:
    def __init__(self, eye: EyeModel, rng: np.random.Generator, kind: str) -> None:
        self.eye, self.rng, self.kind = eye, rng, kind
        self.k = MURRAY[kind]
        self.out: list[Branch] = []

    def add(self, parent: int | None, gen: int, pts: list, radius: list) -> int:
        b = Branch(len(self.out), parent, self.kind, gen, np.asarray(pts, np.float32),
                   np.asarray(radius, np.float32))
        self.out.append(b)
        return b.id

    def murray_parent(self, *r: float) -> float:
        return float(sum(x ** self.k for x in r) ** (1.0 / self.k))

    def murray_rest(self, r: float, child: float) -> float:
        return float(max(r ** self.k - child ** self.k, (0.35 * r) ** self.k) ** (1.0 / self.k))

    def stop(self, u: float, v: float, r: float) -> bool:
        fu, fv = self.eye.fovea
        if math.hypot(u, v) > FIELD_RADIUS + 0.25:
            return True
        return math.hypot(u - fu, v - fv) < VESSEL_STOP_FROM_FOVEA + r

    def arcade(self, sign: int, r0: float, phase: float, offset: float,
               start: tuple[float, float]) -> list:
        """A temporal arcade in polar steps about the fovea (sign +1 superior, -1 inferior):
        it leaves the disc vertically, closes to ~3.6-4.2 mm from the fovea above (below)
        it and opens again temporally."""
        eye, rng = self.eye, self.rng
        fu, fv = eye.fovea
        rho_d = math.hypot(start[0] - fu, start[1] - fv)
        phi_d = math.atan2(-(start[1] - fv), start[0] - fu)
        rho_min = float(rng.uniform(3.5, 4.1)) + offset
        pts, rad = [], []
        phi = phi_d
        wob_a, wob_f = float(rng.uniform(0.06, 0.14)), float(rng.uniform(1.5, 3.0))
        r = r0
        taper = float(rng.uniform(0.00, 0.02))
        for _ in range(400):
            t = sign * (phi - phi_d)
            rho = rho_min + (rho_d - rho_min) * math.exp(-t / 0.55) + 1.3 * max(0.0, t - 1.75)
            rho += wob_a * math.sin(wob_f * t * 3.0 + phase)
            u = fu + rho * math.cos(phi)
            v = fv - rho * math.sin(phi)
            if pts and self.stop(u, v, r):
                break
            pts.append((u, v))
            rad.append(r)
            r = max(MIN_RADIUS, r * (1 - taper * STEP))
            phi += sign * STEP / max(rho, 0.5)
        return [pts, rad]

    def straight(self, u: float, v: float, ang: float, r: float, curl: float,
                 max_len: float, aim: str = "out") -> list:
        """A free branch: a heading with AR(1) curvature (tortuosity), turning gradually
        away from the disc (`aim` "out") or toward the fovea ("fovea") after its fork."""
        rng, d = self.rng, self.eye.disc
        fu, fv = self.eye.fovea
        pts, rad = [(u, v)], [r]
        kappa, length = 0.0, 0.0
        while length < max_len:
            kappa = 0.8 * kappa + float(rng.normal(0, 0.22))
            target = math.atan2(-(v - d.cv), u - d.cu) if aim == "out" \
                else math.atan2(-(fv - v), fu - u)
            turn = (target - ang + math.pi) % (2 * math.pi) - math.pi
            ang += (kappa + curl + 0.45 * turn) * STEP
            u += STEP * math.cos(ang)
            v -= STEP * math.sin(ang)
            length += STEP
            r = max(MIN_RADIUS * 0.9, r * (1 - 0.03 * STEP))
            if self.stop(u, v, r):
                break
            pts.append((u, v))
            rad.append(r)
        return [pts, rad]

    def shed(self, parent_id: int, pts: list, rad: list, gen: int) -> None:
        """Side branches along a path: each takes a share of the calibre by Murray's law."""
        rng, d = self.rng, self.eye.disc
        if gen > 3 or len(pts) < 6:
            return
        fu, fv = self.eye.fovea
        i = int(rng.uniform(0.8, 1.6) / STEP)
        side = 1 if rng.uniform() < 0.5 else -1
        while i < len(pts) - 3:
            u, v = pts[i]
            # no forks before zone B's outer edge (1.5 DD from the disc centre) on the four
            # main vessels: their calibres there are the arcades' own
            near = 1.55 * d.diameter if gen == 1 else d.width / 2 + 0.25
            if math.hypot(u - d.cu, (v - d.cv) * d.width / d.height) < near:
                i += 3
                continue
            r = float(rad[i])
            rc = r * float(rng.uniform(0.45, 0.72))
            if rc < MIN_RADIUS * 1.3:
                break
            rest = self.murray_rest(r, rc)
            scale = rest / r
            for j in range(i, len(rad)):  # the parent is thinner past the fork
                rad[j] = max(MIN_RADIUS, rad[j] * scale)
            du, dv = pts[i + 1][0] - pts[i - 1][0], pts[i + 1][1] - pts[i - 1][1]
            heading = math.atan2(-dv, du)
            # toward the fovea for branches of the temporal arcades on their inner side
            to_fovea = math.atan2(-(fv - v), fu - u)
            diff = (to_fovea - heading + math.pi) % (2 * math.pi) - math.pi
            if gen == 1 and rng.uniform() < 0.45:
                side = 1 if diff > 0 else -1
            macular = side == (1 if diff > 0 else -1) and math.hypot(u - fu, v - fv) < 4.6
            ang = heading + side * math.radians(float(rng.uniform(55, 80)))
            length = float(rng.uniform(1.2, 4.5)) * (1.0 if gen < 2 else 0.5)
            child = self.straight(u, v, ang, rc, float(rng.normal(0, 0.1)), length,
                                  "fovea" if macular else "out")
            if len(child[0]) >= 3:
                cid = self.add(parent_id, gen + 1, *child)
                self.shed(cid, child[0], child[1], gen + 1)
            side = -side
            i += int(rng.uniform(1.0, 2.0) / STEP)
        self.out[parent_id].radius = np.asarray(rad, np.float32)

    def grow(self, offset: float, scale: float, side: float) -> list[Branch]:
        """`scale` sets this eye's calibres (an artery's, a vein's by the eye's V/A ratio);
        `side` +1 puts the vein's arcades outside the artery's (leaving the cup nasally of
        it), -1 inside, so a pair runs side by side rather than on top of each other."""
        rng, d = self.rng, self.eye.disc
        dt, dn = (x / 2 * scale for x in ARCADE_D["artery"])
        r_pap = self.murray_parent(dt, dn)
        r_root = self.murray_parent(r_pap, r_pap)
        root = self.add(None, 0, [(d.cup_cu, d.cup_cv), (d.cup_cu, d.cup_cv - 0.02)],
                        [r_root, r_root])
        for sign in (1, -1):
            # a short papillary stem on the disc, then the temporal arcade and nasal branch
            # the artery leaves the cup on its temporal side, the vein on its nasal side
            off = (-0.16 if self.kind == "artery" else 0.16) * side
            stem_end = (d.cup_cu + off, d.cup_cv - sign * 0.22)
            stem = self.add(root, 0, [(d.cup_cu, d.cup_cv), stem_end], [r_pap, r_pap])
            pts, rad = self.arcade(sign, dt, float(rng.uniform(0, 6.28)), offset, stem_end)
            pts = [stem_end, *pts[1:]]
            rad = [dt, *rad[1:]]
            a = self.add(stem, 1, pts, rad)
            self.shed(a, pts, rad, 1)
            ang = math.radians(sign * float(rng.uniform(40, 70)))
            npts, nrad = self.straight(stem_end[0], stem_end[1], ang, dn,
                                       float(rng.normal(0, 0.1)), 6.0)
            if len(npts) >= 2:
                n = self.add(stem, 1, npts, nrad)
                self.shed(n, npts, nrad, 1)
        return self.out


def grow_vessels(eye: EyeModel, rng: np.random.Generator) -> list[Branch]:
    """Arteries then veins; a vein's arcade runs a little off its artery's so they cross."""
    size = float(rng.uniform(0.93, 1.07))
    va = float(rng.uniform(*VA_RATIO))
    side = float(rng.choice([-1.0, 1.0]))
    arteries = _Tree(eye, rng, "artery").grow(0.0, size, side)
    veins = _Tree(eye, rng, "vein").grow(side * float(rng.uniform(0.35, 0.7)), size * va, side)
    n = len(arteries)
    for b in veins:
        b.id += n
        b.parent = None if b.parent is None else b.parent + n
    return arteries + veins
