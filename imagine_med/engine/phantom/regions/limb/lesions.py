"""Bone disease as changes to a bone's solid: a shape wrapper (`Diseased`) carrying lesions
that thin or thicken the cortex, thin or coarsen the trabeculae, add bone outside the
surface (osteophytes, periosteal new bone, Paget's enlargement) and repaint voxels with a
label and tissue of their own (erosions, tumour, cysts, sclerosis).

Every lesion works in its bone's own frame (views.py hands the local coordinates of each
voxel), so it is filmed from any view and follows a fragment. Voxel kinds (views.py):
0 cortex, 1 trabecular spicule, 2 marrow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.regions.limb.shapes import texture


class Lesion:
    """A no-op lesion: subclasses override what they change."""

    reach_mm: float = 0.0  # how far outside the bone's bounds it can add bone
    needs_base: bool = False  # paint() wants the healthy depth

    def warp(self, x, y, z):
        return x, y, z

    def shape_change(self, x, y, z, d, t):
        return d, t

    def trabeculae(self, x, y, z, kind: np.ndarray, vox: float) -> np.ndarray:
        return kind

    def paint(self, cls, x, y, z, d, d0, out: np.ndarray) -> None:
        return None


class Diseased:
    """A bone's shape (LongBone, Ovoid, Cup) with lesions; reads like the shape it wraps."""

    def __init__(self, base, lesions: tuple[Lesion, ...]) -> None:
        self.__dict__["base"] = base.base if isinstance(base, Diseased) else base
        prior = base.lesions if isinstance(base, Diseased) else ()
        self.__dict__["lesions"] = (*prior, *lesions)

    def __getattr__(self, name: str):
        return getattr(self.__dict__["base"], name)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.base.bounds()
        r = max((les.reach_mm for les in self.lesions), default=0.0)
        return lo - r, hi + r

    def _warp(self, x, y, z):
        for les in self.lesions:
            x, y, z = les.warp(x, y, z)
        return x, y, z

    def depth(self, x, y, z):
        d, t = self.base.depth(*self._warp(x, y, z))
        for les in self.lesions:
            d, t = les.shape_change(x, y, z, d, t)
        return d, t

    def is_cancellous(self, z):
        return self.base.is_cancellous(z)

    def trabeculae(self, x, y, z, kind: np.ndarray, vox: float) -> np.ndarray:
        for les in self.lesions:
            kind = les.trabeculae(x, y, z, kind, vox)
        return kind

    def paint(self, cls, x, y, z, d, out: np.ndarray) -> None:
        d0 = None
        if any(les.needs_base for les in self.lesions):
            d0, _t = self.base.depth(*self._warp(x, y, z))
        for les in self.lesions:
            les.paint(cls, x, y, z, d, d0, out)


def wrap(shape, *lesions: Lesion) -> Diseased:
    return Diseased(shape, tuple(lesions))


