"""Before/after contact sheets of chest films (docs/gallery/chest-film-*.png).

`python -m imagine_med.engine.gallery_chest render DIR [--size N]` writes this checkout's films
of a fixed set of cases into DIR (run it at the old commit for the "before" set);
`python -m imagine_med.engine.gallery_chest sheets OUT BEFORE_DIR` renders the "after" set and
writes two sheets: the PA film before and after at full size, and every case before (top
row) and after (bottom row) as thumbnails.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.sheet import contact_sheet
from imagine_med.prompt.spec import CaseSpec, Finding

CASES: list[tuple[str, dict, int]] = [
    ("pa_m", {"view": "pa", "sex": "male"}, 7),
    ("pa_f", {"view": "pa", "sex": "female"}, 12),
    ("ap", {"view": "ap"}, 3),
    ("lat", {"view": "lateral"}, 7),
    ("pa_eff", {"view": "pa", "findings": (Finding(name="pleural_effusion",
                                                   laterality="left"),)}, 5),
    ("pa_cons", {"view": "pa", "findings": (Finding(name="consolidation", laterality="right",
                                                    location="rul"),)}, 9),
]
FULL = 1024
THUMB = 256


def render(out: Path, size: int = FULL) -> None:
    from imagine_med.engine.phantom.regions.chest.renderer import xray_renderer

    out.mkdir(parents=True, exist_ok=True)
    for name, kw, seed in CASES:
        spec = CaseSpec(modality="xray", width=size, height=size, **kw)
        r = xray_renderer().render(RenderRequest(spec=spec, seed=seed, width=size, height=size))
        Image.fromarray(r.pixels).save(out / f"{name}.png")


def sheets(out: Path, before: Path, after: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    full = contact_sheet([Image.open(before / "pa_m.png"), Image.open(after / "pa_m.png")],
                         cols=2, gap=8, mode="L")
    thumbs = [Image.open(d / f"{name}.png").resize((THUMB, THUMB), Image.Resampling.LANCZOS)
              for d in (before, after) for name, _, _ in CASES]
    paths = [out / "chest-film-before-after-full.png", out / "chest-film-before-after.png"]
    full.save(paths[0], optimize=True)
    contact_sheet(thumbs, cols=len(CASES), gap=4, mode="L").save(paths[1], optimize=True)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    r.add_argument("dir", type=Path)
    r.add_argument("--size", type=int, default=FULL)
    s = sub.add_parser("sheets")
    s.add_argument("out", type=Path)
    s.add_argument("before", type=Path)
    s.add_argument("--after", type=Path, default=Path("build/chest-after"))
    args = ap.parse_args(argv)
    if args.cmd == "render":
        render(args.dir, args.size)
        return 0
    render(args.after)
    for p in sheets(args.out, args.before, args.after):
        print(f"{p} ({p.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
