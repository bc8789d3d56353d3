"""Prompt templates per modality (torch-free: runs on the base install too)."""

from __future__ import annotations

import pytest

from imagine_med.engine.diffusion import prompts
from imagine_med.prompt.spec import CaseSpec, Finding


def test_chest_xray_prompt_reads_like_a_study_description():
    spec = CaseSpec(
        modality="xray", region="chest", view="pa", age=67, sex="female",
        findings=(
            Finding(name="pleural_effusion", laterality="left", severity="moderate"),
            Finding(name="consolidation", laterality="right", location="rul"),
        ),
    )
    text = prompts.build_prompt(spec)
    assert text.startswith("PA chest radiograph, ")
    assert "moderate pleural effusion (left); consolidation (right, RUL)" in text
    assert "67-year-old female" in text
    assert ", ," not in text and "  " not in text


def test_normal_study_and_missing_fields_leave_no_gaps():
    ct = prompts.build_prompt(CaseSpec(modality="ct", region="abdomen", plane="axial"))
    assert ct.startswith("axial CT of the abdomen, normal study")
    assert "window" not in ct and ", ," not in ct
    mri = prompts.build_prompt(
        CaseSpec(modality="mri", region="brain", plane="sagittal", sequence="flair")
    )
    assert mri.startswith("sagittal FLAIR MRI of the brain")
    histo = prompts.build_prompt(CaseSpec(modality="histo", region="colon", stain="he"))
    assert histo.startswith("H&E stained histopathology micrograph of colon tissue")


def test_negative_prompt_adds_the_no_terms_once():
    spec = CaseSpec(modality="xray", region="chest", exclude=("text", "chest_tube", "pacemaker"))
    neg = prompts.build_negative_prompt(spec).split(", ")
    assert neg.count("text") == 1
    assert "chest tube" in neg and "pacemaker" in neg
    assert neg[: len(prompts.STYLES["xray"].negative.split(", "))] == prompts.STYLES[
        "xray"
    ].negative.split(", ")


@pytest.mark.parametrize("modality", ["xray", "ct", "mri", "us", "histo", "derm", "fundus"])
def test_every_modality_has_a_template(modality):
    style = prompts.style_for(modality)
    text = prompts.build_prompt(CaseSpec(modality=modality))
    assert text and "{" not in text and style.field_of_view_mm > 0
    assert style.grayscale == (modality in {"xray", "ct", "mri", "us"})
