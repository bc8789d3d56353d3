"""Quiz mode on Discord, end to end: real discord.py objects built from interaction payloads
shaped as Discord documents them, a local mock of Discord's REST API, the real queue and a burst
worker. Post, three answers (two buttons, one typed in a modal), reveal, scores; nothing before
the reveal names the finding outside the answer choices; nobody is pinged."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from bot_mocks.discord_api import (
    APP_ID,
    CHANNEL_ID,
    GUILD_ID,
    DiscordMock,
    command,
    component,
    modal_submit,
)
from bot_mocks.harness import DiscordHarness
from bot_mocks.stack import Stack, make_stack
from quiz_support import ANSWER, PROMPT, dump, leak_words, leaks, png_text

from imagine_med.bot import ids
from imagine_med.bot.delivery import DeliveryLoop
from imagine_med.bot.discord_app import DiscordBot
from imagine_med.bot.ids import Action
from imagine_med.teaching.quiz_choices import display

HOST = "1700000000000000001"  # the instructor (IMAGINE_MED_BOT_INSTRUCTORS below)
RIGHT, WRONG, TYPIST = "1700000000000000011", "1700000000000000012", "1700000000000000013"
NO_PINGS = {"parse": []}


class Harness(DiscordHarness):
    def __init__(self, stack: Stack, mock: DiscordMock) -> None:
        super().__init__(stack, mock)
        self.bot: DiscordBot | None = None

    async def start(self) -> DiscordBot:
        self.bot = DiscordBot(self.stack.core, sync_commands=False)
        await self.bot.client.login("bot-token")
        return self.bot

    def send(self, payload: dict) -> None:
        assert self.bot is not None
        self.bot.client._connection.parse_interaction_create(payload)


@pytest.fixture
async def dc(redis_url: str, namespace: str, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    stack = make_stack(redis_url, namespace, tmp_path,
                       instructors=f"discord:{GUILD_ID}:user:{HOST}")
    mock = await DiscordMock().start()
    monkeypatch.setattr(discord.http.Route, "BASE", mock.base)
    h = Harness(stack, mock)
    try:
        yield h
    finally:
        if h.bot is not None:
            await h.bot.client.close()
        await mock.close()
        stack.close()


def _buttons(payload: dict) -> list[tuple[str, ids.ComponentId]]:
    return [(c["label"], ids.decode(c["custom_id"])) for row in payload.get("components") or []
            for c in row["components"]]


def _without_labels(payload: dict) -> dict:
    out = copy.deepcopy(payload)
    for row in out.get("components") or []:
        for c in row["components"]:
            c.pop("label", None)
    return out


async def test_quiz_post_three_answers_reveal_scores(dc: Harness) -> None:
    await dc.start()
    dc.send(command("imagine-med-quiz", {"prompt": PROMPT, "seconds": 600,
                                         "course": "RAD 101"}, user=HOST, token="tok-quiz"))
    status = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-quiz/messages/@original"))[0]
    assert status.payload["content"].startswith(f"<@{HOST}> Quiz case — Queued")
    note = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-quiz"))[0]
    assert note.payload["flags"] & 64 and "consolidation (right, RUL)" in note.payload["content"]

    await asyncio.to_thread(dc.stack.work)
    loop = DeliveryLoop(dc.stack.core, dc.bot)  # type: ignore[arg-type]
    for _ in range(8):
        await loop.run_once(block_ms=50)
        if dc.mock.of("POST", f"/channels/{CHANNEL_ID}/messages"):
            break
    post = (await dc.until("POST", f"/channels/{CHANNEL_ID}/messages"))[0]
    assert post.payload["allowed_mentions"] == NO_PINGS
    buttons = _buttons(post.payload)
    choices = [(label, cid) for label, cid in buttons if cid.action is Action.QUIZ_CHOICE]
    qid = choices[0][1].job_id
    quiz = dc.stack.core.quiz.store.get(qid)
    assert quiz is not None and quiz.state == "open" and list(quiz.answers) == [ANSWER]
    assert len(choices) == 4 and sum(display(ANSWER) in lab for lab, _ in choices) == 1
    assert post.files[0][0] == f"imagine-med-quiz-{qid}.png"
    assert post.payload["attachments"][0]["description"] == (
        "Synthetic teaching image (not a real patient) for a quiz: PA chest X-ray")
    right = next(cid for lab, cid in choices if display(ANSWER) in lab)
    wrong = next(cid for lab, cid in choices if display(ANSWER) not in lab)

    dc.send(component(right.encode(), user=RIGHT, token="tok-r"))
    dc.send(component(wrong.encode(), user=WRONG, token="tok-w"))
    for token in ("tok-r", "tok-w"):
        told = (await dc.until("POST", f"/webhooks/{APP_ID}/{token}"))[0]
        assert told.payload["flags"] & 64 and "You can change it" in told.payload["content"]
    dc.send(component(ids.encode(Action.QUIZ_TYPE, qid), user=TYPIST, token="tok-t"))
    modal = await dc.callback("tok-t")  # the modal is the first response
    assert modal.payload["type"] == 9
    typed = "Pneumonia @everyone **now**"
    dc.send(modal_submit(ids.encode(Action.QUIZ_TYPE, qid), {"answer": typed}, user=TYPIST,
                         token="tok-m"))
    echo = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-m/messages/@original"))[0]
    defer = await dc.callback("tok-m")
    assert defer.payload == {"type": 5, "data": {"flags": 64}}  # private from the start
    assert "\\@everyone" in echo.payload["content"] or "@\u200beveryone" in (
        echo.payload["content"])
    assert echo.payload["allowed_mentions"] == NO_PINGS

    # nothing so far names the finding outside the choices' labels (the instructor's private
    # note and the typist's own words excepted)
    words = leak_words()
    checked = 0
    for r in dc.mock.requests:
        if r.path.startswith(f"/webhooks/{APP_ID}/tok-quiz") and r.method == "POST":
            continue
        text = dump(_without_labels(r.payload)) + dump(r.files)
        if "/tok-m/" in r.path:
            text = text.replace("Pneumonia", "")
        assert not leaks(text, words), (r.method, r.path, leaks(text, words), text[:500])
        for blob in r.data:
            assert not leaks("\n".join(png_text(blob)), words)
            assert not leaks(blob.decode("latin-1"), words)
            assert quiz.job_id not in blob.decode("latin-1")
            checked += 1
        if r.payload.get("allowed_mentions") is not None:
            assert r.payload["allowed_mentions"].get("parse") == []
    assert checked == 1  # the quiz image

    # a student cannot reveal; the instructor does
    dc.send(component(ids.encode(Action.QUIZ_REVEAL, qid), user=WRONG, token="tok-x"))
    no = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-x"))[0]
    assert no.payload["flags"] & 64 and "Only the instructor" in no.payload["content"]
    dc.send(component(ids.encode(Action.QUIZ_REVEAL, qid), user=HOST, token="tok-rev"))
    reveal = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-rev"))[0]
    body = reveal.payload["content"]
    assert not reveal.payload.get("flags", 0) & 64  # public
    assert "consolidation (right, RUL)" in body and "Right: 2 of 3 answers." in body
    assert "✅ user\\-0011" in body or "✅ user-0011" in body
    assert "❌ user-0012" in body.replace("\\", "") and "✅ user-0013" in body.replace("\\", "")
    assert "\\*\\*now\\*\\*" in body  # the typed answer escaped, not bold
    assert reveal.payload["allowed_mentions"] == NO_PINGS
    assert reveal.files[0][0] == f"imagine-med-quiz-{qid}-answer.png"
    assert dc.stack.core.quiz.store.get(qid).state == "closed"  # type: ignore[union-attr]

    dc.send(command("imagine-med-leaderboard", {"course": "RAD 101"}, user=WRONG,
                    token="tok-lb"))
    board = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-lb/messages/@original"))[0]
    lines = board.payload["content"].replace("\\", "").splitlines()
    assert lines == ["🏆 **Quiz leaderboard** — course RAD 101",
                     "1. user-0011 — 1 point (1 answer)", "2. user-0013 — 1 point (1 answer)",
                     "3. user-0012 — 0 points (1 answer)"]


async def test_only_instructors_start_a_quiz(dc: Harness) -> None:
    await dc.start()
    dc.send(command("imagine-med-quiz", {"prompt": PROMPT}, user=WRONG, token="tok-s"))
    told = (await dc.until("POST", f"/webhooks/{APP_ID}/tok-s"))[0]
    assert told.payload["flags"] & 64 and "Only instructors" in told.payload["content"]
    assert dc.stack.queue.list_jobs() == []


def library(sub: str, options: dict, *, user: str, token: str) -> dict:
    """/imagine-med-library <sub> as Discord sends a subcommand: one type-1 option holding the
    subcommand's own options."""
    payload = command("imagine-med-library", options, user=user, token=token)
    payload["data"]["options"] = [{"name": sub, "type": 1,
                                   "options": payload["data"]["options"]}]
    return payload


