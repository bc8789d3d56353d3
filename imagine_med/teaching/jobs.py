"""The `caseset` job: a case set rendered by a worker on the batch lane, its ZIP stored.

Why a job: a 500-film set takes minutes of CPU; on the batch lane it waits behind people's
single prompts rather than in front of them, reports progress like any job (the bots show
it), can be cancelled between chunks, and its files outlive the chat message. The request is
planned (and so refused with a clear message) before anything is queued.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from imagine_med.prompt.spec import CaseSpec
from imagine_med.teaching.plan import CaseSetRequest, plan_caseset

KIND = "caseset"
LANE = "batch"
# A set's time limit: 2000 films (the most one set may hold) at ~1 CPU s each on a busy
# 2-core worker, with room to spare; single renders keep the queue's own limit.
TIMEOUT_S = 3600
# What the job stores besides the ZIP, so a bot can show the table without unzipping.
SIDE_FILES = ("manifest.csv", "summary.md", "summary.csv", "coco.json", "answer_key.csv")


def checked(request: CaseSetRequest) -> tuple[CaseSpec, int]:
    """The set's study spec (what the job row shows) and its size; raises CaseSetError or
    registry.Unavailable for a request that cannot be made, before it is queued."""
    from imagine_med.teaching.caseset import check_renderable

    planned = plan_caseset(request)
    check_renderable(planned)
    study = planned[0].spec.model_copy(update={"findings": (), "seed": request.seed,
                                              "sex": None, "age": None,
                                              "prompt": request.prompt})
    return study, len(planned)


def submit_caseset(queue: Any, request: CaseSetRequest, requester: Any) -> Any:
    """Queue the set as one job on the batch lane; returns its JobRef."""
    study, n = checked(request)
    (ref,) = queue.submit([study], requester, lane=LANE, kind=KIND,
                          params={"caseset": request.to_json(), "cases": n},
                          timeout_s=TIMEOUT_S, prompt=describe(request))
    return ref


def describe(request: CaseSetRequest) -> str:
    normal = f", {request.normal:.0%} normal" if request.normal else ""
    return (f"case set: {request.prompt}; {len(request.findings)} findings x "
            f"{request.per_finding}{normal}; seed {request.seed}")


def run_caseset_job(queue: Any, params: dict[str, Any], progress: Any
                    ) -> tuple[dict[str, str], dict[str, Any]]:
    """In the worker: build the set in a private folder, store the ZIP and the side files,
    return (name -> blob key, the result document)."""
    from imagine_med.teaching.caseset import ZIP_NAME, build_caseset

    request = CaseSetRequest.from_json(params["caseset"])
    files: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="imagine-med-caseset-") as tmp:
        result = build_caseset(request, Path(tmp), progress)
        for name in (ZIP_NAME, *SIDE_FILES):
            path = Path(tmp) / name
            files[name] = queue.blobs.put(path.read_bytes(), path.suffix)
    doc = {
        "files": files, "paths": {n: str(queue.blobs.local_path(k)) for n, k in files.items()},
        "cases": len(result.rows), "seconds": round(result.seconds, 1),
        "summary": result.summary, "request": request.to_json(),
        "engine": result.rows[0]["engine"] if result.rows else None,
        "engine_version": result.rows[0]["engine_version"] if result.rows else None,
    }
    json.dumps(doc)  # the result is stored as JSON: fail here, not in the store
    return files, doc
