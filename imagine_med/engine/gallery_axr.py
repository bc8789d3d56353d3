"""Contact sheet of the abdominal radiograph phantom: the normal gas pattern and every finding.
`python -m imagine_med.engine.gallery_axr docs/gallery` writes phantom-axr.png."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.registry import get_renderer
from imagine_med.engine.sheet import contact_sheet, sheet_main
from imagine_med.prompt import parse

TILES = (  # caption, prompt (the parser's words, as a user would type them)
    ("normal, supine", "AXR, normal, 45 year old"),
    ("normal, erect", "erect AXR, normal, 45 year old"),
    ("SBO, supine", "supine AXR, small bowel obstruction"),
    ("SBO, erect: air-fluid levels", "erect AXR, small bowel obstruction"),
    ("large bowel obstruction", "supine AXR, large bowel obstruction"),
    ("sigmoid volvulus (coffee bean)", "AXR, sigmoid volvulus"),
    ("free gas supine (Rigler)", "supine AXR, pneumoperitoneum"),
    ("free gas erect (subdiaphragmatic)", "erect AXR, free air"),
    ("R renal + L ureteric stones", "AXR, 9 mm right renal stone, left ureteric stone"),
    ("gallstones + swallowed coin", "AXR, gallstones, swallowed coin"),
    ("button battery", "AXR, swallowed button battery"),
    ("LBO, erect", "erect AXR, large bowel obstruction"),
)


def tile(prompt: str, caption: str, size: int, seed: int) -> Image.Image:
    spec = parse(prompt)[0]
    res = get_renderer("phantom", "xray", "abdomen").render(
        RenderRequest(spec=spec, seed=seed, width=size, height=size))
    img = Image.fromarray(res.pixels).convert("RGB")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(10, size // 24))
    d.text((4, 3), caption, fill=(255, 255, 120), font=font)
    levels = res.tags.get("air_fluid_levels", "0")
    if levels != "0":
        d.text((4, size - size // 14), f"key: {levels} air-fluid levels", fill=(200, 200, 200),
               font=font)
    return img


def build(out_dir: Path, size: int = 320, seed: int = 11, cols: int = 4) -> Path:
    tiles = [tile(p, c, size, seed) for c, p in TILES]
    sheet = contact_sheet(tiles, cols, gap=3).convert("L")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "phantom-axr.png"
    sheet.save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 320, lambda out, size, seed: [build(out, size, seed)])


if __name__ == "__main__":
    sys.exit(main())
