"""The phantom engine's version: a human release number plus a digest of its own source.

The version goes into case.json and the provenance job id, so it must change whenever the
rendered bytes can. A hand-bumped number stayed "1.0" through a hundred pixel-changing
commits; a digest of every source file of this package cannot forget. `RELEASE` is still
bumped by hand for changes worth naming (a new modality, a new output key).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

RELEASE = "1.1"
PACKAGE_DIR = Path(__file__).resolve().parent


def source_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Every .py file of the package, subpackages included, in a fixed order."""
    return sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)


def source_digest(package_dir: Path = PACKAGE_DIR) -> str:
    """sha256 over the package's .py files (relative paths and contents, line endings
    normalised so a Windows checkout gives the same digest), first 10 hex digits."""
    h = hashlib.sha256()
    for path in source_files(package_dir):
        h.update(path.relative_to(package_dir).as_posix().encode() + b"\0")
        h.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return h.hexdigest()[:10]


def engine_version(package_dir: Path = PACKAGE_DIR) -> str:
    """e.g. '1.1+3fa2c9d10b' (PEP 440 local-version form: release + source digest)."""
    return f"{RELEASE}+{source_digest(package_dir)}"


VERSION = engine_version()
