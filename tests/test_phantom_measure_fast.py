"""The fast measuring paths give what the plain ones give (fundus lesion table, skin
holes, skin noise enlargement, skin relief, a rash's ellipse, block means), on inputs made
to hit their special cases."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from imagine_med.engine.phantom.measure import LUNG_FIELD_IDS, is_in
from imagine_med.engine.phantom.regions.retina import key
from imagine_med.engine.phantom.regions.retina.labels import LABELS
from imagine_med.engine.phantom.regions.retina.lesions import QUADRANTS
from imagine_med.engine.phantom.regions.skin.measure import _fill_holes
from imagine_med.engine.phantom.regions.skin.rashes import WOBBLE, _ellipse
from imagine_med.engine.phantom.regions.skin.skin import (
    F32,
    _relief,
    bicubic_resize,
    block_means,
    make_field,
    noise,
)


def _table_one_kind_at_a_time(labels: np.ndarray, geo: dict) -> dict:
    """Each lesion label on its own: its 8-connected pieces by the centroid's quadrant."""
    table = {}
    fx, fy, nasal_right = geo["fovea_x"], geo["fovea_y"], geo["disc_x"] > geo["fovea_x"]
    for kind, lid in LABELS.items():
        if lid < 100 or not (labels == lid).any():
            continue
        lab, n = ndimage.label(labels == lid, key.EIGHT)
        row = dict.fromkeys(QUADRANTS, 0)
        for cy, cx in ndimage.center_of_mass(labels == lid, lab, range(1, n + 1)):
            q = ("supero" if cy < fy else "infero") + (
                "nasal" if (cx > fx) == nasal_right else "temporal"
            )
            row[q] += 1
        table[kind] = row
    return table


def test_lesion_table_splits_touching_kinds():
    rng = np.random.default_rng(3)
    labels = np.full((200, 240), LABELS["retina"], np.uint8)
    kinds = [
        LABELS[k]
        for k in ("microaneurysm", "dot_blot_haemorrhage", "hard_exudate", "cotton_wool_spot")
    ]
    for _ in range(120):  # blobs of several kinds, many touching or overlapping
        y, x = rng.integers(0, 200), rng.integers(0, 240)
        r = int(rng.integers(1, 7))
        labels[max(0, y - r) : y + r, max(0, x - r) : x + r] = rng.choice(kinds)
    geo = {"fovea_x": 130.0, "fovea_y": 95.0, "disc_x": 40.0}
    lab, n = ndimage.label(np.isin(labels, kinds), key.EIGHT)
    mixed = sum(len(np.unique(labels[lab == i])) > 1 for i in range(1, n + 1))
    assert mixed >= 5  # the case the single labelling has to split
    assert key.lesion_table(labels, geo) == _table_one_kind_at_a_time(labels, geo)


def test_fill_holes_matches_scipy():
    rng = np.random.default_rng(4)
    for _ in range(20):
        mask = ndimage.binary_opening(rng.random((90, 70)) < 0.55)
        assert (_fill_holes(mask) == ndimage.binary_fill_holes(mask)).all()


def test_bicubic_resize_is_pillows():
    rng = np.random.default_rng(5)
    for shape, size in (
        ((7, 7), (768, 768)),
        ((11, 9), (512, 300)),
        ((33, 33), (768, 768)),
        ((46, 46), (768, 768)),  # the skin's relief noise at 80 mm
        ((117, 117), (768, 768)),  # a rash's scale flakes: bands of several taps
        ((29, 55), (300, 768)),
        ((40, 60), (30, 20)),
    ):
        small = rng.standard_normal(shape).astype(np.float32)
        ref = np.asarray(Image.fromarray(small, mode="F").resize(size, Image.BICUBIC))
        got = bicubic_resize(small, *size)
        assert got.shape == ref.shape
        # float64 sums in another order: equal, or one float32 step apart (rarely)
        assert np.abs(got - ref).max() <= 4 * np.finfo(np.float32).eps * np.abs(ref).max()
        assert (got == ref).mean() > 0.999


