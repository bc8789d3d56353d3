"""Loading a checkpoint: only from local paths, with a clear sentence for every wrong path; the
registry's factory reads the settings and loads one model for every modality."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

os.environ["HF_HUB_OFFLINE"] = "1"

from imagine_med.engine import registry
from imagine_med.engine.base import EngineError
from imagine_med.engine.diffusion import random_weights as rw
from imagine_med.engine.diffusion.config import DiffusionOptions
from imagine_med.engine.diffusion.engine import build_renderer
from imagine_med.engine.diffusion.loader import resolve_checkpoint, resolve_device
from imagine_med.settings import get_settings

pytestmark = pytest.mark.diffusion


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rw.save_pipeline(tmp_path_factory.mktemp("loader") / "tiny-sd")


def test_no_model_configured_names_the_variable():
    with pytest.raises(EngineError, match="IMAGINE_MED_DIFFUSION_MODEL") as exc:
        resolve_checkpoint(None)
    assert "--model" in exc.value.message and "downloaded" in exc.value.message


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("missing", "does not exist"),
        ("empty-folder", "no model_index.json"),
        ("flux", "FluxPipeline"),
        ("inpainting", "9 input channels"),
        ("ckpt", "not a .safetensors"),
        ("lonely-file", "IMAGINE_MED_DIFFUSION_CONFIG"),
    ],
)
def test_wrong_paths_are_clear_errors(tmp_path: Path, layout: str, expected: str):
    path = tmp_path / "model"
    if layout == "empty-folder":
        path.mkdir()
    elif layout in ("flux", "inpainting"):
        path.mkdir()
        name = "FluxPipeline" if layout == "flux" else "StableDiffusionPipeline"
        (path / "model_index.json").write_text(json.dumps({"_class_name": name}))
        (path / "unet").mkdir()
        (path / "unet" / "config.json").write_text(json.dumps({"in_channels": 9}))
    elif layout == "ckpt":
        path = tmp_path / "model.ckpt"
        path.write_bytes(b"not really")
    elif layout == "lonely-file":
        path = tmp_path / "model.safetensors"
        path.write_bytes(b"{}")
    with pytest.raises(EngineError, match=expected):
        resolve_checkpoint(path)


def test_single_file_finds_its_config_folder_beside_it(tmp_path: Path, model_dir: Path):
    weights = tmp_path / "roentgen-like.safetensors"
    weights.write_bytes(b"")
    config = tmp_path / "roentgen-like"
    shutil.copytree(model_dir, config, ignore=shutil.ignore_patterns("*.safetensors"))
    source = resolve_checkpoint(weights)
    assert (source.kind, source.config_dir, source.family) == ("file", config, "sd")
    assert source.name == "roentgen-like"
    explicit = resolve_checkpoint(weights, config=model_dir)
    assert explicit.config_dir == model_dir


def test_incompatible_weights_are_an_engine_error_not_a_traceback(tmp_path: Path, model_dir):
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    cfg = json.loads((broken / "unet" / "config.json").read_text())
    cfg["block_out_channels"] = [48, 96]
    cfg["norm_num_groups"] = 16
    (broken / "unet" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(EngineError, match="Could not load the diffusion checkpoint"):
        build_renderer(broken, device="cpu", options=DiffusionOptions(guidance="none"))


def test_controlnet_guidance_without_a_controlnet_is_refused(model_dir):
    with pytest.raises(EngineError, match="IMAGINE_MED_DIFFUSION_CONTROLNET"):
        build_renderer(model_dir, device="cpu", options=DiffusionOptions(guidance="controlnet"))


def test_controlnet_for_another_base_is_refused(tmp_path: Path, model_dir):
    xl = rw.save_pipeline(tmp_path / "xl", family="sdxl")
    cn = rw.save_controlnet(tmp_path / "cn-xl", xl)
    with pytest.raises(EngineError, match="different base model"):
        build_renderer(model_dir, controlnet=cn, device="cpu")


@pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="checks the no-GPU message"
)
def test_asking_for_a_gpu_that_is_not_there_says_how_to_run_on_cpu():
    with pytest.raises(EngineError, match="IMAGINE_MED_DIFFUSION_DEVICE=cpu"):
        resolve_device("cuda")


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch):
    """Settings and warm renderers rebuilt for this test only."""
    from imagine_med.engine.diffusion import engine

    keys = [k[:2] for k in registry.RENDERERS if k[0] == "diffusion"]
    get_settings.cache_clear()
    for key in keys:
        registry._cache.pop(key, None)
    saved = dict(engine._shared)
    engine._shared.clear()
    yield monkeypatch
    get_settings.cache_clear()
    for key in keys:
        registry._cache.pop(key, None)
    engine._shared.clear()
    engine._shared.update(saved)


def test_registry_without_a_model_explains_what_to_set(fresh_registry):
    fresh_registry.delenv("IMAGINE_MED_DIFFUSION_MODEL", raising=False)
    with pytest.raises(EngineError, match="IMAGINE_MED_DIFFUSION_MODEL"):
        registry.get_renderer("diffusion", "xray")


def test_registry_loads_the_model_once_for_every_modality(fresh_registry, model_dir):
    fresh_registry.setenv("IMAGINE_MED_DIFFUSION_MODEL", str(model_dir))
    fresh_registry.setenv("IMAGINE_MED_DIFFUSION_DEVICE", "cpu")
    served = {m for e, m, _region in registry.RENDERERS if e == "diffusion"}
    assert {"xray", "ct", "mri", "us", "histo", "derm", "fundus"} <= served
    xray = registry.get_renderer("diffusion", "xray")
    ct = registry.get_renderer("diffusion", "ct")
    assert xray is ct and xray.engine == "diffusion"
    assert xray.pipes.source.path == model_dir and xray.pipes.device.type == "cpu"


def test_generate_with_model_writes_a_diffusion_case(fresh_registry, model_dir, tmp_path, capsys):
    from imagine_med.cli import main

    fresh_registry.setenv("IMAGINE_MED_DIFFUSION_MODEL", "")  # restored after the test
    fresh_registry.setenv("IMAGINE_MED_DIFFUSION_DEVICE", "cpu")
    fresh_registry.setenv("IMAGINE_MED_DIFFUSION_GUIDANCE", "none")
    prompt = "cxr right upper lobe consolidation --engine diffusion --size 64 --steps 2 --seed 5"
    assert main(["generate", prompt, "--model", str(model_dir), "--out", str(tmp_path / "c")]) == 0
    doc = json.loads((tmp_path / "c" / "case.json").read_text())
    assert doc["engine"] == "diffusion" and model_dir.name in doc["engine_version"]
    assert len(doc["variants"]) == 4
    assert {v["tags"]["guided"] for v in doc["variants"]} == {"none"}
    assert "no ground-truth labels" in doc["answer_key"].lower()

    registry._cache.pop(("diffusion", "xray"), None)  # a new process would start cold
    missing = tmp_path / "nowhere"
    assert main(["generate", "cxr", "--model", str(missing), "--out", str(tmp_path / "d")]) == 3
    assert f"{missing}, which does not exist" in capsys.readouterr().err


def test_compile_cache_lives_in_the_data_dir_unless_the_user_chose(monkeypatch, tmp_path):
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    from imagine_med.engine.diffusion.speed import compile_cache_dir

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    assert compile_cache_dir(tmp_path) == tmp_path.resolve() / "torch-compile-cache"
    # torch writes its own default into the variable once it has looked; that is not a choice
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", default_cache_dir())
    assert compile_cache_dir(tmp_path) == tmp_path.resolve() / "torch-compile-cache"
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert compile_cache_dir(tmp_path) == tmp_path / "mine"
