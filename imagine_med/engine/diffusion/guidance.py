"""Phantom guidance: the phantom engine draws the anatomy (and knows where everything is), the
diffusion model paints the texture over it.

Two ways, usable together: start image-to-image from the phantom's render (the anatomy survives
a strength of about 0.3-0.6), and/or condition a ControlNet on the phantom's label map drawn in
fixed colours. Either way the phantom's labels and answer key travel with the result.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from imagine_med.engine.base import (
    EngineError,
    ProgressFn,
    Renderer,
    RenderRequest,
    RenderResult,
    render_all,
)


def phantom_for(modality: str, region: str | None = None) -> Renderer | None:
    """The phantom renderer for this modality and region, or None where the phantom does not
    serve it."""
    from imagine_med.engine.registry import RENDERERS, find, get_renderer

    if find("phantom", modality, region, RENDERERS.values()) is None:
        return None
    try:
        return get_renderer("phantom", modality, region)
    except EngineError:
        return None


def render_guides(
    phantom: Renderer, requests: list[RenderRequest], progress: ProgressFn
) -> list[RenderResult]:
    """The phantom's render of each request (same spec, seed and size), in one batch if it can."""
    return render_all(phantom, [_guide_request(r) for r in requests], progress)


def _guide_request(r: RenderRequest) -> RenderRequest:
    """What to ask the phantom for: the same spec and size; for an image that came from an
    earlier variant, that variant's seed (`base_seed`), so the anatomy is the one it had."""
    if r.init is not None:
        seed = r.base_seed if r.base_seed is not None else r.seed
        return RenderRequest(spec=r.spec, seed=seed, width=r.width, height=r.height)
    return RenderRequest(
        spec=r.spec, seed=r.seed, width=r.width, height=r.height,
        variation=r.variation, base_seed=r.base_seed,
    )


def to_rgb(pixels: np.ndarray) -> Image.Image:
    """A phantom render (grey or RGB, uint8) as the RGB image a pipeline takes."""
    if pixels.ndim == 2:
        return Image.fromarray(pixels, mode="L").convert("RGB")
    return Image.fromarray(pixels[..., :3]).convert("RGB")


def label_colour(label_id: int) -> tuple[int, int, int]:
    """A fixed, well-spread colour per label id (background black), the same in every run so a
    ControlNet trained on these maps sees the same colour for the same structure."""
    if label_id == 0:
        return (0, 0, 0)
    h = zlib.crc32(label_id.to_bytes(2, "little"))
    return (64 + (h & 0xBF), 64 + ((h >> 8) & 0xBF), 64 + ((h >> 16) & 0xBF))


def label_condition(label_map: np.ndarray) -> Image.Image:
    """The label map drawn in label colours: the ControlNet's conditioning image."""
    lut = np.array([label_colour(i) for i in range(256)], dtype=np.uint8)
    return Image.fromarray(lut[label_map.astype(np.uint8)], mode="RGB")


def resize_labels(label_map: np.ndarray, width: int, height: int) -> np.ndarray:
    """Labels at another size: nearest neighbour, so no new ids appear at edges."""
    if label_map.shape == (height, width):
        return label_map
    img = Image.fromarray(label_map.astype(np.uint8), mode="L")
    return np.asarray(img.resize((width, height), Image.Resampling.NEAREST), dtype=np.uint8)


@dataclass(frozen=True)
class GuidePlan:
    """Which kinds of phantom guidance a batch gets; `labels`: the phantom's labels and answer
    key travel with the result."""

    init: bool
    controlnet: bool
    labels: bool

    @property
    def guided(self) -> bool:
        return self.labels


NO_GUIDANCE = GuidePlan(init=False, controlnet=False, labels=False)


def plan_guidance(
    mode: str, *, has_phantom: bool, has_controlnet: bool, has_init: bool, knows_source: bool
) -> GuidePlan:
    """auto: everything that is available; init / controlnet / both: only that kind.

    A request that already carries an image (Refine, upscale, variations) starts from that image;
    the phantom then supplies the ControlNet condition and the labels, but only when the request
    names the variant the image came from (`base_seed`, `knows_source`), because only then is
    the phantom's anatomy the one that guided it."""
    if mode == "none" or not has_phantom:
        return NO_GUIDANCE
    want_init = mode in ("auto", "init", "both")
    want_cn = mode in ("auto", "controlnet", "both") and has_controlnet
    if has_init:
        if not knows_source:
            return NO_GUIDANCE
        return GuidePlan(init=False, controlnet=want_cn, labels=True)
    if not (want_init or want_cn):
        return NO_GUIDANCE
    return GuidePlan(init=want_init, controlnet=want_cn, labels=True)
