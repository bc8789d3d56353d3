"""A case set as a queue job: planned (and refused) before queueing, run by a real worker on
the batch lane with progress events, its ZIP stored and fetched back."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from queue_support import events_since, wait_for, who

from imagine_med.teaching.jobs import LANE, TIMEOUT_S, submit_caseset
from imagine_med.teaching.plan import CaseSetError, CaseSetRequest


def test_caseset_job_runs_on_the_batch_lane_with_progress(qenv, queue_workers, tmp_path):
    qenv.conf["progress_interval_s"] = 0.0  # the worker reports every stage
    jq = qenv.queue()
    since = jq.stream_tail("cli")
    request = CaseSetRequest("PA chest x-ray", ("left pneumothorax", "nodule"), 2, 0.2, 5, 96)
    ref = submit_caseset(jq, request, who("teacher"))
    assert ref.lane == LANE == "batch"
    assert jq.redis.hget(jq.keys.job(ref.id), "timeout") == str(TIMEOUT_S)
    queue_workers.start(1, test_engine=False, IMAGINE_MED_RENDER_PROCESSES="1")
    info = wait_for(lambda: (i := jq.status(ref.id)) and i.status in ("done", "failed") and i,
                    timeout=120, what="the case set job")
    assert info.status == "done", info.error
    assert info.kind == "caseset" and info.result["cases"] == 5  # 4 + round(4 * 0.2 / 0.8)
    stages = [e.data.get("stage", "") for e in events_since(jq, since) if e.job_id == ref.id
              and e.type == "progress"]
    assert [s for s in stages if s.startswith("rendered")] == ["rendered 5/5"]  # one chunk
    assert stages.index("zip") < stages.index("done")
    written = jq.export(ref.id, tmp_path / "got")
    with zipfile.ZipFile(written["caseset.zip"]) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert len(manifest["cases"]) == 5
        assert manifest["request"] == request.to_json()
        rows = list(csv_rows(z.read("manifest.csv")))
    assert written["manifest.csv"].read_bytes().decode() == z_text(written, "manifest.csv")
    assert {r["finding"] for r in rows} == {"pneumothorax (left)", "nodule", "normal"}


def csv_rows(data: bytes):
    import csv

    return csv.DictReader(io.StringIO(data.decode()))


def z_text(written, name: str) -> str:
    with zipfile.ZipFile(written["caseset.zip"]) as z:
        return z.read(name).decode()


def test_bad_caseset_is_refused_before_anything_is_queued(qenv):
    jq = qenv.queue()
    with pytest.raises(CaseSetError):
        submit_caseset(jq, CaseSetRequest("PA chest x-ray", ("dragon scales",), 2), who("t"))
    assert jq.user_jobs(who("t")) == []


def test_finished_jobs_export_as_cases(qenv, queue_workers, tmp_path):
    """What a course collection holds (job id, variant) exports like a case set: the slide
    shows that job's posted variant, byte for byte."""
    from pptx import Presentation

    from imagine_med.prompt import parse_one
    from imagine_med.teaching.cases import cases_from_jobs
    from imagine_med.teaching.export import export_dicom_zip, export_pptx

    jq = qenv.queue()
    spec = parse_one("PA chest x-ray with left pleural effusion --size 128 --seed 3")
    (ref,) = jq.submit([spec], who("teacher"))
    queue_workers.start(1, test_engine=False, IMAGINE_MED_RENDER_PROCESSES="1")
    wait_for(lambda: (i := jq.status(ref.id)) and i.status == "done", timeout=120,
             what="the imagine job")
    cases = cases_from_jobs(jq, [(ref.id, 2)])
    deck = Presentation(str(export_pptx(cases, tmp_path / "deck.pptx")))
    slides = list(deck.slides)
    assert len(slides) == 3
    (pic,) = [s for s in slides[1].shapes if s.shape_type == 13]
    assert pic.image.blob == jq.files(ref.id)["variant-2.png"].read_bytes()
    assert "pleural effusion" in slides[2].notes_slide.notes_text_frame.text
    with zipfile.ZipFile(export_dicom_zip(cases, tmp_path / "s.zip")) as z:
        assert f"{ref.id}/variant-2.dcm" in z.namelist()

    # the same job saved in a course collection, exported by name from the command line
    import subprocess
    import sys

    from imagine_med.teaching.library import CaseFacts, Library, Member

    Library(qenv.database_url).save(
        Member("slack", "T9", "UT", instructor=True), "week-1", ref.id,
        CaseFacts("xray", "chest", ("pleural_effusion",), "left effusion"))
    out = subprocess.run(
        [sys.executable, "-m", "imagine_med.cli", "export", "--collection", "week-1",
         "--platform", "slack", "--team", "T9", "--pdf", str(tmp_path / "w1.pdf")],
        env=qenv.env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import pypdf

    assert len(pypdf.PdfReader(str(tmp_path / "w1.pdf")).pages) == 3


def test_a_running_caseset_stops_between_chunks_when_cancelled(qenv, queue_workers):
    qenv.conf["progress_interval_s"] = 0.0
    jq = qenv.queue()
    since = jq.stream_tail("cli")
    request = CaseSetRequest("PA chest x-ray", ("nodule", "left pneumothorax", "cardiomegaly"),
                             8, 0.0, 2, 96)  # 24 cases: three chunks
    ref = submit_caseset(jq, request, who("teacher"))
    queue_workers.start(1, test_engine=False, IMAGINE_MED_RENDER_PROCESSES="1")
    wait_for(lambda: any(e.data.get("stage", "").startswith("rendered")
                         for e in events_since(jq, since) if e.job_id == ref.id),
             timeout=120, what="the first chunk")
    assert jq.cancel(ref.id, who("teacher")) in ("cancelling", "cancelled")
    info = wait_for(lambda: (i := jq.status(ref.id)) and i.status in (
        "done", "failed", "cancelled") and i, timeout=60, what="the cancel")
    assert info.status == "cancelled"
    stages = [e.data.get("stage", "") for e in events_since(jq, since)
              if e.job_id == ref.id and e.type == "progress"]
    assert "rendered 24/24" not in stages and "zip" not in stages
    assert jq.files(ref.id) == {}
