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
    spec = parse(prompt)[0].model_copy(update={"seed": seed, "sex": "male", "age": 52})
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


def build_us_more_sheets(out_dir: Path, size: int = 256, seed: int = 11) -> list[Path]:
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
