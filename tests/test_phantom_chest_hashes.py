"""Byte-hash guard for the chest: a fixed set of chest cases (films in every view, CT in every
plane and at chest and upper-abdomen levels, findings and devices, two seeds, small size) and
the sha256 of what each writes (pixels, label map, CT raw HU, answer key). A refactor of the
chest must leave every hash unchanged; a commit that changes the image on purpose regenerates
them (`python tests/test_phantom_chest_hashes.py --update`) and says which cases changed and
why.

Hashes are of float pipelines, so they pin a platform: OpenBLAS picks its kernels by CPU (the CT
cases' 3 x 3 products round differently under its SkylakeX and Haswell kernels), numpy its SIMD
loops, and macOS has other libraries again. The fixture records the platform that made it; on
any other the same cases are compared by a fingerprint within tolerances a real change exceeds
(block means of the pixels and HU, label areas, the key's words and numbers)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.phantom.regions.chest.renderer import ct_renderer, xray_renderer
from imagine_med.prompt.spec import CaseSpec, Finding

SIZE = 96
SEEDS = (3, 11)
HASHES = Path(__file__).parent / "data" / "chest_hashes.json"
FINGERPRINTS = Path(__file__).parent / "data" / "chest_fingerprints.json"
BLOCK = 16  # px: a 96 px image is 6 x 6 block means
PIXEL_TOL = 0.5  # grey levels of a block mean: a few pixels rounding the other way move it < 0.1
HU_TOL = 1.0  # HU of a block mean
AREA_TOL = 0.01  # of a label's area, and at least 2 px
NUMBER_TOL = 0.02  # of a number in the key, and at least 0.11 (one rounding step of 0.1)


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


def _render(name: str, seed: int):
    spec = CaseSpec(width=SIZE, height=SIZE, **CASES[name])
    renderer = xray_renderer() if spec.modality == "xray" else ct_renderer()
    return renderer.render(RenderRequest(spec=spec, seed=seed, width=SIZE, height=SIZE))


def case_hash(r) -> str:
    """sha256 (first 16 hex) over one variant's pixels, label map, raw HU and answer key."""
    h = hashlib.sha256(r.pixels.tobytes() + r.label_map.tobytes())
    if r.raw is not None:
        h.update(r.raw.tobytes())
    h.update(_key_text(r).encode())
    return h.hexdigest()[:16]


def _key_text(r) -> str:
    return json.dumps(r.answer_key, sort_keys=True, default=str)


def _blocks(a: np.ndarray) -> list[float]:
    a = np.asarray(a, np.float64)
    if a.ndim == 3:
        a = a.mean(axis=2)
    h, w = (a.shape[0] // BLOCK) * BLOCK, (a.shape[1] // BLOCK) * BLOCK
    means = a[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean(axis=(1, 3))
    return [round(float(v), 3) for v in means.ravel()]


NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def fingerprint(r) -> dict:
    """What a platform's rounding cannot move but any real change of the image does."""
    labels, counts = np.unique(r.label_map, return_counts=True)
    key = _key_text(r)
    return {"pixels": _blocks(r.pixels),
            "hu": _blocks(r.raw) if r.raw is not None else [],
            "areas": {str(int(k)): int(c) for k, c in zip(labels, counts, strict=True)},
            "words": NUMBER.sub("#", key),
            "numbers": [float(x) for x in NUMBER.findall(key)]}


def platform_tag() -> str:
    """The machine, CPU and libraries whose float rounding the hashes pin."""
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = names[0] if names else cpu
    blas = os.environ.get("OPENBLAS_CORETYPE")  # a kernel chosen by hand, not by the CPU
    return f"{platform.system()} {platform.machine()} | {cpu} | numpy {np.__version__} | " \
           f"scipy {scipy.__version__}" + (f" | OpenBLAS {blas}" if blas else "")


def _close_fingerprints(got: dict, want: dict) -> list[str]:
    """The ways `got` differs from `want` beyond a platform's rounding (empty: the same image)."""
    bad = []
    for part, tol in (("pixels", PIXEL_TOL), ("hu", HU_TOL)):
        a, b = np.asarray(got[part]), np.asarray(want[part])
        if a.shape != b.shape or (a.size and np.abs(a - b).max() > tol):
            bad.append(part)
    if set(got["areas"]) != set(want["areas"]) or any(
            abs(got["areas"][k] - v) > max(2, AREA_TOL * v) for k, v in want["areas"].items()):
        bad.append("areas")
    if got["words"] != want["words"] or len(got["numbers"]) != len(want["numbers"]) or any(
            abs(a - b) > max(0.11, NUMBER_TOL * abs(b))
            for a, b in zip(got["numbers"], want["numbers"], strict=True)):
        bad.append("key")
    return bad


def _expected() -> dict[str, str]:
    return json.loads(HASHES.read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_chest_bytes_unchanged(name: str):
    """Exact bytes on the platform that made the fixture; a fingerprint on any other."""
    expected = _expected()
    renders = {f"{name}@{seed}": _render(name, seed) for seed in SEEDS}
    if expected["platform"] == platform_tag():
        got = {k: case_hash(r) for k, r in renders.items()}
        changed = {k: v for k, v in got.items() if expected["hashes"].get(k) != v}
        was = {k: expected["hashes"].get(k) for k in changed}
        assert not changed, f"chest output changed: {changed} (was {was})"
    else:
        prints = json.loads(FINGERPRINTS.read_text())
        changed = {k: _close_fingerprints(fingerprint(r), prints[k]) for k, r in renders.items()}
        changed = {k: v for k, v in changed.items() if v}
        assert not changed, f"chest output changed beyond rounding: {changed}"


def test_every_case_has_a_hash_and_a_fingerprint():
    names = {f"{n}@{s}" for n in CASES for s in SEEDS}
    assert set(_expected()["hashes"]) == names
    assert set(json.loads(FINGERPRINTS.read_text())) == names


def test_fingerprint_tells_a_real_change_from_rounding():
    """The tolerances pass a few pixels rounded the other way and fail a changed image."""
    r = _render("pa", SEEDS[0])
    want = fingerprint(r)
    rounded = r.pixels.copy()
    rounded.flat[::97] ^= 1  # ~1% of pixels one grey level off, as another CPU's rounding
    r.pixels = rounded
    assert _close_fingerprints(fingerprint(r), want) == []
    r.pixels = np.clip(rounded.astype(np.int16) + 2, 0, 255).astype(np.uint8)  # a real change
    assert _close_fingerprints(fingerprint(r), want) == ["pixels"]


if __name__ == "__main__" and "--update" in sys.argv:
    renders = {f"{n}@{s}": _render(n, s) for n in sorted(CASES) for s in SEEDS}
    out = {k: case_hash(r) for k, r in renders.items()}
    old = _expected()["hashes"] if HASHES.exists() else {}
    for k, v in out.items():
        if old.get(k) != v:
            print("changed:", k)
    HASHES.write_text(json.dumps({"platform": platform_tag(), "hashes": out}, indent=1,
                                 sort_keys=True) + "\n")
    FINGERPRINTS.write_text(json.dumps({k: fingerprint(r) for k, r in renders.items()},
                                       sort_keys=True) + "\n")
