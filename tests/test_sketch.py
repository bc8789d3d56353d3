"""Sketch-to-image (issue 24): the palette, parse_sketch's errors, and a palette sketch rendered
as a chest film, CT and MRI whose written label maps match the sketch."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from imagine_med.case import render_case, write_case
from imagine_med.engine import registry
from imagine_med.engine.phantom.sketch import encode_labels, legend_png, parse_sketch
from imagine_med.engine.phantom.sketch.palette import BY_NAME, MIN_DISTANCE, min_distance
from imagine_med.engine.phantom.sketch.parse import SketchError, decode_labels
from imagine_med.prompt.spec import CaseSpec
from tests.sketches import chest_sketch, png_bytes
from tests.uploads import bomb_png

SIZE = 256


def _id(name: str) -> int:
    return BY_NAME[name].id


def test_palette_colours_are_far_apart_and_the_legend_shows_them():
    assert min_distance() >= MIN_DISTANCE
    legend = Image.open(io.BytesIO(legend_png())).convert("RGB")
    seen = {tuple(c) for c in np.asarray(legend).reshape(-1, 3)}
    assert all(e.rgb in seen for e in BY_NAME.values())


def test_parse_reads_the_drawn_regions_where_they_were_drawn():
    labels = parse_sketch(png_bytes(chest_sketch(SIZE)))
    assert labels.shape == (SIZE, SIZE)
    assert labels[92, 72] == _id("nodule")  # the nodule's centre (60-84, 80-104)
    assert labels[150, 70] == _id("lung")
    assert labels[2, 2] == 0
    assert labels[205, 200] == _id("pleural_effusion")


def test_parse_snaps_anti_aliased_edges():
    exact = parse_sketch(png_bytes(chest_sketch(SIZE)))
    smooth = parse_sketch(png_bytes(chest_sketch(SIZE, antialias=True)))
    assert (exact == smooth).mean() > 0.97


def test_unknown_colours_are_named():
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
    with pytest.raises(SketchError) as err:
        parse_sketch(png_bytes(Image.fromarray(photo)))
    assert "not in the palette" in err.value.message
    assert "#" in err.value.message and "px" in err.value.message


def test_empty_small_jpeg_and_garbage_are_refused_with_reasons():
    with pytest.raises(SketchError, match="empty"):
        parse_sketch(png_bytes(Image.new("RGB", (SIZE, SIZE), "white")))
    with pytest.raises(SketchError, match="at least 64x64"):
        parse_sketch(png_bytes(chest_sketch(SIZE).resize((32, 32), Image.NEAREST)))
    buf = io.BytesIO()
    chest_sketch(SIZE).save(buf, format="JPEG")
    with pytest.raises(SketchError, match="must be a PNG"):
        parse_sketch(buf.getvalue())
    with pytest.raises(SketchError, match="could not be read"):
        parse_sketch(png_bytes(chest_sketch(SIZE))[:200])


def test_a_decompression_bomb_is_refused_from_its_header():
    data = bomb_png()
    assert len(data) < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(SketchError, match="20000x20000"):
            parse_sketch(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # nothing was decoded (decoding needs 400 MB)


def test_labels_round_trip_through_the_spec():
    labels = parse_sketch(png_bytes(chest_sketch(SIZE)))
    text = encode_labels(labels)
    assert len(text) < 20_000
    assert np.array_equal(decode_labels(text), labels)


def _spec(labels: np.ndarray, modality: str, **kw) -> CaseSpec:
    return CaseSpec(prompt=f"sketch {modality}", modality=modality, region="sketch",
                    sketch=encode_labels(labels), width=SIZE, height=SIZE, **kw)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_a_palette_sketch_becomes_a_chest_film_whose_label_map_matches(tmp_path):
    drawn = parse_sketch(png_bytes(chest_sketch(384)))  # resampled 384 -> 256
    result = render_case(_spec(drawn, "xray"), seed=11)
    paths = write_case(result, tmp_path)
    written = np.asarray(Image.open(paths["variant-1.labels.png"]))[:SIZE]
    ref = np.asarray(Image.fromarray(drawn).resize((SIZE, SIZE), Image.NEAREST))
    for i in np.unique(ref):
        assert _iou(ref == i, written == i) >= 0.9, int(i)
    film = np.asarray(Image.open(paths["variant-1.png"]).convert("L"))[:SIZE].astype(float)
    lung, heart = written == _id("lung"), written == _id("heart")
    nodule, effusion = written == _id("nodule"), written == _id("pleural_effusion")
    # a film: air-filled lung dark, heart and fluid white, a nodule brighter than its lung
    assert film[heart].mean() > film[lung].mean() + 40
    # (+25 under the single-curve processing; the chest unit's multi-frequency processing,
    # physics/dr.py, compresses large-area density differences: +23 measured)
    assert film[effusion].mean() > film[lung].mean() + 18
    ring = np.zeros_like(nodule)
    ys, xs = np.nonzero(nodule)
    ring[ys.min() - 8: ys.max() + 9, xs.min() - 8: xs.max() + 9] = True
    ring &= lung
    assert film[nodule].mean() > film[ring].mean() + 10
    v = result.variants[0]
    nod = next(f for f in v.findings if f.name == "nodule")
    assert nod.laterality == "right"  # drawn on the image's left
    px = v.pixel_spacing_mm[0]
    assert nod.measurements["width_mm"] == pytest.approx(
        (xs.max() - xs.min() + 1) * px, abs=0.2)
    # the four variants differ (noise, lung markings) but draw the same anatomy
    assert not np.array_equal(result.variants[0].pixels, result.variants[1].pixels)
    assert np.array_equal(result.variants[0].label_map, result.variants[1].label_map)


def test_the_same_sketch_as_ct_and_mri_follows_the_tissue_table():
    drawn = parse_sketch(png_bytes(chest_sketch(SIZE)))
    ct = render_case(_spec(drawn, "ct"), seed=3).variants[0]
    lung, nodule = drawn == _id("lung"), drawn == _id("nodule")
    inner = np.zeros_like(lung)
    inner[4:-4, 4:-4] = True
    assert np.median(ct.raw[lung & inner]) == pytest.approx(-850, abs=40)  # aerated lung
    assert np.median(ct.raw[nodule]) == pytest.approx(36, abs=30)  # soft-tissue nodule
    mr = render_case(_spec(drawn, "mri", sequence="t2"), seed=3).variants[0]
    fluid = drawn == _id("pleural_effusion")
    # T2: fluid bright, lung (little water, short T2*) dark
    assert mr.pixels[fluid].mean() > 3 * mr.pixels[lung].mean()


def test_a_sketch_is_not_an_ultrasound():
    labels = parse_sketch(png_bytes(chest_sketch(SIZE)))
    spec = CaseSpec(prompt="us", modality="us", region="sketch", sketch=encode_labels(labels))
    with pytest.raises(registry.Unavailable, match="chest film"):
        registry.check(spec)
