"""Moderation with the real queue (Redis under a test prefix, a migrated SQLite store): held jobs
released or rejected by a moderator, the CLI desk, and a PHI prompt that leaves no trace."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from queue_support import QueueEnv, spec, who

from imagine_med.cli import main
from imagine_med.moderation.service import ModerationService
from imagine_med.store import make_engine, migrate

MOD = ("moderator",)


@pytest.fixture
def qenv(redis_url: str, namespace: str, tmp_path: Path) -> QueueEnv:
    """A queue on the real Redis under this test's prefix, and a migrated SQLite store."""
    db = f"sqlite:///{tmp_path / 'queue.db'}"
    migrate(db)
    return QueueEnv(redis_url, namespace, db, tmp_path / "data")


def _events(q, platform: str = "cli") -> list[dict[str, str]]:
    return [fields for _id, fields in q.redis.xrange(q.keys.events(platform))]


def test_moderator_releases_or_rejects_held_jobs(qenv: QueueEnv) -> None:
    q = qenv.queue()
    svc = ModerationService(queue=q, moderator_roles=MOD)
    held = svc.submit("PA chest x-ray, make it look like a real scan",
                      [spec("perm 1"), spec("perm 2")], who("bob"))
    assert held.screening.decision == "hold" and len(held.jobs) == 2
    assert [q.status(j.id).status for j in held.jobs] == ["held", "held"]
    [item] = svc.pending()
    assert item.case_id == held.screening.case_id
    assert set(item.job_ids) == {j.id for j in held.jobs}

    res = svc.decide(held.jobs[1].id, "mod1", MOD, approve=True)  # by one of its job ids
    assert set(res.released) == {j.id for j in held.jobs}
    assert [q.status(j.id).status for j in held.jobs] == ["queued", "queued"]

    other = svc.submit("a celebrity's chest x-ray", [spec("x")], who("bob"))
    job = other.jobs[0].id
    res = svc.decide(other.screening.case_id, "mod1", MOD, approve=False,
                     reason="no real people, even famous ones")
    assert res.rejected == (job,) and q.status(job).status == "cancelled"
    assert "no real people" in (q.status(job).error or "")
    told = [e for e in _events(q) if e.get("job_id") == job and e.get("type") == "cancelled"]
    assert told and "no real people" in json.dumps(told)  # the requester's adapter hears why
    assert svc.pending() == [] and svc.verify_audit().ok


def test_blocked_prompt_never_reaches_the_queue(qenv: QueueEnv) -> None:
    q = qenv.queue()
    svc = ModerationService(queue=q, moderator_roles=MOD)
    sub = svc.submit("x-ray of a broken wrist for my insurance claim", [spec("y")], who("eve"))
    assert sub.screening.decision == "block" and sub.jobs == []
    assert q.user_jobs(who("eve")) == []
    assert not [e for e in _events(q) if e.get("user") == "eve"]


PHI = ("patient John Smith, SSN 123-45-6789, DOB 04/07/1962, MRN 00482913, "
       "john.smith@example.com, PA chest x-ray, right upper lobe pneumonia --seed 7")
SECRETS = ["John Smith", "Smith", "123-45-6789", "04/07/1962", "00482913",
           "john.smith@example.com"]
CONTROL = "PA chest x-ray, cavitating lesion in the left upper lobe --seed 11"


def _db_text(url: str) -> tuple[bytes, str]:
    """The SQLite files' bytes (main, WAL, shared memory) and every value in every table."""
    engine = make_engine(url)
    values: list[str] = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                values.extend(str(v) for v in row)
    path = Path(engine.url.database or "")
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    return raw, "\n".join(values)


def _redis_text(q) -> str:  # type: ignore[no-untyped-def]
    r, out = q.redis, []
    for key in r.scan_iter(match=f"{q.prefix}*", count=500):
        out.append(str(key))
        kind = r.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "string":
            out.append(str(r.get(key)))
        elif kind == "hash":
            out.append(str(r.hgetall(key)))
        elif kind == "list":
            out.append(str(r.lrange(key, 0, -1)))
        elif kind == "set":
            out.append(str(r.smembers(key)))
        elif kind == "zset":
            out.append(str(r.zrange(key, 0, -1)))
        elif kind == "stream":
            out.append(str(r.xrange(key)))
    return "\n".join(out)


