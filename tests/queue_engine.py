"""A small, real renderer for queue tests: rendering cost and behaviour set from the prompt.

Prompt words (key=value): sleep=SECONDS (spent in 5 progress steps), fail=1 (EngineError),
suicide=1 (the worker process SIGKILLs itself mid-render). Building it costs
QUEUE_TEST_ENGINE_LOAD_S seconds, standing in for loading a model. Each image records the pid
that rendered it, so tests can tell which worker did the work.
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np

from imagine_med.engine.base import (
    EngineError,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)


class QueueTestRenderer:
    engine = "phantom"
    version = "queue-test-1"

    def __init__(self) -> None:
        time.sleep(float(os.environ.get("QUEUE_TEST_ENGINE_LOAD_S", "0")))
        self.renders = 0

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        opts = dict(w.split("=", 1) for w in request.spec.prompt.split() if "=" in w)
        sleep = float(opts.get("sleep", "0"))
        for i in range(5):
            progress(i / 5, "render")
            if opts.get("suicide") == "1" and i == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(sleep / 5)
        if opts.get("fail") == "1":
            raise EngineError("The test engine was asked to fail.")
        self.renders += 1
        h, w = request.height, request.width
        pixels = np.full((h, w), request.seed % 251, dtype=np.uint8)
        return RenderResult(
            pixels=pixels, label_map=np.zeros((h, w), dtype=np.uint8), labels={}, findings=[],
            pixel_spacing_mm=(1.0, 1.0), answer_key="test",
            tags={"pid": str(os.getpid()), "renders": str(self.renders),
                  "variation": str(request.variation), "base_seed": str(request.base_seed)},
        )


def make() -> QueueTestRenderer:
    return QueueTestRenderer()
