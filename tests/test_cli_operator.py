"""The command line as an operator meets it, each command run as a real process: refusals
before queueing, fetch by the id `verify` prints, DICOM exports made by a worker, quiet logs,
--out checks, a closed pipe, and the exit-status table."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from imagine_med.commands.exitcodes import MEANINGS, Exit

PROMPT = "PA chest x-ray, left pleural effusion --seed 11"
PUBLIC = {"grid.png", "case.json", *(f"variant-{i}.png" for i in range(1, 5)),
          *(f"variant-{i}.labels.png" for i in range(1, 5)),
          *(f"variant-{i}.masks.npz" for i in range(1, 5))}  # a film's overlapping masks


def cli(env: dict[str, str], cwd: Path, *args: str,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imagine_med.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def burst_worker(env: dict[str, str], cwd: Path) -> None:
    """One real phantom worker, until the queue is empty."""
    out = cli(env, cwd, "worker", "--burst", "--log-format", "text", "--warm", "phantom:xray",
              timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


def no_info_lines(stderr: str) -> None:
    assert not [ln for ln in stderr.splitlines() if re.search(r"\b(INFO|DEBUG)\b", ln)], stderr


def test_submit_refuses_what_nothing_renders_before_queueing(qenv, tmp_path: Path) -> None:
    env = qenv.env()
    for prompt, asked in (("sagittal knee MRI, torn meniscus", "MRI knee"),
                          ("lateral abdominal x-ray", "X-ray abdomen (lateral view)"),
                          ("PA chest x-ray --engine diffusion", "diffusion engine is not set up")):
        out = cli(env, tmp_path, "submit", prompt)
        assert out.returncode == Exit.UNAVAILABLE, out.stderr
        assert asked in out.stderr, out.stderr
        for row in ("available: phantom — X-ray chest (PA, AP, lateral)",
                    "CT chest (axial, coronal, sagittal)", "CT head (axial, coronal, sagittal)",
                    "MRI brain (axial, coronal, sagittal)"):
            assert row in out.stderr, out.stderr
        assert "diffusion —" not in out.stderr  # no checkpoint here: not offered
        assert "chest views" not in out.stderr and "Traceback" not in out.stderr
    jq = qenv.queue()
    assert not list(jq.redis.scan_iter(f"{qenv.prefix}:job:*"))  # nothing was queued
    assert jq.list_jobs() == []  # nor stored


def test_workers_offers_decide_what_is_available(qenv, tmp_path: Path) -> None:
    """While a worker is live, "available" is what it announces: a worker with a plugin for
    MRI makes MRI prompts acceptable, although this process has no MRI renderer."""
    from imagine_med.engine import registry
    from imagine_med.prompt import parse_one

    jq = qenv.queue()
    mri = parse_one("sagittal knee MRI")
    with pytest.raises(registry.Unavailable, match="MRI knee is not available yet"):
        jq.check_renderable([mri])
    replaced = registry.register("phantom", "mri", "bot_mocks.renderer:make")  # any region
    try:  # what a worker started with --renderer phantom:mri=... announces
        jq.announce_engines(["phantom"], "w-test", ttl_s=30)
    finally:
        registry.restore("phantom", "mri", replaced)
    jq.check_renderable([mri])  # no error: a live worker renders it
    with pytest.raises(registry.Unavailable):
        jq.check_renderable([parse_one("AP breast x-ray")])


def test_submit_worker_fetch_verify_and_dicom_job(qenv, tmp_path: Path) -> None:
    env = qenv.env()
    submitted = cli(env, tmp_path, "submit", PROMPT)
    assert submitted.returncode == 0, submitted.stderr
    no_info_lines(submitted.stderr)
    job = submitted.stdout.split()[1]
    early = cli(env, tmp_path, "fetch", job, "--out", "early")
    assert early.returncode == Exit.NOT_FINISHED and "is queued" in early.stderr
    burst_worker(env, tmp_path)

    fetched = cli(env, tmp_path, "fetch", job[:8], "--out", "f")  # a unique start of the id
    assert fetched.returncode == 0, fetched.stderr
    assert {p.name for p in (tmp_path / "f").iterdir()} == PUBLIC  # no internal files
    assert fetched.stdout.split() == [f"f/{n}" for n in sorted(PUBLIC)]

    checked = cli(env, tmp_path, "verify", "f/variant-1.png")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    mark_id = re.search(r"job ([0-9a-f]{10})", checked.stdout).group(1)  # type: ignore[union-attr]
    shown = cli(env, tmp_path, "jobs", mark_id)
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == job, shown.stderr
    again = cli(env, tmp_path, "fetch", mark_id, "--out", "g")
    assert again.returncode == 0, again.stderr
    for name in PUBLIC:
        assert (tmp_path / "g" / name).read_bytes() == (tmp_path / "f" / name).read_bytes()

    # DICOM: a `dicom` follow-up job, run by a worker from the stored (posted) files
    from imagine_med.queue.types import Requester

    jq = qenv.queue()
    ref = jq.submit_followup(job, "dicom", Requester("cli", "someone"), variant=3)[0]
    burst_worker(env, tmp_path)
    export = jq.status(ref.id)
    assert export is not None and export.status == "done", export
    files = jq.files(ref.id)
    assert {"dicom.zip", "variant-3.dcm", "variant-3.seg.dcm", "case.json"} <= set(files)
    with zipfile.ZipFile(files["dicom.zip"]) as z:
        assert sorted(z.namelist()) == ["case.json", "variant-3.dcm", "variant-3.seg.dcm"]
    ds = pydicom.dcmread(files["variant-3.dcm"])
    posted = np.asarray(Image.open(tmp_path / "f" / "variant-3.png").convert("L"))
    assert np.array_equal(ds.pixel_array, posted)
    assert "PA chest X-ray" in ds.SeriesDescription


def test_fetch_and_generate_check_out_before_any_work(qenv, tmp_path: Path) -> None:
    env = qenv.env()
    (tmp_path / "taken").write_text("a file")
    for args in (("generate", PROMPT, "--out", "taken"),
                 ("generate", PROMPT, "--out", "taken/sub"),
                 ("submit", PROMPT, "--wait", "--out", "taken"),
                 ("fetch", "0123456789", "--out", "taken")):
        out = cli(env, tmp_path, *args, timeout=60)
        assert out.returncode == Exit.USAGE, (args, out.stderr)
        assert "is a file, not a folder" in out.stderr and "Traceback" not in out.stderr
    assert qenv.queue().list_jobs() == []  # the submit never queued
    unknown = cli(env, tmp_path, "fetch", "0123456789", "--out", "x")
    assert unknown.returncode == Exit.USAGE and "there is no job" in unknown.stderr


def test_generate_and_parse_print_no_info_logs(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_MED_")}
    env["IMAGINE_MED_DATA_DIR"] = str(tmp_path / "data")
    made = cli(env, tmp_path, "generate", "PA chest x-ray --size 128", "--out", "g")
    assert made.returncode == 0, made.stderr
    no_info_lines(made.stderr)
    parsed = cli(env, tmp_path, "parse", "axial chest CT at the carina")
    assert parsed.returncode == 0
    no_info_lines(parsed.stderr)
    refused = cli(env, tmp_path, "generate", "MRI knee", "--out", "m")
    assert refused.returncode == Exit.UNAVAILABLE and not (tmp_path / "m").exists()


def test_a_reader_that_stops_early_gets_no_traceback(qenv, tmp_path: Path) -> None:
    """`imagine-med jobs --json | head -c 100`: more output than a pipe holds, reader gone."""
    from imagine_med.queue.api import info_to_row
    from imagine_med.queue.types import JobInfo
    from imagine_med.store import repo

    jq = qenv.queue()
    rows = [info_to_row(JobInfo.from_hash({
        "id": f"{i:032x}", "kind": "imagine", "status": "done", "lane": "normal",
        "user_key": "cli:-:me", "platform": "cli", "user": "me", "prompt": "PA chest x-ray " * 8,
        "created_at": repr(1.7e9 + i)})) for i in range(3000)]
    with jq.engine.begin() as conn:
        repo.insert_jobs(conn, rows)
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagine_med.cli", "jobs", "--json", "--limit", "3000"],
        cwd=tmp_path, env=qenv.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert len(proc.stdout.read(100)) == 100
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == Exit.PIPE_CLOSED
    assert err == ""


def test_help_documents_every_exit_status() -> None:
    out = subprocess.run([sys.executable, "-m", "imagine_med.cli", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for code in Exit:
        assert re.search(rf"^\s+{int(code)}\s+\S", out.stdout, re.M), code
        assert code in MEANINGS
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for code in Exit:
        assert f"| {int(code)} |" in readme, f"README does not document exit status {code}"
