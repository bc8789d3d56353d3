"""CT upper abdomen under the domes: the supine stomach's gas lies in front of a flat
air-fluid level, inside a wall; the hepatic veins and IVC show a little darker than liver."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.labels import ANATOMY
from imagine_med.engine.phantom.regions.chest.ct_slice import make_plane, render_slice
from imagine_med.engine.phantom.regions.chest.region import build
from imagine_med.prompt.spec import CaseSpec


def _axial(seed: int, z_of, size: int = 384):
    spec = CaseSpec(modality="ct", region="chest", width=size, height=size, plane="axial")
    b = build(spec, seed, 0.0, None, "ct")
    L = b.scene.landmarks
    p = make_plane(b.scene, "axial", z_of(L), size, size)
    hu, lab = render_slice(b.scene, p, np.random.default_rng(seed))
    return hu.astype(float), lab, p, L


def test_supine_stomach_gas_lies_in_front_of_a_flat_fluid_level():
    for seed in (1, 2, 3):
        hu, lab, p, _ = _axial(seed, lambda L: L["z_dome_left"] - 55 * L["size"])
        gas, fluid = lab == ANATOMY["gastric_bubble"], lab == ANATOMY["stomach"]
        assert gas.sum() * p.px ** 2 > 150 and fluid.sum() * p.px ** 2 > 1500
        rows_g, cols_g = np.nonzero(gas)
        rows_f = np.nonzero(fluid)[0]
        assert rows_g.mean() < rows_f.mean()  # rows run front to back: gas anterior
        assert np.median(hu[ndimage.binary_erosion(gas, iterations=2)]) < -900
        # the level: the gas's back edge is one straight row across the stomach
        back = [rows_g[cols_g == c].max() for c in np.unique(cols_g)[3:-3]]
        assert np.ptp(back) * p.px <= 2.5
        # fluid below it (water, not soft tissue), inside a muscular wall
        core = ndimage.binary_erosion(fluid, iterations=round(6 / p.px))
        assert abs(np.median(hu[core]) - 10) < 15


def test_hepatic_veins_are_darker_than_liver():
    for seed in (1, 4):
        hu, lab, p, _ = _axial(seed, lambda L: L["z_dome_right"] - 25 * L["size"])
        liver = lab == ANATOMY["liver"]
        smooth = ndimage.uniform_filter(hu, round(4 / p.px))
        inner = ndimage.binary_erosion(liver, iterations=round(5 / p.px))
        # ~15 HU darker (unenhanced blood): over 150 mm^2 of it, where noise alone leaves
        # a few tens
        veins = inner & (smooth < np.median(hu[inner]) - 14)
        assert veins.sum() * p.px ** 2 > 150
        assert (inner & (smooth < np.median(hu[inner]) - 30)).sum() == 0  # not fluid-dark
