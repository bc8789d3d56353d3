"""Speed of the diffusion engine against plain diffusers defaults, on one machine, in one run.

Builds a Stable Diffusion 1.5-architecture pipeline at real size with random weights (nothing is
downloaded), saves it to a temporary diffusers folder, then times one 4-variant grid:

  baseline  diffusers defaults: fp32, one image at a time (four pipeline calls)
  engine    imagine-med's path: the real loader and renderer (half precision, one batch of 4,
            SDPA attention, channels_last, fused QKV, torch.compile with its cache)

Usage (GPU):   .venv/bin/python bench/diffusion.py
Smoke (CPU):   .venv/bin/python bench/diffusion.py --device cpu --tiny
Goal on an H200-class GPU: <= 1.5 s per grid for the engine and >= 3x the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # bench/ holds queue.py: keep the standard library's `queue` visible
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

GOAL_SECONDS = 1.5
GOAL_SPEEDUP = 3.0
SEEDS = [101, 202, 303, 404]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tiny", action="store_true", help="tiny random model (CPU smoke run)")
    ap.add_argument("--size", type=int, default=None, help="image side (default 512; tiny 64)")
    ap.add_argument("--steps", type=int, default=None, help="denoising steps (default 30; tiny 4)")
    ap.add_argument("--repeats", type=int, default=3, help="timed grids per path (median kept)")
    ap.add_argument("--dtype", default="auto", choices=["auto", "fp16", "bf16", "fp32"])
    ap.add_argument("--compile", default="auto", choices=["auto", "on", "off"])
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args(argv)

    from diffusers import StableDiffusionPipeline

    from imagine_med.engine.base import RenderRequest
    from imagine_med.engine.diffusion import random_weights as rw
    from imagine_med.engine.diffusion.config import DiffusionOptions
    from imagine_med.engine.diffusion.engine import build_renderer
    from imagine_med.engine.diffusion.loader import resolve_device
    from imagine_med.prompt.spec import CaseSpec

    device = resolve_device(args.device)
    size = args.size or (64 if args.tiny else 512)
    steps = args.steps or (4 if args.tiny else 30)
    kind = "tiny" if args.tiny else "sd15"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"# diffusion bench: {kind} random weights, {size}x{size}, {steps} steps, 4 variants")
    print(f"# device {device} ({name}); torch {torch.__version__}")

    with tempfile.TemporaryDirectory(prefix="imagine-med-bench-") as tmp:
        t0 = time.perf_counter()
        folder = rw.save_pipeline(Path(tmp) / f"random-{kind}", size=kind)
        print(f"# built and saved the random pipeline in {time.perf_counter() - t0:.1f} s")
        prompt = "PA chest radiograph, consolidation (right, RUL), 60-year-old male"
        rows: list[tuple[str, str, int, float, float]] = []

        if not args.skip_baseline:
            base = StableDiffusionPipeline.from_pretrained(
                str(folder), local_files_only=True, safety_checker=None,
                requires_safety_checker=False,
            ).to(device)
            base.set_progress_bar_config(disable=True)

            def baseline_grid() -> None:
                for s in SEEDS:
                    base(
                        prompt, num_inference_steps=steps, height=size, width=size,
                        generator=torch.Generator("cpu").manual_seed(s),
                    )

            timed(baseline_grid, device, 1)  # warm-up (cuDNN autotune, allocator)
            t = statistics.median(timed(baseline_grid, device, args.repeats))
            rows.append(("diffusers defaults", "fp32", 1, t, 4 * steps / t))
            del base
            if device.type == "cuda":
                torch.cuda.empty_cache()

        opts = DiffusionOptions(
            guidance="none", steps=steps, dtype=args.dtype, compile=args.compile,
        )
        t0 = time.perf_counter()
        renderer = build_renderer(
            folder, device=str(device), options=opts, data_dir=Path(tmp) / "data"
        )
        load_s = time.perf_counter() - t0
        spec = CaseSpec(
            modality="xray", region="chest", view="pa", width=size, height=size, steps=steps,
            engine="diffusion",
        )
        requests = [RenderRequest(spec=spec, seed=s, width=size, height=size) for s in SEEDS]

        def engine_grid() -> None:
            renderer.render_batch(requests)

        t0 = time.perf_counter()
        timed(engine_grid, device, 1)  # warm-up: torch.compile traces and builds kernels here
        warm_s = time.perf_counter() - t0
        t = statistics.median(timed(engine_grid, device, args.repeats))
        dtype = str(renderer.pipes.dtype).removeprefix("torch.").replace("float", "fp")
        rows.append(("imagine-med engine", dtype, 4, t, 4 * steps / t))
        print(f"# engine: load {load_s:.1f} s, first grid (incl. compile) {warm_s:.1f} s; "
              f"settings: {', '.join(renderer.pipes.notes)}")

    print()
    print("| path | precision | batch | s per grid | image-steps/s | speed-up |")
    print("|---|---|---|---|---|---|")
    baseline_t = rows[0][3] if not args.skip_baseline else None
    for path, dtype, batch, t, ips in rows:
        speedup = f"{baseline_t / t:.2f}x" if baseline_t else "-"
        print(f"| {path} | {dtype} | {batch} | {t:.3f} | {ips:.1f} | {speedup} |")
    engine_t = rows[-1][3]
    print()
    if args.tiny or device.type != "cuda":
        print("(smoke run: the goal is for SD 1.5 size, 512x512, 30 steps, H200-class GPU)")
        return 0
    ok_time = engine_t <= GOAL_SECONDS
    ok_speed = baseline_t is None or baseline_t / engine_t >= GOAL_SPEEDUP
    verdict = "met" if ok_time else "NOT met"
    print(f"goal <= {GOAL_SECONDS} s per grid: {verdict} ({engine_t:.3f} s)")
    if baseline_t is not None:
        print(f"goal >= {GOAL_SPEEDUP}x defaults: {'met' if ok_speed else 'NOT met'} "
              f"({baseline_t / engine_t:.2f}x)")
    return 0 if ok_time and ok_speed else 1


if __name__ == "__main__":
    sys.exit(main())
