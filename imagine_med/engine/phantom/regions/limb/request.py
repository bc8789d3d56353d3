"""From a request to a fracture to build: the pattern named, or the one its mechanism or
eponym implies at the patient's age, and its AO/OTA code and description.

Mechanisms (typical injuries, orthopaedic teaching texts): a fall on the outstretched hand
breaks the distal radius with dorsal angulation in adults (Colles), buckles the distal
radial metaphysis of a young child and slips the growth plate (Salter-Harris II) of an
older child; a fall on the flexed wrist gives the volar-angulated Smith fracture.
AO/OTA (physics.md "Bones and teeth"): 2R radius; segment 2 shaft, 3 distal; distal end
A2 extra-articular simple (.2 dorsal tilt, .3 volar tilt); shaft A1 spiral, A2 oblique,
A3 transverse, B2 wedge; 72 scaphoid (B waist). Children: the AO Pediatric Comprehensive
Classification (Slongo 2007): 23r-E/1-4 for Salter-Harris I-IV, 23r-M/2.1 a buckle
(torus), 22r-D/2.1 a greenstick.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.regions.limb.anatomy import PHYSIS_CLOSES

PATTERN_MODIFIERS = {"transverse": "transverse", "oblique_fracture": "oblique",
                     "spiral": "spiral", "comminuted": "comminuted", "buckle": "buckle",
                     "greenstick": "greenstick", "colles": "colles", "smith": "smith"}
MECHANISMS = {"foosh": "a fall on the outstretched hand",
              "flexion_fall": "a fall on the flexed wrist",
              "inversion": "an inversion (supination-external rotation) injury",
              "supination_adduction": "a supination-adduction injury",
              "pronation_external_rotation": "a pronation-external rotation injury",
              "punch": "a punch", "dashboard": "a dashboard injury (knee against the dashboard)",
              "elderly_fall": "a fall from standing in an older person"}
# Lauge-Hansen mechanism -> the Weber level it typically gives (supination-external rotation,
# the common "rolled ankle", gives Weber B)
ANKLE_MECHANISM = {"inversion": "weber_b", "supination_adduction": "weber_a",
                   "pronation_external_rotation": "weber_c"}
AO: dict[str, tuple[str, str]] = {
    "colles": ("2R3A2.2", "extra-articular simple fracture of the distal radius with dorsal "
               "tilt (Colles)"),
    "smith": ("2R3A2.3", "extra-articular simple fracture of the distal radius with volar "
              "tilt (Smith)"),
    "scaphoid_waist": ("72B", "fracture of the waist of the scaphoid"),
    "transverse": ("2R2A3", "simple transverse fracture of the radial shaft"),
    "oblique": ("2R2A2", "simple oblique fracture of the radial shaft"),
    "spiral": ("2R2A1", "simple spiral fracture of the radial shaft"),
    "comminuted": ("2R2B2", "wedge (butterfly fragment) fracture of the radial shaft"),
    "buckle": ("23r-M/2.1", "buckle (torus) fracture of the distal radial metaphysis"),
    "greenstick": ("22r-D/2.1", "greenstick fracture of the radial shaft"),
    "supracondylar_1": ("13-M/3.1", "supracondylar fracture of the humerus, extension type, "
                        "Gartland I (undisplaced)"),
    "supracondylar_2": ("13-M/3.1", "supracondylar fracture of the humerus, extension type, "
                        "Gartland II (angulated, posterior cortex intact)"),
    "supracondylar_3": ("13-M/3.2", "supracondylar fracture of the humerus, extension type, "
                        "Gartland III (displaced)"),
    **{f"garden_{g}": ("31B1", f"subcapital fracture of the femoral neck, Garden {r} ({w})")
       for g, r, w in ((1, "I", "incomplete, impacted in valgus"),
                       (2, "II", "complete, undisplaced"),
                       (3, "III", "complete, partly displaced in varus"),
                       (4, "IV", "complete, fully displaced"))},
    "posterior_dislocation": ("", "posterior dislocation of the hip"),
    "anterior_dislocation": ("", "anterior (subcoracoid) dislocation of the shoulder"),
    "posterior_shoulder_dislocation": ("", "posterior dislocation of the shoulder"),
    "perilunate_dislocation": ("", "perilunate dislocation of the carpus (Mayfield III)"),
    "lunate_dislocation": ("", "volar dislocation of the lunate (Mayfield IV)"),
    "elbow_dislocation": ("", "posterior dislocation of the elbow"),
    "boxer": ("77.5.3A", "simple fracture of the neck of the fifth metacarpal (boxer's "
              "fracture)"),
    "segmental": ("42C2", "segmental fracture of the tibial shaft (a free middle segment)"),
    "weber_a": ("44A", "Weber A (infrasyndesmotic) fracture of the lateral malleolus"),
    "weber_b": ("44B", "Weber B (transsyndesmotic) fracture of the distal fibula"),
    "weber_c": ("44C", "Weber C (suprasyndesmotic) fracture of the fibula with a torn "
                "syndesmosis"),
}
SALTER_HARRIS_AO = {1: "23r-E/1.1", 2: "23r-E/2.1", 3: "23r-E/3.1", 4: "23r-E/4.1",
                    5: "23r-E (Salter-Harris V has no AO paediatric code of its own)"}
SH_WORDS = {1: "through the physis alone", 2: "through the physis and a metaphyseal corner",
            3: "through the physis and the epiphysis into the joint",
            4: "through the metaphysis, physis and epiphysis", 5: "a crush of the physis"}
CHILD_ONLY = ("buckle", "greenstick", "salter_harris")


@dataclass(frozen=True)
class Wanted:
    pattern: str
    salter_harris: int | None
    mechanism: str | None
    healing_series: bool


def _sh(mods: tuple[str, ...]) -> int | None:
    for m in mods:
        if m.startswith("salter_harris_"):
            return int(m.rsplit("_", 1)[1])
    return None


# patterns and injuries built on another region's film (knee.py, foot.py): asked of this
# one they are refused with where to ask, not drawn as this region's default fracture
BUILT_ELSEWHERE = {"segmental": "knee (a segmental tibial fracture)",
                   "segond": "knee", "lipohaemarthrosis": "knee (horizontal-beam lateral)",
                   "stress": "foot (a second metatarsal stress fracture)", "march": "foot",
                   "jones": "foot", "pseudo_jones": "foot", "lisfranc": "foot",
                   "avulsion": "knee (Segond) or foot (fifth metatarsal base)",
                   **{f"schatzker_{n}": "knee" for n in range(1, 7)}}


def wanted(findings, age: float, sex: str, region: str = "wrist") -> Wanted | None:
    """The fracture a request asks for (None: a normal film); EngineError for anything the
    model does not build."""
    if not findings:
        return None
    f = findings[0]
    for m in f.modifiers:
        if m in BUILT_ELSEWHERE and not (region == "ankle" and m in ("avulsion", "segmental")):
            raise EngineError(f"A {m.replace('_', ' ')} fracture is built on the "
                              f"{BUILT_ELSEWHERE[m]} film, not the {region}'s.")
    if region == "hip":
        return _hip(f, findings, age)
    if region == "shoulder":
        if len(findings) > 1 or f.name != "dislocation":
            names = ", ".join(x.name.replace("_", " ") for x in findings)
            raise EngineError("The shoulder model builds anterior and posterior dislocations "
                              f"({names} is not modelled yet).")
        if "posterior_dislocation" in f.modifiers:
            return Wanted("posterior_shoulder_dislocation", None, None, False)
        return Wanted("anterior_dislocation", None, None, False)
    if f.name == "dislocation" and region in ("wrist", "hand", "elbow") and len(findings) == 1:
        return _dislocation(f, region)
    if f.name != "fracture" or len(findings) > 1:
        names = ", ".join(x.name.replace("_", " ") for x in findings)
        raise EngineError(f"The {region} model builds fractures only ({names} is not modelled "
                          "yet); e.g. 'PA wrist x-ray, Colles fracture'.")
    mods = f.modifiers
    if region == "ankle":
        return _ankle(mods, age, sex)
    if region == "elbow":
        grade = next((int(m[-1]) for m in mods if m.startswith("gartland_")), None)
        if grade is None:
            grade = 3 if "displaced" in mods else 2
        return Wanted(f"supracondylar_{grade}", None,
                      "foosh" if "foosh" in mods else None, "healing_series" in mods)
    if region == "hand":
        if f.location not in (None, "fifth_metacarpal") or \
                any(m in PATTERN_MODIFIERS or m.startswith("salter") for m in mods):
            raise EngineError("The hand model builds the boxer's fracture (neck of the fifth "
                              "metacarpal) so far; wrist fractures are on wrist films.")
        mech = "punch" if "punch" in mods else None
        return Wanted("boxer", None, mech, "healing_series" in mods)
    sh = _sh(mods)
    mech = next((m for m in mods if m in MECHANISMS), None)
    pattern = next((PATTERN_MODIFIERS[m] for m in mods if m in PATTERN_MODIFIERS), None)
    open_physis = age < PHYSIS_CLOSES[sex]
    if sh is not None:
        pattern = "salter_harris"
    elif f.location == "scaphoid":
        pattern = "scaphoid_waist"
    elif pattern is None:
        if mech == "flexion_fall":
            pattern = "smith"
        elif open_physis:
            pattern = "buckle" if age < 10 else "salter_harris"
            sh = None if age < 10 else 2
        else:
            pattern = "colles"
    if pattern in CHILD_ONLY and not open_physis:
        raise EngineError(f"A {pattern.replace('_', '-')} fracture needs an open growth plate; "
                          f"this patient is {age:g} years old (the distal radial physis closes "
                          f"at about {PHYSIS_CLOSES[sex]:g}). Ask for a child, e.g. 'age 9'.")
    if pattern == "salter_harris" and sh is None:
        sh = 2
    return Wanted(pattern, sh, mech, "healing_series" in mods)


def _dislocation(f, region: str) -> Wanted:
    """Perilunate or lunate dislocation at the wrist (perilunate unless the lunate is named
    as the bone that left), a posterior dislocation at the elbow."""
    if region == "elbow":
        return Wanted("elbow_dislocation", None, "foosh" if "foosh" in f.modifiers else None,
                      False)
    pattern = "lunate_dislocation" if "lunate_out" in f.modifiers else "perilunate_dislocation"
    return Wanted(pattern, None, "foosh" if "foosh" in f.modifiers else None, False)


def _ankle(mods: tuple[str, ...], age: float, sex: str) -> Wanted:
    from imagine_med.engine.phantom.regions.limb.ankle import PHYSIS_CLOSES as ANKLE_CLOSES

    if age < ANKLE_CLOSES[sex]:
        raise EngineError("Ankle fractures of children (Tillaux, triplane, Salter-Harris of "
                          f"the distal tibia) are not modelled yet; this patient is {age:g}. "
                          "Ask for an adult.")
    if "segmental" in mods:  # the tibial shaft above the joint
        return Wanted("segmental", None, None, "healing_series" in mods)
    mech = next((m for m in mods if m in ANKLE_MECHANISM), None)
    pattern = next((m for m in mods if m in ("weber_a", "weber_b", "weber_c")), None)
    pattern = pattern or ANKLE_MECHANISM.get(mech or "", "weber_b")
    return Wanted(pattern, None, mech, "healing_series" in mods)


def _hip(f, findings, age: float) -> Wanted:
    mods = f.modifiers
    if len(findings) > 1 or f.name not in ("fracture", "dislocation"):
        names = ", ".join(x.name.replace("_", " ") for x in findings)
        raise EngineError(f"The hip model builds a femoral neck fracture or a posterior "
                          f"dislocation ({names} is not modelled yet).")
    if f.name == "dislocation":
        return Wanted("posterior_dislocation", None,
                      "dashboard" if "dashboard" in mods else None, False)
    garden = next((int(m[-1]) for m in mods if m.startswith("garden_")), 3)
    return Wanted(f"garden_{garden}", None,
                  "elderly_fall" if "elderly_fall" in mods else None,
                  "healing_series" in mods)


def ao_code(pattern: str, sh: int | None) -> tuple[str, str]:
    if pattern == "salter_harris" and sh is not None:
        return SALTER_HARRIS_AO[sh], (f"Salter-Harris type {'I II III IV V'.split()[sh - 1]} "
                                      f"fracture of the distal radius ({SH_WORDS[sh]})")
    return AO[pattern]