def test_skin_noise_is_pillows_bicubic_normalised():
    """Both of noise's paths (banded products for an upscale, Pillow for a grid about as fine
    as the pixels: a rash's flakes on a small image) give Pillow's resize over its std."""
    for shape, cells in (((768, 768), 40), ((128, 128), 114), ((96, 160), 60)):
        got = noise(np.random.default_rng(8), shape, cells)
        rng = np.random.default_rng(8)
        h, w = shape
        small = rng.standard_normal((max(2, round(cells * h / max(h, w))) + 3,
                                     max(2, round(cells * w / max(h, w))) + 3)).astype(F32)
        ref = np.asarray(Image.fromarray(small, mode="F").resize((w, h), Image.BICUBIC))
        ref = ref * F32(1.0 / float(ref[::7, ::7].std()))
        assert got.shape == shape and got.dtype == np.float32
        assert np.abs(got - ref).max() <= 4 * np.finfo(np.float32).eps * np.abs(ref).max()
        assert (got == ref).mean() > 0.999


def _relief_plain(rng: np.random.Generator, f) -> np.ndarray:
    """skin._relief as first written: full-frame x and y, one new array per step."""
    shape = f.x.shape
    cells = max(3, int(f.width_mm / 2.0))
    out = np.zeros(shape, F32)
    base = rng.uniform(0, np.pi)
    for k, ang in enumerate((base, base + rng.uniform(0.9, 1.3))):
        spacing = rng.uniform(0.6, 1.0)
        u = f.x * F32(np.cos(ang)) + f.y * F32(np.sin(ang)) + F32(0.15) * noise(rng, shape, cells)
        s = np.sin(F32(np.pi / spacing) * u)
        depth = np.clip(0.6 + 0.5 * noise(rng, shape, cells), 0.0, 1.0) * (1.0 - 0.3 * k)
        out = np.maximum(out, depth * np.exp(-(s / F32(0.12)) ** 2))
    return (-out).astype(F32)


def test_skin_relief_in_place_is_the_plain_one():
    for (w, h), mm, seed in (((768, 768), 80.0, 1), ((300, 200), 12.0, 2), ((64, 96), 24.0, 3)):
        f = make_field(w, h, mm)
        got = _relief(np.random.default_rng(seed), f)
        ref = _relief_plain(np.random.default_rng(seed), f)
        assert got.dtype == ref.dtype == np.float32
        assert np.array_equal(got, ref) and got.min() < -0.5


def _ellipse_plain(f, cx, cy, a, b, rot, edge, wobble=None, sl=np.s_[:, :]) -> np.ndarray:
    """rashes._ellipse as first written: full-window offsets, one new array per step."""
    dx, dy = f.x[sl] - F32(cx), f.y[sl] - F32(cy)
    u = dx * F32(np.cos(rot)) + dy * F32(np.sin(rot))
    v = -dx * F32(np.sin(rot)) + dy * F32(np.cos(rot))
    r = np.sqrt((u / F32(a)) ** 2 + (v / F32(b)) ** 2)
    if wobble is not None:
        r = r * (1 + F32(WOBBLE) * wobble[sl])
    return np.clip((1 - r) * F32(min(a, b) / edge) + 0.5, 0, 1).astype(F32)


def test_rash_ellipse_in_place_is_the_plain_one():
    f = make_field(400, 300, 80.0)
    wob = noise(np.random.default_rng(6), f.x.shape, 10)
    for args, wobble, sl in (((3.0, -2.0, 12.0, 8.0, 0.7, 0.35), wob, np.s_[20:280, 30:350]),
                             ((-10.0, 5.0, 20.0, 14.0, 2.9, 6.0), wob, np.s_[:, :]),
                             ((0.5, 0.5, 0.45, 0.45, 0.0, 0.2), None, np.s_[150:160, 200:212])):
        got = _ellipse(f, *args, wobble, sl)
        ref = _ellipse_plain(f, *args, wobble, sl)
        assert got.dtype == np.float32 and got.shape == ref.shape
        assert np.array_equal(got, ref) and got.max() == 1.0 and got.min() == 0.0


