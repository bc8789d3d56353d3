"""The batched ray/solid intervals (geometry.convex_intervals, xray._small_pieces) give the very
values of the plain per-piece computation: on the chest films' own solids and rays, and on a
mix of pieces whose quadrics fall into different groups."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from imagine_med.engine.phantom.geometry import (
    BIG,
    Convex,
    Profile,
    Rays,
    _plane_roots,
    batchable,
    box,
    convex_intervals,
    ellipsoid,
    halfspace,
    rotation,
)
from imagine_med.engine.phantom.regions.chest.renderer import build
from imagine_med.engine.phantom.xray import (
    MIN_BATCH,
    _clamp,
    _cross_rows,
    _inks,
    _nearest,
    _pixels,
    _RayCache,
    _small_pieces,
    make_view,
    solid_lengths,
)
from imagine_med.prompt import parse

SIZE = 512
SCALE = 3  # render_film's coarse grid at 512 px


def _plain(piece: Convex, cache: _RayCache, crop) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = crop
    return piece.interval(cache.view.source, cache.rays.crop(y0, y1, x0, x1))


@pytest.mark.parametrize("view", ["pa", "ap", "lateral"])
def test_batched_pieces_equal_plain_on_chest_solids(view: str):
    spec = parse(f"{view} chest x-ray, normal, adult female --seed 5")[0]
    scene = build(spec, 5, 0.0, None, view).scene
    cache = _RayCache(make_view(scene, view, SIZE, SIZE), SCALE)
    solids = [c.solid for c in scene.components if c.solid is not None and c.xray]
    cache.count_uses(solids)
    checked = 0
    for solid in solids + [s.shrunk(1.2) for s in solids]:
        crops = [cache.crop_of(p.bounds) for p in solid.pieces]
        batch = _small_pieces(solid, crops, cache)
        for piece, crop in zip(solid.pieces, crops, strict=True):
            if id(piece) in batch:
                s, e = batch[id(piece)]
                ps, pe = _plain(piece, cache, crop)
                assert np.array_equal(s, ps) and np.array_equal(e, pe)
                checked += 1
    assert checked >= 2 * MIN_BATCH  # the vertebral bodies and the pedicles at least


def test_mixed_pieces_equal_plain():
    """Axis-aligned boxes (zero coefficients skipped), rotated ellipsoids, cut and uncut
    pieces: groups that hold only some pieces, and planes every ray crosses the same way."""
    rng = np.random.default_rng(4)
    pieces = []
    for k in range(12):
        c = rng.uniform(-60, 60, 3)
        if k % 3 == 0:
            pieces.append(box(c - 8, c + rng.uniform(4, 12, 3)))
        elif k % 3 == 1:
            pieces.append(ellipsoid(c, rng.uniform(4, 15, 3), rotation(*rng.uniform(-1, 1, 3))))
        else:
            pieces.append(ellipsoid(c, rng.uniform(4, 15, 3), None,
                                    halfspace(rng.normal(size=3), float(c[0])),
                                    halfspace([0, 0, 1.0], float(c[2]))))
    src = np.array([3.0, -900.0, 5.0])
    counts = [int(n) for n in rng.integers(0, 40, len(pieces))]
    # each piece's rays aimed about its box (some miss it, some run along its planes' edges)
    aim = np.concatenate([rng.uniform(p.bounds[0] - 3, p.bounds[1] + 3, (n, 3))
                          for p, n in zip(pieces, counts, strict=True)])
    d = aim - src
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    rays = Rays.from_dirs(d)
    s, e = convex_intervals(pieces, src, rays, counts)
    at = 0
    for piece, n in zip(pieces, counts, strict=True):
        ps, pe = piece.interval(src, Rays.from_dirs(d[at: at + n]))
        assert np.array_equal(s[at: at + n], ps) and np.array_equal(e[at: at + n], pe)
        at += n
    lengths = np.maximum(e - s, 0)
    assert (lengths > 0).sum() > 50 and (lengths == 0).sum() > 50  # rays do meet the pieces


def test_tube_shortcuts_equal_numpy_on_chest_tubes():
    """tube_box's cross product and box clamps against np.cross and np.clip, on a film's own
    tube sets (ribs, vessels, bronchi, clavicles...)."""
    spec = parse("pa chest x-ray, normal, adult male --seed 7")[0]
    scene = build(spec, 7, 0.0, None, "pa").scene
    view = make_view(scene, "pa", SIZE, SIZE)
    sets = [c.tubes for c in scene.components if c.solid is None and c.tubes is not None
            and len(c.tubes)]
    assert len(sets) >= 5
    for t in sets:
        seg = t.p1 - t.p0
        axis = seg / np.maximum(np.linalg.norm(seg, axis=1), 1e-6)[:, None]
        mid = (t.p0 + t.p1) / 2 - view.source
        assert np.array_equal(_cross_rows(axis, mid), np.cross(axis, mid))
        u, _v, _m = view.project(t.p0)
        for v in (u.min() - 9.5, u.max() + 9.5, 0.0, -3.2, SIZE + 7.0):
            for lo, hi in ((0, SIZE - 1), (40, SIZE), (SIZE, 10)):
                assert _clamp(v, lo, hi) == int(np.clip(v, lo, hi))


def _plane_reference(nd: np.ndarray, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """A half-space's entry/exit by the plain three-way rule per ray."""
    safe = np.where(np.abs(nd) > 1e-12, nd, 1e-12)
    root = gap / safe
    par_s, par_e = (-BIG, BIG) if gap >= 0 else (BIG, -BIG)
    s = np.where(nd < -1e-12, root, np.where(nd > 1e-12, -BIG, par_s))
    e = np.where(nd > 1e-12, root, np.where(nd < -1e-12, BIG, par_e))
    return s, e


