"""Every phantom finding, generated alone, shows: its label is non-empty and the image differs
from the same-seed normal study inside that label. Plus the engine's refusals and options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagine_med.case import render_case, write_case
from imagine_med.engine.base import EngineError, RenderRequest
from imagine_med.engine.gallery import EXAMPLES
from imagine_med.engine.phantom.labels import ANATOMY, FINDINGS, SUPPORTED_FINDINGS
from imagine_med.engine.registry import get_renderer
from imagine_med.prompt.spec import CaseSpec

KEYWORD = {"cavity": "cavitating", "pulmonary_edema": "oedema", "collapse": "collapse",
           "miliary_nodules": "miliary", "pneumoperitoneum": "pneumoperitoneum",
           "rib_fracture": "fracture", "mediastinal_widening": "widened superior mediastinum",
           "et_tube": "endotracheal tube", "central_line": "central venous catheter",
           "fibrosis": "fibrosis", "hiatus_hernia": "hiatus hernia"}
SIZE = 224
SEED = 31


def _spec(modality: str, finding: str | None, **kw) -> CaseSpec:
    findings = () if finding is None else (EXAMPLES[finding],)
    extra = {"view": "pa"} if modality == "xray" else {"plane": "axial"}
    extra.update(kw)
    return CaseSpec(modality=modality, region="chest", findings=findings, seed=SEED,
                    width=SIZE, height=SIZE, sex="male", age=50, **extra)


def _written(spec: CaseSpec, out: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    write_case(render_case(spec), out)
    doc = json.loads((out / "case.json").read_text())
    pix = np.asarray(Image.open(out / "variant-1.png").convert("L"))[:SIZE].astype(float)
    lab = np.asarray(Image.open(out / "variant-1.labels.png"))[:SIZE]
    return pix, lab, doc


@pytest.fixture(scope="module")
def normals(tmp_path_factory) -> dict[str, np.ndarray]:
    return {"xray": _written(_spec("xray", None), tmp_path_factory.mktemp("normal"))[0]}


def _changed_inside(name: str, pix: np.ndarray, normal: np.ndarray, mask: np.ndarray) -> None:
    """The finding changes the image where its label is: clearly (in grey levels) and far more
    than the same-seed normal study differs elsewhere (global display shifts, far effects)."""
    diff = np.abs(pix - normal)
    inside = diff[mask].mean()
    outside = diff[~mask & (normal > 20)].mean()
    assert inside > 3.0, f"{name}: mean change inside label {inside:.2f}"
    assert inside > 1.3 * outside, f"{name}: inside {inside:.2f} vs outside {outside:.2f}"


# How plainly each finding shows on a 224 px film, in grey levels: the signed mean change
# inside its label (+ brighter, - darker), or for thin and granular findings ("p90") the 90th
# percentile of the absolute change. About 60% of what the engine gives now: a floor under
# "differs from normal" so a finding cannot fade back to something nobody would see.
FILM_CONSPICUITY: dict[str, tuple[str, float]] = {
    "consolidation": ("mean", 30), "pleural_effusion": ("mean", 24),
    "pneumothorax": ("mean", -13), "nodule": ("mean", 12), "mass": ("mean", 21),
    "cavity": ("mean", 14), "cardiomegaly": ("mean", 18), "pulmonary_edema": ("mean", 19),
    "collapse": ("mean", 16), "emphysema": ("mean", -9), "fibrosis": ("mean", 11),
    "miliary_nodules": ("p90", 5), "pneumoperitoneum": ("mean", -21),
    "rib_fracture": ("p90", 7), "hiatus_hernia": ("p90", 28),
    "mediastinal_widening": ("mean", 12), "et_tube": ("p90", 8), "central_line": ("p90", 8),
    "pacemaker": ("mean", 25),
}


def test_every_finding_has_a_conspicuity_floor():
    assert set(FILM_CONSPICUITY) == set(SUPPORTED_FINDINGS)


@pytest.mark.parametrize("name", SUPPORTED_FINDINGS)
def test_finding_visible_on_film(name, normals, tmp_path):
    pix, lab, doc = _written(_spec("xray", name), tmp_path)
    mask = lab == FINDINGS[name]
    assert mask.sum() >= 12, f"{name}: label nearly empty ({mask.sum()} px)"
    _changed_inside(name, pix, normals["xray"], mask)
    kind, floor = FILM_CONSPICUITY[name]
    change = (pix - normals["xray"])[mask]
    shown = change.mean() if kind == "mean" else np.percentile(np.abs(change), 90)
    assert shown * np.sign(floor) >= abs(floor), f"{name}: {kind} change {shown:.1f}, floor {floor}"
    assert doc["findings"][0]["name"] == name and doc["findings"][0]["bbox"] is not None
    assert KEYWORD.get(name, name.replace("_", " ")) in doc["answer_key"].lower()


CT_FINDINGS = ("consolidation", "pleural_effusion", "pneumothorax", "nodule", "cavity",
               "emphysema", "fibrosis", "hiatus_hernia", "pacemaker")


@pytest.mark.parametrize("name", CT_FINDINGS)
def test_finding_visible_on_ct(name, tmp_path):
    pix, lab, doc = _written(_spec("ct", name), tmp_path / "f")
    mask = lab == FINDINGS[name]
    assert mask.sum() >= 12, f"{name}: label nearly empty"
    # the same-seed normal study, sliced at exactly the same position
    tags = doc["variants"][0]["tags"]
    normal, _lab, _ = _written(_spec("ct", None, level="mm:" + tags["level_mm"],
                                     window=tags["window"]), tmp_path / "n")
    _changed_inside(name, pix, normal, mask)


def test_non_chest_region_is_refused():
    spec = CaseSpec(modality="xray", region="breast", seed=1)
    with pytest.raises(EngineError, match="chest"):
        render_case(spec)


def test_unsupported_finding_is_refused():
    from imagine_med.prompt.spec import Finding

    spec = CaseSpec(modality="xray", region="chest", seed=1,
                    findings=(Finding(name="infarct"),))
    with pytest.raises(EngineError, match="consolidation"):
        render_case(spec)
    spec = CaseSpec(modality="xray", region="chest", seed=1, view="oblique")
    with pytest.raises(EngineError, match="lateral"):
        render_case(spec)


def test_variation_stays_near_the_base_seed():
    r = get_renderer("phantom", "xray")
    base = _spec("xray", None)
    ref = r.render(RenderRequest(spec=base, seed=100, width=SIZE, height=SIZE)).label_map
    other = r.render(RenderRequest(spec=base, seed=200, width=SIZE, height=SIZE)).label_map
    subtle = r.render(RenderRequest(spec=base, seed=200, width=SIZE, height=SIZE,
                                    variation=0.15, base_seed=100)).label_map
    strong = r.render(RenderRequest(spec=base, seed=200, width=SIZE, height=SIZE,
                                    variation=0.5, base_seed=100)).label_map
    d_subtle, d_strong, d_other = ((ref != m).mean() for m in (subtle, strong, other))
    assert 0 < d_subtle < d_strong < d_other


def test_views_aspect_and_marker():
    r = get_renderer("phantom", "xray")
    for view in ("ap", "lateral"):
        spec = _spec("xray", None, view=view)
        res = r.render(RenderRequest(spec=spec, seed=3, width=320, height=400))
        assert res.pixels.shape == (400, 320)
        assert ANATOMY["side_marker"] in res.labels
        assert res.tags["view"] in ("AP", "LATERAL")
    ct = get_renderer("phantom", "ct")
    for plane in ("coronal", "sagittal"):
        res = ct.render(RenderRequest(spec=_spec("ct", None, plane=plane), seed=3, width=256,
                                      height=192))
        assert res.raw is not None and res.raw.shape == (192, 256)
        assert res.tags["plane"] == plane
