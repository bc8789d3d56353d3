"""One case's written files, whatever made them: a case-set folder, a finished job's stored
files, a collection's saved jobs. Exports and PACS take a list of these.

A case is one variant of a written case folder (`case.write_case`'s files: case.json,
variant-N.png as posted with band and mark, variant-N.labels.png, and for CT/MR the raw
values the queue stores beside them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from imagine_med.errors import UserError


class CaseFilesError(UserError):
    """A case whose files are missing or unreadable; `message` names which."""


@dataclass
class TeachingCase:
    """`files`: name -> path of one case's written files; `variant`: which image (1-based)."""

    case_id: str
    files: dict[str, Path]
    variant: int = 1
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("case.json", self.image_name, self.labels_name):
            if name not in self.files:
                raise CaseFilesError(f"case {self.case_id} has no {name}")
        self.title = self.title or f"Case {self.case_id}"

    @property
    def image_name(self) -> str:
        return f"variant-{self.variant}.png"

    @property
    def labels_name(self) -> str:
        return f"variant-{self.variant}.labels.png"

    @property
    def image(self) -> Path:
        """The image exactly as posted: band, invisible mark and metadata."""
        return self.files[self.image_name]

    @property
    def labels(self) -> Path:
        return self.files[self.labels_name]

    @cached_property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.files["case.json"].read_text())

    @property
    def entry(self) -> dict[str, Any]:
        """This variant's block of case.json."""
        for e in self.doc.get("variants") or []:
            if int(e["index"]) == self.variant:
                return e
        raise CaseFilesError(f"case {self.case_id} has no variant {self.variant}")

    @property
    def answer_key(self) -> str:
        return str(self.entry.get("answer_key") or self.doc.get("answer_key") or "")

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.entry.get("findings") or [])

    @property
    def study(self) -> str:
        """What the study is, without its findings (safe to show before the answer)."""
        spec = self.doc.get("spec") or {}
        bits = [spec.get("view") or "", spec.get("plane") or "", spec.get("sequence") or "",
                {"xray": "X-ray", "ct": "CT", "mri": "MRI", "us": "ultrasound"}.get(
                    spec.get("modality", ""), spec.get("modality", "")),
                spec.get("region") or ""]
        return " ".join(b.upper() if b in ("pa", "ap") else b for b in bits if b)


def case_from_folder(folder: Path | str, case_id: str | None = None, variant: int = 1,
                     title: str = "") -> TeachingCase:
    folder = Path(folder)
    files = {p.name: p for p in folder.iterdir() if p.is_file()}
    return TeachingCase(case_id or folder.name, files, variant, title)


def cases_from_caseset(out_dir: Path | str) -> list[TeachingCase]:
    """A written case set's cases, in manifest order."""
    out = Path(out_dir)
    manifest = json.loads((out / "manifest.json").read_text())
    return [case_from_folder(out / Path(row["case_json"]).parent, row["case_id"],
                             title=f"Case {i}") for i, row in enumerate(manifest["cases"], 1)]


def case_from_job(queue: Any, job_id: str, variant: int = 1) -> TeachingCase:
    """A finished job's stored files (`JobQueue.files`) as a case: what a collection holds."""
    files = queue.files(job_id)
    if not files:
        raise CaseFilesError(f"job {job_id} has no stored files")
    return TeachingCase(job_id, {n: Path(p) for n, p in files.items()}, variant)


def cases_from_jobs(queue: Any, refs: list[tuple[str, int]]) -> list[TeachingCase]:
    """(job id, variant) pairs, e.g. a collection's items, as cases in the given order."""
    return [case_from_job(queue, job_id, variant) for job_id, variant in refs]
