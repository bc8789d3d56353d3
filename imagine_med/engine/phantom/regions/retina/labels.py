"""Label ids of a fundus photograph (anatomy below 100, lesions from 100)."""

LABELS = {
    "retina": 1, "macula": 2, "fovea": 3, "optic_disc": 4, "optic_cup": 5,
    "artery": 6, "vein": 7,
    "microaneurysm": 100, "dot_blot_haemorrhage": 101, "flame_haemorrhage": 102,
    "hard_exudate": 103, "cotton_wool_spot": 104, "venous_beading": 105, "irma": 106,
    "neovascularisation": 107, "preretinal_haemorrhage": 108, "drusen": 110,
    "disc_haemorrhage": 111,
}
# labels painted over vessels (a vessel runs on under them): the tree's pixels are joined
# through these when connectivity to the disc is checked
VESSEL_BRIDGES = ("venous_beading", "neovascularisation", "preretinal_haemorrhage")
