"""Make a loaded pipeline fast on a GPU: SDPA attention, channels_last, fused QKV, torch.compile
with an on-disk cache, TF32 matmuls; VAE tiling and slicing for large images.

Half precision is chosen at load time (`loader.resolve_dtype`). Everything here also runs on the
CPU, where compile is off by default (it costs more than it saves for a few images).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)


def compile_cache_dir(data_dir: Path) -> Path:
    """Where inductor keeps compiled kernels, so a restarted worker skips most recompilation:
    TORCHINDUCTOR_CACHE_DIR when the user set it, else under the data dir (torch writes its
    /tmp default into that variable once it has looked, so that value does not count)."""
    env = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    try:
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir

        torch_default: str | None = os.path.abspath(default_cache_dir())
    except ImportError:
        torch_default = None
    if env and os.path.abspath(env) != torch_default:
        return Path(env)
    return (data_dir / "torch-compile-cache").resolve()


def _sdpa(module: torch.nn.Module | None) -> None:
    if module is None or not hasattr(module, "set_attn_processor"):
        return
    from diffusers.models.attention_processor import AttnProcessor2_0

    module.set_attn_processor(AttnProcessor2_0())


def optimize(
    pipes: Any,
    *,
    compile_models: bool,
    compile_mode: str = "default",
    cache_dir: Path | None = None,
    fuse_qkv: bool | None = None,
) -> list[str]:
    """Apply the speed settings to every pipeline in `pipes` (an `loader.Pipelines`); returns a
    list of what was done, for the engine's log line and the bench table."""
    done: list[str] = []
    on_gpu = pipes.device.type == "cuda"
    if on_gpu:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
        done.append("tf32")
    base = pipes.text2img
    controlnet = getattr(pipes.controlnet_text2img, "controlnet", None)
    for module in (base.unet, base.vae, controlnet):
        _sdpa(module)
    done.append("sdpa")
    if fuse_qkv if fuse_qkv is not None else on_gpu:
        base.unet.fuse_qkv_projections()
        done.append("fused-qkv")
    for module in (base.unet, base.vae, controlnet):
        if module is not None:
            module.to(memory_format=torch.channels_last)
    done.append("channels_last")
    if compile_models:
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(cache_dir)
        import torch._inductor.config as inductor_config

        inductor_config.fx_graph_cache = True
        # In place, so every pipeline sharing the UNet (img2img, ControlNet) gets the compiled one.
        mode = None if compile_mode == "default" else compile_mode
        base.unet.compile(mode=mode, fullgraph=False)
        if controlnet is not None:
            controlnet.compile(mode=mode, fullgraph=False)
        done.append(f"compile({compile_mode})")
    log.info("diffusion speed settings: %s", ", ".join(done))
    return done


def set_vae_for_size(vae: Any, width: int, height: int, batch: int, tile_above_px: int) -> bool:
    """Tile (and slice) the VAE decode for big images, where a whole-image decode of four
    variants would need tens of GiB; whole-image decode is faster below the threshold.
    Returns whether tiling is on."""
    big = max(width, height) > tile_above_px
    if big:
        vae.enable_tiling()
        vae.enable_slicing()
    else:
        vae.disable_tiling()
        if batch <= 4:
            vae.disable_slicing()
    return big
