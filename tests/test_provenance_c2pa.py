"""C2PA manifests (optional `c2pa` extra): signed offline with a local CA, readable, and they
keep the invisible mark and the PNG metadata. Skipped when c2pa-python is not installed (failed
instead in CI, tests/tooling.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image
from tooling import need_module

from imagine_med.cli import main
from imagine_med.provenance.corpus import medical_like
from imagine_med.provenance.stamp import save_stamped_png
from imagine_med.provenance.verify import verify_file


def test_missing_extra_is_a_clear_error(tmp_path: Path, capsys,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from imagine_med.provenance import c2pa_sign

    monkeypatch.setitem(sys.modules, "c2pa", None)  # as if not installed: `import c2pa` fails
    assert not c2pa_sign.available()
    assert main(["generate", "PA chest x-ray", "--out", str(tmp_path), "--c2pa"]) == 2
    assert "pip install 'imagine-med[c2pa]'" in capsys.readouterr().err


def test_signed_png_keeps_mark_metadata_and_reads_back(tmp_path: Path) -> None:
    need_module("c2pa", "the c2pa extra: c2pa-python")
    from imagine_med.provenance import c2pa_sign

    p = tmp_path / "variant-2.png"
    save_stamped_png(
        Image.fromarray(medical_like("ct", 2)), p, job_id="00000000ab", variant=2,
        engine="diffusion", prompt="axial CT",
    )
    before = Image.open(p).info["imagine-med:job_id"]
    cred = tmp_path / "cred"
    assert c2pa_sign.sign_case_dir(tmp_path, "diffusion", cred) == [p]
    assert (cred / "signer.key").stat().st_mode & 0o077 == 0
    data = p.read_bytes()
    found = c2pa_sign.read_manifest(data, "image/png", (cred / "ca.pem").read_bytes())
    assert found is not None and found["state"] == "Trusted"
    action = found["assertions"]["c2pa.actions.v2"]["actions"][0]
    assert action["digitalSourceType"].endswith("/trainedAlgorithmicMedia")
    assert found["assertions"]["org.imagine-med.provenance"]["job_id"] == "00000000ab"
    untrusted = c2pa_sign.read_manifest(data, "image/png")  # a stranger without our CA
    assert untrusted is not None and "signingCredential.untrusted" in untrusted["status"]
    assert Image.open(p).info["imagine-med:job_id"] == before
    res = verify_file(p)
    assert res.marked and res.job_tag == "00000000ab" and "c2pa" in res.claims
    p.write_bytes(data[:-200] + bytes(200))  # tampering breaks the manifest, not the mark
    tampered = c2pa_sign.read_manifest(p.read_bytes(), "image/png", (cred / "ca.pem").read_bytes())
    assert tampered is None or tampered["state"] != "Trusted"
