"""Quiz mode on Slack, end to end: the HTTP events endpoint (signed requests) against a local mock
of Slack's Web API, the real queue and a burst worker. An instructor posts a case, three people
answer (two buttons, one typed), the instructor reveals it, scores count; and nothing sent
before the reveal names the finding outside the answer choices."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from bot_mocks.harness import SECRET, SlackHarness
from bot_mocks.slack_api import (
    Call,
    SlackMock,
    block_actions_body,
    slash_body,
    view_submission_body,
)
from bot_mocks.stack import make_stack
from PIL import Image
from quiz_support import ANSWER, PROMPT, dump, leak_words, leaks, png_text
from sqlalchemy import update

from imagine_med.bot import ids
from imagine_med.bot.delivery import DeliveryLoop
from imagine_med.bot.ids import Action
from imagine_med.bot.slack_app import SlackBot, parse_library_text, parse_quiz_text
from imagine_med.teaching.quiz import quizzes
from imagine_med.teaching.quiz_choices import display

HOST = "U1"  # the instructor (IMAGINE_MED_BOT_INSTRUCTORS below)


class Harness(SlackHarness):
    async def post(self, body: str, secret: str = SECRET) -> tuple[int, str]:
        status, text = await super().post(body, secret)
        assert status == 200
        return status, text


@pytest.fixture
async def slack(redis_url: str, namespace: str, tmp_path: Path) -> AsyncIterator[Harness]:
    stack = make_stack(redis_url, namespace, tmp_path, instructors=f"slack:T1:user:{HOST}")
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


async def _image_post_text(slack: Harness, plain: bool = False) -> str:
    """The text of the message showing the newest upload (the image, its text and buttons
    are one message on Slack): its section blocks, as the channel reads them (`plain`: only
    the plain_text sections, where lines quoting user text go: shown as typed)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = slack.mock.of("files.completeUploadExternal")
        fid = done[-1].params["files"][0]["id"] if done else None
        for call in reversed(slack.mock.of("chat.postMessage")):
            blocks = call.params.get("blocks") or []
            if any(b["type"] == "image" and b["slack_file"]["id"] == fid for b in blocks):
                return "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section"
                                 and (not plain or b["text"]["type"] == "plain_text"))
        await asyncio.sleep(0.02)
    raise AssertionError(f"no message shows the upload: {slack.mock.methods()}")


def _buttons(call: Call) -> list[tuple[str, ids.ComponentId]]:
    return [(e["text"]["text"], ids.decode(e["action_id"]))
            for b in call.params.get("blocks") or [] if b["type"] == "actions"
            for e in b["elements"]]


def _without_button_labels(call: Call) -> dict:
    """The call's parameters with the text of its buttons removed (those are the choices)."""
    params = dict(call.params)
    blocks = []
    for b in params.get("blocks") or []:
        if b.get("type") == "actions":
            b = {**b, "elements": [{k: v for k, v in e.items() if k != "text"}
                                   for e in b["elements"]]}
        blocks.append(b)
    params["blocks"] = blocks
    return params


