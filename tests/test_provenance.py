"""The provenance step inside write_case, the metadata it writes, and `imagine-med verify`."""

from __future__ import annotations

import io
import json
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from imagine_med.case import CaseResult, write_case
from imagine_med.cli import main
from imagine_med.engine.base import RenderResult
from imagine_med.grid import cell_box
from imagine_med.prompt.spec import CaseSpec
from imagine_med.provenance import watermark as wm
from imagine_med.provenance.corpus import medical_like
from imagine_med.provenance.metadata import IPTC_DST, NS, XMP_KEY, digital_source_type
from imagine_med.provenance.stamp import case_job_id
from imagine_med.provenance.verify import verify_bytes, verify_file

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
IPTC = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"


def _case(engine: str = "phantom", kind: str = "xray", seed: int = 5) -> CaseResult:
    spec = CaseSpec(prompt=f"test {kind} prompt", modality="xray", seed=seed, engine=engine)
    variants = []
    for i in range(4):
        px = medical_like(kind, seed * 10 + i, 512)
        lab = np.zeros(px.shape[:2], np.uint8)
        lab[100:200, 100:300] = 3
        variants.append(
            RenderResult(
                pixels=px, label_map=lab, labels={3: "lung"}, findings=[],
                pixel_spacing_mm=(0.5, 0.5), answer_key="nothing", tags={"modality": "CR"},
            )
        )
    return CaseResult(
        spec=spec, seed=seed, seeds=[seed + i for i in range(4)], variants=variants,
        engine=engine, engine_version="test-1",
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[CaseResult, Path]:
    result = _case()
    out = tmp_path_factory.mktemp("case")
    write_case(result, out)
    return result, out


def test_every_variant_and_the_grid_verify_as_their_job(written) -> None:
    result, out = written
    job = case_job_id(result)
    for i in range(1, 5):
        res = verify_file(out / f"variant-{i}.png")
        assert res.marked, res.summary()
        assert (res.job_tag, res.variant, res.key_id) == (job, str(i), "dev")
        assert res.confidence >= 1 - 1e-6
    grid = verify_file(out / "grid.png")
    assert grid.marked and grid.job_tag == job and grid.variant == "grid"
    # labels are data, not marked
    assert not verify_file(out / "variant-1.labels.png").marked


def test_grid_screenshot_and_a_cell_cropped_from_it_verify_as_the_grid(written) -> None:
    result, out = written
    grid = Image.open(out / "grid.png").convert("RGB")
    shot = grid.resize((grid.width * 2 // 5, grid.height * 2 // 5), Image.BICUBIC)
    buf = io.BytesIO()
    shot.save(buf, "JPEG", quality=80)
    res = verify_bytes(buf.getvalue(), "screenshot.jpg")
    assert res.marked and res.variant == "grid" and res.job_tag == case_job_id(result)
    cell = grid.crop(cell_box(grid.size, 2))
    buf = io.BytesIO()
    cell.save(buf, "PNG")
    res = verify_bytes(buf.getvalue(), "cell.png")
    assert res.marked and res.variant == "grid"


def test_same_case_gives_identical_bytes(written, tmp_path: Path) -> None:
    result, out = written
    write_case(result, tmp_path)
    for name in ("variant-1.png", "variant-4.png", "grid.png", "case.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_explicit_job_id_is_carried(tmp_path: Path) -> None:
    result = _case(seed=9)
    write_case(result, tmp_path, job_id="a1b2c3d4e5")
    res = verify_file(tmp_path / "variant-2.png")
    assert res.marked and res.job_tag == "a1b2c3d4e5" and res.variant == "2"
    doc = json.loads((tmp_path / "case.json").read_text())
    assert doc["provenance"]["job_id"] == "a1b2c3d4e5"


def test_png_text_chunks_and_xmp(written) -> None:
    result, out = written
    im = Image.open(out / "variant-3.png")
    info = im.info
    assert info["imagine-med:job_id"] == case_job_id(result)
    assert info["imagine-med:variant"] == "3"
    assert info["imagine-med:engine"] == "phantom"
    assert len(info["imagine-med:prompt_sha256"]) == 64
    assert info["imagine-med:watermark"] == wm.SCHEME
    xmp = info[XMP_KEY]
    assert f'Iptc4xmpExt:DigitalSourceType="{IPTC_DST}algorithmicMedia"' in xmp
    assert "Not for diagnosis" in xmp
    body = xmp[xmp.index("<x:xmpmeta") : xmp.index("</x:xmpmeta>") + len("</x:xmpmeta>")]
    desc = ElementTree.fromstring(body).find(f".//{{{RDF}}}Description")  # well-formed XML
    assert desc is not None
    assert desc.get(f"{{{IPTC}}}DigitalSourceType") == IPTC_DST + "algorithmicMedia"
    assert desc.get(f"{{{NS}}}job_id") == case_job_id(result)
    doc = json.loads((out / "case.json").read_text())
    assert doc["provenance"]["watermark"] == wm.SCHEME
    assert doc["provenance"]["digital_source_type"].endswith("/algorithmicMedia")


def test_diffusion_output_is_trained_algorithmic_media() -> None:
    assert digital_source_type("diffusion") == "trainedAlgorithmicMedia"
    assert digital_source_type("phantom") == "algorithmicMedia"


def test_verify_cli_exit_codes(written, tmp_path: Path, capsys) -> None:
    _, out = written
    assert main(["verify", str(out / "variant-1.png"), str(out / "grid.png")]) == 0
    text = capsys.readouterr().out
    assert "MARKED" in text and "variant 1" in text and "variant grid" in text
    plain = tmp_path / "plain.png"
    Image.fromarray(medical_like("xray", 1)).save(plain)
    assert main(["verify", str(out / "variant-1.png"), str(plain)]) == 1
    assert "plain.png: NOT marked" in capsys.readouterr().out
    assert main(["verify", "--json", str(out / "variant-2.png")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["marked"] is True and doc["variant"] == "2"


def test_verify_reports_bad_input_without_a_traceback(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image")
    assert main(["verify", str(junk), str(tmp_path / "missing.png")]) == 1
    text = capsys.readouterr().out
    assert "junk.png: error: not an image we can read" in text
    assert "missing.png: error: cannot read file" in text
    assert "Traceback" not in text


def test_metadata_alone_is_not_trusted(written, tmp_path: Path) -> None:
    """Copying our PNG chunks onto an unmarked image does not make it verify."""
    _, out = written
    src = Image.open(out / "variant-1.png")
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for k, v in src.info.items():
        if isinstance(v, str):
            info.add_text(k, v)
    fake = tmp_path / "fake.png"
    Image.fromarray(medical_like("xray", 77)).save(fake, pnginfo=info)
    res = verify_file(fake)
    assert not res.marked
    assert res.claims.get("job_id") and "claims imagine-med origin" in res.summary()


def test_small_images_keep_band_and_metadata_without_mark(tmp_path: Path) -> None:
    result = _case()
    for v in result.variants:
        v.pixels = v.pixels[:96, :96]
        v.label_map = v.label_map[:96, :96]
    write_case(result, tmp_path)
    im = Image.open(tmp_path / "variant-1.png")
    assert im.info["imagine-med:watermark"].startswith("none")
    assert im.height > 96  # the visible band is there
    assert not verify_file(tmp_path / "variant-1.png").marked


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=2048))
def test_verify_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    res = verify_bytes(data, "upload")
    assert not res.marked
    assert res.error is None or "Traceback" not in res.error


def test_verify_reads_odd_but_valid_images() -> None:
    """16-bit grayscale, palette and RGBA uploads are read, not refused."""
    a = medical_like("xray", 8)
    for im in (
        Image.fromarray(a.astype(np.uint16) * 256),
        Image.fromarray(a).convert("P"),
        Image.fromarray(a).convert("RGBA"),
    ):
        buf = io.BytesIO()
        im.save(buf, "PNG")
        res = verify_bytes(buf.getvalue(), im.mode)
        assert res.error is None and not res.marked


def test_the_public_development_key_is_warned_about(caplog, monkeypatch) -> None:
    """Marks made with the published default key prove nothing: say so, once per process."""
    import logging

    from imagine_med.provenance import stamp
    from imagine_med.settings import Settings

    stamp._warn_development_key.cache_clear()
    monkeypatch.delenv("IMAGINE_MED_WATERMARK_KEY", raising=False)
    with caplog.at_level(logging.WARNING, logger="imagine_med.provenance.stamp"):
        stamp.key_material(Settings())
        stamp.key_material(Settings())
    assert sum("public development key" in r.message for r in caplog.records) == 1
    caplog.clear()
    monkeypatch.setenv("IMAGINE_MED_WATERMARK_KEY", "a-real-secret")
    stamp._warn_development_key.cache_clear()
    with caplog.at_level(logging.WARNING, logger="imagine_med.provenance.stamp"):
        key, _ = stamp.key_material(Settings())
    assert key == b"a-real-secret" and not caplog.records
