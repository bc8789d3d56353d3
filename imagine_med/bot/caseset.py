"""`/imagine-med-set`: a balanced case set from a chat, as one batch-lane job.

The command's text reads like the CLI's arguments, the same on Discord and Slack:
`PA chest x-ray --findings pneumothorax, RUL consolidation, nodule --per-finding 20
--normal 0.2 [--seed 3] [--size 512]`. The request is screened like a prompt (a set cannot
wait for a moderator: held is refused), planned (so a bad finding is refused before anything
is queued), then queued; the job's status message shows its progress, and the result posts the
summary table with the manifest and, where it fits the platform's upload limit, the ZIP.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from imagine_med.bot.jobs import JobView
from imagine_med.bot.reply import Attachment, Reply
from imagine_med.errors import UserError
from imagine_med.teaching.plan import CaseSetRequest

FLAGS = {"findings": str, "per-finding": int, "normal": float, "seed": int, "size": int}
SLACK_UPLOAD_LIMIT = 1024 * 2**20  # Slack's file upload limit (1 GB)
EXAMPLE = ("PA chest x-ray --findings pneumothorax, RUL consolidation, nodule --per-finding 20 "
           "--normal 0.2")


class SetCommandError(UserError):
    """A /imagine-med-set text that cannot be read; `message` says how to write it."""


def parse_set_text(text: str) -> CaseSetRequest:
    """The command's text -> a CaseSetRequest (not yet planned)."""
    parts = re.split(r"(?:^|\s)--([a-z-]+)\s*", text.strip())
    prompt, values = parts[0].strip(), {}
    for flag, value in zip(parts[1::2], parts[2::2], strict=True):
        if flag not in FLAGS:
            raise SetCommandError(f"Unknown option --{flag}; the options are "
                                  + ", ".join(f"--{f}" for f in FLAGS) + f". E.g. {EXAMPLE}")
        try:
            values[flag] = FLAGS[flag](value.strip())
        except ValueError:
            raise SetCommandError(f"--{flag} takes a number, not '{value.strip()}'.") from None
    if not prompt or "findings" not in values:
        raise SetCommandError(f"Name the study and --findings, e.g. {EXAMPLE}")
    findings = tuple(w.strip() for w in str(values["findings"]).split(",") if w.strip())
    return CaseSetRequest(prompt, findings, int(values.get("per-finding", 20)),
                          float(values.get("normal", 0.0)), int(values.get("seed", 0)),
                          values.get("size"))


def summary_lines(summary: list[dict[str, Any]]) -> list[str]:
    """The achieved distribution, one line per finding (chat tables do not survive)."""
    out = []
    for row in summary:
        bands = ", ".join(f"{k[4:]}: {v}" for k, v in row.items() if k.startswith("age "))
        out.append(f"• {row['finding']}: {row['cases']} (F {row['female']} / M {row['male']}"
                   + (f"; ages {bands}" if bands else "") + ")")
    return out


def read_summary(path: Path | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    with Path(path).open(newline="") as f:
        return list(csv.DictReader(f))


def caseset_reply(job: JobView, upload_limit: int) -> Reply:
    """The finished set: its summary (from the stored summary.csv), the manifest and summary
    files, and the ZIP where it fits under `upload_limit` (else how to get it)."""
    files = job.files
    summary = read_summary(files.get("summary.csv"))
    n = next((row["cases"] for row in summary if row["finding"] == "all"), "?")
    lines = [f"<@{job.owner}> Case set ready: {n} images · job `{job.id}`",
             *summary_lines([r for r in summary if r["finding"] != "all"])]
    attachments = [Attachment(files[name], f"imagine-med-{job.id}-{name}", "case-set table")
                   for name in ("summary.md", "manifest.csv") if name in files]
    archive = files.get("caseset.zip")
    if archive is not None:
        size = Path(archive).stat().st_size
        if size <= upload_limit:
            attachments.insert(0, Attachment(archive, f"imagine-med-{job.id}-caseset.zip",
                                             "Synthetic case set"))
        else:
            lines.append(f"The ZIP ({size / 2**20:.0f} MiB) is over this platform's upload "
                         f"limit ({upload_limit / 2**20:.0f} MiB); an operator can write it "
                         f"with `imagine-med fetch {job.id} --out DIR`.")
    lines.append("_Synthetic images for teaching. Not real patients. Not for diagnosis._")
    return Reply("\n".join(lines), job_id=job.id, attachments=attachments,
                 mentions=(job.owner,))
