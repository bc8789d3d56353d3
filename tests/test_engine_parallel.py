"""The render pool: same bytes as rendering in-process, order kept, a dead process survived."""

from __future__ import annotations

import os

import numpy as np
import pytest

from imagine_med.case import render_case
from imagine_med.engine import parallel
from imagine_med.prompt.spec import CaseSpec
from imagine_med.settings import get_settings

_PARENT = os.getpid()


@pytest.fixture
def processes(monkeypatch):
    def use(n: int) -> None:
        monkeypatch.setenv("IMAGINE_MED_RENDER_PROCESSES", str(n))
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def _square_or_die(item: tuple[int, int]) -> int:
    """Kills the render process it runs in on item 2 (never the test process itself)."""
    x, test_pid = item
    if x == 2 and os.getpid() != test_pid:
        os._exit(3)
    return x * x


def _pid(_x: int) -> int:
    return os.getpid()


@pytest.mark.parametrize("modality,extra", [("xray", {"view": "pa"}),
                                            ("ct", {"plane": "axial"})])
def test_pool_gives_the_same_variants_as_in_process(processes, modality, extra):
    spec = CaseSpec(modality=modality, region="chest", width=160, height=160, **extra)
    processes(1)
    serial = render_case(spec, seed=11)
    processes(2)
    pooled = render_case(spec, seed=11)
    assert pooled.seeds == serial.seeds
    for a, b in zip(serial.variants, pooled.variants, strict=True):
        assert np.array_equal(a.pixels, b.pixels)
        assert np.array_equal(a.label_map, b.label_map)
        assert a.answer_key == b.answer_key


def test_pool_runs_items_in_other_processes_and_reports_progress(processes):
    processes(2)
    seen: list[float] = []
    pids = parallel.fan_out(_pid, [0, 1, 2, 3], lambda f, _s: seen.append(f))
    assert _PARENT not in pids
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_a_dead_render_process_costs_the_job_nothing(processes, caplog):
    processes(2)
    assert parallel.fan_out(_square_or_die, [(x, _PARENT) for x in range(4)]) == [0, 1, 4, 9]
    assert "render process died" in caplog.text
    # the broken pool was replaced: the next job runs on fresh processes
    assert _PARENT not in parallel.fan_out(_pid, [0, 1])


def test_one_process_renders_in_process(processes):
    processes(1)
    assert parallel.fan_out(_pid, [0, 1, 2]) == [_PARENT] * 3


_OWNER = """
import os, time
from imagine_med.engine import parallel

def pid_after_a_while(_x):
    time.sleep(0.3)  # long enough that both processes take an item
    return os.getpid()

if __name__ == "__main__":
    os.environ["IMAGINE_MED_RENDER_PROCESSES"] = "2"
    print(*sorted(set(parallel.fan_out(pid_after_a_while, [0, 1, 2, 3]))), flush=True)
    time.sleep(60)
"""


def test_render_processes_follow_a_killed_owner_out(tmp_path):
    """A worker SIGKILLed mid-job must not leave its render processes running."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "owner.py"
    script.write_text(_OWNER)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


_UNGUARDED = """
import os
os.environ["IMAGINE_MED_RENDER_PROCESSES"] = "2"
from imagine_med.engine import parallel
print([parallel.fan_out(abs, [-1, -2, -3]) for _ in range(5)], flush=True)
"""


def test_a_script_without_a_main_guard_still_renders_and_stops_retrying(tmp_path):
    """Every new process re-runs an unguarded script, so its pool can never start: each job
    still completes, and after three lost pools the process stops trying."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(_UNGUARDED)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str([[1, 2, 3]] * 5)
    assert done.stderr.count("rendering in-process from now on") == 1


def test_auto_uses_only_the_cores_idle_now(processes):
    """The default (0) renders in-process on a busy machine; a fixed setting is obeyed."""
    assert parallel.spare_cores(4, "0.50 0.40 0.30 1/200 999") == 4  # only the reader runs
    assert parallel.spare_cores(4, "3.90 3.00 2.00 3/200 999") == 2
    assert parallel.spare_cores(2, "4.00 3.00 2.00 5/200 999") == 1
    assert parallel.spare_cores(2, "garbled") == 2
    processes(3)
    assert parallel.process_count() == 3
