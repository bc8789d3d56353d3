"""deploy/compose.yaml and the Dockerfile, checked without a Docker daemon: the services the
issue asks for with healthchecks and volumes, commands our CLI accepts, and environment
variables the code (or the image it configures) actually reads, each documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "deploy" / "compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"
OURS = "imagine-med"  # services running our image


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def ours(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items()
            if str(s.get("image", "")).startswith(OURS)}


def read_env_names() -> set[str]:
    """Every variable imagine-med reads: pydantic settings (prefix + field, or its aliases),
    plus the probe's, plus what boto3 reads for credentials."""
    from botocore.credentials import EnvProvider
    from pydantic import AliasChoices

    from imagine_med.bot.config import BotConfig
    from imagine_med.moderation.config import ModerationSettings
    from imagine_med.queue.config import QueueSettings
    from imagine_med.settings import Settings

    names = {"IMAGINE_MED_HEALTH_PORT", EnvProvider.ACCESS_KEY, EnvProvider.SECRET_KEY}
    for model in (Settings, QueueSettings, BotConfig, ModerationSettings):
        prefix = model.model_config.get("env_prefix", "")
        for field_name, info in model.model_fields.items():
            alias = info.validation_alias
            if isinstance(alias, AliasChoices):
                names.update(str(c) for c in alias.choices)
            names.add(f"{prefix}{field_name}".upper())
    return names


def test_the_services_and_their_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"redis", "postgres", "minio", "worker", "worker-gpu", "discord", "slack",
            "web"} <= set(services)
    for name in ("redis", "postgres", "minio"):  # backing services: a healthcheck each
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD" and len(test) > 1, name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^HEALTHCHECK .*\n?.*imagine_med\.observability\.probe", dockerfile, re.M)
    for name, s in ours(compose).items():  # ours: the image's HEALTHCHECK, not switched off
        assert not s.get("healthcheck", {}).get("disable"), name
        env = s["environment"]
        assert env["IMAGINE_MED_HEALTH_PORT"] == "8080", name
        deps = s["depends_on"]
        assert {deps[d]["condition"] for d in ("redis", "postgres")} == {"service_healthy"}
        assert deps["minio-init"]["condition"] == "service_completed_successfully"
    assert services["worker"]["deploy"]["replicas"] == "${PHANTOM_WORKERS:-2}"
    gpu = services["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert gpu["build"]["args"]["EXTRAS"] == "s3,diffusion"


def test_commands_are_ones_our_cli_accepts(compose: dict[str, Any]) -> None:
    from imagine_med.cli import COMMANDS, build_parser

    parser = build_parser()
    for name, s in ours(compose).items():
        command = s["command"]
        if command[0] not in COMMANDS:  # the web app (issue 21) lands later: opt-in until then
            assert command[0] == "web" and s.get("profiles") == ["web"], name
            continue
        args = parser.parse_args(command)  # argparse exits on an unknown flag
        assert args.command == command[0], name
    worker = parser.parse_args(compose["services"]["worker"]["command"])
    assert worker.engines == "phantom" and worker.metrics_port == 8080
    assert parser.parse_args(compose["services"]["worker-gpu"]["command"]).engines == "diffusion"


def test_volumes_data_dir_and_non_root_user(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = {v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", [])
            if not v.startswith(("$", ".", "/"))}
    assert used == declared  # every named volume is declared, and none is left unused
    for name, s in ours(compose).items():
        assert any(v.endswith(":/data") for v in s["volumes"]), name  # a writable data dir
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r'^VOLUME \["/data"\]', dockerfile, re.M)
    assert re.search(r"chown imagine /data", dockerfile)
    assert "IMAGINE_MED_DATA_DIR=/data" in dockerfile


def test_environment_is_read_by_the_code_and_documented(compose: dict[str, Any]) -> None:
    known = read_env_names()
    for name, s in ours(compose).items():
        unknown = set(s["environment"]) - known
        assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"
    referenced = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.M))
    assert referenced == documented, (referenced ^ documented)
    env = compose["x-imagine-env"]
    assert env["IMAGINE_MED_BLOBS"].startswith("s3://")
    assert env["IMAGINE_MED_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://")


def test_healthcheck_probe_asks_the_process(tmp_path: Path) -> None:
    """The Dockerfile's HEALTHCHECK command: 0 when /healthz answers 200, 1 when nothing
    listens or the process is stuck, 0 when no health port is set (one-shot commands)."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from imagine_med.observability.metrics import Health, serve

    def probe(port: int | None) -> int:
        env = {**os.environ, "IMAGINE_MED_HEALTH_PORT": str(port or 0)}
        return subprocess.run([sys.executable, "-m", "imagine_med.observability.probe"],
                              env=env, capture_output=True, timeout=30).returncode

    health = Health(stale_s=0.5)
    server = serve(None, 0, health=health)
    try:
        port = server.server_address[1]
        assert probe(port) == 0
        time.sleep(0.6)
        assert probe(port) == 1  # no beat: stuck
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert probe(free) == 1
    assert probe(None) == 0
