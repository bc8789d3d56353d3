"""The prompt language: typical prompts, abbreviations, conflicts, typos, limits."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from imagine_med.prompt import CaseSpec, PromptError, parse, parse_one
from imagine_med.prompt.lexer import phrase_index

ISSUE_PROMPTS = {
    "cxr": "Generate a PA chest X-ray showing right upper lobe consolidation suggestive of "
           "lobar pneumonia in an adult male.",
    "mri": "Create a T2-weighted axial brain MRI slice at the level of the basal ganglia "
           "demonstrating an acute left MCA territory infarct.",
    "histo": "Produce an H&E-stained liver biopsy image showing macrovesicular steatosis "
             "involving approximately 60% of hepatocytes.",
}


def test_issue_prompt_chest_radiograph() -> None:
    s = parse_one(ISSUE_PROMPTS["cxr"])
    assert (s.modality, s.view, s.region, s.age_group, s.sex) == ("xray", "pa", "chest",
                                                                   "adult", "male")
    assert len(s.findings) == 1, "'lobar pneumonia' restates the consolidation"
    f = s.findings[0]
    assert (f.name, f.laterality, f.location) == ("consolidation", "right", "rul")


def test_issue_prompt_brain_mri() -> None:
    s = parse_one(ISSUE_PROMPTS["mri"])
    assert (s.modality, s.sequence, s.plane, s.region, s.level) == ("mri", "t2", "axial",
                                                                     "brain", "basal_ganglia")
    f = s.findings[0]
    assert (f.name, f.laterality, f.location) == ("infarct", "left", "mca")
    assert "acute" in f.modifiers


def test_issue_prompt_histology() -> None:
    s = parse_one(ISSUE_PROMPTS["histo"])
    assert (s.modality, s.stain, s.region) == ("histo", "he", "liver")
    f = s.findings[0]
    assert f.name == "steatosis" and "macrovesicular" in f.modifiers
    assert f.extent == pytest.approx(0.60)


@pytest.mark.parametrize("prompt", list(ISSUE_PROMPTS.values()))
def test_issue_prompts_leave_nothing_unexplained(prompt: str) -> None:
    assert parse_one(prompt).unparsed == ()


# (prompt, expected subset of the spec's fields, expected (name, laterality, location) findings)
TYPICAL = [
    ("CXR RUL consolidation", {"modality": "xray", "region": "chest", "view": "pa"},
     [("consolidation", "right", "rul")]),
    ("cxr, left pleural effusion, elderly woman", {"age_group": "elderly", "sex": "female"},
     [("pleural_effusion", "left", None)]),
    ("45 year old man, CXR, tension pneumothorax right", {"age": 45, "sex": "male"},
     [("pneumothorax", "right", None)]),
    ("45M CXR left lower lobe collapse", {"age": 45, "sex": "male", "age_group": "adult"},
     [("collapse", "left", "lll")]),
    ("AP supine chest radiograph, bilateral effusions", {"view": "ap"},
     [("pleural_effusion", "bilateral", None)]),
    ("lateral chest x-ray", {"view": "lateral"}, []),
    ("chest film, LUL mass 4 cm", {"modality": "xray"}, [("mass", "left", "lul")]),
    ("CT chest at the carina, lung window, 2 cm spiculated nodule in the RUL",
     {"modality": "ct", "level": "carina", "window": "lung", "window_center": -600.0,
      "window_width": 1500.0, "plane": "axial"}, [("nodule", "right", "rul")]),
    ("HRCT, basal fibrosis, honeycombing", {"modality": "ct", "region": "chest"},
     [("fibrosis", None, "base")]),
    ("chest CT at T4, mediastinal window", {"level": "t4", "window": "mediastinum"}, []),
    ("coronal chest CT, bone window", {"plane": "coronal", "window": "bone"}, []),
    ("FLAIR brain MRI with MS plaques", {"sequence": "flair", "region": "brain"},
     [("ms_plaques", None, None)]),
    ("T1 post contrast brain MRI, right frontal glioblastoma", {"sequence": "t1c"},
     [("glioma", "right", "frontal_lobe")]),
    ("DWI brain, acute right ACA infarct", {"modality": "mri", "sequence": "dwi"},
     [("infarct", "right", "aca")]),
    ("non-contrast head CT, left subdural haematoma", {"modality": "ct", "region": "brain",
                                                       "window": None},
     [("subdural_haematoma", "left", None)]),
    ("sonogram of the gallbladder showing gallstones", {"modality": "us",
                                                        "region": "gallbladder"},
     [("gallstones", None, None)]),
    ("US liver cyst", {"modality": "us", "region": "liver"}, [("cyst", None, None)]),
    ("fundus photo, diabetic retinopathy", {"modality": "fundus", "region": "retina"},
     [("diabetic_retinopathy", None, None)]),
    ("dermoscopy image of a melanoma", {"modality": "derm", "region": "skin"},
     [("melanoma", None, None)]),
    ("PAS stained kidney biopsy, glomerulosclerosis", {"stain": "pas", "region": "kidney"},
     [("glomerulosclerosis", None, None)]),
    ("IHC colon biopsy adenocarcinoma", {"stain": "ihc", "region": "colon"},
     [("adenocarcinoma", None, None)]),
    ("lung biopsy H&E granulomas", {"modality": "histo", "region": "lung"},
     [("granuloma", None, None)]),
    ("knee x-ray, lateral view, effusion", {"region": "knee", "view": "lateral"},
     [("joint_effusion", None, None)]),
    ("OPG showing an impacted third molar", {"view": "panoramic", "region": "teeth"},
     [("impacted_tooth", None, "third_molar")]),
    ("x-ray of the left wrist, distal radius fracture", {"region": "wrist",
                                                         "laterality": "left"},
     [("fracture", None, "distal_radius")]),
    ("chest x-ray, fracture of the 6th rib on the left", {},
     [("rib_fracture", "left", "rib_6")]),
    ("chest x ray, consolidation at the lung bases", {"level": None},
     [("consolidation", None, "base")]),
    ("T2-weighted sagittal knee MRI", {"sequence": "t2", "plane": "sagittal"}, []),
    ("PA chest x-ray, normal, adult female", {"sex": "female"}, []),
    ("6 month old infant chest x-ray", {"age": 0, "age_group": "infant"}, []),
    ("chest x-ray --modality xray --view ap --sex f --age 70", {"view": "ap", "sex": "female",
                                                                 "age": 70,
                                                                 "age_group": "elderly"}, []),
    ("chest x-ray, pacemaker and central line", {}, [("pacemaker", None, None),
                                                     ("central_line", None, None)]),
    ("brain -m mri --seq T2-weighted", {"modality": "mri", "sequence": "t2"}, []),
    ("chest x-ray —seed 5", {"seed": 5}, []),
    ("chest ct --window -600/1500", {"window": "custom", "window_center": -600.0}, []),
]


@pytest.mark.parametrize(("prompt", "fields", "findings"), TYPICAL,
                         ids=[t[0][:40] for t in TYPICAL])
def test_typical_prompts(prompt: str, fields: dict, findings: list) -> None:
    s = parse_one(prompt)
    for key, value in fields.items():
        assert getattr(s, key) == value, (key, s)
    assert [(f.name, f.laterality, f.location) for f in s.findings] == findings


ERRORS = [
    ("", "empty"),
    ("   \n\t ", "empty"),
    ("chest x-ray --modality ct", "--modality says ct"),
    ("chest x-ray --sead 7", "Did you mean --seed"),
    ("chest x-ray --modality cta", "Did you mean ct"),
    ("chest x-ray --seq flar", "Did you mean flair"),
    ("brain MRI --stain he", "stain (he) does not apply to MRI"),
    ("--seq flair chest x-ray", "does not apply to X-ray"),
    ("chest CT --view pa", "radiograph view"),
    ("chest x-ray --window lung", "CT window"),
    ("brain mri with consolidation", "finding of the chest"),
    ("chest x-ray with pacemaker --no pacemaker", "--no pacemaker"),
    ("chest x-ray --seed 4294967296", "from 0 to 4294967295"),
    ("chest x-ray --seed -1", "from 0 to 4294967295"),
    ("chest x-ray --seed seven", "whole number"),
    ("chest x-ray --ar 9:1", "too extreme"),
    ("chest x-ray --ar wide", "width:height"),
    ("chest x-ray --size 4096", "from 64 to 2048"),
    ("PA chest x-ray --steps 30", "diffusion engine"),
    ("PA chest x-ray {", "Unbalanced"),
    ("brain mri {t1,t2,flair,pd,dwi} {axial,coronal,sagittal}", "limit is 12"),
    ("chest x-ray --repeat 13", "from 1 to 12"),
    ("CT and MRI of the brain", "more than one modality"),
    ("right upper lobe consolidation, left RUL", "both right and left"),
    ("chest xray --age 45 child", "Age 45 is not child"),
    ("chest x-ray --seed", "needs a value"),
    ("a nice picture", "Which kind of image"),
    ("fundus photo --modality ct", "--modality says ct"),
    ("panoramic chest x-ray", "teeth"),
    ("fundus photography of the knee", "does not image"),
]


@pytest.mark.parametrize(("prompt", "needle"), ERRORS, ids=[e[0][:40] or "empty" for e in ERRORS])
def test_errors_are_specific(prompt: str, needle: str) -> None:
    with pytest.raises(PromptError) as info:
        parse(prompt)
    assert needle in info.value.message


def test_conflict_names_both_sides() -> None:
    with pytest.raises(PromptError) as info:
        parse("axial brain MRI --modality ct")
    assert "MRI" in info.value.message and "ct" in info.value.message


def test_permutations_expand_in_order() -> None:
    specs = parse("axial {t1, t2, flair} brain MRI, left MCA infarct --seed 3")
    assert [s.sequence for s in specs] == ["t1", "t2", "flair"]
    assert all(s.seed == 3 for s in specs)
    assert all(s.findings[0].location == "mca" for s in specs)


def test_permutations_multiply_and_respect_cap() -> None:
    assert len(parse("brain mri {t1,t2} {axial,coronal,sagittal}")) == 6
    assert len(parse("brain mri {t1,t2,flair,pd} {axial,coronal,sagittal}")) == 12


def test_repeat_gives_consecutive_seeds() -> None:
    specs = parse("PA chest x-ray --repeat 3 --seed 4294967295")
    assert [s.seed for s in specs] == [4294967295, 0, 1]


def test_aspect_ratio_and_size() -> None:
    s = parse_one("chest x-ray --ar 3:4 --size 768")
    assert (s.width, s.height) == (576, 768)
    s = parse_one("chest x-ray --size 640x512")
    assert (s.width, s.height) == (640, 512)


def test_unknown_words_are_reported_not_dropped() -> None:
    s = parse_one("PA chest x-ray with a flurbish zonkle, right effusion")
    assert s.unparsed == ("flurbish", "zonkle")
    assert s.findings[0].name == "pleural_effusion"


def test_lowercase_pronouns_are_not_modalities() -> None:
    s = parse_one("show us a chest x-ray with left effusion")
    assert s.modality == "xray"
    s = parse_one("he has a chest x-ray with consolidation")
    assert s.stain is None and s.modality == "xray"


def test_exclusions_canonicalised() -> None:
    s = parse_one("chest x-ray, right effusion --no devices, pacemaker, ETT")
    assert s.exclude == ("devices", "pacemaker", "et_tube")


def test_unicode_and_typographic_input() -> None:
    s = parse_one("ＰＡ chest x‑ray, right upper lobe consolidation —seed 7")
    assert s.view == "pa" and s.seed == 7
    s = parse_one("chest\u200bx-ray, left pneumothorax")
    assert s.findings[0].name == "pneumothorax"
    s = parse_one("Rx thorax, épanchement pleural gauche, left effusion")
    assert "épanchement" in s.unparsed


def test_ten_kilobyte_input_is_refused_cleanly() -> None:
    with pytest.raises(PromptError) as info:
        parse("chest x-ray " * 900)
    assert "limit is 4000" in info.value.message


def test_spec_is_immutable_and_json_round_trips() -> None:
    s = parse_one(ISSUE_PROMPTS["mri"])
    with pytest.raises(ValidationError):
        s.modality = "ct"  # type: ignore[misc]
    again = CaseSpec.model_validate(json.loads(s.model_dump_json()))
    assert again == s


def test_interpreted_as_line() -> None:
    text = parse_one("PA chest x-ray, right upper lobe consolidation, adult male --seed 7"
                     ).describe()
    assert text == ("PA chest X-ray · consolidation (right, RUL) · adult male · 512x512 · "
                    "seed 7")


def test_vocabulary_has_no_ambiguous_phrase() -> None:
    """No phrase may give two values for one field (e.g. 't2' meaning T2 and T2*)."""
    index, _ = phrase_index()
    for phrase, facts in index.items():
        fields = [name for name, _ in facts]
        assert len(fields) == len(set(fields)), (phrase, facts)
