"""Contact sheet of the dental phantom: panoramic films by age, every finding it draws, and a
bitewing and a periapical film (letterboxed into the panoramic tile).
`python -m imagine_med.engine.gallery_dental docs/gallery` writes phantom-dental.png."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.registry import get_renderer
from imagine_med.engine.sheet import contact_sheet, sheet_main
from imagine_med.prompt import parse

TILES = (  # caption, prompt (the parser's words, as a user would type them)
    ("adult, 32 teeth", "OPG of a 35 year old"),
    ("5 years: 20 primary teeth + germs", "orthopantomogram of a 5 year old child"),
    ("9 years: mixed dentition", "OPG, 9 year old"),
    ("13 years", "OPG, 13 year old"),
    ("caries 36 + amalgam 16", "OPG, 40 year old, severe caries lower left first molar, "
                               "amalgam filling upper right first molar"),
    ("periapical lesion 46, 8 mm", "OPG, 8 mm periapical lesion tooth 46, 50 year old"),
    ("impacted 38 (mesioangular)", "OPG, impacted lower left third molar, 24 year old"),
    ("implant 36", "OPG, dental implant lower left first molar, 60 year old"),
    ("severe periodontal bone loss", "OPG, severe periodontal bone loss, 62 year old"),
    ("mandibular fracture", "OPG, severe mandibular fracture, 28 year old"),
    ("right bitewing: caries 46, amalgam 16",
     "right bitewing, severe caries lower right first molar, amalgam filling tooth 16"),
    ("periapical 36: 7 mm periapical lesion",
     "periapical radiograph, 7 mm periapical lesion lower left first molar"),
)


def tile(prompt: str, caption: str, width: int, seed: int) -> Image.Image:
    spec = parse(prompt)[0]
    res = get_renderer("phantom", "xray", "teeth").render(
        RenderRequest(spec=spec, seed=seed, width=width, height=width // 2))
    img = Image.fromarray(res.pixels).convert("RGB")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(10, width // 40))
    d.text((4, 3), caption, fill=(255, 255, 120), font=font)
    d.text((4, width // 2 - width // 30), f"key: {res.tags['tooth_count']} teeth",
           fill=(200, 200, 200), font=font)
    return img


def build(out_dir: Path, size: int = 640, seed: int = 11, cols: int = 2) -> Path:
    tiles = [tile(p, c, size, seed) for c, p in TILES]
    sheet = contact_sheet(tiles, cols, gap=3).convert("L")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "phantom-dental.png"
    sheet.save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 640, lambda out, size, seed: [build(out, size, seed)])


if __name__ == "__main__":
    sys.exit(main())
