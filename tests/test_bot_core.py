"""The platform-neutral bot core: component ids, throttling, preferences, image fitting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagine_med.bot import ids
from imagine_med.bot.ids import Action, ComponentId, ComponentIdError
from imagine_med.bot.images import fit_upload, label_overlay
from imagine_med.bot.prefs import (
    PreferenceError,
    PreferenceStore,
    Prefs,
    validate,
)
from imagine_med.bot.reply import grid_rows, single_rows
from imagine_med.bot.throttle import ProgressThrottle, ThrottleBank


class FakeClock:
    """A settable clock for the throttle (time, not our code, is what is faked)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- component ids ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("action", "index"),
    [(a, 2) for a in ids.INDEXED] + [(a, 0) for a in ids.GRID_OR_INDEXED]
    + [(a, 0) for a in Action if a not in ids.INDEXED | ids.GRID_OR_INDEXED],
)
def test_custom_id_round_trip(action: Action, index: int) -> None:
    job = "01J9Z3Q7K8M2N4P6R8T0V2X4Y6"
    cid = ids.encode(action, job, index)
    assert cid.startswith("im1:")
    back = ids.decode(cid)
    assert back == ComponentId(action, job, index)


def test_longest_custom_id_fits_discord_limit() -> None:
    cid = ids.encode(Action.VARY_STRONG, "j" * ids.MAX_JOB_ID, 4)
    assert len(cid) <= ids.DISCORD_LIMIT
    assert ids.decode(cid).job_id == "j" * 64


@pytest.mark.parametrize(
    "bad",
    ["", "im1:u:job:0", "im1:u:job:5", "im1:c:job:2", "im2:u:job:1", "im1:zz:job:1",
     "im1:u:a/b:1", "im1:u:" + "j" * 65 + ":1", "xim1:u:job:1", "im1:u:job:1:extra"],
)
def test_foreign_or_malformed_ids_are_rejected(bad: str) -> None:
    assert not ids.is_ours(bad)
    with pytest.raises(ComponentIdError):
        ids.decode(bad)


def test_grid_buttons_carry_job_and_variant() -> None:
    rows = grid_rows("job42", cancellable=True)
    labels = [[b.label for b in row] for row in rows]
    assert labels[0] == ["U1", "U2", "U3", "U4"]
    assert labels[1] == ["V1", "V2", "V3", "V4"]
    assert "Cancel" in labels[-1]
    decoded = [ids.decode(b.custom_id) for row in rows for b in row]
    assert all(d.job_id == "job42" for d in decoded)
    assert [d.index for d in decoded[:4]] == [1, 2, 3, 4]
    assert {d.action for d in decoded[4:8]} == {Action.VARY}
    assert len({b.custom_id for row in rows for b in row}) == sum(len(r) for r in rows)
    assert all(len(r) <= 5 for r in rows) and len(rows) <= 5  # Discord's layout limits


def test_single_rows_offer_4x_only_when_it_fits() -> None:
    with_4x = [ids.decode(b.custom_id) for b in single_rows("up", "grid", 3, offer_4x=True)[0]]
    without = [ids.decode(b.custom_id) for b in single_rows("up", "grid", 3, offer_4x=False)[0]]
    assert Action.UPSCALE4 in {c.action for c in with_4x}
    assert Action.UPSCALE4 not in {c.action for c in without}
    # 4x and variations start from the grid's variant; the answer key is this image's own
    by_action = {c.action: c for c in with_4x}
    assert (by_action[Action.UPSCALE4].job_id, by_action[Action.UPSCALE4].index) == ("grid", 3)
    assert (by_action[Action.VARY_STRONG].job_id, by_action[Action.VARY_STRONG].index) == (
        "grid", 3)
    assert (by_action[Action.ANSWER].job_id, by_action[Action.ANSWER].index) == ("up", 1)


# --- progress throttling ------------------------------------------------------------------

