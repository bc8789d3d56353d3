"""Tissue materials: CT number (HU) and linear attenuation for radiographs.

Values follow ../shared/reference/physics.md ("CT numbers" and "Linear attenuation" tables,
70 keV column); mu for tissues not in the attenuation table uses mu = mu_water * (1 + HU/1000),
the link that file gives between the two tables.
"""

from __future__ import annotations

from dataclasses import dataclass

MU_WATER_70 = 0.194  # cm^-1 at 70 keV (physics.md)


@dataclass(frozen=True)
class Material:
    name: str
    hu: float
    mu: float  # cm^-1 at 70 keV

    @property
    def mu_mm(self) -> float:
        return self.mu / 10.0


def _from_hu(name: str, hu: float) -> Material:
    return Material(name, hu, MU_WATER_70 * (1.0 + hu / 1000.0))


def _layers(name: str, parts: list[tuple[Material, float]]) -> Material:
    """A slab of layers (each material with its share of the thickness): every ray crosses
    them in the same proportion at any obliquity, so the slab is their thickness-weighted mix
    (HU and mu alike, which are linear in each other)."""
    return Material(name, sum(m.hu * f for m, f in parts), sum(m.mu * f for m, f in parts))


M: dict[str, Material] = {
    "air": Material("air", -1000.0, 0.0002),
    "lung": Material("lung", -850.0, 0.050),
    "fat": Material("fat", -100.0, 0.179),
    # the thoracic cavity's filler: mediastinal fat on CT; on a film the mediastinum is a mix
    # of fat, thymus, nodes and small vessels, between fat and water (less than the heart)
    "cavity": Material("cavity", -100.0, 0.185),
    "water": Material("water", 0.0, 0.194),
    "fluid": _from_hu("fluid", 10.0),
    "soft": Material("soft", 40.0, 0.191),
    # a fissure: soft tissue on a film; on CT the model's 1.2 mm sheet stands for pleura a
    # fraction of a millimetre thick, so it shows with its partial volume (a fine grey line)
    "pleura": Material("pleura", -380.0, 0.191),
    "muscle": Material("muscle", 45.0, 0.202),
    "blood": _from_hu("blood", 40.0),
    "liver": _from_hu("liver", 55.0),
    "spleen": _from_hu("spleen", 45.0),
    "breast": _from_hu("breast", -40.0),
    "consolidation": _from_hu("consolidation", 35.0),
    "ground_glass": _from_hu("ground_glass", -450.0),
    "emphysema": _from_hu("emphysema", -950.0),
    "cancellous": _from_hu("cancellous", 380.0),
    # the axial skeleton's trabecular bone with its red marrow (vertebral bodies, sternum):
    # ~230 HU in an adult, falling with
    # age (QCT of L1: ~150 HU at 70, osteoporosis likely below ~110-160 HU; Pickhardt et al.,
    # Ann Intern Med 2013;158:588-595); within physics.md's cancellous range (200-700 HU)
    # at the young end
    "axial_cancellous": _from_hu("axial_cancellous", 230.0),
    "osteopenic_cancellous": _from_hu("osteopenic_cancellous", 150.0),
    "rib": Material("rib", 380.0, 0.37),
    "cortical": Material("cortical", 1300.0, 0.502),
    "cartilage": _from_hu("cartilage", 100.0),
    "calcium": _from_hu("calcium", 600.0),
    "tumour": _from_hu("tumour", 35.0),
    "plastic": _from_hu("plastic", 120.0),
    # devices: CT clips at the scanner's top number, while on a film a barium-loaded stripe
    # (catheters, the ET tube's line) and metal (lead coils, generator can) attenuate far
    # more than the HU link gives; a 1 mm stripe must show like a rib's edge
    "radiopaque": Material("radiopaque", 2500.0, 3.0),
    "metal": Material("metal", 3000.0, 4.0),
}
# The scapular blade on a film: the model's 6 mm plate (shoulders.py) as two cortical laminae of
# 1.2 mm, half the 2-3 mm central body, which is cortex through (Kim 2012: 2.1 mm; Burke 2006:
# 3.0 mm), with marrow between them (the lateral border is 10-14 mm thick).
SCAPULA_LAMINA_SHARE = 2 * 1.2 / 6.0
M["scapular_blade"] = _layers("scapular_blade", [(M["cortical"], SCAPULA_LAMINA_SHARE),
                                                  (M["cancellous"], 1 - SCAPULA_LAMINA_SHARE)])
