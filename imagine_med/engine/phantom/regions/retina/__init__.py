"""The retina: a 2D region for fundus photographs (issue 17)."""
