"""Fundus photographs: colour from the eye's optical layers, then a fundus camera.

Steps (render_fundus): geometry (mm -> pixels, a left eye mirrored) -> labels -> background
reflectance (RPE/choroid melanin, choroidal vessels, macular pigment) -> disc and cup ->
bright deposits (exudates, cotton-wool spots, drusen) mixed in -> blood (vessels,
haemorrhages) absorbing by Beer-Lambert -> camera (illumination, vignetting, exposure and
white balance, foveal reflex, blur, noise, sRGB) -> circular field mask.

Colours are linear-light reflectances chosen so a medium-pigmented fundus photographs as
the familiar orange-red (the optical columns of FUNDUS_OPTICS; physics.md gives no colour
numbers, these are judged against clinical photographs and say so).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from imagine_med.engine.phantom.filters import gaussian_filter_cv
from imagine_med.engine.phantom.regions.retina.eye import FIELD_RADIUS, EyeModel, notch_ellipse
from imagine_med.engine.phantom.regions.retina.labels import AREA_KINDS, LABELS

# optical columns: reflectance (linear RGB) replaces the layer below by its coverage;
# absorbance (per unit density, RGB) attenuates by exp(-density * absorbance)
FUNDUS_OPTICS = {
    "fundus_light": {"reflectance": (0.80, 0.21, 0.050)},  # blond fundus, melanin 0.5
    "melanin": {"absorbance": (0.85, 1.15, 1.05)},  # per melanin unit above 0.5
    "macular_pigment": {"absorbance": (0.22, 0.55, 0.9)},  # xanthophyll + RPE melanin
    "disc_rim": {"reflectance": (0.92, 0.42, 0.17)},
    "disc_cup": {"reflectance": (0.98, 0.84, 0.55)},
    "artery_blood": {"absorbance": (0.38, 1.05, 0.8)},  # oxygenated: lighter, redder
    "vein_blood": {"absorbance": (1.05, 2.4, 1.6)},
    "haemorrhage": {"absorbance": (1.0, 2.3, 1.7)},
    "hard_exudate": {"reflectance": (0.95, 0.78, 0.17)},
    "cotton_wool_spot": {"reflectance": (0.80, 0.72, 0.55)},
    "drusen": {"reflectance": (0.88, 0.58, 0.17)},
    # areas: a detached retina is a grey translucent sheet over a dark subretinal space; the
    # ischaemic inner retina of an artery occlusion milky white; atrophic RPE lets the pale
    # sclera and the large choroidal vessels show; a neovascular membrane is grey-green;
    # vitreous blood a dark red veil (colours judged against atlas photographs)
    "detached_retina": {"reflectance": (0.55, 0.46, 0.40)},
    "retinal_whitening": {"reflectance": (0.86, 0.80, 0.70)},
    "geographic_atrophy": {"reflectance": (0.97, 0.62, 0.36)},
    "cnv_membrane": {"reflectance": (0.50, 0.47, 0.30)},
    "vitreous_haemorrhage": {"reflectance": (0.30, 0.05, 0.03)},
    "laser_scar": {"reflectance": (0.90, 0.80, 0.55)},  # bare sclera in the burn's centre
}
AREA_OPACITY = {"detached_retina": 0.6, "retinal_whitening": 0.5, "geographic_atrophy": 0.75,
                "cnv_membrane": 0.7}
SUBRETINAL_BLOOD = 1.3  # density of subretinal blood, as the haemorrhage absorbance unit
VITREOUS_BLUR_MM = 0.25  # what lies behind dense vitreous blood is seen out of focus
NV_WIDTH_MM = 0.045  # fine new vessels and IRMA: ~45 um loops
_O = {k: np.array(next(iter(v.values())), np.float32) for k, v in FUNDUS_OPTICS.items()}


class Geometry:
    """mm (right-eye frame) <-> pixels: the field circle spans 96% of the shorter side."""

    def __init__(self, eye: EyeModel, width: int, height: int) -> None:
        self.w, self.h, self.m = width, height, eye.mirror
        self.px = 2 * FIELD_RADIUS / (0.96 * min(width, height))

    def xy(self, pts) -> np.ndarray:
        p = np.asarray(pts, np.float64).reshape(-1, 2)
        return np.stack([self.w / 2 - 0.5 + self.m * p[:, 0] / self.px,
                         self.h / 2 - 0.5 + p[:, 1] / self.px], axis=1)

    def mm(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (self.m * (x + 0.5 - self.w / 2) * self.px, (y + 0.5 - self.h / 2) * self.px)


def _ellipse_poly(g: Geometry, u, v, a, b, ang, n=28, rough: float = 0.0
                  ) -> list[tuple[float, float]]:
    """An ellipse's outline in pixels; `rough` > 0 makes a blot's ragged edge (inside a,
    so a lesion never grows past the room it was placed in)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ca, sa = math.cos(ang), math.sin(ang)
    k = 1.0
    if rough:
        rng = np.random.default_rng(int(abs(u * 7919 + v * 104729) * 1000) % (2 ** 32))
        z = rng.standard_normal(n)
        z = (z + np.roll(z, 1) + np.roll(z, -1) + 0.5 * (np.roll(z, 2) + np.roll(z, -2))) / 2.2
        k = 1 - rough * np.abs(z) * 1.6
        k = np.clip(k, 1 - 2 * rough, 1)
    x, y = a * np.cos(t) * k, b * np.sin(t) * k
    pts = np.stack([u + x * ca - y * sa, v + x * sa + y * ca], axis=1)
    return [tuple(p) for p in g.xy(pts)]


