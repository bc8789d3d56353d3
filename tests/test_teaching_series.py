"""The same patient in another study and later: the CT after a film shows the film's findings
on the same side and in the same lobe (measured on both label maps), and a follow-up shows
them evolved (measured), all under one series id."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagine_med.engine.phantom.labels import ANATOMY, LUNG_LABELS, finding_ids
from imagine_med.teaching.series import (
    SeriesError,
    Timepoint,
    evolve,
    next_step,
    parse_timepoint,
    render_series,
    render_step,
)

SIZE = 192
LOBE_OF = {ANATOMY[name]: name.removeprefix("lung_") for name in LUNG_LABELS}


def _film(prompt: str, seed: int):
    from imagine_med.prompt import parse_one

    spec = parse_one(f"{prompt} --size {SIZE}").model_copy(update={"seed": seed})
    return spec, render_step(spec, seed)


def _shown(result) -> list[dict]:
    from imagine_med.case import case_document

    return case_document(result)["variants"][0]["findings"]


def _side(mask: np.ndarray) -> str:
    """Patient side from the pixels: on a PA film and an axial CT the patient's right is on
    the viewer's left."""
    return "right" if np.nonzero(mask)[1].mean() < mask.shape[1] / 2 else "left"


def _lobe(labels: np.ndarray, mask: np.ndarray) -> str:
    """The lobe a lesion lies in, from the label map: the lung lobe most of its rim touches
    (the lesion's own pixels carry its label, not the lobe's)."""
    ring = ndimage.binary_dilation(mask, iterations=3) & ~mask
    lobes = [LOBE_OF[v] for v in labels[ring] if v in LOBE_OF]
    assert lobes, "the lesion touches no lung"
    values, counts = np.unique(lobes, return_counts=True)
    return str(values[np.argmax(counts)])


@pytest.mark.parametrize("prompt, seed", [
    ("PA chest x-ray with consolidation", 3),  # the lobe is the film seed's draw
    ("PA chest x-ray with consolidation", 8),
    ("PA chest x-ray with RLL consolidation", 4),
    ("PA chest x-ray with mass", 21),
])
def test_ct_of_this_patient_has_the_films_findings_on_the_same_side_and_lobe(prompt, seed):
    spec, film = _film(prompt, seed)
    fv = film.variants[0]
    step = next_step(spec, seed, _shown(film), fv.tags, "CT of this patient")
    ct = render_step(step.spec, step.seed).variants[0]
    assert ct.tags["modality"] == "CT" and (ct.tags["sex"], ct.tags["age"]) == (
        fv.tags["sex"], fv.tags["age"])
    for f in fv.findings:
        film_mask = np.isin(fv.label_map, finding_ids(f.name))
        ct_mask = np.isin(ct.label_map, finding_ids(f.name))
        assert film_mask.any() and ct_mask.any(), f.name
        assert _side(film_mask) == _side(ct_mask) == f.laterality
        (ct_f,) = [g for g in ct.findings if g.name == f.name]
        assert (ct_f.laterality, ct_f.location) == (f.laterality, f.location)
        assert _lobe(ct.label_map, ct_mask) == f.location  # measured on the CT's labels


def test_follow_up_consolidation_resolves_and_treated_mass_shrinks(tmp_path):
    blocks = render_series(f"PA chest x-ray with RUL consolidation and LLL mass --size {SIZE}",
                           ["follow-up at 6 weeks", "after treatment"], tmp_path, seed=9)
    assert len({b["series_id"] for b in blocks}) == 1 and [b["step"] for b in blocks] == [1, 2, 3]
    docs = [json.loads((tmp_path / f"step-{k}" / "case.json").read_text()) for k in (1, 2, 3)]
    assert all(d["series"]["series_id"] == blocks[0]["series_id"] for d in docs)
    labels = [np.asarray(Image.open(tmp_path / f"step-{k}" / "variant-1.labels.png"))
              for k in (1, 2, 3)]
    cons = [int(np.isin(m, finding_ids("consolidation")).sum()) for m in labels]
    assert cons[0] > 0 and 0 < cons[1] < 0.6 * cons[0] and cons[2] == 0  # resolving, resolved
    diam = [next(f["measurements"]["diameter_mm"] for f in d["findings"] if f["name"] == "mass")
            for d in docs]
    assert diam[1] >= diam[0] * 0.95  # untreated for 6 weeks: not smaller
    assert 0.45 < diam[2] / diam[1] < 0.75  # after treatment: a partial response (RECIST)
    ages = {d["variants"][0]["tags"]["age"] for d in docs}
    assert len(ages) == 1  # the same patient


def test_timepoints_and_evolution_rules():
    assert parse_timepoint("follow-up at 6 weeks") == Timepoint(6.0, False, "6 weeks")
    assert parse_timepoint("repeat in 10 days after antibiotics").treated
    assert parse_timepoint("after treatment").weeks == 12.0
    assert parse_timepoint("CT of this patient") is None
    with pytest.raises(SeriesError):
        parse_timepoint("follow-up")
    from imagine_med.prompt.spec import Finding

    ptx = Finding(name="pneumothorax", laterality="left", severity="moderate")
    g, _ = evolve(ptx, Timepoint(2, False, "2 weeks"))
    assert g is not None and g.severity == "mild"
    assert evolve(ptx, Timepoint(4, False, "4 weeks"))[0] is None
    card = Finding(name="cardiomegaly")
    assert evolve(card, Timepoint(6, True, "x"))[0] == card


def test_bad_series_requests_are_refused():
    from imagine_med.prompt import parse_one

    spec = parse_one("PA chest x-ray with nodule")
    for text, words in [("CT with mass of this patient", "Only the study"),
                        ("make it blue", "CT of this patient")]:
        with pytest.raises(SeriesError) as err:
            next_step(spec, 1, [], {}, text)
        assert words in err.value.message
