"""glibc heap settings for the phantom renderers' large numpy temporaries.

A render makes and frees hundreds of full-image arrays (2-25 MB each). With glibc's
defaults the larger ones are mapped fresh and unmapped on free, and the heap top is trimmed
back to the kernel, so the next array faults every page in again: on the shared 2-core
machine that was 15-25% of a fundus or dermoscopy render's CPU time. Keeping such blocks in
the heap (mmap threshold 64 MB; trim only past 256 MB free at the top) reuses the pages;
the peak resident memory is unchanged (bench/results-speed-fundus-skin.md).
Set IMAGINE_MED_KEEP_HEAP=0 to leave glibc's defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (glibc malloc.h)
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 256 << 20
_done = False


def keep_heap() -> bool:
    """Apply the settings once per process (glibc on Linux only); True if applied."""
    global _done
    if (
        _done
        or not sys.platform.startswith("linux")
        or os.environ.get("IMAGINE_MED_KEEP_HEAP", "1") == "0"
    ):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - glibc only (musl has no such settings)
        # the mmap threshold first: setting either one freezes glibc's dynamic threshold
        _done = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        )
    except (OSError, AttributeError):
        _done = False
    return _done
