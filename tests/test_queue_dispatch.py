"""Dispatch, limits, lanes, cancel, moderation and lease reaping, against the real Redis.

These drive the queue's atomic scripts exactly as workers do (claim/finish), without worker
processes, so orderings are deterministic; tests/test_queue_workers.py runs real workers.
"""

from __future__ import annotations

import pytest
from queue_support import QueueEnv, claim, events_since, finish, spec, who

from imagine_med.queue.types import LimitExceeded, NotAllowed, QueueError, QueueUnavailable
from imagine_med.store import session_scope
from imagine_med.store.models import JobRow


def _users(jq, ids):
    return [jq.status(j).user for j in ids]


def test_round_robin_between_users(qenv: QueueEnv) -> None:
    jq = qenv.queue(max_running_per_user=50)
    jq.submit([spec(f"a{i}") for i in range(6)], who("alice"))
    jq.submit([spec(f"b{i}") for i in range(3)], who("bob"))
    jq.submit([spec(f"c{i}") for i in range(2)], who("carol"))
    order = []
    while (got := claim(jq)) is not None:
        order.append(got[0])
    assert _users(jq, order) == [
        "alice", "bob", "carol", "alice", "bob", "carol", "alice", "bob", "alice", "alice", "alice",
    ]
    # each user's own jobs keep their submission order
    prompts = [jq.status(j).prompt for j in order]
    assert [p for p in prompts if p.startswith("a")] == [f"a{i}" for i in range(6)]


def test_positions_predict_dispatch_order(qenv: QueueEnv) -> None:
    jq = qenv.queue(max_running_per_user=50)
    refs = jq.submit([spec() for _ in range(5)], who("alice"))
    refs += jq.submit([spec() for _ in range(2)], who("bob"))
    refs += jq.submit([spec()], who("ines", "instructor"))  # priority lane: first in line
    refs += jq.submit([spec()], who("carol"), lane="batch")  # low priority: last
    positions = {r.id: jq.position(r.id) for r in refs}
    assert sorted(positions.values()) == list(range(1, len(refs) + 1))
    order = [claim(jq)[0] for _ in refs]
    assert [positions[j] for j in order] == list(range(1, len(refs) + 1))
    assert jq.status(order[0]).lane == "priority" and jq.status(order[-1]).lane == "batch"
    assert jq.position(order[0]) is None  # running now


def test_running_limit_makes_the_fourth_job_wait(qenv: QueueEnv) -> None:
    jq = qenv.queue()  # defaults: 3 running + 10 waiting
    refs = jq.submit([spec() for _ in range(5)], who("alice"))
    started = [claim(jq, worker=f"w{i}") for i in range(3)]
    assert all(started)
    assert claim(jq, worker="w4") is None  # alice's 4th waits although a worker is free
    assert jq.status(refs[3].id).status == "queued"
    other = jq.submit([spec()], who("bob"))
    assert claim(jq, worker="w4")[0] == other[0].id  # ...while bob's job is served
    job_id, attempt = started[0]
    assert finish(jq, job_id, attempt, worker="w0") == 1
    assert claim(jq, worker="w5")[0] == refs[3].id  # a slot freed: alice's 4th starts


