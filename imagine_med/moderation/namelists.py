"""Build the shipped census name list (`data/census_names.txt`) from the public US Census 1990
name files, so names with no context cue can be recognised offline.

The screener never fetches anything at run time: the list ships inside the package. It was
built from `dist.male.first`, `dist.female.first` and `dist.all.last` (US Census Bureau, 1990,
public domain) as redistributed in the `names` 0.3.0 sdist on PyPI:

    pip download --no-deps --no-binary :all: names==0.3.0
    python -m imagine_med.moderation.namelists names-0.3.0.tar.gz

First names: all 5,494 (both sexes). Surnames: the 20,000 most frequent (about 78 % of the
population), which keeps the file near 200 kB. Words that are also clinical or everyday words
are not removed here; `names.py` decides how much a listed word counts as evidence.
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

OUT = Path(__file__).with_name("data") / "census_names.txt"
TOP_SURNAMES = 20_000


def _column(tar: tarfile.TarFile, suffix: str) -> list[str]:
    member = next(m for m in tar.getmembers() if m.name.endswith(suffix))
    f = tar.extractfile(member)
    assert f is not None
    return [line.split()[0].lower() for line in f.read().decode().splitlines() if line.strip()]


def build(sdist: Path, out: Path = OUT) -> None:
    with tarfile.open(sdist) as tar:
        first = _column(tar, "dist.male.first") + _column(tar, "dist.female.first")
        last = _column(tar, "dist.all.last")[:TOP_SURNAMES]
    lines = ["# US Census 1990 name files (public domain); see namelists.py", "[first]"]
    lines += sorted(set(first))
    lines += ["[last]", *sorted(set(last))]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    build(Path(sys.argv[1]))
