"""A scene: the list of tissue components both renderers read.

Each component is a solid (quadric CSG) or a tube set made of one material that displaces
another (its container): a radiograph adds (mu - mu_container) x path length per ray, a CT slice
paints components in order. Keeping the container explicit is what lets consolidation replace
lung, bone replace muscle, and a pneumothorax replace lung with air, all with one rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.geometry import Solid, Tubes

# A CT texture: (points (N,3) mm) -> HU offsets (N,), or a factor on the material's HU.
Texture = Callable[[np.ndarray], np.ndarray]


@dataclass
class Component:
    label: str
    material: str
    container: str
    solid: Solid | None = None
    tubes: Tubes | None = None
    shell_mm: float = 0.0
    shell_material: str | None = None
    xray: bool = True
    ct: bool = True
    label_min_mm: float = 3.0  # radiograph: path length that labels a pixel
    label_priority: int = 10
    labelled: bool = True
    blur_px: float = 0.7  # tubes: profile softening in the radiograph
    outline: float = 0.0  # tubes: extra cortical edge (mm of shell material) on the film
    # tubes: on a film the shell's and the core's own path lengths (cortex round marrow, as
    # CT draws them), instead of the material alone
    film_shell: bool = False
    ct_texture: Texture | None = None  # HU offsets added inside this component on CT
    xray_gain: float = 1.0
    xray_texture: str | None = None  # name of a 2D modulation applied on the film
    fade_with: str | None = None  # tubes hidden where this label's material fills the ray
    show_with: str | None = None  # tubes shown ONLY where this label fills the ray
    finding: str | None = None  # the finding this component belongs to
    ct_label_only: bool = False  # CT: mark the label, keep the tissue values (fracture site)
    film_views: tuple[str, ...] | None = None  # films it shows on (None: all)
    view_gain: dict[str, float] | None = None  # per-view film gain (overrides xray_gain)
    label_as: str | None = None  # film: the label-map name when it is not `label`
    label_within: str | None = None  # film tubes: label only pixels already of this label
    mask_as: str | None = None  # film: a second overlapping-mask name (e.g. ribs_posterior)
    trabecular: float = 0.0  # film: relative depth of the trabecular texture on this bone

    def film_gain(self, view: str) -> float:
        return (self.view_gain or {}).get(view, self.xray_gain)


@dataclass
class Scene:
    components: list[Component]
    landmarks: dict[str, float] = field(default_factory=dict)
    points: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)
    posture: str = "upright"
    notes: dict[str, str] = field(default_factory=dict)

    def add(self, comp: Component) -> Component:
        self.components.append(comp)
        return comp

    def find(self, label: str) -> list[Component]:
        return [c for c in self.components if c.label == label]
