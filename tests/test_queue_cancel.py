"""Cancel means cancel (issue 12): a running job that is cancelled ends "cancelled" and no result
of it is ever published or posted, whether the cancel lands mid-render or a moment before the
worker finishes."""

from __future__ import annotations

import time

from queue_support import QueueEnv, Workers, claim, events_since, finish, spec, wait_for, who

from imagine_med.prompt import parse
from imagine_med.store import session_scope
from imagine_med.store.models import ImageRow, JobRow


class Recorder:
    """Posts like a chat adapter through the queue's delivery (`EventConsumer.deliver`)."""

    def __init__(self) -> None:
        self.final: list[tuple[str, str]] = []

    def __call__(self, event) -> str | None:  # type: ignore[no-untyped-def]
        if event.terminal:
            self.final.append((event.job_id, event.type))
            return f"msg-{len(self.final)}"
        return None


def test_a_cancel_just_before_finishing_wins_over_done(qenv: QueueEnv) -> None:
    """The worker has rendered and asks to publish `done`; the cancel requested meanwhile wins,
    atomically, in the finish script itself."""
    jq = qenv.queue()
    consumer = jq.consumer("cli", "bot", "node-1")
    ref = jq.submit([spec()], who("alice"))[0]
    job_id, attempt = claim(jq)
    assert jq.cancel(ref.id, who("alice"), reason="Stop, wrong prompt.") == "cancelling"
    assert finish(jq, job_id, attempt, fields={"result": '{"files": {"grid.png": "x"}}'}) == 2
    info = jq.status(ref.id)
    assert info.status == "cancelled" and info.result is None
    assert info.error == "Stop, wrong prompt."
    types = [e.type for e in events_since(jq) if e.job_id == ref.id]
    assert types[-1] == "cancelled" and "done" not in types
    recorder = Recorder()
    while consumer.deliver(recorder, block_ms=10):
        pass
    assert recorder.final == [(ref.id, "cancelled")]
    assert jq.counts()["running"] == 0
    assert not jq.redis.exists(jq.keys.cancel(ref.id))


def test_cancelling_a_running_phantom_job_stops_it_and_posts_no_result(
    qenv: QueueEnv, queue_workers: Workers
) -> None:
    """A real worker with the real phantom engine, variants rendered one after another: the
    cancel is seen at the next stage, well before the last variant, and nothing is published."""
    jq = qenv.queue()
    consumer = jq.consumer("cli", "bot", "node-1")
    queue_workers.start(1, test_engine=False, IMAGINE_MED_RENDER_PROCESSES="1")
    specs = parse("PA chest x-ray, right upper lobe consolidation --seed 7 --size 1024")
    since = jq.stream_tail("cli")
    ref = jq.submit(specs, who("alice"))[0]
    wait_for(lambda: any(e.type == "progress" and e.job_id == ref.id
                         for e in events_since(jq, since)), timeout=60, what="rendering")
    asked = time.monotonic()
    assert jq.cancel(ref.id, who("alice")) == "cancelling"
    wait_for(lambda: jq.status(ref.id).status != "running", timeout=60, what="the job to end")
    took = time.monotonic() - asked

    info = jq.status(ref.id)
    assert info.status == "cancelled" and info.result is None
    events = [e for e in events_since(jq, since) if e.job_id == ref.id]
    assert [e.type for e in events if e.terminal] == ["cancelled"]
    fractions = [e.data["progress"] for e in events if e.type == "progress"]
    assert max(fractions) <= 0.5, f"rendering went on after the cancel: {fractions}"
    assert took < 5, f"the cancel took {took:.1f} s to stop the job"
    assert jq.files(ref.id) == {}
    with session_scope(jq.engine) as s:
        assert s.get(JobRow, ref.id).status == "cancelled"
        assert s.query(ImageRow).filter_by(job_id=ref.id).count() == 0
    recorder = Recorder()
    while consumer.deliver(recorder, block_ms=10):
        pass
    assert recorder.final == [(ref.id, "cancelled")]

    # the worker carries on with the next job
    nxt = jq.submit(parse("PA chest x-ray --seed 3 --size 64"), who("alice"))[0]
    wait_for(lambda: jq.status(nxt.id).status == "done", timeout=60, what="the next job")
