"""Maps (engine, modality) to the renderer that serves it.

Entries are import paths, so asking for the phantom engine never imports torch. A renderer is
built once per process and kept warm (the queue's workers rely on that).
"""

from __future__ import annotations

import importlib
import threading

from imagine_med.engine.base import EngineError, Renderer

# (engine, modality) -> "module:factory"; the factory takes no arguments and returns a Renderer.
# Later engines add their rows here.
RENDERERS: dict[tuple[str, str], str] = {}

# The phantom engine (default): a seeded 3D chest model rendered as radiographs and CT slices.
RENDERERS[("phantom", "xray")] = "imagine_med.engine.phantom.renderer:xray_renderer"
RENDERERS[("phantom", "ct")] = "imagine_med.engine.phantom.renderer:ct_renderer"
# brain MRI from the 3D head (the chest CT renderer hands head CT to the head, see renderer.py)
RENDERERS[("phantom", "mri")] = "imagine_med.engine.phantom.renderer_head:mri_renderer"

# The diffusion engine: one local checkpoint (IMAGINE_MED_DIFFUSION_MODEL) serves every modality
# through per-modality prompt templates; all rows share one loaded model.
RENDERERS.update(
    {
        ("diffusion", m): "imagine_med.engine.diffusion.engine:create_renderer"
        for m in ("xray", "ct", "mri", "us", "histo", "derm", "fundus")
    }
)

_cache: dict[tuple[str, str], Renderer] = {}
_lock = threading.Lock()


def available() -> list[tuple[str, str]]:
    return sorted(RENDERERS)


def describe_available() -> str:
    if not RENDERERS:
        return "no renderers are installed yet"
    by_engine: dict[str, list[str]] = {}
    for engine, modality in available():
        by_engine.setdefault(engine, []).append(modality)
    return "; ".join(f"{e}: {', '.join(m)}" for e, m in by_engine.items())


def get_renderer(engine: str, modality: str) -> Renderer:
    """The warm renderer for this pair, or an EngineError listing what exists."""
    key = (engine, modality)
    if key not in RENDERERS:
        raise EngineError(
            f"The {engine} engine cannot render {modality} yet. Available: {describe_available()}."
        )
    with _lock:
        if key not in _cache:
            module_name, _, factory_name = RENDERERS[key].partition(":")
            factory = getattr(importlib.import_module(module_name), factory_name)
            _cache[key] = factory()
        return _cache[key]


def register(engine: str, modality: str, target: str) -> None:
    """Add or replace a renderer (plugins, tests)."""
    RENDERERS[(engine, modality)] = target
    _cache.pop((engine, modality), None)
