"""Palette sketches drawn the way a user would (flat shapes in a drawing program), for tests."""

from __future__ import annotations

import io

from PIL import Image

from imagine_med.engine.phantom.sketch import samples


def chest_sketch(size: int = 256, antialias: bool = False) -> Image.Image:
    """The package's sample chest sketch (body, lungs, heart, mediastinum, spine, ribs, a
    right-lung nodule on image left, a left effusion on image right)."""
    return samples.chest(size, antialias)


def png_bytes(im: Image.Image, **save) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **save)
    return buf.getvalue()