def test_block_means_are_numpys_mean():
    rng = np.random.default_rng(7)
    for i in range(400):
        step = int(rng.integers(2, 12))
        shape = (step * int(rng.integers(1, 40)), step * int(rng.integers(1, 40)))
        a = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3)).astype(F32)
        if i % 2:  # a wheal's window: mostly 0, 1 inside, soft between
            a = np.clip(a, 0, 1)
        ref = a.reshape(shape[0] // step, step, shape[1] // step, step).mean(axis=(1, 3),
                                                                            dtype=F32)
        got = block_means(a, step)
        assert got.dtype == np.float32 and np.array_equal(got, ref), (step, shape)


def test_fundus_opencv_paths_are_scipy_and_pillow():
    from scipy import ndimage as ndi

    from imagine_med.engine.phantom.filters import gaussian_filter_cv
    from imagine_med.engine.phantom.physics.fundus_optics import _double_bilinear

    rng = np.random.default_rng(6)
    maps = (rng.random((3, 120, 90)) < 0.1).astype(np.float32) * rng.random(
        (3, 120, 90), np.float32
    )
    for m in maps:
        assert (gaussian_filter_cv(m, 0.6, truncate=3.0)
                == ndi.gaussian_filter(m, 0.6, truncate=3.0)).all()
    a = (rng.random((40, 30, 4)) * 3).astype(np.float32)
    ref = np.stack(
        [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(a[..., c])).resize((60, 80), Image.BILINEAR)
            )
            for c in range(4)
        ],
        axis=2,
    )
    assert (_double_bilinear(a) == ref).all()


def test_phantom_import_keeps_freed_arrays_in_the_heap():
    import sys

    import imagine_med.engine.phantom  # noqa: F401 - applies the settings on import
    from imagine_med.engine.phantom import heap

    if sys.platform.startswith("linux"):
        assert heap.keep_heap() is True  # glibc: applied once, and it stays applied


def test_batched_bisection_is_the_plain_one():
    from imagine_med.engine.phantom.physics.skin_optics import (
        ita_of_lab,
        melanin_for_ita,
        skin_colour,
        srgb_to_lab,
    )

    def plain(target: float, blood: float) -> float:
        lo, hi = 0.0, 8.0
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            if ita_of_lab(srgb_to_lab(skin_colour(mid, blood, 1.05))) > target:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    rng = np.random.default_rng(7)
    for _ in range(12):
        t, b = float(rng.uniform(-60, 75)), float(rng.uniform(0.03, 0.1))
        assert melanin_for_ita(t, b, 1.05) == plain(t, b)


