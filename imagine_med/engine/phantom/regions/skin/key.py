"""Answer-key sentences for skin, from measured numbers only (measure.py)."""

from __future__ import annotations

from imagine_med.engine.phantom.regions.skin.lesions import MELANOCYTIC
from imagine_med.engine.phantom.regions.skin.measure import Measured, category

NAMES = {"naevus": "common (banal) naevus", "dysplastic_naevus": "dysplastic (atypical) naevus",
         "melanoma": "melanoma", "seborrhoeic_keratosis": "seborrhoeic keratosis",
         "basal_cell_carcinoma": "pigmented basal cell carcinoma",
         "dermatofibroma": "dermatofibroma", "haemangioma": "haemangioma",
         "blue_naevus": "blue naevus", "spitz_naevus": "Spitz/Reed naevus (starburst pattern)",
         "congenital_naevus": "small congenital naevus", "melanoma_in_situ": "melanoma in situ",
         "actinic_keratosis": "actinic keratosis",
         "squamous_cell_carcinoma": "invasive squamous cell carcinoma"}
CLUES = {
    "seborrhoeic_keratosis": [("milia_like_cyst", "milia-like cysts"),
                              ("comedo_like_opening", "comedo-like openings")],
    "basal_cell_carcinoma": [("blue_grey_nests", "blue-grey ovoid nests")],
    "haemangioma": [("lacunae", "red-purple lacunae")],
    "actinic_keratosis": [("follicular_openings", "keratin-plugged follicular openings in "
                           "an erythematous pseudo-network (strawberry pattern)"),
                          ("scale", "patches of surface scale")],
    "squamous_cell_carcinoma": [("keratin_mass", "central keratin mass"),
                                ("follicular_openings", "white circles"),
                                ("ulceration", "ulceration with blood crust")],
    "melanoma_in_situ": [("angulated_lines", "angulated lines")],
}


def _list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def skin_sentence(view: str, field_mm: float, skin_type: str, site: str, ita: float) -> str:
    return (f"{view} of skin on the {site}, {field_mm:g} mm field, Fitzpatrick type "
            f"{skin_type} (perilesional ITA {ita:.0f}°).")


def lesion_sentence(name: str, seen: Measured, labels_present: set[str]) -> str:
    if not seen.present:
        return f"The {NAMES[name]} is outside the field."
    m = seen.m
    parts = [f"A {m['diameter_mm']:.1f} mm lesion"]
    a = int(m["asymmetry_axes"])
    parts.append({0: "symmetric about both axes", 1: "asymmetric about one axis",
                  2: "asymmetric about both axes"}[a])
    parts.append(f"border cut off abruptly in {int(m['border_segments'])} of 8 segments")
    text = ", ".join(parts) + "."
    if seen.colours:
        text += f" {len(seen.colours)} colour{'s' if len(seen.colours) > 1 else ''}: " \
                f"{_list(seen.colours)}."
    structs = list(seen.structures)
    for lab, words in [("blue_white_veil", "blue-white veil"), ("regression", "regression"),
                       ("vessels", "vessels"), ("central_white_patch", "central white patch")]:
        if lab in labels_present:
            structs.append(words)
    for lab, words in CLUES.get(name, []):
        if m.get(lab):
            structs.append(f"{words} ({int(m[lab])})")
    if "vessels" in labels_present and name == "basal_cell_carcinoma":
        structs[structs.index("vessels")] = "arborising vessels"
    if "vessels" in labels_present and name == "squamous_cell_carcinoma":
        structs[structs.index("vessels")] = "glomerular and hairpin vessels at the rim"
    if structs:
        text += f" Structures: {_list(structs)}."
    if "dot_max_mm" in m:
        text += f" Dots up to {m['dot_max_mm']:.2f} mm"
        text += f"; globules from {m['globule_min_mm']:.2f} mm." if "globule_min_mm" in m else "."
    tds, cat = m["tds"], category(m["tds"])
    band = {"benign": "benign, < 4.75", "suspicious": "suspicious, 4.75-5.45",
            "melanoma": "melanoma range, > 5.45"}[cat]
    seven = int(m["seven_point"])
    if name in MELANOCYTIC:
        text += f" ABCD: A {a}, B {int(m['border_segments'])}, C {int(m['colours'])}, " \
                f"D {int(m['structures'])}: TDS {tds:.2f} ({band})."
        text += f" 7-point checklist {seven}" + (f" ({_list(seen.seven)})" if seen.seven
                                                 else "") \
            + (": suggests melanoma." if seven >= 3 else ": below 3.")
    else:
        text += f" Not melanocytic, so ABCD does not apply (TDS would be {tds:.2f})."
    return text + f" Diagnosis: {NAMES[name]}."