async def test_quiz_post_three_answers_reveal_scores(slack: Harness) -> None:
    await slack.post(slash_body("/imagine-med-quiz",
                                f'{PROMPT} --seconds 600 --course "RAD 101"', user=HOST,
                                response_url=slack.mock.response_url()))
    status = (await slack.settle("chat.postMessage"))[0]
    assert status.params["text"].startswith(f"<@{HOST}> Quiz case — Queued")
    note = (await slack.settle("chat.postEphemeral"))[0]
    assert note.params["user"] == HOST and "consolidation (right, RUL)" in note.params["text"]

    await asyncio.to_thread(slack.stack.work)
    await slack.deliver("files.completeUploadExternal")
    await slack.deliver("chat.update")  # the status message says the quiz is below
    posts = slack.mock.of("chat.postMessage")
    quiz_msg = next(c for c in posts if any(cid.action is Action.QUIZ_CHOICE
                                            for _, cid in _buttons(c)))
    buttons = _buttons(quiz_msg)
    choices = [(label, cid) for label, cid in buttons if cid.action is Action.QUIZ_CHOICE]
    qid = choices[0][1].job_id
    quiz = slack.stack.core.quiz.store.get(qid)
    assert quiz is not None and quiz.state == "open" and quiz.course == "RAD 101"
    # the answer is what the label map of the posted variant shows, not the prompt
    job = slack.stack.queue.status(quiz.job_id)
    assert job is not None
    labels = np.asarray(Image.open(slack.stack.queue.files(job.id)["variant-1.labels.png"]))
    assert np.count_nonzero(labels == 1) > 500 and list(quiz.answers) == [ANSWER]
    assert len(choices) == 4 and sum(display(ANSWER) in lab for lab, _ in choices) == 1
    assert all(cid.job_id == qid != quiz.job_id for _, cid in buttons)  # never the job id
    right = next(cid for lab, cid in choices if display(ANSWER) in lab)
    wrong = next(cid for lab, cid in choices if display(ANSWER) not in lab)

    # three people answer: a right button, a wrong button, a typed synonym
    await slack.post(block_actions_body(right.encode(), user="U2"))
    await slack.post(block_actions_body(wrong.encode(), user="U3"))
    await slack.settle("chat.postEphemeral", 3)
    await slack.post(block_actions_body(ids.encode(Action.QUIZ_TYPE, qid), user="U4"))
    modal = (await slack.settle("views.open"))[0].params["view"]
    assert modal["callback_id"] == ids.encode(Action.QUIZ_TYPE, qid)
    typed = "pneumonia <!channel> *bold*"
    await slack.post(view_submission_body(modal["callback_id"], {"answer": typed}, user="U4"))
    echo = (await slack.settle("chat.postEphemeral", 4))[3]
    assert echo.params["user"] == "U4"
    assert "<!channel>" not in dump(echo.params)  # shown as typed, never a ping
    assert "&lt;!channel&gt;" in echo.params["text"]

    # nothing so far names the finding, except the choices' own labels (and what the
    # instructor and U4 were told privately: the instructor's note, U4's own typed words)
    words = leak_words()
    for call in slack.mock.calls:
        if call.method == "chat.postEphemeral" and call.params["user"] == HOST:
            continue
        text = dump(_without_button_labels(call))
        if call.method == "chat.postEphemeral" and call.params["user"] == "U4":
            text = text.replace("pneumonia", "")
        assert not leaks(text, words), (call.method, leaks(text, words), text[:600])
        if call.method == "upload":
            assert not leaks("\n".join(png_text(call.body)), words)
            assert not leaks(call.body.decode("latin-1"), words)  # the bytes, whatever chunk
            chunks = "\n".join(png_text(call.body))
            assert "imagine-med:synthetic\0yes" in chunks and quiz.job_id not in chunks
            assert "prompt_sha256" not in chunks and "xmp" not in chunks.lower()
    uploads = slack.mock.of("files.getUploadURLExternal")
    assert [u.params["filename"] for u in uploads] == [f"imagine-med-quiz-{qid}.png"]
    assert uploads[0].params["alt_txt"] == ("Synthetic teaching image (not a real patient) for "
                                            "a quiz: PA chest X-ray")

    # a student cannot reveal; the instructor can, once
    n_eph = len(slack.mock.of("chat.postEphemeral"))
    await slack.post(block_actions_body(ids.encode(Action.QUIZ_REVEAL, qid), user="U3"))
    refusal = (await slack.settle("chat.postEphemeral", n_eph + 1))[-1]
    assert "Only the instructor" in refusal.params["text"]
    await slack.post(block_actions_body(ids.encode(Action.QUIZ_REVEAL, qid), user=HOST))
    await slack.settle("files.completeUploadExternal", 2)
    reveal = await _image_post_text(slack)
    assert "consolidation (right, RUL)" in reveal
    assert "Right: 2 of 3 answers." in reveal
    quoted = await _image_post_text(slack, plain=True)  # user text: plain_text, as typed
    assert "✅ user-U2" in quoted and "❌ user-U3" in quoted and "✅ user-U4" in quoted
    assert "*bold*" in quoted  # not made bold
    assert "<!channel>" not in reveal  # the typed answer escaped, never a ping
    assert slack.mock.of("files.getUploadURLExternal")[-1].params["filename"] == (
        f"imagine-med-quiz-{qid}-answer.png")
    # answers after the reveal do not count
    await slack.post(block_actions_body(right.encode(), user="U3"))
    late = (await slack.settle("chat.postEphemeral", n_eph + 2))[-1]
    assert "closed" in late.params["text"]

    n_posts = len(slack.mock.of("chat.postMessage"))
    await slack.post(slash_body("/imagine-med-leaderboard", "RAD 101", user="U3"))
    board = (await slack.settle("chat.postMessage", n_posts + 1))[-1].params["text"]
    lines = board.splitlines()
    assert lines[0] == "🏆 *Quiz leaderboard* — course RAD 101"
    assert lines[1:] == ["1. user-U2 — 1 point (1 answer)", "2. user-U4 — 1 point (1 answer)",
                         "3. user-U3 — 0 points (1 answer)"]


