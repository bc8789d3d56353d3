"""Label ids of the plain abdominal film."""

from __future__ import annotations

ANATOMY = ("body", "liver", "spleen", "kidney_right", "kidney_left", "psoas_right",
           "psoas_left", "bladder", "t11", "t12", "l1", "l2", "l3", "l4", "l5", "sacrum",
           "pelvis", "femoral_head_right", "femoral_head_left", "ribs", "lung")
BOWEL = ("stomach", "small_bowel", "caecum", "ascending_colon", "transverse_colon",
         "descending_colon", "sigmoid_colon", "rectum", "bowel_fluid")
FINDING_LABELS = ("free_air", "renal_stone", "ureteric_stone", "gallstone", "foreign_body")
LABELS: dict[str, int] = {n: i + 1 for i, n in enumerate(ANATOMY)}
LABELS |= {n: 30 + i for i, n in enumerate(BOWEL)}
LABELS |= {n: 50 + i for i, n in enumerate(FINDING_LABELS)}
NAMES = {v: k for k, v in LABELS.items()}
COLON = ("caecum", "ascending_colon", "transverse_colon", "descending_colon", "sigmoid_colon",
         "rectum")
