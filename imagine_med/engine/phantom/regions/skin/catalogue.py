"""Every skin lesion the phantom draws, and the one way to build one from its seed."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.regions.skin import keratinocytic, lesions, rashes
from imagine_med.engine.phantom.regions.skin.lesions import Lesion, _new
from imagine_med.engine.phantom.regions.skin.skin import Field

BUILDERS = {
    "naevus": lesions.naevus, "dysplastic_naevus": lesions.dysplastic_naevus,
    "melanoma": lesions.melanoma, "seborrhoeic_keratosis": lesions.seborrhoeic_keratosis,
    "basal_cell_carcinoma": lesions.basal_cell_carcinoma,
    "dermatofibroma": lesions.dermatofibroma, "haemangioma": lesions.haemangioma,
    "blue_naevus": lesions.blue_naevus, "spitz_naevus": lesions.spitz_naevus,
    "congenital_naevus": lesions.congenital_naevus,
    "melanoma_in_situ": lesions.melanoma_in_situ,
    "actinic_keratosis": keratinocytic.actinic_keratosis,
    "squamous_cell_carcinoma": keratinocytic.squamous_cell_carcinoma,
    **rashes.BUILDERS,
}
# the order seeds each lesion's stream: new lesions go at the end (earlier ones keep bytes)
LESIONS = tuple(BUILDERS)
DERMOSCOPIC = tuple(n for n in LESIONS if n not in rashes.RASHES)


def build_lesion(name: str, seed: int, f: Field) -> Lesion:
    """The named lesion from its own seeded stream (independent of skin type and site)."""
    rng = np.random.default_rng([seed, 18, LESIONS.index(name)])
    c = (rng.uniform(-0.4, 0.4), rng.uniform(-0.4, 0.4))
    lesion = _new(name, f, c)
    BUILDERS[name](rng, f, lesion)
    return lesion
