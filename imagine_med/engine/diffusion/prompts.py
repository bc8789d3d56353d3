"""Prompt templates per modality, as data, and the text a case spec becomes.

Medical fine-tunes (RoentGen-class chest X-ray models, dermatology or fundus models) were trained
on report-like captions, so the prompt reads like a short study description: what study, what
was asked to be shown, who the patient is. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagine_med.prompt.spec import CaseSpec


@dataclass(frozen=True)
class ModalityStyle:
    """How one modality is described to the model and shown afterwards."""

    template: str  # placeholders: {study} {findings} {patient}
    study: str  # placeholders: {view} {region} {plane} {sequence} {stain} {window}
    negative: str
    grayscale: bool
    field_of_view_mm: float  # nominal width of the image; diffusion images have no calibration
    normal: str = "normal study, no abnormality"


STYLES: dict[str, ModalityStyle] = {
    "xray": ModalityStyle(
        template="{study}, {findings}, {patient}, digital radiograph, clinical image",
        study="{view} {region} radiograph",
        negative="color, text, annotations, watermark, border, photograph, cartoon, blurry",
        grayscale=True,
        field_of_view_mm=430.0,
    ),
    "ct": ModalityStyle(
        template="{study}, {findings}, {patient}, computed tomography, clinical image",
        study="{plane} CT of the {region}, {window} window",
        negative="color, text, annotations, watermark, scanner bed artifact, cartoon, blurry",
        grayscale=True,
        field_of_view_mm=350.0,
    ),
    "mri": ModalityStyle(
        template="{study}, {findings}, {patient}, magnetic resonance imaging, clinical image",
        study="{plane} {sequence} MRI of the {region}",
        negative="color, text, annotations, watermark, motion artifact, cartoon, blurry",
        grayscale=True,
        field_of_view_mm=240.0,
    ),
    "us": ModalityStyle(
        template="{study}, {findings}, {patient}, B-mode ultrasound, clinical image",
        study="ultrasound of the {region}",
        negative="color doppler, text, annotations, watermark, cartoon",
        grayscale=True,
        field_of_view_mm=150.0,
    ),
    "histo": ModalityStyle(
        template="{study}, {findings}, light microscopy, pathology slide",
        study="{stain} stained histopathology micrograph of {region} tissue",
        negative="text, annotations, watermark, scale bar, cartoon, blurry, out of focus",
        grayscale=False,
        field_of_view_mm=1.0,
        normal="normal tissue architecture",
    ),
    "derm": ModalityStyle(
        template="{study}, {findings}, {patient}, dermatology clinical photograph",
        study="dermoscopy image of a {region} lesion",
        negative="text, annotations, watermark, ruler, cartoon, blurry",
        grayscale=False,
        field_of_view_mm=20.0,
        normal="benign-appearing skin",
    ),
    "fundus": ModalityStyle(
        template="{study}, {findings}, {patient}, fundus camera image",
        study="color fundus photograph of the {region}",
        negative="text, annotations, watermark, cartoon, blurry, lens flare",
        grayscale=False,
        field_of_view_mm=12.0,
        normal="healthy retina, normal optic disc and macula",
    ),
}

# How canonical vocabulary reads in a caption.
WORDS: dict[str, str] = {
    "pa": "PA", "ap": "AP", "he": "H&E", "pas": "PAS", "ihc": "immunohistochemistry",
    "t1": "T1-weighted", "t2": "T2-weighted", "flair": "FLAIR", "pd": "proton density",
    "dwi": "diffusion-weighted", "adc": "ADC map", "stir": "STIR", "t1c": "contrast-enhanced T1",
    "swi": "susceptibility-weighted", "gre": "gradient echo", "soft_tissue": "soft tissue",
    "lymph_node": "lymph node", "retina": "retina",
}


def _word(value: str | None) -> str:
    if not value:
        return ""
    return WORDS.get(value, value.replace("_", " "))


def _patient(spec: CaseSpec) -> str:
    age = f"{spec.age}-year-old" if spec.age is not None else (spec.age_group or "")
    sex = spec.sex or ("patient" if age else "")
    return " ".join(w for w in (age, sex) if w)


def _tidy(text: str) -> str:
    """Drop the gaps left by empty fields (", ,", doubled spaces, a bare "window")."""
    parts = [" ".join(p.split()) for p in text.split(",")]
    return ", ".join(p for p in parts if p and p != "window")


def style_for(modality: str) -> ModalityStyle:
    return STYLES[modality]


def build_prompt(spec: CaseSpec) -> str:
    """The positive prompt, e.g. 'PA chest radiograph, consolidation (right, RUL), ...'."""
    style = STYLES[spec.modality]
    study = style.study.format(
        view=_word(spec.view),
        region=_word(spec.region) or "body",
        plane=_word(spec.plane),
        sequence=_word(spec.sequence),
        stain=_word(spec.stain),
        window=_word(spec.window),
    )
    findings = "; ".join(f.describe() for f in spec.findings) or style.normal
    text = style.template.format(study=study, findings=findings, patient=_patient(spec))
    return _tidy(text)


def build_negative_prompt(spec: CaseSpec) -> str:
    """The modality's usual negatives plus the user's --no terms."""
    terms = [t.strip() for t in STYLES[spec.modality].negative.split(",")]
    for term in spec.exclude:
        words = term.replace("_", " ").strip()
        if words and words not in terms:
            terms.append(words)
    return ", ".join(t for t in terms if t)