def _sphere(x, y, z, c, r: float) -> np.ndarray:
    return (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 < r * r


@dataclass
class Osteopenia(Lesion):
    """Fewer, thinner trabeculae (spicules removed where a second, coarser texture says so:
    the marrow spaces open up) and a thinner cortex, over the whole bone or within
    `band_mm` of its joint ends (`ends`: local z of the articular ends; periarticular)."""

    cortex_factor: float = 0.5
    tex_offset: int = 17
    ends: tuple[float, ...] = ()
    band_mm: float = 0.0

    def _where(self, z) -> np.ndarray | bool:
        if not self.ends:
            return True
        return np.min([np.abs(z - e) for e in self.ends], axis=0) < self.band_mm

    def shape_change(self, x, y, z, d, t):
        w = self._where(z)
        return d, np.where(w, t * np.float32(self.cortex_factor), t)

    def trabeculae(self, x, y, z, kind, vox):
        holes = texture(x, y, z, vox * 1.4, self.tex_offset)
        gone = (kind == 1) & holes & self._where(z)
        return np.where(gone, 2, kind).astype(kind.dtype)


@dataclass
class Erosion(Lesion):
    """A marginal erosion: a bite of pannus (soft tissue) into the bone at the joint's bare
    area, where synovium meets bone not covered by cartilage (rheumatoid arthritis)."""

    centre: tuple[float, float, float]
    radius: float
    label: str = "erosion"
    tissue: str = "fibrous"

    def paint(self, cls, x, y, z, d, d0, out):
        hit = _sphere(x, y, z, self.centre, self.radius)
        out[hit] = cls.id(self.label, self.tissue)


@dataclass
class Bump(Lesion):
    """New bone on the surface (an osteophyte): a sphere fused to the bone at `centre`."""

    centre: tuple[float, float, float]
    radius: float
    label: str = "osteophyte"
    tissue: str = "cortical_bone"
    needs_base: bool = True

    def __post_init__(self) -> None:
        self.reach_mm = self.radius

    def shape_change(self, x, y, z, d, t):
        r = np.sqrt(
            (x - self.centre[0]) ** 2 + (y - self.centre[1]) ** 2 + (z - self.centre[2]) ** 2
        )
        return np.maximum(d, self.radius - r), t

    def paint(self, cls, x, y, z, d, d0, out):
        hit = _sphere(x, y, z, self.centre, self.radius) & (d0 <= 0)
        out[hit] = cls.id(self.label, self.tissue)


@dataclass
class Blob(Lesion):
    """A region of the bone repainted one tissue under its own label: a subchondral cyst
    (fluid), a band of sclerosis (dense bone)."""

    centre: tuple[float, float, float]
    radius: float
    label: str
    tissue: str
    shell: tuple[float, float] | None = None  # (r_in, r_out): only within this radial band
    axis: tuple[float, float, float] | None = None  # and within `cone` (cos) of this axis
    cone: float = 1.0

    def paint(self, cls, x, y, z, d, d0, out):
        if self.shell is None:
            hit = _sphere(x, y, z, self.centre, self.radius) & (d > 0)
        else:
            dx, dy, dz = x - self.centre[0], y - self.centre[1], z - self.centre[2]
            r = np.sqrt(dx * dx + dy * dy + dz * dz)
            a = self.axis
            facing = (dx * a[0] + dy * a[1] + dz * a[2]) / np.maximum(r, 1e-6)
            hit = (r > self.shell[0]) & (r < self.shell[1]) & (facing > self.cone) & (d > 0)
        out[hit] = cls.id(self.label, self.tissue)


def _noise(x, y, z, vox: float, seed: int) -> np.ndarray:
    """A deterministic per-voxel uniform in [0, 1) from the local coordinates."""
    i = np.floor(x / vox).astype(np.int64)
    j = np.floor(y / vox).astype(np.int64)
    k = np.floor(z / vox).astype(np.int64)
    h = (i * 73856093) ^ (j * 19349663) ^ (k * 83492791) ^ ((seed % 65521) * 2654435761)
    h = (h ^ (h >> 13)) * 1274126177
    return ((h ^ (h >> 16)) & 0xFFFF).astype(np.float32) / 65536.0


@dataclass
class Tumour(Lesion):
    """A bone tumour: an ellipsoid (`semi`, axis-aligned in the bone's frame) whose core is
    replaced by its matrix (lytic: soft tissue; sclerotic: dense bone; osteoid: cloud-like
    dense islands in soft tissue), with a zone of transition `transition_mm` wide in which
    bone is destroyed with a probability falling from 1 to 0 (narrow: a geographic lesion's
    sharp margin; wide: moth-eaten or permeative holes), and an expansile lesion bulging
    the cortex by `expand_mm` (the shell of cortex kept when `keeps_cortex`)."""

    centre: tuple[float, float, float]
    semi: tuple[float, float, float]
    matrix: str = "lytic"  # lytic | sclerotic | osteoid
    transition_mm: float = 1.0
    expand_mm: float = 0.0
    keeps_cortex: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        self.reach_mm = self.expand_mm

    def field(self, x, y, z) -> np.ndarray:
        """Signed distance-like (mm): < 0 inside the ellipsoid."""
        q = np.sqrt(
            sum(
                ((v - c) / s) ** 2
                for v, c, s in zip((x, y, z), self.centre, self.semi, strict=True)
            )
        )
        return (q - 1) * min(self.semi)

    def shape_change(self, x, y, z, d, t):
        if self.expand_mm <= 0:
            return d, t
        f = self.field(x, y, z)
        g = np.clip(-f / (0.5 * min(self.semi)), 0, 1) ** 0.5
        near = f < 2.0
        return d + np.float32(self.expand_mm) * g, np.where(near, t * np.float32(0.5), t)

    def paint(self, cls, x, y, z, d, d0, out):
        f = self.field(x, y, z)
        w = max(self.transition_mm, 1e-3)
        core = f < -w / 2
        zone = (np.abs(f) <= w / 2) & (d > 0)
        shell = (d < 0.9) if self.keeps_cortex else np.zeros(np.shape(d), bool)
        # the zone: destroyed with a probability falling across it (holes that coalesce)
        p = np.clip(0.5 - f / w, 0, 1)
        holes = zone & (_noise(x, y, z, 0.9, self.seed) < p) & ~shell
        out[zone & ~holes & ~shell] = cls.id("tumour_margin", "trabecular_bone")
        out[holes] = cls.id("tumour_margin", "fibrous")
        body = core & (d > 0) & ~shell
        if self.matrix == "sclerotic":
            out[body] = cls.id("tumour", "cortical_bone")
        elif self.matrix == "osteoid":
            cloud = texture(x, y, z, 1.6, 29 + self.seed % 7)
            out[body] = cls.id("tumour", "fibrous")
            out[body & cloud] = cls.id("tumour", "callus_mature")
        else:
            out[body] = cls.id("tumour", "fibrous")


REACTION_LABEL = {
    "solid": "periosteal_solid",
    "lamellated": "periosteal_lamellated",
    "sunburst": "periosteal_sunburst",
    "codman": "codman_triangle",
}


@dataclass
class Periosteal(Lesion):
    """New bone laid down by a lifted periosteum over `z_range` of a long bone (bone frame),
    outside the healthy cortex: solid (one smooth layer), lamellated (onion skin: layers
    `period_mm` apart), sunburst (spicules radiating out, longest over the lesion's middle),
    Codman (a triangle at each end where the periosteum is lifted and the tumour broke
    through between)."""

    kind: str
    z_range: tuple[float, float]
    thick_mm: float
    period_mm: float = 2.6
    needs_base: bool = True
    lateral_only: bool = False  # on the +x side only (a reaction over a cortical lesion)

    def __post_init__(self) -> None:
        self.reach_mm = self.thick_mm + 1.0

    def height(self, z) -> np.ndarray:
        z0, z1 = self.z_range
        u = np.clip((z - z0) / max(z1 - z0, 1e-3), 0, 1)
        if self.kind == "codman":  # rising over the end 30 % toward the tumour, then gone
            ramp = np.clip(np.minimum(u, 1 - u) / 0.3, 0, 1)
            return np.where(np.minimum(u, 1 - u) < 0.3, ramp, 0.0) * self.thick_mm
        bell = np.clip(np.sin(np.pi * u), 0, 1) ** (0.5 if self.kind != "sunburst" else 1.0)
        return bell * self.thick_mm

    def mask(self, x, y, z, d0) -> np.ndarray:
        r = -d0  # outward distance from the healthy surface
        h = self.height(z)
        m = (r >= 0) & (r < h)
        if self.kind == "lamellated":
            m &= np.mod(r, self.period_mm) < self.period_mm * 0.5
        elif self.kind == "sunburst":  # spicules fanning out from the lesion's middle,
            # on its lateral and medial faces (seen in profile on a frontal film)
            side = np.abs(x) > 0.6 * np.sqrt(x * x + y * y)
            zc = (self.z_range[0] + self.z_range[1]) / 2
            fan = z - (z - zc) * r / (self.thick_mm * 2.5)  # where the spicule left the bone
            m &= side & (np.mod(fan / 3.0, 1.0) < 0.4)
        if self.lateral_only:
            m &= x > 0.3 * np.sqrt(x * x + y * y)
        return m

    def shape_change(self, x, y, z, d, t):
        """The layer counts as bone (inside) so its voxels are drawn; paint labels it."""
        z0, z1 = self.z_range
        band = (z > z0 - 1) & (z < z1 + 1) & (d <= 0) & (d > -self.reach_mm)
        if not np.any(band):
            return d, t
        return np.where(band & self.mask(x, y, z, d), np.float32(0.1), d), t

    def paint(self, cls, x, y, z, d, d0, out):
        m = self.mask(x, y, z, d0) & (d0 <= 0)
        out[m] = cls.id(REACTION_LABEL[self.kind], "callus_mature")


@dataclass
class Pagetic(Lesion):
    """Paget's disease of a bone down to `z_front` (bone frame, the disease advancing from
    the proximal end): enlarged (`enlarge_mm` wider each side), a thick cortex
    (`cortex_factor`), coarse thick trabeculae; and at the front a V of lysis ("blade of
    grass") `front_mm` long, its apex pointing down the shaft into normal bone; the shaft
    bowed out by `bow_mm`."""

    z_front: float = 1e9
    enlarge_mm: float = 2.5
    cortex_factor: float = 1.9
    front_mm: float = 0.0
    front_radius_mm: float = 15.0  # the shaft's radius at the front
    tex_offset: int = 23
    bow_mm: float = 0.0  # the shaft bowed out (+x) by this much halfway down the disease

    def __post_init__(self) -> None:
        self.reach_mm = self.enlarge_mm + self.bow_mm

    def _bow(self, z):
        u = np.clip(z / (2.0 * self.z_front), 0.0, 1.0)
        return np.float32(self.bow_mm) * np.sin(np.pi * u).astype(np.float32)

    def warp(self, x, y, z):
        """A bowed shaft: the healthy shape read a bow's offset away (x lateral)."""
        if self.bow_mm <= 0:
            return x, y, z
        return x - self._bow(z), y, z

    def _affected(self, z):
        zf, L = self.z_front, self.front_mm
        return np.clip((zf - z) / max(L * 0.3, 1.0), 0, 1)  # tapering into the front

    def shape_change(self, x, y, z, d, t):
        k = self._affected(z)
        return (
            d + np.float32(self.enlarge_mm) * k,
            t * (1 + np.float32(self.cortex_factor - 1) * k),
        )

    def trabeculae(self, x, y, z, kind, vox):
        k = self._affected(z) > 0.5
        coarse = texture(x, y, z, vox * 2.0, self.tex_offset)
        kind = np.where(k & (kind != 0), np.where(coarse, 1, 2), kind)
        if self.front_mm > 0:
            kind = np.where(self._front(x, y, z) & (kind == 1), 2, kind)
        return kind.astype(np.int8)

    def _front(self, x, y, z) -> np.ndarray:
        """The V of lysis: a wedge across the shaft (x), the whole width at its base and
        narrowing to the axis at its apex; through the whole depth (y), so a frontal film
        shows the V."""
        u = (z - self.z_front) / self.front_mm  # 0 at the base, 1 at the apex
        r = np.abs(x - self._bow(z) if self.bow_mm > 0 else x) / self.front_radius_mm
        return (u > 0) & (u < 1) & (r < 1.05 * (1 - u))

    def paint(self, cls, x, y, z, d, d0, out):
        if self.front_mm > 0:  # the outer cortex stays, thinned
            out[self._front(x, y, z) & (d > 1.0)] = cls.id("lytic_front", "fibrous")
