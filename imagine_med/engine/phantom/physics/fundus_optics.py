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

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from imagine_med.engine.phantom.regions.retina.eye import FIELD_RADIUS, EyeModel
from imagine_med.engine.phantom.regions.retina.labels import LABELS

# optical columns: reflectance (linear RGB) replaces the layer below by its coverage;
# absorbance (per unit density, RGB) attenuates by exp(-density * absorbance)
FUNDUS_OPTICS = {
    "fundus_light": {"reflectance": (0.80, 0.21, 0.050)},  # blond fundus, melanin 0.5
    "melanin": {"absorbance": (0.85, 1.15, 1.05)},  # per melanin unit above 0.5
    "macular_pigment": {"absorbance": (0.22, 0.55, 0.9)},  # xanthophyll + RPE melanin
    "disc_rim": {"reflectance": (0.84, 0.34, 0.16)},
    "disc_cup": {"reflectance": (0.93, 0.72, 0.47)},
    "artery_blood": {"absorbance": (0.55, 1.55, 1.1)},  # oxygenated: lighter, redder
    "vein_blood": {"absorbance": (1.05, 2.4, 1.6)},
    "haemorrhage": {"absorbance": (1.0, 2.3, 1.7)},
    "hard_exudate": {"reflectance": (0.95, 0.78, 0.17)},
    "cotton_wool_spot": {"reflectance": (0.86, 0.80, 0.62)},
    "drusen": {"reflectance": (0.88, 0.58, 0.17)},
}
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


def _ellipse_poly(g: Geometry, u, v, a, b, ang, n=28) -> list[tuple[float, float]]:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ca, sa = math.cos(ang), math.sin(ang)
    x, y = a * np.cos(t), b * np.sin(t)
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
    d.polygon(_ellipse_poly(g, les.u, les.v, a, b, les.angle), fill=fill)


def _vessel_lines(d: ImageDraw.ImageDraw, g: Geometry, b, scale: float, fill_of) -> None:
    p = g.xy(b.pts)
    for i in range(len(p) - 1):
        wpx = 2 * float(b.radius[i]) * scale / g.px
        d.line([tuple(p[i]), tuple(p[i + 1])], fill=fill_of(wpx),
               width=max(1, round(wpx)))


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


def draw_labels(eye: EyeModel, g: Geometry) -> np.ndarray:
    """Label map in priority order: retina < macula < fovea < lesions < vessels < beads,
    IRMA, new vessels < disc < cup < pre-retinal haemorrhage."""
    img = Image.new("L", (g.w, g.h), 0)
    d = ImageDraw.Draw(img)
    c = g.xy([[0.0, 0.0]])[0]
    rr = FIELD_RADIUS / g.px
    d.ellipse([c[0] - rr, c[1] - rr, c[0] + rr, c[1] + rr], fill=LABELS["retina"])
    fu, fv = eye.fovea
    d.polygon(_ellipse_poly(g, fu, fv, 2.75, 2.75, 0), fill=LABELS["macula"])
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
            _draw_lesion(d, g, les, LABELS[les.kind], width_px=0.03 / g.px)
    disc = eye.disc
    d.polygon(_ellipse_poly(g, disc.cu, disc.cv, disc.width / 2, disc.height / 2, 0, 64),
              fill=LABELS["optic_disc"])
    d.polygon(_ellipse_poly(g, disc.cup_cu, disc.cup_cv, disc.cup_width / 2,
                            disc.cup_height / 2, 0, 64), fill=LABELS["optic_cup"])
    for les in eye.lesions:
        if les.kind == "preretinal_haemorrhage":
            _draw_lesion(d, g, les, LABELS[les.kind])
    return np.asarray(img).copy()


