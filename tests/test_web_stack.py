"""The CT slice stack behind the web viewer, and `make run` serving the web app.

The stack must show the phantom the variant was cut from: its own plane at the centre, pixel
for pixel the HU the variant stored, and neighbours `step_mm` apart that differ from it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from web_support import free_port

from imagine_med.case import render_case
from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.stack import slice_stack
from imagine_med.prompt import parse

ROOT = Path(__file__).resolve().parents[1]


def test_the_stack_centre_is_the_variant_and_its_neighbours_are_other_planes() -> None:
    spec = parse("chest CT, axial at the carina, right upper lobe spiculated mass "
                 "--size 128 --seed 5")[0]
    case = render_case(spec)
    variant = case.variants[1]
    slices = slice_stack(spec, case.seeds[1], count=5, step_mm=4.0)
    assert [s.offset for s in slices] == [-2, -1, 0, 1, 2]
    centre = slices[2]
    assert np.array_equal(centre.raw, variant.raw)  # the same plane, the same noise
    assert np.array_equal(centre.labels, variant.label_map)
    assert centre.level_mm == pytest.approx(float(variant.tags["level_mm"]), abs=0.06)
    assert np.diff([s.level_mm for s in slices]) == pytest.approx([4.0] * 4)
    for s in (slices[0], slices[4]):
        assert np.abs(s.raw.astype(int) - centre.raw).mean() > 20  # another plane of the body
    mass = next(k for k, v in centre.names.items() if "mass" in v)
    area = [int((s.labels == mass).sum()) for s in slices]
    assert area[2] > 0 and area[2] >= max(area[0], area[4])  # cut through near its centre


@pytest.mark.parametrize("prompt", [
    "brain MRI, FLAIR, left MCA infarct --size 96 --seed 3",
    "head CT, right subdural haematoma --size 96 --seed 4",
])
def test_head_stacks_centre_on_the_variant(prompt: str) -> None:
    spec = parse(prompt)[0]
    case = render_case(spec)
    slices = slice_stack(spec, case.seeds[0], count=3, step_mm=6.0)
    variant = case.variants[0]
    assert np.array_equal(slices[1].raw, variant.raw)  # same signal or HU, same noise
    assert slices[1].level_mm == pytest.approx(float(variant.tags["level_mm"]), abs=0.06)
    assert slices[1].raw.dtype == (np.uint16 if spec.modality == "mri" else np.int16)
    assert not np.array_equal(slices[0].raw, slices[1].raw)
    assert slices[2].level_mm - slices[1].level_mm == pytest.approx(6.0)


def test_stacks_are_refused_for_what_has_no_volume() -> None:
    with pytest.raises(EngineError, match="phantom CT"):
        slice_stack(parse("PA chest x-ray --size 128")[0], 1)
    with pytest.raises(EngineError, match="1 to 41"):
        slice_stack(parse("chest CT --size 128")[0], 1, count=99)


def test_make_run_starts_the_web_app_and_prints_its_address(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IMAGINE_MED_") and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(IMAGINE_MED_DATA_DIR=str(tmp_path / "data"), IMAGINE_MED_WEB_PORT=str(port),
               PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "imagine_med.cli", "run", "--metrics-port",
                             "0"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        banner = []
        for line in proc.stdout:  # type: ignore[union-attr]
            banner.append(line)
            if line.startswith("Ctrl-C stops everything"):
                break
        text = "".join(banner)
        assert f"Web       http://127.0.0.1:{port}" in text, text
        assert f"Open http://127.0.0.1:{port} in a browser" in text
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    assert r.status == 200 and "Sign in" in r.read().decode()
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_a_web_user_signed_in_with_slack_shares_their_slack_rate_limit(
        redis_url: str, namespace: str, tmp_path: Path) -> None:
    """The web app files a Slack user's jobs as platform "web", but their commands take
    tokens from their Slack bucket (Who.limit_as), so the web is no way around the limit."""
    import redis

    from imagine_med.bot.config import BotConfig
    from imagine_med.bot.core import BotCore
    from imagine_med.bot.jobs import Who
    from imagine_med.bot.prefs import PreferenceStore
    from imagine_med.bot.ratelimit import Rate, RateLimiter

    limiter = RateLimiter(redis.Redis.from_url(redis_url), namespace)
    config = BotConfig(rate_user=Rate(2, 600), rate_channel=None)
    core = BotCore(None, PreferenceStore(f"sqlite:///{tmp_path / 'p.db'}"),  # type: ignore
                   config, limiter=limiter)
    in_slack = Who("slack", "U1", "C1", team_id="T1")
    on_web = Who("web", "U1", "web", team_id="slack:T1", limit_as=("slack", "T1", "U1"))
    local = Who("web", "alice", "web", team_id="local")
    assert await core.throttled(in_slack) is None
    assert await core.throttled(on_web) is None
    refused = await core.throttled(on_web)
    assert refused is not None and "2 commands per 10 minutes" in refused.replies[0].text
    assert await core.throttled(in_slack) is not None  # the same bucket, now empty
    assert await core.throttled(local) is None  # someone else's
