"""The chest region: a seeded 3D thorax and upper abdomen built in named steps (anatomy.py),
with findings and devices, rendered as films (xray.py) and CT slices (ct_slice.py)."""