def test_half_space_intervals_equal_the_three_way_rule_on_chest_planes():
    """Every half-space of a PA film's solids (pieces and holes), on the film's coarse rays
    (and with a few rays laid along the plane, where the short path does not apply)."""
    spec = parse("pa chest x-ray, normal, adult female --seed 9")[0]
    scene = build(spec, 9, 0.0, None, "pa").scene
    cache = _RayCache(make_view(scene, "pa", SIZE, SIZE), SCALE)
    src = cache.view.source
    planes = {id(q): q for c in scene.components if c.solid is not None
              for cv in (*c.solid.pieces, *c.solid.holes) for q in cv.quadrics
              if getattr(q, "kind", "") == "halfspace"}
    assert len(planes) > 50
    both_ways = 0
    for q in planes.values():
        s, e = q.interval(src, cache.rays)
        n, dd = q.params
        nd = cache.rays.dot(n)
        gap = dd - float(n @ src)
        rs, re = _plane_reference(nd, gap)
        assert np.array_equal(s, rs) and np.array_equal(e, re)
        both_ways += bool((nd > 0).any() and (nd < 0).any())
        nd[:3, :3] = 0.0  # rays along the plane: the three-way rule itself
        ps, pe = _plane_roots(nd, gap)
        rs, re = _plane_reference(nd, gap)
        assert np.array_equal(ps, rs) and np.array_equal(pe, re)
    assert both_ways > 5  # planes the rays cross in both directions


def test_profile_sections_equal_the_plain_interpolation():
    """The body outline's sections (steps worked out once; no select when every height is
    in range) against v[i] + w (v[i + 1] - v[i]) at the film's heights and beyond them."""
    spec = parse("pa chest x-ray, normal, adult male --seed 3")[0]
    scene = build(spec, 3, 0.0, None, "pa").scene
    outlines = [q for c in scene.components if c.solid is not None
                for cv in c.solid.pieces for q in cv.quadrics if isinstance(q, Profile)]
    assert outlines
    for p in outlines:
        for z in (np.linspace(p.z[0], p.z[-1], 2001),  # all in range
                  np.linspace(p.z[0] - 40, p.z[-1] + 40, 2001)):  # some off the body
            f = (z - p.z[0]) / (p.z[1] - p.z[0])
            i = np.clip(f.astype(np.int64), 0, len(p.z) - 2)
            w = f - i
            off = (f < 0) | (f > len(p.z) - 1)
            plain = [v[i] + w * (v[i + 1] - v[i]) for v in (p.a, p.b, p.cy)]
            want = (np.where(off, 1e-6, plain[0]), np.where(off, 1e-6, plain[1]), plain[2])
            for got, ref in zip(p.section(z), want, strict=True):
                assert np.array_equal(got, ref)


