"""Contact sheet of the abdominal radiograph phantom: the normal gas pattern and every finding.
`python -m imagine_med.engine.gallery_axr docs/gallery` writes phantom-axr.png."""

from __future__ import annotations

import sys
from pathlib import Path

from imagine_med.engine.sheet import prompt_sheet, sheet_main

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


def _levels(res) -> str | None:
    levels = res.tags.get("air_fluid_levels", "0")
    return f"key: {levels} air-fluid levels" if levels != "0" else None


def build(out_dir: Path, size: int = 320, seed: int = 11, cols: int = 4) -> Path:
    return prompt_sheet(out_dir / "phantom-axr.png", TILES, size, size, seed, cols, _levels,
                        font_px=max(10, size // 24))


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 320, lambda out, size, seed: [build(out, size, seed)])


if __name__ == "__main__":
    sys.exit(main())
