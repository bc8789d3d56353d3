"""The Slack adapter in HTTP mode, against a local mock of Slack's Web API and the real queue.

Requests are signed as Slack signs them; the bolt app serves `/slack/events` on a local port;
a burst worker process renders with a small labelled test renderer.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from bot_mocks.harness import FORM, SECRET, SlackHarness
from bot_mocks.slack_api import (
    SlackMock,
    block_actions_body,
    sign,
    slash_body,
    view_submission_body,
)
from bot_mocks.stack import TEST_WATERMARK_KEY, make_stack

from imagine_med.bot import ids
from imagine_med.bot.ids import Action
from imagine_med.bot.slack_app import SlackBot, parse_settings_text
from imagine_med.queue import Requester

PROMPT = "PA chest x-ray, right upper lobe consolidation --seed 7"


class Harness(SlackHarness):
    async def command(self, command: str, text: str = "", user: str = "U1") -> None:
        status, _ = await self.post(slash_body(command, text, user=user,
                                               response_url=self.mock.response_url()))
        assert status == 200

    def job_of_status(self, call_index: int = -1) -> str:
        """The job id behind the Cancel button of a posted status message."""
        msg = self.mock.of("chat.postMessage")[call_index]
        cancel = [ids.decode(e["action_id"]) for b in msg.params["blocks"]
                  if b["type"] == "actions" for e in b["elements"]]
        assert cancel and cancel[0].action is Action.CANCEL
        return cancel[0].job_id

    async def finished_job(self) -> str:
        """Imagine PROMPT, render it, deliver it: the job id of a posted grid."""
        await self.command("/imagine-med", PROMPT)
        await self.settle("chat.postMessage")
        job = self.job_of_status()
        await asyncio.to_thread(self.stack.work)
        await self.deliver("files.completeUploadExternal")
        await self.settle("chat.postMessage", 2)
        return job

    def grid_ts(self) -> str:
        """The ts of the newest message holding an image block (a grid with its buttons)."""
        for call in reversed(self.mock.calls):
            if call.method == "chat.postMessage" and any(
                    b["type"] == "image" for b in call.params.get("blocks") or []):
                return str(call.answer["ts"])
        raise AssertionError("no grid posted")


@pytest.fixture
async def slack(redis_url: str, namespace: str, tmp_path: Path) -> AsyncIterator[Harness]:
    stack = make_stack(redis_url, namespace, tmp_path, moderators="slack:T1:user:UMOD",
                       moderation_channels="slack:T1:CMOD")
    mock = await SlackMock().start()
    bot = SlackBot(stack.core, token="xoxb-test", signing_secret=SECRET, api_url=mock.url)
    http = TestClient(TestServer(bot.web_app()))
    await http.start_server()
    try:
        yield Harness(stack, mock, bot, http)
    finally:
        await http.close()
        await mock.close()
        stack.close()


def _buttons(params: dict) -> list[str]:
    return [e["action_id"] for b in params.get("blocks") or [] if b["type"] == "actions"
            for e in b["elements"]]


async def test_slash_command_acks_before_the_work_and_queues_a_job(slack: Harness) -> None:
    slack.mock.gate = asyncio.Event()  # the Web API hangs until we let it go
    t0 = time.monotonic()
    status, body = await asyncio.wait_for(slack.post(slash_body(
        "/imagine-med", PROMPT, response_url=slack.mock.response_url())), timeout=3)
    assert status == 200 and body == ""  # the ack, sent while chat.postMessage still hangs
    assert time.monotonic() - t0 < 3.0
    await slack.settle("chat.postMessage")  # the handler reached Slack only after the ack
    slack.mock.gate.set()
    await asyncio.sleep(0.2)
    msg = slack.mock.of("chat.postMessage")[0]
    assert msg.token == "xoxb-test" and msg.params["channel"] == "C1"
    assert "<@U1> Queued (#1 in line)" in msg.params["text"]
    assert "interpreted as: PA chest X-ray · consolidation (right, RUL) · 512x512 · seed 7" in (
        msg.params["text"])
    job_id = slack.job_of_status()
    info = slack.stack.queue.status(job_id)
    assert info is not None and info.status == "queued" and info.user == "U1"
    assert info.platform == "slack" and info.channel == "C1"


async def test_result_upload_then_buttons_upscale_cancel_answer_refine(slack: Harness) -> None:
    job = await slack.finished_job()
    methods = slack.mock.methods()
    i = methods.index("files.getUploadURLExternal")
    assert methods[i:i + 4] == ["files.getUploadURLExternal", "upload",
                                "files.completeUploadExternal", "chat.postMessage"]
    get_url, upload, complete, buttons = slack.mock.calls[i:i + 4]
    assert get_url.params["alt_txt"].startswith("Synthetic teaching image (not a real patient)")
    assert "consolidation (right, RUL)" in get_url.params["alt_txt"]
    assert upload.body[:8] == b"\x89PNG\r\n\x1a\n" and int(get_url.params["length"]) == len(
        upload.body)
    # one message, as on Discord: the text, the uploaded (unshared) file in an image block,
    # the buttons
    assert "channel_id" not in complete.params and "initial_comment" not in complete.params
    assert complete.params["files"][0]["id"] == upload.params["file_id"]
    assert buttons.params["channel"] == "C1"
    kinds = [b["type"] for b in buttons.params["blocks"]]
    assert kinds.index("image") < kinds.index("actions")
    image = next(b for b in buttons.params["blocks"] if b["type"] == "image")
    assert image["slack_file"] == {"id": upload.params["file_id"]}
    assert image["alt_text"].startswith("Synthetic teaching image (not a real patient)")
    text = buttons.params["text"]
    assert "interpreted as: PA chest X-ray · consolidation (right, RUL)" in text
    assert f"job `{job[:8]}`" in text
    decoded = [ids.decode(a) for a in _buttons(buttons.params)]
    assert [(d.action, d.index) for d in decoded[:8]] == (
        [(Action.UPSCALE, i) for i in range(1, 5)] + [(Action.VARY, i) for i in range(1, 5)])
    assert {d.action for d in decoded[8:]} == {Action.REROLL, Action.REFINE, Action.ANSWER,
                                        Action.DICOM}
    assert all(d.job_id == job for d in decoded)
    # the status message is removed once the grid is up, and the post is recorded once
    assert slack.mock.of("chat.delete")[0].params["channel"] == "C1"
    assert slack.stack.queue.posted(job, "slack") is not None
    before = len(slack.mock.calls)
    slack.stack.queue.redis.xgroup_setid(slack.stack.queue.keys.events("slack"), "bot-slack",
                                         "0")  # replay the whole stream, as after a crash
    for _ in range(5):
        await slack.loop.run_once(block_ms=50)
    assert "files.completeUploadExternal" not in slack.mock.methods()[before:]

    # the buttons: U2 by another user is a new upscale job that belongs to the clicker
    status, _ = await slack.post(block_actions_body(ids.encode(Action.UPSCALE, job, 2),
                                                    user="U2"))
    assert status == 200
    await slack.settle("chat.postMessage", 3)
    up = slack.job_of_status()
    info = slack.stack.queue.status(up)
    assert info is not None and info.kind == "upscale" and info.user == "U2"
    assert info.params["variant"] == 2 and info.params["scale"] == 2
    assert "Upscale 2x of variant 2" in slack.mock.of("chat.postMessage")[-1].params["text"]

    # Cancel by someone else: refused, privately; by the owner: the message changes
    await slack.post(block_actions_body(ids.encode(Action.CANCEL, up), user="U3"))
    await slack.settle("chat.postEphemeral")
    refusal = slack.mock.of("chat.postEphemeral")[-1].params
    assert refusal["user"] == "U3" and "can cancel it" in refusal["text"]
    await slack.post(block_actions_body(ids.encode(Action.CANCEL, up), user="U2",
                                        message_ts="111.222"))
    await slack.settle("chat.update")
    upd = slack.mock.of("chat.update")[-1].params
    assert upd["ts"] == "111.222" and "Cancelled." in upd["text"] and not _buttons(upd)
    assert slack.stack.queue.status(up).status == "cancelled"  # type: ignore[union-attr]

    # Answer key: ephemeral findings, overlay image by direct message
    n_eph = len(slack.mock.of("chat.postEphemeral"))
    await slack.post(block_actions_body(ids.encode(Action.ANSWER, job, 3), user="U4"))
    await slack.settle("chat.postEphemeral", n_eph + 1)
    key = slack.mock.of("chat.postEphemeral")[-1].params
    assert key["user"] == "U4" and "Answer key for variant 3" in key["text"]
    assert "consolidation" in key["text"]
    await slack.settle("files.completeUploadExternal", 2)
    assert slack.mock.of("conversations.open")[-1].params["users"] == "U4"
    assert slack.mock.of("files.completeUploadExternal")[-1].params["channel_id"] == "DU4"

    # Refine: a modal prefilled with the prompt for its owner only; submitting it queues a
    # refine job that belongs to whoever submitted it
    await slack.post(block_actions_body(ids.encode(Action.REFINE, job, 0), user="U1"))
    await slack.settle("views.open")
    own = slack.mock.of("views.open")[0].params["view"]
    assert own["blocks"][0]["element"]["initial_value"] == PROMPT
    await slack.post(block_actions_body(ids.encode(Action.REFINE, job, 0), user="U2"))
    await slack.settle("views.open", 2)
    view = slack.mock.of("views.open")[1].params["view"]
    assert view["callback_id"] == ids.encode(Action.REFINE, job, 0)
    assert "initial_value" not in view["blocks"][0]["element"]
    assert "upper lobe" not in json.dumps(view)  # nothing of the owner's prompt
    n_posts = len(slack.mock.of("chat.postMessage"))
    await slack.post(view_submission_body(view["callback_id"], {
        "prompt": PROMPT.replace("--seed 7", "") + ", left pleural effusion", "variant": "4"}))
    await slack.settle("chat.postMessage", n_posts + 1)
    refined = slack.stack.queue.status(slack.job_of_status())
    assert refined is not None and refined.kind == "refine" and refined.params["variant"] == 4
    names = [f["name"] for f in refined.spec["findings"]]  # type: ignore[index]
    assert names == ["consolidation", "pleural_effusion"]




async def test_progress_edits_while_rendering(slack: Harness) -> None:
    await slack.command("/imagine-med", "PA chest x-ray, left pleural effusion slow")
    await slack.settle("chat.postMessage")
    status_ts = slack.mock.of("chat.postMessage")[0]
    assert "ignored: slow" in status_ts.params["text"]
    worker = asyncio.create_task(asyncio.to_thread(slack.stack.work))
    while not worker.done():
        await slack.loop.run_once(block_ms=100)
    await worker
    await slack.deliver("files.completeUploadExternal")
    updates = [c.params["text"] for c in slack.mock.of("chat.update")]
    assert updates, slack.mock.methods()
    assert all("Rendering" in u and "%" in u for u in updates)
    assert all(_buttons(c.params) and ids.decode(_buttons(c.params)[0]).action is Action.CANCEL
               for c in slack.mock.of("chat.update"))
    # the edits come before the result
    methods = slack.mock.methods()
    assert max(i for i, m in enumerate(methods) if m == "chat.update") < methods.index(
        "files.completeUploadExternal")


async def test_bad_signature_is_rejected_without_side_effects(slack: Harness) -> None:
    body = slash_body("/imagine-med", PROMPT)
    status, _ = await slack.post(body, secret="not-the-secret")
    assert status == 401
    stale = {**sign(SECRET, body, timestamp=int(time.time()) - 3600), **FORM}
    r = await slack.http.post("/slack/events", data=body, headers=stale)
    assert r.status == 401  # a replayed (old) request, correctly signed, is refused too
    await asyncio.sleep(0.2)
    assert slack.mock.calls == []


async def test_bad_prompt_answers_only_the_user(slack: Harness) -> None:
    await slack.command("/imagine-med", "chest x-ray --modality ct")
    await slack.settle("chat.postEphemeral")
    eph = slack.mock.of("chat.postEphemeral")[0].params
    assert eph["user"] == "U1"
    assert "--modality says ct" in eph["text"] and "Traceback" not in eph["text"]
    assert not slack.mock.of("chat.postMessage")


async def test_settings_and_info(slack: Harness) -> None:
    await slack.command("/imagine-med-settings", "modality=ct size=768")
    await slack.settle("chat.postEphemeral")
    assert "modality: ct; size: 768" in slack.mock.of("chat.postEphemeral")[0].params["text"]
    await slack.command("/imagine-med-settings", "scope=channel modality=mri")
    await slack.settle("chat.postEphemeral", 2)
    assert "Only moderators" in slack.mock.of("chat.postEphemeral")[1].params["text"]
    # the default applies where the prompt does not decide the modality
    await slack.command("/imagine-med", "chest, lung nodule")
    await slack.settle("chat.postMessage")
    assert "chest CT" in slack.mock.of("chat.postMessage")[0].params["text"]
    assert "768x768" in slack.mock.of("chat.postMessage")[0].params["text"]
    await slack.command("/imagine-med-info")
    await slack.settle("chat.postEphemeral", 3)
    info = slack.mock.of("chat.postEphemeral")[2].params["text"]
    assert "1 job waiting" in info and "#1 in line" in info


async def test_moderation_block_hold_approve_reject(slack: Harness) -> None:
    await slack.command("/imagine-med", "PA chest x-ray of Barack Obama")
    await slack.settle("chat.postEphemeral")
    blocked = slack.mock.of("chat.postEphemeral")[0].params
    assert blocked["user"] == "U1" and "public figures" in blocked["text"]
    assert not slack.mock.of("chat.postMessage")

    held_prompt = "PA chest x-ray, make it look like a real scan"
    await slack.command("/imagine-med", held_prompt)
    await slack.command("/imagine-med", held_prompt)
    await slack.settle("chat.postMessage", 2)
    notices = slack.mock.of("chat.postEphemeral")[1:]
    assert all("held for review by a moderator" in n.params["text"] for n in notices)
    reviews = slack.mock.of("chat.postMessage")
    assert all(r.params["channel"] == "CMOD" for r in reviews)  # nothing public in C1
    first, second = (ids.decode(_buttons(r.params)[0]).job_id for r in reviews)
    assert [ids.decode(b).action for b in _buttons(reviews[0].params)] == [Action.APPROVE,
                                                                        Action.REJECT]
    assert slack.stack.queue.status(first).status == "held"  # type: ignore[union-attr]

    await slack.post(block_actions_body(ids.encode(Action.APPROVE, first), user="U2",
                                        channel="CMOD"))
    await slack.settle("chat.postEphemeral", 4)
    assert "Only moderators" in slack.mock.of("chat.postEphemeral")[-1].params["text"]
    await slack.post(block_actions_body(ids.encode(Action.APPROVE, first), user="UMOD",
                                        channel="CMOD", message_ts="5.5"))
    await slack.settle("chat.update")
    assert "Approved by <@UMOD>" in slack.mock.of("chat.update")[0].params["text"]
    assert slack.stack.queue.status(first).status == "queued"  # type: ignore[union-attr]

    await slack.post(block_actions_body(ids.encode(Action.REJECT, second), user="UMOD",
                                        channel="CMOD"))
    await slack.settle("views.open")
    form = slack.mock.of("views.open")[0].params["view"]
    await slack.post(view_submission_body(form["callback_id"], {"reason": "not for teaching"},
                                          user="UMOD", channel="CMOD"))
    for _ in range(100):
        if slack.stack.queue.status(second).status == "cancelled":  # type: ignore[union-attr]
            break
        await asyncio.sleep(0.02)
    assert slack.stack.queue.status(second).error == (  # type: ignore[union-attr]
        "Rejected by a moderator: not for teaching")
    service = slack.stack.core.jobs.moderation  # type: ignore[attr-defined]
    assert service.pending() == []  # both decisions are on the moderation record
    # the delivery loop tells the requester, privately, why
    n = len(slack.mock.of("chat.postEphemeral"))
    await slack.deliver("chat.postEphemeral", n + 1)
    told = slack.mock.of("chat.postEphemeral")[-1].params
    assert told["user"] == "U1" and "not for teaching" in told["text"]


def test_settings_text_parsing() -> None:
    assert parse_settings_text("scope=channel modality=ct dm=yes") == (
        "channel", {"modality": "ct", "dm_results": "yes"}, [])
    assert parse_settings_text("modality ct")[2] == ["modality", "ct"]


def test_block_kit_limits() -> None:
    from imagine_med.bot.reply import Reply, grid_rows
    from imagine_med.bot.slack_render import blocks

    out = blocks(Reply("x" * 7000, rows=grid_rows("j1")))
    sections = [b for b in out if b["type"] == "section"]
    assert len(sections) == 3 and all(len(b["text"]["text"]) <= 3000 for b in sections)
    actions = [b for b in out if b["type"] == "actions"]
    assert len({b["block_id"] for b in actions}) == len(actions) == 3
    assert json.dumps(out)  # serialisable as Slack requires


async def test_imagine_med_slack_http_command_serves_slack_events(
        redis_url: str, namespace: str, tmp_path: Path) -> None:
    """`imagine-med slack --http --port N` as a process: bolt's /slack/events, SLACK_API_URL."""
    import socket
    import subprocess
    import sys

    stack = make_stack(redis_url, namespace, tmp_path)
    mock = await SlackMock().start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**stack.env, "SLACK_BOT_TOKEN": "xoxb-cli", "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": mock.url, "IMAGINE_MED_WATERMARK_KEY": TEST_WATERMARK_KEY}
    env.pop("SLACK_APP_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagine_med.cli", "slack", "--http", "--host", "127.0.0.1",
         "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        import aiohttp

        body = slash_body("/imagine-med", PROMPT, response_url=mock.response_url())
        async with aiohttp.ClientSession() as session:
            for _ in range(300):  # the process imports and connects first
                try:
                    async with session.post(f"http://127.0.0.1:{port}/slack/events",
                                            data=body, headers={**sign(SECRET, body), **FORM}
                                            ) as r:
                        assert r.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the slack command never listened")
        for _ in range(200):
            if mock.of("chat.postMessage"):
                break
            await asyncio.sleep(0.05)
        post = mock.of("chat.postMessage")[0]
        assert post.token == "xoxb-cli" and "Queued (#1 in line)" in post.params["text"]
        assert "interpreted as: PA chest X-ray · consolidation (right, RUL)" in post.params["text"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        await mock.close()
        stack.close()
    assert proc.returncode is not None


async def test_show_dm_results_auto_answer_key_and_allow_list(slack: Harness) -> None:
    await slack.command("/imagine-med-settings", "dm=yes answer_key=yes")
    await slack.settle("chat.postEphemeral")
    await slack.command("/imagine-med", PROMPT)
    await slack.settle("chat.postMessage")
    job = slack.job_of_status()
    await asyncio.to_thread(slack.stack.work)
    await slack.deliver("files.completeUploadExternal", 2)  # the grid, then the answer overlay
    grid, overlay = slack.mock.of("files.completeUploadExternal")[:2]
    posted = [c for c in slack.mock.of("chat.postMessage") if c.params["channel"] == "DU1"]
    assert posted and any(b["type"] == "image" for b in posted[0].params["blocks"])  # by DM
    assert grid.params["files"][0]["id"] == next(
        b for b in posted[0].params["blocks"] if b["type"] == "image")["slack_file"]["id"]
    assert overlay.params["channel_id"] == "DU1" and "Answer key" in overlay.params[
        "initial_comment"]
    assert "consolidation" in slack.mock.of("chat.postEphemeral")[-1].params["text"]

    # /imagine-med-show re-posts the job, with its buttons, where it is asked for
    await slack.command("/imagine-med-show", f"job:{job}", user="U7")
    await slack.settle("files.completeUploadExternal", 3)
    await slack.settle("chat.postMessage", 3)
    shown = slack.mock.of("chat.postMessage")[-1].params
    assert shown["channel"] == "C1" and any(b["type"] == "image" for b in shown["blocks"])
    assert {ids.decode(b).job_id for b in _buttons(shown)} == {job}
    await slack.command("/imagine-med-show", "nope", user="U7")
    await slack.settle("chat.postEphemeral", 3)
    assert "No job 'nope'" in slack.mock.of("chat.postEphemeral")[-1].params["text"]

    # a channel outside the allow-list gets a private explanation and nothing else
    slack.stack.core.config.allowed_channels = frozenset({"C9"})
    n = len(slack.mock.of("chat.postMessage"))
    await slack.command("/imagine-med", PROMPT)
    await slack.settle("chat.postEphemeral", 4)
    assert "not enabled in this channel" in slack.mock.of("chat.postEphemeral")[-1].params["text"]
    assert len(slack.mock.of("chat.postMessage")) == n


async def test_internal_failures_never_reach_the_channel(slack: Harness) -> None:
    import redis

    from imagine_med.queue.scripts import Scripts

    q = slack.stack.queue
    real = q.redis, q.scripts
    q.redis = redis.Redis(host="127.0.0.1", port=1, decode_responses=True,
                          socket_connect_timeout=0.2)  # Redis is gone
    q.scripts = Scripts(q.redis)
    try:
        await slack.command("/imagine-med-show", "0123456789abcdef")
        await slack.command("/imagine-med", PROMPT)
        await slack.settle("chat.postEphemeral", 2)
    finally:
        q.redis, q.scripts = real
    texts = [c.params["text"] for c in slack.mock.of("chat.postEphemeral")]
    assert not slack.mock.of("chat.postMessage")
    for text in texts:
        assert "Traceback" not in text and "ConnectionError" not in text
    show, imagine = texts  # an unexpected failure: a reference, logged with its traceback
    assert "Something went wrong on our side" in show and "(reference " in show
    assert imagine.startswith("The job queue is not reachable right now")  # a known one
    assert "Nothing was queued" in imagine


async def test_channel_the_bot_is_not_in_withdraws_the_job(slack: Harness) -> None:
    slack.mock.fail["chat.postMessage"] = "not_in_channel"
    await slack.command("/imagine-med", PROMPT)
    await slack.settle("chat.postEphemeral")
    told = slack.mock.of("chat.postEphemeral")[0].params["text"]
    assert "Invite me first" in told
    jobs = slack.stack.queue.user_jobs(Requester("slack", "U1", team="T1"))
    assert [j.status for j in jobs] == ["cancelled"]  # it will not run for nobody to see


async def test_socket_mode_receives_a_slash_command(slack: Harness) -> None:
    handler = slack.bot.socket_mode_handler("xapp-test")
    await handler.connect_async()
    try:
        opened = slack.mock.of("apps.connections.open")[0]
        assert opened.token == "xapp-test"  # the app-level token, at SLACK_API_URL
        payload = dict(urllib.parse.parse_qsl(slash_body("/imagine-med", PROMPT)))
        await slack.mock.outbox.put({"envelope_id": "env-1", "type": "slash_commands",
                                     "accepts_response_payload": True, "payload": payload})
        await slack.settle("chat.postMessage")
        assert [a["envelope_id"] for a in slack.mock.acks] == ["env-1"]  # acknowledged
        assert "Queued (#1 in line)" in slack.mock.of("chat.postMessage")[0].params["text"]
    finally:
        await handler.close_async()


async def test_verify_a_shared_file(slack: Harness, tmp_path: Path) -> None:
    from bot_mocks.renderer import render_locally

    case = render_locally(tmp_path / "case", "PA chest x-ray, left pleural effusion --seed 5")
    slack.mock.files["F0VARIANT3"] = ("variant-3.png", case["variant-3.png"].read_bytes())
    await slack.command("/imagine-med-verify",
                        "https://mock.slack.com/files/U1/F0VARIANT3/variant-3.png")
    await slack.command("/imagine-med-verify", "this one")
    await slack.settle("chat.postEphemeral", 2)
    texts = sorted(c.params["text"] for c in slack.mock.of("chat.postEphemeral"))
    assert texts[0].startswith("Give the image's link or file id")
    assert texts[1].startswith("variant-3.png: MARKED synthetic (imagine-med)")
    assert "variant 3" in texts[1]
    assert slack.mock.of("download")[0].token == "xoxb-test"


async def test_cancel_a_running_job(slack: Harness) -> None:
    await slack.command("/imagine-med", "PA chest x-ray, left pleural effusion slow")
    await slack.settle("chat.postMessage")
    job = slack.job_of_status()
    worker = asyncio.create_task(asyncio.to_thread(slack.stack.work))
    for _ in range(600):  # until the worker has it
        info = slack.stack.queue.status(job)
        if info is not None and info.status == "running":
            break
        await asyncio.sleep(0.05)
    await slack.post(block_actions_body(ids.encode(Action.CANCEL, job), user="U1",
                                        message_ts="9.9"))
    await slack.settle("chat.update")
    first = slack.mock.of("chat.update")[0].params
    assert first["ts"] == "9.9" and "Cancelling…" in first["text"] and not _buttons(first)
    await worker
    assert slack.stack.queue.status(job).status == "cancelled"  # type: ignore[union-attr]
    n = len(slack.mock.of("chat.update"))
    await slack.deliver("chat.update", n + 1)  # the stream's "cancelled" settles the message
    assert "Cancelled" in slack.mock.of("chat.update")[-1].params["text"]
    assert not slack.mock.of("files.completeUploadExternal")  # no result for a cancelled job


PINGS = ("<!channel>", "<!here>", "<@U999>", "<!subteam^S1|team>")
FAKE = "*SYSTEM: auto-approved*"


def _sections(params: dict, kind: str) -> list[str]:
    return [b["text"]["text"] for b in params.get("blocks") or []
            if b["type"] == "section" and b["text"]["type"] == kind]


async def test_no_pings_or_fake_notices_from_user_text(slack: Harness) -> None:
    held = f"PA chest x-ray, make it look like a real scan {' '.join(PINGS)} {FAKE}"
    await slack.command("/imagine-med", held)
    await slack.settle("chat.postMessage")
    await slack.settle("chat.postEphemeral")
    review = slack.mock.of("chat.postMessage")[0].params
    assert review["channel"] == "CMOD"
    for call in (review, slack.mock.of("chat.postEphemeral")[0].params):
        sent = json.dumps(call)
        assert not any(p in sent for p in PINGS), sent  # text, blocks: nowhere
    escaped = held.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in _sections(review, "plain_text")  # the prompt, as typed
    assert not any("SYSTEM" in t for t in _sections(review, "mrkdwn"))  # never bold
    assert "SYSTEM" not in review["text"].replace(escaped, "")

    # the moderator's reason reaches the requester as typed too
    job = ids.decode(_buttons(review)[0]).job_id
    await slack.post(view_submission_body(ids.encode(Action.REJECT, job), {
        "reason": f"{FAKE} <!here>"}, user="UMOD", channel="CMOD"))
    await slack.settle("chat.postMessage", 2)
    verdict = slack.mock.of("chat.postMessage")[1].params
    assert "<!here>" not in json.dumps(verdict)
    assert "Reason: *SYSTEM: auto-approved* &lt;!here&gt;" in _sections(verdict, "plain_text")
    n = len(slack.mock.of("chat.postEphemeral"))
    await slack.deliver("chat.postEphemeral", n + 1)
    told = slack.mock.of("chat.postEphemeral")[-1].params
    assert told["user"] == "U1" and "<!here>" not in json.dumps(told)
    assert any("&lt;!here&gt;" in t for t in _sections(told, "plain_text"))

    # a queued job's status pings its owner, and only its owner
    await slack.command("/imagine-med", f"PA chest x-ray, left pleural effusion {PINGS[0]}")
    await slack.settle("chat.postMessage", 3)
    status = slack.mock.of("chat.postMessage")[2].params
    assert status["channel"] == "C1" and status["text"].startswith("<@U1> Queued")
    assert _sections(status, "mrkdwn")[0].startswith("<@U1> Queued")
    assert "ignored: channel" in _sections(status, "plain_text")
    assert PINGS[0] not in json.dumps(status)


async def test_ten_held_prompts_exhaust_the_limit(slack: Harness) -> None:
    for i in range(10):
        await slack.command("/imagine-med", f"PA chest x-ray, make it look like a real scan "
                                            f"--seed {i}")
    await slack.settle("chat.postEphemeral", 10)
    me = Requester("slack", "U1", team="T1")
    assert [j.status for j in slack.stack.queue.user_jobs(me, active_only=True)] == (
        ["held"] * 10)
    await slack.command("/imagine-med", PROMPT)  # even an innocent prompt must wait now
    await slack.settle("chat.postEphemeral", 11)
    refusal = slack.mock.of("chat.postEphemeral")[-1].params["text"]
    assert "10 jobs waiting for a moderator's review" in refusal
    assert len(slack.stack.queue.user_jobs(me, active_only=True)) == 10
    # the moderators' channel got a capped number of posts (5 per person per hour)
    posts = slack.mock.of("chat.postMessage")
    assert len(posts) == 5 and {p.params["channel"] for p in posts} == {"CMOD"}
    # another person is not affected
    await slack.command("/imagine-med", PROMPT, user="U2")
    await slack.settle("chat.postMessage", 6)
    assert slack.mock.of("chat.postMessage")[-1].params["channel"] == "C1"


async def test_rate_limits_per_person_and_per_channel(slack: Harness) -> None:
    from imagine_med.bot.ratelimit import Rate

    config = slack.stack.core.config
    config.rate_user, config.rate_channel = Rate(3, 600), Rate(5, 600)
    for _ in range(4):
        await slack.command("/imagine-med", PROMPT, user="U1")
    await slack.settle("chat.postMessage", 3)
    await slack.settle("chat.postEphemeral")
    slow = slack.mock.of("chat.postEphemeral")[0].params
    assert slow["user"] == "U1" and slow["text"].startswith(
        "Slow down: imagine-med takes at most 3 commands per 10 minutes per person and 5 "
        "commands per 10 minutes per channel. Try again in ")
    for _ in range(3):  # the channel has 2 commands left
        await slack.command("/imagine-med", PROMPT, user="U2")
    await slack.settle("chat.postEphemeral", 2)
    assert slack.mock.of("chat.postEphemeral")[1].params["user"] == "U2"
    await slack.post(slash_body("/imagine-med", PROMPT, user="U2", channel="C2"))
    await slack.settle("chat.postMessage", 6)  # U2's refused command cost them nothing
    assert sorted(c.params["channel"] for c in slack.mock.of("chat.postMessage")) == (
        ["C1"] * 5 + ["C2"])  # posts of different commands may arrive in any order


async def test_show_only_where_its_owner_could_see_it(slack: Harness) -> None:
    job = await slack.finished_job()
    uploads = len(slack.mock.of("files.completeUploadExternal"))
    refusals = [
        ("U7", "C2", "T1", "made in another channel"),  # someone else, elsewhere
        ("U1", "C1", "T2", f"No job '{job}'"),  # another workspace does not know it
    ]
    for user, channel, team, _ in refusals:
        await slack.post(slash_body("/imagine-med-show", f"job:{job}", user=user,
                                    channel=channel, team=team))
    await slack.settle("chat.postEphemeral", 2)
    for call, (user, channel, _, says) in zip(slack.mock.of("chat.postEphemeral"), refusals,
                                              strict=True):
        assert (call.params["user"], call.params["channel"]) == (user, channel)
        assert says in call.params["text"]
    # its owner may show it anywhere: posted there, pinging nobody
    posts = len(slack.mock.of("chat.postMessage"))
    await slack.post(slash_body("/imagine-med-show", f"job:{job}", user="U1", channel="C2"))
    await slack.settle("files.completeUploadExternal", uploads + 1)
    await slack.settle("chat.postMessage", posts + 1)
    shown = slack.mock.of("chat.postMessage")[-1].params
    assert shown["channel"] == "C2" and f"job `{job[:8]}`" in shown["text"]
    assert "<@U1>" not in json.dumps(shown["blocks"])
    # not in a channel outside the allow-list, not even its owner
    slack.stack.core.config.allowed_channels = frozenset({"C1"})
    await slack.post(slash_body("/imagine-med-show", f"job:{job}", user="U1", channel="C2"))
    await slack.settle("chat.postEphemeral", 3)
    assert "not enabled in this channel" in slack.mock.of("chat.postEphemeral")[-1].params[
        "text"]
    assert len(slack.mock.of("files.completeUploadExternal")) == uploads + 1


async def test_moderators_by_channel_membership_in_their_workspace(slack: Harness) -> None:
    from imagine_med.bot.access import Grant

    config = slack.stack.core.config
    config.moderators = frozenset({Grant.parse("slack:T1:channel:CMODS")})
    slack.mock.members["CMODS"] = ["U5", "U6", "U8"]
    await slack.command("/imagine-med", PROMPT)
    await slack.settle("chat.postMessage")
    job = slack.job_of_status()
    await slack.post(block_actions_body(ids.encode(Action.CANCEL, job), user="U4"))
    await slack.settle("chat.postEphemeral")
    assert "can cancel it" in slack.mock.of("chat.postEphemeral")[0].params["text"]
    await slack.post(block_actions_body(ids.encode(Action.CANCEL, job), user="U8",
                                        message_ts="7.7"))
    await slack.settle("chat.update")
    assert "Cancelled by a moderator." in slack.mock.of("chat.update")[0].params["text"]
    assert slack.stack.queue.status(job).status == "cancelled"  # type: ignore[union-attr]
    pages = [c.params.get("cursor") for c in slack.mock.of("conversations.members")]
    assert pages == [None, "page-2"]  # asked once (then cached), every page read


# ---- images in (issue 24) -----------------------------------------------------------------

async def test_an_uploaded_image_of_ours_becomes_a_refine_of_its_job(slack: Harness) -> None:
    job = await slack.finished_job()
    png = slack.stack.queue.files(job)["variant-2.png"].read_bytes()
    slack.mock.files["F0OURS0002"] = ("from-the-channel.png", png)
    n = len(slack.mock.of("chat.postMessage"))
    await slack.command("/imagine-med", "PA chest x-ray, right upper lobe consolidation, left "
                        "pleural effusion --image <https://mock.slack.com/files/U1/F0OURS0002/"
                        "from-the-channel.png>")
    await slack.settle("chat.postMessage", n + 1)
    status = slack.mock.of("chat.postMessage")[n]
    assert "Refine of variant 2" in status.params["text"], status.params
    refined = slack.stack.queue.status(slack.job_of_status(n))
    assert refined is not None and refined.kind == "refine" and refined.user == "U1"
    assert refined.params["parent_id"] == job and refined.params["variant"] == 2
    assert [f["name"] for f in refined.spec["findings"]] == ["consolidation", "pleural_effusion"]
    assert slack.mock.of("download")[0].token == "xoxb-test"


async def test_a_sketch_shared_with_the_command_becomes_a_matching_chest_film(
        slack: Harness) -> None:
    import numpy as np
    from PIL import Image
    from sketches import chest_sketch, png_bytes

    from imagine_med.engine.phantom.sketch import parse_sketch

    sketch = png_bytes(chest_sketch(384))
    slack.mock.files["F0SKETCH01"] = ("sketch.png", sketch)  # dragged into the channel
    await slack.command("/imagine-med", "PA chest x-ray --size 256 --image")
    await slack.settle("chat.postMessage")
    listed = slack.mock.of("files.list")[0].params
    assert listed["channel"] == "C1" and listed["user"] == "U1"
    job = slack.job_of_status()
    await asyncio.to_thread(slack.stack.work)
    info = slack.stack.queue.status(job)
    assert info is not None and info.status == "done" and info.spec["region"] == "sketch"
    files = slack.stack.queue.files(job)
    drawn = np.asarray(Image.fromarray(parse_sketch(sketch)).resize((256, 256), Image.NEAREST))
    for i in range(1, 5):
        written = np.asarray(Image.open(files[f"variant-{i}.labels.png"]))[:256]
        for label in np.unique(drawn):
            a, b = drawn == label, written == label
            assert (a & b).sum() / (a | b).sum() >= 0.9, (i, int(label))


async def test_real_patient_images_are_refused_privately(slack: Harness) -> None:
    from uploads import bomb_png, burned_in, dicom_with_patient

    from tests.tooling import need_program

    need_program("tesseract", "tesseract-ocr")
    cases = [("F0DICOM001", "scan.dcm", dicom_with_patient(), "PatientName"),
             ("F0BURNED01", "scan.png", burned_in("DOE, JOHN 12/03/1961"),
              "Text is burned into this image"),
             ("F0BOMB0001", "bomb.png", bomb_png(20000), "20000x20000 pixels")]
    for n, (fid, name, data, why) in enumerate(cases, start=1):
        slack.mock.files[fid] = (name, data)
        await slack.command("/imagine-med", f"PA chest x-ray --image {fid}")
        await slack.settle("chat.postEphemeral", n)
        text = slack.mock.of("chat.postEphemeral")[-1].params["text"]
        assert why in text and "DOE" not in text
    assert not slack.mock.of("chat.postMessage")  # nothing public, nothing queued
    assert not slack.stack.queue.list_jobs()


async def test_u2_goes_in_a_thread_under_the_grid(slack: Harness) -> None:
    job = await slack.finished_job()
    grid = slack.grid_ts()
    n = len(slack.mock.of("chat.postMessage"))
    await slack.post(block_actions_body(ids.encode(Action.UPSCALE, job, 2), user="U2",
                                        message_ts=grid))
    await slack.settle("chat.postMessage", n + 1)
    status = slack.mock.of("chat.postMessage")[n]
    assert status.params["thread_ts"] == grid and "Upscale 2x of variant 2" in (
        status.params["text"])
    up = slack.job_of_status(n)
    await asyncio.to_thread(slack.stack.work)
    await slack.deliver("chat.postMessage", n + 2)
    result = slack.mock.of("chat.postMessage")[n + 1]
    assert result.params["thread_ts"] == grid  # the U2 result, in the grid's thread
    assert any(b["type"] == "image" for b in result.params["blocks"])
    assert f"job `{up[:8]}`" in result.params["text"]
    deleted = slack.mock.of("chat.delete")[-1].params  # its status message is gone
    assert deleted["ts"] == status.answer["ts"]
    # a button pressed on that result (inside the thread) keeps to the same thread
    m = len(slack.mock.of("chat.postMessage"))
    body = json.loads(urllib.parse.parse_qs(block_actions_body(
        ids.encode(Action.VARY, job, 1), user="U3", message_ts=result.answer["ts"]))[
        "payload"][0])
    body["message"]["thread_ts"] = grid
    await slack.post(urllib.parse.urlencode({"payload": json.dumps(body)}))
    await slack.settle("chat.postMessage", m + 1)
    assert slack.mock.of("chat.postMessage")[m].params["thread_ts"] == grid


async def test_short_ids_are_shown_and_accepted(slack: Harness) -> None:
    job = await slack.finished_job()
    status = slack.mock.of("chat.postMessage")[0].params["text"]
    assert f"job `{job[:8]}`" in status and job not in status
    n = len(slack.mock.of("chat.postMessage"))
    await slack.command("/imagine-med-show", f"job:{job[:8]}", user="U1")
    await slack.settle("chat.postMessage", n + 1)
    shown = slack.mock.of("chat.postMessage")[n].params
    assert {ids.decode(b).job_id for b in _buttons(shown)} == {job}
    # another workspace's job is not found by its short id
    await slack.post(slash_body("/imagine-med-show", f"job:{job[:8]}", team="T2",
                                channel="C9"))
    await slack.settle("chat.postEphemeral")
    assert "No job" in slack.mock.of("chat.postEphemeral")[-1].params["text"]
