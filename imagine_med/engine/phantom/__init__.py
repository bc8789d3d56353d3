"""The phantom engine: synthetic studies computed from seeded 3D models of body regions
(`regions/`), one tissue table and modality physics (`physics/`); see docs/phantom.md. The
chest's registry targets live in `regions/chest/renderer.py`."""

from imagine_med.engine.phantom.heap import keep_heap

keep_heap()