def test_flat_polygons_and_pixels_equal_the_plain_drawing():
    """_draw_wide hands the drawing core flat coordinate lists and reads the image by its
    bytes: the same pixels as (x, y) tuples and np.asarray, on a film's projected tubes."""
    spec = parse("pa chest x-ray, normal, adult male --seed 7")[0]
    scene = build(spec, 7, 0.0, None, "pa").scene
    view = make_view(scene, "pa", SIZE, SIZE)
    t = max((c.tubes for c in scene.components if c.solid is None and c.tubes is not None),
            key=len)
    u0, v0, _ = view.project(t.p0)
    u1, v1, _ = view.project(t.p1)
    r = 2.5 + 3.0 * np.arange(len(u0)) % 7 / 7  # a spread of half-widths (px)
    quads = np.stack([u0 - r, v0 + 0.3, u1 - r, v1 - 0.2, u1 + r, v1, u0 + r, v0], axis=1)
    flat, plain = Image.new("F", (SIZE, SIZE), 0.0), Image.new("F", (SIZE, SIZE), 0.0)
    fc, pc = ImageDraw.Draw(flat).draw, ImageDraw.Draw(plain).draw
    for k, c in enumerate(quads.tolist()):
        pts = [(c[0], c[1]), (c[2], c[3]), (c[4], c[5]), (c[6], c[7])]
        fc.draw_polygon(c, fc.draw_ink(k + 0.5), 1)
        pc.draw_polygon(pts, pc.draw_ink(k + 0.5), 1)
        fc.draw_lines(c[:4], fc.draw_ink(-1.0), 1)
        pc.draw_lines(pts[:2], pc.draw_ink(-1.0), 1)
        fc.draw_lines(c[4:], fc.draw_ink(-2.0), 1)
        pc.draw_lines(pts[2:], pc.draw_ink(-2.0), 1)
    got, want = _pixels(flat), np.asarray(plain, dtype=np.float32)
    assert (want != 0).sum() > 1000
    assert np.array_equal(got, want) and got.dtype == want.dtype


def test_nearest_equals_pil_nearest_on_a_label_grid():
    """_nearest (its gathers) against PIL's NEAREST resize itself, on a film's coarse grid
    size (171 -> 512) and on a bool mask."""
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 40, (171, 171)).astype(np.uint8)
    want = np.asarray(Image.fromarray(labels).resize((SIZE, SIZE), Image.NEAREST))
    assert np.array_equal(_nearest(labels, SIZE, SIZE), want)
    mask = labels > 20
    assert np.array_equal(_nearest(mask, SIZE, SIZE), want > 20)


def test_solid_membership_equals_the_set_formula_on_chest_lobes():
    """Solid.inside (coordinates gathered apart, the holes tested on the pieces' points) against
    the plain union of pieces minus holes, on the lobes and their many holes."""
    spec = parse("pa chest x-ray, normal, adult female --seed 4")[0]
    scene = build(spec, 4, 0.0, None, "pa").scene
    rng = np.random.default_rng(2)
    lobes = [c.solid for c in scene.components if c.solid is not None
             and len(c.solid.holes) >= 8]
    assert lobes
    inside = 0
    for solid in lobes:
        lo, hi = solid.bounds
        pts = rng.uniform(lo - 5, hi + 5, (20000, 3))
        expected = np.zeros(len(pts), bool)
        for cv in solid.pieces:
            expected |= cv.inside(pts)
        for h in solid.holes:
            expected &= ~h.inside(pts)
        assert np.array_equal(solid.inside(pts), expected)
        inside += expected.sum()
    assert inside > 2000  # points inside some lobe, past its holes


