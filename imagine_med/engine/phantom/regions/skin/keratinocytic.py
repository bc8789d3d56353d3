"""Keratinocyte lesions under the dermoscope: actinic keratosis and squamous cell carcinoma.

Both are non-pigmented: colour comes from blood (erythema, vessels, bleeding) and keratin
(scale, plugs, the keratin mass), white from scatter. Dermoscopic criteria: Zalaudek et al.,
"Dermoscopy of actinic keratosis / squamous cell carcinoma" (JAAD 2012; Br J Dermatol 2012):
AK the "strawberry pattern" (an erythematous pseudo-network round follicular openings plugged
with white-yellow keratin, surface scale); invasive SCC a central keratin mass, white circles
round follicles, glomerular/hairpin vessels at the periphery, ulceration and blood spots.
"""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.regions.skin.lesions import (
    Lesion,
    _blob,
    _discs,
    _outline,
    _points,
    _sharp_segments,
    _stamp,
)
from imagine_med.engine.phantom.regions.skin.skin import F32, Field, noise


def actinic_keratosis(rng, f: Field, lesion: Lesion) -> None:
    """Actinic keratosis: an ill-defined pink-red patch (4-8 mm), follicular openings
    plugged with keratin in white halos (the strawberry pattern), patchy surface scale."""
    o = _outline(rng, f, lesion, rng.uniform(2.2, 3.6), rng.uniform(1.1, 1.5),
                 [(3, 0.08), (5, 0.05)], _sharp_segments(rng, 0))
    lesion.paint(o.inside, blood=0.55, mel_junction=-0.2)
    pts = _points(rng, o, lesion, int(rng.integers(18, 30)), 0.0, 0.9, 0.45)
    _discs(f, lesion, pts, [rng.uniform(0.1, 0.15) for _ in pts], "follicular_openings",
           scatter=2.2, blood=-0.5)
    _discs(f, lesion, pts, [0.045] * len(pts), "follicular_openings", keratin=1.6)
    scale = np.clip(noise(rng, f.x.shape, int(f.width_mm / 1.2)) - 0.4, 0, 1) * o.inside
    lesion.paint(scale, scatter=1.8, keratin=0.6)
    lesion.label((scale > 0.45) & o.body, "scale")
    lesion.relief = (0.25 * scale).astype(F32)


def squamous_cell_carcinoma(rng, f: Field, lesion: Lesion) -> None:
    """Invasive squamous cell carcinoma: a raised nodule (5-9 mm) with a central
    white-yellow keratin mass, white circles round follicles, glomerular and hairpin vessels
    at its rim, and an ulcer with blood crust."""
    o = _outline(rng, f, lesion, rng.uniform(2.6, 4.2), rng.uniform(1.0, 1.3),
                 [(4, 0.04), (7, 0.02)], _sharp_segments(rng, int(rng.integers(2, 5))))
    lesion.paint(o.inside, blood=0.45, scatter=0.6, mel_junction=-0.3)
    mass = _blob(f, lesion, o, rng.uniform(-np.pi, np.pi), 0.15, o.radius_mm * 0.42, rng)
    lesion.paint(mass, keratin=2.2, scatter=2.8, blood=-0.35)
    lesion.label(mass > 0.5, "keratin_mass")
    lesion.surface = (0.6 * mass).astype(F32)  # the horn lies on top, whatever the skin tone
    circles = _points(rng, o, lesion, int(rng.integers(6, 12)), 0.45, 0.85, 0.55)
    for (x, y) in circles:  # a white ring round a follicle's pink centre
        got = _stamp(f, x, y, 0.14)
        if got is not None:
            sl, soft, hard = got
            inner = np.hypot(f.x[sl] - F32(x), f.y[sl] - F32(y)) < F32(0.08)
            lesion.paint(np.where(inner, F32(0), soft), sl, scatter=2.4)
            lesion.label(hard & ~inner, "follicular_openings", sl)
    vessels = _points(rng, o, lesion, int(rng.integers(25, 40)), 0.7, 1.0, 0.22)
    _discs(f, lesion, vessels, [rng.uniform(0.04, 0.06) for _ in vessels], "vessels",
           blood=3.0)
    ulcer_ang = rng.uniform(-np.pi, np.pi)
    ulcer = _blob(f, lesion, o, ulcer_ang, 0.5, o.radius_mm * 0.22, rng) * (mass < 0.3)
    lesion.paint(ulcer, blood=3.5, mel_dermal=0.6, keratin=0.4, scatter=-0.3)
    lesion.label(ulcer > 0.5, "ulceration")
    dome = np.clip(1 - (o.rho / np.maximum(o.r, 1e-3)) ** 2, 0, 1)
    lesion.relief = (0.6 * dome * o.inside + 0.3 * mass).astype(F32)
