"""The 2x2 grid and the visible SYNTHETIC band: geometry, numbering, legibility."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imagine_med.grid import cell_box, compose_grid, gutter_px
from imagine_med.provenance.visible import LABEL_TEXT, add_label_band, band_height, label_lines


def _variant(value: int, size: tuple[int, int] = (256, 256)) -> Image.Image:
    rng = np.random.default_rng(value)
    return Image.fromarray(rng.integers(40, 200, size[::-1], dtype=np.uint8), mode="L")


@pytest.mark.parametrize("size", [(256, 256), (512, 512), (384, 512), (512, 288)])
def test_grid_geometry(size: tuple[int, int]) -> None:
    variants = [_variant(i, size) for i in range(4)]
    grid = compose_grid(variants)
    w, h = size
    band = band_height(w)
    g = gutter_px(w)
    assert grid.size == (2 * w + g, 2 * (h + band) + g)
    arr = np.asarray(grid)
    for i, v in enumerate(variants):
        x0, y0, x1, y1 = cell_box(grid.size, i)
        assert (x1 - x0, y1 - y0) == (w, h + band)
        # the anatomy of each variant is untouched, in reading order 1 2 / 3 4
        np.testing.assert_array_equal(arr[y0:y0 + h, x0:x1], np.asarray(v))


def test_grid_needs_four() -> None:
    with pytest.raises(ValueError, match="4 variants"):
        compose_grid([_variant(0)] * 3)


def _band(img: Image.Image, height: int) -> np.ndarray:
    return np.asarray(img.convert("L"))[height:]


def test_label_band_below_image_and_does_not_cover_it() -> None:
    src = _variant(1, (512, 512))
    out = add_label_band(src)
    assert out.size == (512, 512 + band_height(512))
    np.testing.assert_array_equal(np.asarray(out)[:512], np.asarray(src))


@pytest.mark.parametrize("width", [128, 256, 512, 1024])
def test_label_is_legible_at_thumbnail_size(width: int) -> None:
    """Text strokes are high-contrast and span most of the band, so that a chat thumbnail
    (grid shrunk to ~400 px wide, i.e. a cell of ~200 px) still shows >= 8 px tall capitals."""
    out = add_label_band(_variant(2, (width, width)))
    band = _band(out, width)
    text = band > 128
    rows = np.flatnonzero(text.any(axis=1))
    cols = np.flatnonzero(text.any(axis=0))
    assert rows.size and cols.size
    text_height = rows[-1] - rows[0] + 1
    text_width = cols[-1] - cols[0] + 1
    assert text_width >= 0.5 * width, "label should span most of the width"
    # a chat client shows a cell at >= ~200 px wide (grid ~400 px): letters must stay >= 5 px
    thumb_scale = min(1.0, 200 / width)
    assert text_height * thumb_scale >= 5, "too small once shrunk"
    # anti-aliasing softens thin strokes, so judge contrast by the brightest stroke pixels
    assert band[~text].mean() < 40 and np.percentile(band[text], 75) > 200, "low contrast"


def test_grid_cells_carry_their_numbers() -> None:
    """Each cell's band differs only by its number box at the left end."""
    grid = compose_grid([_variant(i) for i in range(4)])
    bands = []
    for i in range(4):
        x0, y0, x1, y1 = cell_box(grid.size, i)
        bands.append(np.asarray(grid)[y0 + 256:y1, x0:x1])
    left = [b[:, : b.shape[1] // 6] for b in bands]
    right = [b[:, b.shape[1] // 6:] for b in bands]
    for i in range(1, 4):
        assert not np.array_equal(left[0], left[i]), f"cell {i + 1} has the same number box"
        np.testing.assert_array_equal(right[0], right[i])


def test_label_text_is_the_agreed_wording() -> None:
    assert LABEL_TEXT == "SYNTHETIC - NOT FOR DIAGNOSIS"
    assert " ".join(label_lines(128)).replace("SYNTHETIC ", "SYNTHETIC - ") == LABEL_TEXT


def test_rgb_images_keep_colour() -> None:
    rgb = Image.new("RGB", (256, 256), (200, 50, 50))
    out = add_label_band(rgb)
    assert out.mode == "RGB" and out.getpixel((10, 10)) == (200, 50, 50)
