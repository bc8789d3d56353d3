"""The Discord adapter: real discord.py objects built from interaction payloads shaped as
Discord documents them, talking to a local mock of Discord's REST API, over the real queue."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import numpy as np
import pytest
from bot_mocks.discord_api import (
    APP_ID,
    CHANNEL_B,
    CHANNEL_ID,
    GUILD_B,
    GUILD_ID,
    MANAGE_MESSAGES,
    DiscordMock,
    Place,
    Req,
    command,
    component,
    modal_submit,
)
from bot_mocks.harness import DiscordHarness
from bot_mocks.stack import Stack, make_stack
from PIL import Image

from imagine_med.bot import ids, text
from imagine_med.bot.delivery import DeliveryLoop
from imagine_med.bot.discord_app import DiscordBot, ImagineButton
from imagine_med.bot.ids import Action

PROMPT = "PA chest x-ray, right upper lobe consolidation --seed 7"
INTERPRETED = "interpreted as: PA chest X-ray · consolidation (right, RUL) · 512x512 · seed 7"
OWNER = "1700000000000000001"
OTHER = "1700000000000000002"
MOD_ROLE = "1350000000000000001"  # guild A's moderator role (configured below)
MOD_CHANNEL = "1300000000000000009"  # guild A's moderators' channel
GRID_ID = "1400000000000000000"  # the grid: the slash command's original response, edited


class Harness(DiscordHarness):
    def __init__(self, stack: Stack, mock: DiscordMock) -> None:
        super().__init__(stack, mock)
        self.bots: list[DiscordBot] = []

    async def start_bot(self) -> DiscordBot:
        """A fresh bot process, as after a restart: new client, new view store."""
        bot = DiscordBot(self.stack.core, sync_commands=False)
        await bot.client.login("bot-token")
        self.bots.append(bot)
        return bot

    def after_login(self) -> list[Req]:
        return [r for r in self.mock.requests if not r.path.startswith(("/users/@me",
                                                                        "/oauth2"))]

    async def imagine(self, bot: DiscordBot, prompt: str = PROMPT, **opts: object) -> str:
        bot.client._connection.parse_interaction_create(
            command("imagine-med", {"prompt": prompt, **opts}, user=OWNER, token="tok-cmd"))
        patch = (await self.until("PATCH", f"/webhooks/{APP_ID}/tok-cmd/messages/@original"))[0]
        return _custom_ids(patch.payload)[0].job_id

    async def deliver(self, bot: DiscordBot, passes: int = 8) -> None:
        loop = DeliveryLoop(self.stack.core, bot)
        for _ in range(passes):
            await loop.run_once(block_ms=50)


def _custom_ids(payload: dict) -> list[ids.ComponentId]:
    return [ids.decode(c["custom_id"]) for row in payload.get("components") or []
            for c in row["components"]]


@pytest.fixture
async def dc(redis_url: str, namespace: str, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    stack = make_stack(redis_url, namespace, tmp_path,
                       moderators=f"discord:{GUILD_ID}:role:{MOD_ROLE}",
                       moderation_channels=f"discord:{GUILD_ID}:{MOD_CHANNEL}")
    mock = await DiscordMock().start()
    monkeypatch.setattr(discord.http.Route, "BASE", mock.base)
    h = Harness(stack, mock)
    try:
        yield h
    finally:
        for bot in h.bots:
            await bot.client.close()
        await mock.close()
        stack.close()


async def test_defer_first_then_status_grid_and_dicom(dc: Harness) -> None:
    import zipfile

    import numpy as np
    import pydicom

    bot = await dc.start_bot()
    job = await dc.imagine(bot)
    first, status = dc.after_login()[:2]
    assert first.method == "POST" and first.path.endswith("/tok-cmd/callback")
    assert first.payload == {"type": 5}  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, public
    # no worker is live yet in this test (the burst worker runs below): the message says so
    assert status.payload["content"] == (
        f"<@{OWNER}> Queued (#1 in line). {text.NO_WORKER} · job `{job[:8]}`\n{INTERPRETED}")
    assert [(c.action, c.job_id) for c in _custom_ids(status.payload)] == [(Action.CANCEL, job)]

    await asyncio.to_thread(dc.stack.work)
    await dc.deliver(bot)
    edits = dc.mock.of("PATCH", f"/webhooks/{APP_ID}/tok-cmd/messages/1400000000000000000")
    assert len(edits) == 1  # the status message became the grid (token still valid)
    grid = edits[0]
    assert INTERPRETED in grid.payload["content"]
    assert f"job `{job[:8]}`" in grid.payload["content"]  # the short id
    assert grid.payload["allowed_mentions"] == {"parse": [], "users": [int(OWNER)]}
    assert grid.files == [(f"imagine-med-{job}.png", grid.files[0][1])]
    att = grid.payload["attachments"][0]
    assert att["description"].startswith("Synthetic teaching image (not a real patient)")
    cids = _custom_ids(grid.payload)
    assert [(c.action, c.index) for c in cids[:8]] == (
        [(Action.UPSCALE, i) for i in range(1, 5)] + [(Action.VARY, i) for i in range(1, 5)])
    assert {c.action for c in cids[8:]} == {Action.REROLL, Action.REFINE, Action.ANSWER,
                                        Action.DICOM}
    assert dc.stack.queue.posted(job, "discord") == f"{CHANNEL_ID}:1400000000000000000"
    assert not dc.mock.of("POST", "/channels")  # nothing posted with the bot token

    # DICOM: a worker converts the posted files (a `dicom` job of the clicker's), and the zip
    # of the chosen variant (+ its labels, case.json) reaches the clicker privately
    bot.client._connection.parse_interaction_create(
        component(ids.encode(Action.DICOM, job, 2), user=OTHER, token="tok-dcm"))
    told = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-dcm"))[0]
    assert told.payload["flags"] & 64 and "Preparing the DICOM of variant 2" in (
        told.payload["content"])
    assert not told.files  # the bot made nothing itself
    exports = [j for j in dc.stack.queue.list_jobs() if j.kind == "dicom"]
    assert [(j.params["parent_id"], j.params["variant"], j.user) for j in exports] == [
        (job, 2, OTHER)]
    await asyncio.to_thread(dc.stack.work)
    await dc.deliver(bot)
    dms = [r for r in dc.mock.of("POST", "/channels/") if r.files]
    assert len(dms) == 1 and "DICOM of variant 2" in dms[0].payload["content"]
    assert dms[0].files[0][0] == f"imagine-med-{job}-dicom-2.zip"
    with zipfile.ZipFile(io.BytesIO(dms[0].data[0])) as z:
        names = z.namelist()
        assert "variant-2.dcm" in names and "case.json" in names
        assert not any(n.startswith(("variant-1", "variant-3")) for n in names)
        dcm = z.read("variant-2.dcm")
    ds = pydicom.dcmread(io.BytesIO(dcm))
    png = dc.stack.queue.files(job)["variant-2.png"]
    assert np.array_equal(ds.pixel_array, np.asarray(Image.open(png).convert("L")))  # as posted
    assert str(ds.get("SyntheticData", "")) == "YES"
    from imagine_med.provenance.verify import verify_bytes

    from_dicom, from_png = verify_bytes(dcm), verify_bytes(png.read_bytes())
    assert from_dicom.marked and from_dicom.job_tag == from_png.job_tag  # one case, two forms
    await dc.deliver(bot)
    assert len([r for r in dc.mock.of("POST", "/channels/") if r.files]) == 1  # posted once


async def test_buttons_survive_a_restart_upscale_refine_answer(dc: Harness) -> None:
    bot = await dc.start_bot()
    job = await dc.imagine(bot)
    await asyncio.to_thread(dc.stack.work)
    await dc.deliver(bot)
    await bot.client.close()

    restarted = await dc.start_bot()  # nothing in memory knows the grid's buttons
    n = len(dc.mock.requests)
    restarted.client._connection.parse_interaction_create(
        component(ids.encode(Action.UPSCALE, job, 2), user=OTHER, token="tok-btn",
                  message_id=GRID_ID))
    # U2 starts a thread under the grid message (a thread takes its message's id), and its
    # status message goes there, with the bot token
    started = (await dc.until("POST", f"/channels/{CHANNEL_ID}/messages/{GRID_ID}/threads"))[0]
    assert started.payload["name"] == f"imagine-med job {job[:8]}"
    post = (await dc.until("POST", f"/channels/{GRID_ID}/messages"))[0]
    assert post.auth == "Bot bot-token"
    callback = dc.mock.requests[n]
    assert callback.path.endswith("/tok-btn/callback") and callback.payload == {"type": 6}
    assert post.payload["content"].startswith(f"<@{OTHER}> Upscale 2x of variant 2 — Queued")
    up = _custom_ids(post.payload)[0]
    assert up.action is Action.CANCEL and up.job_id != job
    info = dc.stack.queue.status(up.job_id)
    assert info is not None and info.kind == "upscale" and info.user == OTHER
    assert info.params["parent_id"] == job and info.params["variant"] == 2

    # Refine (a modal, which cannot follow a defer) and the answer key, on the restarted bot;
    # the prompt is prefilled for its owner only
    refine = ids.encode(Action.REFINE, job, 3)
    restarted.client._connection.parse_interaction_create(
        component(refine, user=OWNER, token="tok-own"))
    mine = await dc.callback("tok-own")
    assert mine.payload["type"] == 9 and mine.payload["data"]["custom_id"] == refine
    field = mine.payload["data"]["components"][0]["components"][0]
    assert field["custom_id"] == "prompt" and field["value"] == PROMPT
    restarted.client._connection.parse_interaction_create(component(refine, token="tok-ref"))
    modal = await dc.callback("tok-ref")
    assert modal.payload["type"] == 9 and modal.payload["data"]["custom_id"] == refine
    field = modal.payload["data"]["components"][0]["components"][0]
    assert field["custom_id"] == "prompt" and not field.get("value")
    assert "right upper lobe" not in json.dumps(modal.payload)  # nothing of the prompt
    restarted.client._connection.parse_interaction_create(modal_submit(
        refine, {"prompt": "PA chest x-ray, right upper lobe consolidation, "
                           "left pleural effusion"}, token="tok-sub"))
    status = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-sub/messages/@original"))[0]
    assert "Refine of variant 3" in status.payload["content"]
    refined = dc.stack.queue.status(_custom_ids(status.payload)[0].job_id)
    assert refined is not None and refined.kind == "refine"
    assert refined.params["variant"] == 3 and refined.user == OTHER

    restarted.client._connection.parse_interaction_create(
        component(ids.encode(Action.ANSWER, job, 2), token="tok-key"))
    key = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-key"))[0]
    assert key.payload["flags"] & 64
    assert "Answer key for variant 2" in key.payload["content"]
    assert "consolidation" in key.payload["content"]
    assert key.files and key.files[0][0].startswith("SPOILER_")

    # the upscale renders at 2x and comes back as one image with its own buttons
    await asyncio.to_thread(dc.stack.work)
    await dc.deliver(restarted)
    final = dc.stack.queue.status(up.job_id)
    assert final is not None and final.status == "done", final
    # the U2 result goes in the grid's thread; its status message there collapses to a line
    edit = [r for r in dc.mock.of("POST", f"/channels/{GRID_ID}/messages") if r.files][-1]
    assert edit.files and "Upscale 2x of variant 2" in edit.payload["content"]
    collapsed = dc.mock.of("PATCH", f"/channels/{GRID_ID}/messages/")[-1]
    assert collapsed.payload["content"].startswith("Done — the result is below")
    assert collapsed.payload["components"] == []
    cids = _custom_ids(edit.payload)
    assert cids[0] == ids.ComponentId(Action.UPSCALE4, job, 2)  # from the grid's variant 2
    assert ids.ComponentId(Action.VARY_STRONG, job, 2) in cids
    assert ids.ComponentId(Action.ANSWER, up.job_id, 1) in cids
    path = dc.stack.queue.files(up.job_id)["variant-1.png"]
    assert Image.open(path).width == 1024
    restarted.client._connection.parse_interaction_create(
        component(cids[0].encode(), user=OWNER, token="tok-4x"))
    await dc.until("POST", f"/channels/{GRID_ID}/messages", 3)  # the same thread again
    four = dc.mock.of("POST", f"/channels/{GRID_ID}/messages")[-1]
    assert dc.mock.of("POST", f"/channels/{CHANNEL_ID}/messages/{GRID_ID}/threads")[-1].path
    assert "Upscale 4x of variant 2 — Queued" in four.payload["content"]
    info4 = dc.stack.queue.status(_custom_ids(four.payload)[0].job_id)
    assert info4 is not None and info4.params["scale"] == 4
    assert info4.params["parent_id"] == job


def test_dynamic_item_template_parses_every_action() -> None:
    for action in Action:
        index = 3 if action in ids.INDEXED | ids.GRID_OR_INDEXED else 0
        cid = ids.encode(action, "f" * 32, index)
        match = ImagineButton.__discord_ui_compiled_template__.fullmatch(cid)
        assert match is not None and match["job"] == "f" * 32
        assert ids.decode(match.string) == ids.ComponentId(action, "f" * 32, index)


async def test_late_progress_and_result_use_the_bot_token_big_uploads_shrink(
        dc: Harness) -> None:
    dc.stack.core.config.discord_token_ttl_s = 0  # the interaction token has expired
    dc.stack.core.config.discord_upload_limit = 200_000  # the grid PNG is ~0.8 MB
    bot = await dc.start_bot()
    job = await dc.imagine(bot, PROMPT + " slow")
    loop = DeliveryLoop(dc.stack.core, bot)
    worker = asyncio.create_task(asyncio.to_thread(dc.stack.work))
    while not worker.done():  # deliver progress while it renders
        await loop.run_once(block_ms=100)
    await worker
    await dc.deliver(bot)
    status = f"/channels/{CHANNEL_ID}/messages/1400000000000000000"
    progress = [r for r in dc.mock.of("PATCH", status) if "Rendering" in r.payload["content"]]
    assert progress and all(r.auth == "Bot bot-token" for r in progress)
    assert all(_custom_ids(r.payload)[0].action is Action.CANCEL for r in progress)
    assert "ignored: slow" in progress[0].payload["content"]
    posts = dc.mock.of("POST", f"/channels/{CHANNEL_ID}/messages")
    assert len(posts) == 1 and posts[0].auth == "Bot bot-token"
    post = posts[0]
    name, size = post.files[0]
    assert name == f"imagine-med-{job}.jpg" and size <= 200_000
    assert "upload limit, so this is a JPEG" in post.payload["content"]
    assert INTERPRETED in post.payload["content"]
    # the old status message loses its Cancel button, edited with the bot token too
    old = dc.mock.of("PATCH", status)[-1]
    assert old.payload["components"] == [] and "result is below" in old.payload["content"]
    assert dc.mock.requests.index(old) > dc.mock.requests.index(post)
    assert not dc.mock.of("PATCH", f"/webhooks/{APP_ID}/tok-cmd/messages/1400")


async def test_errors_are_private_and_specific(dc: Harness) -> None:
    bot = await dc.start_bot()
    bot.client._connection.parse_interaction_create(
        command("imagine-med", {"prompt": "chest x-ray", "modality": "ct"}, token="tok-err"))
    follow = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-err"))[0]
    steps = [f"{r.method} {r.path}" for r in dc.after_login()]
    assert steps == [
        "POST /interactions/" + dc.after_login()[0].path.split("/")[2] + "/tok-err/callback",
        f"DELETE /webhooks/{APP_ID}/tok-err/messages/@original",
        f"POST /webhooks/{APP_ID}/tok-err",
    ]
    assert follow.payload["flags"] & 64  # ephemeral
    assert "--modality says ct" in follow.payload["content"]
    assert "Traceback" not in follow.payload["content"]

    # a stranger cannot cancel; the refusal is ephemeral too
    job = await dc.imagine(bot)
    bot.client._connection.parse_interaction_create(
        component(ids.encode(Action.CANCEL, job), user=OTHER, token="tok-x"))
    refusal = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-x"))[0]
    assert refusal.payload["flags"] & 64 and "can cancel it" in refusal.payload["content"]
    # Manage Messages makes nobody a moderator; the configured moderator role does
    bot.client._connection.parse_interaction_create(
        component(ids.encode(Action.CANCEL, job), user=OTHER, token="tok-mm",
                  perms=MANAGE_MESSAGES))
    refusal = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-mm"))[0]
    assert refusal.payload["flags"] & 64 and "can cancel it" in refusal.payload["content"]
    bot.client._connection.parse_interaction_create(
        component(ids.encode(Action.CANCEL, job), user=OTHER, token="tok-mod",
                  place=Place(roles=(MOD_ROLE,))))
    edit = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-mod/messages/@original"))[0]
    assert "Cancelled by a moderator." in edit.payload["content"]
    assert edit.payload["components"] == []
    assert dc.stack.queue.status(job).status == "cancelled"  # type: ignore[union-attr]


async def test_autocomplete_and_settings(dc: Harness) -> None:
    bot = await dc.start_bot()
    bot.client._connection.parse_interaction_create(command(
        "imagine-med", {"prompt": "brain mri", "sequence": "fl"}, kind=4, focused="sequence",
        token="tok-ac"))
    ac = (await dc.until("POST", "/interactions/"))[0]
    assert ac.payload["type"] == 8
    assert [c["value"] for c in ac.payload["data"]["choices"]] == ["flair"]

    bot.client._connection.parse_interaction_create(command(
        "imagine-med-settings", {"modality": "ct", "size": 768}, token="tok-set"))
    saved = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-set/messages/@original"))[0]
    callback = dc.mock.of("POST", "/interactions/")[-1]
    assert callback.payload == {"type": 5, "data": {"flags": 64}}  # private from the start
    assert "Saved." in saved.payload["content"] and "modality: ct; size: 768" in (
        saved.payload["content"])
    bot.client._connection.parse_interaction_create(command(
        "imagine-med-help", {}, token="tok-help"))
    helped = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-help/messages/@original"))[0]
    text = helped.payload.get("content") or helped.payload["embeds"][0]["description"]
    assert "--modality" in text and "SYNTHETIC" in text


def test_the_help_text_fits_an_embed() -> None:
    from imagine_med.bot.discord_app import content_of
    from imagine_med.bot.helptext import help_text
    from imagine_med.bot.reply import Reply

    content, embed = content_of(Reply(help_text()))
    assert len(content) <= 2000
    assert embed is None or len(embed.description or "") <= 4096


async def test_same_prompt_reads_the_same_on_discord_and_slack(dc: Harness) -> None:
    from aiohttp.test_utils import TestClient, TestServer
    from bot_mocks.slack_api import SlackMock, sign, slash_body

    from imagine_med.bot.slack_app import SlackBot

    prompt = "axial chest CT, left lower lobe mass, elderly woman, blorp --seed 3"
    bot = await dc.start_bot()
    await dc.imagine(bot, prompt)
    discord_text = dc.mock.of("PATCH", f"/webhooks/{APP_ID}/tok-cmd/messages/@original")[0]

    mock = await SlackMock().start()
    slack = SlackBot(dc.stack.core, token="xoxb-test", signing_secret="s", api_url=mock.url)
    http = TestClient(TestServer(slack.web_app()))
    await http.start_server()
    try:
        body = slash_body("/imagine-med", prompt)
        r = await http.post("/slack/events", data=body, headers={
            **sign("s", body), "Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 200
        for _ in range(200):
            if mock.of("chat.postMessage"):
                break
            await asyncio.sleep(0.02)
        slack_text = mock.of("chat.postMessage")[0].params["text"]
    finally:
        await http.close()
        await mock.close()

    def lines(text: str) -> list[str]:
        return [ln for ln in text.splitlines() if ln.startswith(("interpreted as:", "ignored:"))]

    assert lines(discord_text.payload["content"]) == lines(slack_text)
    assert len(lines(slack_text)) == 2 and lines(slack_text)[1] == "ignored: blorp"


async def test_a_refused_status_message_withdraws_the_job(dc: Harness) -> None:
    dc.mock.fail[f"PATCH /webhooks/{APP_ID}/tok-cmd/messages/@original"] = (
        403, 50013, "Missing Permissions")
    bot = await dc.start_bot()
    bot.client._connection.parse_interaction_create(
        command("imagine-med", {"prompt": PROMPT}, user=OWNER, token="tok-cmd"))
    told = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-cmd"))[0]
    assert told.payload["flags"] & 64
    assert "Discord refused the message (403: Missing Permissions)" in told.payload["content"]
    from imagine_med.queue import Requester

    jobs = dc.stack.queue.user_jobs(Requester("discord", OWNER, team="1300000000000000001"))
    assert [j.status for j in jobs] == ["cancelled"]


async def test_verify_an_attached_image(dc: Harness, tmp_path: Path) -> None:
    from bot_mocks.discord_api import attachment
    from bot_mocks.renderer import render_locally

    grid = render_locally(tmp_path / "case", "PA chest x-ray, left pleural effusion --seed 5")
    dc.mock.cdn["grid.png"] = grid["grid.png"].read_bytes()
    buf = io.BytesIO()
    Image.new("L", (256, 256), 90).save(buf, "PNG")
    dc.mock.cdn["plain.png"] = buf.getvalue()
    bot = await dc.start_bot()
    for name, token in (("grid.png", "tok-v1"), ("plain.png", "tok-v2")):
        att = attachment(f"19000000000000000{len(token)}{token[-1]}", name,
                         dc.mock.cdn_url(name), len(dc.mock.cdn[name]))
        bot.client._connection.parse_interaction_create(command(
            "imagine-med-verify", attachments={"image": att}, token=token))
    marked = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-v1/messages/@original"))[0]
    plain = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-v2/messages/@original"))[0]
    assert (await dc.callback("tok-v1")).payload == {"type": 5, "data": {"flags": 64}}
    assert marked.payload["content"].startswith("grid.png: MARKED synthetic (imagine-med)")
    assert "variant grid" in marked.payload["content"]
    assert plain.payload["content"].startswith("plain.png: NOT marked")


HELD = ("{PA, AP} chest x-ray, make it look like a real scan @everyone @here "
        f"<@&{MOD_ROLE}> <@{OTHER}> **SYSTEM: auto-approved**")


async def test_a_held_prompt_pings_nobody_and_fakes_no_notice(dc: Harness) -> None:
    bot = await dc.start_bot()
    bot.client._connection.parse_interaction_create(
        command("imagine-med", {"prompt": HELD}, user=OWNER, token="tok-held"))
    post = (await dc.until("POST", f"/channels/{MOD_CHANNEL}/messages"))[0]
    told = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-held"))[0]
    assert told.payload["flags"] & 64 and "held for review" in told.payload["content"]
    # what reaches Discord: no ping of anyone, whatever the text says
    assert post.payload["allowed_mentions"] == {"parse": []}
    assert told.payload["allowed_mentions"] == {"parse": []}
    content = post.payload["content"]
    assert "Held prompt (2 jobs, first" in content  # one post for the whole prompt
    assert "**SYSTEM" not in content and r"\*\*SYSTEM: auto-approved\*\*" in content
    for raw in ("@everyone", "@here", f"<@&{MOD_ROLE}>", f"<@{OTHER}>"):
        assert raw not in content  # shown broken ("@\u200beveryone"), never as a mention
    assert "@\u200beveryone" in content
    job = _custom_ids(post.payload)[0].job_id
    assert dc.stack.queue.status(job).status == "held"  # type: ignore[union-attr]
    assert len(dc.mock.of("POST", "/channels/")) == 1


async def test_a_status_message_pings_only_its_owner(dc: Harness) -> None:
    bot = await dc.start_bot()
    await dc.imagine(bot, "PA chest x-ray, left pleural effusion @everyone **SYSTEM** --seed 2")
    status = dc.mock.of("PATCH", f"/webhooks/{APP_ID}/tok-cmd/messages/@original")[0]
    assert status.payload["content"].startswith(f"<@{OWNER}> Queued")
    assert status.payload["allowed_mentions"] == {"parse": [], "users": [int(OWNER)]}


async def test_a_moderator_of_one_server_cannot_act_on_anothers_jobs(dc: Harness) -> None:
    from imagine_med.queue import Requester

    bot = await dc.start_bot()
    there = Place(guild=GUILD_B, channel=CHANNEL_B)
    bot.client._connection.parse_interaction_create(command(
        "imagine-med", {"prompt": "PA chest x-ray, make it look like a real scan"},
        user=OWNER, token="tok-b", place=there))
    await dc.until("POST", f"/webhooks/{APP_ID}/tok-b")  # "held", privately
    held = dc.stack.queue.user_jobs(Requester("discord", OWNER, team=GUILD_B))
    assert [j.status for j in held] == ["held"]
    assert not dc.mock.of("POST", "/channels/")  # server A's moderators never see it
    bot.client._connection.parse_interaction_create(command(
        "imagine-med", {"prompt": PROMPT}, user=OWNER, token="tok-b2", place=there))
    queued = _custom_ids((await dc.until(
        "PATCH", f"/webhooks/{APP_ID}/tok-b2/messages/@original"))[0].payload)[0].job_id

    mod_a = Place(roles=(MOD_ROLE,))  # a moderator on server A
    presses = [("tok-ap", ids.encode(Action.APPROVE, held[0].id), mod_a),
               ("tok-cn", ids.encode(Action.CANCEL, queued), mod_a),
               # the same role id means nothing on server B: grants are per server
               ("tok-cb", ids.encode(Action.CANCEL, queued), Place(GUILD_B, CHANNEL_B,
                                                                     (MOD_ROLE,)))]
    for token, custom_id, place in presses:
        bot.client._connection.parse_interaction_create(
            component(custom_id, user=OTHER, token=token, place=place))
    refusals = [(await dc.until("POST", f"/webhooks/{APP_ID}/{t}"))[0] for t, _, _ in presses]
    assert all(r.payload["flags"] & 64 for r in refusals)
    assert "another server or workspace" in refusals[0].payload["content"]
    assert all("can cancel it" in r.payload["content"] for r in refusals[1:])
    bot.client._connection.parse_interaction_create(  # Reject answers with a form, or not
        component(ids.encode(Action.REJECT, held[0].id), user=OTHER, token="tok-rj",
                  place=mod_a))
    rejected = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-rj/messages/@original"))[0]
    assert "another server or workspace" in rejected.payload["content"]
    assert (await dc.callback("tok-rj")).payload["type"] == 5  # a deferral, no modal
    assert dc.stack.queue.status(held[0].id).status == "held"  # type: ignore[union-attr]
    assert dc.stack.queue.status(queued).status == "queued"  # type: ignore[union-attr]
    # on their own server the same moderator can
    home = await dc.imagine(bot)
    bot.client._connection.parse_interaction_create(
        component(ids.encode(Action.CANCEL, home), user=OTHER, token="tok-home", place=mod_a))
    await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-home/messages/@original")
    assert dc.stack.queue.status(home).status == "cancelled"  # type: ignore[union-attr]


async def test_lanes_follow_configuration_not_permissions(dc: Harness) -> None:
    bot = await dc.start_bot()
    for token, perms, place in (("tok-mm", MANAGE_MESSAGES, Place()),
                                ("tok-role", 0, Place(roles=(MOD_ROLE,)))):
        bot.client._connection.parse_interaction_create(command(
            "imagine-med", {"prompt": PROMPT}, user=OTHER, token=token, perms=perms,
            place=place))
    lanes = []
    for token in ("tok-mm", "tok-role"):
        patch = (await dc.until("PATCH", f"/webhooks/{APP_ID}/{token}/messages/@original"))[0]
        info = dc.stack.queue.status(_custom_ids(patch.payload)[0].job_id)
        assert info is not None
        lanes.append(info.lane)
    assert lanes == ["normal", "priority"]


# ---- images in (issue 24) -----------------------------------------------------------------

async def _attach(dc: Harness, bot: DiscordBot, name: str, data: bytes, token: str,
                  prompt: str) -> Req:
    """/imagine-med with `data` attached as its `image` option; the first message back (the
    status in @original, or the private refusal)."""
    from bot_mocks.discord_api import attachment

    dc.mock.cdn[name] = data
    att = attachment(f"1900000000000000{abs(hash(token)) % 1000:03d}", name,
                     dc.mock.cdn_url(name), len(data))
    bot.client._connection.parse_interaction_create(command(
        "imagine-med", {"prompt": prompt}, attachments={"image": att}, user=OWNER, token=token))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for method, prefix in (("PATCH", f"/webhooks/{APP_ID}/{token}/messages/@original"),
                               ("POST", f"/webhooks/{APP_ID}/{token}")):
            found = [r for r in dc.mock.of(method, prefix) if r.path.endswith(
                "@original" if method == "PATCH" else token)]
            if found:
                return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(dc.mock.summary())


async def test_an_uploaded_image_of_ours_becomes_a_refine_of_its_job(dc: Harness) -> None:
    bot = await dc.start_bot()
    job = await dc.imagine(bot)
    await asyncio.to_thread(dc.stack.work)
    await dc.deliver(bot)
    png = dc.stack.queue.files(job)["variant-2.png"].read_bytes()
    status = await _attach(dc, bot, "from-the-channel.png", png, "tok-our",
                           "PA chest x-ray, right upper lobe consolidation, left pleural effusion")
    assert "Refine of variant 2" in status.payload["content"], status.payload
    refined = dc.stack.queue.status(_custom_ids(status.payload)[0].job_id)
    assert refined is not None and refined.kind == "refine" and refined.user == OWNER
    assert refined.params["parent_id"] == job and refined.params["variant"] == 2
    assert [f["name"] for f in refined.spec["findings"]] == ["consolidation", "pleural_effusion"]


async def test_a_palette_sketch_becomes_a_chest_film_matching_the_sketch(dc: Harness) -> None:
    import numpy as np
    from sketches import chest_sketch, png_bytes

    from imagine_med.engine.phantom.sketch import parse_sketch

    bot = await dc.start_bot()
    sketch = png_bytes(chest_sketch(384))
    status = await _attach(dc, bot, "sketch.png", sketch, "tok-skt", "PA chest x-ray --size 256")
    assert "Queued" in status.payload["content"], status.payload
    job = _custom_ids(status.payload)[0].job_id
    await asyncio.to_thread(dc.stack.work)
    info = dc.stack.queue.status(job)
    assert info is not None and info.status == "done", info
    assert info.spec["region"] == "sketch" and info.spec["modality"] == "xray"
    files = dc.stack.queue.files(job)
    drawn = np.asarray(Image.fromarray(parse_sketch(sketch)).resize((256, 256), Image.NEAREST))
    for i in range(1, 5):
        written = np.asarray(Image.open(files[f"variant-{i}.labels.png"]))[:256]
        for label in np.unique(drawn):
            a, b = drawn == label, written == label
            assert (a & b).sum() / (a | b).sum() >= 0.9, (i, int(label))
    # its grid, uploaded again with a CT prompt: a refine (of variant 1) keeping the drawing
    # (the grid: at 256 px a single variant of a sketch film carries too little texture for
    # the mark to verify; at 512 px it does)
    again = await _attach(dc, bot, "film.png", files["grid.png"].read_bytes(), "tok-sk2",
                          "axial chest CT")
    assert "Refine of variant 1" in again.payload["content"], again.payload
    refined = dc.stack.queue.status(_custom_ids(again.payload)[0].job_id)
    assert refined is not None and refined.spec["modality"] == "ct"
    assert refined.spec["region"] == "sketch" and refined.spec["sketch"] == info.spec["sketch"]


async def test_real_patient_images_are_refused_privately(dc: Harness) -> None:
    from uploads import bomb_png, burned_in, dicom_with_patient

    from tests.tooling import need_program

    need_program("tesseract", "tesseract-ocr")
    bot = await dc.start_bot()
    cases = [("scan.dcm", dicom_with_patient(), "tok-dcm1", "PatientName"),
             ("scan.png", burned_in("DOE, JOHN 12/03/1961"), "tok-ocr1",
              "Text is burned into this image"),
             ("bomb.png", bomb_png(20000), "tok-bmb1", "20000x20000 pixels")]
    for name, data, token, why in cases:
        reply = await _attach(dc, bot, name, data, token, "PA chest x-ray")
        assert reply.method == "POST" and reply.payload["flags"] & 64, reply.payload  # private
        assert why in reply.payload["content"]
        assert "DOE" not in reply.payload["content"]
    assert not dc.stack.queue.list_jobs()  # nothing was queued


async def test_help_teaches_with_examples_a_try_button_and_the_palette(dc: Harness) -> None:
    from imagine_med.bot.examples import examples
    from imagine_med.engine import registry
    from imagine_med.prompt import parse

    found = examples()
    rows = {(o.modality, o.region) for o in registry.offers() if o.engine == "phantom"}
    covered = {(parse(e)[0].modality, parse(e)[0].region) for e in found}
    assert covered <= rows and len(covered) >= len(rows) - 1  # breast: IHC only, no H&E
    bot = await dc.start_bot()
    bot.client._connection.parse_interaction_create(command("imagine-med-help", {},
                                                            token="tok-hlp"))
    helped = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-hlp/messages/@original"))[0]
    text = helped.payload.get("content") or helped.payload["embeds"][0]["description"]
    assert found[0] in text and "Palette:" in text and "pleural effusion" in text
    assert helped.files[0][0] == "imagine-med-sketch-palette.png"
    legend = Image.open(io.BytesIO(helped.data[0])).convert("RGB")
    from imagine_med.engine.phantom.sketch.palette import BY_NAME
    colours = {tuple(c) for c in np.asarray(legend).reshape(-1, 3)}
    assert BY_NAME["lung"].rgb in colours and BY_NAME["nodule"].rgb in colours
    tries = [c for c in _custom_ids(helped.payload) if c.action is Action.TRY]
    assert len(tries) == min(len(found), 25)  # Discord: 25 components a message
    bot.client._connection.parse_interaction_create(
        component(tries[0].encode(), user=OTHER, token="tok-try"))
    status = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-try"))[0]
    job = _custom_ids(status.payload)[0].job_id
    info = dc.stack.queue.status(job)
    assert info is not None and info.prompt == found[0] and info.user == OTHER
    assert not status.payload.get("flags", 0) & 64  # in the channel, for everyone to see
