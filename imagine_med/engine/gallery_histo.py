"""Contact sheets of the phantom histology: the liver biopsy (stains, magnifications,
steatosis, fibrosis) and breast immunohistochemistry:
`python -m imagine_med.engine.gallery_histo docs/gallery` writes phantom-histo.png and
phantom-ihc.png."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.registry import get_renderer
from imagine_med.engine.sheet import contact_sheet, sheet_main
from imagine_med.prompt import parse

TILES = (
    ("H&E 20x, macrovesicular steatosis 60%",
     "H&E liver biopsy x20, macrovesicular steatosis involving 60% of hepatocytes"),
    ("H&E 20x, normal", "H&E liver biopsy x20, normal"),
    ("H&E 40x, macrovesicular steatosis 60%",
     "H&E liver biopsy 40x, macrovesicular steatosis involving 60% of hepatocytes"),
    ("H&E 10x, macrovesicular steatosis 30%",
     "H&E liver biopsy x10, macrovesicular steatosis involving 30% of hepatocytes"),
    ("H&E 20x, microvesicular steatosis",
     "H&E liver biopsy x20, microvesicular steatosis involving 70% of hepatocytes"),
    ("PAS 20x, normal (glycogen)", "PAS liver biopsy x20, normal"),
    ("PAS-D 20x, normal (diastase)", "PAS-D liver biopsy x20, normal"),
    ("PAS 20x, steatosis 60%", "PAS liver biopsy x20, macrovesicular steatosis 60%"),
    ("H&E 20x, periportal fibrosis F2", "H&E liver biopsy x20, periportal fibrosis"),
    ("H&E 20x, bridging fibrosis F3", "H&E liver biopsy x20, bridging fibrosis"),
    ("H&E 20x, chronic (interface) hepatitis", "H&E liver biopsy x20, chronic hepatitis"),
    ("H&E 10x, cirrhosis + steatosis 30%",
     "H&E liver biopsy x10, cirrhosis, macrovesicular steatosis 30%"),
)


IHC_TILES = (
    ("IHC HER2 3+", "breast carcinoma, IHC HER2 3+"),
    ("IHC HER2 2+", "breast carcinoma, IHC HER2 2+"),
    ("IHC HER2 1+", "breast carcinoma, IHC HER2 1+"),
    ("IHC HER2 0", "breast carcinoma, IHC HER2 score 0"),
    ("IHC ER 80%", "breast carcinoma, IHC ER 80%"),
    ("IHC PR 20%", "breast carcinoma, IHC PR 20%"),
    ("IHC Ki-67 30%", "breast carcinoma, IHC Ki-67 30%"),
    ("IHC HER2 3+, 40x", "breast carcinoma, IHC HER2 3+, 40x"),
)


def tile(prompt: str, caption: str, size: int, seed: int) -> Image.Image:
    spec = parse(prompt)[0]
    res = get_renderer("phantom", spec.modality, spec.region).render(
        RenderRequest(spec=spec, seed=seed, width=size, height=size))
    img = Image.fromarray(res.pixels).convert("RGB")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(10, size // 22))
    d.rectangle([0, size - size // 13, size, size], fill=(0, 0, 0))
    d.text((4, size - size // 13), caption, fill=(255, 255, 255), font=font)
    return img


def build(out_dir: Path, size: int = 320, seed: int = 11, cols: int = 4,
          tiles_of=TILES, name: str = "phantom-histo.png") -> Path:
    tiles = [tile(p, c, size, seed + i) for i, (c, p) in enumerate(tiles_of)]
    sheet = contact_sheet(tiles, cols)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    sheet.quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 320, lambda out, size, seed: [
        build(out, size, seed),
        build(out, size, seed, tiles_of=IHC_TILES, name="phantom-ihc.png")])

if __name__ == "__main__":
    sys.exit(main())