def test_placer_clearance_is_scipys_distance():
    import cv2

    from imagine_med.engine.phantom.regions.retina.lesions import _OCC_PX, Placer

    rng = np.random.default_rng(8)
    for density in (0.001, 0.02, 0.2):
        free = rng.random((470, 470)) >= density
        ref = ndimage.distance_transform_edt(free) * _OCC_PX
        p = Placer.__new__(Placer)
        p._dist = cv2.distanceTransform(free.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        for i, j in rng.integers(0, 470, (400, 2)):
            assert p.clearance(int(i), int(j)) == ref[i, j]


def test_label_table_membership_is_isin():
    """The label maps' table lookup marks the pixels np.isin marks: the lung-field ids, ids
    absent from the map, and ids no uint8 holds; other dtypes go through np.isin itself."""
    labels = np.random.default_rng(5).integers(0, 256, (64, 80)).astype(np.uint8)
    for ids in (LUNG_FIELD_IDS, (0, 255), (7, 300, -2), ()):
        assert (is_in(labels, ids) == np.isin(labels, ids)).all()
    wide = labels.astype(np.int32) * 3
    assert (is_in(wide, (300, 9)) == np.isin(wide, (300, 9))).all()


def test_rash_pieces_frame_is_the_closing():
    from imagine_med.engine.phantom.regions.skin.rashes import _inside_frame

    rng = np.random.default_rng(7)
    for density in (0.1, 0.5, 0.9, 1.0):
        mask = ndimage.binary_opening(rng.random((60, 80)) < density) | (rng.random((60, 80))
                                                                         < density / 4)
        ref = ndimage.binary_closing(mask, iterations=2) & mask
        assert (_inside_frame(mask) == ref).all()
        if density >= 0.5:
            assert (ref != mask).any()  # the closing did drop the mask's frame


def test_blur_where_varies_is_gaussian_filter():
    from imagine_med.engine.phantom.regions.skin.skin import blur_where_varies

    rng = np.random.default_rng(8)
    for sigma, (y, x), c in ((1.9, (40, 50), 0.0), (6.0, (0, 5), 1.0), (0.6, (90, 120), 0.3)):
        a = np.full((128, 160), c, np.float32)
        a[y:y + 30, x:x + 20] += rng.random((30, 20), np.float32)  # near an edge, or not
        got, ref = blur_where_varies(a, sigma), ndimage.gaussian_filter(a, sigma)
        assert (got == ref).all()
        assert np.count_nonzero(ref != ref[-1, -1]) < 0.5 * a.size  # the window case was hit
    flat = np.full((50, 60), 0.7, np.float32)
    assert (blur_where_varies(flat, 2.0) == ndimage.gaussian_filter(flat, 2.0)).all()


def test_blur_coarse_is_close_to_gaussian_filter():
    """A wheal-like disc (soft edge) in the middle of its window and one cut by the image's
    border: the coarse blur stays within 0.4 % of the peak of the full one; a narrow sigma
    takes the exact path."""
    from imagine_med.engine.phantom.regions.skin.skin import blur_coarse

    yy, xx = np.mgrid[0:203, 0:190].astype(np.float32)
    for cy, cx, sigma in ((101, 95, 14.4), (10, 180, 14.4), (101, 95, 8.0)):
        disc = np.clip((70 - np.hypot(yy - cy, xx - cx)) / 6 + 0.5, 0, 1).astype(np.float32)
        got, ref = blur_coarse(disc, sigma), ndimage.gaussian_filter(disc, sigma)
        assert got.dtype == np.float32 and got.shape == ref.shape
        assert np.abs(got - ref).max() < 0.004
        assert np.abs(got - ref).max() > 0 or sigma < 7  # the coarse path was taken
    disc = np.clip((30 - np.hypot(yy - 100, xx - 90)) / 3, 0, 1).astype(np.float32)
    assert (blur_coarse(disc, 5.0) == ndimage.gaussian_filter(disc, 5.0)).all()


def test_lab_by_colour_is_pixel_by_pixel():
    from imagine_med.engine.phantom.physics.skin_optics import _lab, _lab_by_colour

    rng = np.random.default_rng(9)
    for shape, spread in (((300, 257, 3), 40), ((512, 512, 3), 12), ((260, 300, 3), 256)):
        rgb = np.clip(rng.integers(0, spread, shape) + rng.integers(0, 200, (1, 1, 3)), 0,
                      255).astype(np.uint8)
        assert (_lab_by_colour(rgb) == _lab(rgb)).all()  # the last: too many colours


def test_rash_lab_reads_are_the_images():
    """measure_rash's a* plane and clear-skin pixels, read from the colour table, equal the
    full Lab image's (and the fallback where the colours are too many)."""
    from imagine_med.engine.phantom.physics.skin_optics import _lab
    from imagine_med.engine.phantom.regions.skin.rashes import _lab_reads

    rng = np.random.default_rng(11)
    for shape, spread in (((300, 257, 3), 40), ((512, 512, 3), 12), ((260, 300, 3), 256)):
        rgb = np.clip(rng.integers(0, spread, shape) + rng.integers(0, 200, (1, 1, 3)), 0,
                      255).astype(np.uint8)
        mask = rng.random(shape[:2]) < 0.6
        a_star, skin = _lab_reads(rgb, mask)
        lab = _lab(rgb)
        assert a_star.flags.c_contiguous and (a_star == lab[..., 1]).all()
        assert skin.shape == (mask.sum(), 3) and (skin == lab[mask]).all()


def test_blur_in_bands_is_gaussian_filter():
    """Plaques scattered over the image (some cut by its border, some a band's edge apart):
    blur_where_varies's band-by-band path gives gaussian_filter's values."""
    from imagine_med.engine.phantom.regions.skin import skin

    rng = np.random.default_rng(12)
    yy, xx = np.mgrid[:300, :260]
    for sigma, c in ((0.6, 0.0), (1.9, 0.25), (3.0, 0.0)):
        a = np.full((300, 260), c, np.float32)
        for _ in range(7):
            cy, cx, r = rng.uniform(-10, 310), rng.uniform(-10, 270), rng.uniform(4, 30)
            a += np.clip((r - np.hypot(yy - cy, xx - cx)) / 3, 0, 1).astype(np.float32)
        a[skin.BLUR_BAND - 1, 5] += 0.5  # a lone pixel at a band's last row
        varies = a != a[0, 0]
        got = skin._blur_in_bands(a, sigma, varies)
        assert (got == ndimage.gaussian_filter(a, sigma)).all()
        assert (skin.blur_where_varies(a, sigma) == got).all()  # the bands path is taken


def test_specular_rows_is_specular():
    """The flash's glints made band by band (bands of 32 rows; a last band of 1 row; the
    image's first and last rows) equal specular's on the whole relief."""
    from imagine_med.engine.phantom.physics.skin_optics import specular, specular_rows
    from imagine_med.engine.phantom.regions.skin.skin import noise

    rng = np.random.default_rng(13)
    for (h, w), depth in (((65, 80), 0.3), ((128, 96), 0.4), ((2, 5), 0.05)):
        relief = np.float32(depth) * noise(rng, (h, w), 12)
        ref = specular(relief, rng, 0.12)
        got = np.concatenate([specular_rows(relief, slice(r, r + 32), 0.12)
                              for r in range(0, h, 32)])
        assert got.dtype == ref.dtype and (got == ref).all()
        assert h < 3 or ((ref > 0).any() and (ref == 0).any())  # glints, and dark slopes
    from imagine_med.engine.phantom.physics.skin_optics import _hypot

    x, y = (rng.normal(0, 0.1, 400_000).astype(np.float32) for _ in range(2))
    assert (_hypot(x, y) == np.hypot(x, y)).all()


def test_skin_label_is_below_lesion_labels():
    """The renderer lays a lesion's labels over skin by np.maximum (np.where's values only
    while every lesion id is above skin's)."""
    from imagine_med.engine.phantom.regions.skin.lesions import LABELS
    from imagine_med.engine.phantom.regions.skin.skin import LABELS as SKIN

    assert min(LABELS.values()) > SKIN["skin"]


def test_gaussian_filter_cv_is_gaussian_filter():
    """OpenCV's float64 passes give scipy's blur exactly: small and large sigmas, odd
    window shapes, values of mixed sign."""
    from imagine_med.engine.phantom.filters import gaussian_filter_cv

    rng = np.random.default_rng(14)
    for shape, sigma in (((7, 9), 0.576), ((48, 131), 0.576), ((100, 90), 1.9), ((33, 64), 3.0)):
        a = (rng.random(shape, np.float32) - 0.3) * np.float32(2.5)
        assert (gaussian_filter_cv(a, sigma) == ndimage.gaussian_filter(a, sigma)).all()
        assert (gaussian_filter_cv(a, 3.59, "nearest")
                == ndimage.gaussian_filter(a, 3.59, mode="nearest")).all()  # blur_coarse's


def test_fast_gaussian_is_scipys_on_film_shapes_and_falls_back_where_it_must():
    """The film's blurs (box blurs with reflecting edges, the DR bands with nearest ones, the
    detector's) through OpenCV equal scipy's; a kernel longer than the image, a float64 image
    or another edge mode goes to scipy."""
    from scipy import ndimage as ndi

    from imagine_med.engine.phantom.filters import gaussian_filter_fast

    rng = np.random.default_rng(11)
    for shape, sigma, mode in (((259, 322), 1.7, "reflect"), ((512, 512), 0.95, "nearest"),
                               ((256, 256), 2.9, "nearest"), ((10, 10), 4.0, "nearest"),
                               ((64, 64), 0.6, "wrap")):
        a = rng.random(shape, np.float32) * 3
        want = ndi.gaussian_filter(a, sigma, mode=mode, truncate=3)
        got = gaussian_filter_fast(a, sigma, mode=mode, truncate=3)
        assert got.dtype == want.dtype and (got == want).all(), (shape, sigma, mode)
    b = rng.random((80, 90))  # float64 keeps float64 between the passes: scipy's path
    assert (gaussian_filter_fast(b, 1.3) == ndi.gaussian_filter(b, 1.3)).all()
