"""`imagine-med generate PROMPT --out DIR`: render a case locally, without the queue."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="render a prompt's four variants into a folder")
    p.add_argument("prompt")
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder (default ./out)")
    p.add_argument(
        "--model", type=Path, default=None, metavar="PATH",
        help="diffusion checkpoint (diffusers folder or .safetensors); uses the diffusion engine",
    )
    p.add_argument(
        "--format", choices=("png", "dicom", "both"), default="png",
        help="png (default): grid + variants; dicom: variant-N.dcm + SEG labels; both",
    )
    p.add_argument(
        "--c2pa", action="store_true",
        help="also sign the PNGs with a C2PA manifest (local key; needs the c2pa extra)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imagine_med.case import render_case, write_case
    from imagine_med.commands.exitcodes import Exit, fail
    from imagine_med.commands.outdir import out_dir_problem
    from imagine_med.engine import registry
    from imagine_med.engine.base import EngineError
    from imagine_med.prompt import PromptError, parse

    problem = out_dir_problem(args.out)
    if problem:
        return fail(f"{problem}", Exit.USAGE)
    try:
        specs = parse(args.prompt)
    except PromptError as exc:
        return fail(exc.message, Exit.USAGE)
    if args.model is not None:
        import os

        from imagine_med.settings import get_settings

        os.environ["IMAGINE_MED_DIFFUSION_MODEL"] = str(args.model)
        get_settings.cache_clear()
        specs = [s.model_copy(update={"engine": "diffusion"}) for s in specs]
    if getattr(args, "c2pa", False):
        from imagine_med.provenance.c2pa_sign import C2paUnavailable, available

        if not available():
            return fail(f"{C2paUnavailable().message}", Exit.USAGE)
    try:  # before rendering anything: every case of the prompt must be renderable here
        for spec in specs:
            registry.check(spec)
    except registry.Unavailable as exc:
        return fail(exc.message, Exit.UNAVAILABLE)
    for i, spec in enumerate(specs):
        out = args.out if len(specs) == 1 else args.out / f"case-{i + 1}"
        try:
            result = render_case(spec)
        except EngineError as exc:
            return fail(exc.message, Exit.FAILED)
        fmt = getattr(args, "format", "png")
        if fmt in ("png", "both"):
            write_case(result, out)
            if getattr(args, "c2pa", False):
                from imagine_med.provenance.c2pa_sign import sign_case_dir
                from imagine_med.settings import get_settings

                sign_case_dir(out, result.engine, get_settings().data_dir / "c2pa")
        if fmt in ("dicom", "both"):
            from imagine_med.provenance.dicom import DicomExportError, write_dicom_case

            try:
                write_dicom_case(result, out, write_json=fmt == "dicom")
            except DicomExportError as exc:
                return fail(exc.message, Exit.REFUSED)
        first = "grid.png" if fmt != "dicom" else "variant-1.dcm"
        print(f"{out}/{first}  ({spec.describe()}; seed {result.seed})")
        if spec.unparsed:
            print(f"  ignored: {', '.join(spec.unparsed)}")
    return 0
