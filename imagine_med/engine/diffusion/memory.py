"""Will this batch fit? An estimate checked before a run, so an oversized request fails with a
sentence instead of a CUDA out-of-memory traceback halfway through.

The weights are already resident when a request arrives, so the check is about activations:
UNet activations grow with batch x latent pixels x channel width (x2 for classifier-free
guidance), the VAE decode with output pixels (capped at one tile when tiling is on). The
constants are generous rules of thumb fitted to SD 1.5 / SDXL at fp16 with SDPA attention.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from imagine_med.engine.base import EngineError

GIB = 1024**3
UNET_BYTES_PER_LATENT_PX_PER_CHANNEL = 70  # per sample, at 2 bytes per element
VAE_BYTES_PER_PX = 128 * 8  # decoder's first level: 128 channels, ~8 live tensors
VAE_TILE_PX = 512 * 512
SAFETY = 1.25
RESERVE_BYTES = 512 * 1024**2  # CUDA context, allocator fragmentation


@dataclass(frozen=True)
class MemoryEstimate:
    activations: int
    free: int

    @property
    def fits(self) -> bool:
        return self.activations * SAFETY + RESERVE_BYTES <= self.free


def estimate_activation_bytes(
    *,
    width: int,
    height: int,
    batch: int,
    base_channels: int,
    dtype_bytes: int,
    cfg: bool = True,
    vae_tiled: bool = False,
    vae_sliced: bool = False,
) -> int:
    latent_px = (width // 8) * (height // 8)
    samples = batch * (2 if cfg else 1)
    scale = dtype_bytes / 2
    unet = samples * latent_px * base_channels * UNET_BYTES_PER_LATENT_PX_PER_CHANNEL * scale
    decode_px = min(width * height, VAE_TILE_PX) if vae_tiled else width * height
    decode_batch = 1 if (vae_sliced or vae_tiled) else batch
    vae = decode_batch * decode_px * VAE_BYTES_PER_PX * scale
    return int(max(unet, vae))


def free_bytes(device: torch.device) -> int:
    """Free memory where the activations will live: the GPU's, else the machine's RAM."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        # Memory torch has cached but not handed out is free for us too.
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def ensure_fits(
    activations: int, device: torch.device, *, what: str, free: int | None = None
) -> MemoryEstimate:
    """Raise an EngineError naming the numbers when `activations` will not fit on `device`."""
    est = MemoryEstimate(activations=activations, free=free_bytes(device) if free is None else free)
    if not est.fits:
        where = "GPU memory" if device.type == "cuda" else "memory"
        need = (est.activations * SAFETY + RESERVE_BYTES) / GIB
        raise EngineError(
            f"Not enough {where} for {what}: it needs about {need:.1f} GiB and "
            f"{est.free / GIB:.1f} GiB is free on {device}. Ask for a smaller size, or try "
            f"again when the GPU is less busy."
        )
    return est
