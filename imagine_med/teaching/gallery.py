"""Gallery sheets of the teaching workflows: a case set's first cases with their answer
overlays below them, and one patient's series (film, CT of this patient, follow-ups).

Run: `python -m imagine_med.teaching.gallery [docs/gallery] [--size 256] [--seed 11]`.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from imagine_med.engine.sheet import contact_sheet, sheet_main

SET_FINDINGS = ("RUL consolidation", "left pleural effusion", "right pneumothorax", "LLL mass",
                "cardiomegaly", "pneumoperitoneum")
SERIES = ("PA chest x-ray with RLL consolidation and LUL mass",
          ("CT of this patient", "follow-up at 6 weeks", "after treatment"))


def caseset_sheet(out: Path, size: int, seed: int) -> Path:
    """Eight cases of a set (top row) and their answer overlays (bottom row)."""
    from imagine_med.teaching.cases import cases_from_caseset
    from imagine_med.teaching.caseset import build_caseset
    from imagine_med.teaching.overlay import write_answer_image
    from imagine_med.teaching.plan import CaseSetRequest

    with tempfile.TemporaryDirectory() as tmp:
        build_caseset(CaseSetRequest("PA chest x-ray", SET_FINDINGS, 1, 0.25, seed, size),
                      Path(tmp) / "set")
        cases = cases_from_caseset(Path(tmp) / "set")[:8]
        top = [Image.open(c.image).convert("RGB") for c in cases]
        bottom = [Image.open(write_answer_image(c, Path(tmp) / f"{c.case_id}.png"))
                  .convert("RGB") for c in cases]
        path = out / "teaching-caseset.png"
        contact_sheet(top + bottom, cols=len(cases)).save(path, optimize=True)
    return path


def series_sheet(out: Path, size: int, seed: int) -> Path:
    """One patient: the film, CT of this patient, 6 weeks later, after treatment."""
    from imagine_med.teaching.series import render_series

    with tempfile.TemporaryDirectory() as tmp:
        first, steps = SERIES
        blocks = render_series(f"{first} --size {size}", list(steps), Path(tmp), seed)
        tiles = [Image.open(Path(tmp) / f"step-{b['step']}" / "variant-1.png").convert("RGB")
                 for b in blocks]
        path = out / "teaching-series.png"
        contact_sheet(tiles, cols=len(tiles)).save(path, optimize=True)
    return path


def build(out: Path, size: int, seed: int) -> Iterable[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [caseset_sheet(out, size, seed), series_sheet(out, size, seed)]


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 256, build)


if __name__ == "__main__":
    sys.exit(main())
