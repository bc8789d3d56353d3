"""One tooth as path lengths along the panoramic beam (buccolingual), per tissue.

A tooth is drawn in its own frame: u across it (mesiodistal, mm), w along its long axis (mm from
the cementoenamel junction, + toward the occlusal surface). At every height its cross-section is
an ellipse (mesiodistal half-width a, buccolingual half-depth b), so the beam's chord at u is
2 b sqrt(1 - (u/a)^2): exact partial volume, no voxels. Enamel is the crown's shell (thickest
over the cusps, ~2-2.5 mm permanent and ~1 mm primary, nil at the CEJ: Wheeler's), dentine its
core and the roots, pulp the chamber and canals, cementum a 0.2 mm root skin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.regions.dental.dentition import Tooth

ENAMEL_MAX = {True: 1.2, False: 2.5}  # cusp enamel thickness (mm), primary / permanent
CEMENTUM_MM = 0.2
ROOT_APEX_MM = 0.6  # half-width of a root at its apex


@dataclass
class Placed:
    """A tooth in the film: centre of its CEJ (s, z nominal mm), axis angle (radians from
    vertical, + tips the crown toward +s), crown direction (+1 up for lower teeth, -1 for upper)
    and the fraction of crown/root formed."""

    tooth: Tooth
    s: float
    z: float
    angle: float
    up: int


def _chord(u: np.ndarray, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    a = np.maximum(a, 1e-3)
    q = 1.0 - (u / a) ** 2
    return 2.0 * b * np.sqrt(np.clip(q, 0.0, None))


def _crown_half_width(w: np.ndarray, crown: float, a_c: float, a_max: float) -> np.ndarray:
    """Mesiodistal half-width of the crown at height w (0 at the CEJ, `crown` at the tip):
    widening to the contact areas (~2/3 up), rounding over the occlusal third."""
    t = np.clip(w / crown, 0.0, 1.0)
    a = a_c + (a_max - a_c) * np.sin(np.clip(t / 0.7, 0, 1) * np.pi / 2)
    top = np.clip((t - 0.7) / 0.3, 0.0, 1.0)
    return a * np.sqrt(np.clip(1.0 - top ** 2.2, 0.0, 1.0))


def frame(p: Placed, s: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(u, w) in the tooth's frame for nominal film points (s, z)."""
    ds, dz = s - p.s, (z - p.z) * p.up
    c, sn = np.cos(p.angle), np.sin(p.angle)
    u = ds * c - dz * sn * p.up
    w = ds * sn * p.up + dz * c
    return u, w


def paths(p: Placed, s: np.ndarray, z: np.ndarray) -> dict[str, np.ndarray]:
    """Path length (mm) through enamel, dentine, pulp and cementum at points (s, z)."""
    t = p.tooth
    sz = t.size
    u, w = frame(p, s, z)
    crown_h = sz.crown * max(t.crown_frac, 0.05)
    w_base = sz.crown - crown_h  # an incomplete crown forms from the tip down
    a_max, a_c = sz.md / 2, sz.md_cervix / 2
    b_max = sz.bl / 2
    e_max = ENAMEL_MAX[t.primary]
    in_crown = (w >= w_base) & (w <= sz.crown)
    a_out = _crown_half_width(w, sz.crown, a_c, a_max)
    b_out = b_max * a_out / max(a_max, 1e-3)
    outer = np.where(in_crown, _chord(u, a_out, b_out), 0.0)
    # enamel thickness: nil at the CEJ, e_max over the cusps
    e = e_max * np.clip(w / (0.6 * sz.crown), 0.0, 1.0)
    a_in = np.where(w <= sz.crown - e_max, np.maximum(a_out - e, 0.0), 0.0)
    b_in = np.maximum(b_out - e, 0.0)
    inner = np.where(in_crown, _chord(u, a_in, b_in), 0.0)
    enamel = outer - inner
    # root(s): from the CEJ down to the formed length, tapering to the apex
    root_len = sz.root * t.root_frac
    r = np.zeros_like(u)
    canal = np.zeros_like(u)
    if root_len > 0.3:
        tt = np.clip(-w / root_len, 0.0, 1.0)
        in_root = (w < 0) & (w >= -root_len - ROOT_APEX_MM)
        if sz.roots == 1:
            centres, a_top = (0.0,), a_c
        else:
            off = a_c * 0.52
            centres, a_top = (-off, off), a_c * 0.5
        apex_round = np.sqrt(np.clip(1 - ((-w - root_len) / ROOT_APEX_MM).clip(0, None) ** 2,
                                     0, 1))
        for cu in centres:
            # multi-rooted teeth share a trunk for the first 3 mm (the furcation below)
            trunk = (sz.roots > 1) & (-w < 3.0)
            a_r = np.where(trunk, a_c - (a_c - a_c * 0.85) * tt,
                           ROOT_APEX_MM + (a_top - ROOT_APEX_MM) * (1 - tt))
            b_r = b_max * 0.8 * (a_r / max(a_c, 1e-3)) ** 0.5
            uu = np.where(trunk, u, u - cu)
            part = np.where(in_root, _chord(uu, a_r, b_r) * apex_round, 0.0)
            r = np.maximum(r, part) if sz.roots == 1 else np.where(trunk, part, r + part)
            a_cn = np.maximum(0.25, 0.3 * a_r)
            cpart = np.where(in_root & (-w < root_len - 0.3), _chord(uu, a_cn, a_cn), 0.0)
            canal = np.maximum(canal, cpart) if sz.roots == 1 else np.where(trunk, cpart,
                                                                             canal + cpart)
            if sz.roots == 1:
                break
        if sz.roots > 1:  # the trunk was added twice
            trunk = (-w < 3.0) & in_root
            r = np.where(trunk, r / 2, r)
            canal = np.where(trunk, canal / 2, canal)
    # an open apex (forming root) is wide: the canal fills it
    # pulp chamber: an ellipse in the crown's core, reaching ~55% of crown height
    ch_top = 0.55 * sz.crown - (0.0 if t.primary else 0.4)
    ch = (w >= -1.0) & (w <= ch_top) & in_crown | ((w < 0) & (w >= -1.0))
    a_ch = 0.5 * a_c * np.sqrt(np.clip(1 - ((w - ch_top / 2) / (ch_top / 2 + 1.0)) ** 2, 0, 1))
    chamber = np.where(ch, _chord(u, a_ch, 0.5 * b_max * a_ch / max(0.5 * a_c, 1e-3)), 0.0)
    pulp = np.maximum(chamber, canal)
    dentine_total = inner + r
    pulp = np.minimum(pulp, dentine_total * 0.8)
    cementum = np.where((w < 0) & (r > 0), np.minimum(r, 2 * CEMENTUM_MM), 0.0)
    dentine = np.clip(dentine_total - pulp - cementum, 0.0, None)
    return {"enamel": enamel, "dentine": dentine, "pulp": pulp, "cementum": cementum}


def bbox(p: Placed, pad: float = 2.0) -> tuple[float, float, float, float]:
    """(s0, s1, z0, z1) nominal mm that hold the tooth."""
    sz = p.tooth.size
    half = max(sz.md, sz.bl) / 2 + pad
    lo, hi = -sz.root - pad, sz.crown + pad
    zs = [p.z + p.up * lo, p.z + p.up * hi]
    reach = (sz.root + sz.crown) * abs(np.sin(p.angle)) + half
    return p.s - reach, p.s + reach, min(zs) - half * abs(np.sin(p.angle)), \
        max(zs) + half * abs(np.sin(p.angle))
