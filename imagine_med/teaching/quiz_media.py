"""The files a quiz posts: the case image with nothing but pixels, and the reveal's overlay.

A worker's PNG carries its job id, the prompt's SHA-256 (a guessable prompt can be checked
against it) and an XMP packet; any of those would let a student look the answer up. The quiz
image is therefore re-encoded from the pixels alone: the visible "SYNTHETIC" band and the
invisible watermark are part of the pixels and stay, and the only text chunks are the
synthetic-image notice, the digital source type and the quiz id. Its file name is the quiz id.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from imagine_med import __version__
from imagine_med.bot.casefiles import private_dir
from imagine_med.provenance.metadata import NOTICE, PREFIX, digital_source_type


def quiz_filename(qid: str) -> str:
    return f"imagine-med-quiz-{qid}.png"


def clean_png_info(qid: str, engine: str) -> PngInfo:
    info = PngInfo()
    info.add_text("Software", f"imagine-med {__version__}")
    info.add_text("Description", NOTICE)
    info.add_text(PREFIX + "synthetic", "yes")
    info.add_text(PREFIX + "digital_source_type", digital_source_type(engine))
    info.add_text(PREFIX + "quiz", qid)
    return info


def quiz_image(variant_png: Path, qid: str, engine: str) -> Path:
    """`variant_png`'s pixels in a new PNG with only the notice's text chunks, in this
    process's private folder."""
    target = private_dir() / quiz_filename(qid)
    if target.exists():
        return target
    with Image.open(variant_png) as src:
        img = src.convert("RGB") if src.mode in ("P", "PA", "CMYK") else src
        img.load()
        pixels = Image.frombytes(img.mode, img.size, img.tobytes())  # no info, no chunks
    tmp = target.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp.png")
    pixels.save(tmp, pnginfo=clean_png_info(qid, engine))
    tmp.replace(target)
    return target