def test_throttle_limits_rate_and_ignores_small_moves() -> None:
    clock = FakeClock()
    t = ProgressThrottle(min_interval=2.0, min_step=0.05, clock=clock)
    assert t.should_emit(0.0, "anatomy")
    clock.now += 0.5
    assert not t.should_emit(0.5, "anatomy")  # too soon, however large the move
    clock.now += 2.0
    assert t.should_emit(0.5, "anatomy")
    clock.now += 3.0
    assert not t.should_emit(0.52, "anatomy")  # too small a move, same stage
    assert t.should_emit(0.52, "noise")  # a new stage is news
    clock.now += 5.0
    assert not t.should_emit(1.0, "done")  # the result replaces the progress message


def test_throttle_bank_is_per_job() -> None:
    clock = FakeClock()
    bank = ThrottleBank(min_interval=2.0, clock=clock)
    assert bank.should_emit("a", 0.1)
    assert bank.should_emit("b", 0.1)
    assert not bank.should_emit("a", 0.6)
    bank.forget("a")
    assert bank.should_emit("a", 0.6)


# --- preferences --------------------------------------------------------------------------

def test_preferences_resolve_user_over_channel(store_url: str) -> None:
    store = PreferenceStore(store_url)  # on PostgreSQL: a schema of this test's own
    plat = "slack"
    store.update(plat, "channel", "C1", validate({"modality": "ct", "size": "768"}))
    store.update(plat, "user", "U1", validate({"modality": "MRI", "dm_results": "yes"}))
    eff = store.effective(plat, "U1", "C1")
    assert eff == Prefs(modality="mri", size=768, answer_key_auto=None, dm_results=True)
    assert store.effective(plat, "U2", "C1") == Prefs(modality="ct", size=768)
    assert store.effective(plat, "U1", "C9").size is None
    # clearing a value lets the channel's show through again
    store.update(plat, "user", "U1", {"modality": None})
    assert store.effective(plat, "U1", "C1").modality == "ct"
    # a second store on the same database sees the same rows (bot restart)
    assert PreferenceStore(store_url).get(plat, "user", "U1").dm_results is True


def test_status_messages_are_remembered_across_restarts(store_url: str) -> None:
    from imagine_med.bot.targets import StatusMessages

    engine = PreferenceStore(store_url).engine
    job = "job-1"
    StatusMessages(engine).remember(job, "slack", {"channel": "C1", "ts": "1.2"})
    StatusMessages(engine).remember(job, "slack", {"channel": "C1", "ts": "3.4"})  # replaced
    again = StatusMessages(engine)
    assert again.get(job, "slack") == {"channel": "C1", "ts": "3.4"}
    assert again.get(job, "discord") is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"modality": "pet"}, "Unknown modality 'pet'. Choose one of: xray, ct"),
        ({"size": "big"}, "Size must be a number of pixels"),
        ({"size": 300}, "Size 300 is not offered. Choose one of 256, 384, 512, 768, 1024"),
        ({"dm_results": "perhaps"}, "dm_results takes yes or no, got 'perhaps'"),
        ({"colour": "red"}, "Unknown setting 'colour'"),
    ],
)
def test_bad_preferences_say_what_is_allowed(changes: dict, expected: str) -> None:
    with pytest.raises(PreferenceError) as err:
        validate(changes)
    assert expected in err.value.message


# --- images -------------------------------------------------------------------------------

def _noise_png(path: Path, size: int) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)
    return path


def test_fit_upload_keeps_small_files_and_shrinks_big_ones(tmp_path: Path) -> None:
    small = _noise_png(tmp_path / "small.png", 64)
    enc = fit_upload(small, 10 * 2**20)
    assert enc.data == small.read_bytes() and enc.note is None and enc.filename == "small.png"

    big = _noise_png(tmp_path / "grid.png", 1024)  # noise: ~3 MiB as PNG
    limit = 2**20
    assert big.stat().st_size > limit
    enc = fit_upload(big, limit)
    assert len(enc.data) <= limit
    assert enc.filename == "grid.jpg"
    assert "over the 1 MiB upload limit" in (enc.note or "")
    from io import BytesIO
    assert Image.open(BytesIO(enc.data)).format == "JPEG"


