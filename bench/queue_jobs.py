"""Job functions for the plain-rq baseline in bench/queue.py (rq imports them by name)."""

from __future__ import annotations

import os
import time


def noop() -> int:
    return os.getpid()


def render(prompt: str, out: str) -> dict[str, float]:
    """What a job does without a warm worker: import the engine, build it, render, write."""
    t0 = time.perf_counter()
    from imagine_med.case import render_case, write_case
    from imagine_med.engine.registry import get_renderer
    from imagine_med.prompt import parse

    spec = parse(prompt)[0]
    get_renderer(spec.engine, spec.modality)
    t1 = time.perf_counter()
    result = render_case(spec)
    t2 = time.perf_counter()
    write_case(result, out)
    t3 = time.perf_counter()
    return {"setup_s": t1 - t0, "render_s": t2 - t1, "files_s": t3 - t2, "pid": os.getpid()}