async def test_timer_reveals_once_and_library_quiz(slack: Harness) -> None:
    """A quiz whose time is up is revealed by the delivery loop (once, even with two loops);
    an instructor's saved case is quizzed again from the library."""
    await slack.post(slash_body("/imagine-med", PROMPT, user=HOST))
    status = (await slack.settle("chat.postMessage"))[0]
    job = _buttons(status)[0][1].job_id
    await asyncio.to_thread(slack.stack.work)
    await slack.deliver("files.completeUploadExternal")

    await slack.post(slash_body("/imagine-med-library",
                                f'save {job} chest-week-1 tags=pneumonia,rad101 note="look '
                                'at the <@U9> fissure"', user=HOST))
    saved = (await slack.settle("chat.postEphemeral"))[-1].params["text"]
    assert "as item #" in saved and "&lt;@U9&gt;" in saved and "<@U9>" not in saved
    item = int(saved.split("item #")[1].split(":")[0])
    # a member (not the owner, not an instructor) cannot add to it or change it
    await slack.post(slash_body("/imagine-med-library", f"edit {item} tags=mine", user="U5"))
    refused = (await slack.settle("chat.postEphemeral", 2))[-1].params["text"]
    assert "Only the collection's owner" in refused

    n_up = len(slack.mock.of("files.completeUploadExternal"))
    n_posts = len(slack.mock.of("chat.postMessage"))
    await slack.post(slash_body("/imagine-med-quiz", "--collection chest-week-1 --seconds 30",
                                user=HOST))
    await slack.settle("files.completeUploadExternal", n_up + 1)
    # the image, its text and buttons are one message, posted after the upload
    qmsg = (await slack.settle("chat.postMessage", n_posts + 1))[n_posts]
    qid = _buttons(qmsg)[0][1].job_id
    # while the quiz is open, the library hides the case and a finding search skips it
    await slack.post(slash_body("/imagine-med-library", "search finding=consolidation",
                                user="U5"))
    found = (await slack.settle("chat.postEphemeral", 3))[-1].params["text"]
    assert "nothing found" in found
    await slack.post(slash_body("/imagine-med-library", "list chest-week-1", user="U5"))
    listed = (await slack.settle("chat.postEphemeral", 4))[-1].params["text"]
    assert "not been revealed" in listed and "consolidation" not in listed
    await slack.post(slash_body("/imagine-med-show", job, user="U5"))
    shown = (await slack.settle("chat.postEphemeral", 5))[-1].params["text"]
    assert "quiz that has not been revealed" in shown
    # and no button of the job's (a verified quiz image names its job) shows its key either
    for n, action in enumerate((Action.ANSWER, Action.DICOM, Action.REROLL), start=6):
        await slack.post(block_actions_body(ids.encode(action, job, 0), user="U5"))
        refused = (await slack.settle("chat.postEphemeral", n))[-1].params["text"]
        assert "quiz that has not been revealed" in refused, action

    # time is up: the loop (and a second bot's loop) reveal it exactly once
    with slack.stack.core.quiz.store.engine.begin() as conn:
        conn.execute(update(quizzes).where(quizzes.c.id == qid)
                     .values(closes_at=quizzes.c.opened_at))
    other = DeliveryLoop(slack.stack.core, slack.bot, consumer="bot-2")
    posted = [await slack.loop.reveal_due_quizzes(), await other.reveal_due_quizzes()]
    assert sorted(posted) == [0, 1]
    reveal = await _image_post_text(slack)
    assert f"quiz `{qid}`" in reveal and "consolidation (right, RUL)" in reveal
    assert "Right: 0 of 0 answers." in reveal
    await slack.post(slash_body("/imagine-med-library", "search finding=consolidation",
                                user="U5"))
    found = (await slack.settle("chat.postEphemeral", 9))[-1].params["text"]
    assert f"#{item} · chest-week-1" in found and "tags: pneumonia, rad101" in found


def test_slack_option_parsing() -> None:
    assert parse_quiz_text('PA chest x-ray, effusion --seconds 90 --course "RAD 101"') == (
        "PA chest x-ray, effusion", {"seconds": 90, "course": "RAD 101"})
    assert parse_library_text('save abc12 week-1 tags=a,b note="two words"') == (
        "save", {"job": "abc12", "collection": "week-1", "tags": "a,b", "note": "two words"})
    assert parse_library_text("post #12") == ("post", {"item": 12})
    for bad in ("post", "save a b c", "dance", 'edit 3 note="open'):
        with pytest.raises(ValueError):
            parse_library_text(bad)


async def test_a_case_without_its_label_map_calls_the_quiz_off(slack: Harness) -> None:
    """The answer is measured from the labels: with the label map gone there is no answer, so
    no quiz is posted (rather than one with a guessed key)."""
    await slack.post(slash_body("/imagine-med-quiz", PROMPT, user=HOST))
    await slack.settle("chat.postEphemeral")
    qid = slack.stack.core.quiz.store.due("slack")  # nothing open yet
    assert qid == []
    await asyncio.to_thread(slack.stack.work)
    job = next(j for j in slack.stack.queue.list_jobs())
    slack.stack.queue.files(job.id)["variant-1.labels.png"].unlink()
    await slack.deliver("chat.update")
    assert "the quiz is off" in slack.mock.of("chat.update")[-1].params["text"]
    assert not slack.mock.of("files.completeUploadExternal")
    quiz = slack.stack.core.quiz.store.for_job(job.id)
    assert quiz is not None and quiz.state == "failed"
