"""The ultrasound contact sheet (docs/gallery/phantom-us.png): one tile per finding and view,
in colour (Doppler tiles)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.registry import get_renderer
from imagine_med.engine.sheet import contact_sheet
from imagine_med.prompt import parse

US_TILES: dict[str, str] = {
    "normal RUQ": "RUQ ultrasound",
    "gallstone 14 mm": "RUQ ultrasound, 14 mm gallstone",
    "multiple gallstones": "RUQ ultrasound, moderate gallstones",
    "fatty liver gr 1": "RUQ ultrasound, fatty liver grade 1",
    "fatty liver gr 3": "RUQ ultrasound, fatty liver grade 3",
    "cholecystitis": "RUQ ultrasound, acute cholecystitis",
    "liver cyst 30 mm": "liver ultrasound, 30 mm cyst",
    "hydronephrosis gr 2": "renal ultrasound, moderate hydronephrosis",
    "hydronephrosis gr 3": "renal ultrasound, severe hydronephrosis",
    "renal cyst": "renal ultrasound, renal cyst",
    "FAST Morison 10 mm": "FAST scan, 10 mm free fluid in Morison's pouch",
    "FAST LUQ normal": "FAST scan, left upper quadrant",
    "FAST splenorenal": "FAST scan, large free fluid in the splenorenal recess",
    "carotid colour": "carotid colour doppler",
    "carotid aliasing": "carotid colour doppler with aliasing",
    "jugular thrombosis": "carotid colour doppler, jugular vein thrombosis",
    "renal stone 9 mm": "renal ultrasound, 9 mm kidney stone",
    "pregnancy 6 weeks": "obstetric ultrasound, 6 weeks",
    "pregnancy 8 weeks": "obstetric ultrasound, 8 week intrauterine pregnancy",
    "pregnancy 11 weeks": "obstetric ultrasound, 11 weeks",
    "FAST pelvic view": "FAST scan, free fluid in the pouch of Douglas",
    "thyroid normal": "thyroid ultrasound, normal",
    "thyroid TR1 spongiform": "thyroid ultrasound, spongiform nodule in the left lobe",
    "thyroid TR2": "thyroid ultrasound, TI-RADS 2 nodule in the right lobe",
    "thyroid TR3": "thyroid ultrasound, TI-RADS 3 nodule in the left lobe",
    "thyroid TR4": "thyroid ultrasound, TI-RADS 4 nodule in the right lobe",
    "thyroid TR5": "thyroid ultrasound, TI-RADS 5 nodule in the left lobe",
    "thyroid TR5 microcalc": "thyroid ultrasound, solid hypoechoic nodule, taller than wide, "
                             "with microcalcifications, right lobe",
}


def _tile(prompt: str, caption: str, size: int, seed: int) -> Image.Image:
    spec = parse(prompt)[0]
    pelvic = spec.region == "pelvis"  # one patient per sheet; a pelvic view's is a woman
    spec = spec.model_copy(update={"seed": seed, "sex": "female" if pelvic else "male",
                                   "age": 30 if pelvic else 52})
    res = get_renderer("phantom", spec.modality, spec.region).render(
        RenderRequest(spec=spec, seed=seed, width=size, height=size))
    img = Image.fromarray(res.pixels).convert("RGB")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(9, size // 14))
    d.rectangle([0, size - size // 9, size, size], fill=0)
    d.text((3, size - size // 9), caption, fill=(255, 255, 255), font=font)
    return img


def build_us_sheet(out_dir: Path, size: int = 256, seed: int = 11, cols: int = 4) -> Path:
    tiles = [_tile(prompt, caption, size, seed) for caption, prompt in US_TILES.items()]
    canvas = contact_sheet(tiles, cols)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "phantom-us.png"
    canvas.save(path, optimize=True)
    return path


US_FINDING_TILES: dict[str, str] = {
    "sludge": "RUQ ultrasound, gallbladder sludge",
    "polyp 7 mm": "gallbladder ultrasound, 7 mm polyp",
    "polyp 12 mm": "gallbladder ultrasound, 12 mm polyp",
    "dilated CBD 11 mm": "RUQ ultrasound, dilated CBD 11 mm",
    "haemangioma 30 mm": "liver ultrasound, 3 cm haemangioma",
    "5 metastases (target)": "RUQ ultrasound, 5 liver metastases",
    "metastases hypoechoic": "liver ultrasound, multiple hypoechoic liver metastases",
    "angiomyolipoma 30 mm": "renal ultrasound, 3 cm angiomyolipoma",
}
CINE_PROMPT = "RUQ ultrasound, 12 mm gallstone, cine loop of 12 frames"


# --- the cardiac view and the artefacts (issue 16, third part) ----------------------------

CARDIAC_TILES: dict[str, str] = {
    "subcostal normal": "echo, subcostal four chamber view",
    "effusion small": "subxiphoid ultrasound, small pericardial effusion",
    "effusion moderate": "subxiphoid ultrasound, moderate pericardial effusion",
    "large + tamponade": "echo, large pericardial effusion with tamponade",
}
FAST_PROMPT = "FAST scan, free fluid, 12 mm pericardial effusion"
ARTEFACT_TILES: dict[str, tuple[str, bool]] = {  # caption: (prompt, zoom on the gallbladder)
    "no artefact options": ("RUQ ultrasound", False),
    "reverberation": ("RUQ ultrasound with reverberation", False),
    "edge shadows": ("gallbladder ultrasound with edge shadows", False),
    "comet tails (zoom)": ("RUQ ultrasound with comet tail artefact", True),
    "side lobes (zoom)": ("gallbladder ultrasound with side lobe artefact", True),
    "plain (zoom)": ("RUQ ultrasound", True),
}


def _captioned(pixels, caption: str, size: int) -> Image.Image:
    img = Image.fromarray(pixels).convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(9, size // 14))
    d.rectangle([0, size - size // 9, size, size], fill=0)
    d.text((3, size - size // 9), caption, fill=(255, 255, 255), font=font)
    return img


def build_us_findings_sheet(out_dir: Path, size: int = 224, seed: int = 11, cols: int = 4
                            ) -> Path:
    """docs/gallery/phantom-us-findings.png: gallbladder sludge and polyps, a dilated CBD,
    liver haemangioma and metastases, angiomyolipoma, and four frames of a cine clip."""
    tiles = [_tile(prompt, caption, size, seed) for caption, prompt in US_FINDING_TILES.items()]
    spec = parse(CINE_PROMPT)[0].model_copy(update={"seed": seed, "sex": "male", "age": 52})
    res = get_renderer("phantom", spec.modality, spec.region).render(
        RenderRequest(spec=spec, seed=seed, width=size, height=size))
    assert res.frames is not None
    for k in (0, 3, 6, 9):
        tiles.append(_captioned(res.frames[k], f"cine frame {k + 1} of {len(res.frames)}",
                                size))
    canvas = contact_sheet(tiles, cols)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "phantom-us-findings.png"
    canvas.save(path, optimize=True)
    return path


def _zoom_on_gallbladder(res) -> object:
    """The gallbladder and 8 mm round it, square."""
    import numpy as np

    from imagine_med.engine.phantom.regions.abdomen_us.anatomy import LABELS

    gb = np.isin(
        res.label_map,
        [
            LABELS[n]
            for n in ("gallbladder", "gallbladder_wall", "side_lobe", "comet_tail", "crystal")
        ],
    )
    ys, xs = np.nonzero(gb)
    pad = round(8.0 / res.pixel_spacing_mm[0])
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    half = max(ys.max() - ys.min(), xs.max() - xs.min()) // 2 + pad
    y0, x0 = max(0, cy - half), max(0, cx - half)
    return res.pixels[y0 : cy + half, x0 : cx + half]


def build_us_more_sheets(out_dir: Path, size: int = 256, seed: int = 11) -> list[Path]:
    """docs/gallery/phantom-us-cardiac.png (the subcostal view, effusions, a FAST survey's
    four views) and phantom-us-artefacts.png (the artefact options)."""
    from dataclasses import replace

    from imagine_med.engine.phantom.renderer_us import us_renderer

    tiles = [_tile(prompt, caption, size, seed) for caption, prompt in CARDIAC_TILES.items()]
    spec = parse(FAST_PROMPT)[0].model_copy(update={"seed": seed, "sex": "male", "age": 52})
    req = RenderRequest(spec=spec, seed=seed, width=size, height=size)
    views = us_renderer().render_batch([replace(req, seed=seed + k) for k in range(4)])
    for res, name in zip(
        views, ("FAST RUQ", "FAST LUQ", "FAST pelvis", "FAST pericardial"), strict=True
    ):
        tiles.append(_captioned(res.pixels, name, size))
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "phantom-us-cardiac.png", out_dir / "phantom-us-artefacts.png"]
    contact_sheet(tiles, 4).save(paths[0], optimize=True)
    tiles = []
    for caption, (prompt, zoom) in ARTEFACT_TILES.items():
        spec = parse(prompt)[0].model_copy(update={"seed": seed, "sex": "male", "age": 52})
        big = size * 2 if zoom else size
        res = get_renderer("phantom", "us", spec.region).render(
            RenderRequest(spec=spec, seed=seed, width=big, height=big)
        )
        tiles.append(_captioned(_zoom_on_gallbladder(res) if zoom else res.pixels, caption, size))
    contact_sheet(tiles, 3).save(paths[1], optimize=True)
    return paths


# issue 16, more views: obstetrics and gynaecology, and the vessel studies (split screens and
# spectral traces are wider than tall: those tiles are rendered at twice the width)
OBSTETRIC_TILES: dict[str, str] = {
    "head 16 wk": "obstetric ultrasound, 16 weeks, BPD and head circumference",
    "head 22 wk": "obstetric ultrasound, 22 weeks, BPD and head circumference",
    "head 34 wk": "obstetric ultrasound, 34 weeks, BPD and head circumference",
    "AC 22 wk": "obstetric ultrasound, 22 weeks, abdominal circumference",
    "AC 32 wk": "obstetric ultrasound, 32 weeks, abdominal circumference",
    "FL 24 wk": "obstetric ultrasound, 24 weeks, femur length",
    "ovaries normal": "pelvic ultrasound, ovaries with follicles",
    "polycystic ovaries": "pelvic ultrasound, polycystic ovaries",
    "R simple cyst 45 mm": "pelvic ultrasound, 45 mm simple cyst of the right ovary",
    "L dermoid": "pelvic ultrasound, left ovarian dermoid",
    "pregnancy 8 weeks": "obstetric ultrasound, 8 week intrauterine pregnancy",
    "FAST pelvic view": "FAST scan, free fluid in the pouch of Douglas, female",
}
VESSEL_TILES: dict[str, str] = {
    "R CFV compressible": "compression ultrasound of the right common femoral vein, normal",
    "R CFV DVT": "compression ultrasound of the right common femoral vein, DVT",
    "popliteal DVT": "popliteal vein compression ultrasound, DVT",
    "carotid spectral": "carotid doppler with spectral trace",
    "femoral spectral": "femoral artery spectral doppler",
    "carotid aliasing 50": "carotid spectral doppler, scale 50 cm/s",
    "jugular spectral": "jugular vein spectral doppler",
    "femoral triplex": "femoral artery colour and spectral doppler",
}


def _own_tile(prompt: str, caption: str, width: int, height: int, seed: int,
              top: bool = False) -> Image.Image:
    """A tile of the prompt as asked (no sex or age forced: pelvic views need a woman); the
    caption at the bottom, or at the top (spectral traces run to the bottom edge)."""
    spec = parse(prompt)[0].model_copy(update={"seed": seed})
    res = get_renderer("phantom", spec.modality, spec.region).render(
        RenderRequest(spec=spec, seed=seed, width=width, height=height))
    img = Image.fromarray(res.pixels).convert("RGB")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(9, height // 14))
    y0 = 0 if top else height - height // 9
    d.text((3, y0), caption, fill=(255, 255, 255), font=font, stroke_width=2, stroke_fill=0)
    return img


def build_us_obgyn_vessel_sheets(out_dir: Path, size: int = 256, seed: int = 11
                                 ) -> list[Path]:
    """docs/gallery/phantom-us-obstetrics.png and phantom-us-vessels.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    obs = [_own_tile(p, c, size, size, seed) for c, p in OBSTETRIC_TILES.items()]
    path = out_dir / "phantom-us-obstetrics.png"
    contact_sheet(obs, 4).save(path, optimize=True)
    paths.append(path)
    ves = [_own_tile(p, c, 2 * size, size, seed, top=True) for c, p in VESSEL_TILES.items()]
    path = out_dir / "phantom-us-vessels.png"
    contact_sheet(ves, 2).save(path, optimize=True)
    paths.append(path)
    return paths