def test_a_phi_prompt_is_stored_and_logged_nowhere(qenv: QueueEnv,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    q = qenv.queue()
    svc = ModerationService(queue=q, moderator_roles=MOD)
    alice = who("alice")
    assert svc.submit(CONTROL, [spec(CONTROL)], alice).jobs  # allowed: stored, as it should be
    sub = svc.submit(PHI, [spec(PHI)], alice)
    assert sub.screening.decision == "block" and sub.jobs == []
    assert {"phi.name", "phi.ssn", "phi.dob", "phi.record", "phi.email"} <= set(
        sub.screening.rule_ids)
    # the requester appeals, repeating an identifier in the appeal: that is redacted too
    svc.appeal(sub.screening.case_id, alice, "it is John Smith's teaching file, MRN 00482913")
    svc.decide(svc.pending()[0].id, "mod1", MOD, approve=False, reason="contains identifiers")

    raw, values = _db_text(qenv.database_url)
    redis_text = _redis_text(q)
    logs = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert CONTROL.encode() in raw and "cavitating lesion" in redis_text  # the scan sees prompts
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
        assert secret not in values, secret
        assert secret not in redis_text, secret
        assert secret not in logs, secret
    engine = make_engine(qenv.database_url)
    with engine.connect() as conn:
        redacted, digest = conn.execute(sa.text(
            "SELECT prompt_redacted, prompt_sha256 FROM moderation_cases")).one()
        audit = conn.execute(sa.text(
            "SELECT count(*) FROM moderation_audit WHERE prompt_sha256 = :h"), {"h": digest}
        ).scalar()
    assert redacted.startswith("patient [NAME], SSN [SSN], DOB [DOB], MRN [ID], [EMAIL]")
    assert digest == hashlib.sha256(PHI.encode()).hexdigest() and audit >= 3


@pytest.fixture
def cli_env(qenv: QueueEnv, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The CLI reads its Redis, prefix and database from the environment."""
    from imagine_med.queue.config import get_queue_settings
    from imagine_med.settings import get_settings

    for key, value in {"REDIS_URL": qenv.redis_url, "DATABASE_URL": qenv.database_url,
                       "IMAGINE_MED_REDIS_PREFIX": qenv.prefix,
                       "IMAGINE_MED_DATA_DIR": str(qenv.data_dir)}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    get_queue_settings.cache_clear()
    yield qenv
    get_settings.cache_clear()
    get_queue_settings.cache_clear()


def test_cli_desk(cli_env: QueueEnv, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    q = cli_env.queue()
    svc = ModerationService(queue=q, moderator_roles=MOD)
    a = svc.submit("brain MRI of a celebrity", [spec("a")], who("carol"))
    b = svc.submit("a famous singer's knee MRI", [spec("b")], who("dan"))
    blocked = svc.check("sexy nurse", who("dan"))

    assert main(["mod", "queue", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {i["case_id"] for i in listed} == {a.screening.case_id, b.screening.case_id}

    assert main(["mod", "--as", "prof-x", "approve", a.jobs[0].id]) == 0
    assert "released into the queue" in capsys.readouterr().out
    assert q.status(a.jobs[0].id).status == "queued"
    assert main(["mod", "reject", b.screening.case_id, "--reason", "not for class"]) == 0
    assert q.status(b.jobs[0].id).status == "cancelled"
    assert main(["mod", "reject", b.screening.case_id, "--reason", "again"]) == 1
    assert "already rejected" in capsys.readouterr().err

    assert main(["mod", "appeal", str(blocked.case_id), "--user", "cli:t1:dan",
                 "--text", "costume lecture"]) == 0
    appeal_id = capsys.readouterr().out.split()[1]
    with pytest.raises(SystemExit) as exited:  # argparse: a rejection needs --reason
        main(["mod", "reject", appeal_id])
    assert exited.value.code == 2 and "--reason" in capsys.readouterr().err
    assert main(["mod", "reject", appeal_id, "--reason", "sexualised"]) == 0
    assert "appeal" in capsys.readouterr().out

    out = tmp_path / "audit.csv"
    assert main(["mod", "audit", "--format", "csv", "--out", str(out)]) == 0
    text = out.read_text()
    assert "prof-x" in text and "not for class" in text and "costume lecture" in text
    assert main(["mod", "audit", "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x)["seq"] for x in lines] == list(range(1, len(lines) + 1))
    assert main(["mod", "verify"]) == 0
    assert "hash chain verified" in capsys.readouterr().out


def test_a_decision_the_queue_cannot_carry_out_leaves_the_case_pending(qenv: QueueEnv) -> None:
    from imagine_med.moderation.service import ModerationError
    from imagine_med.queue.api import JobQueue

    q = qenv.queue()
    held = ModerationService(queue=q, moderator_roles=MOD).submit(
        "a celebrity's hand x-ray", [spec("z")], who("fay"))
    down = JobQueue("redis://127.0.0.1:1/0", qenv.prefix, qenv.database_url,
                    settings=q.settings, queue_settings=q.conf)
    with pytest.raises(ModerationError, match="still pending"):
        ModerationService(queue=down, moderator_roles=MOD).decide(
            held.screening.case_id, "mod1", MOD, approve=True)
    svc = ModerationService(queue=q, moderator_roles=MOD)
    assert [i.case_status for i in svc.pending()] == ["pending"]
    assert svc.decide(held.screening.case_id, "mod1", MOD, approve=True).released
    assert q.status(held.jobs[0].id).status == "queued"
