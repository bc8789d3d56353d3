"""Sketch-to-image: a user's flat-colour drawing (the palette) rendered by the phantom physics.

- `palette`: the colours, what each names (tissue, label), `legend_png()` for help and the web.
- `parse`: `parse_sketch(png_bytes) -> label map` with specific errors, limits before decoding;
  `encode_labels` / `decode_labels`, the form a queued job's spec carries (`CaseSpec.sketch`).
- `render`: `render_sketch(labels, spec, seed, width, height)` and the registry's renderer
  (region "sketch": X-ray, CT, MRI).
"""

from imagine_med.engine.phantom.sketch.palette import PALETTE, Entry, legend_png, palette_text
from imagine_med.engine.phantom.sketch.parse import (
    SketchError,
    decode_labels,
    encode_labels,
    parse_sketch,
)

__all__ = ["PALETTE", "Entry", "SketchError", "decode_labels", "encode_labels", "legend_png",
           "palette_text", "parse_sketch"]
