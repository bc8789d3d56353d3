"""The diffusion engine's own knobs, read from IMAGINE_MED_DIFFUSION_* variables.

The model, ControlNet and device come from the project settings (`imagine_med.settings`); the
finer controls live here so the shared settings stay small. Torch-free.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

GuidanceMode = Literal["auto", "none", "init", "controlnet", "both"]
DTypeName = Literal["auto", "fp16", "bf16", "fp32"]
CompileMode = Literal["auto", "on", "off"]


class DiffusionOptions(BaseSettings):
    """Engine options. `guidance`: auto = start from the phantom's render where the phantom serves
    the modality, and also condition the ControlNet when one is configured; none = plain
    text to image; init / controlnet / both = only that kind of phantom guidance."""

    model_config = SettingsConfigDict(env_prefix="IMAGINE_MED_DIFFUSION_", extra="ignore")

    guidance: GuidanceMode = "auto"
    guide_strength: float = Field(default=0.45, gt=0.0, le=1.0)
    controlnet_scale: float = Field(default=0.8, ge=0.0, le=2.0)
    # A folder of component configs (model_index.json, unet/, vae/, text_encoder/, tokenizer/,
    # scheduler/) for a single-file .safetensors checkpoint; default: looked up beside the file.
    config: Path | None = None
    upscaler: Path | None = None
    dtype: DTypeName = "auto"
    compile: CompileMode = "auto"
    compile_mode: str = "default"
    # With compile on, trace and build kernels at load (a 4-variant grid at the default size),
    # so the first user does not wait for it.
    warmup: bool = True
    steps: int = Field(default=30, ge=1, le=150)
    guidance_scale: float = Field(default=7.5, ge=0.0, le=30.0)
    refine_strength: float = Field(default=0.55, gt=0.0, le=1.0)
    upscale_strength: float = Field(default=0.3, gt=0.0, le=1.0)
    # VAE tiling above this many pixels per side (large upscales would not fit otherwise).
    tile_above_px: int = Field(default=1024, ge=256)
