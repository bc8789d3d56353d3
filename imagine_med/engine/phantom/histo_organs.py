"""What each phantom histology organ renders, as plain data: read by the registry (to refuse a
stain or antibody before a job is queued) and by the renderers (no numpy here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Organ:
    """One organ's region package and what it models."""

    package: str                      # regions/<package>
    title: str
    default_magnification: int
    stains: tuple[str, ...]
    findings: tuple[str, ...]
    antibodies: tuple[str, ...] = ()


ORGANS: dict[str, Organ] = {
    "kidney": Organ("kidney_tissue", "renal biopsy", 20, ("he", "pas", "pas_d"),
                    ("glomerulosclerosis", "crescents")),
    "colon": Organ("colon_tissue", "colonic mucosa", 20, ("he", "pas", "pas_d"),
                   ("adenoma", "adenocarcinoma", "dysplasia")),
    "lymph_node": Organ("lymph_node_tissue", "lymph node", 10, ("he", "ihc"),
                        ("metastases", "lymphoma", "adenocarcinoma"), ("cd20", "ck7")),
    "skin": Organ("skin_tissue", "skin biopsy", 10, ("he",),
                  ("basal_cell_carcinoma", "melanoma")),
}
# the first part's organs (renderer_histo, renderer_ihc)
STAINS_OF = {"liver": ("he", "pas", "pas_d"), "breast": ("ihc",),
             **{k: o.stains for k, o in ORGANS.items()}}
ANTIBODIES_OF = {"breast": ("her2", "er", "pr", "ki67"),
                 **{k: o.antibodies for k, o in ORGANS.items()}}
STAIN_NAMES = {"he": "H&E", "pas": "PAS", "pas_d": "PAS-D", "ihc": "IHC"}
