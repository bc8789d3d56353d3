"""CT bones of the midline: a bony ring round the spinal canal, cancellous bone inside a
cortex, spinous processes sloping down and a three-part sternum on a sagittal slice."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.labels import ANATOMY
from imagine_med.engine.phantom.regions.chest.ct_slice import make_plane, render_slice
from imagine_med.engine.phantom.regions.chest.region import build
from imagine_med.prompt.spec import CaseSpec

SPINE = ANATOMY["spine"]


def _slice(plane: str, level: float | None, seed: int, size: int = 384):
    spec = CaseSpec(modality="ct", region="chest", width=size, height=size, plane=plane)
    b = build(spec, seed, 0.0, None, "ct")
    L = b.scene.landmarks
    p = make_plane(b.scene, plane, L["t6"] if level is None else level, size, size)
    hu, lab = render_slice(b.scene, p, np.random.default_rng(seed))
    return hu.astype(float), lab, p, L



def test_axial_vertebra_rings_its_canal_with_bone_and_has_a_cortex():
    for seed in (1, 4):
        hu, lab, p, L = _slice("axial", None, seed)
        s = L["size"]
        y_c = L["y_spine"] - 21.5 * s  # the canal's centre, behind the body
        r0 = round((p.cv - y_c) / p.px + (p.height - 1) / 2)
        c0 = round((0.0 - p.cu) / p.px + (p.width - 1) / 2)
        assert abs(hu[r0, c0] - 20) < 60  # the canal: cord and CSF, soft tissue
        # every ray from the canal's centre, forward, sideways and back, meets bone
        # (body, pedicles, laminae) within 15 mm, before any fat or lung
        for ang in np.radians(np.arange(0, 360, 15)):
            hit = False
            for d_mm in np.arange(0, 15, p.px / 2):
                r = round(r0 - np.sin(ang) * d_mm / p.px)
                c = round(c0 + np.cos(ang) * d_mm / p.px)
                if lab[r, c] == SPINE:
                    hit = True
                    break
                assert hu[r, c] > -50, (seed, np.degrees(ang), d_mm)
            assert hit, (seed, np.degrees(ang))
        # the vertebral body: cancellous bone (grey in a bone window) inside a white cortex
        body = ndimage.label(lab == SPINE)[0]
        rb = round((p.cv - L["y_spine"]) / p.px + (p.height - 1) / 2)
        core = (body == body[rb, c0]) & (ndimage.distance_transform_edt(lab == SPINE)
                                         * p.px > 4)
        assert 150 < np.median(hu[core]) < 450
        rim = (body == body[rb, c0]) & (ndimage.distance_transform_edt(lab == SPINE)
                                        * p.px < 1.2)
        assert np.median(hu[rim]) > 600


def test_sagittal_spinous_processes_slope_down():
    _hu, lab, p, L = _slice("sagittal", 0.0, 2)
    s = L["size"]
    y_back = L["y_spine"] - 15 * s
    _x, y, z = p.grid(0, p.height, 0, p.width)
    behind = (lab == SPINE) & (np.broadcast_to(y, lab.shape) < y_back - 25 * s) & (
        np.abs(np.broadcast_to(z, lab.shape) - L["t7"]) < 3 * L["hv"])
    blobs, n = ndimage.label(behind)
    assert n >= 4  # separate processes, mid-thoracic
    slopes, heights = [], []
    for k in range(1, n + 1):
        rr, cc = np.nonzero(blobs == k)
        if len(rr) < 20:
            continue
        # columns run anterior -> posterior, rows superior -> inferior: going back, a
        # process goes down
        slopes.append(np.polyfit(cc, rr, 1)[0])
        heights.append((rr.max() - rr.min() + 1) * p.px)
    assert len(slopes) >= 3 and np.median(slopes) > 1.3  # steeper than 50 degrees
    # each spans more than a level's height: they overlap like roof tiles
    assert np.median(heights) > L["hv"]


def test_sagittal_sternum_is_manubrium_body_and_xiphoid_leaning_forward_below():
    for seed in (2, 5):
        _hu, lab, p, _L = _slice("sagittal", 0.0, seed)
        st = lab == ANATOMY["sternum"]
        blobs, n = ndimage.label(st)
        sizes = ndimage.sum(st, blobs, range(1, n + 1)) * p.px ** 2
        assert (sizes > 40).sum() == 3  # three bones, parted by thin joints
        rows, cols = np.nonzero(st)
        top, bottom = cols[rows <= np.percentile(rows, 10)], cols[rows >= np.percentile(rows, 90)]
        # columns run anterior -> posterior: the lower end sits further forward
        assert (top.mean() - bottom.mean()) * p.px > 8
