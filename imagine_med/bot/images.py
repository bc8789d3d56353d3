"""Image work the adapters need: fitting an upload under a size limit, and the answer-key
label overlay built from a variant's labels PNG."""

from __future__ import annotations

import colorsys
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage


@dataclass
class Encoded:
    data: bytes
    filename: str
    note: str | None  # said to the user when the original could not be sent as is


def fit_upload(path: Path, limit: int, filename: str | None = None) -> Encoded:
    """The file itself if it fits under `limit` bytes; else a JPEG at falling quality, then
    halved sizes. The note says what was done, so the user knows the upload is not the PNG."""
    raw = path.read_bytes()
    name = filename or path.name
    if len(raw) <= limit:
        return Encoded(raw, name, None)
    img = Image.open(io.BytesIO(raw))
    img = img.convert("L" if img.mode in ("L", "I;16", "I") else "RGB")
    stem = Path(name).stem
    scale = 1.0
    while True:
        scaled = img if scale == 1.0 else img.resize(
            (max(1, round(img.width * scale)), max(1, round(img.height * scale))),
            Image.Resampling.LANCZOS,
        )
        for quality in (92, 85, 75, 60):
            buf = io.BytesIO()
            scaled.save(buf, "JPEG", quality=quality, optimize=True)
            if buf.tell() <= limit:
                mib = len(raw) / 2**20
                size = "" if scale == 1.0 else f", scaled to {scaled.width}x{scaled.height}"
                return Encoded(
                    buf.getvalue(), f"{stem}.jpg",
                    f"The PNG ({mib:.1f} MiB) is over the {limit / 2**20:g} MiB upload limit, "
                    f"so this is a JPEG (quality {quality}{size}); "
                    "use /imagine-med-show or the CLI for the lossless file.",
                )
        scale /= 2
        if scaled.width < 64 or scaled.height < 64:
            raise ValueError(f"{path.name} cannot be fitted under {limit} bytes")


def _palette(n: int) -> list[tuple[int, int, int]]:
    return [
        tuple(round(c * 255) for c in colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.85, 1.0))
        for i in range(n)
    ]  # type: ignore[misc]


def _region(lab: np.ndarray, i: int, name: str, masks: dict[str, np.ndarray] | None
            ) -> np.ndarray:
    """Label i's pixels: its overlapping mask where the variant has one (a projection: the
    whole of a structure, even behind another), else the label map's pixels."""
    if masks is not None and name in masks:
        m = np.zeros(lab.shape, bool)
        src = masks[name]
        m[: src.shape[0], : src.shape[1]] = src[: lab.shape[0], : lab.shape[1]]
        return m
    return lab == i


def label_overlay(image_path: Path, labels_path: Path, labels: dict[str, str],
                  alpha: float = 0.45, title: str = "",
                  masks_path: Path | None = None) -> Image.Image:
    """The variant with each labelled region tinted in its own colour and a legend below.

    `labels` maps label id (as in case.json: string keys) to a name; id 0 is background. Regions
    whose id is not in `labels` are left untinted (anatomy the case does not name). With
    `masks_path` (variant-N.masks.npz) each region is its overlapping mask, tinted and
    outlined, so two findings over one another both show.
    """
    base = Image.open(image_path).convert("RGB")
    lab = np.asarray(Image.open(labels_path).convert("L"))
    if lab.shape != (base.height, base.width):
        raise ValueError(f"labels {lab.shape} do not match image {base.size}")
    masks = None
    if masks_path is not None:
        with np.load(masks_path) as data:
            masks = {k: data[k] for k in data.files}
    regions = {int(k): _region(lab, int(k), labels[k], masks)
               for k in sorted(labels, key=int) if int(k) != 0}
    ids = [i for i, m in regions.items() if m.any()]
    colours = dict(zip(ids, _palette(len(ids)), strict=True))
    out = np.asarray(base, dtype=np.float32).copy()
    for i, colour in colours.items():
        mask = regions[i]
        out[mask] = out[mask] * (1 - alpha) + np.array(colour, np.float32) * alpha
        if masks is not None:  # the outline, so overlapping tints stay readable
            edge = mask & ~ndimage.binary_erosion(mask, iterations=2)
            out[edge] = np.array(colour, np.float32)
    tinted = Image.fromarray(out.clip(0, 255).astype(np.uint8))
    font_px = max(12, base.width // 40)
    font = ImageFont.load_default(size=font_px)
    line_h = font_px + 6
    legend_h = line_h * max(1, len(ids)) + 8
    canvas = Image.new("RGB", (base.width, base.height + legend_h), (0, 0, 0))
    canvas.paste(tinted, (0, 0))
    draw = ImageDraw.Draw(canvas)
    if not ids:
        draw.text((8, base.height + 4), "no labelled findings (normal case)", fill=(255, 255, 255),
                  font=font)
    if title:
        tw = draw.textlength(title, font=font)
        draw.text((base.width - tw - 8, base.height + 4), title, fill=(255, 255, 255), font=font)
    for row, i in enumerate(ids):
        y = base.height + 4 + row * line_h
        draw.rectangle((8, y + 2, 8 + font_px, y + 2 + font_px), fill=colours[i])
        draw.text((16 + font_px, y), labels[str(i)].replace("_", " "), fill=(255, 255, 255),
                  font=font)
    return canvas
