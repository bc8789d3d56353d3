"""Random-weight Stable Diffusion pipelines built from configs, fully offline.

For the tests (tiny: a few MB, milliseconds per step on a CPU) and the speed bench (real SD 1.5
size, so timings mean something). Nothing is downloaded: even the tokenizer is built from a
small vocabulary written here. The images are noise, which is all timing and plumbing need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch

Size = Literal["tiny", "sd15"]


def offline_tokenizer(max_length: int = 77) -> Any:
    """A CLIP BPE tokenizer over single letters and words of letters; ids stay small, so it works
    with any text encoder vocabulary size."""
    from transformers import CLIPTokenizer

    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz0123456789-,.;:()%&":
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def _clip_config(size: Size, *, projection: bool = False, width: int = 32) -> Any:
    from transformers import CLIPTextConfig

    if size == "sd15":
        return CLIPTextConfig(
            vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
            num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
            bos_token_id=0, eos_token_id=1, pad_token_id=1, projection_dim=768,
        )
    return CLIPTextConfig(
        vocab_size=128, hidden_size=width, intermediate_size=37, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, bos_token_id=0, eos_token_id=1,
        pad_token_id=1, projection_dim=32 if projection else width,
    )


def _scheduler() -> Any:
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        num_train_timesteps=1000, steps_offset=1, timestep_spacing="leading",
    )


def _vae(size: Size) -> Any:
    from diffusers import AutoencoderKL

    if size == "sd15":
        return AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
            block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=32, sample_size=512,
        )
    # Four levels, as in the real VAE, so the latent is 1/8 of the image.
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        block_out_channels=(8, 8, 16, 16), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=4, sample_size=128,
    )


def sd_components(size: Size = "tiny", seed: int = 0) -> dict[str, Any]:
    """The components of a StableDiffusionPipeline (SD 1.x architecture) with random weights."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    if size == "sd15":
        unet = UNet2DConditionModel(
            sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
            block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            cross_attention_dim=768, attention_head_dim=8,
        )
    else:
        unet = UNet2DConditionModel(
            sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
            block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
            attention_head_dim=4, norm_num_groups=16,
        )
    return {
        "unet": unet,
        "vae": _vae(size),
        "text_encoder": CLIPTextModel(_clip_config(size)),
        "tokenizer": offline_tokenizer(),
        "scheduler": _scheduler(),
        "safety_checker": None,
        "feature_extractor": None,
        "image_encoder": None,
    }


def sdxl_components(seed: int = 0) -> dict[str, Any]:
    """Tiny SDXL: two text encoders, text_time added conditioning."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4),
        use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1), projection_class_embeddings_input_dim=80,
        cross_attention_dim=64, norm_num_groups=16,
    )
    return {
        "unet": unet,
        "vae": _vae("tiny"),
        "text_encoder": CLIPTextModel(_clip_config("tiny")),
        "text_encoder_2": CLIPTextModelWithProjection(_clip_config("tiny", projection=True)),
        "tokenizer": offline_tokenizer(),
        "tokenizer_2": offline_tokenizer(),
        "scheduler": _scheduler(),
        "image_encoder": None,
        "feature_extractor": None,
    }


def build_pipeline(family: str = "sd", size: Size = "tiny", seed: int = 0) -> Any:
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    if family == "sdxl":
        return StableDiffusionXLPipeline(**sdxl_components(seed))
    return StableDiffusionPipeline(**sd_components(size, seed), requires_safety_checker=False)


def save_pipeline(folder: Path, family: str = "sd", size: Size = "tiny", seed: int = 0) -> Path:
    """Write a random-weight pipeline as a diffusers folder (what IMAGINE_MED_DIFFUSION_MODEL
    points to)."""
    build_pipeline(family, size, seed).save_pretrained(str(folder), safe_serialization=True)
    return folder


def save_controlnet(folder: Path, model_folder: Path) -> Path:
    """A random ControlNet matching a saved base (copied UNet encoder, zero-initialised outputs,
    as ControlNet training starts)."""
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(
        str(model_folder), subfolder="unet", local_files_only=True
    )
    ControlNetModel.from_unet(unet).save_pretrained(str(folder))
    return folder


def save_upscaler(folder: Path, seed: int = 0) -> Path:
    """A tiny x4 upscaler pipeline (StableDiffusionUpscalePipeline layout: the UNet sees the
    noisy latents and the low-resolution image, 4 + 3 channels, and the noise level as a class)."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        DDPMScheduler,
        StableDiffusionUpscalePipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=7, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
        attention_head_dim=4, norm_num_groups=16, num_class_embeds=400,
    )
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        block_out_channels=(8, 8, 16), down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3, norm_num_groups=4, scaling_factor=0.08333,
    )
    StableDiffusionUpscalePipeline(
        vae=vae, text_encoder=CLIPTextModel(_clip_config("tiny")), tokenizer=offline_tokenizer(),
        unet=unet, low_res_scheduler=DDPMScheduler(), max_noise_level=350,
        scheduler=DDIMScheduler(prediction_type="v_prediction"),
    ).save_pretrained(str(folder), safe_serialization=True)
    return folder
