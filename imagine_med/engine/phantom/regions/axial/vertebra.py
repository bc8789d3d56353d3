"""One vertebra as bones placed in the body frame: its body (one label per level), and its
posterior elements (pedicles, laminae, articular processes, the pars, transverse and spinous
processes) built in the vertebra's own frame (x left, y anterior, z caudal; origin the body's
centre) and carried by its placement (centre, tilt in the sagittal plane)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from imagine_med.engine.phantom.regions.axial.shapes import Capsule, VertebralBody
from imagine_med.engine.phantom.regions.limb.anatomy import Bone
from imagine_med.engine.phantom.regions.limb.shapes import Ovoid, rotation


@dataclass(frozen=True)
class Level:
    """A vertebra's size (mm, adult) and placement: body semi-axes (a across, b deep),
    height, the inner interpedicular distance, spinous and transverse process lengths."""

    name: str
    a: float
    b: float
    h: float
    ipd: float
    spinous: float
    transverse: float


@dataclass
class Vertebra:
    level: Level
    centre: np.ndarray  # body centre, body frame
    tilt_deg: float  # sagittal tilt: + the caudal axis leaning posteriorly
    bones: list[Bone]

    @property
    def rot(self) -> np.ndarray:
        return rotation(self.tilt_deg, 0.0, 0.0)

    def axis(self) -> np.ndarray:
        return self.rot @ np.array([0.0, 0.0, 1.0])


def place(bone: Bone, centre: np.ndarray, rot: np.ndarray) -> Bone:
    """A bone built in a vertebra's frame, moved into the body frame."""
    parts = [place(p, centre, rot) for p in bone.parts]
    return replace(bone, centre=rot @ bone.centre + centre, rot=rot @ bone.rot, parts=parts)


def moved(
    bone: Bone, shift: np.ndarray, R: np.ndarray | None = None, pivot: np.ndarray | None = None
) -> Bone:
    """A bone (with its parts) turned by R about `pivot` and shifted: a displaced piece."""
    R = np.eye(3) if R is None else R
    p = np.zeros(3) if pivot is None else pivot
    parts = [moved(q, shift, R, p) for q in bone.parts]
    return replace(bone, centre=R @ (bone.centre - p) + p + shift, rot=R @ bone.rot, parts=parts)


def solid(
    label: str, shape, centre=(0.0, 0.0, 0.0), rot=None, tex: int = 0, tissue: str | None = None
) -> Bone:
    return Bone(
        label,
        shape,
        np.array(centre, float),
        np.eye(3) if rot is None else rot,
        30,
        tex_offset=tex,
        tissue=tissue,
    )


def lumbar_posterior(
    lv: Level, s: float, tex: int, pars_gap_mm: float = 0.0
) -> tuple[list[Bone], list[Bone]]:
    """(pieces attached to the body: pedicles, superior articular and transverse processes;
    pieces behind the pars: laminae, inferior articular and spinous processes) of a lumbar
    vertebra. A pars defect (spondylolysis) of `pars_gap_mm` leaves a gap, labelled, in each
    pars; the second list is what stays behind when the body slips forward."""
    b, h = lv.b * s, lv.h * s
    px = (lv.ipd / 2 + 4.5) * s
    front: list[Bone] = []
    back: list[Bone] = []
    for sx in (-1.0, 1.0):
        front.append(
            solid(
                "pedicle",
                Ovoid(4.5 * s, 9.0 * s, 7.5 * s, 1.2),
                (sx * px, -b - 9.5 * s, -0.2 * h),  # behind the posterior wall
                tex=tex + 1,
            )
        )
        front.append(
            solid(
                "posterior_elements",
                Ovoid(5.0 * s, 6.0 * s, 8.0 * s, 1.0),
                (sx * (px + 1.5 * s), -b - 16 * s, -0.5 * h - 1.0 * s),
                tex=tex + 2,
            )
        )
        tp = Capsule(
            (sx * (px + 3 * s), -b - 10 * s, -0.15 * h),
            (sx * (px + lv.transverse * s), -b - 12 * s, -0.2 * h),
            5.0 * s,
            3.5 * s,
        )
        front.append(solid("transverse_process", tp, tex=tex + 3))
        p0 = np.array([sx * px, -b - 17 * s, -0.1 * h])
        p1 = np.array([sx * (px - 3.5 * s), -b - 22 * s, 0.45 * h])
        if pars_gap_mm > 0:
            mid = (p0 + p1) / 2
            u = (p1 - p0) / np.linalg.norm(p1 - p0)
            g = pars_gap_mm * s / 2
            front.append(
                solid(
                    "pars_interarticularis",
                    Capsule(tuple(p0), tuple(mid - g * u), 4.0 * s, 4.0 * s),
                    tex=tex + 4,
                )
            )
            back.append(
                solid(
                    "pars_interarticularis",
                    Capsule(tuple(mid + g * u), tuple(p1), 4.0 * s, 4.0 * s),
                    tex=tex + 4,
                )
            )
            front.append(
                solid(
                    "fracture_line",
                    Capsule(tuple(mid - g * u), tuple(mid + g * u), 3.6 * s, 3.6 * s),
                    tissue="fibrous",
                )
            )
        else:
            front.append(
                solid(
                    "pars_interarticularis",
                    Capsule(tuple(p0), tuple(p1), 4.0 * s, 4.0 * s),
                    tex=tex + 4,
                )
            )
        back.append(
            solid(
                "posterior_elements",
                Ovoid(8.0 * s, 4.0 * s, 11.0 * s, 1.2),
                (sx * 8.0 * s, -b - 25 * s, 0.05 * h),
                rotation(0, 0, sx * 25),
                tex=tex + 5,
            )
        )
        back.append(
            solid(
                "posterior_elements",
                Ovoid(4.5 * s, 5.5 * s, 7.5 * s, 1.0),
                (sx * (px - 5.0 * s), -b - 23 * s, 0.5 * h + 3.0 * s),
                tex=tex + 6,
            )
        )
    back.append(
        solid(
            "spinous_process",
            Ovoid(3.5 * s, lv.spinous * s / 2, 10.0 * s, 1.2),
            (0.0, -b - 27 * s - lv.spinous * s / 2, 0.12 * h),
            rotation(-8, 0, 0),
            tex=tex + 7,
        )
    )
    return front, back


def body_solid(
    lv: Level,
    s: float,
    tex: int,
    ant_loss: float = 0.0,
    post_loss: float = 0.0,
    widen: float = 1.0,
    cup: float = 0.0,
) -> Bone:
    """The vertebral body, labelled with its level; a compression shortens its anterior
    (wedge) or both walls (burst, which also widens it and cups its superior endplate)."""
    h = lv.h * s
    shape = VertebralBody(
        lv.a * s * widen,
        lv.b * s,
        h * (1 - post_loss),
        h * (1 - ant_loss),
        cortex_mm=1.0 * s,
        cup_mm=cup * s,
    )
    shift = np.array([0.0, 0.0, h * post_loss / 2])  # the inferior endplate stays put
    return Bone(lv.name, shape, shift, np.eye(3), 40, tex_offset=tex)
