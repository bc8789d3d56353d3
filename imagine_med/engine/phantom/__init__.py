"""The phantom engine: chest radiographs and chest CT computed from one seeded 3D chest model
(see docs/phantom.md). Registry targets live in `renderer.py`."""
