"""The small interface every body region of the phantom engine offers.

A region builds a seeded 3D model once per variant (`Region.build`), cheap because nothing is
voxelised; a modality then asks the model for one slice (`Body.sample`) and gets, for every
pixel, the fraction of each structure there: partial volume at boundaries for free, and one
anatomy for every contrast (BrainWeb's tissue-fraction maps). Each structure names a tissue
of `tissues.py` and a label; a finding is a structure too, or a tissue change of others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from imagine_med.engine.phantom.tissues import Tissue
from imagine_med.prompt.spec import CaseSpec


@dataclass
class Part:
    """The fraction (0-1 per sample point) of one tissue under one label."""

    label: str
    tissue: Tissue
    fraction: np.ndarray


@dataclass(frozen=True)
class Grid:
    """Sample points of one slice in patient millimetres: x toward the patient's left,
    y anterior, z superior. Arrays share one shape (rows, cols); `px` is the spacing."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    px: float
    plane: str
    level_mm: float


@dataclass
class Sample:
    """What a slice holds: the parts and the label ids of the region's labels."""

    parts: list[Part]
    label_ids: dict[str, int]

    def label_map(self) -> np.ndarray:
        """Per point, the label holding the largest fraction (0 where air wins)."""
        totals: dict[str, np.ndarray] = {}
        for p in self.parts:
            totals[p.label] = totals[p.label] + p.fraction if p.label in totals else p.fraction
        shape = self.parts[0].fraction.shape
        best = np.full(shape, 0.25, np.float32)  # air (background) wins below a quarter
        out = np.zeros(shape, np.uint8)
        for name, frac in totals.items():
            if name not in self.label_ids:
                continue
            win = frac > best
            best = np.where(win, frac, best)
            out[win] = self.label_ids[name]
        return out

    def mix(self, value_of) -> np.ndarray:
        """Sum over parts of fraction x value_of(tissue): a partial-volume image."""
        cache: dict[str, float] = {}
        out = np.zeros(self.parts[0].fraction.shape, np.float32)
        for p in self.parts:
            key = p.tissue.name
            if key not in cache:
                cache[key] = float(value_of(p.tissue))
            if cache[key] != 0.0:
                out += p.fraction * np.float32(cache[key])
        return out


def compose(layers: list[tuple[str, Tissue, np.ndarray]], label_ids: dict[str, int],
            shape: tuple[int, ...]) -> Sample:
    """A plane painted in layers (bottom first, each a label, a tissue and its fraction):
    composed top-down, each layer taking its fraction of what the layers above it left."""
    left = np.ones(shape, np.float32)
    parts: list[Part] = []
    for label, tis, f in reversed(layers):
        take = f * left
        if take.any():
            parts.append(Part(label, tis, take))
            left = left - take
    return Sample(parts, label_ids)


@dataclass
class PlacedFinding:
    """A finding as built: name, side, location, its 3D centre and the numbers it was built
    with (`params`); what the image shows of it is measured later, from the output."""

    name: str
    side: str | None
    location: str | None
    modifiers: tuple[str, ...]
    center: tuple[float, float, float]
    params: dict[str, float] = field(default_factory=dict)


class Body(Protocol):
    """One patient's region, built from a seed."""

    findings: list[PlacedFinding]
    age: int
    sex: str

    def sample(self, grid: Grid) -> Sample: ...

    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]: ...


class Region(Protocol):
    """Builds bodies: `build(spec, seed)` -> Body with its findings placed."""

    name: str

    def build(self, spec: CaseSpec, seed: int) -> Body: ...