def _draw_lesion(d: ImageDraw.ImageDraw, g: Geometry, les, fill, grow: float = 0.0,
                 width_px: float | None = None) -> None:
    if les.strands:
        w = max(1, round(width_px or 1))
        for s in les.strands:
            d.line([tuple(p) for p in g.xy(s)], fill=fill, width=w, joint="curve")
        return
    a, b = les.a + grow, les.b + grow
    if a / g.px < 0.9:
        x, y = g.xy([[les.u, les.v]])[0]
        d.point((round(x), round(y)), fill=fill)
        return
    if les.kind == "preretinal_haemorrhage":  # boat-shaped: a flat top (a fluid level)
        poly = _ellipse_poly(g, les.u, les.v, a, b, 0.0, 36)
        top = g.xy([[les.u, les.v - 0.25 * b]])[0][1]
        poly = [(x, max(y, top)) for x, y in poly]
        d.polygon(poly, fill=fill)
        return
    rough = {"dot_blot_haemorrhage": 0.22 if les.a > 0.11 else 0.0, "hard_exudate": 0.2,
             "cotton_wool_spot": 0.15, "flame_haemorrhage": 0.12}.get(les.kind, 0.0)
    key = (g.w, g.h, g.m, grow)  # labels and colour draw the same outline: made once
    cache = les.__dict__.setdefault("_outline", {})
    if key not in cache:
        cache[key] = _ellipse_poly(g, les.u, les.v, a, b, les.angle, 28, rough)
    d.polygon(cache[key], fill=fill)


def _vessel_lines(d: ImageDraw.ImageDraw, g: Geometry, b, scale: float, fill_of) -> None:
    """A branch as polylines: one call per run of points drawn at the same width."""
    p = g.xy(b.pts)
    wpx = 2 * np.asarray(b.radius, np.float64) * scale / g.px
    widths = np.maximum(1, np.rint(wpx)).astype(int)
    i, n = 0, len(p) - 1
    while i < n:
        j = i + 1
        while j < n and widths[j] == widths[i]:
            j += 1
        d.line(p[i:j + 1].ravel().tolist(), fill=fill_of(float(wpx[i])),
               width=int(widths[i]), joint="curve" if widths[i] > 2 else None)
        i = j


def _radius_with_beads(eye: EyeModel) -> dict[int, np.ndarray]:
    """Vein calibres with beading: sausage-like swellings along the beaded stretch."""
    out = {}
    for les in eye.lesions:
        if les.kind == "venous_beading" and les.branch is not None:
            b = eye.vessels[les.branch]
            r = out.get(b.id, b.radius.copy())
            i0, i1 = les.span
            k = np.arange(i1 - i0)
            r[i0:i1] = r[i0:i1] * (1.0 + 0.75 * np.abs(np.sin(k * np.pi / 3.2)))
            out[b.id] = r
    return out


