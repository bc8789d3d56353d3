"""Projection radiography of a voxel tissue-label volume, for any region built out of voxels
(limbs and joints, teeth, the abdomen).

Why voxels: a fracture is a cut through a bone with its fragments moved, a callus a cuff of
woven bone, a tooth a nest of enamel, dentine and pulp; any shape a region can test point by
point it can draw, and one projector turns it into a film. Why blocks: a limb is mostly soft
tissue of a simple shape whose path length a region can give in closed form
(`background`), so only the bones need voxels, each in its own small box (a whole 512 px
wrist film is ~1-2 million voxels, not 30).

The API, in the beam's frame (u: image right, v: image down, w: from the source toward the
detector along the central ray; all in mm):

    grid = VoxelGrid(voxel_mm=0.45, rows=..., cols=..., depth=..., w0_mm=900.0)
    classes = [Klass("radius", "cortical_bone", 5), ...]   # a block's id i -> classes[i]
    blocks = [Block(ids, (r0, c0, k0)), ...]                # uint8 ids, corner in grid voxels
    proj = project(blocks, classes, grid, Beam(sid_mm=1000.0), (H, W), px_mm,
                   container="soft_tissue", background=None)
    q = expose(proj.line, px_mm, rng, EXTREMITY)              # -log(detected signal)
    pixels = display(q, body)                                  # uint8 film

`proj.line` is the line integral of mu (dimensionless, ∫mu dl) on the detector; with a
container tissue each voxel adds (mu - mu_container) x length, so bones sit *inside* the
soft tissue the background path length already counts. `proj.labels` holds, per detector
pixel, the label of highest priority any ray through it met (0: none), indexing
`proj.label_names`. Magnification: a divergent beam (`Beam.sid_mm`) scales each slab of a
block by SID / w at the slab's depth, with slabs thin enough that the scale changes by less
than half a voxel across the block; a parallel beam (`sid_mm=None`) projects straight.

Numbers (physics.md "Linear attenuation", "Radiograph"): mu from `tissues.py` (cm^-1 at 70
keV, used per mm here); Beer-Lambert, then scatter as a broad blur of the primary added
back, Poisson quantum noise, detector blur, log. The chest film (`xray.py`) runs its line
integrals through the same `expose`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from imagine_med.engine.phantom.filters import gaussian_filter_fast
from imagine_med.engine.phantom.tissues import TISSUES


@dataclass(frozen=True)
class Klass:
    """What a voxel id means: the label it carries (None: unlabelled), its tissue (a name in
    `tissues.TISSUES`) and the label's priority on the projected label map (higher wins)."""

    label: str | None
    tissue: str
    priority: int = 1


