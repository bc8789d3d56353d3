"""The variants of one job rendered on several cores, for CPU engines.

A job's four variants are independent, and the job's latency is what a user waits for. The
work is processes, not threads: a phantom variant is thousands of small numpy calls that hold
the GIL (two threads measured slower than one). The pool starts through a fork server, so a
multi-threaded host (the bot's event loops, the worker's lease thread) is never forked, and it
stays warm between jobs; a pool whose process died is replaced and the job rendered in-process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import TypeVar

from imagine_med.engine.base import ProgressFn, no_progress

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_broken = 0  # pools lost in a row; at _GIVE_UP the process renders in-process from then on
_GIVE_UP = 3
_lock = threading.Lock()


def _configured() -> int:
    from imagine_med.settings import get_settings

    return get_settings().render_processes


def _capacity() -> int:
    """The pool's size: the setting, or one process per core up to 4 (a job has 4 variants)."""
    return _configured() or max(1, min(4, len(os.sched_getaffinity(0))))


def process_count() -> int:
    """How many processes render a job now. IMAGINE_MED_RENDER_PROCESSES=N>0 fixes it (1:
    in-process); 0 (the default) uses the cores that are idle right now, so a busy machine
    renders in-process."""
    return _configured() or max(1, min(_capacity(), _spare_cores()))


def _spare_cores() -> int:
    """Cores nobody else is running on right now (this process's own included). On a busy
    machine (other workers, other jobs) a pool only adds contention and hand-offs: measured
    on 2 cores at load 4, pooled jobs took 1.25x as long as in-process ones."""
    try:
        with open("/proc/loadavg") as f:
            line = f.read()
    except OSError:
        line = ""
    return spare_cores(len(os.sched_getaffinity(0)), line)


def spare_cores(cores: int, loadavg: str) -> int:
    """From /proc/loadavg's text: its 4th field is runnable/total, the reader counted."""
    try:
        running = int(loadavg.split()[3].split("/")[0])
    except (ValueError, IndexError):
        return cores
    return max(1, cores - (running - 1))


def _init(owner: int, modules: tuple[str, ...]) -> None:
    """Pool initializer: follow the owner out (a SIGKILLed worker must not leave its render
    processes behind: they hold memory and keep the fork server alive), then import the engine
    once per process rather than inside the first job."""
    import importlib

    threading.Thread(target=_exit_with, args=(owner,), daemon=True,
                     name="render-owner-watch").start()
    for name in modules:
        importlib.import_module(name)


def _exit_with(owner: int) -> None:
    import select

    try:
        fd = os.pidfd_open(owner)
    except (AttributeError, OSError):  # no pidfd: poll for the owner instead
        while True:
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                os._exit(0)
            threading.Event().wait(1.0)
    select.select([fd], [], [])
    os._exit(0)


def _get_pool(size: int, warm: tuple[str, ...]) -> ProcessPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(size, mp_context=get_context("forkserver"),
                                        initializer=_init, initargs=(os.getpid(), warm))
            _pool_size = size
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def fan_out(fn: Callable[[T], R], items: Sequence[T], progress: ProgressFn = no_progress,
            warm: tuple[str, ...] = (),
            staged: Callable[[T, ProgressFn], R] | None = None) -> list[R]:
    """fn over items, in order, on the render pool when there is more than one item and more
    than one process to use now; progress advances as work finishes. The pool keeps its size
    (starting processes costs a second); a job that may use fewer hands each process a share
    of the items. `fn` must be picklable (a module-level function or a method of a picklable
    object). `staged(item, progress)`, when given, is what runs in this process instead of
    `fn`: progress then also reaches the caller between the stages of each item, so a progress
    callback that raises (a cancelled job) stops the work there, not only between items."""
    global _broken
    n = len(items)
    width = min(process_count(), n)
    if width <= 1 or _broken >= _GIVE_UP:
        return _serial(fn, items, progress, staged)
    pool = _get_pool(_capacity(), warm)  # width <= capacity: the pool keeps its size
    shares = [list(range(k, n, width)) for k in range(width)]
    try:
        futures = {pool.submit(_apply_all, fn, [items[i] for i in share]): share
                   for share in shares}
        pending, done_items = set(futures), 0
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                done_items += sum(len(futures[f]) for f in done)
                progress(done_items / n, "render")
        except BaseException:  # progress raised (job cancelled): drop the shares not started
            for f in pending:
                f.cancel()
            raise
        results: list[R | None] = [None] * n
        for f, share in futures.items():
            for i, r in zip(share, f.result(), strict=True):
                results[i] = r
    except BrokenProcessPool:
        _discard(pool)
        _broken += 1
        if _broken >= _GIVE_UP:
            # e.g. a script without an `if __name__ == "__main__":` guard, which every new
            # process re-runs: retrying would only repeat the failure
            log.error("render processes failed %d times in a row; rendering in-process from "
                      "now on (IMAGINE_MED_RENDER_PROCESSES=1 makes that the setting)", _broken)
        else:
            log.warning("a render process died; the pool is replaced and this job rendered "
                        "in-process")
        return _serial(fn, items, progress, staged)
    _broken = 0
    return results  # type: ignore[return-value]


def _apply_all(fn: Callable[[T], R], items: list[T]) -> list[R]:
    return [fn(x) for x in items]


def _serial(fn: Callable[[T], R], items: Sequence[T], progress: ProgressFn,
            staged: Callable[[T, ProgressFn], R] | None = None) -> list[R]:
    n = len(items)
    out = []
    for i, item in enumerate(items):
        if staged is None:
            out.append(fn(item))
        else:

            def sub(frac: float, stage: str, i: int = i) -> None:
                progress((i + max(0.0, min(1.0, frac))) / n, stage)

            out.append(staged(item, sub))
        progress((i + 1) / n, "render")
    return out


def shutdown() -> None:
    """Stop the pool and forget past failures (tests, and a worker's clean exit)."""
    global _pool, _broken
    with _lock:
        pool, _pool = _pool, None
        _broken = 0
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
