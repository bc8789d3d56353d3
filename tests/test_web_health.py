"""`imagine-med web` answers the container probes like every other long-running process:
/healthz and /readyz on its own port, and on IMAGINE_MED_HEALTH_PORT (the image's HEALTHCHECK)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from web_support import ROOT, free_port


def get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, json.loads(r.read())


def test_web_app_serves_health_on_its_port_and_the_probe_port(
        redis_url: str, namespace: str, tmp_path: Path) -> None:
    from imagine_med.store import migrate

    db = f"sqlite:///{tmp_path / 'web.db'}"
    migrate(db)
    web_port, probe_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_MED_")}
    env.update(REDIS_URL=redis_url, DATABASE_URL=db, IMAGINE_MED_REDIS_PREFIX=namespace,
               IMAGINE_MED_DATA_DIR=str(tmp_path / "data"), IMAGINE_MED_WEB_PORT=str(web_port),
               IMAGINE_MED_HEALTH_PORT=str(probe_port), PYTHONPATH=str(ROOT))
    with open(tmp_path / "web.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "imagine_med.cli", "web"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, doc = get(f"http://127.0.0.1:{web_port}/readyz")
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "web.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the web app never answered"
                time.sleep(0.2)
        assert status == 200 and doc["checks"] == {"redis": "ok", "store": "ok"}
        assert get(f"http://127.0.0.1:{web_port}/healthz")[1]["status"] == "ok"
        assert get(f"http://127.0.0.1:{probe_port}/readyz")[1]["checks"]["redis"] == "ok"
        env_probe = {**os.environ, "IMAGINE_MED_HEALTH_PORT": str(probe_port)}
        assert subprocess.run([sys.executable, "-m", "imagine_med.observability.probe"],
                              env=env_probe, timeout=30).returncode == 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
