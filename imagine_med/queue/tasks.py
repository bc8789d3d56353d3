"""What a worker does with one job: render it, store the files, record the outcome.

`execute` is the function rq runs (in the worker process itself, never a fork), so the
renderers the registry keeps warm serve every job after the first.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from imagine_med.queue.api import JobQueue, info_to_row
from imagine_med.queue.types import JobInfo
from imagine_med.store import repo

log = logging.getLogger("imagine_med.queue.tasks")

VARIATION_STRENGTH = {"subtle": 0.3, "strong": 0.7}


class JobCancelled(Exception):
    """Raised from the progress callback when the owner or a moderator cancelled the job."""


class LeaseLost(Exception):
    """Another worker owns the job now (this one was presumed dead); drop the work."""


@dataclass
class Current:
    """The job a worker is running, shared with its keeper thread."""

    job_id: str
    attempt: int
    lease_value: str
    cancelled: threading.Event = field(default_factory=threading.Event)
    lost: threading.Event = field(default_factory=threading.Event)


@dataclass
class Runtime:
    """Process-wide state of a worker: set once at startup, used by every job."""

    queue: JobQueue
    worker_name: str
    current: Current | None = None
    prefetched: dict[str, dict[str, str]] = field(default_factory=dict)  # claimed job records


_runtime: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("imagine_med.queue.tasks.execute runs inside `imagine-med worker` only")
    return _runtime


def check_cancelled(q: JobQueue, current: Current) -> None:
    """Raise JobCancelled if a cancel was requested for the running job, LeaseLost if another
    worker owns it now. Asks Redis itself (one EXISTS) rather than waiting for the keeper's
    next beat (a third of the lease, 5 s): a phantom job is over in about a second, so a cancel
    noticed only by the keeper came too late and the job "finished as done" (issue 12). A Redis
    error here is not the job's failure; the keeper's check still stands."""
    if current.lost.is_set():
        raise LeaseLost(current.job_id)
    if not current.cancelled.is_set():
        try:
            if q.redis.exists(q.keys.cancel(current.job_id)):
                current.cancelled.set()
        except redis.RedisError:
            pass
    if current.cancelled.is_set():
        raise JobCancelled(current.job_id)


class Progress:
    """The engine's progress callback: throttled progress events, and the cancel check (run on
    every call, so between every stage and variant the engine reports)."""

    def __init__(self, rt: Runtime, info: JobInfo, current: Current) -> None:
        self.rt, self.info, self.current = rt, info, current
        self.last = 0.0
        self.interval = rt.queue.conf.progress_interval_s

    def __call__(self, fraction: float, stage: str) -> None:
        check_cancelled(self.rt.queue, self.current)
        now = time.monotonic()
        if now - self.last < self.interval and fraction < 1.0:
            return
        self.last = now
        q = self.rt.queue
        fraction = max(0.0, min(1.0, float(fraction)))
        i = self.info
        pipe = q.redis.pipeline(transaction=False)
        pipe.hset(q.keys.job(i.id), mapping={"progress": f"{fraction:.3f}", "stage": stage})
        pipe.xadd(
            q.keys.events(i.platform),
            {
                "type": "progress", "job_id": i.id, "platform": i.platform, "team": i.team or "",
                "channel": i.channel or "", "user": i.user, "user_key": i.user_key,
                "reply_target": json.dumps(i.reply_target), "kind": i.kind,
                "group_id": i.group_id or "", "group_index": str(i.group_index),
                "group_size": str(i.group_size), "status": "running", "tries": str(i.tries),
                "max_tries": str(i.max_tries), "lane": i.lane, "ts": repr(time.time()),
                "progress": f"{fraction:.3f}", "stage": stage,
            },
            maxlen=q.conf.stream_maxlen, approximate=True,
        )
        pipe.execute()


def _parent_pixels(q: JobQueue, params: dict[str, Any]) -> Any:
    """The chosen parent variant's pixels, label band cut off, for image-to-image engines.

    The phantom re-renders a variant exactly from its seed, so only engines whose output is
    not a function of the seed (diffusion) need the picture itself."""
    import io

    import numpy as np
    from PIL import Image

    from imagine_med.provenance.visible import band_height

    parent = q.status(str(params["parent_id"]))
    if parent is None or not parent.result:
        return None
    key = (parent.result.get("files") or {}).get(f"variant-{params['variant']}.png")
    if key is None:
        return None
    with Image.open(io.BytesIO(q.blobs.get(key))) as im:
        pixels = np.asarray(im.convert("L" if im.mode in ("L", "I;16") else "RGB"))
    return pixels[: pixels.shape[0] - band_height(pixels.shape[1])]


def follow_up_kwargs(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """What render_case needs besides the spec and seeds to reproduce a follow-up's pixels
    (base_seed, variation strength): the worker renders with it, a re-render (the bot's DICOM
    export) must too, or it shows another picture than the one posted."""
    if kind not in ("refine", "upscale", "variation") or "parent_seed" not in params:
        return {}
    out: dict[str, Any] = {"base_seed": int(params["parent_seed"])}
    if kind == "variation":
        out["variation"] = VARIATION_STRENGTH[params.get("strength", "subtle")]
    return out


def _render(q: JobQueue, info: JobInfo, progress: Progress) -> Any:
    """Run the job's kind through render_case."""
    from imagine_med.case import random_seed, render_case
    from imagine_med.prompt.spec import CaseSpec

    spec = CaseSpec.model_validate(info.spec)
    p = info.params
    base_seed = follow_up_kwargs(info.kind, p).get("base_seed")
    follows = base_seed is not None
    init = _parent_pixels(q, p) if follows and spec.engine != "phantom" else None
    if info.kind in ("imagine", "refine"):
        seed = p.get("parent_seed") if info.kind == "refine" and spec.seed is None else None
        return render_case(spec, seed=seed, progress=progress, init=init, base_seed=base_seed)
    if info.kind == "series":  # the same patient again: one image of the patient's seed
        return render_case(spec, seeds=[int(p["seed"])], progress=progress)
    if info.kind == "reroll":
        return render_case(spec.model_copy(update={"seed": None}), progress=progress)
    if info.kind == "upscale":
        scale = int(p.get("scale", 2))
        big = spec.model_copy(update={"width": spec.width * scale, "height": spec.height * scale})
        return render_case(big, seeds=[int(p["parent_seed"])], progress=progress, init=init,
                           base_seed=base_seed)
    if info.kind == "variation":
        return render_case(
            spec.model_copy(update={"seed": None}), seed=random_seed(), progress=progress,
            variation=follow_up_kwargs(info.kind, p).get("variation", 0.0),
            base_seed=base_seed, init=init,
        )
    raise ValueError(f"unknown job kind {info.kind!r}")