@dataclass(frozen=True)
class VoxelGrid:
    """The common grid blocks live in: voxel (i, j, k) has its centre at u = (j - cols/2 + 0.5)
    * voxel_mm, v = (i - rows/2 + 0.5) * voxel_mm, w = w0_mm + (k + 0.5) * voxel_mm."""

    voxel_mm: float
    rows: int
    cols: int
    depth: int
    w0_mm: float

    def centres(self, r0: int, c0: int, k0: int, shape: tuple[int, int, int]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """1D u, v, w centre coordinates (mm) of a block's rows, columns and slices."""
        vx = self.voxel_mm
        v = (np.arange(r0, r0 + shape[0], dtype=np.float32) - self.rows / 2 + 0.5) * vx
        u = (np.arange(c0, c0 + shape[1], dtype=np.float32) - self.cols / 2 + 0.5) * vx
        w = self.w0_mm + (np.arange(k0, k0 + shape[2], dtype=np.float32) + 0.5) * vx
        return u, v, w


@dataclass(frozen=True)
class Block:
    """A box of voxel ids (rows, cols, depth; uint8, 0 = the container) with its corner."""

    ids: np.ndarray
    corner: tuple[int, int, int]


@dataclass(frozen=True)
class Beam:
    """`sid_mm`: source-to-image distance (None: a parallel beam). The detector lies at
    w = sid_mm, perpendicular to the central ray through u = v = 0."""

    sid_mm: float | None = 1000.0

    def magnification(self, w_mm: float) -> float:
        return 1.0 if self.sid_mm is None else self.sid_mm / w_mm


@dataclass(frozen=True)
class Exposure:
    """Detector physics: scatter added back as a blur of the primary (`scatter_fraction` of
    it, blurred over `scatter_sigma_mm`), quanta per 0.8 mm pixel in the open beam, and the
    detector's blur (sigma, mm)."""

    scatter_fraction: float
    scatter_sigma_mm: float
    quanta_per_08mm: float
    blur_mm: float


# The chest (xray.py): a thick scattering part behind a grid.
CHEST = Exposure(0.35, 60.0, 6.0e4, 0.35)
# Extremities: thin parts, no grid; a scatter-to-primary ratio of ~0.1-0.2 for a 5-8 cm
# part at 55-60 kVp, a fine-focus, high-resolution detector (~0.1 mm blur).
EXTREMITY = Exposure(0.15, 25.0, 4.0e4, 0.12)


@dataclass
class Projection:
    """Line integral of mu on the detector and the projected label map (indices into
    `label_names`, 0 = none)."""

    line: np.ndarray
    labels: np.ndarray
    label_names: tuple[str, ...]


def mu_per_mm(tissue: str) -> float:
    return TISSUES[tissue].mu / 10.0


def resize(img: np.ndarray, h: int, w: int, nearest: bool = False) -> np.ndarray:
    """Coarse grid -> full image (PIL is several times faster than ndimage.zoom here)."""
    if img.shape == (h, w):
        return img
    if nearest:
        return np.asarray(Image.fromarray(img).resize((w, h), Image.NEAREST))
    return np.asarray(Image.fromarray(img.astype(np.float32)).resize((w, h), Image.BILINEAR))


def _luts(classes: list[Klass], container: str | None
          ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Per id: mu relative to the container (per mm) and the rank of its label (0: none)."""
    base = mu_per_mm(container) if container else 0.0
    mu = np.zeros(256, np.float32)
    names = sorted({(k.priority, k.label) for k in classes if k.label})  # ties: by name
    rank = {name: i + 1 for i, (_p, name) in enumerate(names)}
    prio = np.zeros(256, np.uint8)
    for i, k in enumerate(classes):
        if i == 0:
            continue  # id 0 is the container itself
        mu[i] = mu_per_mm(k.tissue) - base
        if k.label:
            prio[i] = rank[k.label]
    return mu, prio, ("", *(n for _p, n in names))


def _slab_edges(grid: VoxelGrid, beam: Beam, reach_mm: float, tolerance: float = 1.0
                ) -> list[int]:
    """Slice indices bounding depth slabs thin enough that magnification moves the field's
    edge (`reach_mm` from the central ray) by under `tolerance` voxels within a slab."""
    if beam.sid_mm is None:
        return [0, grid.depth]
    per = max(1, int(tolerance * grid.w0_mm / max(reach_mm, 1.0)))  # dw = voxel * w / reach
    return [*range(0, grid.depth, per), grid.depth]


def project(blocks: list[Block], classes: list[Klass], grid: VoxelGrid, beam: Beam,
            out_shape: tuple[int, int], px_mm: float, container: str | None = None,
            background: np.ndarray | None = None, labels_only: bool = False,
            slab_tolerance: float = 1.0) -> Projection:
    """Line integrals and the label map of `blocks` on a detector of `out_shape` pixels of
    `px_mm` (at the detector). `background` (out_shape, dimensionless integral of mu) is
    added: the closed-form soft tissue a region computes itself. `labels_only` skips the
    line integrals (a label projection to measure from; `line` is then zero).
    `slab_tolerance`: voxels the field's edge may move within one depth slab (default 1; a
    deep trunk film, its bones near the central ray, can take a few and far fewer slabs).

    Steps: each block's voxels are summed along the beam into depth slabs of the common grid
    (one image per slab at voxel resolution); each slab is scaled by its own magnification
    onto a coarse detector (voxel resolution at the detector-side slab's magnification); the
    coarse detector is resampled to the output pixels."""
    H, W = out_shape
    mu, prio, names = _luts(classes, container)
    vx = grid.voxel_mm
    reach = vx  # the farthest any block reaches from the central ray
    for block in blocks:
        r0, c0, _k0 = block.corner
        nr, nc, _nk = block.ids.shape
        reach = max(reach, vx * float(np.hypot(max(abs(r0 - grid.rows / 2),
                                                   abs(r0 + nr - grid.rows / 2)),
                                               max(abs(c0 - grid.cols / 2),
                                                   abs(c0 + nc - grid.cols / 2)))))
    edges = _slab_edges(grid, beam, reach, slab_tolerance)
    n = len(edges) - 1
    sums = np.zeros((n, grid.rows, grid.cols), np.float32)
    tops = np.zeros((n, grid.rows, grid.cols), np.uint8)
    for block in blocks:
        r0, c0, k0 = block.corner
        nr, nc, nk = block.ids.shape
        for s in range(n):
            ka, kb = max(edges[s], k0), min(edges[s + 1], k0 + nk)
            if kb <= ka:
                continue
            sub = block.ids[:, :, ka - k0:kb - k0]
            if not labels_only:
                sums[s, r0:r0 + nr, c0:c0 + nc] += mu[sub].sum(axis=2, dtype=np.float32)
            np.maximum(tops[s, r0:r0 + nr, c0:c0 + nc], prio[sub].max(axis=2),
                       out=tops[s, r0:r0 + nr, c0:c0 + nc])
    # the coarse detector's scale: the slab nearest the detector (least magnified), so every
    # other slab is scaled up from a box inside its own image
    m_ref = beam.magnification(grid.w0_mm + grid.depth * vx)
    coarse = np.zeros((grid.rows, grid.cols), np.float32)
    rank = np.zeros((grid.rows, grid.cols), np.uint8)
    for s in range(n):
        if not tops[s].any() and not sums[s].any():
            continue
        m = beam.magnification(grid.w0_mm + (edges[s] + edges[s + 1]) / 2 * vx)
        scale = m_ref / m  # grid voxels per coarse-detector pixel
        if abs(scale - 1) * reach < 0.1 * vx:
            coarse += sums[s]
            np.maximum(rank, tops[s], out=rank)
            continue
        # PIL resamples a scaled box several times faster than ndimage.affine_transform
        box = (grid.cols / 2 * (1 - scale), grid.rows / 2 * (1 - scale),
               grid.cols / 2 * (1 + scale), grid.rows / 2 * (1 + scale))
        size = (grid.cols, grid.rows)
        coarse += _resample(sums[s], size, box, Image.BILINEAR)
        np.maximum(rank, _resample(tops[s], size, box, Image.NEAREST), out=rank)
    coarse *= np.float32(vx)
    # output pixel (r, c) -> coarse index ((r - (H-1)/2) px / (vx m_ref) + rows/2 - 0.5)
    f = px_mm / (vx * m_ref)
    box = (grid.cols / 2 - W / 2 * f, grid.rows / 2 - H / 2 * f,
           grid.cols / 2 + W / 2 * f, grid.rows / 2 + H / 2 * f)
    line = _resample(coarse, (W, H), box, Image.BILINEAR).astype(np.float32)
    labels = _resample(rank, (W, H), box, Image.NEAREST)
    if background is not None:
        line = line + background.astype(np.float32)
    return Projection(line, labels.copy(), names)


def _resample(img: np.ndarray, size: tuple[int, int], box: tuple[float, ...], how: int
              ) -> np.ndarray:
    """`img`'s region `box` (x0, y0, x1, y1, source pixels) resampled to `size` (w, h) by
    PIL; a box reaching past the image's edges is met by zero padding (PIL refuses it)."""
    h, w = img.shape
    pad = int(np.ceil(max(0.0, -box[0], -box[1], box[2] - w, box[3] - h)))
    if pad:
        img = np.pad(img, pad)
        box = (box[0] + pad, box[1] + pad, box[2] + pad, box[3] + pad)
    return np.asarray(Image.fromarray(img).resize(size, how, box=box))


def expose(line: np.ndarray, px: float, rng: np.random.Generator, exposure: Exposure = CHEST
           ) -> np.ndarray:
    """-log of the detected signal: Beer-Lambert, scatter, quantum noise, detector blur."""
    h, w = line.shape
    # float32 throughout, each step in place where the written-out expression would make a
    # new array (the same roundings: the operands only swap, which is exact)
    primary = np.negative(line, dtype=np.float32)
    np.exp(primary, out=primary)
    small = primary[::8, ::8]
    sc = ndimage.gaussian_filter(small, exposure.scatter_sigma_mm / (px * 8), mode="nearest")
    counts = np.multiply(resize(sc, h, w), np.float32(exposure.scatter_fraction))
    counts += primary  # a broad blur of the primary added to it
    n0 = np.float32(exposure.quanta_per_08mm * (px / 0.8) ** 2)
    counts *= n0
    noisy = np.sqrt(counts)
    noisy *= rng.standard_normal((h, w), dtype=np.float32)
    noisy += counts
    noisy /= n0
    det = gaussian_filter_fast(np.maximum(noisy, np.float32(1e-5), out=noisy),
                               max(exposure.blur_mm / px, 0.4), truncate=3)
    np.log(det, out=det)
    return np.negative(det, out=det)


def display(q: np.ndarray, px: float, body: np.ndarray | None = None, edge_gain: float = 0.8,
            window_on: np.ndarray | None = None, equalise: float = 0.0) -> np.ndarray:
    """A bone film's processing: an unsharp mask (edges of cortex and trabeculae, ~2 mm
    kernel) on the log signal, then a window from the body's histogram (soft tissue dark
    grey, cortex near white) and a gentle film curve; air stays black. `window_on` limits
    the histogram to part of the body; `equalise` (0-1) takes out that share of the
    large-scale density (over ~30 mm) first, as units do for parts of very unequal thickness
    (an ankle's foot)."""
    if equalise > 0:
        big = ndimage.gaussian_filter(q[::4, ::4], 30.0 / (px * 4), mode="nearest")
        inside0 = body if body is not None else q > 0.15
        ref = float(np.median(q[inside0])) if inside0.any() else 0.0
        q = q - equalise * np.maximum(resize(big.astype(np.float32), *q.shape) - ref, 0.0)
    blur = ndimage.gaussian_filter(q[::2, ::2], 2.0 / (px * 2), mode="nearest")
    base = resize(blur, *q.shape)
    sharp = q + edge_gain * (q - base)
    inside = body if body is not None and body.sum() > 100 else q > 0.15
    win = window_on if window_on is not None and window_on.sum() > 100 else inside
    vals = sharp[::2, ::2][win[::2, ::2]]
    lo = np.percentile(vals, 2) if vals.size else 0.0
    hi = np.percentile(vals, 99.7) if vals.size else 1.0
    t = np.clip((sharp - lo) / max(hi - lo, 1e-6), 0, 1.0)
    out = 34 + 214 * t ** 1.35  # soft tissue dark grey, cortex near white
    out[~inside] = np.minimum(out[~inside], 14)
    return np.clip(out, 0, 255).astype(np.uint8)


def chord(a: np.ndarray, b: np.ndarray, s: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Length of the chord a line of unit direction (dx, dy), at signed distance `s` from the
    centre, cuts through the ellipse x^2/a^2 + y^2/b^2 <= 1 (arrays broadcast): the closed-form
    path through a limb's soft-tissue envelope."""
    # points p = s * n + t * d with n = (-dy, dx); solve for t
    nx, ny = -dy, dx
    A = dx * dx / (a * a) + dy * dy / (b * b)
    B = 2 * s * (nx * dx / (a * a) + ny * dy / (b * b))
    C = s * s * (nx * nx / (a * a) + ny * ny / (b * b)) - 1
    disc = np.maximum(B * B - 4 * A * C, 0.0)
    return np.sqrt(disc) / A


def named_labels(proj_labels: np.ndarray, names: tuple[str, ...], body: np.ndarray,
                 ids: dict[str, int], soft_tissue: str = "soft_tissue") -> np.ndarray:
    """A projection's label map in a region's ids: each projected class (its name, or '' for
    none) through `ids`; pixels of the body that no class labels are soft tissue."""
    lut = np.zeros(256, np.uint8)
    for i, n in enumerate(names):
        if n:
            lut[i] = ids[n]
    out = lut[proj_labels]
    out[(out == 0) & body] = ids[soft_tissue]
    return out
