"""Content-addressed file storage for job outputs.

Files are named by the SHA-256 of their bytes (`<root>/ab/cd/abcd....png`), so identical images
(same spec, same seed) are stored once and a stored file can never be silently replaced.
`BlobStore` is the seam for object storage: an S3-style store implements the same three methods.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class BlobStore(Protocol):
    def put(self, data: bytes, suffix: str = "") -> str:
        """Store bytes; returns their key (sha256 hex + suffix)."""
        ...

    def get(self, key: str) -> bytes:
        ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for the blob, when the store has one (None for remote stores)."""
        ...


class LocalBlobStore:
    """Blobs as files under `root`, written atomically (temp file + rename)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if len(key) < 64 or not all(c in "0123456789abcdef" for c in key[:64]) or "/" in key:
            raise ValueError(f"not a blob key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes, suffix: str = "") -> str:
        key = hashlib.sha256(data).hexdigest() + suffix
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)