def _store_files(q: JobQueue, result: Any, series: dict[str, Any] | None = None
                 ) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Write the case (with its `series` block, for a series step) and store every file."""
    from imagine_med.case import write_case

    files: dict[str, str] = {}
    images: list[dict[str, Any]] = []
    from imagine_med.provenance.dicom import write_raw_hu

    with tempfile.TemporaryDirectory(prefix="imagine-med-job-") as tmp:
        written = write_case(result, tmp)
        if series:
            doc = json.loads(written["case.json"].read_text())
            doc["series"] = series
            written["case.json"].write_text(json.dumps(doc, indent=2) + "\n")
        written.update(write_raw_hu(result, tmp))  # CT HU / MR signal, for a later DICOM export
        for name, path in sorted(written.items()):
            data = Path(path).read_bytes()
            suffix = Path(name).suffix
            key = q.blobs.put(data, suffix)
            files[name] = key
            if suffix == ".png" and not name.startswith("_"):  # "_...": internal (CT values)
                from PIL import Image

                with Image.open(path) as im:
                    w, h = im.size
                images.append(
                    {"name": name, "sha256": key[:64], "size": len(data), "width": w, "height": h}
                )
    return files, images


def execute(job_id: str, attempt: int) -> dict[str, Any]:
    """Run one try of a job: render, store files and row, then publish the outcome. A refusal
    (an error with a user-facing `.message`) is a failed job; an unexpected error is also
    re-raised after being recorded, so rq's failed registry and logs show its traceback."""
    rt = runtime()
    q = rt.queue
    h = rt.prefetched.pop(job_id, None) or q.redis.hgetall(q.keys.job(job_id))
    info = JobInfo.from_hash(h)
    current = Current(job_id, attempt, f"{rt.worker_name}#{attempt}")
    rt.current = current
    t0 = time.monotonic()
    render_s = 0.0
    status, fields, images, error = "done", {}, [], None
    try:
        if info.kind == "ping":
            result_doc: dict[str, Any] = {"pong": True}
        elif info.kind == "dicom":  # no render: the parent's stored files, as DICOM
            from imagine_med.queue.exports import export_dicom

            files, images = export_dicom(q, info)
            result_doc = {"files": files,
                          "paths": {n: str(q.blobs.local_path(k)) for n, k in files.items()},
                          "parent_id": info.params.get("parent_id"),
                          "variant": info.params.get("variant")}
        elif info.kind == "caseset":  # many renders, one ZIP (imagine_med.teaching.jobs)
            from imagine_med.teaching.jobs import run_caseset_job

            files, result_doc = run_caseset_job(q, info.params, Progress(rt, info, current))
            render_s = time.monotonic() - t0
            check_cancelled(q, current)
        elif info.kind == "stack":  # CT slices around a variant's level (web case viewer)
            from imagine_med.queue.stacks import render_stack

            files, images = render_stack(q, info, Progress(rt, info, current))
            result_doc = {"files": files,
                          "paths": {n: str(q.blobs.local_path(k)) for n, k in files.items()},
                          "parent_id": info.params.get("parent_id"),
                          "variant": info.params.get("variant")}
        else:
            result = _render(q, info, Progress(rt, info, current))
            render_s = time.monotonic() - t0
            check_cancelled(q, current)  # between rendering and storing the files
            files, images = _store_files(q, result, info.params.get("series"))
            check_cancelled(q, current)  # before the store records the job as done
            result_doc = {
                "files": files,
                "paths": {n: str(q.blobs.local_path(k)) for n, k in files.items()},
                "seed": result.seed, "seeds": result.seeds, "engine": result.engine,
                "engine_version": result.engine_version,
                "interpreted_as": result.spec.describe(),
                "provenance_id": _provenance_id(result),
            }
        run_s = time.monotonic() - t0
        fields = {"result": json.dumps(result_doc), "progress": "1.000",
                  "render_s": f"{render_s:.4f}", "files_s": f"{run_s - render_s:.4f}"}
    except LeaseLost:
        log.warning("job %s: lease lost, another worker has it now; dropping this try", job_id)
        rt.current = None
        return {"dropped": True}
    except JobCancelled:
        status, fields, images = "cancelled", _cancelled_fields(q, job_id), []
    except Exception as exc:
        message = getattr(exc, "message", None)  # EngineError & co: a refusal, not a crash
        if message is None:
            error = exc
            message = _describe_failure(exc, int(h.get("timeout") or q.conf.job_timeout_s))
        status, fields = "failed", {"error": message}
    rt.current = None
    if current.lost.is_set():
        log.warning("job %s: lease lost before finishing; result discarded", job_id)
        return {"dropped": True}
    now = time.time()
    final = JobInfo.from_hash({**h, **fields, "status": status, "finished_at": repr(now),
                               "tries": str(attempt), "worker": rt.worker_name})
    _store_outcome(q, final, images)
    published = q.scripts.finish(
        args=[q.prefix, job_id, rt.worker_name, str(attempt), status, repr(now),
              q.conf.stream_maxlen, f"{render_s:.6f}", q.conf.job_ttl_s, json.dumps(fields)]
    )
    if not published:  # the lease was lost meanwhile: the queue's record wins over this late try
        log.warning("job %s: finished after losing its lease; outcome not published", job_id)
        q.sync_row(job_id)
    elif published == 2:  # a cancel landed after the last check: the script honoured it
        log.info("job %s: cancelled just before it finished; its result is not published",
                 job_id, extra={"job_id": job_id})
        status = "cancelled"
        q.sync_row(job_id)
    run_s = time.monotonic() - t0
    log.info("job %s %s in %.3fs", job_id, status, run_s,
             extra={"job_id": job_id, "status": status, "render_s": round(render_s, 4),
                    "run_s": round(run_s, 4)})
    if error is not None:
        raise error
    return {"status": status}


