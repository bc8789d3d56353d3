"""Contact sheet of the dental phantom: panoramic films by age, every finding it draws, and a
bitewing and a periapical film (letterboxed into the panoramic tile).
`python -m imagine_med.engine.gallery_dental docs/gallery` writes phantom-dental.png."""

from __future__ import annotations

import sys
from pathlib import Path

from imagine_med.engine.sheet import prompt_sheet, sheet_main

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


def build(out_dir: Path, size: int = 640, seed: int = 11, cols: int = 2) -> Path:
    return prompt_sheet(out_dir / "phantom-dental.png", TILES, size, size // 2, seed, cols,
                        lambda res: f"key: {res.tags['tooth_count']} teeth",
                        font_px=max(10, size // 40))


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 640, lambda out, size, seed: [build(out, size, seed)])


if __name__ == "__main__":
    sys.exit(main())
