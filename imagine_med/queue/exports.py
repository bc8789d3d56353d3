"""The `dicom` job: a finished job's variants as DICOM, made by a worker from the stored files.

Why a job and not the bot: the export must show the pixels that were posted, and only the
stored files hold them (a diffusion render is not reproducible from its seed); converting them
is file work that belongs next to the other renders, not in a chat adapter's process. The bot
only posts the zip this job stores.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

from imagine_med.queue.api import JobQueue
from imagine_med.queue.types import JobInfo

ZIP_NAME = "dicom.zip"


def zip_folder(paths: dict[str, Path], target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, path in sorted(paths.items()):
            z.write(path, name)
    return target


def export_dicom(q: JobQueue, info: JobInfo) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Run a `dicom` job: params parent_id and variant (0: all). Returns the stored files
    (name -> blob key: variant-N.dcm, variant-N.seg.dcm, case.json and dicom.zip holding
    them) and no image rows (DICOM files are not images of the store's PNG kind)."""
    from imagine_med.provenance.dicom import DicomExportError, write_dicom_from_files

    parent_id = str(info.params["parent_id"])
    index = int(info.params.get("variant") or 0)
    files = q.files(parent_id)
    if not files:
        raise DicomExportError(f"job {parent_id} has no stored files to export")
    stored: dict[str, str] = {}
    # a private folder (mkdtemp: mode 0700, a fresh name), removed afterwards
    with tempfile.TemporaryDirectory(prefix="imagine-med-dicom-") as tmp:
        written = write_dicom_from_files(files, Path(tmp) / "dicom",
                                         variants=[index] if index else None)
        written[ZIP_NAME] = zip_folder(written, Path(tmp) / ZIP_NAME)
        for name, path in sorted(written.items()):
            stored[name] = q.blobs.put(path.read_bytes(), Path(name).suffix)
    return stored, []
