"""A finished job's files as the bot shows them: alt text, the answer key with its label
overlay, and the finished DICOM export. Functions over `JobView.files`; no platform code, and
no engine work (DICOM files are made by a worker, see `imagine_med.queue.exports`)."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from PIL import Image

from imagine_med.bot.images import label_overlay
from imagine_med.bot.jobs import JobView
from imagine_med.bot.reply import Attachment, Reply
from imagine_med.prompt.spec import CaseSpec


def case_doc(files: dict[str, Path]) -> dict[str, Any] | None:
    path = files.get("case.json")
    if path is None or not path.exists():
        return None
    return json.loads(path.read_text())


def alt_text(doc: dict[str, Any] | None, spec: CaseSpec | None) -> str:
    """Alt text that says what the synthetic image shows (Slack alt_txt, Discord description)."""
    desc = (doc or {}).get("interpreted_as") or (spec.describe() if spec else "")
    return f"Synthetic teaching image (not a real patient): {desc}"[:1000]


def answer_reply(job: JobView, doc: dict[str, Any], index: int) -> Reply:
    variants = doc.get("variants") or []
    pick = next((v for v in variants if v.get("index") == index), None) if index else None
    findings = (pick or doc).get("findings") or []
    key = (pick or doc).get("answer_key") or "normal study"
    label = f"variant {index}" if pick else "this case"
    if job.kind == "upscale" and job.parent_index:
        label = f"upscaled variant {job.parent_index}"
    lines = [f"🔑 Answer key for {label} (job `{job.short}`): {key}"]
    for f in findings:  # the labelled findings, unless the key's prose already says them
        desc = f.get("description") or ""
        if desc and desc in key:
            continue
        where = ", ".join(x for x in (f.get("laterality"), f.get("location")) if x)
        lines.append(f"• {desc or f['name'].replace('_', ' ')}"
                     + (f" ({where})" if where and not desc else ""))
    attachments = []
    if job.files:
        overlay = overlay_file(job.id, job.files, doc, index)
        if overlay is not None:
            attachments.append(Attachment(overlay, f"answer-{job.id}-{index}.png",
                                          "Label overlay of the synthetic findings",
                                          spoiler=True))
    return Reply("\n".join(lines), attachments=attachments, ephemeral=True, job_id=job.id)


_private_dir: Path | None = None


def private_dir() -> Path:
    """This process's own folder for files it makes to post (answer overlays): created by
    mkdtemp (mode 0700, an unpredictable name), so nothing another user or process left in
    the shared temp directory is ever taken for ours."""
    global _private_dir
    if _private_dir is None or not _private_dir.is_dir():
        _private_dir = Path(tempfile.mkdtemp(prefix="imagine-med-bot-"))
    return _private_dir


def overlay_file(job_id: str, files: dict[str, Path], doc: dict[str, Any],
                  index: int) -> Path | None:
    """variant-N.png tinted by its labels (all four tiled for index 0), cached per job in
    this process's private folder."""
    target = private_dir() / f"answer-{job_id}-{index}.png"
    if target.exists():
        return target
    tiles = []
    for i in [index] if index else [1, 2, 3, 4]:
        img, lab = files.get(f"variant-{i}.png"), files.get(f"variant-{i}.labels.png")
        if img is None or lab is None:
            continue
        variant = next((v for v in doc.get("variants", []) if v.get("index") == i), doc)
        # the answer is the findings: tint those, not every anatomical label
        labels = {str(f["label_id"]): f["name"] for f in variant.get("findings") or []
                  if f.get("label_id")}
        tiles.append(label_overlay(img, lab, labels, title=f"variant {i}",
                                   masks_path=files.get(f"variant-{i}.masks.npz")))
    if not tiles:
        return None
    if len(tiles) == 1:
        out = tiles[0]
    else:
        w, h = max(t.width for t in tiles), max(t.height for t in tiles)
        out = Image.new("RGB", (2 * w, 2 * h))
        for i, t in enumerate(tiles):
            out.paste(t, ((i % 2) * w, (i // 2) * h))
    tmp = target.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp.png")
    out.save(tmp)
    tmp.replace(target)
    return target


def dicom_reply(job: JobView) -> Reply:
    """A finished `dicom` job: its zip (made by a worker from the posted files), privately."""
    archive = job.files.get("dicom.zip")
    index = int(job.params.get("variant") or 0)
    parent = job.parent_id or job.id
    what = f"variant {index}" if index else "all variants"
    if archive is None:
        return Reply(f"The DICOM export of job `{parent}` has no file to post.",
                     ephemeral=True, job_id=job.id)
    return Reply(
        f"DICOM of {what} (job `{parent}`): the posted images with their label segmentations "
        "and case.json.",
        attachments=[Attachment(archive, f"imagine-med-{parent}-dicom-{index or 'all'}.zip",
                                "Synthetic DICOM export")],
        ephemeral=True, job_id=job.id)
