"""Find and load a local Stable Diffusion-family checkpoint; never download anything.

Two layouts are accepted: a diffusers folder (model_index.json with unet/, vae/, text_encoder/,
tokenizer/, scheduler/), or a single .safetensors file plus a folder of component configs (the
same layout without weights), because a single file alone does not say which text encoder,
tokenizer and scheduler it was trained with and diffusers would otherwise fetch them from a hub.
Every from_pretrained/from_single_file call passes local_files_only=True.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from imagine_med.engine.base import EngineError

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: this engine never downloads

import torch

Family = Literal["sd", "sdxl"]

MODEL_ENV = "IMAGINE_MED_DIFFUSION_MODEL"
CONFIG_ENV = "IMAGINE_MED_DIFFUSION_CONFIG"

# model_index.json class names this engine can serve, by architecture family.
SUPPORTED_PIPELINES: dict[str, Family] = {
    "StableDiffusionPipeline": "sd",
    "StableDiffusionImg2ImgPipeline": "sd",
    "StableDiffusionXLPipeline": "sdxl",
    "StableDiffusionXLImg2ImgPipeline": "sdxl",
}
WHAT_IS_SUPPORTED = (
    "the diffusion engine serves Stable Diffusion 1.x/2.x-architecture checkpoints "
    "(fine-tunes included) and SDXL"
)


@dataclass(frozen=True)
class CheckpointSource:
    """Where the weights are and which architecture they are, resolved before any loading."""

    path: Path
    kind: Literal["folder", "file"]
    config_dir: Path
    family: Family
    pipeline_class: str

    @property
    def name(self) -> str:
        return self.path.stem if self.kind == "file" else self.path.name


@dataclass
class Pipelines:
    """Every pipeline the engine uses, sharing one set of weights (loaded once)."""

    source: CheckpointSource
    device: torch.device
    dtype: torch.dtype
    text2img: Any
    img2img: Any
    controlnet_text2img: Any | None = None
    controlnet_img2img: Any | None = None
    upscaler: Any | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def family(self) -> Family:
        return self.source.family

    def modules(self) -> dict[str, torch.nn.Module]:
        found: dict[str, torch.nn.Module] = {}
        for pipe in (self.text2img, self.controlnet_text2img, self.upscaler):
            if pipe is None:
                continue
            for name, module in pipe.components.items():
                if isinstance(module, torch.nn.Module):
                    found.setdefault(f"{type(pipe).__name__}.{name}", module)
        return found

    def weight_bytes(self) -> int:
        seen: set[int] = set()
        total = 0
        for module in self.modules().values():
            for p in module.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    total += p.numel() * p.element_size()
        return total


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EngineError(f"Could not read {path}: {exc}") from None


def _family_of(config_dir: Path) -> tuple[Family, str]:
    index = config_dir / "model_index.json"
    if not index.is_file():
        raise EngineError(
            f"{config_dir} is not a diffusers model folder (no model_index.json); "
            f"{WHAT_IS_SUPPORTED}."
        )
    class_name = str(_read_json(index).get("_class_name", ""))
    family = SUPPORTED_PIPELINES.get(class_name)
    if family is None:
        raise EngineError(
            f"The checkpoint at {config_dir} is a {class_name or 'pipeline of unknown type'}; "
            f"{WHAT_IS_SUPPORTED}."
        )
    unet_config = config_dir / "unet" / "config.json"
    if unet_config.is_file():
        in_channels = _read_json(unet_config).get("in_channels", 4)
        if in_channels != 4:
            raise EngineError(
                f"The UNet at {config_dir} takes {in_channels} input channels (an inpainting or "
                f"depth model); {WHAT_IS_SUPPORTED} with 4-channel latents."
            )
    return family, class_name


def _config_dir_for_file(path: Path, config: Path | None) -> Path:
    candidates = [config] if config is not None else [
        path.with_suffix(""), path.parent / "config", path.parent,
    ]
    for candidate in candidates:
        if candidate is not None and (candidate / "model_index.json").is_file():
            return candidate
    if config is not None:
        raise EngineError(f"{CONFIG_ENV}={config} has no model_index.json.")
    raise EngineError(
        f"The single-file checkpoint {path.name} needs its component configs: put a diffusers "
        f"config folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/) "
        f"beside it as {path.with_suffix('').name}/, or set {CONFIG_ENV} to such a folder."
    )


def resolve_checkpoint(
    path: Path | str | None, config: Path | str | None = None
) -> CheckpointSource:
    """Check a configured model path and say clearly what is wrong with it, before loading."""
    if path is None or str(path).strip() == "":
        raise EngineError(
            f"The diffusion engine needs a local checkpoint: set {MODEL_ENV} to a diffusers "
            f"folder or a .safetensors file (or pass --model PATH). Nothing is downloaded."
        )
    p = Path(path).expanduser()
    if not p.exists():
        raise EngineError(f"{MODEL_ENV} points to {p}, which does not exist.")
    if p.is_dir():
        family, class_name = _family_of(p)
        return CheckpointSource(p, "folder", p, family, class_name)
    if p.suffix.lower() != ".safetensors":
        raise EngineError(
            f"{p.name} is not a .safetensors file; use a diffusers folder or a .safetensors "
            f"checkpoint (pickled .ckpt/.bin files are not loaded, they can run code)."
        )
    config_dir = _config_dir_for_file(p, Path(config).expanduser() if config else None)
    family, class_name = _family_of(config_dir)
    return CheckpointSource(p, "file", config_dir, family, class_name)


def resolve_device(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError:
        raise EngineError(
            f"IMAGINE_MED_DIFFUSION_DEVICE={name!r} is not a device torch knows "
            f"(use cuda, cuda:N or cpu)."
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EngineError(
            f"IMAGINE_MED_DIFFUSION_DEVICE is {name!r} but no CUDA GPU is visible to torch "
            f"{torch.__version__}; set IMAGINE_MED_DIFFUSION_DEVICE=cpu to run (slowly) on the CPU."
        )
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """Half precision on accelerators by default; fp32 on the CPU, where fp16 is slow or absent."""
    if name == "auto":
        return torch.float16 if device.type in ("cuda", "mps") else torch.float32
    return {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[name]


def _pipeline_classes(family: Family) -> tuple[Any, Any]:
    import diffusers

    if family == "sdxl":
        return diffusers.StableDiffusionXLPipeline, diffusers.StableDiffusionXLImg2ImgPipeline
    return diffusers.StableDiffusionPipeline, diffusers.StableDiffusionImg2ImgPipeline


def dtype_kwarg(dtype: torch.dtype) -> dict[str, torch.dtype]:
    """Newer diffusers call it `dtype` (and warn on `torch_dtype`); older ones only know
    `torch_dtype`."""
    from diffusers.utils import deprecation_utils

    new = hasattr(deprecation_utils, "_TORCH_DTYPE_DEPRECATION_MESSAGE")
    return {"dtype" if new else "torch_dtype": dtype}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _load_base(source: CheckpointSource, dtype: torch.dtype) -> Any:
    text2img_cls, _ = _pipeline_classes(source.family)
    extra: dict[str, Any] = {**dtype_kwarg(dtype), "local_files_only": True}
    if source.family == "sd":
        # Medical images (skin, anatomy) trip the NSFW checker's false positives; prompts are
        # moderated by imagine_med.moderation instead.
        extra.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    try:
        if source.kind == "folder":
            return text2img_cls.from_pretrained(str(source.path), **extra)
        return text2img_cls.from_single_file(
            str(source.path), config=str(source.config_dir), **extra
        )
    except EngineError:
        raise
    except Exception as exc:
        raise EngineError(
            f"Could not load the diffusion checkpoint at {source.path} as {source.pipeline_class} "
            f"({_first_line(exc)}). Check that the weights match the configs; {WHAT_IS_SUPPORTED}."
        ) from None


def load_controlnet(path: Path, base: Any, dtype: torch.dtype) -> Any:
    """A ControlNet folder trained for the same base (its cross-attention width must match)."""
    from diffusers import ControlNetModel

    path = Path(path).expanduser()
    if not (path / "config.json").is_file():
        raise EngineError(
            f"IMAGINE_MED_DIFFUSION_CONTROLNET={path} is not a ControlNet folder (config.json "
            f"and diffusion_pytorch_model.safetensors)."
        )
    try:
        controlnet = ControlNetModel.from_pretrained(
            str(path), **dtype_kwarg(dtype), local_files_only=True
        )
    except Exception as exc:
        raise EngineError(
            f"Could not load the ControlNet at {path} ({_first_line(exc)})."
        ) from None
    want = base.unet.config.cross_attention_dim
    got = controlnet.config.cross_attention_dim
    if want != got:
        raise EngineError(
            f"The ControlNet at {path} was trained for a different base model (text width {got}, "
            f"the checkpoint has {want})."
        )
    return controlnet


def load_upscaler(path: Path, dtype: torch.dtype) -> Any:
    """An optional StableDiffusionUpscalePipeline folder (e.g. an x4 upscaler)."""
    from diffusers import StableDiffusionUpscalePipeline

    path = Path(path).expanduser()
    index = path / "model_index.json"
    class_name = _read_json(index).get("_class_name") if index.is_file() else None
    if class_name != "StableDiffusionUpscalePipeline":
        raise EngineError(
            f"IMAGINE_MED_DIFFUSION_UPSCALER={path} is not a StableDiffusionUpscalePipeline "
            f"folder (found {class_name or 'no model_index.json'})."
        )
    try:
        return StableDiffusionUpscalePipeline.from_pretrained(
            str(path), **dtype_kwarg(dtype), local_files_only=True
        )
    except Exception as exc:
        raise EngineError(f"Could not load the upscaler at {path} ({_first_line(exc)}).") from None


def load_pipelines(
    source: CheckpointSource,
    device: torch.device,
    dtype: torch.dtype,
    controlnet: Path | None = None,
    upscaler: Path | None = None,
) -> Pipelines:
    """Load the checkpoint once and derive the image-to-image and ControlNet pipelines from it
    (`from_pipe` shares the modules, so each extra pipeline costs no weight memory)."""
    from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image

    base = _load_base(source, dtype)
    base.set_progress_bar_config(disable=True)
    pipes = Pipelines(
        source=source, device=device, dtype=dtype, text2img=base,
        img2img=AutoPipelineForImage2Image.from_pipe(base),
    )
    if controlnet is not None:
        cn = load_controlnet(controlnet, base, dtype)
        pipes.controlnet_text2img = AutoPipelineForText2Image.from_pipe(base, controlnet=cn)
        pipes.controlnet_img2img = AutoPipelineForImage2Image.from_pipe(base, controlnet=cn)
    if upscaler is not None:
        pipes.upscaler = load_upscaler(upscaler, dtype)
    from imagine_med.engine.diffusion.memory import ensure_fits

    ensure_fits(pipes.weight_bytes(), device, what=f"the weights of {source.name}")
    for pipe in (
        pipes.text2img, pipes.img2img, pipes.controlnet_text2img, pipes.controlnet_img2img,
        pipes.upscaler,
    ):
        if pipe is not None:
            pipe.set_progress_bar_config(disable=True)
            pipe.to(device)
    return pipes
