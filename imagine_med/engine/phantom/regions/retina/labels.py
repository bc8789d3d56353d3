"""Label ids of a fundus photograph (anatomy below 100, lesions from 100)."""

LABELS = {
    "retina": 1, "macula": 2, "fovea": 3, "optic_disc": 4, "optic_cup": 5,
    "artery": 6, "vein": 7,
    "microaneurysm": 100, "dot_blot_haemorrhage": 101, "flame_haemorrhage": 102,
    "hard_exudate": 103, "cotton_wool_spot": 104, "venous_beading": 105, "irma": 106,
    "neovascularisation": 107, "preretinal_haemorrhage": 108, "drusen": 110,
    "disc_haemorrhage": 111, "laser_scar": 112,
    # areas (regions/retina/areas.py)
    "detached_retina": 120, "retinal_whitening": 121, "geographic_atrophy": 122,
    "subretinal_haemorrhage": 123, "cnv_membrane": 124, "vitreous_haemorrhage": 125,
}
AREA_KINDS = ("detached_retina", "retinal_whitening", "geographic_atrophy",
              "subretinal_haemorrhage", "cnv_membrane")  # under the fovea and vessels

# labels painted over vessels (a vessel runs on under them): the tree's pixels are joined
# through these when connectivity to the disc is checked
VESSEL_BRIDGES = ("venous_beading", "neovascularisation", "preretinal_haemorrhage",
                  "vitreous_haemorrhage")