def area_maps(eye: EyeModel, g: Geometry) -> dict[str, np.ndarray]:
    """Each area finding's density (0-1) on the pixel grid, evaluated once for labels and
    colour (several areas of one kind combine by their maximum)."""
    if not eye.areas:
        return {}
    u, v = g.mm(np.arange(g.w, dtype=np.float32)[None, :],
                np.arange(g.h, dtype=np.float32)[:, None])
    out: dict[str, np.ndarray] = {}
    for a in eye.areas:
        dens = np.broadcast_to(a.density(u, v), (g.h, g.w)).astype(np.float32)
        out[a.kind] = np.maximum(out[a.kind], dens) if a.kind in out else dens
    return out


def draw_labels(eye: EyeModel, g: Geometry, areas: dict[str, np.ndarray] | None = None
                ) -> np.ndarray:
    """Label map in priority order: retina < macula < areas (detachment, whitening, atrophy,
    wet AMD) < fovea < lesions < vessels < beads, IRMA, new vessels < disc < cup <
    pre-retinal haemorrhage < dense vitreous haemorrhage."""
    areas = area_maps(eye, g) if areas is None else areas
    img = Image.new("L", (g.w, g.h), 0)
    d = ImageDraw.Draw(img)
    c = g.xy([[0.0, 0.0]])[0]
    rr = FIELD_RADIUS / g.px
    d.ellipse([c[0] - rr, c[1] - rr, c[0] + rr, c[1] + rr], fill=LABELS["retina"])
    fu, fv = eye.fovea
    d.polygon(_ellipse_poly(g, fu, fv, 2.75, 2.75, 0), fill=LABELS["macula"])
    if any(k in areas for k in AREA_KINDS):
        lab = np.asarray(img).copy()
        inside = lab > 0
        for kind in AREA_KINDS:
            if kind in areas:
                lab[(areas[kind] >= 0.5) & inside] = LABELS[kind]
        img = Image.fromarray(lab)
        d = ImageDraw.Draw(img)
    d.polygon(_ellipse_poly(g, fu, fv, 0.2, 0.2, 0), fill=LABELS["fovea"])
    late = ("venous_beading", "irma", "neovascularisation", "preretinal_haemorrhage")
    for les in eye.lesions:
        if les.kind not in late:
            _draw_lesion(d, g, les, LABELS[les.kind])
    radii = _radius_with_beads(eye)
    # veins first: an artery crosses in front of its vein (and nicks it in hypertension)
    for b in sorted(eye.vessels, key=lambda b: b.kind != "vein"):
        _vessel_lines(d, g, b, 1.0, lambda _w, b=b: LABELS[b.kind])
    for les in eye.lesions:
        if les.kind == "venous_beading":
            b = eye.vessels[les.branch]
            i0, i1 = les.span
            p = g.xy(b.pts[i0:i1])
            r = radii[b.id][i0:i1]
            for i in range(len(p) - 1):
                d.line([tuple(p[i]), tuple(p[i + 1])], fill=LABELS["venous_beading"],
                       width=max(1, round(2 * float(r[i]) / g.px)))
        elif les.kind in ("irma", "neovascularisation"):
            _draw_lesion(d, g, les, LABELS[les.kind], width_px=NV_WIDTH_MM / g.px)
    disc = eye.disc
    h = 0.5 * g.px  # a filled polygon takes its edge pixels: half a pixel in, so the
    # label's diameters (and the CDR read from them) are the ellipse's, not one pixel more
    d.polygon(_ellipse_poly(g, disc.cu, disc.cv, disc.width / 2 - h, disc.height / 2 - h, 0,
                            64), fill=LABELS["optic_disc"])
    d.polygon(_ellipse_poly(g, disc.cup_cu, disc.cup_cv, disc.cup_width / 2 - h,
                            disc.cup_height / 2 - h, 0, 64), fill=LABELS["optic_cup"])
    if disc.notch:
        nu, nv, na, nb, nang = notch_ellipse(disc)
        d.polygon(_ellipse_poly(g, nu, nv, na, nb, nang, 32), fill=LABELS["optic_cup"])
    for les in eye.lesions:
        if les.kind == "preretinal_haemorrhage":
            _draw_lesion(d, g, les, LABELS[les.kind])
    lab = np.asarray(img).copy()
    if "vitreous_haemorrhage" in areas:  # where the veil hides the fundus behind it
        lab[(areas["vitreous_haemorrhage"] >= 0.5) & (lab > 0)] = LABELS["vitreous_haemorrhage"]
    return lab


