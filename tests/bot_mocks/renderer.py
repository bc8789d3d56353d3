"""A small real renderer for the bot tests: a noisy disc per requested finding, labelled.

It stands in for the phantom engine (a plugin registered with the worker's --renderer), so the
answer key and the label overlay have real labels to show. Pixels depend on the seed, so
variants differ and an upscale re-renders at the asked size. The word "slow" in a prompt (which
the parser ignores) makes each variant take ~1.2 s, long enough to watch progress edits.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from imagine_med.engine.base import (
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)


class BotTestRenderer:
    engine = "phantom"
    version = "bot-test-1"

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        h, w = request.height, request.width
        rng = np.random.default_rng(request.seed)
        slow = 0.6 if "slow" in request.spec.unparsed else 0.0  # to watch progress edits
        progress(0.2, "anatomy")
        time.sleep(slow)
        pixels = rng.integers(40, 90, (h, w), dtype=np.uint8)
        labels_map = np.zeros((h, w), dtype=np.uint8)
        labels: dict[int, str] = {}
        findings = []
        yy, xx = np.mgrid[0:h, 0:w]
        for i, f in enumerate(request.spec.findings, start=1):
            cx = w // 4 if f.laterality == "left" else 3 * w // 4 if f.laterality else w // 2
            cy = h // 3 + int(rng.integers(-h // 10, h // 10))
            disc = (xx - cx) ** 2 + (yy - cy) ** 2 < (min(h, w) // 8) ** 2
            pixels[disc] = 200
            labels_map[disc] = i
            labels[i] = f.name
            ys, xs = np.nonzero(disc)
            findings.append(FindingResult(
                f.name, i, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
                f.laterality, f.location, f.describe(),
            ))
        progress(0.8, "noise")
        time.sleep(slow)
        key = "; ".join(f.description for f in findings) or "normal study"
        return RenderResult(pixels=pixels, label_map=labels_map, labels=labels,
                            findings=findings, pixel_spacing_mm=(0.5, 0.5), answer_key=key)


def make() -> BotTestRenderer:
    return BotTestRenderer()


def render_locally(out_dir: Path, prompt: str) -> dict[str, Path]:
    """A case written in this process (watermarked by write_case like a worker's), with this
    renderer registered only for the call."""
    from imagine_med.case import render_case, write_case
    from imagine_med.engine import registry
    from imagine_med.prompt import parse_one

    spec = parse_one(prompt)
    key = (spec.engine, spec.modality)
    replaced = registry.register(*key, "bot_mocks.renderer:make")
    try:
        return write_case(render_case(spec), out_dir)
    finally:
        registry.restore(*key, replaced)
