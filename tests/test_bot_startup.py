"""Starting the chat adapters: never on the public development watermark key, never with a
moderator setting that would grant rights on every server. Run as processes, as people run
them; the refusal comes before any connection, so no Redis or chat platform is needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imagine_med.settings import DEVELOPMENT_WATERMARK_KEY, Settings


def _run(args: list[str], tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("IMAGINE_MED_", "SLACK_", "DISCORD_"))}
    base.update(IMAGINE_MED_DATA_DIR=str(tmp / "data"),
                REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens: it must not matter
    return subprocess.run([sys.executable, "-m", "imagine_med.cli", *args],
                          env={**base, **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("args", "env"), [
    (["slack", "--http", "--port", "0"], {"SLACK_BOT_TOKEN": "xoxb-1",
                                          "SLACK_SIGNING_SECRET": "s"}),
    (["discord"], {"DISCORD_TOKEN": "token"}),
    (["run"], {"DISCORD_TOKEN": "token"}),  # make run with an adapter configured
    (["run", "--no-adapters"], {"IMAGINE_MED_ENV": "production"}),
    (["worker", "--burst"], {"IMAGINE_MED_ENV": "production"}),  # a worker marks what is posted
])
def test_services_refuse_the_development_key(args: list[str], env: dict[str, str],
                                             tmp_path: Path) -> None:
    out = _run(args, tmp_path, **env)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Refusing to start" in out.stderr and "IMAGINE_MED_WATERMARK_KEY" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "data").exists()  # refused before starting anything


def test_a_bare_moderator_id_is_refused_with_the_new_format(tmp_path: Path) -> None:
    out = _run(["slack", "--http", "--port", "0"], tmp_path, SLACK_BOT_TOKEN="xoxb-1",
               SLACK_SIGNING_SECRET="s", IMAGINE_MED_WATERMARK_KEY="a-real-secret",
               IMAGINE_MED_BOT_MODERATORS="UMOD")
    assert out.returncode == 2, out.stderr[-2000:]
    assert "IMAGINE_MED_BOT_MODERATORS: UMOD: a bare user id" in out.stderr
    assert "slack:<team id>:user:<user id>" in out.stderr and "Traceback" not in out.stderr


def test_the_cli_keeps_working_on_the_development_key(tmp_path: Path) -> None:
    out = _run(["generate", "PA chest x-ray --size 64 --seed 1", "--out", str(tmp_path / "c")],
               tmp_path, IMAGINE_MED_ENV="production", DISCORD_TOKEN="token")
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "c" / "grid.png").exists()
    assert "public development key" in out.stderr  # said, not refused


def test_refusal_rules() -> None:
    dev = Settings(watermark_key=DEVELOPMENT_WATERMARK_KEY)
    assert dev.watermark_key_refusal() is None  # the CLI: a warning elsewhere, no refusal
    assert "Slack adapter would publish" in (dev.watermark_key_refusal(["Slack"]) or "")
    assert "production" in (Settings(env="production").watermark_key_refusal() or "")
    secret = Settings(watermark_key="not-the-public-one", env="production")
    assert secret.watermark_key_refusal(["Discord", "Slack"]) is None
