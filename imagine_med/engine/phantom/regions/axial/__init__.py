"""The axial skeleton on plain films (issue 19): the cervical spine, the lumbar spine and the
full pelvis, built from the limb region's bone solids and filmed by the shared voxel
projector (physics/radiography.py)."""
