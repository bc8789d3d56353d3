"""Contact sheet of the phantom fundus: every ICDR grade and every finding it draws.
`python -m imagine_med.engine.gallery_fundus docs/gallery` writes phantom-fundus.png."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.registry import get_renderer
from imagine_med.engine.sheet import contact_sheet, sheet_main
from imagine_med.prompt import parse

TILES = (  # caption, prompt (the parser's words, as a user would type them)
    ("normal OD", "fundus photo, right eye, normal, 40 year old"),
    ("ICDR 1 mild NPDR", "fundus photo OD, mild NPDR"),
    ("ICDR 2 moderate NPDR", "fundus photo OD, moderate NPDR"),
    ("ICDR 3 severe NPDR", "fundus photo OD, severe NPDR"),
    ("ICDR 4 PDR", "fundus photo OD, proliferative diabetic retinopathy"),
    ("normal OS", "fundus photo, left eye, normal, 40 year old"),
    ("glaucoma CDR 0.85, notch, Drance OS",
     "fundus photo OS, notched glaucomatous cupping, disc haemorrhage, cup-to-disc ratio 0.85"),
    ("papilloedema OS", "fundus photo OS, severe papilloedema"),
    ("AMD drusen OS", "fundus photo OS, drusen, 78 year old"),
    ("blond fundus OS", "fundus photo OS, normal, blond fundus, 70 year old"),
    ("CRVO OD", "fundus photo OD, CRVO"),
    ("BRVO superotemporal OD", "fundus photo OD, BRVO superotemporal"),
    ("hypertensive, moderate OD", "fundus photo OD, moderate hypertensive retinopathy"),
    ("malignant hypertension OD", "fundus photo OD, severe hypertensive retinopathy"),
    ("dark fundus OD", "fundus photo OD, normal, african, 30 year old"),
    ("ICDR 2 + macular oedema OD", "fundus photo OD, moderate NPDR with macular oedema"),
    ("CRAO, cherry-red spot OD", "fundus photo OD, CRAO"),
    ("BRAO superotemporal OS", "fundus photo OS, BRAO superotemporal"),
    ("detachment, macula off OD", "fundus photo OD, retinal detachment, macula off"),
    ("detachment, macula on OS", "fundus photo OS, inferior retinal detachment, macula on"),
    ("optic atrophy OD", "fundus photo OD, optic atrophy"),
    ("PDR after PRP laser OD", "fundus photo OD, PDR with panretinal photocoagulation scars"),
    ("vitreous haemorrhage OS", "fundus photo OS, dense vitreous haemorrhage"),
    ("geographic atrophy OD", "fundus photo OD, geographic atrophy, 80 year old"),
    ("wet AMD OS", "fundus photo OS, wet AMD, 79 year old"),
)


def tile(prompt: str, caption: str, size: int, seed: int) -> Image.Image:
    spec = parse(prompt)[0]
    res = get_renderer("phantom", "fundus", "retina").render(
        RenderRequest(spec=spec, seed=seed, width=size, height=size))
    img = Image.fromarray(res.pixels)
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(10, size // 20))
    d.text((4, 3), caption, fill=(255, 255, 255), font=font)
    grade = res.tags.get("icdr_grade")
    if grade is not None and "ICDR" in caption:  # the key's grade, measured
        d.text((4, size - size // 14), f"key: grade {grade}", fill=(200, 200, 200), font=font)
    return img


def build(out_dir: Path, size: int = 320, seed: int = 11, cols: int = 5) -> Path:
    tiles = [tile(p, c, size, seed) for c, p in TILES]
    sheet = contact_sheet(tiles, cols, gap=3)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "phantom-fundus.png"
    # a 256-colour palette (dithered) halves the file; a fundus sheet has few hues
    sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                   dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 320, lambda out, size, seed: [build(out, size, seed)])

if __name__ == "__main__":
    sys.exit(main())
