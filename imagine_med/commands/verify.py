"""`imagine-med verify FILE...`: is this image ours? Reads the keyed invisible mark.

Exit status 0 when every file carries the mark, 1 otherwise (2 for no files at all), so scripts
can gate on it. `--json` prints one JSON object per file instead of a line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check images (PNG, JPEG, DICOM...) for the imagine-med watermark",
        description="For each file: marked or not, the payload (job, variant, key id) and a "
        "confidence. The job printed is the id `imagine-med jobs JOB` and `imagine-med fetch "
        "JOB --out DIR` accept. Exit 0 when all files are marked, 1 otherwise.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagine_med.provenance.verify import verify_file

    all_marked = True
    for path in args.files:
        res = verify_file(path)
        all_marked &= res.marked
        if args.json:
            print(json.dumps(res.to_json(), sort_keys=True))
        else:
            print(res.summary())
    sys.stdout.flush()
    return 0 if all_marked else 1
