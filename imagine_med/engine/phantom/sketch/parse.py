"""A drawn PNG to a label map of palette ids, with errors a user can act on.

Limits are checked from the PNG header before anything is decoded (a 20000 x 20000 PNG of one
colour is a few kilobytes and would need 1.2 GB decoded: a decompression bomb). Colours within
`SNAP_TOLERANCE` of a palette colour are that colour; a few stray colours (anti-aliased edges,
under `STRAY_FRACTION` of the drawing) take their nearest drawn neighbour's label; more than
that is an error naming the colours.
"""

from __future__ import annotations

import base64
import io
import struct
import warnings

import numpy as np
from PIL import Image
from scipy import ndimage

from imagine_med.engine.phantom.sketch.palette import (
    BACKGROUND_ID,
    BACKGROUND_RGB,
    PALETTE,
    SNAP_TOLERANCE,
    colours,
)
from imagine_med.errors import UserError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 8 * 1024 * 1024  # an honest sketch PNG is tens of kilobytes
MAX_SIDE = 2048  # the largest image a job renders (CaseSpec.width/height)
MIN_SIDE = 64  # the smallest (CaseSpec.width/height)
MAX_PIXELS = MAX_SIDE * MAX_SIDE
STRAY_FRACTION = 0.10  # of the drawn pixels: anti-aliased edges (~5% for thin ribs at 256 px)
MIN_DRAWN_FRACTION = 0.005  # less than this drawn is an empty canvas
MAX_SPEC_BYTES = 96 * 1024  # the label map travels in the job's spec (a few kB compressed)


class SketchError(UserError):
    """A sketch that cannot be used; `message` says why and what to do."""


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, without decoding: SketchError if not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR":
        raise SketchError("A sketch must be a PNG file (flat colours; a JPEG blurs them). "
                          "Save your drawing as PNG and attach it again.")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def check_limits(data: bytes) -> tuple[int, int]:
    """Byte size, type and pixel count, all before decoding; returns (width, height)."""
    if not data:
        raise SketchError("The sketch file is empty (0 bytes).")
    if len(data) > MAX_BYTES:
        raise SketchError(f"The sketch file is {len(data) / 2**20:.1f} MB; the limit is "
                          f"{MAX_BYTES // 2**20} MB. A flat-colour PNG is far smaller: "
                          "export it without photos or gradients.")
    w, h = png_size(data)
    if w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
        raise SketchError(f"The sketch is {w}x{h} pixels; the largest allowed is "
                          f"{MAX_SIDE}x{MAX_SIDE}. Scale it down (512x512 is plenty).")
    if w < MIN_SIDE or h < MIN_SIDE:
        raise SketchError(f"The sketch is {w}x{h} pixels; it must be at least "
                          f"{MIN_SIDE}x{MIN_SIDE}.")
    return w, h


def _decode_rgba(data: bytes, size: tuple[int, int]) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.size != size:
                    raise SketchError("The PNG's header and image disagree; save it again.")
                rgba = np.asarray(im.convert("RGBA"))
    except SketchError:
        raise
    except Exception as exc:  # PIL raises many types for a broken file
        raise SketchError(f"The sketch PNG could not be read ({type(exc).__name__}); save it "
                          "again as PNG.") from None
    return rgba


def _hex(rgb: np.ndarray) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb))


def _classify(rgb: np.ndarray, opaque: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: palette id (0 background) and whether the colour matched nothing."""
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) \
        | rgb[..., 2].astype(np.uint32)
    uniq, inverse = np.unique(packed, return_inverse=True)
    ucol = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], 1).astype(np.float32)
    cols = np.concatenate([colours(), np.array(BACKGROUND_RGB, np.float32)])
    ids = np.array([e.id for e in PALETTE] + [BACKGROUND_ID] * len(BACKGROUND_RGB), np.uint8)
    dist = np.linalg.norm(ucol[:, None] - cols[None], axis=2)
    best = dist.argmin(1)
    known = dist[np.arange(len(uniq)), best] <= SNAP_TOLERANCE
    label_of = np.where(known, ids[best], BACKGROUND_ID).astype(np.uint8)
    inverse = inverse.reshape(packed.shape)
    labels = np.where(opaque, label_of[inverse], BACKGROUND_ID).astype(np.uint8)
    unknown = opaque & ~known[inverse]
    return labels, unknown


def _unknown_message(rgb: np.ndarray, unknown: np.ndarray, drawn: int) -> str:
    cols, counts = np.unique(rgb[unknown].reshape(-1, 3), axis=0, return_counts=True)
    order = np.argsort(-counts)[:5]
    listed = ", ".join(f"{_hex(cols[i])} ({counts[i]} px)" for i in order)
    more = f" and {len(cols) - len(order)} more" if len(cols) > len(order) else ""
    share = 100.0 * unknown.sum() / max(drawn, 1)
    return (f"The sketch uses colours that are not in the palette: {listed}{more} "
            f"({share:.0f}% of the drawing). Paint only with the palette's exact colours "
            "(/imagine-med-help shows them and links the legend PNG); turn off anti-aliasing "
            "and save as PNG, not JPEG.")


def parse_sketch(data: bytes) -> np.ndarray:
    """PNG bytes -> (H, W) uint8 label map of palette ids (0 = background). Raises SketchError
    (too large or small, not a PNG, unknown colours, empty) before anything is rendered."""
    size = check_limits(data)
    rgba = _decode_rgba(data, size)
    rgb, opaque = rgba[..., :3], rgba[..., 3] >= 128
    labels, unknown = _classify(rgb, opaque)
    drawn = int((labels > 0).sum() + unknown.sum())
    if unknown.any():
        if unknown.sum() > STRAY_FRACTION * max(drawn, 1):
            raise SketchError(_unknown_message(rgb, unknown, drawn))
        # anti-aliased edges: each stray pixel takes the label of the nearest matched pixel
        _, (iy, ix) = ndimage.distance_transform_edt(unknown, return_indices=True)
        labels = labels[iy, ix]
    if drawn < MIN_DRAWN_FRACTION * labels.size or not (labels > 0).any():
        raise SketchError("The sketch is empty: nothing is drawn in a palette colour on the "
                          "white (or black, or transparent) background.")
    return labels


def encode_labels(labels: np.ndarray) -> str:
    """A label map as base64 PNG text, the form a job's spec carries (flat regions compress
    to a few kilobytes)."""
    buf = io.BytesIO()
    Image.fromarray(labels.astype(np.uint8), mode="L").save(buf, format="PNG", optimize=True)
    text = base64.b64encode(buf.getvalue()).decode("ascii")
    if len(text) > MAX_SPEC_BYTES:
        raise SketchError(f"The sketch is too detailed to queue ({len(text) // 1024} kB "
                          f"encoded; limit {MAX_SPEC_BYTES // 1024} kB): use larger flat areas.")
    return text


def decode_labels(text: str) -> np.ndarray:
    """The inverse of `encode_labels`; ids outside the palette are refused."""
    try:
        data = base64.b64decode(text, validate=True)
        check_limits(data)
        with Image.open(io.BytesIO(data)) as im:
            labels = np.asarray(im.convert("L")).copy()
    except SketchError:
        raise
    except Exception:
        raise SketchError("The job's sketch could not be read back.") from None
    known = np.zeros(256, bool)
    known[[BACKGROUND_ID, *(e.id for e in PALETTE)]] = True
    if not known[labels].all():
        raise SketchError("The job's sketch holds ids that are not in the palette.")
    return labels