def test_label_overlay_tints_labelled_regions(tmp_path: Path) -> None:
    img = np.full((100, 80), 128, np.uint8)
    lab = np.zeros((100, 80), np.uint8)
    lab[10:30, 10:30] = 3
    Image.fromarray(img).save(tmp_path / "v.png")
    Image.fromarray(lab).save(tmp_path / "v.labels.png")
    out = label_overlay(tmp_path / "v.png", tmp_path / "v.labels.png",
                        {"0": "background", "3": "consolidation", "7": "absent"})
    arr = np.asarray(out)
    assert out.width == 80 and out.height > 100  # legend below, image unchanged in size
    inside, outside = arr[20, 20], arr[60, 60]
    assert tuple(outside) == (128, 128, 128)
    assert tuple(inside) != (128, 128, 128)
    json.dumps({"ok": True})


# --- user text, rate limits ---------------------------------------------------------------

def test_user_text_spans_cannot_be_forged_or_closed_early() -> None:
    from imagine_med.bot import markup
    from imagine_med.bot.slack_render import mrkdwn

    typed = f"a{markup.CLOSE}<!channel>{markup.OPEN}*b*"  # tries to leave its span
    text = "<@U1> ok\nignored: " + markup.said(typed) + " **done**"
    assert markup.spans(text) == [("<@U1> ok\nignored: ", False), ("a<!channel>*b*", True),
                                  (" **done**", False)]
    assert markup.plain(text) == "<@U1> ok\nignored: a<!channel>*b* **done**"
    assert mrkdwn(text, mentions=("U1",)) == (
        "<@U1> ok\nignored: `a&lt;!channel&gt;*b*` *done*")
    assert mrkdwn(text) .startswith("&lt;@U1&gt; ok")  # a mention not asked for is text
    # an opening mark typed into unmarked text only widens what is escaped
    assert markup.spans("x" + markup.OPEN + "<!here>") == [("x", False), ("<!here>", True)]


def test_token_buckets_refill_and_take_from_all_or_none(redis_url: str,
                                                        namespace: str) -> None:
    import redis

    from imagine_med.bot.ratelimit import Rate, RateLimiter

    clock = FakeClock()
    lim = RateLimiter(redis.Redis.from_url(redis_url), namespace, clock=clock)
    person, channel = lim.bucket("u1", Rate(2, 60)), lim.bucket("c", Rate(3, 60))
    other = lim.bucket("u2", Rate(2, 60))
    assert lim.take([person, channel]) == 0 and lim.take([person, channel]) == 0
    assert 29 < lim.take([person, channel]) <= 30  # one token per 30 s
    assert lim.take([other, channel]) == 0  # the channel's last token
    assert lim.take([other, channel]) > 0  # refused by the channel: `other` keeps its token
    clock.now += 30
    assert lim.take([other]) == 0 and lim.take([other]) == 0  # 1 left + 1 refilled
    assert lim.take([other]) > 0
    assert lim.take([lim.bucket("u3", None)]) == 0  # no rate configured: no limit
    assert Rate.parse("20/600") == Rate(20, 600) and Rate.parse("0") is None
    with pytest.raises(ValueError, match="20/600"):
        Rate.parse("twenty")


def test_one_review_decides_the_whole_held_prompt_without_the_service(
        redis_url: str, namespace: str, tmp_path: Path) -> None:
    from bot_mocks.stack import make_stack

    from imagine_med.bot.jobs import Who
    from imagine_med.bot.queue_backend import QueueJobs
    from imagine_med.prompt import parse

    stack = make_stack(redis_url, namespace, tmp_path)
    try:
        jobs = QueueJobs(stack.queue, moderation=None)  # the pure screen, no records
        prompt = "{PA, AP} chest x-ray, make it look like a real scan"
        who = Who("slack", "U1", "C1", "T1")
        screened, held = jobs.submit_screened(prompt, parse(prompt), who)
        assert screened.decision == "hold" and [j.state for j in held] == ["held", "held"]
        jobs.review(held[1].id, Who("slack", "UMOD", "CMOD", "T1", is_moderator=True), True, "")
        assert [jobs.get(j.id).state for j in held] == ["queued", "queued"]  # type: ignore[union-attr]
    finally:
        stack.close()
