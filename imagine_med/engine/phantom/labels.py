"""Label ids of the phantom's label maps: anatomy below 100, findings and devices from 100."""

from __future__ import annotations

ANATOMY: dict[str, int] = {
    "body": 1, "subcutaneous_fat": 2, "muscle": 3, "breast": 4, "mediastinal_fat": 5,
    "lung_rul": 10, "lung_rml": 11, "lung_rll": 12, "lung_lul": 13, "lung_lingula": 14,
    "lung_lll": 15, "pulmonary_vessels": 16, "airway": 17, "trachea": 18, "fissure": 19,
    "heart": 20, "aorta": 21, "pulmonary_artery": 22, "svc": 23, "esophagus": 24,
    "liver": 30, "stomach": 31, "gastric_bubble": 32, "spleen": 33, "diaphragm": 34,
    "spine": 40, "ribs": 41, "clavicle": 42, "scapula": 43, "sternum": 44, "humerus": 45,
    "side_marker": 60,
    # films: the soft-tissue web of the axilla (pectoralis major's and latissimus' free edges)
    "axillary_fold": 6, "costal_cartilage": 46,
}

LUNG_LABELS = ("lung_rul", "lung_rml", "lung_rll", "lung_lul", "lung_lingula", "lung_lll")
BONE_LABELS = ("spine", "ribs", "clavicle", "scapula", "sternum", "humerus")

FINDINGS: dict[str, int] = {
    "consolidation": 100, "pleural_effusion": 101, "pneumothorax": 102, "nodule": 103,
    "mass": 104, "cavity": 105, "cardiomegaly": 106, "pulmonary_edema": 107, "collapse": 108,
    "emphysema": 109, "fibrosis": 110, "miliary_nodules": 111, "pneumoperitoneum": 112,
    "rib_fracture": 113, "hiatus_hernia": 114, "mediastinal_widening": 115,
    "et_tube": 120, "central_line": 121, "pacemaker": 122,
}

SUPPORTED_FINDINGS = tuple(FINDINGS)
DEVICES = ("et_tube", "central_line", "pacemaker")

# Parts of a finding with their own label, so the answer key states them only where they were
# drawn: the bronchi seen through a consolidation, a cavity's lumen (air and fluid).
FEATURES: dict[str, int] = {"air_bronchogram": 116, "cavity_lumen": 117}
FEATURE_OF: dict[str, str] = {"air_bronchogram": "consolidation", "cavity_lumen": "cavity"}

NAMES: dict[int, str] = {v: k for k, v in {**ANATOMY, **FINDINGS, **FEATURES}.items()}
_IDS: dict[str, int] = {**ANATOMY, **FINDINGS, **FEATURES}


def label_id(name: str) -> int:
    return _IDS[name]


def finding_ids(name: str) -> tuple[int, ...]:
    """Every label id a finding's pixels carry: its own and those of its parts."""
    return (FINDINGS[name], *(FEATURES[f] for f, of in FEATURE_OF.items() if of == name))
