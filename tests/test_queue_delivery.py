"""Event delivery through Redis consumer groups: restarts never lose or duplicate a result.
Also the metrics page, which reads the same live state."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from queue_support import QueueEnv, claim, finish, spec, who

from imagine_med.observability.metrics import render, serve, standard_checks
from imagine_med.queue.api import JobQueue
from imagine_med.queue.types import QueueError


def _finished_job(jq) -> str:
    ref = jq.submit([spec()], who("alice"))[0]
    job_id, attempt = claim(jq)
    assert finish(jq, job_id, attempt, fields={"result": '{"files": {}}'}) == 1
    return ref.id


class Adapter:
    """Posts like a chat adapter: final results are counted per job."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        self.edits: list[str] = []

    def __call__(self, event) -> str | None:
        if event.terminal:
            self.posts.append(event.job_id)
            return f"msg-{len(self.posts)}"
        self.edits.append(event.type)
        return None


def test_restart_after_posting_before_ack_posts_once(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    consumer = jq.consumer("cli", "bot", "node-1")  # group exists before the job runs
    job_id = _finished_job(jq)
    adapter = Adapter()
    for event in consumer.read(block_ms=100):  # post everything ... then crash before ack
        ref = adapter(event)
        if ref:
            jq.mark_posted(event.job_id, "cli", ref)
    assert adapter.posts == [job_id]

    restarted = qenv.queue().consumer("cli", "bot", "node-1")  # new process, same name
    assert restarted.deliver(adapter, block_ms=100) == 2  # queued + started re-offered
    assert adapter.posts == [job_id]  # ... but the result is not posted again
    assert jq.posted(job_id, "cli") == "msg-1"
    assert restarted.deliver(adapter, block_ms=100) == 0
    assert jq.redis.xpending(restarted.stream, "bot")["pending"] == 0


def test_restart_before_posting_still_delivers_once(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    jq.consumer("cli", "bot", "node-1")
    job_id = _finished_job(jq)
    crashed = qenv.queue().consumer("cli", "bot", "node-1")
    assert [e.type for e in crashed.read(block_ms=100)] == ["queued", "started", "done"]
    # node-1 never comes back; node-2 claims what it left once it has been idle long enough
    replacement = qenv.queue().consumer("cli", "bot", "node-2", claim_idle_s=0.2)
    adapter = Adapter()
    time.sleep(0.3)
    while replacement.deliver(adapter, block_ms=100):
        pass
    assert adapter.posts == [job_id]
    assert jq.redis.xpending(replacement.stream, "bot")["pending"] == 0


def test_a_failing_post_is_offered_again(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    consumer = jq.consumer("cli", "bot", "node-1")
    job_id = _finished_job(jq)
    attempts: list[str] = []

    def flaky(event) -> str | None:
        if event.terminal:
            attempts.append(event.job_id)
            if len(attempts) == 1:
                raise ConnectionError("chat API down")
            return "msg"
        return None

    while consumer.deliver(flaky, block_ms=100) or len(attempts) < 2:
        pass
    assert attempts == [job_id, job_id] and jq.posted(job_id, "cli") == "msg"


def test_metrics_page(qenv: QueueEnv) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    jq = qenv.queue()
    _finished_job(jq)
    jq.submit([spec(), spec()], who("bob"))
    jq.submit([spec()], who("ines", "instructor"))
    jq.submit([spec(engine="diffusion")], who("dora"))
    job_id, attempt = claim(jq)  # ines's (priority) job now runs
    finish(jq, job_id, attempt, status="failed", fields={"error": "x"})
    claim(jq)  # bob's first
    jq.announce_engines(["phantom"], "w-cpu")
    with pytest.raises(QueueError):
        jq.submit([spec(engine="diffusion")], who("eve"))  # no diffusion worker: refused
    text = render(jq)
    families = {f.name: f for f in text_string_to_metric_families(text)}  # a real parser
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in families.values() for s in f.samples}
    assert samples[("imagine_med_queue_length", (("lane", "normal"),))] == 2
    assert samples[("imagine_med_queue_length", (("lane", "priority"),))] == 0
    assert samples[("imagine_med_queue_depth", (("engine", "phantom"),))] == 1
    assert samples[("imagine_med_queue_depth", (("engine", "diffusion"),))] == 1
    assert samples[("imagine_med_jobs_running", ())] == 1
    assert samples[("imagine_med_jobs_total", (("status", "done"),))] == 1
    assert samples[("imagine_med_jobs_failed_total", ())] == 1
    assert samples[("imagine_med_jobs_unrouted_total", (("engine", "diffusion"),))] == 1
    assert samples[("imagine_med_jobs_unrouted_total", (("engine", "phantom"),))] == 0
    assert families["imagine_med_queue_wait_seconds"].type == "histogram"
    assert families["imagine_med_render_seconds"].type == "histogram"
    phantom = (("engine", "phantom"),)
    assert samples[("imagine_med_queue_wait_seconds_count", phantom)] == 3  # 3 claims
    assert samples[("imagine_med_render_seconds_count", phantom)] == 1  # one done
    buckets = sorted(((float(dict(k)["le"]), v) for (n, k), v in samples.items()
                      if n == "imagine_med_render_seconds_bucket"))
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
    # the finish script was given a render time of 0.01 s: it falls in the 0.05 s bucket
    assert buckets[0] == (0.05, 1) and buckets[-1] == (float("inf"), 1)
    assert samples[("imagine_med_render_seconds_sum", phantom)] == pytest.approx(0.01)

    server = serve(jq, 0)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as resp:
            body = resp.read().decode()
            assert resp.headers["Content-Type"].startswith("text/plain; version=")
        assert "imagine_med_jobs_running 1.0" in body
        for path in ("/healthz", "/readyz"):
            with urllib.request.urlopen(base + path, timeout=5) as resp:
                doc = json.loads(resp.read())
                assert resp.status == 200
        assert doc["checks"] == {"redis": "ok", "store": "ok"}
    finally:
        server.shutdown()


def test_readyz_names_the_service_that_is_down(qenv: QueueEnv) -> None:
    from imagine_med.observability.metrics import Health

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    jq = qenv.queue()
    down = JobQueue(f"redis://127.0.0.1:{dead}/0", qenv.prefix, qenv.database_url,
                    settings=jq.settings, files_dir=qenv.data_dir / "files")
    health = Health(standard_checks(down), stale_s=0.5)
    server = serve(None, 0, health=health)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/readyz", timeout=10)
        assert err.value.code == 503
        doc = json.loads(err.value.read())
        assert doc["checks"]["store"] == "ok" and "ConnectionError" in doc["checks"]["redis"]
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as resp:
            assert resp.status == 200  # alive: Redis being away is not a reason to restart
        time.sleep(0.6)  # no beat from the main loop for longer than stale_s: stuck
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/healthz", timeout=5)
        assert err.value.code == 503 and json.loads(err.value.read())["status"] == "stuck"
    finally:
        server.shutdown()
        down.close()


def test_json_logs_carry_the_job_id(capsys) -> None:
    import json
    import logging

    from imagine_med.observability.logs import job_context, setup_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup_logging(logging.INFO, json_lines=True)
        log = logging.getLogger("imagine_med.test")
        with job_context("job-123"):
            log.info("rendering %s", "x", extra={"stage": "render"})
        log.info("between jobs")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines()[-2:])
    assert first["job_id"] == "job-123" and first["msg"] == "rendering x"
    assert first["stage"] == "render" and first["level"] == "info"
    assert "job_id" not in second


def test_pending_entries_trimmed_from_the_stream_do_not_block_the_rest(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    crashed = jq.consumer("cli", "bot", "node-1")
    first = _finished_job(jq)
    assert len(crashed.read(count=3, block_ms=100)) == 3  # read, never acknowledged
    for entry_id, _ in jq.redis.xrange(crashed.stream):  # trimmed away meanwhile
        jq.redis.xdel(crashed.stream, entry_id)
    second = _finished_job(jq)
    assert crashed.read(count=10, block_ms=100)  # pending now: 3 gone + 3 of the second job
    restarted = qenv.queue().consumer("cli", "bot", "node-1")
    adapter = Adapter()
    restarted.deliver(adapter, count=3, block_ms=100)  # a page of trimmed entries first
    while restarted.deliver(adapter, count=3, block_ms=100):
        pass
    assert adapter.posts == [second] and first not in adapter.posts
    assert jq.redis.xpending(restarted.stream, "bot")["pending"] == 0
