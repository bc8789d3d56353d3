"""The ultrasound contact sheet (docs/gallery/phantom-us.png): one tile per finding and view."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from imagine_med.prompt import parse

US_TILES: dict[str, str] = {
    "normal RUQ": "RUQ ultrasound",
    "gallstone 14 mm": "RUQ ultrasound, 14 mm gallstone",
    "multiple gallstones": "RUQ ultrasound, moderate gallstones",
    "fatty liver gr 1": "RUQ ultrasound, fatty liver grade 1",
    "fatty liver gr 3": "RUQ ultrasound, fatty liver grade 3",
    "FAST Morison 10 mm": "FAST scan, 10 mm free fluid in Morison's pouch",
    "FAST LUQ normal": "FAST scan, left upper quadrant",
    "FAST splenorenal": "FAST scan, large free fluid in the splenorenal recess",
}


def build_us_sheet(out_dir: Path, size: int = 256, seed: int = 11, cols: int = 4) -> Path:
    from imagine_med.engine.gallery import tile

    tiles = []
    for caption, prompt in US_TILES.items():
        spec = parse(prompt)[0].model_copy(update={"seed": seed, "sex": "male", "age": 52})
        tiles.append(tile(spec, caption, size, seed))
    rows, g = -(-len(tiles) // cols), 2
    canvas = Image.new("L", (cols * size + (cols - 1) * g, rows * size + (rows - 1) * g), 40)
    for i, t in enumerate(tiles):
        canvas.paste(t, ((i % cols) * (size + g), (i // cols) * (size + g)))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "phantom-us.png"
    canvas.save(path, optimize=True)
    return path
