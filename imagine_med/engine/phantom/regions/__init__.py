"""Body regions of the phantom: each builds a seeded 3D model behind `regions.base.Region`."""
