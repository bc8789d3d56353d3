"""The head: a seeded 3D head (skull, CSF, folded cortex, nuclei, territories), findings."""
