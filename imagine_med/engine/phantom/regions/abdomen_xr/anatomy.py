"""The abdomen on an AP film, in closed form on the film's grid (x mm to the patient's left, z mm
up, L3/L4 near z = 0): path lengths along the beam per tissue, and label masks.

Sizes (adult, mm; Gray's Anatomy, Meschan's Roentgen Signs): abdomen ~300-330 wide and ~210 deep
at L3, subcutaneous fat 15-25; lumbar vertebral bodies ~45-50 wide, ~28 high, discs ~10;
transverse processes longest at L3; kidneys ~110 x 55, the right ~15 lower, upper poles at
T12; psoas margins diverging from L1 to the pelvic brim; liver edge at the right costal margin;
femoral heads ~48 across. The bone maps depend only on the body's size and are cached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

X_SPAN, Z_SPAN = 380.0, 420.0  # the film's field at the patient (35 x 43 cm cassette / 1.15)
VERTEBRAE = {"t11": 186.0, "t12": 148.0, "l1": 110.0, "l2": 72.0, "l3": 34.0, "l4": -4.0,
             "l5": -42.0}


@dataclass(frozen=True)
class Grid:
    x: np.ndarray  # column centres, mm
    z: np.ndarray  # row centres, mm (top first)

    @property
    def px(self) -> float:
        return float(self.x[1] - self.x[0])

    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        return np.meshgrid(self.x.astype(np.float32), self.z.astype(np.float32))


def field_grid(width: int, height: int) -> tuple[Grid, tuple[int, int]]:
    px = max(X_SPAN / width, Z_SPAN / height)
    nw, nh = min(width, round(X_SPAN / px)), min(height, round(Z_SPAN / px))
    x = (np.arange(nw) - (nw - 1) / 2) * px
    z = ((nh - 1) / 2 - np.arange(nh)) * px
    return Grid(x, z), ((height - nh) // 2, (width - nw) // 2)


def _mask(grid: Grid, draw) -> np.ndarray:
    """A mask drawn with PIL in mm: `draw(d, to_px)`, to_px mapping (x, z) -> pixel (c, r)."""
    px, x0, z0 = grid.px, grid.x[0], grid.z[0]
    img = Image.new("L", (len(grid.x), len(grid.z)), 0)

    def to_px(x: float, z: float) -> tuple[float, float]:
        return (x - x0) / px, (z0 - z) / px

    draw(ImageDraw.Draw(img), to_px)
    return np.asarray(img, bool)


def _poly(grid: Grid, pts) -> np.ndarray:
    return _mask(grid, lambda d, f: d.polygon([f(x, z) for x, z in pts], fill=1))


def _plate(mask: np.ndarray, px: float, thick: float, cortex: float, edge: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """(cortical, cancellous) chords of a bone plate `thick` mm deep with `cortex` faces,
    rounded over `edge` mm at its outline (tangent rays cross more cortex there)."""
    d = ndimage.distance_transform_edt(mask) * px
    total = thick * np.sqrt(np.clip(d / edge, 0, 1))
    canc = max(thick - 2 * cortex, 0.0) * np.sqrt(np.clip((d - cortex) / edge, 0, 1))
    return np.where(mask, total - canc, 0.0), np.where(mask, canc, 0.0)


def _ellipse(X, Z, cx, cz, ax, az) -> np.ndarray:
    return ((X - cx) / ax) ** 2 + ((Z - cz) / az) ** 2


def body(grid: Grid, size: float) -> dict[str, np.ndarray]:
    """Soft tissue, fat and lung path lengths (mm) through the trunk, and organ masks."""
    X, Z = grid.mesh()
    k = size
    a = (150 + 12 * np.clip((40 - Z) / 150, 0, 1)) * k  # half-width, wider at the pelvis
    b = 105.0 * k
    q = np.clip(1 - (X / a) ** 2, 0, None)
    chord = 2 * b * np.sqrt(q)
    t = 20.0 * k  # subcutaneous fat
    qi = np.clip(1 - (X / (a - t)) ** 2, 0, None)
    inner = 2 * (b - t) * np.sqrt(qi)
    fat = chord - inner
    # flank stripe: the properitoneal fat line seen edge-on just inside the muscles
    qs = np.clip(1 - (X / (a - t - 12 * k)) ** 2, 0, None)
    qs2 = np.clip(1 - (X / (a - t - 18 * k)) ** 2, 0, None)
    fat += 0.5 * (2 * (b - t - 12 * k) * np.sqrt(qs) - 2 * (b - t - 18 * k) * np.sqrt(qs2))
    # lung bases above the diaphragm (right dome higher), costophrenic recesses laterally
    dome = np.where(X < 0, 165.0, 152.0) * k + 25 * k * (1 - (X / (140 * k)) ** 2)
    lung = np.where((dome < Z) & (np.abs(X) > 25 * k) & (np.abs(X) < 145 * k),
                    np.clip((Z - dome) * 3.0, 0, 150 * k), 0.0)
    # kidneys in perirenal fat (the right lower), psoas with fat margins
    kid, kfat = np.zeros_like(X), np.zeros_like(X)
    masks = {}
    for side, cz in ((-1, 95.0), (1, 110.0)):
        e = _ellipse(X * np.cos(0.25) * 1 - side * 0, Z, side * 75 * k, cz * k, 28 * k, 55 * k)
        kid_c = 2 * 25 * k * np.sqrt(np.clip(1 - e, 0, None))
        ef = _ellipse(X, Z, side * 75 * k, cz * k, 40 * k, 67 * k)
        fat_c = 2 * 35 * k * np.sqrt(np.clip(1 - ef, 0, None)) - kid_c
        kid += kid_c
        kfat += np.clip(fat_c, 0, None) * 0.6
        masks["kidney_" + ("right" if side < 0 else "left")] = e < 1
    for side in (-1, 1):
        zz = np.clip((120 * k - Z) / (200 * k), 0, 1)
        edge = side * (28 * k + 45 * k * zz)
        band = (np.abs(X - edge) < 4 * k) & (115 * k > Z) & (-80 * k < Z)
        kfat += np.where(band, 14.0 * k, 0.0)
        masks["psoas_" + ("right" if side < 0 else "left")] = \
            (side * X > 18 * k) & (side * X < side * edge) & (115 * k > Z) & (-80 * k < Z)
    # liver: right upper quadrant under the dome, a fat line at its inferior edge
    liver_edge = 40 * k + 0.45 * (X + 150 * k)
    masks["liver"] = (np.where(X < 0, 165.0, 152.0) * k + 20 * k > Z) & (liver_edge < Z) & \
        (40 * k > X) & (np.abs(X) < a - t)
    kfat += np.where(np.abs(Z - liver_edge) < 3 * k, 10.0 * k, 0.0) * (20 * k > X) * \
        (np.abs(X) < a - t - 10)
    masks["spleen"] = _ellipse(X, Z, 110 * k, 125 * k, 32 * k, 45 * k) < 1
    masks["bladder"] = _ellipse(X, Z, 0, -165 * k, 45 * k, 30 * k) < 1
    masks["body"] = q > 0
    return {"chord": chord, "fat": fat + kfat, "lung": lung} | masks


def bones(grid: Grid, size: float) -> dict[str, np.ndarray]:
    """Cortical and cancellous chords of the lower ribs, lumbar spine, sacrum, pelvis and
    femoral heads, with a mask per labelled bone."""
    X, Z = grid.mesh()
    k = size
    px = grid.px
    cort = np.zeros_like(X)
    canc = np.zeros_like(X)
    masks: dict[str, np.ndarray] = {}
    for name, zc in VERTEBRAE.items():
        zc *= k
        w = (21 + 4 * (zc < 80 * k) + 2 * (zc < 0)) * k  # half-width grows down the spine
        q = (np.abs(X) / w) ** 4 + (np.abs(Z - zc) / (14 * k)) ** 4
        inside = q < 1
        depth = 34 * k * np.sqrt(np.clip(1 - (X / w) ** 2, 0, 1))
        inner_q = (np.abs(X) / (w - 2)) ** 4 + (np.abs(Z - zc) / (14 * k - 2)) ** 4
        c_in = np.where(inner_q < 1, depth - 3.0, 0.0)
        cort += np.where(inside, depth - np.clip(c_in, 0, None), 0.0)
        canc += np.clip(c_in, 0, None)
        m = inside.copy()
        for side in (-1, 1):  # pedicles: cortical rings seen end-on
            e = _ellipse(X, Z, side * (w - 7 * k), zc + 5 * k, 4.5 * k, 7 * k)
            ring = (e < 1) & (e > 0.45)
            cort += np.where(ring, 12.0, 0.0)
            tp_len = (30 if name == "l3" else 22 if name in ("l2", "l4") else 15) * k
            tp = (side * X > w) & (side * X < w + tp_len) & (np.abs(Z - zc - 3 * k) < 4 * k)
            if name in ("t11", "t12"):
                tp &= False
            cort += np.where(tp, 6.0, 0.0)
            canc += np.where(tp, 4.0, 0.0)
            m |= tp
        sp = _ellipse(X, Z, 0, zc - 4 * k, 4 * k, 10 * k) < 1
        cort += np.where(sp, 9.0, 0.0)
        masks[name] = m
    # ribs 10-12: arcs down and out from the spine
    for side in (-1, 1):
        for (z0, x1, z1) in ((186, 150, 115), (170, 128, 110), (148, 92, 112)):
            pts = [(side * 30 * k, z0 * k), (side * x1 * 0.6 * k, (z0 - 10) * k),
                   (side * x1 * k, z1 * k)]
            m = _mask(grid, lambda d, f, pts=pts: d.line([f(*p) for p in pts],
                                                         fill=1, width=max(1, int(11 * k / px))))
            c, n = _plate(m, px, 10 * k, 1.5, 3 * k)
            cort += c
            canc += n
            masks["ribs"] = masks.get("ribs", np.zeros_like(m)) | m
    # sacrum with its foramina; iliac wings; pubis, ischium; femoral heads
    sac = _poly(grid, [(-52 * k, -62 * k), (52 * k, -62 * k), (12 * k, -150 * k),
                       (-12 * k, -150 * k)])
    c, n = _plate(sac, px, 30 * k, 2.0, 4 * k)
    for zf, xf in ((-80, 26), (-100, 21), (-118, 16), (-134, 11)):
        for side in (-1, 1):
            hole = _ellipse(X, Z, side * xf * k, zf * k, 4.5 * k, 4.5 * k) < 1
            n = np.where(hole, n * 0.3, n)
    cort += c
    canc += n
    masks["sacrum"] = sac
    pelvis = np.zeros_like(sac)
    for side in (-1, 1):
        ilium = _poly(grid, [(side * 50 * k, -65 * k), (side * 75 * k, -8 * k),
                             (side * 115 * k, 2 * k), (side * 140 * k, -20 * k),
                             (side * 128 * k, -70 * k), (side * 100 * k, -130 * k),
                             (side * 72 * k, -135 * k), (side * 50 * k, -112 * k)])
        c, n = _plate(ilium, px, 12 * k, 2.0, 6 * k)
        cort += c
        canc += n
        ring = _ellipse(X, Z, side * 55 * k, -180 * k, 32 * k, 22 * k)
        pub = (ring < 1.55) & (ring > 1) & (-215 * k < Z)
        cort += np.where(pub, 9.0, 0.0)
        canc += np.where(pub, 8.0, 0.0)
        head = _ellipse(X, Z, side * 96 * k, -150 * k, 24 * k, 24 * k)
        hc = 2 * 24 * k * np.sqrt(np.clip(1 - head, 0, None))
        cort += np.where(head < 1, np.clip(hc - 2 * 21 * k * np.sqrt(np.clip(
            1 - head * (24 / 21) ** 2, 0, None)), 0, None), 0.0)
        canc += np.where(head < 1, 2 * 21 * k * np.sqrt(np.clip(1 - head * (24 / 21) ** 2,
                                                                  0, None)), 0.0)
        neck = _mask(grid, lambda d, f, s=side: d.line(
            [f(s * 100 * k, -158 * k), f(s * 140 * k, -200 * k)], fill=1,
            width=max(1, int(28 * k / px))))
        c, n = _plate(neck & (head > 1), px, 26 * k, 3.0, 6 * k)
        cort += c
        canc += n
        masks["femoral_head_" + ("right" if side < 0 else "left")] = head < 1
        pelvis |= ilium | pub
    masks["pelvis"] = pelvis
    return {"cortical": cort.astype(np.float32), "cancellous": canc.astype(np.float32)} | masks
