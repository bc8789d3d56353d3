"""A single .safetensors checkpoint in the original (LDM) layout, as fine-tunes such as
RoentGen-class models are often shared, loads through the engine with its local config folder
and draws exactly what the same weights draw from a diffusers folder."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")
pytest.importorskip("safetensors")

os.environ["HF_HUB_OFFLINE"] = "1"

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.diffusion import random_weights as rw
from imagine_med.engine.diffusion.config import DiffusionOptions
from imagine_med.engine.diffusion.engine import build_renderer
from imagine_med.prompt.spec import CaseSpec

pytestmark = pytest.mark.diffusion

RESNET = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
          ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"),
          ("conv_shortcut", "skip_connection")]
UNET_TOP = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
            "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}
VAE_ATTN = [("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"),
            ("to_out.0", "proj_out")]


def _resnet(rest: str) -> str:
    for new, old in RESNET:
        rest = rest.replace(new, old)
    return rest


def unet_to_ldm(key: str, per_block: int, up_has_attn: list[bool]) -> str:
    """The inverse of diffusers' convert_ldm_unet_checkpoint, for SD 1.x layouts."""
    top, _, leaf = key.rpartition(".")
    if top in UNET_TOP:
        return f"{UNET_TOP[top]}.{leaf}"
    step = per_block + 1
    if m := re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        b, kind, i, rest = int(m[1]), m[2], int(m[3]), m[4]
        idx = 1 + b * step + i
        return f"input_blocks.{idx}.0.{_resnet(rest)}" if kind == "resnets" else (
            f"input_blocks.{idx}.1.{rest}")
    if m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
        return f"input_blocks.{(int(m[1]) + 1) * step}.0.op.{m[2]}"
    if m := re.match(r"mid_block\.resnets\.(\d+)\.(.*)", key):
        return f"middle_block.{2 * int(m[1])}.{_resnet(m[2])}"
    if m := re.match(r"mid_block\.attentions\.0\.(.*)", key):
        return f"middle_block.1.{m[1]}"
    if m := re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        b, kind, i, rest = int(m[1]), m[2], int(m[3]), m[4]
        idx = b * step + i
        return f"output_blocks.{idx}.0.{_resnet(rest)}" if kind == "resnets" else (
            f"output_blocks.{idx}.1.{rest}")
    if m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
        b = int(m[1])
        return f"output_blocks.{b * step + per_block}.{2 if up_has_attn[b] else 1}.conv.{m[2]}"
    raise AssertionError(f"unmapped UNet key {key}")


def vae_to_ldm(key: str, n_up: int) -> str:
    key = key.replace("conv_norm_out", "norm_out")
    if m := re.match(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.*)", key):
        return f"{m[1]}.mid.block_{int(m[2]) + 1}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"
    if m := re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.*)", key):
        rest = m[2]
        for new, old in VAE_ATTN:
            rest = rest.replace(new, old)
        return f"{m[1]}.mid.attn_1.{rest}"
    if m := re.match(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
        return f"encoder.down.{m[1]}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"
    if m := re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
        return f"encoder.down.{m[1]}.downsample.conv.{m[2]}"
    if m := re.match(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
        b = n_up - 1 - int(m[1])
        return f"decoder.up.{b}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"
    if m := re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
        return f"decoder.up.{n_up - 1 - int(m[1])}.upsample.conv.{m[2]}"
    return key  # conv_in, conv_out, norm_out, quant_conv, post_quant_conv keep their names


def write_ldm_checkpoint(pipe, path: Path) -> None:
    from safetensors.torch import save_file

    cfg = pipe.unet.config
    up_attn = ["CrossAttn" in t for t in cfg.up_block_types]
    state = {}
    for k, v in pipe.unet.state_dict().items():
        state["model.diffusion_model." + unet_to_ldm(k, cfg.layers_per_block, up_attn)] = v
    n_up = len(pipe.vae.config.up_block_types)
    for k, v in pipe.vae.state_dict().items():
        state["first_stage_model." + vae_to_ldm(k, n_up)] = v
    for k, v in pipe.text_encoder.state_dict().items():
        # Original checkpoints carry transformers 4 names (text_model.*); 5.x drops the prefix.
        name = k if k.startswith("text_model.") else f"text_model.{k}"
        state["cond_stage_model.transformer." + name] = v
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))


def test_single_file_checkpoint_renders_like_its_diffusers_folder(tmp_path: Path):
    folder = rw.save_pipeline(tmp_path / "as-folder", seed=3)
    weights = tmp_path / "chest-finetune.safetensors"
    write_ldm_checkpoint(rw.build_pipeline(seed=3), weights)
    shutil.copytree(
        folder, tmp_path / "chest-finetune", ignore=shutil.ignore_patterns("*.safetensors")
    )
    opts = DiffusionOptions(guidance="none", steps=2)
    from_file = build_renderer(weights, device="cpu", options=opts)
    from_folder = build_renderer(folder, device="cpu", options=opts)
    assert from_file.pipes.source.kind == "file" and "chest-finetune" in from_file.version
    spec = CaseSpec(modality="xray", region="chest", width=64, height=64, steps=2)
    reqs = [RenderRequest(spec=spec, seed=s, width=64, height=64) for s in (1, 2, 3, 4)]
    a = from_file.render_batch(reqs)
    b = from_folder.render_batch(reqs)
    assert [r.pixels.shape for r in a] == [(64, 64)] * 4
    for x, y in zip(a, b, strict=True):
        assert np.abs(x.pixels.astype(int) - y.pixels.astype(int)).max() <= 1