def _cancelled_fields(q: JobQueue, job_id: str) -> dict[str, str]:
    """The outcome fields of a job stopped by a cancel: the reason its canceller gave."""
    try:
        reason = q.redis.get(q.keys.cancel(job_id))
    except redis.RedisError:
        reason = None
    reason = reason or "Cancelled while rendering."
    return {"message": reason, "error": reason}


def _provenance_id(result: Any) -> str:
    """The id the images' invisible mark carries (derived from the case), to find the job
    from a verified image."""
    from imagine_med.provenance.stamp import case_job_id

    return case_job_id(result)


def _describe_failure(exc: BaseException, timeout_s: int) -> str:
    from rq.timeouts import JobTimeoutException

    if isinstance(exc, JobTimeoutException):
        return f"The job took longer than its {timeout_s} s time limit and was stopped."
    return f"The render failed unexpectedly ({type(exc).__name__}); the team has been told."


def _store_outcome(q: JobQueue, info: JobInfo, images: list[dict[str, Any]]) -> None:
    """Write the outcome to the store before announcing it, retrying once on a race with the
    submitter's own insert (PostgreSQL) or a busy SQLite file."""
    for attempt in range(3):
        try:
            repo.record_outcome(q.engine, info_to_row(info), images)
            return
        except Exception:
            if attempt == 2:
                raise
            time.sleep(0.05 * (attempt + 1))
