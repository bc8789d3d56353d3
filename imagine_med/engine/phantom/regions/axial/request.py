"""From a request to the injury to build on an axial film, with its classification: the
level, the pattern and how much (height lost, slip, spread, diastasis), each from the
prompt's words or a typical value.

Classifications: Genant semiquantitative grading of vertebral fractures (Genant 1993: grade
1 mild 20-25 %, 2 moderate 25-40 %, 3 severe > 40 % height loss); AO Spine thoracolumbar
(Vaccaro 2013: A1 wedge-compression, A3 incomplete burst, A4 complete burst); Meyerding
grading of spondylolisthesis by slip of the S1 (lower) endplate's length (I < 25 %, II 25-50,
III 50-75, IV 75-100, V > 100 spondyloptosis); Wiltse type II isthmic (pars defect);
Anderson-D'Alonzo types of dens fracture (I tip, II base, III into the body); Jefferson
burst of C1 (lateral mass overhang on the open-mouth view summing > 6.9 mm, Spence's rule:
transverse ligament torn); AO/OTA 61 pelvic ring (Tile A2 stable anterior arch: pubic rami;
B1 open book), Young-Burgess APC (symphysis > 25 mm: APC II).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imagine_med.engine.base import EngineError

GENANT_TARGET = {"mild": 0.22, "moderate": 0.32, "severe": 0.48}
MEYERDING_TARGET = {1: 0.15, 2: 0.37, 3: 0.62, 4: 0.85}
JEFFERSON_SPREAD_MM = 10.0  # total overhang asked of a Jefferson fracture (> 6.9: unstable)
OPEN_BOOK_MM = 38.0  # symphysis diastasis of a typical open book (APC II)
DENS_DEFAULT = 2
CERVICAL_LEVELS = ("c3", "c4", "c5", "c6", "c7")
LUMBAR_LEVELS = ("t12", "l1", "l2", "l3", "l4", "l5")


@dataclass(frozen=True)
class Want:
    """pattern: wedge, teardrop, burst, spondylolisthesis, spondylolysis, degenerative, dens,
    jefferson, rami, open_book, garden_N, posterior_dislocation; `amount`: height loss,
    slip or narrowing (fraction), spread or diastasis (mm); `grade`: dens type, Meyerding
    grade asked; `side` for one-sided pelvic injuries."""

    pattern: str
    level: str | None = None
    amount: float = 0.0
    grade: int | None = None
    side: str | None = None
    mechanism: str | None = None


def _grade(mods: tuple[str, ...], prefix: str) -> int | None:
    for m in mods:
        if m.startswith(prefix):
            return int(m.rsplit("_", 1)[1])
    return None


def _level(f, allowed: tuple[str, ...], default: str, what: str) -> str:
    loc = f.location
    if loc is None or not re.fullmatch(r"[ctls]\d{1,2}", loc):
        return default
    if loc not in allowed:
        raise EngineError(
            f"The {what} model has {', '.join(a.upper() for a in allowed)}; not {loc.upper()}."
        )
    return loc


def wanted(spec, region: str) -> Want | None:
    if not spec.findings:
        return None
    if len(spec.findings) > 1:
        names = ", ".join(x.name.replace("_", " ") for x in spec.findings)
        raise EngineError(f"One finding per film on the spine and pelvis models ({names}).")
    f = spec.findings[0]
    mods = f.modifiers
    if region == "cervical_spine":
        return _cervical(f, mods)
    if region == "lumbar_spine":
        return _lumbar(f, mods)
    return _pelvis(f, mods, spec)


def _cervical(f, mods) -> Want:
    if f.name != "fracture":
        raise EngineError(
            f"The cervical spine model builds fractures (dens, Jefferson, wedge); "
            f"not {f.name.replace('_', ' ')}."
        )
    if "jefferson" in mods:
        spread = f.size_mm or JEFFERSON_SPREAD_MM
        return Want("jefferson", "c1", float(spread))
    if "flexion_teardrop" in mods:
        return Want("teardrop", _level(f, CERVICAL_LEVELS, "c5", "flexion teardrop"), 0.3)
    kind = _grade(mods, "dens_type_") or _grade(mods, "type_")
    if f.location in ("dens", "c2") or _grade(mods, "dens_type_"):
        return Want("dens", "c2", grade=min(kind or DENS_DEFAULT, 3))
    level = _level(f, CERVICAL_LEVELS, "c5", "cervical wedge")
    return Want("wedge", level, _loss(f))


def _loss(f) -> float:
    if f.extent is not None:
        return float(min(max(f.extent, 0.05), 0.7))
    return GENANT_TARGET.get(f.severity or "moderate", GENANT_TARGET["moderate"])


def _lumbar(f, mods) -> Want:
    if f.name == "spondylolisthesis":
        grade = _grade(mods, "meyerding_") or _grade(mods, "grade_")
        slip = f.extent if f.extent is not None else MEYERDING_TARGET[grade or 1]
        level = _level(f, ("l3", "l4", "l5"), "l5", "spondylolisthesis")
        return Want("spondylolisthesis", level, float(min(slip, 0.95)), grade)
    if f.name == "spondylolysis":
        return Want("spondylolysis", _level(f, ("l3", "l4", "l5"), "l5", "spondylolysis"))
    if f.name == "disc_degeneration":
        return Want(
            "degenerative", _level(f, (*LUMBAR_LEVELS[:-1], "l5"), "l4", "degenerative disc"), 0.6
        )
    if f.name != "fracture":
        raise EngineError(
            f"The lumbar spine model builds wedge and burst fractures, "
            f"spondylolisthesis, spondylolysis and disc degeneration; not "
            f"{f.name.replace('_', ' ')}."
        )
    level = _level(f, (*LUMBAR_LEVELS[:-1], "l5"), "l1", "lumbar fracture")
    if "burst" in mods:
        return Want("burst", level, 0.42)
    return Want("wedge", level, _loss(f), mechanism="osteoporotic")


def _pelvis(f, mods, spec) -> Want:
    side = f.laterality if f.laterality in ("left", "right") else spec.laterality
    if f.name == "dislocation":
        return Want("posterior_dislocation", side=side, mechanism="dashboard")
    if f.name != "fracture":
        raise EngineError(
            "The pelvis model builds pubic rami fractures, the open book, neck "
            f"of femur fractures and hip dislocation; not {f.name}."
        )
    if "open_book" in mods:
        return Want("open_book", amount=float(f.size_mm or OPEN_BOOK_MM))
    if f.location == "femoral_neck" or any(m.startswith("garden_") for m in mods):
        g = _grade(mods, "garden_") or 3
        return Want(f"garden_{g}", side=side, mechanism="elderly_fall")
    if f.location in (None, "pubic_rami"):
        return Want("rami", side=side, mechanism="elderly_fall")
    raise EngineError(f"The pelvis model has no fracture of the {f.location.replace('_', ' ')}.")