def test_fourteenth_job_is_refused_with_a_message_and_nothing_written(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    for _ in range(3):
        claim_target = jq.submit([spec()], who("alice"))
        assert claim(jq)[0] == claim_target[0].id  # 3 running
    jq.submit([spec() for _ in range(10)], who("alice"))  # 10 waiting: 13 in all
    with pytest.raises(LimitExceeded) as err:
        jq.submit([spec("one too many")], who("alice"))
    assert "at most 3 running and 10" in err.value.message
    with session_scope(jq.engine) as s:
        assert s.query(JobRow).count() == 13
        assert s.query(JobRow).filter(JobRow.prompt == "one too many").count() == 0
    assert len(jq.user_jobs(who("alice"), limit=50)) == 13
    jq.submit([spec()], who("bob"))  # others are unaffected


def test_a_batch_over_the_limit_is_refused_whole(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    jq.submit([spec() for _ in range(10)], who("alice"))
    with pytest.raises(LimitExceeded):
        jq.submit([spec() for _ in range(4)], who("alice"))  # 10 + 4 > 13: none of the 4
    assert len(jq.user_jobs(who("alice"), limit=50)) == 10
    with pytest.raises(LimitExceeded, match="Split it"):
        jq.submit([spec() for _ in range(14)], who("bob"))


def test_lanes_are_checked(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    with pytest.raises(NotAllowed, match="instructors and moderators"):
        jq.submit([spec()], who("stu", "student"), lane="priority")
    with pytest.raises(QueueError, match="lanes are"):
        jq.submit([spec()], who("stu"), lane="express")
    assert jq.submit([spec()], who("ines", "instructor"))[0].lane == "priority"
    assert jq.submit([spec()], who("stu"), lane="batch")[0].lane == "batch"


def test_redis_unreachable_at_submit_writes_nothing(qenv: QueueEnv) -> None:
    dead = QueueEnv("redis://127.0.0.1:1/0", qenv.prefix, qenv.database_url, qenv.data_dir)
    jq = dead.queue()
    with pytest.raises(QueueUnavailable) as err:
        jq.submit([spec(), spec()], who("alice"))
    assert "not reachable" in err.value.message and "Nothing was queued" in err.value.message
    with session_scope(jq.engine) as s:
        assert s.query(JobRow).count() == 0


def test_cancel_by_owner_or_moderator_only(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    since = jq.stream_tail("cli")
    a, b = jq.submit([spec(), spec()], who("alice"))
    with pytest.raises(NotAllowed):
        jq.cancel(a.id, who("mallory"))
    assert jq.cancel(a.id, who("alice")) == "cancelled"
    assert jq.cancel(b.id, who("mod", "moderator")) == "cancelled"
    assert jq.cancel(a.id, who("alice")) == "cancelled"  # already: reports the final status
    assert claim(jq) is None  # nothing left to run
    for ref in (a, b):  # ended records expire like finished ones, not linger forever
        assert 0 < jq.redis.ttl(jq.keys.job(ref.id)) <= jq.conf.job_ttl_s
    events = events_since(jq, since)
    assert [e.type for e in events if e.job_id == a.id] == ["queued", "cancelled"]
    with session_scope(jq.engine) as s:
        assert s.get(JobRow, a.id).status == "cancelled"


def test_cancel_running_job_sets_the_flag_its_worker_checks(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    ref = jq.submit([spec()], who("alice"))[0]
    claim(jq)
    assert jq.cancel(ref.id, who("alice")) == "cancelling"
    assert jq.redis.exists(jq.keys.cancel(ref.id)) == 1


def test_hold_release_reject(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    since = jq.stream_tail("cli")
    held = jq.submit([spec("flagged")], who("alice"), hold=True)[0]
    assert held.status == "held" and jq.status(held.id).status == "held"
    assert claim(jq) is None  # held jobs never run
    q1, q2 = jq.submit([spec(), spec()], who("alice"))
    assert jq.hold(q2.id, "looks like PHI") == "held"
    assert jq.release(held.id) == "queued"
    assert claim(jq)[0] == held.id  # released to the front of alice's line
    assert claim(jq)[0] == q1.id
    assert claim(jq) is None
    assert jq.reject(q2.id, "Contains a patient name.") == "cancelled"
    info = jq.status(q2.id)
    assert (info.status, info.error) == ("cancelled", "Contains a patient name.")
    assert jq.redis.ttl(jq.keys.job(q2.id)) > 0
    types = [e.type for e in events_since(jq, since) if e.job_id == q2.id]
    assert types == ["queued", "held", "cancelled"]


def test_expired_lease_requeues_then_fails_after_max_tries(qenv: QueueEnv) -> None:
    jq = qenv.queue(max_tries=2)
    since = jq.stream_tail("cli")
    ref = jq.submit([spec()], who("alice"))[0]
    job_id, attempt = claim(jq, worker="doomed-1", lease_s=60)
    assert attempt == 1 and jq.reap() == []  # lease still valid
    jq.redis.delete(jq.keys.lease(job_id))  # the lease runs out (its worker froze)
    assert jq.reap() == [(ref.id, "requeued")]
    assert jq.status(ref.id).status == "queued" and jq.position(ref.id) == 1
    assert jq.redis.ttl(jq.keys.job(ref.id)) == -1  # still live: must not expire
    job_id, attempt = claim(jq, worker="doomed-2", lease_s=60)
    assert attempt == 2
    assert finish(jq, job_id, 1, worker="doomed-1") == 0  # a stale try cannot finish it
    jq.redis.delete(jq.keys.lease(job_id))
    assert jq.reap() == [(ref.id, "failed")]
    info = jq.status(ref.id)
    assert info.status == "failed" and "2 tries" in info.error
    assert jq.redis.ttl(jq.keys.job(ref.id)) > 0
    assert jq.redis.zcard(jq.keys.inflight) == 0
    assert jq.redis.scard(jq.keys.running(who("alice").user_key)) == 0
    types = [e.type for e in events_since(jq, since)]
    assert types == ["queued", "started", "requeued", "started", "failed"]
    with session_scope(jq.engine) as s:
        assert s.get(JobRow, ref.id).status == "failed"


def test_a_worker_known_dead_loses_its_jobs_at_once(qenv: QueueEnv) -> None:
    """`imagine-med run` saw the worker exit: its jobs are requeued without waiting out the
    lease, and only that worker's (a name that merely starts with it is someone else)."""
    jq = qenv.queue(max_running_per_user=5)
    mine, theirs = jq.submit([spec(), spec()], who("alice"))
    claim(jq, worker="host-w1-abc", lease_s=60)
    claim(jq, worker="host-w1-abcd", lease_s=60)
    assert jq.reap(dead_worker="host-w1-ab") == []  # no such worker: nothing is touched
    assert jq.reap(dead_worker="host-w1-abc") == [(mine.id, "requeued")]
    assert jq.status(mine.id).status == "queued" and jq.position(mine.id) == 1
    assert jq.status(theirs.id).status == "running"
    assert jq.redis.exists(jq.keys.lease(theirs.id))


def test_job_records_on_sqlite_and_postgresql(
    store_url: str, redis_url: str, namespace: str, tmp_path
) -> None:
    """The store side of a job's life on each backend: submit, a worker's outcome write (with
    images), cancel, a refused submit rolled back."""
    from imagine_med.queue.api import JobInfo, info_to_row
    from imagine_med.store import repo

    env = QueueEnv(redis_url, namespace, store_url, tmp_path / "data")
    jq = env.queue(max_running_per_user=1, max_queued_per_user=1)
    done, other = jq.submit([spec("first"), spec("second")], who("alice"))
    job_id, attempt = claim(jq)
    info = JobInfo.from_hash({**jq.redis.hgetall(jq.keys.job(job_id)), "status": "done",
                              "result": '{"seed": 5}'})
    repo.record_outcome(jq.engine, info_to_row(info),
                        [{"name": "grid.png", "sha256": "f" * 64, "size": 3}])
    assert finish(jq, job_id, attempt) == 1
    assert jq.cancel(other.id, who("alice")) == "cancelled"
    jq.submit([spec("third"), spec("fourth")], who("alice"))  # 1 running + 1 waiting
    with pytest.raises(LimitExceeded):
        jq.submit([spec("fifth")], who("alice"))
    with session_scope(jq.engine) as s:
        rows = {r.prompt: r for r in s.query(JobRow)}
        assert set(rows) == {"first", "second", "third", "fourth"}
        assert rows["first"].status == "done" and rows["first"].result == {"seed": 5}
        assert rows["second"].status == "cancelled"
        assert [i.name for i in repo.job_images(s, done.id)] == ["grid.png"]
    assert jq.status(done.id).status == "done"
    jq.redis.delete(jq.keys.job(done.id))  # once Redis forgets, status comes from the store
    assert jq.status(done.id).result == {"seed": 5}


def test_jobs_lost_by_redis_are_recovered_from_the_store(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    first, second = jq.submit([spec("a"), spec("b")], who("alice"))
    held = jq.submit([spec("c")], who("bob"), hold=True)[0]
    running = jq.submit([spec("d")], who("carol"))[0]
    done_id, attempt = claim(jq)
    assert done_id == first.id and finish(jq, done_id, attempt) == 1
    jq.sync_row(done_id)
    assert claim(jq)[0] == running.id  # carol's job is running when Redis is lost
    keys = list(jq.redis.scan_iter(match=f"{jq.prefix}:*", count=1000))
    jq.redis.delete(*keys)  # everything under this prefix: a restart without persistence
    assert set(jq.recover()) == {second.id, held.id, running.id}
    assert jq.status(held.id).status == "held"
    order = []
    while (got := claim(jq)) is not None:
        order.append(got[0])
    assert sorted(order) == sorted([second.id, running.id])  # nothing lost; done not re-run
    assert jq.recover() == []  # idempotent


def test_workers_take_only_jobs_of_engines_they_serve(qenv: QueueEnv) -> None:
    jq = qenv.queue()
    phantom = jq.submit([spec()], who("alice"))[0]
    diffusion = jq.submit([spec(engine="diffusion")], who("bob"))[0]
    assert claim(jq, engines="diffusion")[0] == diffusion.id  # alice's turn, but not for it
    assert claim(jq, engines="diffusion") is None
    assert claim(jq, engines="phantom,diffusion")[0] == phantom.id
    # with a phantom worker alive and none for diffusion, diffusion jobs are refused at once
    jq.announce_engines(["phantom"], "w-cpu")
    with pytest.raises(QueueError, match="No worker renders xray images with the diffusion engine"):
        jq.submit([spec(engine="diffusion")], who("bob"))
    jq.submit([spec()], who("bob"))
    jq.announce_engines(["diffusion"], "w-gpu")
    jq.submit([spec(engine="diffusion")], who("bob"))


def test_zero_width_padding_is_stripped_before_storage(qenv: QueueEnv) -> None:
    """500,000 trailing zero-width characters once passed the length check (it is made after
    normalisation) and were stored as typed; the stored prompt is the text the parser reads."""
    jq = qenv.queue()
    padded = "PA chest\u200bx-ray,\u00a0left  effusion" + "\u200b\u2060\ufeff" * 166_667
    ref = jq.submit([spec()], who("alice"), prompt=padded)[0]
    with session_scope(jq.engine) as s:
        stored = s.get(JobRow, ref.id).prompt
    assert stored == "PA chest x-ray, left effusion"
    assert jq.status(ref.id).prompt == stored


def test_held_jobs_count_toward_the_limit_whoever_submits(qenv: QueueEnv) -> None:
    """Ten held prompts once made 120 held jobs: the queue itself (CLI, bots, any caller) counts
    held jobs in the per-user limit and caps them at the waiting allowance."""
    jq = qenv.queue()
    for _ in range(10):
        jq.submit([spec()], who("alice"), hold=True)
    with pytest.raises(LimitExceeded, match="10 job\\(s\\) waiting for a moderator's review"):
        jq.submit([spec()], who("alice"), hold=True)
    for _ in range(3):
        jq.submit([spec()], who("alice"))  # 10 held + 3 = 13, the running + waiting limit
    with pytest.raises(LimitExceeded, match="13 job\\(s\\) running or waiting \\(10 held"):
        jq.submit([spec()], who("alice"))
    with pytest.raises(LimitExceeded, match="held for review at once"):
        jq.submit([spec() for _ in range(11)], who("bob"), hold=True)
    jq.submit([spec()], who("bob"), hold=True)  # others are unaffected
    assert jq.release(jq.user_jobs(who("alice"), limit=50)[-1].id)  # a decision frees a place
    with pytest.raises(LimitExceeded):  # released, it now waits: still 13 live
        jq.submit([spec()], who("alice"))
