"""Age ranges (years) of the prompt's age groups, shared by every region's seeded build."""

from __future__ import annotations

AGE_OF_GROUP = {"neonate": (0, 0), "infant": (1, 1), "child": (4, 11), "adolescent": (13, 17),
                "adult": (25, 64), "elderly": (66, 88)}