def _noise(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    n = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return n / (n.std() + 1e-6)


def _background(eye: EyeModel, g: Geometry, rng: np.random.Generator) -> np.ndarray:
    """Linear reflectance of the fundus without disc, vessels or lesions, at half size."""
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
    mel = eye.melanin * (1 + 0.08 * patch + 0.03 * mott) \
        + eye.tigroid * 0.55 * (0.45 - chor) * eye.melanin
    r2 = (u - eye.fovea[0]) ** 2 + (v - eye.fovea[1]) ** 2
    mac = np.exp(-r2 / (2 * 0.85 ** 2)) * (0.6 + 0.4 * eye.melanin) + 0.25 * np.exp(-r2 / 8.0)
    od = (mel - 0.5)[..., None] * _O["melanin"] + mac[..., None] * _O["macular_pigment"]
    refl = _O["fundus_light"] * np.exp(-od)
    out = np.empty((g.h, g.w, 3), np.float32)
    for c in range(3):
        out[..., c] = np.asarray(Image.fromarray(refl[..., c]).resize((g.w, g.h),
                                                                      Image.BILINEAR))
    return out


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
    disc = _soft_ellipse(g, d.cu, d.cv, d.width / 2, d.height / 2, 0.03 + 0.1 * d.swelling,
                         x, y)
    cup = _soft_ellipse(g, d.cup_cu, d.cup_cv, d.cup_width / 2, d.cup_height / 2, 0.09, x, y)
    rim = _O["disc_rim"] + d.pallor * (_O["disc_cup"] - _O["disc_rim"])
    col = rim[None, None] * (1 - cup[..., None]) + _O["disc_cup"] * cup[..., None]
    sub = refl[y0:y1, x0:x1]
    sub *= 1 + 0.1 * halo[..., None] * (1 - disc[..., None])  # paler peripapillary ring
    sub[:] = sub * (1 - disc[..., None]) + col * disc[..., None]


def _mask_image(eye: EyeModel, g: Geometry, kinds, grow: float = 0.0, value: float = 1.0
                ) -> np.ndarray:
    img = Image.new("F", (g.w, g.h), 0.0)
    d = ImageDraw.Draw(img)
    for les in eye.lesions:
        if les.kind in kinds:
            _draw_lesion(d, g, les, value, grow, width_px=0.03 / g.px)
    return np.asarray(img)


def render_fundus(eye: EyeModel, width: int, height: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """(RGB uint8, label map, mm per pixel) of one eye."""
    g = Geometry(eye, width, height)
    labels = draw_labels(eye, g)
    refl = _background(eye, g, rng)
    _disc(refl, eye, g)
    # bright deposits: exudates sharp, cotton-wool spots and drusen soft
    for kind, blur in (("hard_exudate", 0.012), ("cotton_wool_spot", 0.06), ("drusen", 0.03)):
        if any(les.kind == kind for les in eye.lesions):
            a = ndimage.gaussian_filter(_mask_image(eye, g, (kind,)), blur / g.px + 0.3)
            a = np.clip(a * (1.1 if kind != "drusen" else 0.85), 0, 1)[..., None]
            refl = refl * (1 - a) + _O[kind] * a
    # blood: vessels (round profile: a wide faint band and a dense core) and haemorrhages
    art = Image.new("F", (g.w, g.h), 0.0)
    vei = Image.new("F", (g.w, g.h), 0.0)
    reflex = Image.new("F", (g.w, g.h), 0.0)
    radii = _radius_with_beads(eye)
    for b in eye.vessels:
        d = ImageDraw.Draw(art if b.kind == "artery" else vei)
        if b.id in radii:
            b = type(b)(b.id, b.parent, b.kind, b.gen, b.pts, radii[b.id])
        _vessel_lines(d, g, b, 1.0, lambda w: 0.8 * min(1.0, w))
    for b in eye.vessels:
        d = ImageDraw.Draw(art if b.kind == "artery" else vei)
        if b.id in radii:
            b = type(b)(b.id, b.parent, b.kind, b.gen, b.pts, radii[b.id])
        _vessel_lines(d, g, b, 0.65, lambda w: min(1.0, w / 0.65))
        if b.kind == "artery" and 2 * float(b.radius[0]) / g.px > 3.0:
            _vessel_lines(ImageDraw.Draw(reflex), g, b, 0.25, lambda w: 1.0)
    blood = ndimage.gaussian_filter(_mask_image(eye, g, ("microaneurysm",
                                                         "dot_blot_haemorrhage")), 0.6)
    blood += 0.75 * ndimage.gaussian_filter(_mask_image(eye, g, ("flame_haemorrhage",)), 1.0)
    blood += 1.6 * ndimage.gaussian_filter(_mask_image(eye, g, ("preretinal_haemorrhage",)),
                                           1.0)
    blood += 0.7 * _mask_image(eye, g, ("irma", "neovascularisation"))
    a = ndimage.gaussian_filter(np.asarray(art), 0.55)
    v = ndimage.gaussian_filter(np.asarray(vei), 0.55)
    od = (a[..., None] * _O["artery_blood"] + v[..., None] * _O["vein_blood"]
          + blood[..., None] * _O["haemorrhage"])
    refl *= np.exp(-od)
    rx = ndimage.gaussian_filter(np.asarray(reflex), 0.5)
    refl += 0.035 * rx[..., None]
    _camera(refl, eye, g, rng)
    # field mask: black outside the circle, a one-pixel soft edge
    yy, xx = np.mgrid[0:g.h, 0:g.w].astype(np.float32)
    c = g.xy([[0.0, 0.0]])[0]
    r = np.hypot(xx - c[0], yy - c[1]) * g.px
    inside = np.clip((FIELD_RADIUS - r) / g.px + 0.5, 0, 1)
    out = np.clip(refl, 0, 1) ** (1 / 2.2) * 255.0 * inside[..., None]
    return out.astype(np.uint8), labels, g.px


def _camera(refl: np.ndarray, eye: EyeModel, g: Geometry, rng: np.random.Generator) -> None:
    """Flash illumination falling off to the rim (vignetting), a slightly decentred beam,
    exposure and white balance of this camera, the foveal reflex, lens blur and sensor
    noise; in place on `refl` (linear)."""
    yy, xx = np.mgrid[0:g.h, 0:g.w].astype(np.float32)
    u, v = g.mm(xx, yy)
    du, dv = rng.normal(0, 0.6, 2)
    r = np.hypot(u - du, v - dv) / FIELD_RADIUS
    illum = (1 - 0.55 * np.clip(r, 0, 1.3) ** 2.6) * float(np.clip(rng.normal(1.05, 0.1),
                                                                   0.8, 1.3))
    gains = np.clip(rng.normal([1.0, 1.0, 1.0], [0.04, 0.05, 0.08]), 0.8, 1.25)
    refl *= illum[..., None] * gains.astype(np.float32)
    fr = (u - eye.fovea[0]) ** 2 + (v - eye.fovea[1]) ** 2
    young = float(np.clip((75 - eye.age) / 40, 0.15, 1.0))
    refl += (0.12 * young * np.exp(-fr / (2 * 0.03 ** 2)))[..., None]
    for c in range(3):
        refl[..., c] = ndimage.gaussian_filter(refl[..., c], 0.45)
    refl += rng.normal(0, 0.006, refl.shape).astype(np.float32)