async def test_library_save_post_and_a_quiz_from_the_collection(dc: Harness) -> None:
    await dc.start()
    dc.send(command("imagine-med", {"prompt": PROMPT}, user=HOST, token="tok-img"))
    status = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-img/messages/@original"))[0]
    job = _buttons(status.payload)[0][1].job_id
    await asyncio.to_thread(dc.stack.work)
    loop = DeliveryLoop(dc.stack.core, dc.bot)  # type: ignore[arg-type]
    for _ in range(4):
        await loop.run_once(block_ms=50)

    dc.send(library("save", {"job": job, "collection": "Chest Week-1",
                             "tags": "pneumonia, rad101", "note": "@everyone see **this**"},
                    user=HOST, token="tok-save"))
    saved = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-save/messages/@original"))[0]
    assert (await dc.callback("tok-save")).payload == {"type": 5, "data": {"flags": 64}}
    text = saved.payload["content"]
    assert "as item #" in text and saved.payload["allowed_mentions"] == NO_PINGS
    assert "@everyone" not in text.replace("@\u200beveryone", "")  # escaped by discord.py
    item = int(text.split("item #")[1].split(":")[0])

    dc.send(library("post", {"item": item}, user=WRONG, token="tok-post"))
    posted = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-post/messages/@original"))[0]
    assert posted.payload["content"].startswith(f"📚 From the library: item #{item}")
    assert "\\*\\*this\\*\\*" in posted.payload["content"]
    assert posted.payload["allowed_mentions"] == NO_PINGS and posted.files

    dc.send(command("imagine-med-quiz", {"collection": "chest-week-1", "seconds": 30},
                    user=HOST, token="tok-lq"))
    quiz = (await dc.until("PATCH", f"/webhooks/{APP_ID}/tok-lq/messages/@original"))[0]
    qid = _buttons(quiz.payload)[0][1].job_id
    assert quiz.files[0][0] == f"imagine-med-quiz-{qid}.png"
    stored = dc.stack.core.quiz.store.get(qid)
    assert stored is not None and stored.job_id == job and stored.source == f"library:{item}"
    words = leak_words()
    assert not leaks(dump(_without_labels(quiz.payload)), words)
    assert not leaks(quiz.data[0].decode("latin-1"), words)
