"""Answer keys for limb films, written from measurements of the variant (measure.py and the
renderer's label projections), never from the request alone."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.regions.limb.anatomy import Wrist
from imagine_med.engine.phantom.regions.limb.fracture import Fracture
from imagine_med.engine.phantom.regions.limb.labels import LABELS
from imagine_med.engine.phantom.regions.limb.request import MECHANISMS, Wanted, ao_code

VIEW_WORDS = {"pa": "PA", "ap": "AP", "lateral": "lateral", "oblique": "PA oblique",
              "mortise": "mortise"}
CARPALS = ("scaphoid", "lunate", "triquetrum", "pisiform", "trapezium", "trapezoid",
           "capitate", "hamate")


def who(side: str, view: str, age: float, region: str = "wrist") -> str:
    return f"{side.capitalize()} {region}, {VIEW_WORDS[view]} view, age {age:.0f}."


def normal_sentence(wrist: Wrist, labels: np.ndarray, px: float, view: str, side: str) -> str:
    if wrist.region in ("hip", "shoulder"):
        return (f"Normal {wrist.region}: no fracture or dislocation. "
                f"{who(side, view, wrist.age, wrist.region)}")
    if wrist.region == "elbow":
        pads = ""
        if view == "lateral":
            seen = (labels == LABELS["posterior_fat_pad"]).sum() * px * px
            pads = " The posterior fat pad is not seen." if seen < 5.0 else \
                f" A posterior fat pad is visible ({seen:.0f} mm^2)."
        return f"Normal elbow: no fracture or effusion.{pads} " \
            f"{who(side, view, wrist.age, 'elbow')}"
    if wrist.region == "ankle":
        growth = " The distal tibial growth plate is open." \
            if (labels == LABELS["tibia_physis"]).any() else ""
        return (f"Normal ankle: no fracture; the mortise is congruent.{growth} "
                f"{who(side, view, wrist.age, 'ankle')}")
    region = wrist.region
    seen = [c for c in CARPALS if (labels == LABELS[c]).any()]
    physis = (labels == LABELS["radius_physis"]).any()
    growth = " The distal radial growth plate is open." if physis else ""
    carpals = f" {len(seen)} ossified carpal bone{'s' if len(seen) != 1 else ''} seen." \
        if seen else " No carpal ossification centres are seen yet."
    return f"Normal {region}: no fracture or dislocation.{carpals}{growth} " \
        f"{who(side, view, wrist.age, region)}"


def dislocation_sentence(want: Wanted, m: dict[str, float], view: str, side: str,
                         age: float, joint: str = "hip") -> str:
    cause = f", from {MECHANISMS[want.mechanism]}" if want.mechanism else ""
    if joint == "shoulder":
        where = ""
        if "head_offset_mm" in m:
            below = -m["head_above_cup_mm"]
            where = (f" The humeral head lies out of the glenoid, its centre {below:.0f} mm "
                     "below the glenoid's (level with it in a normal shoulder), under the "
                     "coracoid.")
        return (f"Anterior (subcoracoid) dislocation of the shoulder{cause}.{where} "
                f"{who(side, view, age, 'shoulder')}")
    where = ""
    if "head_offset_mm" in m:
        where = (" The femoral head lies out of the acetabulum, its centre "
                 f"{m['head_offset_mm']:.0f} mm from the socket's and "
                 f"{m['head_above_cup_mm']:.0f} mm above it; the femur is adducted and turned "
                 "in (the lesser trochanter hidden).")
    return f"Posterior dislocation of the hip{cause}.{where} {who(side, view, age, 'hip')}"


def weber_from(top_above_mm: float, bottom_above_mm: float) -> str:
    """Danis-Weber level from where the fibular line lies against the tibial plafond (mm
    above it, + proximal): A wholly below the joint line, C wholly over 10 mm above it (the
    syndesmosis' upper limit), B across the syndesmosis."""
    if top_above_mm < 2.0:
        return "A"
    if bottom_above_mm > 10.0:
        return "C"
    return "B"


def fracture_sentence(f: Fracture, want: Wanted, m: dict[str, float], view: str, side: str,
                      age: float) -> str:
    code, description = ao_code(f.pattern, f.salter_harris)
    parts = [f"{description[0].upper()}{description[1:]} (AO/OTA {code})"]
    if want.mechanism:
        parts[0] += f", from {MECHANISMS[want.mechanism]}"
    parts[0] += "."
    if "line_top_above_plafond_mm" in m:
        top, bottom = m["line_top_above_plafond_mm"], m["line_bottom_above_plafond_mm"]

        def where(v: float) -> str:
            return f"{abs(v):.0f} mm {'above' if v >= 0 else 'below'}"

        parts.append(f"The fibular fracture line runs from {where(bottom)} to {where(top)} the "
                     f"tibial plafond on this view: Weber {weber_from(top, bottom)}.")
    if "distance_to_articular_mm" in m:
        parts.append(f"The fracture line lies {m['distance_to_articular_mm']:.0f} mm proximal "
                     "to the distal radial articular surface.")
    if "angulation_deg" in m and "dorsal_tilt_deg" in m:
        ang = m["angulation_deg"]
        way = "dorsal" if ang >= 0 else "volar"
        tilt = m["dorsal_tilt_deg"]
        tilt_words = f"{abs(tilt):.0f} deg {'dorsal' if tilt >= 0 else 'palmar'}"
        parts.append(f"On the lateral view the distal fragment is angulated {abs(ang):.0f} deg "
                     f"{way}ly (articular surface tilted {tilt_words}; normal ~11 deg palmar)"
                     + (f", displaced {abs(m['displacement_mm']):.1f} mm "
                        f"{'dorsally' if m['displacement_mm'] >= 0 else 'volarly'}"
                        if "displacement_mm" in m else "") + ".")
    if "line_from_head_centre_mm" in m:
        parts.append(f"The fracture line crosses the neck {m['line_from_head_centre_mm']:.0f} mm "
                     "from the head's centre (subcapital); the head sits in the acetabulum "
                     f"(centre {m.get('head_offset_mm', 0):.0f} mm from the socket's).")
    if "posterior_fat_pad_mm2" in m:
        area = m["posterior_fat_pad_mm2"]
        parts.append(f"The posterior fat pad is lifted out of its fossa and visible ({area:.0f} "
                     "mm^2 on this lateral): a haemarthrosis (the posterior fat pad sign)."
                     if area >= 5.0 else "The posterior fat pad is not seen.")
    if "tibial_fragments" in m:
        parts.append(f"{int(m['tibial_fragments'])} tibial fragments on this view (a free "
                     "middle segment).")
    if f.pattern == "boxer" and "angulation_deg" in m:
        parts.append(f"On the lateral view the head is angulated {m['angulation_deg']:.0f} deg "
                     "into the palm (apex dorsal).")
    if m.get("shortening_mm", 0) >= 1.0:
        parts.append(f"The radius is shortened by {m['shortening_mm']:.0f} mm with impaction.")
    if f.salter_harris and "crosses_physis" in m:
        zones = [z for z in ("metaphysis", "physis", "epiphysis") if m.get(f"crosses_{z}")]
        parts.append(f"The fracture line crosses the {', '.join(zones)} on this view.")
    if m.get("gap_mm", 0) > 0.2 and f.pattern not in ("buckle",):
        parts.append(f"Fracture gap {m['gap_mm']:.1f} mm.")
    if "weeks" in m:
        wk = m["weeks"]
        when = "at injury (day 0)" if wk == 0 else f"{wk:g} weeks after injury"
        callus = m.get("callus_area_mm2", 0.0)
        if wk == 0:
            state = "no callus"
        elif callus > 0:
            state = f"periosteal callus {callus:.0f} mm^2 on this view"
        else:
            state = "no callus visible"
        line = m.get("gap_mm", 0.0)
        healed = "the fracture line is no longer seen (united)" if line < 0.2 else \
            f"the fracture line is still visible ({line:.1f} mm)"
        parts.append(f"Healing series, {when}: {state}; {healed}.")
    region = {"fibula": "ankle", "metacarpal_5": "hand", "humerus": "elbow",
              "femur": "hip", "tibia": "ankle"}.get(f.bone, "wrist")
    parts.append(who(side, view, age, region))
    return " ".join(parts)