@pytest.mark.parametrize("view", ["pa", "lateral"])
def test_hole_sweep_equals_the_plain_path_length_on_chest_lobes(view: str):
    """xray._covered sweeps only the holes each ray meets (one sort for all rays), where
    Solid.path_length sweeps every hole on every ray: the same lengths to rounding."""
    spec = parse(f"{view} chest x-ray, normal, adult male --seed 7")[0]
    scene = build(spec, 7, 0.0, None, view).scene
    cache = _RayCache(make_view(scene, view, SIZE, SIZE), SCALE)
    solids = [c.solid for c in scene.components if c.solid is not None and c.xray]
    cache.count_uses(solids)
    swept = [s for s in solids if len(s.holes) >= 8 and batchable(s.pieces[0])]
    assert len(swept) >= 4  # the lobes among them, each cut by many holes
    deepest = 0.0
    for solid in swept:
        fast = solid_lengths(solid, cache)
        flat = cache.rays.take(np.arange(cache.gw * cache.gh))
        plain = solid.path_length(cache.view.source, flat).reshape(fast.shape)
        assert np.abs(fast - plain).max() < 1e-6
        deepest = max(deepest, float(fast.max()))
    assert deepest > 50  # a lobe's depth, in mm


@pytest.mark.parametrize("view", ["pa", "ap", "lateral"])
@pytest.mark.parametrize("size", [512, 333])
def test_ray_grid_equals_the_plain_rays(view: str, size: int):
    """View.ray_grid (per component, broadcast) gives View.rays' directions value for value."""
    spec = parse(f"{view} chest x-ray, normal --seed 3")[0]
    v = make_view(build(spec, 3, 0.0, None, view).scene, view, size, size)
    gw = gh = -(-size // SCALE)
    plain = v.rays(SCALE, 0, 0, gw, gh).reshape(gh, gw, 3)
    grid = v.ray_grid(SCALE, gw, gh)
    for k, comp in enumerate((grid.dx, grid.dy, grid.dz)):
        assert comp.flags.c_contiguous and np.array_equal(comp, plain[..., k])
    assert np.allclose(grid.xx + grid.yy + grid.zz, 1.0)


@pytest.mark.parametrize("view", ["pa", "lateral"])
def test_crops_keep_every_ray_with_length(view: str):
    """_RayCache's crops hold only the cells whose centres fall within a box's projection:
    every solid's (and every shell's inner solid's) path lengths on them equal the plain
    path lengths on the whole grid, so no ray that meets a solid was left out."""
    spec = parse(f"{view} chest x-ray, right pneumothorax --seed 3")[0]
    scene = build(spec, 3, 0.0, None, view).scene
    cache = _RayCache(make_view(scene, view, SIZE, SIZE), SCALE)
    comps = [c for c in scene.components if c.solid is not None and c.xray]
    cache.count_uses([c.solid for c in comps])
    flat = cache.rays.take(np.arange(cache.gw * cache.gh))
    solids = [c.solid for c in comps] + [c.solid.shrunk(c.shell_mm) for c in comps
                                         if c.shell_mm > 0 and c.shell_material]
    assert len(solids) >= 30
    for solid in solids:
        fast = solid_lengths(solid, cache)
        plain = solid.path_length(cache.view.source, flat).reshape(fast.shape)
        assert np.abs(fast - plain).max() < 1e-6


def test_inks_equal_the_drawing_cores_own():
    """xray._inks gives, for every value, the ink PIL's drawing core makes of it for an "F"
    image (its float32 bits): values of a film's tube sets, and awkward ones."""
    core = ImageDraw.Draw(Image.new("F", (4, 4), 0.0)).draw
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.uniform(0, 40, 500), rng.lognormal(0, 3, 500),
                             [0.0, -0.0, 1e-40, 3.4e38, -2.5, 0.1, 1 / 3]])
    assert _inks(values) == [core.draw_ink(v) for v in values.tolist()]
