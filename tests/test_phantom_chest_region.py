"""The chest behind the regions' common interface (regions/base.py): a generic modality
(physics/ct.hu_image) renders the chest region's sample, and the placed findings come back in
the common form."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.labels import ANATOMY
from imagine_med.engine.phantom.physics.ct import hu_image
from imagine_med.engine.phantom.regions.base import Grid
from imagine_med.engine.phantom.regions.chest.region import ChestRegion
from imagine_med.prompt.spec import CaseSpec, Finding


def _axial(body, level: str) -> tuple[np.ndarray, np.ndarray]:
    z, _ = body.level_mm("axial", level)
    # radiological orientation: patient's right (x < 0) on image left
    x, y = np.meshgrid(np.linspace(-200, 200, 100), np.linspace(150, -150, 75))
    s = body.sample(Grid(x, y, np.full_like(x, z), 4.0, "axial", z))
    return s.label_map(), hu_image(s)


def test_generic_ct_physics_renders_the_chest_region():
    body = ChestRegion().build(CaseSpec(modality="ct"), 5)
    labels, hu = _axial(body, "carina")
    rul, lul = labels == ANATOMY["lung_rul"], labels == ANATOMY["lung_lul"]
    assert rul.sum() > 100 and lul.sum() > 100
    assert np.median(hu[rul | lul]) < -700
    cols = np.nonzero(rul)[1].mean(), np.nonzero(lul)[1].mean()
    assert cols[0] < 50 < cols[1]  # right lung on image left
    assert np.median(hu[labels == ANATOMY["spine"]]) > 200
    assert np.median(hu[labels == ANATOMY["muscle"]]) > 0


def test_placed_findings_in_the_common_form():
    spec = CaseSpec(modality="xray", view="pa",
                    findings=(Finding(name="nodule", laterality="left"),))
    body = ChestRegion().build(spec, 9)
    (f,) = body.findings
    assert f.name == "nodule" and f.side == "left"
    assert f.center[0] > 0  # x toward the patient's left
