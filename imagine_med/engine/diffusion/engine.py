"""The diffusion renderer: four variants of a case spec in one batch on a local checkpoint.

Modes, chosen per batch from the requests:
- text to image (optionally phantom-guided: image to image from the phantom's render and/or a
  ControlNet on its label map);
- Refine / variations (the request carries a previous variant as `init`; strength from the
  request, else from `variation`, else the configured default);
- upscale (the request asks for more pixels than `init` has: image to image at the new size with
  VAE tiling, or the configured upscaler pipeline).
The model is loaded once per process (see `create_renderer`) and kept warm.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    Renderer,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.diffusion import guidance, memory, prompts, speed
from imagine_med.engine.diffusion.config import DiffusionOptions
from imagine_med.engine.diffusion.loader import (
    Pipelines,
    load_pipelines,
    resolve_checkpoint,
    resolve_device,
    resolve_dtype,
)
from imagine_med.prompt.spec import CaseSpec

ENGINE_VERSION = "1.0"
SOURCE_TYPE = "trainedAlgorithmicMedia"  # IPTC digital source type of generated images
GUIDE_SHARE = 0.15  # share of the progress bar spent on the phantom's renders


def round8(n: int) -> int:
    """Latent sizes are 1/8 of the image: generate at the next multiple of 8, resize after."""
    return max(64, int(math.ceil(n / 8) * 8))


def strength_for_variation(variation: float) -> float:
    """V buttons: subtle (small `variation`) keeps most of the image, strong repaints more."""
    return float(min(0.85, max(0.15, 0.15 + 0.6 * variation)))


def seed_noise(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    """The starting noise for a seed, from a CPU generator so it is the same on every machine."""
    return torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed))


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between two noises: stays a plausible noise sample at every t."""
    af, bf = a.flatten(), b.flatten()
    cos = torch.clamp(torch.dot(af, bf) / (af.norm() * bf.norm()), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-4:
        return (1 - t) * a + t * b
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


@dataclass
class Job:
    """One batch, fully decided, before the pipeline runs."""

    mode: str  # text2img | guided | refine | variation | upscale
    pipe: Any
    kwargs: dict[str, Any]
    width: int  # generation size (multiple of 8)
    height: int
    strength: float | None = None
    guides: list[RenderResult] | None = None
    plan: guidance.GuidePlan = guidance.NO_GUIDANCE
    notes: list[str] = field(default_factory=list)


class DiffusionRenderer:
    """Implements the Renderer protocol (plus `render_batch`) for every modality it is
    registered for; one instance is shared by all of them."""

    engine = "diffusion"

    def __init__(
        self,
        pipes: Pipelines,
        options: DiffusionOptions | None = None,
        *,
        phantom_lookup: Callable[..., Renderer | None] = guidance.phantom_for,
    ) -> None:
        self.pipes = pipes
        self.options = options or DiffusionOptions()
        self.phantom_lookup = phantom_lookup
        self.version = f"{ENGINE_VERSION} ({pipes.source.name}, {pipes.family})"
        self._lock = threading.Lock()

    # -- Renderer interface -------------------------------------------------------------------

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        return self.render_batch([request], progress)[0]

    def render_batch(
        self, requests: list[RenderRequest], progress: ProgressFn = no_progress
    ) -> list[RenderResult]:
        """All requests in as few pipeline calls as possible (one, for a normal job)."""
        groups: list[list[RenderRequest]] = []
        for req in requests:
            if groups and _batch_key(groups[-1][0]) == _batch_key(req):
                groups[-1].append(req)
            else:
                groups.append([req])
        results: list[RenderResult] = []
        done = 0
        for group in groups:
            start, span = done / len(requests), len(group) / len(requests)

            def sub(frac: float, stage: str, start: float = start, span: float = span) -> None:
                progress(start + span * max(0.0, min(1.0, frac)), stage)

            results.extend(self._render_group(group, sub))
            done += len(group)
        return results

    def warm_up(self, size: int, batch: int = 4) -> None:
        """One short grid through the compiled UNet (batch x2 for guidance) at the usual size,
        so compilation happens at load rather than in the first user's job."""
        size = round8(size)
        with self._lock, torch.inference_mode():
            self.pipes.text2img(
                ["warm-up"] * batch, num_inference_steps=2, width=size, height=size,
                guidance_scale=self.options.guidance_scale, output_type="latent",
            )

    # -- one batch ----------------------------------------------------------------------------

    def _render_group(
        self, requests: list[RenderRequest], progress: ProgressFn
    ) -> list[RenderResult]:
        first = requests[0]
        spec = first.spec
        if spec.modality not in prompts.STYLES:
            raise EngineError(f"The diffusion engine has no prompt template for {spec.modality}.")
        job = self._plan(requests, progress)
        with self._lock:
            self._check_memory(job, len(requests))
            images = self._run(job, len(requests), progress)
        progress(1.0, "decoded")
        pairs = zip(requests, images, strict=True)
        return [self._result(req, img, job, i) for i, (req, img) in enumerate(pairs)]

    def _plan(self, requests: list[RenderRequest], progress: ProgressFn) -> Job:
        first, spec = requests[0], requests[0].spec
        opts = self.options
        gw, gh = round8(first.width), round8(first.height)
        steps = spec.steps or opts.steps
        has_init = first.init is not None
        phantom = (None if opts.guidance == "none"
                   else self.phantom_lookup(spec.modality, spec.region))
        plan = guidance.plan_guidance(
            opts.guidance,
            has_phantom=phantom is not None,
            has_controlnet=self.pipes.controlnet_text2img is not None,
            has_init=has_init,
            knows_source=first.base_seed is not None,
        )
        guides = None
        if plan.guided:
            assert phantom is not None
            guides = guidance.render_guides(
                phantom, requests, lambda f, s: progress(GUIDE_SHARE * f, f"phantom {s}")
            )
        n = len(requests)
        common: dict[str, Any] = {
            "prompt": [prompts.build_prompt(spec)] * n,
            "negative_prompt": [prompts.build_negative_prompt(spec)] * n,
            "generator": [torch.Generator("cpu").manual_seed(r.seed) for r in requests],
            "guidance_scale": opts.guidance_scale,
        }
        conditions = (
            [guidance.label_condition(guidance.resize_labels(g.label_map, gw, gh)) for g in guides]
            if plan.controlnet and guides is not None else None
        )
        cn_scale = {"controlnet_conditioning_scale": opts.controlnet_scale}

        def img2img(inits: list[Image.Image], strength: float, steps: int
                    ) -> tuple[Any, dict[str, Any]]:
            """Image to image from `inits`, through the ControlNet when there are conditions."""
            if conditions is not None:
                pipe = self.pipes.controlnet_img2img
                kwargs = {**common, **cn_scale, "image": inits, "control_image": conditions}
            else:
                pipe = self.pipes.img2img
                kwargs = {**common, "image": inits}
            kwargs.update(strength=strength,
                          num_inference_steps=_steps_for_strength(steps, strength))
            return pipe, kwargs

        if has_init:
            inits = [_init_image(r.init, gw, gh) for r in requests]  # type: ignore[arg-type]
            src_h, src_w = first.init.shape[:2]  # type: ignore[union-attr]
            upscale = gw * gh > src_w * src_h * 1.05
            if first.strength is not None:
                strength = float(first.strength)
            elif first.variation > 0:
                strength = strength_for_variation(first.variation)
            else:
                strength = opts.upscale_strength if upscale else opts.refine_strength
            mode = "upscale" if upscale else ("variation" if first.variation > 0 else "refine")
            if upscale and self.pipes.upscaler is not None and conditions is None:
                return self._upscaler_job(requests, common, steps, gw, gh, plan, guides)
            pipe, kwargs = img2img(inits, strength, steps)
            return Job(mode, pipe, kwargs, gw, gh, strength, guides, plan)

        if plan.init:
            assert guides is not None
            strength = opts.guide_strength
            inits = [_init_image(g.pixels, gw, gh) for g in guides]
            pipe, kwargs = img2img(inits, strength, steps)
            return Job("guided", pipe, kwargs, gw, gh, strength, guides, plan)

        latents = self._latents(requests, gw, gh)
        kwargs = {
            **common, "latents": latents, "width": gw, "height": gh, "num_inference_steps": steps,
        }
        if conditions is not None:
            kwargs.update(cn_scale, image=conditions)
            return Job("guided", self.pipes.controlnet_text2img, kwargs, gw, gh, None, guides, plan)
        return Job("text2img", self.pipes.text2img, kwargs, gw, gh, None, guides, plan)

    def _upscaler_job(
        self,
        requests: list[RenderRequest],
        common: dict[str, Any],
        steps: int,
        gw: int,
        gh: int,
        plan: guidance.GuidePlan,
        guides: list[RenderResult] | None,
    ) -> Job:
        """The configured upscaler pipeline multiplies the size by its own factor (x4 for the
        usual one); feed it the variant at target/factor, then resize to the exact target."""
        up = self.pipes.upscaler
        factor = 2 ** (len(up.vae.config.block_out_channels) - 1)
        lw = max(8, math.ceil(gw / factor / 8) * 8)
        lh = max(8, math.ceil(gh / factor / 8) * 8)
        lows = [_init_image(r.init, lw, lh) for r in requests]  # type: ignore[arg-type]
        kwargs = {**common, "image": lows, "num_inference_steps": steps}
        return Job(
            "upscale", up, kwargs, lw * factor, lh * factor, None, guides, plan, ["upscaler"]
        )

    def _latents(self, requests: list[RenderRequest], gw: int, gh: int) -> torch.Tensor:
        """Per-seed starting noise; a text-to-image variation (no init) mixes in its base seed's
        noise, so the variant stays near the one it came from."""
        pipe = self.pipes.text2img
        f = pipe.vae_scale_factor
        shape = (1, pipe.unet.config.in_channels, gh // f, gw // f)
        noises = []
        for r in requests:
            noise = seed_noise(r.seed, shape)
            if r.variation > 0 and r.base_seed is not None:
                noise = slerp(seed_noise(r.base_seed, shape), noise, float(r.variation))
            noises.append(noise)
        return torch.cat(noises).to(self.pipes.device, self.pipes.dtype)

    def _check_memory(self, job: Job, batch: int) -> None:
        pipe = job.pipe
        tiled = speed.set_vae_for_size(
            pipe.vae, job.width, job.height, batch, self.options.tile_above_px
        )
        need = memory.estimate_activation_bytes(
            width=job.width,
            height=job.height,
            batch=batch,
            base_channels=int(pipe.unet.config.block_out_channels[0]),
            dtype_bytes=torch.tensor([], dtype=self.pipes.dtype).element_size(),
            cfg=self.options.guidance_scale > 1.0,
            vae_tiled=tiled,
            vae_sliced=tiled,
        )
        memory.ensure_fits(
            need, self.pipes.device,
            what=f"{batch} variant(s) at {job.width}x{job.height} ({job.mode})",
        )

    def _run(self, job: Job, batch: int, progress: ProgressFn) -> list[np.ndarray]:
        start = GUIDE_SHARE if job.guides is not None else 0.0
        span = 0.95 - start
        fallback_total = int(job.kwargs.get("num_inference_steps", 1))

        def on_step(pipe: Any, step: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            total = getattr(pipe, "_num_timesteps", None) or fallback_total
            progress(start + span * min(1.0, (step + 1) / total), "denoising")
            return tensors

        kwargs = dict(job.kwargs)
        if job.mode == "upscale" and "upscaler" in job.notes:
            total = fallback_total
            kwargs["callback"] = lambda step, _t, _lat: progress(
                start + span * min(1.0, (step + 1) / total), "upscaling"
            )
            kwargs["callback_steps"] = 1
        else:
            kwargs["callback_on_step_end"] = on_step
        try:
            with torch.inference_mode():
                out = job.pipe(**kwargs, output_type="np")
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise EngineError(
                f"The GPU ran out of memory rendering {batch} variant(s) at "
                f"{job.width}x{job.height}; ask for a smaller size."
            ) from None
        images = np.nan_to_num(np.asarray(out.images, dtype=np.float32), nan=0.0)
        return [(np.clip(img, 0.0, 1.0) * 255.0).round().astype(np.uint8) for img in images]

    # -- results ------------------------------------------------------------------------------

    def _result(self, req: RenderRequest, image: np.ndarray, job: Job, index: int) -> RenderResult:
        spec = req.spec
        style = prompts.style_for(spec.modality)
        pil = Image.fromarray(image)
        if pil.size != (req.width, req.height):
            pil = pil.resize((req.width, req.height), Image.Resampling.LANCZOS)
        if style.grayscale:
            pil = pil.convert("L")
        pixels = np.asarray(pil, dtype=np.uint8).copy()
        tags = {
            "guided": "phantom" if job.plan.guided else "none",
            "source": SOURCE_TYPE,
            "engine_model": self.pipes.source.name,
            "model_family": self.pipes.family,
            "mode": job.mode,
            "steps": str(job.kwargs.get("num_inference_steps", "")),
            "prompt": job.kwargs["prompt"][0],
            "negative_prompt": job.kwargs["negative_prompt"][0],
        }
        if job.strength is not None:
            tags["strength"] = f"{job.strength:g}"
        if job.mode == "upscale":
            tags["upscaled_by"] = "upscaler" if "upscaler" in job.notes else "image to image"
        if job.plan.guided and job.guides is not None:
            guide = job.guides[index]
            how = _guidance_words(job)
            tags["guidance"] = how
            return RenderResult(
                pixels=pixels,
                label_map=guidance.resize_labels(guide.label_map, req.width, req.height),
                labels=dict(guide.labels),
                findings=list(guide.findings),
                pixel_spacing_mm=guide.pixel_spacing_mm,
                answer_key=(
                    f"{guide.answer_key}\n\nDiffusion image guided by the phantom ({how}): the "
                    f"labels, findings and answer key are the phantom's; the texture was "
                    f"generated by {self.pipes.source.name}, so fine detail can drift from the "
                    f"labels."
                ),
                tags={**guide.tags, **tags},
            )
        spacing = style.field_of_view_mm / req.width
        tags["pixel_spacing"] = "nominal"
        return RenderResult(
            pixels=pixels,
            label_map=np.zeros(pixels.shape[:2], dtype=np.uint8),
            labels={},
            findings=[
                FindingResult(
                    name=f.name, label_id=0, bbox=None, laterality=f.laterality,
                    location=f.location,
                    description=f"{f.describe()} (asked for; position unknown)",
                )
                for f in spec.findings
            ],
            pixel_spacing_mm=(spacing, spacing),
            answer_key=_unguided_answer_key(spec, self.pipes.source.name),
            tags=tags,
        )


def _guidance_words(job: Job) -> str:
    parts = []
    if job.plan.init:
        parts.append(f"image to image from its render, strength {job.strength:g}")
    if job.plan.controlnet:
        parts.append("ControlNet on its label map")
    if not parts:
        parts.append("labels of the variant this image was refined from")
    return "; ".join(parts)


def _unguided_answer_key(spec: CaseSpec, model: str) -> str:
    asked = "; ".join(f.describe() for f in spec.findings) or "a normal study"
    return (
        f"Diffusion image generated by {model}, without phantom guidance: it has NO ground-truth "
        f"labels. The prompt asked for: {asked}. Whether and where this appears in the image is "
        f"not known, so it cannot serve as an answer key. For labelled cases use the phantom "
        f"engine or phantom guidance."
    )


def _batch_key(r: RenderRequest) -> tuple[Any, ...]:
    shape = None if r.init is None else tuple(r.init.shape)
    return (r.spec, r.width, r.height, shape, r.strength, r.variation, r.base_seed is None)


def _init_image(pixels: np.ndarray, width: int, height: int) -> Image.Image:
    img = guidance.to_rgb(np.asarray(pixels, dtype=np.uint8))
    if img.size != (width, height):
        img = img.resize((width, height), Image.Resampling.LANCZOS)
    return img


def _steps_for_strength(steps: int, strength: float) -> int:
    """Image to image runs only `strength` x steps; keep at least one real step."""
    return max(steps, math.ceil(1.0 / strength))


# -- factory ----------------------------------------------------------------------------------

_shared: dict[tuple[str, ...], DiffusionRenderer] = {}
_shared_lock = threading.Lock()


def build_renderer(
    model: Path | str | None,
    *,
    controlnet: Path | str | None = None,
    device: str = "cuda",
    options: DiffusionOptions | None = None,
    data_dir: Path = Path("data"),
    warmup_size: int = 512,
) -> DiffusionRenderer:
    """Resolve, load and speed up a checkpoint; every failure is an EngineError that says what
    to fix."""
    opts = options or DiffusionOptions()
    if opts.guidance in ("controlnet", "both") and controlnet is None:
        raise EngineError(
            f"IMAGINE_MED_DIFFUSION_GUIDANCE={opts.guidance} needs a ControlNet: set "
            f"IMAGINE_MED_DIFFUSION_CONTROLNET to a ControlNet folder."
        )
    source = resolve_checkpoint(model, opts.config)
    dev = resolve_device(device)
    dtype = resolve_dtype(opts.dtype, dev)
    pipes = load_pipelines(
        source, dev, dtype,
        controlnet=Path(controlnet) if controlnet else None,
        upscaler=opts.upscaler,
    )
    compile_models = opts.compile == "on" or (opts.compile == "auto" and dev.type == "cuda")
    pipes.notes.extend(
        speed.optimize(
            pipes, compile_models=compile_models, compile_mode=opts.compile_mode,
            cache_dir=speed.compile_cache_dir(data_dir),
        )
    )
    renderer = DiffusionRenderer(pipes, opts)
    if compile_models and opts.warmup:
        renderer.warm_up(warmup_size)
    return renderer


def create_renderer() -> DiffusionRenderer:
    """Registry factory: one loaded model per process, shared by every modality's row."""
    from imagine_med.settings import get_settings

    settings = get_settings()
    opts = DiffusionOptions()
    key = (
        str(settings.diffusion_model), str(settings.diffusion_controlnet),
        settings.diffusion_device, opts.model_dump_json(),
    )
    with _shared_lock:
        if key not in _shared:
            _shared[key] = build_renderer(
                settings.diffusion_model,
                controlnet=settings.diffusion_controlnet,
                device=settings.diffusion_device,
                options=opts,
                data_dir=settings.data_dir,
                warmup_size=settings.default_size,
            )
        return _shared[key]
