"""The bot core on the real queue stack: prompts nothing here renders are refused up front, in
the words of the request, and nothing is queued; files the bot makes stay in its own folder."""

from __future__ import annotations

import stat
import tempfile
from pathlib import Path

import pytest
from bot_mocks.stack import make_stack

from imagine_med.bot.jobs import Who

WHO = Who("discord", "1700000000000000001", "1200000000000000001", "1300000000000000001")
# rows the listing names (other rows, e.g. teeth and abdomen films, sit between them)
AVAILABLE = ("available: phantom — X-ray chest (PA, AP, lateral)",
             "CT chest (axial, coronal, sagittal)", "CT head (axial, coronal, sagittal)",
             "MRI brain (axial, coronal, sagittal)")


@pytest.mark.parametrize(("prompt", "said"), [
    ("sagittal knee MRI, torn meniscus", "MRI knee is not available yet"),
    ("lateral abdominal x-ray", "X-ray abdomen (lateral view) is not available yet"),
    ("ultrasound of the breast", "Ultrasound breast is not available yet"),
    ("ultrasound of the knee", "Ultrasound knee is not available yet"),
    ("oblique chest x-ray", "X-ray chest (oblique view) is not available yet"),
    ("PA chest x-ray --engine diffusion", "The diffusion engine is not set up here"),
])
async def test_unrenderable_prompts_are_refused_before_queueing(
        redis_url: str, namespace: str, tmp_path: Path, prompt: str, said: str) -> None:
    stack = make_stack(redis_url, namespace, tmp_path)
    try:
        outcome = await stack.core.imagine(WHO, prompt)
        [reply] = outcome.replies
        assert reply.ephemeral and said in reply.text, reply.text
        assert all(row in reply.text for row in AVAILABLE), reply.text
        assert "chest views" not in reply.text
        assert outcome.jobs == [] and outcome.moderation == []
        assert stack.queue.list_jobs() == []
        assert not list(stack.queue.redis.scan_iter(f"{namespace}:job:*"))
    finally:
        stack.close()


async def test_a_renderable_prompt_is_still_queued(redis_url: str, namespace: str,
                                                   tmp_path: Path) -> None:
    stack = make_stack(redis_url, namespace, tmp_path)
    try:
        outcome = await stack.core.imagine(WHO, "axial chest CT, left lower lobe mass")
        assert [j.state for j in outcome.jobs] == ["queued"]
    finally:
        stack.close()


def test_answer_overlays_live_in_a_private_folder(tmp_path: Path) -> None:
    """Never a fixed path in the shared temp dir: a file planted where the old code looked is
    not what the bot posts."""
    from bot_mocks.renderer import render_locally

    from imagine_med.bot import casefiles

    files = render_locally(tmp_path / "case", "PA chest x-ray, left pleural effusion --seed 5")
    doc = casefiles.case_doc(files)
    assert doc is not None
    planted = Path(tempfile.gettempdir()) / "imagine-med-answers" / "job-x-1.png"
    planted.parent.mkdir(exist_ok=True)
    planted.write_bytes(b"not ours")
    made = casefiles.overlay_file("job-x", files, doc, 1)
    assert made is not None and made != planted and made.read_bytes() != b"not ours"
    folder = made.parent
    assert folder == casefiles.private_dir() and folder.parent == Path(tempfile.gettempdir())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert folder.name.startswith("imagine-med-bot-") and folder.name != "imagine-med-answers"
