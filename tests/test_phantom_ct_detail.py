"""CT slice detail of the phantom: lung vessels from the 3D tree, the layered wall on coronal
slices, the spinal canal on axial slices."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.labels import ANATOMY, LUNG_LABELS
from imagine_med.engine.phantom.regions.chest.ct_slice import make_plane, render_slice
from imagine_med.engine.phantom.regions.chest.region import build
from imagine_med.engine.phantom.regions.chest.renderer import slice_level
from imagine_med.prompt.spec import CaseSpec

LUNG_IDS = [ANATOMY[n] for n in LUNG_LABELS]
MEDIASTINUM = ("heart", "aorta", "pulmonary_artery", "svc", "esophagus", "trachea")


def _slice(plane: str, level: str | None, seed: int, size: int = 384):
    spec = CaseSpec(modality="ct", region="chest", width=size, height=size, plane=plane,
                    level=level)
    b = build(spec, seed, 0.0, None, "ct")
    z, _ = slice_level(spec, b, plane)
    p = make_plane(b.scene, plane, z, size, size)
    hu, lab = render_slice(b.scene, p, np.random.default_rng(seed))
    return hu.astype(float), lab, p


def test_lung_vessels_are_many_and_thin_out_away_from_the_hilum():
    for seed in (2, 5):
        for level in ("carina", "heart"):
            hu, lab, p = _slice("axial", level, seed)
            lung = np.isin(lab, [*LUNG_IDS, ANATOMY["pulmonary_vessels"]])
            vessel = lung & (hu > -300)  # vessels, not the fissures' grey line
            _blobs, n = ndimage.label(vessel)
            assert n >= 50  # a slice cuts many vessels, not a handful of dashes
            med = np.isin(lab, [ANATOMY[k] for k in MEDIASTINUM])
            d_med = ndimage.distance_transform_edt(~med) * p.px

            def fraction(m, vessel=vessel, lung=lung):
                return (vessel & m).sum() / max(1, (lung & m).sum())

            # large vessels by the hilum, small ones (a smaller share of the lung) further out
            assert fraction(d_med < 35) > 1.3 * fraction(d_med >= 50)


def test_coronal_wall_is_skin_fat_then_muscle():
    _hu, lab, _p = _slice("coronal", None, 3)
    row = lab[lab.shape[0] // 2]
    body = np.flatnonzero(row)
    for seq in (row[body[0]:], row[: body[-1] + 1][::-1]):  # from each side, inward
        first_lung = np.flatnonzero(np.isin(seq, LUNG_IDS))[0]
        wall = seq[:first_lung]
        fat = np.flatnonzero(wall == ANATOMY["subcutaneous_fat"])
        muscle = np.flatnonzero(wall == ANATOMY["muscle"])
        assert len(fat) and len(muscle)
        assert fat.min() < muscle.min()  # fat outside, muscle inside


def test_axial_vertebra_has_a_spinal_canal_ringed_by_bone():
    hu, lab, p = _slice("axial", "carina", 4)
    spine = lab == ANATOMY["spine"]
    col = round(float(np.nonzero(spine)[1].mean()))
    line = hu[:, col]
    rows = np.flatnonzero(spine[:, col])
    # going back from the vertebral body: bone, then soft tissue (the canal), then bone
    body_back = rows[np.flatnonzero(np.diff(rows) > 1)[0]] if np.any(np.diff(rows) > 1) else None
    assert body_back is not None
    gap = np.flatnonzero(~spine[body_back + 1:, col])
    canal = np.split(gap, np.flatnonzero(np.diff(gap) > 1) + 1)[0]
    assert len(canal) * p.px >= 8  # a canal about 15 mm deep
    inner = line[body_back + 1 + canal[1:-1]]  # (its edge pixels share the bone's blur)
    assert np.all(np.abs(inner - 20) < 120)  # soft tissue, not fat or air
    assert spine[body_back + 1 + canal[-1] + 1, col]  # closed behind by the lamina
