"""The course library and quiz tables on SQLite and PostgreSQL (migrated by Alembic): rights,
search, one reveal per quiz, and scores per channel and per course."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from imagine_med.store.db import make_engine, utcnow
from imagine_med.teaching.library import (
    CaseFacts,
    Library,
    LibraryError,
    Member,
    clean_tags,
)
from imagine_med.teaching.quiz import QuizError, QuizStore, check_seconds
from imagine_med.teaching.quiz_choices import (
    NORMAL,
    Answer,
    build_choices,
    distractor_pool,
    is_right,
    match_free_text,
)

OWNER = Member("slack", "T1", "U1", "ann", instructor=False)
TEACHER = Member("slack", "T1", "U9", "prof", instructor=True)
STUDENT = Member("slack", "T1", "U2", "bob")
ELSEWHERE = Member("slack", "T2", "U1", "ann")  # the same user id in another workspace
CHEST = CaseFacts("xray", "chest", ("consolidation",), "PA chest X-ray · consolidation")
HEAD = CaseFacts("mri", "brain", ("infarct",), "axial brain MRI · infarct")


def test_migration_creates_the_tables(store_url: str) -> None:
    names = set(sa.inspect(make_engine(store_url)).get_table_names())
    assert {"library_collections", "library_items", "quizzes", "quiz_answers"} <= names
    with make_engine(store_url).connect() as conn:
        heads = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    assert len(heads) == 1 and heads[0] >= "0004"  # one line, at or past the quiz tables


def test_library_rights_and_search(store_url: str) -> None:
    lib = Library(store_url)
    a = lib.save(OWNER, "Chest Week-1", "job-a", CHEST, tags=clean_tags("#Pneumonia, rad101"),
                 note="look at the fissure")
    assert (a.collection, a.tags, a.findings) == ("chest-week-1", ("pneumonia", "rad101"),
                                                  ("consolidation",))
    # a member may not add to someone's collection; an instructor may
    with pytest.raises(LibraryError, match="belongs to someone else"):
        lib.save(STUDENT, "chest-week-1", "job-b", HEAD)
    b = lib.save(TEACHER, "chest-week-1", "job-b", HEAD, tags=("neuro",))
    with pytest.raises(LibraryError, match="already in"):
        lib.save(OWNER, "chest-week-1", "job-a", CHEST)
    # everyone in the workspace searches; nobody elsewhere sees anything
    assert [i.id for i in lib.search(STUDENT, finding="consolidation")] == [a.id]
    assert [i.id for i in lib.search(STUDENT, finding="infarct")] == [b.id]
    assert [i.id for i in lib.search(STUDENT, modality="MRI")] == [b.id]
    assert [i.id for i in lib.search(STUDENT, tag="rad101")] == [a.id]
    assert lib.search(STUDENT, tag="rad10") == []  # whole tags only
    assert [i.id for i in lib.search(STUDENT, author="prof")] == [b.id]
    assert [i.id for i in lib.search(STUDENT, author="U1")] == [a.id]
    assert lib.search(ELSEWHERE, finding="consolidation") == []
    with pytest.raises(LibraryError, match="No library item"):
        lib.get(ELSEWHERE, a.id)
    assert [(c.name, c.items, c.owner_id) for c in lib.collections(STUDENT)] == [
        ("chest-week-1", 2, "U1")]
    # members view only; the owner, the author and instructors edit
    with pytest.raises(LibraryError, match="Only the collection's owner"):
        lib.edit(STUDENT, a.id, note="mine now")
    assert lib.edit(OWNER, b.id, tags=("neuro", "stroke")).tags == ("neuro", "stroke")
    assert lib.edit(TEACHER, a.id, note="").note == ""
    with pytest.raises(LibraryError):
        lib.remove(STUDENT, b.id)
    lib.remove(OWNER, b.id)
    assert [i.id for i in lib.items_of(STUDENT, "chest-week-1")] == [a.id]
    # LIKE wildcards in a search are literal
    assert lib.search(STUDENT, finding="%") == []


def test_bad_names_and_tags_are_refused() -> None:
    for bad in ("a b c d e f g h i j k l m", "<@U1>", "x" * 40):
        with pytest.raises(LibraryError):
            clean_tags(bad)
    assert clean_tags("a, b  a") == ("a", "b")


def test_quiz_closes_once_and_scores_per_channel_and_course(store_url: str) -> None:
    store = QuizStore(store_url)

    def run(channel: str, course: str | None, answers: dict[str, bool]) -> str:
        q = store.create(platform="discord", team="G", channel=channel, host_id="H",
                         host_name="host", seconds=60, course=course, job_id="j")
        assert not store.answer(q.id, "X", None, "nodule", None, False)  # not open yet
        store.open(q.id, choices=["nodule", "consolidation"], answers=["consolidation"],
                   answer_key="consolidation", variant=1)
        for user, ok in answers.items():
            store.answer(q.id, user, f"name-{user}", "nodule", None, not ok)  # replaced below
            assert store.answer(q.id, user, f"name-{user}", "consolidation" if ok else
                                "nodule", None, ok)
        assert store.unrevealed_job("j")
        assert [store.close(q.id), store.close(q.id)] == [True, False]
        assert not store.answer(q.id, "late", None, "consolidation", None, True)
        return q.id

    run("C1", "rad101", {"a": True, "b": False, "c": True})
    run("C2", "rad101", {"a": True, "b": True})
    run("C1", None, {"b": True})
    assert not store.unrevealed_job("j")
    course = store.leaderboard("discord", "G", channel="C1", course="rad101")
    # most points first; of equal points, fewer answers (better aim) first
    assert [(s.user_id, s.points, s.answered) for s in course] == [
        ("a", 2, 2), ("c", 1, 1), ("b", 1, 2)]
    channel = store.leaderboard("discord", "G", channel="C1")
    assert [(s.user_id, s.points, s.answered) for s in channel] == [
        ("a", 1, 1), ("c", 1, 1), ("b", 1, 2)]
    assert store.leaderboard("discord", "OTHER", channel="C1") == []
    assert store.leaderboard("slack", "G", channel="C1") == []


def test_timer_due_only_after_closes_at(store_url: str) -> None:
    store = QuizStore(store_url)
    q = store.create(platform="slack", team="T", channel="C", host_id="H", host_name=None,
                     seconds=30)
    start = utcnow()
    store.open(q.id, choices=["a"], answers=[], answer_key="normal", variant=1, now=start)
    assert store.due("slack", start + timedelta(seconds=29)) == []
    assert [d.id for d in store.due("slack", start + timedelta(seconds=30))] == [q.id]
    assert store.due("discord", start + timedelta(seconds=31)) == []
    assert not store.answer(q.id, "u", None, NORMAL, None, True,
                            now=start + timedelta(seconds=31))
    with pytest.raises(QuizError):
        check_seconds(5)


def test_choices_and_free_text(tmp_path: Path) -> None:
    pool = distractor_pool("xray", "chest")
    assert "infarct" not in pool and "et_tube" not in pool and "pleural_effusion" in pool
    head = distractor_pool("mri", "brain")
    assert "infarct" in head and "consolidation" not in head
    for seed in range(30):
        answers = [Answer("consolidation", "consolidation (right, RUL)", 900),
                   Answer("pleural_effusion", "small effusion", 100)]
        choices = build_choices(answers, "xray", "chest", random.Random(seed))
        assert len(choices) == 4 and len(set(choices)) == 4
        assert choices.count("consolidation") == 1 and "pleural_effusion" not in choices
        assert all(c in pool or c == NORMAL for c in choices)
    normal = build_choices([], "xray", "chest", random.Random(1))
    assert NORMAL in normal and len(normal) == 4
    positions = {build_choices(answers, "xray", "chest", random.Random(s)).index(
        "consolidation") for s in range(40)}
    assert positions == {0, 1, 2, 3}  # the right answer is not always in one place
    assert match_free_text("Right upper lobe PNEUMONIA?") == "consolidation"
    assert match_free_text("a small pleural effusion") == "pleural_effusion"
    assert match_free_text("effusion", "knee") == "joint_effusion"
    assert match_free_text("looks normal to me") == NORMAL
    assert match_free_text("no idea") is None
    assert is_right("consolidation", ["consolidation"]) and not is_right(NORMAL, ["nodule"])
    assert is_right(NORMAL, []) and not is_right(None, [])


def test_cli_lists_searches_and_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from imagine_med.cli import main
    from imagine_med.settings import get_settings
    from imagine_med.store import migrate

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate(url)
    lib = Library(url)
    lib.save(OWNER, "chest-week-1", "job-a", CHEST, tags=("rad101",), note="fissure")
    lib.save(OWNER, "neuro", "job-b", HEAD)
    store = QuizStore(url)
    q = store.create(platform="slack", team="T1", channel="C1", host_id="H", host_name=None,
                     seconds=60, course="rad101")
    store.open(q.id, choices=["consolidation"], answers=["consolidation"], answer_key="k",
               variant=1)
    store.answer(q.id, "U2", "bob", "consolidation", None, True)
    store.close(q.id)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()

    def cli(*argv: str) -> list[dict]:
        capsys.readouterr()
        assert main(["library", *argv, "--platform", "slack", "--team", "T1", "--json"]) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    try:
        assert [(c["name"], c["items"]) for c in cli("collections")] == [
            ("chest-week-1", 1), ("neuro", 1)]
        found = cli("search", "--finding", "consolidation")
        assert [(f["job"], f["tags"], f["note"]) for f in found] == [
            ("job-a", ["rad101"], "fissure")]
        assert cli("scores", "--course", "rad101") == [
            {"rank": 1, "user": "bob", "user_id": "U2", "points": 1, "answers": 1}]
    finally:
        get_settings.cache_clear()


def test_quiz_image_keeps_pixels_and_mark_and_drops_the_metadata(tmp_path: Path) -> None:
    import numpy as np
    from bot_mocks.renderer import render_locally
    from PIL import Image
    from quiz_support import PROMPT, leak_words, leaks, png_text

    from imagine_med.provenance.verify import verify_bytes
    from imagine_med.teaching.quiz_media import quiz_image

    files = render_locally(tmp_path / "case", PROMPT)
    source = files["variant-1.png"]
    assert any("prompt_sha256" in t for t in png_text(source.read_bytes()))  # what is dropped
    out = quiz_image(source, "q1", "phantom")
    data = out.read_bytes()
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(source)))
    assert verify_bytes(data, out.name).marked  # the invisible mark is in the pixels
    keys = sorted(t.split("\0")[0] for t in png_text(data))
    assert keys == ["Description", "Software", "imagine-med:digital_source_type",
                    "imagine-med:quiz", "imagine-med:synthetic"]
    assert not leaks(data.decode("latin-1"), leak_words())


def test_migrate_takes_every_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another teaching revision made in parallel after 0003_bot (a second head) does not stop
    `migrate()`: both branches are applied."""
    import importlib
    import shutil

    migrate_module = importlib.import_module("imagine_med.store.migrate")

    copy = tmp_path / "migrations"
    shutil.copytree(migrate_module.MIGRATIONS_DIR, copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "versions" / "0004_other_parallel.py").write_text(
        'revision = "0004_other"\ndown_revision = "0003_bot"\nbranch_labels = None\n'
        "depends_on = None\n\n\ndef upgrade() -> None:\n    from alembic import op\n"
        '    op.execute("CREATE TABLE other_parallel (id INTEGER PRIMARY KEY)")\n\n\n'
        "def downgrade() -> None:\n    pass\n")
    monkeypatch.setattr(migrate_module, "MIGRATIONS_DIR", copy)
    url = f"sqlite:///{tmp_path / 'heads.db'}"
    migrate_module.migrate(url)
    names = set(sa.inspect(make_engine(url)).get_table_names())
    assert {"other_parallel", "quizzes", "library_items"} <= names
