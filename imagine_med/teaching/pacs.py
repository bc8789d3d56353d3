"""Send cases' DICOM to a teaching-file PACS: DICOMweb STOW-RS or DICOM C-STORE.

A target is one string, so a channel setting, a CLI option and a test all say it the same way:
- `http(s)://host:port/dicom-web` (the DICOMweb root; STOW-RS posts to {root}/studies), with
  optional `user:password@` for HTTP basic auth;
- `dicom://CALLED_AE@host:port` (C-STORE; our calling AE title is `calling_ae`).
Every instance is checked for SyntheticData=YES before it leaves: a PACS must never receive
an image from here that does not say it is synthetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pydicom
from pydicom.dataset import Dataset

from imagine_med.errors import UserError

CALLING_AE = "IMAGINE_MED"
AE_MAX = 16  # DICOM PS3.5: an AE title is at most 16 characters
TIMEOUT_S = 30.0


class PacsError(UserError):
    """A PACS target that is malformed, unreachable or refused an instance."""


@dataclass(frozen=True)
class PacsTarget:
    kind: str  # "stow" or "cstore"
    url: str = ""  # DICOMweb root (stow)
    host: str = ""
    port: int = 104
    called_ae: str = ""
    username: str | None = None
    password: str | None = None

    def describe(self) -> str:
        if self.kind == "stow":
            return f"DICOMweb {self.url}"
        return f"C-STORE {self.called_ae}@{self.host}:{self.port}"


def parse_target(text: str) -> PacsTarget:
    """`http(s)://...` (STOW-RS) or `dicom://AE@host:port` (C-STORE); a clear error otherwise."""
    parts = urlsplit(text.strip())
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise PacsError(f"'{text}' has no host; e.g. http://pacs:8042/dicom-web.")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        root = f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"
        return PacsTarget("stow", url=root, username=unquote(parts.username or "") or None,
                          password=unquote(parts.password or "") or None)
    if parts.scheme == "dicom":
        ae = unquote(parts.username or "")
        if not ae or len(ae) > AE_MAX or not ae.isascii() or "\\" in ae:
            raise PacsError(f"'{text}': the called AE title (before @) must be 1-{AE_MAX} "
                            "ASCII characters, e.g. dicom://ORTHANC@pacs:4242.")
        try:
            port = parts.port or 104
        except ValueError:
            raise PacsError(f"'{text}' has a port that is not a number.") from None
        if not parts.hostname:
            raise PacsError(f"'{text}' has no host; e.g. dicom://ORTHANC@pacs:4242.")
        return PacsTarget("cstore", host=parts.hostname, port=port, called_ae=ae)
    raise PacsError(f"'{text}' is not a PACS address: use http(s)://host:port/dicom-web "
                    "(STOW-RS) or dicom://AE_TITLE@host:port (C-STORE).")


@dataclass
class SendReport:
    target: str
    sent: list[str] = field(default_factory=list)  # SOPInstanceUIDs accepted
    failed: dict[str, str] = field(default_factory=dict)  # SOPInstanceUID -> why

    @property
    def ok(self) -> bool:
        return not self.failed and bool(self.sent)


def _load(paths: Sequence[Path | str]) -> list[Dataset]:
    out = []
    for p in paths:
        ds = pydicom.dcmread(str(p))
        if str(ds.get("SyntheticData", "")).upper() != "YES":
            raise PacsError(f"{Path(p).name} does not say SyntheticData=YES; not sent.")
        out.append(ds)
    return out


def send(paths: Sequence[Path | str], target: PacsTarget | str,
         calling_ae: str = CALLING_AE) -> SendReport:
    """Send the DICOM files at `paths` to `target`; raises PacsError when it cannot connect."""
    t = parse_target(target) if isinstance(target, str) else target
    datasets = _load(paths)
    if t.kind == "stow":
        return _stow(datasets, t)
    return _cstore(datasets, t, calling_ae)


def _session(t: PacsTarget):
    import requests

    s = requests.Session()
    if t.username:
        s.auth = (t.username, t.password or "")
    return s


def _stow(datasets: list[Dataset], t: PacsTarget) -> SendReport:
    """STOW-RS (PS3.18 10.5), one request per study, via dicomweb-client."""
    import requests
    from dicomweb_client.api import DICOMwebClient

    client = DICOMwebClient(url=t.url, session=_session(t))
    report = SendReport(t.describe())
    by_study: dict[str, list[Dataset]] = {}
    for ds in datasets:
        by_study.setdefault(str(ds.StudyInstanceUID), []).append(ds)
    for study, items in by_study.items():
        try:
            resp = client.store_instances(datasets=items, study_instance_uid=study)
        except requests.ConnectionError as exc:
            raise PacsError(f"Cannot reach {t.url}: {type(exc).__name__}.") from None
        except requests.HTTPError as exc:
            for ds in items:
                report.failed[str(ds.SOPInstanceUID)] = f"HTTP {exc.response.status_code}"
            continue
        failed = {str(item.ReferencedSOPInstanceUID): f"failure {item.get('FailureReason')}"
                  for item in (resp.get("FailedSOPSequence") or [])}
        report.failed.update(failed)
        report.sent += [str(ds.SOPInstanceUID) for ds in items
                        if str(ds.SOPInstanceUID) not in failed]
    return report


def _cstore(datasets: list[Dataset], t: PacsTarget, calling_ae: str) -> SendReport:
    """C-STORE (PS3.4 B) over one association, each instance in its own transfer syntax."""
    from pynetdicom import AE

    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
    for sop, ts in sorted({(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID))
                           for ds in datasets}):
        ae.add_requested_context(sop, ts)
    assoc = ae.associate(t.host, t.port, ae_title=t.called_ae)
    if not assoc.is_established:
        raise PacsError(f"{t.describe()} refused or did not answer the association.")
    report = SendReport(t.describe())
    try:
        for ds in datasets:
            status = assoc.send_c_store(ds)
            uid = str(ds.SOPInstanceUID)
            code = getattr(status, "Status", None)
            if code == 0x0000:
                report.sent.append(uid)
            else:
                report.failed[uid] = "no answer" if code is None else f"status 0x{code:04X}"
    finally:
        assoc.release()
    return report


def query_instances(dicomweb_root: str, study_uid: str | None = None) -> list[Dataset]:
    """What a DICOMweb server holds (of one study, or all): QIDO-RS finds the instances, then
    WADO-RS reads each one's metadata, since a QIDO answer carries only the attributes the
    server indexes (Orthanc's leaves out SyntheticData). Pixel data are not fetched."""
    from dicomweb_client.api import DICOMwebClient

    client = DICOMwebClient(url=dicomweb_root.rstrip("/"))
    out = []
    for doc in client.search_for_instances(study_instance_uid=study_uid):
        found = Dataset.from_json(doc)
        meta = client.retrieve_instance_metadata(
            str(found.StudyInstanceUID), str(found.SeriesInstanceUID),
            str(found.SOPInstanceUID))
        out.append(Dataset.from_json(meta, bulk_data_uri_handler=lambda *_: b""))
    return out
