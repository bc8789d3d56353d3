"""/imagine-med-set on both adapters, over the real queue and a burst worker (the bot test
renderer): the status message, the batch lane, the posted summary and the ZIP whose manifest
is balanced; bad requests answered privately before anything is queued."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
from collections import Counter

from bot_mocks.discord_api import APP_ID, command
from test_bot_discord import (  # noqa: F401
    OWNER,
    dc,
)
from test_bot_discord import Harness as DiscordHarness
from test_bot_slack import Harness as SlackHarness
from test_bot_slack import slack  # noqa: F401

from imagine_med.bot.caseset import SetCommandError, parse_set_text

SET_TEXT = ("PA chest x-ray --findings left pneumothorax, RUL consolidation, nodule "
            "--per-finding 2 --normal 0.25 --seed 4 --size 96")


def _check_zip(data: bytes) -> dict[str, int]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        rows = list(csv.DictReader(io.StringIO(z.read("manifest.csv").decode())))
        doc = json.loads(z.read("manifest.json"))
        assert len(doc["cases"]) == len(rows)
        for r in rows:
            assert z.read(r["image"])[:8] == b"\x89PNG\r\n\x1a\n"
    return dict(Counter(r["finding"] for r in rows))


EXPECTED = {"pneumothorax (left)": 2, "consolidation (right, RUL)": 2, "nodule": 2, "normal": 2}


async def test_slack_set_is_a_batch_job_whose_zip_is_posted(slack: SlackHarness) -> None:  # noqa: F811
    await slack.command("/imagine-med-set", SET_TEXT)
    await slack.settle("chat.postMessage")
    status = slack.mock.of("chat.postMessage")[0].params["text"]
    assert "Case set" in status and "<@U1>" in status
    job = slack.job_of_status()
    info = slack.stack.queue.status(job)
    assert (info.kind, info.lane, info.status) == ("caseset", "batch", "queued")
    await asyncio.to_thread(slack.stack.work)
    await slack.deliver("files.completeUploadExternal", 3)
    names = [c.params["filename"] for c in slack.mock.of("files.getUploadURLExternal")]
    assert names == [f"imagine-med-{job}-caseset.zip", f"imagine-med-{job}-summary.md",
                     f"imagine-med-{job}-manifest.csv"]
    uploads = [c.body for c in slack.mock.of("upload")]
    assert _check_zip(uploads[0]) == EXPECTED
    comment = slack.mock.of("files.completeUploadExternal")[0].params["initial_comment"]
    assert "Case set ready: 8 images" in comment and "nodule: 2 (F 1 / M 1" in comment


async def test_slack_bad_set_is_answered_privately_and_not_queued(slack: SlackHarness) -> None:  # noqa: F811
    await slack.command("/imagine-med-set", "PA chest x-ray --findings nodule, dragon scales")
    await slack.settle("chat.postEphemeral")
    assert "dragon scales" in slack.mock.of("chat.postEphemeral")[0].params["text"]
    assert not slack.mock.of("chat.postMessage")
    assert slack.stack.queue.list_jobs() == []


async def test_discord_set_options_queue_and_post_the_zip(dc: DiscordHarness) -> None:  # noqa: F811
    bot = await dc.start_bot()
    bot.client._connection.parse_interaction_create(command(
        "imagine-med-set", {"study": "PA chest x-ray --size 96",
                            "findings": "left pneumothorax, RUL consolidation, nodule",
                            "per_finding": 2, "normal": 0.25, "seed": 4},
        user=OWNER, token="tok-set"))
    status = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-set/messages/@original"))[0]
    assert "Case set" in status.payload["content"]
    (info,) = dc.stack.queue.list_jobs()
    assert (info.kind, info.lane) == ("caseset", "batch")
    await asyncio.to_thread(dc.stack.work)
    await dc.deliver(bot)
    posted = [r for r in dc.mock.requests if r.files and any(
        n.endswith("caseset.zip") for n, _ in r.files)]
    assert posted, dc.mock.summary()
    msg = posted[-1]
    i = [n for n, _ in msg.files].index(f"imagine-med-{info.id}-caseset.zip")
    assert _check_zip(msg.data[i]) == EXPECTED
    assert "Case set ready: 8 images" in msg.payload["content"]
    assert msg.payload["allowed_mentions"]["parse"] == []


def test_set_text_parsing():
    r = parse_set_text(SET_TEXT)
    assert (r.prompt, r.findings, r.per_finding, r.normal, r.seed, r.size) == (
        "PA chest x-ray", ("left pneumothorax", "RUL consolidation", "nodule"), 2, 0.25, 4, 96)
    for bad, words in [("PA chest x-ray", "--findings"), ("x --findings a --colour red",
                                                          "--colour"),
                       ("x --findings a --per-finding lots", "number")]:
        try:
            parse_set_text(bad)
        except SetCommandError as exc:
            assert words in exc.message
        else:
            raise AssertionError(bad)


async def test_slack_series_renders_the_same_patient_in_ct(slack: SlackHarness) -> None:  # noqa: F811
    first = await slack.finished_job()
    before = len(slack.mock.of("chat.postMessage"))
    await slack.command("/imagine-med-series", f"{first}:2 CT of this patient")
    await slack.settle("chat.postMessage", before + 1)
    job = slack.job_of_status()
    info = slack.stack.queue.status(job)
    assert info.kind == "series" and info.spec["modality"] == "ct"
    assert info.prompt == "axial CT chest of the same patient"  # canonical, not as typed
    await asyncio.to_thread(slack.stack.work)
    await slack.deliver("files.completeUploadExternal", 2)
    files = slack.stack.queue.files(job)
    doc = json.loads(files["case.json"].read_text())
    parent = json.loads(slack.stack.queue.files(first)["case.json"].read_text())
    assert doc["series"]["series_id"] == parent["provenance"]["job_id"]
    assert doc["series"]["step"] == 2 and doc["series"]["relation"] == "same patient"
    assert doc["variants"][0]["seed"] == parent["variants"][1]["seed"]  # variant 2's patient
    (f,) = doc["variants"][0]["findings"]
    (g,) = parent["variants"][1]["findings"]
    assert (f["name"], f["laterality"], f["location"]) == (g["name"], g["laterality"],
                                                           g["location"])
    assert "grid.png" not in files  # one image: the patient, not four others


async def test_slack_series_refuses_unknown_requests(slack: SlackHarness) -> None:  # noqa: F811
    first = await slack.finished_job()
    await slack.command("/imagine-med-series", f"{first} make it purple")
    await slack.settle("chat.postEphemeral")
    assert "CT of this patient" in slack.mock.of("chat.postEphemeral")[-1].params["text"]
