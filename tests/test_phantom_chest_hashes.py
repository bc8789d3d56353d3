"""Byte-hash guard for the chest: a fixed set of chest cases (films in every view, CT in every
plane and at chest and upper-abdomen levels, findings and devices, two seeds, small size) and
the sha256 of what each writes (pixels, label map, CT raw HU, answer key). A refactor of the
chest must leave every hash unchanged; a commit that changes the image on purpose regenerates
them (`python tests/test_phantom_chest_hashes.py --update`) and says which cases changed and
why. Hashes are of float pipelines, so they pin this numpy build: regenerate them, do not loosen
them, after a numpy upgrade (the commit says so)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.phantom.regions.chest.renderer import ct_renderer, xray_renderer
from imagine_med.prompt.spec import CaseSpec, Finding

SIZE = 96
SEEDS = (3, 11)
HASHES = Path(__file__).parent / "data" / "chest_hashes.json"


def _f(name: str, side: str | None = None, **kw) -> Finding:
    return Finding(name=name, laterality=side, **kw)


CASES: dict[str, dict] = {
    "pa": {"modality": "xray", "view": "pa"},
    "ap_supine": {"modality": "xray", "view": "ap"},
    "lateral": {"modality": "xray", "view": "lateral"},
    "pa_female_elderly": {"modality": "xray", "view": "pa", "sex": "female",
                          "age_group": "elderly"},
    "pa_child": {"modality": "xray", "view": "pa", "age_group": "child"},
    "pa_effusion_left": {"modality": "xray", "view": "pa",
                         "findings": (_f("pleural_effusion", "left"),)},
    "pa_pneumothorax": {"modality": "xray", "view": "pa",
                        "findings": (_f("pneumothorax", "right"),)},
    "pa_consolidation": {"modality": "xray", "view": "pa",
                         "findings": (_f("consolidation", "right", location="rll"),)},
    "pa_cardiomegaly": {"modality": "xray", "view": "pa", "findings": (_f("cardiomegaly"),)},
    "pa_rib_fracture": {"modality": "xray", "view": "pa",
                        "findings": (_f("rib_fracture", "left"),)},
    "pa_pneumoperitoneum": {"modality": "xray", "view": "pa",
                            "findings": (_f("pneumoperitoneum"),)},
    "ap_devices": {"modality": "xray", "view": "ap",
                   "findings": (_f("et_tube"), _f("central_line"), _f("pacemaker"))},
    "lateral_effusion": {"modality": "xray", "view": "lateral",
                         "findings": (_f("pleural_effusion", "right"),)},
    "ct_carina": {"modality": "ct", "plane": "axial", "level": "carina"},
    "ct_arch": {"modality": "ct", "plane": "axial", "level": "aortic_arch"},
    "ct_heart": {"modality": "ct", "plane": "axial", "level": "heart"},
    "ct_bases": {"modality": "ct", "plane": "axial", "level": "lung_bases"},
    "ct_t11": {"modality": "ct", "plane": "axial", "level": "t11"},
    "ct_t12": {"modality": "ct", "plane": "axial", "level": "t12"},
    "ct_coronal": {"modality": "ct", "plane": "coronal"},
    "ct_sagittal": {"modality": "ct", "plane": "sagittal"},
    "ct_nodule": {"modality": "ct", "plane": "axial", "findings": (_f("nodule", "left"),)},
    "ct_effusion": {"modality": "ct", "plane": "axial", "findings": (_f("pleural_effusion",
                                                                        "right"),)},
    "ct_hiatus_hernia": {"modality": "ct", "plane": "axial",
                         "findings": (_f("hiatus_hernia"),)},
    "ct_pneumoperitoneum": {"modality": "ct", "plane": "axial", "level": "t12",
                            "findings": (_f("pneumoperitoneum"),)},
    "ct_rib_fracture": {"modality": "ct", "plane": "axial",
                        "findings": (_f("rib_fracture", "right"),)},
}


def case_hash(name: str, seed: int) -> str:
    """sha256 (first 16 hex) over one variant's pixels, label map, raw HU and answer key."""
    spec = CaseSpec(width=SIZE, height=SIZE, **CASES[name])
    renderer = xray_renderer() if spec.modality == "xray" else ct_renderer()
    r = renderer.render(RenderRequest(spec=spec, seed=seed, width=SIZE, height=SIZE))
    h = hashlib.sha256(r.pixels.tobytes() + r.label_map.tobytes())
    if r.raw is not None:
        h.update(r.raw.tobytes())
    h.update(json.dumps(r.answer_key, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _expected() -> dict[str, str]:
    return json.loads(HASHES.read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_chest_bytes_unchanged(name: str):
    expected = _expected()
    got = {f"{name}@{seed}": case_hash(name, seed) for seed in SEEDS}
    changed = {k: v for k, v in got.items() if expected.get(k) != v}
    was = {k: expected.get(k) for k in changed}
    assert not changed, f"chest output changed: {changed} (was {was})"


def test_every_case_has_a_hash():
    assert set(_expected()) == {f"{n}@{s}" for n in CASES for s in SEEDS}


if __name__ == "__main__" and "--update" in sys.argv:
    out = {f"{n}@{s}": case_hash(n, s) for n in sorted(CASES) for s in SEEDS}
    old = _expected() if HASHES.exists() else {}
    for k, v in out.items():
        if old.get(k) != v:
            print("changed:", k)
    HASHES.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
