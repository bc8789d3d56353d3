"""`imagine-med run` (what `make run` starts): the local stack on embedded defaults.

Until the queue lands this renders a small sample set with the embedded engine into ./out/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SAMPLE_PROMPTS = [
    "PA chest x-ray, right upper lobe consolidation, adult male --seed 7",
    "PA chest x-ray, normal, adult female --seed 11",
    "AP supine chest x-ray, left pleural effusion --seed 3",
    "chest CT, axial at the carina, right upper lobe spiculated mass, lung window --seed 5",
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="start the local stack on embedded defaults (make run)")
    p.add_argument("--out", type=Path, default=Path("out"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagine_med.case import render_case, write_case
    from imagine_med.engine.base import EngineError
    from imagine_med.engine.registry import describe_available
    from imagine_med.prompt import parse

    print(f"Renderers available: {describe_available()}")
    made = 0
    for i, prompt in enumerate(SAMPLE_PROMPTS, 1):
        spec = parse(prompt)[0]
        out = args.out / f"sample-{i}"
        try:
            write_case(render_case(spec), out)
        except EngineError as exc:
            print(f"  skipped {prompt!r}: {exc.message}")
            continue
        made += 1
        print(f"  {out}/grid.png  <- {prompt}")
    if not made:
        print(
            "No sample could be rendered: the phantom engine (issue 3) has not landed yet.",
            file=sys.stderr,
        )
        return 1
    print(f"{made} sample case(s) written under {args.out}/ (grid.png, variants, case.json).")
    return 0
