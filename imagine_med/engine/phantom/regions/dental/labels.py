"""Label ids of the dental films: bones, findings, then every tooth (52 FDI numbers) as three
ids (dentine and cementum as `tooth_NN`, `tooth_NN_enamel`, `tooth_NN_pulp`) and every
developing permanent tooth still in its crypt as `germ_NN`."""

from __future__ import annotations

ANATOMY = ("mandible", "maxilla", "condyle_right", "condyle_left", "maxillary_sinus_right",
           "maxillary_sinus_left", "mandibular_canal", "hard_palate", "nasal_cavity",
           "ghost_ramus", "ghost_spine", "hyoid")
FINDING_LABELS = ("caries", "periapical_lesion", "restoration", "implant", "fracture_line",
                  "crown", "root_filling")
PERMANENT_FDI = tuple(q * 10 + p for q in (1, 2, 3, 4) for p in range(1, 9))
PRIMARY_FDI = tuple(q * 10 + p for q in (5, 6, 7, 8) for p in range(1, 6))

LABELS: dict[str, int] = {n: i + 1 for i, n in enumerate(ANATOMY)}
LABELS |= {n: 30 + i for i, n in enumerate(FINDING_LABELS)}
for _i, _fdi in enumerate(PERMANENT_FDI + PRIMARY_FDI):
    LABELS[f"tooth_{_fdi}"] = 60 + 3 * _i
    LABELS[f"tooth_{_fdi}_enamel"] = 61 + 3 * _i
    LABELS[f"tooth_{_fdi}_pulp"] = 62 + 3 * _i
for _i, _fdi in enumerate(PERMANENT_FDI):
    LABELS[f"germ_{_fdi}"] = 220 + _i
assert max(LABELS.values()) < 256
NAMES = {v: k for k, v in LABELS.items()}


def tooth_ids(fdi: int) -> tuple[int, int, int]:
    """(dentine, enamel, pulp) ids of one tooth."""
    return LABELS[f"tooth_{fdi}"], LABELS[f"tooth_{fdi}_enamel"], LABELS[f"tooth_{fdi}_pulp"]
