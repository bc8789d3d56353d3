"""How the phantom's left-lateral film reads: the thoracic spine gets more lucent from the
upper to the lower thorax (the "spine sign": more lung lies beside the lower vertebrae), the
retrosternal clear space above the heart is darker than the heart, and the body reaches well
behind the vertebral bodies (paraspinal muscles), as on a real lateral chest film."""

from __future__ import annotations

import numpy as np
import pytest

from imagine_med.engine.phantom.labels import ANATOMY
from imagine_med.engine.phantom.regions.chest.renderer import _seed_rng, build
from imagine_med.engine.phantom.xray import make_view, render_film
from imagine_med.prompt import parse

SEEDS = (7, 21, 42)


@pytest.fixture(scope="module")
def laterals():
    out = []
    for seed in SEEDS:
        spec = parse(f"lateral chest x-ray, normal, adult male --seed {seed}")[0]
        b = build(spec, seed, 0.0, None, "lateral")
        view = make_view(b.scene, "lateral", 384, 384)
        pix, lab, _ = render_film(b.scene, view, _seed_rng(seed, 1))
        out.append((b.scene, view, pix.astype(float), lab))
    return out


def _patch(pix: np.ndarray, view, p: np.ndarray, r: int = 4) -> float:
    u, v, _ = view.project(np.asarray(p, float)[None])
    x, y = round(float(u[0])), round(float(v[0]))
    return float(pix[y - r:y + r + 1, x - r:x + r + 1].mean())


def _spine_at(scene, k: float) -> np.ndarray:
    L = scene.landmarks
    return np.array([0.0, scene.params["spine_y"], L["t5"] - (k - 5) * L["hv"]])


def test_spine_sign(laterals):
    """The lower thoracic vertebrae (T10) are darker than the upper ones (T3)."""
    for scene, view, pix, _lab in laterals:
        upper = np.mean([_patch(pix, view, _spine_at(scene, k)) for k in (2.5, 3, 3.5)])
        lower = np.mean([_patch(pix, view, _spine_at(scene, k)) for k in (9.5, 10, 10.5)])
        # > 40 under the single-curve processing; the multi-frequency processing compresses
        # the coarse band (physics/dr.py BASE_GAIN), which is where the spine sign lives:
        # 27-35 grey levels measured, still plain to the eye (over 10% of the display)
        assert upper - lower > 20, f"T3 {upper:.0f} vs T10 {lower:.0f}"


def test_retrosternal_space_darker_than_heart(laterals):
    for scene, view, pix, lab in laterals:
        L = scene.landmarks
        z = L["t4"]
        front = L["y_cav"] + L["b_mid"] * np.sqrt(1 - ((z - L["t10"]) / 260.0) ** 2)
        retro = _patch(pix, view, [0.0, front - 25.0, z], 5)
        heart = pix[lab == ANATOMY["heart"]].mean()
        assert heart - retro > 30, f"retrosternal {retro:.0f} vs heart {heart:.0f}"


def test_body_behind_the_spine(laterals):
    """Soft tissue (not air) 35 mm behind the back of the mid-thoracic vertebral bodies: the
    spinal canal, laminae, spinous processes and paraspinal muscles lie there."""
    for scene, view, pix, _lab in laterals:
        p = _spine_at(scene, 7) - np.array([0.0, 15.0 + 35.0, 0.0])
        assert _patch(pix, view, p, 2) > 40
