"""Engine-routed queues: a worker takes only the jobs of its routes (engines, or engine:modality),
fairness holds across routes, and a job no live worker can render is refused before queueing."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from queue_support import ROOT, QueueEnv, Workers, claim, events_since, spec, wait_for, who

from imagine_med.queue.types import QueueError


def start(qenv: QueueEnv, workers: Workers, engines: str, pair: str) -> str:
    """`imagine-med worker --engines ENGINES` with the test renderer registered for `pair`."""
    name = f"{workers.tag}-{engines}"
    cmd = [sys.executable, "-m", "imagine_med.cli", "worker", "--name", name, "--log-format",
           "text", "--engines", engines, "--renderer", f"{pair}=queue_engine:make", "--warm", pair]
    with open(qenv.data_dir.parent / f"{name}.log", "wb") as log:  # the child keeps its copy
        workers.procs[name] = subprocess.Popen(cmd, env=qenv.env(), stdout=log,
                                               stderr=subprocess.STDOUT, cwd=ROOT)
    workers.wait_ready([name])
    return name


def test_phantom_worker_never_takes_a_diffusion_job(
        qenv: QueueEnv, queue_workers: Workers) -> None:
    """Both kinds queued, interleaved between users: `--engines phantom` runs every phantom job
    and not one diffusion job; a diffusion worker started afterwards takes exactly those."""
    jq = qenv.queue()
    since = jq.stream_tail("cli")
    diffusion, phantom = [], []
    for user in ("alice", "bob", "carol"):
        diffusion += jq.submit([spec(engine="diffusion") for _ in range(2)], who(user))
        phantom += jq.submit([spec("sleep=0.01") for _ in range(2)], who(user))
    cpu = start(qenv, queue_workers, "phantom", "phantom:xray")
    wait_for(lambda: all(jq.status(r.id).status == "done" for r in phantom), 60,
             "the phantom jobs")
    time.sleep(1.5)  # several more idle claims: none may pick a diffusion job
    assert {jq.status(r.id).status for r in diffusion} == {"queued"}
    assert {jq.status(r.id).tries for r in diffusion} == {0}
    started = [e for e in events_since(jq, since) if e.type == "started"]
    assert {e.job_id for e in started} == {r.id for r in phantom}
    assert [e.data["user"] for e in started] == ["alice", "bob", "carol"] * 2  # still fair
    assert {jq.status(r.id).worker for r in phantom} == {cpu}

    gpu = start(qenv, queue_workers, "diffusion", "diffusion:xray")
    wait_for(lambda: all(jq.status(r.id).status == "done" for r in diffusion), 60,
             "the diffusion jobs")
    assert {jq.status(r.id).worker for r in diffusion} == {gpu}


def test_modality_routes_and_refusals_are_counted(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    xray = jq.submit([spec()], who("alice"))[0]
    ct = jq.submit([spec(modality="ct")], who("bob"))[0]
    assert claim(jq, engines="phantom:ct")[0] == ct.id  # alice's turn, not its route
    assert claim(jq, engines="phantom:ct") is None
    assert claim(jq, engines="phantom:mri,phantom:xray")[0] == xray.id

    jq.announce_engines(["phantom:xray"], "w-xray")  # the only live worker: x-rays only
    jq.submit([spec()], who("carol"))
    with pytest.raises(QueueError, match="No worker renders ct images with the phantom") as err:
        jq.submit([spec(modality="ct")], who("carol"))
    assert "Nothing was queued" in err.value.message
    with pytest.raises(QueueError, match="No worker renders xray images with the diffusion"):
        jq.submit([spec(engine="diffusion")], who("carol"))
    assert jq.redis.hgetall(jq.keys.stat("unrouted")) == {"phantom": "1", "diffusion": "1"}
    assert len(jq.user_jobs(who("carol").user_key, active_only=True)) == 1  # nothing partial
    jq.announce_engines(["phantom"], "w-any")  # a worker of every phantom modality
    jq.submit([spec(modality="ct")], who("carol"))