def _noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Unit-variance smooth noise of correlation length `sigma` pixels; broad noise is made
    on a coarse grid and enlarged (the same look at a fraction of the cost)."""
    f = max(1, int(sigma / 2))
    small = (shape[0] // f + 2, shape[1] // f + 2)
    n = ndimage.gaussian_filter(rng.standard_normal(small, dtype=np.float32), sigma / f,
                                truncate=3.0)
    n /= n.std() + 1e-6
    if f == 1:
        return n[: shape[0], : shape[1]]
    return np.asarray(Image.fromarray(n).resize((small[1] * f, small[0] * f), Image.BILINEAR)
                      )[f: f + shape[0], f: f + shape[1]]


def _upsample(a: np.ndarray, g: Geometry) -> np.ndarray:
    """Bilinear enlargement (Pillow's); an exact doubling of up to 4 channels in one go."""
    if a.ndim == 3 and a.shape[2] <= 4 and (g.h, g.w) == (2 * a.shape[0], 2 * a.shape[1]):
        return _double_bilinear(a)
    if a.ndim == 2:
        return np.asarray(Image.fromarray(a).resize((g.w, g.h), Image.BILINEAR))
    out = np.empty((g.h, g.w, a.shape[2]), np.float32)
    for c in range(a.shape[2]):
        out[..., c] = np.asarray(Image.fromarray(np.ascontiguousarray(a[..., c]))
                                 .resize((g.w, g.h), Image.BILINEAR))
    return out


def _cv2():
    import cv2  # imported on first use (a second or so); a core dependency (pyproject)

    return cv2


def _double_bilinear(a: np.ndarray) -> np.ndarray:
    """Pillow's bilinear doubling of a float32 (H, W, C) image, through OpenCV: at twice
    the size every weight is 1/4 or 3/4, so each pass's float64 sums are exact in any
    order; rounding to float32 after each pass as Pillow does gives its very values."""
    cv2 = _cv2()
    h, w = a.shape[:2]
    rows = cv2.resize(a.astype(np.float64), (2 * w, h), interpolation=cv2.INTER_LINEAR)
    rows = rows.astype(np.float32).astype(np.float64)
    out = cv2.resize(rows, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    return out.astype(np.float32).reshape(2 * h, 2 * w, -1)


def _background(eye: EyeModel, g: Geometry, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """Linear reflectance of the fundus without disc, vessels or lesions, and the camera's
    illumination (flash falling off to the rim, a slightly decentred beam, exposure):
    smooth fields, made at half size and enlarged."""
    hw, hh = max(32, g.w // 2), max(32, g.h // 2)
    xs = (np.arange(hw, dtype=np.float32) + 0.5) * g.w / hw - 0.5
    ys = (np.arange(hh, dtype=np.float32) + 0.5) * g.h / hh - 0.5
    u, v = g.mm(xs[None, :], ys[:, None])
    spp = g.px * g.w / hw  # mm per background pixel
    # choroidal vessels: zero crossings of band-pass noise, ~0.15-0.3 mm wide, 1 mm apart
    band = _noise(rng, (hh, hw), 0.35 / spp) - 0.6 * _noise(rng, (hh, hw), 0.9 / spp)
    band /= band.std() + 1e-6
    chor = np.exp(-(band / 0.45) ** 2)
    mott = _noise(rng, (hh, hw), 0.05 / spp)
    patch = _noise(rng, (hh, hw), 1.5 / spp)
    mel = eye.melanin * (1 + 0.08 * patch + 0.035 * mott) \
        + eye.tigroid * 0.55 * (0.45 - chor) * eye.melanin
    r2 = (u - eye.fovea[0]) ** 2 + (v - eye.fovea[1]) ** 2
    mac = np.exp(-r2 / (2 * 0.85 ** 2)) * (0.6 + 0.4 * eye.melanin) + 0.25 * np.exp(-r2 / 8.0)
    od = (mel - 0.5)[..., None] * _O["melanin"] + mac[..., None] * _O["macular_pigment"]
    du, dv = rng.normal(0, 0.6, 2)
    r = np.hypot(u - du, v - dv) / FIELD_RADIUS
    exposure = float(np.clip(rng.normal(1.05, 0.1), 0.8, 1.3))
    illum = (1 - 0.55 * np.clip(r, 0, 1.3) ** 2.6) * exposure
    both = np.concatenate([_O["fundus_light"] * np.exp(-od), illum[..., None]], axis=2)
    full = _upsample(both.astype(np.float32), g)
    return full[..., :3], full[..., 3]


def _soft_ellipse(g: Geometry, u, v, a, b, edge_mm: float, x, y) -> np.ndarray:
    uu, vv = g.mm(x, y)
    r = np.sqrt(((uu - u) / a) ** 2 + ((vv - v) / b) ** 2)
    return np.clip((1 - r) * min(a, b) / max(edge_mm, g.px) + 0.5, 0, 1).astype(np.float32)


def _disc(refl: np.ndarray, eye: EyeModel, g: Geometry) -> None:
    d = eye.disc
    bb = g.xy([[d.cu - d.width, d.cv - d.height], [d.cu + d.width, d.cv + d.height]])
    x0, x1 = sorted((int(max(0, bb[:, 0].min())), int(min(g.w, bb[:, 0].max() + 1))))
    y0, y1 = int(max(0, bb[:, 1].min())), int(min(g.h, bb[:, 1].max() + 1))
    if x1 <= x0 or y1 <= y0:
        return
    y, x = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    halo = _soft_ellipse(g, d.cu, d.cv, d.width * 0.58, d.height * 0.58, 0.12, x, y)
    disc = _soft_ellipse(g, d.cu, d.cv, d.width / 2, d.height / 2, 0.015 + 0.1 * d.swelling,
                         x, y)
    cup = _soft_ellipse(g, d.cup_cu, d.cup_cv, d.cup_width / 2, d.cup_height / 2, 0.09, x, y)
    if d.notch:
        nu, nv, na, nb, nang = notch_ellipse(d)
        uu, vv = g.mm(x, y)
        ca, sa = math.cos(nang), math.sin(nang)
        p1 = ((uu - nu) * ca + (vv - nv) * sa) / na
        p2 = (-(uu - nu) * sa + (vv - nv) * ca) / nb
        notch = np.clip((1 - np.sqrt(p1 ** 2 + p2 ** 2)) * nb / 0.04 + 0.5, 0, 1)
        cup = np.maximum(cup, notch.astype(np.float32))
    rim = _O["disc_rim"] + d.pallor * (_O["disc_cup"] - _O["disc_rim"])
    col = rim[None, None] * (1 - cup[..., None]) + _O["disc_cup"] * cup[..., None]
    sub = refl[y0:y1, x0:x1]
    sub *= 1 + 0.04 * halo[..., None] * (1 - disc[..., None])  # paler peripapillary ring
    sub[:] = sub * (1 - disc[..., None]) + col * disc[..., None]


def _swollen_disc(refl: np.ndarray, art: np.ndarray, vei: np.ndarray, eye: EyeModel,
                  g: Geometry) -> None:
    """Papilloedema: a grey-white halo of swollen nerve fibres round a hyperaemic disc,
    reaching further with the grade, hiding the vessels where they cross it."""
    d = eye.disc
    reach = 0.12 * d.swelling  # mm beyond the margin
    bb = g.xy([[d.cu - d.width - reach, d.cv - d.height - reach],
               [d.cu + d.width + reach, d.cv + d.height + reach]])
    x0, x1 = int(max(0, bb[:, 0].min())), int(min(g.w, bb[:, 0].max() + 1))
    y0, y1 = int(max(0, bb[:, 1].min())), int(min(g.h, bb[:, 1].max() + 1))
    if x1 <= x0 or y1 <= y0:
        return
    y, x = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    uu, vv = g.mm(x, y)
    r = np.sqrt(((uu - d.cu) / (d.width / 2)) ** 2 + ((vv - d.cv) / (d.height / 2)) ** 2)
    halo = np.clip(1 - np.abs(r - 1) / (reach / (d.width / 2) + 0.15), 0, 1) ** 1.5
    grey = np.array((0.78, 0.55, 0.38), np.float32)
    a = (0.55 * halo)[..., None]
    refl[y0:y1, x0:x1] = refl[y0:y1, x0:x1] * (1 - a) + grey * a
    hide = 1 - 0.65 * halo
    art[y0:y1, x0:x1] *= hide
    vei[y0:y1, x0:x1] *= hide


def _mask_image(eye: EyeModel, g: Geometry, kinds, grow: float = 0.0, value: float = 1.0
                ) -> np.ndarray:
    img = Image.new("F", (g.w, g.h), 0.0)
    d = ImageDraw.Draw(img)
    for les in eye.lesions:
        if les.kind in kinds:
            _draw_lesion(d, g, les, value, grow, width_px=NV_WIDTH_MM / g.px)
    return np.asarray(img)


BLOOD = {"microaneurysm": 1.0, "dot_blot_haemorrhage": 1.0, "flame_haemorrhage": 0.75,
         "preretinal_haemorrhage": 1.6, "irma": 0.9, "neovascularisation": 1.0,
         "disc_haemorrhage": 0.9}
BRIGHT = {"hard_exudate": (0.012, 1.1), "cotton_wool_spot": (0.08, 0.85),
          "drusen": (0.03, 0.85)}  # edge blur (mm) and opacity


def _blood(eye: EyeModel, g: Geometry) -> np.ndarray:
    """Blood density: vessels (a wide band and a dense core: a round profile), the
    lesions that hold blood; and the arteries' central light reflex. (4, H, W)"""
    maps = [Image.new("F", (g.w, g.h), 0.0) for _ in range(4)]  # artery, vein, lesion, reflex
    draws = [ImageDraw.Draw(m) for m in maps]
    radii = _radius_with_beads(eye)
    vessels = [b if b.id not in radii else type(b)(b.id, b.parent, b.kind, b.gen, b.pts,
                                                   radii[b.id]) for b in eye.vessels]
    for b in vessels:  # the blur below rounds the profile's edges
        _vessel_lines(draws[b.kind == "vein"], g, b, 0.95, lambda w: min(1.0, w / 0.95))
        if b.kind == "artery" and b.gen <= 1 and 2 * float(b.radius[0]) / g.px > 3.0:
            _vessel_lines(draws[3], g, b, 0.22, lambda w: 1.0)
    bleeds = [les for les in eye.lesions if les.kind in BLOOD]
    for les in bleeds:
        _draw_lesion(draws[2], g, les, BLOOD[les.kind], width_px=NV_WIDTH_MM / g.px)
    if eye.hypertensive:
        _av_nicking(maps, g)
    keep = [0, 1, 3] + ([2] if bleeds else [])  # an eye without bleeding skips its blur
    out = np.zeros((4, g.h, g.w), np.float32)
    for k in keep:
        out[k] = gaussian_filter_cv(np.asarray(maps[k]), 0.6, truncate=3.0).astype(np.float32)
    return out


def _av_nicking(maps: list, g: Geometry) -> None:
    """Hypertension: where an artery crosses a vein the vein seems to stop short on both
    sides (the thickened artery wall hides it): vein density drops round every artery."""
    art = np.asarray(maps[0]) > 0.3
    reach = max(2, round(0.07 / g.px))
    near = ndimage.binary_dilation(art, np.ones((3, 3), bool), iterations=reach) & ~art
    vein = np.asarray(maps[1]).copy()
    vein[near] *= 0.15
    maps[1] = Image.fromarray(vein)


def render_fundus(eye: EyeModel, width: int, height: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """(RGB uint8, label map, mm per pixel) of one eye."""
    g = Geometry(eye, width, height)
    areas = area_maps(eye, g)
    labels = draw_labels(eye, g, areas)
    refl, illum = _background(eye, g, rng)
    _disc(refl, eye, g)
    _areas(refl, areas, g, rng)
    if any(les.kind == "laser_scar" for les in eye.lesions):
        _laser_scars(refl, eye, g)
    # bright deposits: exudates sharp, cotton-wool spots and drusen soft
    for kind, (blur, opacity) in BRIGHT.items():
        if any(les.kind == kind for les in eye.lesions):
            mask = _mask_image(eye, g, (kind,))
            box = Image.fromarray(mask).getbbox()
            if box is None:
                continue
            sigma = blur / g.px + 0.3
            pad = int(3 * sigma) + 2
            ys = slice(max(0, box[1] - pad), min(g.h, box[3] + pad))
            xs = slice(max(0, box[0] - pad), min(g.w, box[2] + pad))
            a = ndimage.gaussian_filter(mask[ys, xs], sigma, truncate=3.0)
            a = np.clip(a * opacity, 0, 1)[..., None]
            refl[ys, xs] = refl[ys, xs] * (1 - a) + _O[kind] * a
    art, vei, les, reflex = _blood(eye, g)
    if eye.disc.swelling:
        _swollen_disc(refl, art, vei, eye, g)
    wiring = 0.88 if eye.hypertensive >= 2 else 1.0  # copper wiring: paler, brighter arteries
    if wiring < 1:
        reflex = reflex * 2.5
    for c in range(3):  # Beer-Lambert per channel (2D passes: cheaper than 3-channel ones)
        od = art * (wiring * _O["artery_blood"][c]) + vei * _O["vein_blood"][c]
        if eye.lesions:
            od += les * _O["haemorrhage"][c]
        refl[..., c] *= np.exp(-od)
    lit = np.flatnonzero(reflex)  # the reflex is thin: added where it is (elsewhere + 0)
    refl.reshape(-1, 3)[lit] += (0.018 * reflex.ravel()[lit])[:, None]
    if "vitreous_haemorrhage" in areas:
        _vitreous_veil(refl, areas["vitreous_haemorrhage"], g)
    return _camera(refl, illum, eye, g, rng), labels, g.px


def _mix(refl: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> None:
    refl *= 1 - alpha[..., None]
    refl += colour * alpha[..., None]


def _areas(refl: np.ndarray, areas: dict[str, np.ndarray], g: Geometry,
           rng: np.random.Generator) -> None:
    """Area findings over the background (before the blood: vessels run on over them).
    Atrophy brightens toward sclera with the large choroidal vessels as dark bands; a
    detached retina is grey with folds (a ripple along it); whitening is milky; a wet AMD
    membrane grey-green with its subretinal blood absorbing like a haemorrhage."""
    for kind, dens in areas.items():
        if kind not in AREA_OPACITY:
            continue
        alpha = dens * AREA_OPACITY[kind]
        colour = _O[kind]
        if kind == "geographic_atrophy":
            band = _noise(rng, dens.shape, 0.45 / g.px)
            vessels = np.exp(-(band / 0.5) ** 2) * dens
            _mix(refl, colour, alpha)
            refl *= (1 - 0.45 * vessels[..., None] * np.array((0.4, 1.0, 1.0), np.float32))
            continue
        if kind == "detached_retina":
            # folds: thin bright ridges with dark troughs beside them (zero crossings of
            # band-pass noise, stretched along the detachment's edge)
            band = _noise(rng, dens.shape, 0.5 / g.px) - 0.5 * _noise(rng, dens.shape, 1.2 / g.px)
            band /= band.std() + 1e-6
            ridge = np.exp(-(band / 0.25) ** 2)
            shade = 1 + (0.22 * ridge - 0.08) * dens
            _mix(refl, colour, alpha)
            refl *= shade[..., None]
            continue
        _mix(refl, colour, alpha)
    if "subretinal_haemorrhage" in areas:
        blood = ndimage.gaussian_filter(areas["subretinal_haemorrhage"], 0.7) * SUBRETINAL_BLOOD
        refl *= np.exp(-blood[..., None] * _O["haemorrhage"])


def _laser_scars(refl: np.ndarray, eye: EyeModel, g: Geometry) -> None:
    """Healed laser burns: a pale (bare sclera) centre in a ring of clumped pigment."""
    centre = _mask_image(eye, g, ("laser_scar",), grow=-0.35 * 0.15)
    whole = _mask_image(eye, g, ("laser_scar",))
    centre = ndimage.gaussian_filter(centre, 0.6)
    ring = np.clip(ndimage.gaussian_filter(whole, 0.8) - centre, 0, 1)
    _mix(refl, _O["laser_scar"], 0.6 * centre)
    refl *= np.exp(-2.6 * ring[..., None] * _O["melanin"])


def _vitreous_veil(refl: np.ndarray, dens: np.ndarray, g: Geometry) -> None:
    """Blood in the vitreous: the fundus behind it blurred and veiled by dark red."""
    sigma = VITREOUS_BLUR_MM / g.px
    blurred = ndimage.gaussian_filter(refl, (sigma, sigma, 0))
    w = np.clip(dens * 1.6, 0, 1)[..., None]
    refl *= 1 - w
    refl += blurred * w
    _mix(refl, _O["vitreous_haemorrhage"], np.clip(dens, 0, 0.92))


def _camera(refl: np.ndarray, illum: np.ndarray, eye: EyeModel, g: Geometry,
            rng: np.random.Generator) -> np.ndarray:
    """The photograph: the flash's illumination, this camera's white balance, the foveal
    reflex, sensor noise, the circular field stop (a one-pixel soft edge) and sRGB-like
    gamma (through a lookup table); linear `refl` in, uint8 RGB out."""
    gains = np.clip(rng.normal([1.0, 1.0, 1.0], [0.04, 0.05, 0.08]), 0.8, 1.25)
    young = float(np.clip((75 - eye.age) / 40, 0.15, 1.0))
    (x0, y0), = g.xy([eye.fovea])
    k = int(0.15 / g.px) + 2
    ys, xs = slice(max(0, int(y0) - k), int(y0) + k), slice(max(0, int(x0) - k), int(x0) + k)
    yy, xx = np.mgrid[ys, xs].astype(np.float32)
    fr = ((xx - x0) ** 2 + (yy - y0) ** 2) * g.px ** 2
    refl[ys, xs] += (0.12 * young * np.exp(-fr / (2 * 0.03 ** 2)))[..., None]
    field, grain = _field_stop(g.w, g.h, g.px)
    light = illum * field * np.float32(_LUT_N)
    noise = rng.standard_normal(light.shape, dtype=np.float32) * grain
    out = np.empty(refl.shape, np.uint8)
    for ch in range(3):
        code = refl[..., ch] * (light * np.float32(gains[ch])) + noise
        np.clip(code, 0, _LUT_N, out=code)
        out[..., ch] = _GAMMA[code.astype(np.int32)]
    return out


@lru_cache(maxsize=8)
def _field_stop(width: int, height: int, px: float) -> tuple[np.ndarray, np.ndarray]:
    """The camera's circular field stop (0-1, a one-pixel soft edge) and the sensor noise's
    scale over it, for one image size: the same for every photograph, so made once."""
    c = (width / 2 - 0.5, height / 2 - 0.5)  # the field's centre (Geometry.xy of 0, 0)
    yy, xx = np.ogrid[0:height, 0:width]
    r = np.sqrt((xx - c[0]) ** 2 + (yy - c[1]) ** 2, dtype=np.float32) * np.float32(px)
    field = np.clip((FIELD_RADIUS - r) / px + 0.5, 0, 1)
    grain = field * np.float32(0.006 * _LUT_N)
    field.setflags(write=False)
    grain.setflags(write=False)
    return field, grain


_LUT_N = 4095
_GAMMA = np.round(255.0 * (np.arange(_LUT_N + 1) / _LUT_N) ** (1 / 2.2)).astype(np.uint8)
