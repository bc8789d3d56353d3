"""Label ids of limb films: anatomy below 100 (bones, growth-plate zones, soft tissue, the
side marker 60), a fracture's parts from 100."""

from __future__ import annotations

LABELS: dict[str, int] = {
    "soft_tissue": 1,
    "radius": 10, "ulna": 11, "scaphoid": 12, "lunate": 13, "triquetrum": 14, "pisiform": 15,
    "trapezium": 16, "trapezoid": 17, "capitate": 18, "hamate": 19,
    "metacarpal_1": 20, "metacarpal_2": 21, "metacarpal_3": 22, "metacarpal_4": 23,
    "metacarpal_5": 24,
    "radius_epiphysis": 30, "radius_physis": 31, "radius_metaphysis": 32,
    "ulna_epiphysis": 33, "ulna_physis": 34, "ulna_metaphysis": 35,
    "tibia": 40, "fibula": 41, "talus": 42, "calcaneus": 43, "navicular": 44, "cuboid": 45,
    "tibia_epiphysis": 46, "tibia_physis": 47, "tibia_metaphysis": 48,
    "fibula_epiphysis": 49, "fibula_physis": 50, "fibula_metaphysis": 51,
    "humerus": 52, "capitellum": 53, "anterior_fat_pad": 54, "posterior_fat_pad": 55,
    "femur": 56, "femoral_head": 57, "acetabulum": 58, "pelvis": 59,
    "humeral_head": 84, "glenoid": 85, "scapula": 86, "clavicle": 87,
    "side_marker": 60,
    "proximal_phalanx_1": 70, "distal_phalanx_1": 71,
    **{f"{k}_phalanx_{r}": 72 + 3 * (r - 2) + i for r in range(2, 6)
       for i, k in enumerate(("proximal", "middle", "distal"))},
    # bone disease (lesions.py, disease.py), 150-169
    "erosion": 150, "osteophyte": 151, "tumour": 152, "tumour_margin": 153,
    "periosteal_solid": 154, "sclerosis": 155, "cyst": 156, "lytic_front": 157,
    "hill_sachs": 158, "periosteal_lamellated": 159, "periosteal_sunburst": 160,
    "codman_triangle": 161,
    # the knee and foot (knee.py, foot.py), 140-149 and 170-179 (osteophyte shared above);
    # a segmental fracture's segment 110
    "femur_epiphysis": 140, "femur_physis": 141, "femur_metaphysis": 142, "patella": 143,
    "subchondral_sclerosis": 145, "haemarthrosis": 146,
    "effusion_fat": 147, **{f"metatarsal_{r}": 169 + r for r in range(1, 6)},
    "medial_cuneiform": 175, "intermediate_cuneiform": 176, "lateral_cuneiform": 177,
    "fragment_segment": 110,
    "fracture_line": 100, "fragment_distal": 101, "fragment_butterfly": 102, "callus": 103,
}
NAMES: dict[int, str] = {v: k for k, v in LABELS.items()}
RADIUS_PARTS = ("radius", "radius_epiphysis", "radius_physis", "radius_metaphysis",
                "fragment_distal", "fragment_butterfly")
