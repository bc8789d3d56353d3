"""The phantom engine's version is derived from its code: any edit to the package changes
the version written to case.json and the provenance job id; a checkout's line endings do not."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from imagine_med.case import render_case, write_case
from imagine_med.engine.phantom import version
from imagine_med.engine.registry import get_renderer
from imagine_med.prompt.spec import CaseSpec
from imagine_med.provenance.stamp import default_job_id


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "phantom"
    shutil.copytree(version.PACKAGE_DIR, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def test_version_is_release_plus_source_digest():
    assert re.fullmatch(r"\d+\.\d+\+[0-9a-f]{10}", version.VERSION)
    assert f"{version.RELEASE}+{version.source_digest()}" == version.VERSION
    for modality in ("xray", "ct"):
        assert get_renderer("phantom", modality).version == version.VERSION


def test_any_source_edit_changes_the_digest_line_endings_do_not(tmp_path):
    copy = _copy(tmp_path)
    assert version.source_digest(copy) == version.source_digest()
    ct = copy / "xray.py"
    ct.write_bytes(ct.read_bytes().replace(b"\n", b"\r\n"))
    assert version.source_digest(copy) == version.source_digest()
    materials = copy / "materials.py"
    materials.write_text(materials.read_text().replace("0.194", "0.195"))
    assert version.source_digest(copy) != version.source_digest()
    (copy / "newpart").mkdir()
    (copy / "newpart" / "__init__.py").write_text("X = 1\n")
    before = version.source_digest(copy)
    (copy / "newpart" / "__init__.py").write_text("X = 2\n")
    assert version.source_digest(copy) != before


def test_every_loaded_engine_module_is_hashed():
    """A module the renderer imports from the package but the digest skips would let its
    pixels change silently."""
    get_renderer("phantom", "xray"), get_renderer("phantom", "ct")
    hashed = {p.resolve() for p in version.source_files()}
    loaded = [m for name, m in sys.modules.items()
              if name.startswith("imagine_med.engine.phantom") and getattr(m, "__file__", None)]
    assert len(loaded) >= 10
    for m in loaded:
        assert Path(m.__file__).resolve() in hashed, m.__name__


def test_case_json_and_job_id_carry_the_derived_version(tmp_path):
    spec = CaseSpec(modality="xray", region="chest", seed=2, width=64, height=64)
    result = render_case(spec, seeds=[2])
    write_case(result, tmp_path)
    doc = json.loads((tmp_path / "case.json").read_text())
    assert doc["engine_version"] == version.VERSION
    spec_json = spec.model_dump(mode="json")
    assert default_job_id(spec_json, [2], "phantom", version.VERSION) != default_job_id(
        spec_json, [2], "phantom", f"{version.RELEASE}+0000000000")
