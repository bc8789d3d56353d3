"""Which teeth a patient of a given age has, and each tooth's size, by FDI number.

FDI (ISO 3950): quadrant 1 upper right, 2 upper left, 3 lower left, 4 lower right (5-8 the same
for primary teeth), then position 1 (central incisor) to 8 (third molar; 5 for primary second
molars). Sources:
- Eruption and exfoliation ages: American Dental Association, "Tooth eruption charts"
  (permanent and primary teeth; JADA 2005/2006 patient pages), mid-points of the ranges.
- Crown and root sizes: Wheeler's Dental Anatomy, Physiology and Occlusion (Nelson, 10th ed.),
  tables of average measurements (permanent) and Ash's tables for primary teeth, in mm.
Crown formation of permanent teeth (start ~ birth for first molars, ~3-4 y for premolars and
second molars, ~9 y for third molars) and root completion ~3 years after eruption follow Logan
& Kronfeld as tabulated in the same texts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ToothSize:
    """Average sizes in mm: crown height, root length, mesiodistal crown width, mesiodistal
    width at the cervix, buccolingual crown width, number of roots seen on a panoramic film."""

    crown: float
    root: float
    md: float
    md_cervix: float
    bl: float
    roots: int


# Wheeler's averages. Upper first premolars have two roots, buccal and palatal, which lie one
# behind the other in the beam: one root on the film. Upper molars' three roots likewise show
# as two (mesiobuccal, distobuccal over the palatal).
PERMANENT: dict[tuple[str, int], ToothSize] = {
    ("upper", 1): ToothSize(10.5, 13.0, 8.5, 7.0, 7.0, 1),
    ("upper", 2): ToothSize(9.0, 13.0, 6.5, 5.0, 6.0, 1),
    ("upper", 3): ToothSize(10.0, 17.0, 7.5, 5.5, 8.0, 1),
    ("upper", 4): ToothSize(8.5, 14.0, 7.0, 5.0, 9.0, 1),
    ("upper", 5): ToothSize(8.5, 14.0, 7.0, 5.0, 9.0, 1),
    ("upper", 6): ToothSize(7.5, 12.5, 10.0, 8.0, 11.0, 2),
    ("upper", 7): ToothSize(7.0, 11.0, 9.0, 7.0, 11.0, 2),
    ("upper", 8): ToothSize(6.5, 11.0, 8.5, 6.5, 10.0, 2),
    ("lower", 1): ToothSize(9.0, 12.5, 5.0, 3.5, 6.0, 1),
    ("lower", 2): ToothSize(9.5, 14.0, 5.5, 4.0, 6.5, 1),
    ("lower", 3): ToothSize(11.0, 16.0, 7.0, 5.5, 7.5, 1),
    ("lower", 4): ToothSize(8.5, 14.0, 7.0, 5.0, 7.5, 1),
    ("lower", 5): ToothSize(8.0, 14.5, 7.0, 5.0, 8.0, 1),
    ("lower", 6): ToothSize(7.5, 14.0, 11.0, 9.0, 10.5, 2),
    ("lower", 7): ToothSize(7.0, 13.0, 10.5, 8.0, 10.0, 2),
    ("lower", 8): ToothSize(7.0, 11.0, 10.0, 7.5, 9.5, 2),
}
# Ash's averages for primary teeth (positions 1-5: incisors, canine, first and second molar)
PRIMARY: dict[tuple[str, int], ToothSize] = {
    ("upper", 1): ToothSize(6.0, 10.0, 6.5, 4.5, 5.0, 1),
    ("upper", 2): ToothSize(5.6, 11.4, 5.1, 3.7, 4.0, 1),
    ("upper", 3): ToothSize(6.5, 13.5, 7.0, 5.1, 7.0, 1),
    ("upper", 4): ToothSize(5.1, 10.0, 7.3, 5.2, 8.5, 2),
    ("upper", 5): ToothSize(5.7, 11.7, 8.2, 6.4, 10.0, 2),
    ("lower", 1): ToothSize(5.0, 9.0, 4.2, 3.0, 4.0, 1),
    ("lower", 2): ToothSize(5.2, 10.0, 4.1, 3.0, 4.0, 1),
    ("lower", 3): ToothSize(6.0, 11.5, 5.0, 3.7, 4.8, 1),
    ("lower", 4): ToothSize(6.0, 9.8, 7.7, 6.5, 7.0, 2),
    ("lower", 5): ToothSize(5.5, 11.3, 9.9, 7.7, 8.7, 2),
}

# ADA eruption charts, mid-range, in years: permanent (upper, lower) by position
ERUPT_PERMANENT: dict[int, tuple[float, float]] = {
    1: (7.5, 6.5), 2: (8.5, 7.5), 3: (11.5, 9.5), 4: (10.5, 11.0), 5: (11.0, 11.5),
    6: (6.5, 6.5), 7: (12.5, 12.0), 8: (19.0, 19.0)}
# primary: eruption (months -> years) and exfoliation, (upper, lower)
ERUPT_PRIMARY: dict[int, tuple[float, float]] = {
    1: (10 / 12, 8 / 12), 2: (11 / 12, 13 / 12), 3: (19 / 12, 20 / 12), 4: (16 / 12, 16 / 12),
    5: (29 / 12, 27 / 12)}
SHED_PRIMARY: dict[int, tuple[float, float]] = {
    1: (6.5, 6.5), 2: (7.5, 7.5), 3: (11.0, 10.5), 4: (10.0, 10.0), 5: (11.0, 11.0)}
# age (years) at which a permanent crown starts to calcify (Logan & Kronfeld), by position
CROWN_START: dict[int, float] = {1: 0.3, 2: 0.8, 3: 0.4, 4: 1.8, 5: 2.3, 6: 0.0, 7: 2.8, 8: 9.0}
CROWN_YEARS = 4.5  # a crown takes about 4-5 years to complete
ROOT_YEARS = 3.0  # root completion ~3 years after eruption (Logan & Kronfeld)

QUADRANT_SIDE = {1: "right", 2: "left", 3: "left", 4: "right",
                 5: "right", 6: "left", 7: "left", 8: "right"}
QUADRANT_JAW = {1: "upper", 2: "upper", 3: "lower", 4: "lower",
                5: "upper", 6: "upper", 7: "lower", 8: "lower"}
POSITION_NAMES = {1: "central incisor", 2: "lateral incisor", 3: "canine",
                  4: "first premolar", 5: "second premolar", 6: "first molar",
                  7: "second molar", 8: "third molar"}
PRIMARY_POSITION_NAMES = {1: "central incisor", 2: "lateral incisor", 3: "canine",
                          4: "first molar", 5: "second molar"}


@dataclass(frozen=True)
class Tooth:
    """One tooth of one patient: FDI number, its size, `erupted` (in the mouth) and how much
    of it has formed (`crown_frac`, `root_frac` in 0-1)."""

    fdi: int
    size: ToothSize
    erupted: bool
    crown_frac: float
    root_frac: float

    @property
    def quadrant(self) -> int:
        return self.fdi // 10

    @property
    def position(self) -> int:
        return self.fdi % 10

    @property
    def primary(self) -> bool:
        return self.quadrant >= 5

    @property
    def jaw(self) -> str:
        return QUADRANT_JAW[self.quadrant]

    @property
    def side(self) -> str:
        return QUADRANT_SIDE[self.quadrant]

    @property
    def label(self) -> str:
        return f"tooth_{self.fdi}" if self.erupted else f"germ_{self.fdi}"


def tooth_name(fdi: int) -> str:
    """'lower left first molar' for 36, 'upper right primary canine' for 53."""
    q, p = divmod(fdi, 10)
    names = PRIMARY_POSITION_NAMES if q >= 5 else POSITION_NAMES
    primary = "primary " if q >= 5 else ""
    return f"{QUADRANT_JAW[q]} {QUADRANT_SIDE[q]} {primary}{names[p]}"


def _clip(v: float) -> float:
    return max(0.0, min(1.0, v))


def dentition(age: float, third_molars: bool = True) -> list[Tooth]:
    """The teeth present at `age` (years): primary teeth between eruption and shedding,
    permanent teeth erupted or forming in their crypts. Third molars are absent (agenesis,
    ~20% of people) when `third_molars` is false."""
    teeth: list[Tooth] = []
    for q in (1, 2, 3, 4):
        jaw = QUADRANT_JAW[q]
        j = 0 if jaw == "upper" else 1
        for p in range(1, 9):
            if p == 8 and not third_molars:
                continue
            start = CROWN_START[p]
            if age < start + 0.3:
                continue  # no calcified crown yet: nothing on the film
            erupt = ERUPT_PERMANENT[p][j]
            crown = _clip((age - start) / CROWN_YEARS)
            root = _clip((age - (start + CROWN_YEARS)) / (erupt + ROOT_YEARS - start
                                                          - CROWN_YEARS))
            teeth.append(Tooth(q * 10 + p, PERMANENT[(jaw, p)], age >= erupt, crown, root))
        for p in range(1, 6):
            if ERUPT_PRIMARY[p][j] - 0.5 <= age < SHED_PRIMARY[p][j]:
                erupted = age >= ERUPT_PRIMARY[p][j]
                # roots resorb in the last years before shedding
                resorb = _clip((SHED_PRIMARY[p][j] - age) / 3.0)
                teeth.append(Tooth((q + 4) * 10 + p, PRIMARY[(jaw, p)], erupted, 1.0,
                                   resorb if erupted else 0.3))
    return teeth
