"""The provenance step of a job: invisible mark + PNG text chunks + XMP, deterministically.

`write_case` calls `save_stamped_png` for every variant (payload variant 1-4) and for the grid
(payload variant 0 = "grid"). The grid is marked as a whole, over the composed picture: a
screenshot of the grid posted in a chat, or one cell cropped out of it, then verifies as
"job X, grid", which is what it is. Each variant-N.png verifies as "job X, variant N".

Identical inputs give identical bytes: the mark depends only on (key, job id, variant, image),
and the default job id is a hash of the case (spec, seeds, engine), not a clock or a random id.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from imagine_med.provenance import watermark as wm
from imagine_med.provenance.metadata import Provenance, png_info
from imagine_med.settings import Settings, get_settings

GRID_VARIANT = 0
DEVELOPMENT_KEY = Settings.model_fields["watermark_key"].default.get_secret_value()
log = logging.getLogger(__name__)


def key_material(settings: Settings | None = None) -> tuple[bytes, str]:
    """(secret key bytes, key id) from the settings (IMAGINE_MED_WATERMARK_KEY / _KEY_ID)."""
    s = settings or get_settings()
    key = s.watermark_key.get_secret_value()
    if key == DEVELOPMENT_KEY:
        _warn_development_key()
    return key.encode("utf-8"), s.watermark_key_id


@lru_cache(maxsize=1)
def _warn_development_key() -> None:
    """Once per process: marks made with the published key prove nothing to outsiders."""
    log.warning(
        "IMAGINE_MED_WATERMARK_KEY is not set: images are marked with the public development "
        "key, so anyone could forge or strip the mark. Set a secret key for any shared install."
    )


def default_job_id(spec_json: dict, seeds: Sequence[int], engine: str, engine_version: str) -> str:
    """10 hex digits (40 bits: exactly what the mark carries) derived from the case itself."""
    blob = json.dumps(
        {"spec": spec_json, "seeds": list(seeds), "engine": engine, "version": engine_version},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def case_job_id(result: Any) -> str:
    """The default job id of a rendered case, as `write_case` computes it."""
    return default_job_id(
        result.spec.model_dump(mode="json"), result.seeds, result.engine, result.engine_version
    )


def mark_image(
    image: Image.Image, job_id: str, variant: int, key: bytes, key_id: str
) -> Image.Image | None:
    """A marked copy of `image` (mode L or RGB kept), or None when it is too small to carry
    the mark (then only the visible band and the metadata say it is synthetic)."""
    mode = "L" if image.mode == "L" else "RGB"
    pixels = np.asarray(image.convert(mode))
    if min(pixels.shape[:2]) < wm.MIN_EMBED:
        return None
    return Image.fromarray(wm.embed(pixels, payload_for(job_id, variant, key_id), key), mode=mode)


def payload_for(job_id: str, variant: int, key_id: str) -> wm.Payload:
    return wm.Payload(wm.job_tag(job_id), variant, wm.key_bits(key_id))


def save_stamped_png(
    image: Image.Image,
    path: Path | str,
    *,
    job_id: str,
    variant: int,
    engine: str,
    prompt: str,
    settings: Settings | None = None,
) -> Provenance:
    """Mark `image`, attach metadata and write it as PNG; returns what was written."""
    key, key_id = key_material(settings)
    marked = mark_image(image, job_id, variant, key, key_id)
    prov = Provenance(
        job_id=job_id, variant=variant, engine=engine, prompt=prompt, key_id=key_id,
        watermark=wm.SCHEME if marked is not None else None,
    )
    (marked or image).save(path, pnginfo=png_info(prov), optimize=False)
    return prov


def provenance_document(job_id: str, engine: str, settings: Settings | None = None) -> dict:
    """The `provenance` block of case.json."""
    from imagine_med.provenance.metadata import IPTC_DST, digital_source_type

    _, key_id = key_material(settings)
    return {
        "job_id": job_id,
        "job_tag": f"{wm.job_tag(job_id):010x}",
        "watermark": wm.SCHEME,
        "key_id": key_id,
        "digital_source_type": IPTC_DST + digital_source_type(engine),
        "grid_variant": "the grid is marked as a whole, as variant 0 ('grid')",
    }
