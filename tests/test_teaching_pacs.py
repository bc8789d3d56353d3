"""PACS: a case list's DICOM sent to a real Orthanc (started here on free ports, with its
DICOMweb plugin) by STOW-RS and by C-STORE, then queried back with QIDO-RS."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from teaching_support import tiny_set  # noqa: F401
from tooling import need, need_program

from imagine_med.teaching import pacs
from imagine_med.teaching.cases import cases_from_caseset
from imagine_med.teaching.export import dicom_files

PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc")
AE_TITLE = "TEACHPACS"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dicomweb_plugin() -> str | None:
    for d in PLUGIN_DIRS:
        for p in sorted(Path(d).glob("libOrthancDicomWeb.so*")) if Path(d).is_dir() else []:
            return str(p)
    return None


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory) -> Iterator[dict]:
    exe = need_program("Orthanc", "orthanc")
    plugin = _dicomweb_plugin()
    need(plugin is not None, "Orthanc's DICOMweb plugin (orthanc-dicomweb)")
    tmp = tmp_path_factory.mktemp("orthanc")
    http, dicom = _free_port(), _free_port()
    config = {
        "Name": "imagine-med-test", "StorageDirectory": str(tmp / "db"),
        "IndexDirectory": str(tmp / "db"), "HttpPort": http, "DicomPort": dicom,
        "DicomAet": AE_TITLE, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
        "DicomCheckCalledAet": True, "DicomAlwaysAllowStore": True, "Plugins": [plugin],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "StudiesMetadata": "Full"},
        "HttpsVerifyPeers": False, "StorageCompression": False,
    }
    (tmp / "orthanc.json").write_text(json.dumps(config))
    log = (tmp / "orthanc.log").open("w")
    proc = subprocess.Popen([exe, str(tmp / "orthanc.json")], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{http}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"{base}/system", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
            if proc.poll() is not None:
                pytest.fail("Orthanc exited: " + (tmp / "orthanc.log").read_text()[-2000:])
        else:
            pytest.fail("Orthanc did not answer within 15 s")
        yield {"http": base, "dicomweb": f"{base}/dicom-web", "dicom": dicom}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_stow_and_cstore_reach_orthanc_and_query_back_synthetic(orthanc, tiny_set,  # noqa: F811
                                                                 tmp_path):
    cases = cases_from_caseset(tiny_set)[:4]
    by_stow = dicom_files(cases[:2], tmp_path / "stow")
    by_cstore = dicom_files(cases[2:], tmp_path / "cstore")
    assert any(p.name.endswith(".seg.dcm") for p in by_stow + by_cstore)  # SEGs travel too

    stow = pacs.send(by_stow, orthanc["dicomweb"])
    cstore = pacs.send(by_cstore, f"dicom://{AE_TITLE}@127.0.0.1:{orthanc['dicom']}")
    assert stow.ok and cstore.ok, (stow.failed, cstore.failed)

    sent = {str(pydicom.dcmread(p).SOPInstanceUID) for p in by_stow + by_cstore}
    assert set(stow.sent) | set(cstore.sent) == sent
    found = pacs.query_instances(orthanc["dicomweb"])
    uids = {str(ds.SOPInstanceUID) for ds in found}
    assert sent <= uids
    for ds in found:
        if str(ds.SOPInstanceUID) in sent:
            assert ds.SyntheticData == "YES"
    study = str(pydicom.dcmread(by_cstore[0]).StudyInstanceUID)
    assert {str(d.StudyInstanceUID) for d in pacs.query_instances(orthanc["dicomweb"],
                                                                  study)} == {study}


def test_cstore_to_a_wrong_ae_title_is_refused(orthanc, tiny_set, tmp_path):  # noqa: F811
    files = dicom_files(cases_from_caseset(tiny_set)[:1], tmp_path)
    with pytest.raises(pacs.PacsError) as err:
        pacs.send(files, f"dicom://NOT_IT@127.0.0.1:{orthanc['dicom']}")
    assert "refused" in err.value.message


def test_an_instance_without_synthetic_data_is_never_sent(tiny_set, tmp_path):  # noqa: F811
    (path,) = [p for p in dicom_files(cases_from_caseset(tiny_set)[:1], tmp_path)
               if not p.name.endswith(".seg.dcm")]
    ds = pydicom.dcmread(path)
    del ds.SyntheticData
    ds.save_as(path)
    with pytest.raises(pacs.PacsError) as err:  # refused before any connection is tried
        pacs.send([path], "dicom://ANY@127.0.0.1:9")
    assert "SyntheticData" in err.value.message


@pytest.mark.parametrize("text, words", [
    ("ftp://pacs/x", "not a PACS address"),
    ("dicom://pacs:104", "AE title"),
    ("dicom://WAY_TOO_LONG_AE_TITLE_X@pacs:104", "AE title"),
    ("http:///dicom-web", "no host"),
])
def test_bad_targets_get_a_specific_error(text, words):
    with pytest.raises(pacs.PacsError) as err:
        pacs.parse_target(text)
    assert words in err.value.message


def test_targets_parse():
    t = pacs.parse_target("https://u:p%40ss@pacs.example:8443/dicom-web/")
    assert (t.kind, t.url, t.username, t.password) == (
        "stow", "https://pacs.example:8443/dicom-web", "u", "p@ss")
    c = pacs.parse_target("dicom://ORTHANC@10.0.0.5:4242")
    assert (c.kind, c.called_ae, c.host, c.port) == ("cstore", "ORTHANC", "10.0.0.5", 4242)


def test_cli_pacs_sends_a_case_folder(orthanc, tiny_set, capsys):  # noqa: F811
    from imagine_med.cli import main

    folder = tiny_set / "cases" / "case-0002"
    code = main(["pacs", str(folder), "--to", f"dicom://{AE_TITLE}@127.0.0.1:{orthanc['dicom']}"])
    assert code == 0
    assert "sent, 0 failed" in capsys.readouterr().out
    assert main(["pacs", str(folder), "--to", "gopher://x"]) == 2


def test_cli_pacs_target_from_the_settings(orthanc, tiny_set, capsys, monkeypatch):  # noqa: F811
    from imagine_med.cli import main
    from imagine_med.settings import get_settings

    monkeypatch.setenv("IMAGINE_MED_PACS_URL", orthanc["dicomweb"])
    get_settings.cache_clear()
    try:
        assert main(["pacs", str(tiny_set / "cases" / "case-0003")]) == 0
        assert "DICOMweb" in capsys.readouterr().out
        monkeypatch.delenv("IMAGINE_MED_PACS_URL")
        get_settings.cache_clear()
        assert main(["pacs", str(tiny_set / "cases" / "case-0003")]) == 2
    finally:
        get_settings.cache_clear()
