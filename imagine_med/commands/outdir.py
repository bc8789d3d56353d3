"""`--out DIR` checked before any work: rendering for a minute and then failing to write is the
worst way to learn that DIR is a file."""

from __future__ import annotations

import os
from pathlib import Path


def out_dir_problem(path: Path) -> str | None:
    """Why `path` cannot be an output folder, or None. It may exist as a folder or not exist
    yet (it is created later); it must not be a file, nor lie under one, and the folder that
    will hold it must be writable."""
    if path.exists():
        if not path.is_dir():
            return f"--out {path} is a file, not a folder"
        return None if os.access(path, os.W_OK) else f"--out {path} is not writable"
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"--out {path} lies under {parent}, which is a file, not a folder"
            if not os.access(parent, os.W_OK):
                return f"--out {path} cannot be created: {parent} is not writable"
            return None
    return None
