"""The phantom engine's skin renderer: dermoscopy and clinical photographs of skin lesions.

Steps per variant: field -> skin (regions/skin/skin.py: type, ITA, relief, hair) -> lesion
(regions/skin/lesions.py: pigment by depth and structure labels) -> optical columns ->
photograph (physics/skin_optics.py) -> dermoscope vignette -> measure -> key. Photographs
are as seen (no left/right marker). The lesion draws from its own seeded stream, so one
seed gives the same lesion and labels on every skin type.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.phantom.physics import skin_optics as optics
from imagine_med.engine.phantom.regions.skin import key
from imagine_med.engine.phantom.regions.skin.catalogue import LESIONS, build_lesion
from imagine_med.engine.phantom.regions.skin.lesions import LABELS as LESION_LABELS
from imagine_med.engine.phantom.regions.skin.lesions import Lesion, _distance
from imagine_med.engine.phantom.regions.skin.measure import category, measure
from imagine_med.engine.phantom.regions.skin.rashes import RASHES, measure_rash, rash_sentence
from imagine_med.engine.phantom.regions.skin.skin import (
    DEFAULT_SITE,
    EXPOSURE,
    F32,
    LABELS,
    SITES,
    TYPES,
    Field,
    blur_where_varies,
    build_skin,
    make_field,
)
from imagine_med.engine.phantom.renderer_base import PhantomRenderer, mask_box
from imagine_med.prompt.lexer import lex

FIELD_MM = {"dermoscopy": 12.0, "clinical": 24.0, "rash": 80.0}
RULER_MM = 8  # a millimetre scale along the dermoscope's lower field, as on contact plates
ALL_LABELS = {**LABELS, **LESION_LABELS}
ALIASES = {"nevus": "naevus", "dysplastic_nevus": "dysplastic_naevus",
           "blue_nevus": "blue_naevus", "spitz_nevus": "spitz_naevus",
           "hemangioma": "haemangioma", "seborrheic_keratosis": "seborrhoeic_keratosis",
           "congenital_nevus": "congenital_naevus"}
TYPE_WORDS = {**{f"fitzpatrick_{t.lower()}": t for t in TYPES},
              "very_light_skin": "I", "light_skin": "II", "intermediate_skin": "III",
              "tan_skin": "IV", "brown_skin": "V", "dark_skin": "VI"}


def _words(spec) -> tuple[set[str], list[str]]:
    """Modifiers and locations the spec's findings carry, plus those the prompt's text
    names with no lesion to attach to ("dark skin, normal skin on the back")."""
    mods = {m for f in spec.findings for m in f.modifiers}
    places = [f.location for f in spec.findings if f.location]
    for m in lex(spec.prompt or "").matches:
        for name, value in m.facts:
            if name == "modifier":
                mods.add(str(value))
            elif name == "location":
                places.append(str(value).partition(":")[0])
    return mods, places


def skin_type_of(spec, seed: int) -> str:
    """The Fitzpatrick type the prompt names; else one drawn from the seed (every tone, so
    a set of variants is not light skin by default)."""
    mods, _ = _words(spec)
    for word, t in TYPE_WORDS.items():
        if word in mods:
            return t
    return TYPES[int(np.random.default_rng([seed, 181]).integers(0, len(TYPES)))]


def site_of(spec) -> str:
    _, places = _words(spec)
    return next((p for p in places if p in SITES), DEFAULT_SITE)


def view_of(spec) -> str:
    """Dermoscopy unless a clinical photograph is asked for; a rash is always photographed
    at body scale (an 80 mm field: its distribution is the point)."""
    if any(ALIASES.get(f.name, f.name) in RASHES for f in spec.findings):
        return "rash"
    return "clinical" if "clinical_photo" in _words(spec)[0] else "dermoscopy"


def lesion_of(spec) -> str | None:
    for f in spec.findings:
        name = ALIASES.get(f.name, f.name)
        if name == "naevus" and "dysplasia" in {g.name for g in spec.findings}:
            return "dysplastic_naevus"
        if name in LESIONS:
            return name
    names = [f.name for f in spec.findings]
    if names:
        raise EngineError("The phantom skin renderer draws " + ", ".join(
            n.replace("_", " ") for n in LESIONS) + f"; not {', '.join(names)}.")
    return None


def columns(skin, lesion: Lesion | None, rows: slice = np.s_[:]) -> optics.Columns:
    """The optical columns of the skin under the lesion, on a band of rows (all: the image)."""
    melanin, blood = skin.melanin[rows], skin.blood[rows]
    z = np.zeros_like(melanin)
    if lesion is None:
        return optics.Columns(z, melanin, z, blood, np.ones_like(z), z)
    junction = np.maximum(melanin + lesion.mel_junction[rows], 0.6 * melanin)
    return optics.Columns(np.maximum(lesion.mel_corneal[rows], 0), junction,
                          np.maximum(lesion.mel_dermal[rows], 0),
                          np.maximum(blood * lesion.skin_keep[rows] + lesion.blood[rows],
                                     0.005),
                          np.maximum(1.0 + lesion.scatter[rows], 0.5),
                          np.maximum(lesion.keratin[rows], 0))


SCALE_WHITE = 0.72  # loose keratin scale on top of everything: silvery white-grey, untinted
# by the skin's melanin beneath (it lies above the epidermis)


def photograph(skin, lesion: Lesion | None, f: Field, view: str, rng,
               relief: np.ndarray | None = None, polarised: bool = True,
               surface: np.ndarray | None = None) -> np.ndarray:
    """Optical columns of the skin under the lesion -> reflectance -> relief shading
    (polarised dermoscopy: faint; clinical: furrows and flash highlights; non-polarised
    contact dermoscopy: glare off the skin and the immersion gel's bubbles) -> hair on top
    -> sRGB with a little sensor noise. Under the dermoscope the columns are made a band of
    rows at a time with the rest; a photograph's camera blur needs them whole first."""
    relief = skin.relief if relief is None else relief
    if view != "dermoscopy":
        cols = columns(skin, lesion)
        blur_lesion(cols, skin, max(0.5, 0.06 / f.px))

        def band_of(rows: slice) -> optics.Columns:
            return optics.Columns(*(getattr(cols, n)[rows] for n in optics.LAYERS))
    else:

        def band_of(rows: slice) -> optics.Columns:
            return columns(skin, lesion, rows)
    h, w = skin.melanin.shape
    on_top = []  # light added on top: flash glare, the gel's bubbles
    flash = view != "dermoscopy"  # the flash's glints: made a band at a time below
    if not flash and not polarised:
        on_top = [optics.specular(relief, rng, 0.06), gel_bubbles(f, rng)]
    hair_rgb = np.array([0.16, 0.1, 0.06], F32) * F32(1.0 - skin.hair_dark) + F32(0.012)
    grain = rng.standard_normal((h, w), dtype=F32)  # x GRAIN, a band at a time
    relief_gain = F32(0.05 if view == "dermoscopy" else 0.12)
    cover = None if surface is None else np.clip(surface, 0, 1) * F32(0.85)
    out = np.empty((h, w, 3), np.uint8)
    for r0 in range(0, h, BAND_ROWS):  # a band at a time: its arrays stay in the cache
        rows = slice(r0, r0 + BAND_ROWS)
        lights = [light[rows] for light in on_top]
        if flash:
            lights.append(optics.specular_rows(relief, rows, FLASH))
        _photograph_band(band_of(rows), 1.0 + relief_gain * relief[rows],
                         lights, skin.hair[rows], hair_rgb,
                         F32(GRAIN) * grain[rows],
                         None if cover is None else cover[rows], out[rows])
    return out


def blur_lesion(cols: optics.Columns, skin, sigma: float) -> None:
    """The camera's blur (a gaussian, `sigma` px) of the lesion's pigment and scatter, in
    place. The skin's own melanin and blood vary only over millimetres (the 0.06 mm blur
    moves them by under 0.1 %), so only what the lesion changes is blurred, on its window
    (`blur_where_varies`), and added back to the skin's."""
    for name in ("mel_corneal", "mel_dermal", "scatter"):
        setattr(cols, name, blur_where_varies(getattr(cols, name), sigma))
    for name, own in (("mel_junction", skin.melanin), ("blood", skin.blood)):
        change = getattr(cols, name) - own  # 0 beyond the lesion
        setattr(cols, name, own + blur_where_varies(change, sigma))


BAND_ROWS = 32  # rows a band of `photograph`: 32 x 768 float32 is 96 KB an array, so the
# dozen arrays a channel's sums touch stay in a 2 MB L2 cache (the whole frame, 2.3 MB each,
# streams from memory; the sums are per pixel, so banding leaves every value as it is)


FLASH = 0.12  # a clinical photograph's specular glints at their brightest, in reflectance
GRAIN = 0.004  # the sensor noise's standard deviation, in reflectance


def _photograph_band(cols: optics.Columns, shade: np.ndarray,
                     on_top: list[np.ndarray], hair_cover: np.ndarray, hair_rgb: np.ndarray,
                     grain: np.ndarray, cover: np.ndarray | None, out: np.ndarray) -> None:
    """`photograph`'s per-pixel sums on a band of rows, one channel at a time, in place.
    The pigment layers that are zero on the band (`zero_layers`: no corneal or dermal
    melanin, no keratin there) have their exact 0 / x1 terms skipped."""
    flat = optics.zero_layers(cols)
    hairy = np.flatnonzero(hair_cover != 0)  # hair is blended where there is some (elsewhere
    # x1); a mask's flatnonzero: the same indices, ten times cheaper than a float array's
    hair = hair_cover.ravel()[hairy]
    if cover is not None:  # the scale's share of the light, and the skin's
        bare, white = 1 - cover, F32(SCALE_WHITE) * cover
    capped = np.minimum(cols.scatter, F32(3.0))  # the backscatter's share, every channel's
    for ch in range(3):
        refl = optics.reflectance_channel(cols, ch, flat, capped)
        if cover is not None:
            refl = refl * bare + white
        refl *= shade
        for light in on_top:
            refl += light
        plane = refl.ravel()
        plane[hairy] = plane[hairy] * (1.0 - hair) + hair_rgb[ch] * hair
        refl += grain
        out[..., ch] = optics.to_srgb(refl, EXPOSURE, scratch=True)


def gel_bubbles(f: Field, rng) -> np.ndarray:
    """Air bubbles trapped in the immersion fluid of contact dermoscopy: bright rims."""
    out = np.zeros_like(f.x)
    half = 0.4 * f.width_mm
    for _ in range(int(rng.integers(3, 8))):
        cx, cy = rng.uniform(-half, half, 2)
        r = rng.uniform(0.15, 0.5)
        d = _distance(f.x[0] - F32(cx), f.y[:, 0] - F32(cy))  # np.hypot's values
        out += F32(0.5) * np.exp(-((d - F32(r)) / F32(max(0.03, f.px))) ** 2)
    return out


def ruler(rgb: np.ndarray, labels: np.ndarray, f: Field) -> None:
    """A millimetre scale (RULER_MM long, ticks every mm, longer every 5) printed in black
    on a white strip across the lower field; its label marks where it hides the skin."""
    x0 = -RULER_MM / 2
    strip = (np.abs(f.y - F32(0.36 * f.width_mm)) < F32(0.45)) \
        & (f.x > F32(x0 - 0.3)) & (f.x < F32(x0 + RULER_MM + 0.3))
    rgb[strip] = 235
    labels[strip] = LABELS["ruler"]
    for mm in range(RULER_MM + 1):
        long = 0.6 if mm % 5 == 0 else 0.35
        tick = (np.abs(f.x - F32(x0 + mm)) < F32(max(0.03, 0.6 * f.px))) \
            & (f.y > F32(0.36 * f.width_mm - 0.45)) \
            & (f.y < F32(0.36 * f.width_mm - 0.45 + long))
        rgb[tick] = 20


def vignette(rgb: np.ndarray, labels: np.ndarray, f: Field) -> None:
    """The dermoscope's round field: black outside a circle as wide as the shorter side."""
    h, w = labels.shape
    keep, rim, fade, dark = _field_stop(w, h, f.width_mm)
    np.multiply(rgb, keep, out=rgb)  # x 0 outside the circle: one pass, cheaper than a gather
    flat = rgb.reshape(-1, 3)
    if not np.shares_memory(flat, rgb):
        raise ValueError("vignette needs a contiguous image")
    flat[rim] = np.round(flat[rim] * fade[:, None]).astype(np.uint8)
    np.copyto(labels, 0, where=dark)


@lru_cache(maxsize=8)
def _field_stop(width: int, height: int, width_mm: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The field stop for one image size: 0 outside the circle and 1 inside ((H, W, 3)
    uint8, a factor), the fading rim's flat pixel indices and its fade 0-1 (a 0.25 mm soft
    edge), and where labels are cleared (a mask). The same for every image of that size,
    so made once."""
    f = make_field(width, height, width_mm)
    r = 0.5 * min(height, width) * f.px
    d = np.hypot(f.x, f.y)
    flat = d.ravel()
    outer = np.flatnonzero(flat > F32(r - 0.25))
    fade = np.clip((F32(r) - flat[outer]) / F32(0.25), 0.0, 1.0)
    part = (fade > 0) & (fade < 1)  # fade 1 keeps a pixel, 0 blacks it out
    keep = np.ones((*d.shape, 3), np.uint8)
    keep.reshape(-1, 3)[outer[fade == 0]] = 0
    out = (keep, outer[part], fade[part], d > r - 0.1)
    for a in out:
        a.setflags(write=False)
    return out


class PhantomSkin(PhantomRenderer):
    """Dermoscopy (polarised, 12 mm field) and clinical photographs (24 mm) of skin."""

    modality = "derm"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress
               ) -> RenderResult:
        spec = request.spec
        if spec.region not in (None, "skin"):
            raise EngineError("The phantom skin renderer draws skin only; it has no "
                              f"{spec.region.replace('_', ' ')} model.")
        name = lesion_of(spec)
        view, site = view_of(spec), site_of(spec)
        stype = skin_type_of(spec, request.seed)
        f = make_field(request.width, request.height, FIELD_MM[view])
        progress(0.1, "skin")
        mods = _words(spec)[0]
        # shaved or removed digitally; at body scale the sparse terminal hairs of the trunk
        # are not what is shown
        hairy = not ("hair_removed" in mods or view == "rash")
        skin = build_skin(np.random.default_rng([request.seed, 180]), f, stype, site, hairy)
        lesion = build_lesion(name, request.seed, f) if name else None
        progress(0.4, "optics")
        relief = skin.relief if lesion is None or lesion.relief is None \
            else skin.relief + lesion.relief
        polarised = "non_polarised" not in mods
        rgb = photograph(skin, lesion, f, view,
                         np.random.default_rng([request.seed, 182]), relief, polarised,
                         None if lesion is None else lesion.surface)
        if lesion is None:
            labels = np.full(rgb.shape[:2], LABELS["skin"], np.uint8)
        else:  # the lesion's labels (ids from 100) over skin (1): np.where's, by one max
            labels = np.maximum(lesion.labels, np.uint8(LABELS["skin"]))
        if hairy:
            labels[skin.hair > 0.5] = LABELS["hair"]
        if view == "dermoscopy":
            if "ruler" in mods:
                ruler(rgb, labels, f)
            vignette(rgb, labels, f)
        progress(0.8, "measure")
        names = {v: k for k, v in ALL_LABELS.items()}
        present = {int(i): names[int(i)]
                   for i in np.flatnonzero(np.bincount(labels.ravel(), minlength=256)) if i}
        if name in RASHES:
            return self._rash(request, name, rgb, labels, f, stype, site, present, skin)
        seen = measure(rgb, labels, f.px)
        what = ("Polarised dermoscopy" if polarised else "Non-polarised contact dermoscopy") \
            if view == "dermoscopy" else "Clinical photograph"
        text = key.skin_sentence(what, FIELD_MM[view], stype, site, seen.m["ita"])
        if "ruler" in present.values():
            text += f" Ruler: {_ruler_ticks(labels, rgb, f.px):.2f} mm between ticks."
        findings = []
        tags = {"modality": "derm", "engine": "phantom", "region": "skin", "view": view,
                "skin_type": stype, "site": site, "ita": f"{seen.m['ita']:.1f}",
                "ita_target": f"{skin.ita_target:.1f}", "field_mm": f"{FIELD_MM[view]:g}"}
        if name is not None:
            sentence = key.lesion_sentence(name, seen, set(present.values()))
            text += " " + sentence
            bbox = _lesion_box(labels) if seen.present else None
            findings.append(FindingResult(name, LESION_LABELS["lesion"], bbox, None, site,
                                          sentence, dict(seen.m)))
            if seen.present:
                tags.update({"tds_category": category(seen.m["tds"]),
                             "colours": ", ".join(seen.colours),
                             "structures": ", ".join(seen.structures),
                             "seven_point_items": ", ".join(seen.seven)})
        else:
            text += " No lesion."
        progress(1.0, "done")
        return RenderResult(pixels=rgb, label_map=labels, labels=present, findings=findings,
                            pixel_spacing_mm=(f.px, f.px), answer_key=text, tags=tags)

    def _rash(self, request: RenderRequest, name: str, rgb: np.ndarray, labels: np.ndarray,
              f: Field, stype: str, site: str, present: dict[int, str], skin) -> RenderResult:
        """An inflammatory rash: measured by counts, sizes, cover and colour (rashes.py),
        not by the dermoscopic ABCD rule."""
        m = measure_rash(rgb, labels, f.px)
        sentence = rash_sentence(name, m)
        text = key.skin_sentence("Clinical photograph", FIELD_MM["rash"], stype, site,
                                 m["ita"]) + " " + sentence
        ys, xs = np.nonzero(labels >= 100)
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
            if len(ys) else None
        tags = {"modality": "derm", "engine": "phantom", "region": "skin", "view": "clinical",
                "skin_type": stype, "site": site, "ita": f"{m['ita']:.1f}",
                "ita_target": f"{skin.ita_target:.1f}", "field_mm": f"{FIELD_MM['rash']:g}"}
        finding = FindingResult(name, LESION_LABELS["lesion"], bbox, None, site, sentence,
                                {k: float(v) for k, v in m.items()})
        return RenderResult(pixels=rgb, label_map=labels, labels=present, findings=[finding],
                            pixel_spacing_mm=(f.px, f.px), answer_key=text, tags=tags)


def _lesion_box(labels: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) round the lesion's labels (ids from 100)."""
    r0, r1, c0, c1 = mask_box(labels >= 100)
    return c0, r0, c1, r1


def _ruler_ticks(labels: np.ndarray, rgb: np.ndarray, px: float) -> float:
    """Mean distance (mm) between the ruler's printed ticks, read off the image: the dark
    columns on the ruler's strip."""
    strip = labels == LABELS["ruler"]
    dark = strip & (rgb.max(axis=2) < 80)
    cols = np.nonzero(dark.any(axis=0))[0]
    if len(cols) < 2:
        return float("nan")
    runs = np.split(cols, np.nonzero(np.diff(cols) > 1)[0] + 1)
    centres = np.array([r.mean() for r in runs])
    return float(np.diff(centres).mean() * px) if len(centres) > 1 else float("nan")


def skin_renderer() -> PhantomSkin:
    return PhantomSkin()
