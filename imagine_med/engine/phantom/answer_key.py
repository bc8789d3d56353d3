"""The answer key, written as a teacher would dictate it, from what one variant shows.

Each sentence is built from a `Seen`: the finding's measurements on that image (label
pixels, sizes, ratios; `measure.py`) and, where its label is empty, how far the slice
misses it (`extent.py`). Numbers are the measured ones; a part of a finding (air
bronchograms, a cavity's lumen, a border it hides) is named only where it was drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imagine_med.engine.phantom.extent import AXIS_WORDS
from imagine_med.engine.phantom.regions.chest.findings import Placed

LOBE_NAME = {"rul": "right upper lobe", "rml": "right middle lobe", "rll": "right lower lobe",
             "lul": "left upper lobe", "lingula": "lingula", "lll": "left lower lobe"}
FISSURE = {"rul": "the horizontal fissure", "rml": "the horizontal and oblique fissures",
           "rll": "the oblique fissure", "lul": "the oblique fissure",
           "lingula": "the oblique fissure", "lll": "the oblique fissure"}
# the outline each lobe lies against: hidden (silhouette sign) when its consolidation's label
# meets that outline's label on the film
SILHOUETTE = {"rml": "heart", "lingula": "heart", "rll": "hemidiaphragm", "lll": "hemidiaphragm",
              "rul": "right paratracheal stripe", "lul": "aortic knuckle"}


@dataclass(frozen=True)
class Seen:
    """What one variant shows of a placed finding."""

    present: bool
    measurements: dict[str, float] = field(default_factory=dict)
    borders: tuple[str, ...] = ()  # film outlines its label meets (silhouette sign)
    offset_mm: float | None = None  # CT, absent: signed distance of the finding from the slice
    axis: int | None = None  # the slice normal's patient axis (0 x, 1 y, 2 z)
    volume_ml: float | None = None  # of the built finding (sampled from the model)


DISPLAY = {"cardiomegaly": "enlarged heart", "pulmonary_edema": "pulmonary oedema",
           "et_tube": "endotracheal tube", "central_line": "central venous catheter",
           "miliary_nodules": "miliary nodules", "mediastinal_widening":
           "mediastinal widening", "hiatus_hernia": "hiatus hernia"}


def _size_word(percent: float) -> str:
    return "small" if percent < 15 else "moderate" if percent < 40 else "large"


def _volume_word(ml: float) -> str:
    """An effusion's size by its volume (a film hides ~200 ml; a litre is large)."""
    return "small" if ml < 300 else "moderate" if ml < 1000 else "large"


def _silhouette(p: Placed, seen: Seen) -> str:
    border = SILHOUETTE[p.lobe]
    if border not in seen.borders:
        return ""
    named = {"heart": f"the {p.side} heart border", "hemidiaphragm": f"the {p.side} "
             "hemidiaphragm"}.get(border, f"the {border}")
    return f"; {named} is lost (silhouette sign)"


def sentence(p: Placed, seen: Seen, view: str) -> str:
    """One finding as this image shows it; `view` is pa, ap, lateral or a CT plane."""
    if not seen.present:
        return absent_sentence(p, seen)
    n = p.name
    m = seen.measurements
    ct = view in ("axial", "coronal", "sagittal")
    film = not ct
    supine = ct or view == "ap"
    side = p.side if p.side in ("left", "right") else None
    where = "on this slice" if ct else "on this film"
    if n == "consolidation":
        lobe = LOBE_NAME[p.lobe]
        lobar = bool(p.facts.get("lobar"))
        text = (f"Lobar consolidation of the {lobe}, sharply bounded by {FISSURE[p.lobe]}"
                if lobar else f"Patchy consolidation in the {lobe}")
        text += f", {m['percent']:.0f}% of the {side} lung field {where}"
        if m.get("air_bronchogram_mm2", 0) > 0:
            text += ", with air bronchograms"
        if film and view != "lateral":
            text += _silhouette(p, seen)
        return text + "."
    if n == "pleural_effusion":
        pct = m["percent"]
        size_word = _volume_word(seen.volume_ml) if seen.volume_ml else _size_word(pct)
        if side is None:
            return (f"{size_word.capitalize()} bilateral pleural effusions, {pct:.0f}% of "
                    f"the lung fields {where}" + (", layering posteriorly." if supine else
                                                  ", blunting both costophrenic angles."))
        vol = f"about {seen.volume_ml:.0f} ml; " if seen.volume_ml else ""
        size = (f"{size_word.capitalize()} {side} pleural effusion ({vol}{pct:.0f}% of the "
                f"{side} hemithorax {where})")
        if ct:
            return f"{size}, layering dependently (posteriorly) with fluid attenuation."
        if supine:
            return (f"{size}, layering posteriorly: a veil-like haze over the {side} "
                    "hemithorax with the vessels still seen through it (supine film).")
        return f"{size}: the {side} costophrenic angle is blunted with a meniscus rising " \
               "laterally."
    if n == "pneumothorax":
        pct = m["percent"]
        text = (f"{side.capitalize()} pneumothorax, pleural air over {pct:.0f}% of the {side} "
                f"hemithorax {where}, with no lung markings beyond the visceral pleural line")
        shift = m.get("trachea_shift_mm")
        away = shift is not None and abs(shift) >= 5 and (shift > 0) == (side == "right")
        if p.facts.get("tension") and away:
            text += (f"; the trachea is shifted {abs(shift):.0f} mm to the "
                     f"{'left' if side == 'right' else 'right'} (tension). A clinical emergency")
        return text + "."
    if n in ("nodule", "mass"):
        spic = "spiculated " if "spiculated" in p.modifiers else ""
        calc = "calcified " if "calcified" in p.modifiers else ""
        return (f"{m['diameter_mm']:.0f} mm {calc}{spic}{n} in the {LOBE_NAME[p.lobe]} "
                f"(long axis {where})" + (" with spiculated margins" if spic else
                                          ", well defined") + ".")
    if n == "cavity":
        text = f"Cavitating lesion in the {LOBE_NAME[p.lobe]}, {m['diameter_mm']:.0f} mm"
        if "wall_mm" in m:
            text += f", wall about {m['wall_mm']:.0f} mm thick"
        gas = m.get("gas_percent")
        level = (gas is not None and 5 < gas < 95) if ct else view != "ap"
        if level and "lumen_mm" in m:
            text += ", with an air-fluid level"
        elif "lumen_mm" in m:
            text += ", its lumen filled with " + ("gas" if (gas or 0) >= 95 or not ct else
                                                 "fluid")
        return text + "."
    if n == "cardiomegaly":
        if "ctr" in m:
            note = "normal < 0.50 on a PA film" if view == "pa" else (
                "an AP film magnifies the heart" if view == "ap" else
                "measured on this slice")
            return f"Cardiomegaly: cardiothoracic ratio {m['ctr']:.2f} ({note})."
        across = "front to back" if view in ("lateral", "sagittal") else "across"
        return (f"Cardiomegaly: the heart measures {m['heart_width_mm']:.0f} mm {across} "
                f"{where}.")
    if n == "pulmonary_edema":
        heart = f"; cardiothoracic ratio {m['ctr']:.2f}" if "ctr" in m else ""
        if ct:
            return ("Pulmonary oedema: bilateral perihilar airspace and ground-glass opacity "
                    f"over {m['percent']:.0f}% of the lung fields {where}.")
        return ("Pulmonary oedema: bilateral perihilar (bat-wing) airspace opacity over "
                f"{m['percent']:.0f}% of the lung fields {where}, upper lobe blood diversion, "
                f"Kerley B lines at the lateral bases and small bilateral pleural effusions"
                f"{heart}.")
    if n == "collapse":
        shift = m.get("trachea_shift_mm")
        toward = shift is not None and abs(shift) >= 3 and (shift < 0) == (side == "right")
        return (f"Collapse of the {LOBE_NAME[p.lobe]} with volume loss: a dense, shrunken lobe "
                f"drawn toward the hilum ({m['area_mm2'] / 100:.0f} cm2 {where})" +
                (f"; the trachea is pulled {abs(shift):.0f} mm toward the {side}" if toward
                 else "") + ".")
    if n == "emphysema":
        if ct:
            return ("Emphysema: hyperlucent lungs with centrilobular low-attenuation holes and "
                    f"pruned vessels over {m['percent']:.0f}% of the lung fields {where}.")
        heart = f", a narrow heart (CTR {m['ctr']:.2f})" if "ctr" in m else ""
        return ("Emphysema with hyperinflation: flattened, low hemidiaphragms, hyperlucent lungs "
                f"with pruned vessels and apical bullae{heart}.")
    if n == "fibrosis":
        return ("Basal-predominant peripheral reticulation" + (" with subpleural honeycombing"
                                                             if ct else "")
                + f" ({m['percent']:.0f}% of the lung fields {where}) and reduced lung "
                "volumes, in keeping with interstitial fibrosis (UIP pattern).")
    if n == "miliary_nodules":
        return (f"Innumerable 1-3 mm nodules evenly distributed through both lungs "
                f"({m['count']:.0f} distinct {where}; miliary pattern).")
    if n == "pneumoperitoneum":
        return ("Free intraperitoneal gas: a crescent of air under the right hemidiaphragm "
                "(pneumoperitoneum)." if not supine else "Free intraperitoneal gas anteriorly "
                "beneath the abdominal wall (pneumoperitoneum).")
    if n == "rib_fracture":
        return (f"Displaced fracture of the {side} {_ordinal(p.rib or 6)} rib (posterior "
                "arc), with a step in the cortex.")
    if n == "hiatus_hernia":
        gas = m.get("gas_percent")
        holds = ("containing gas and fluid" if gas is not None and 1 < gas < 99 else
                 "of soft-tissue density" if gas is not None and gas <= 1 else
                 "containing an air-fluid level" if not supine else "containing gas")
        return (f"Hiatus hernia: a {m['diameter_mm']:.0f} mm retrocardiac mass {holds}, just "
                "above the diaphragm.")
    if n == "mediastinal_widening":
        return (f"Widened superior mediastinum ({m['width_mm']:.0f} mm across {where}); "
                "needs CT to exclude aortic injury or lymphadenopathy." if film else
                f"Widened superior mediastinum: a soft-tissue mass {m['width_mm']:.0f} mm "
                f"across {where}.")
    if n == "et_tube":
        tip = m.get("tip_above_carina_mm")
        if tip is None:
            return "Endotracheal tube in the trachea."
        return f"Endotracheal tube with its tip {tip / 10:.1f} cm above the carina."
    if n == "central_line":
        return (f"{(p.side or 'right').capitalize()} internal jugular central venous catheter"
                + (", tip at the cavoatrial junction." if film else " (its cross-section on "
                   "this slice)."))
    if n == "pacemaker":
        return ("Left pectoral dual-chamber pacemaker with leads in the right atrium and the "
                "right ventricular apex." if film else "Pacemaker generator or leads "
                "(left pectoral dual-chamber system) on this slice.")
    return n.replace("_", " ").capitalize() + "."


def absent_sentence(p: Placed, seen: Seen) -> str:
    """A finding the image does not show: where it lies instead (a CT slice that misses it),
    never a description of it as present."""
    what = DISPLAY.get(p.name, p.name.replace("_", " "))
    if p.name == "rib_fracture":
        where = f" of the {p.side} {_ordinal(p.rib or 6)} rib"
    elif p.name == "collapse":
        what, where = f"collapsed {LOBE_NAME[p.lobe]}", ""
    else:
        where = f" in the {LOBE_NAME[p.lobe]}" if p.lobe else (
            f" ({p.side})" if p.side in ("left", "right") else "")
    vol = f" ({seen.volume_ml:.0f} ml)" if seen.volume_ml and seen.volume_ml >= 1 else ""
    off, axis = seen.offset_mm, seen.axis
    if off is None or axis is None or off != off:  # not a slice, or nothing was built
        return f"The requested {what}{where} is not shown on this image."
    if abs(off) < 1:
        return (f"The requested {what}{where}{vol} crosses this slice but too thinly to show "
                "at this size: not seen on this slice.")
    up, down = AXIS_WORDS[axis]
    return (f"The requested {what}{where}{vol} is not in this slice (it lies {abs(off):.0f} mm "
            f"{up if off > 0 else down} it).")


def _ordinal(k: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


def _who(age: int, sex: str) -> str:
    when = "newborn" if age == 0 else "1 year" if age == 1 else f"{age} years"
    return f"{'Male' if sex == 'male' else 'Female'}, {when}."


def normal_text(modality: str, view: str, ctr: float | None, age: int, sex: str) -> str:
    who = _who(age, sex)
    if modality == "ct":
        return (f"{who} Normal CT chest: clear lungs with normal fissures, bronchi and vessels; "
                "normal heart and great vessels; no effusion, no pneumothorax; bones intact.")
    film = {"pa": "PA", "ap": "AP supine", "lateral": "Lateral"}[view]
    heart = (f"heart size normal (CTR {ctr:.2f})" if view == "pa" and ctr is not None else
             "heart size within normal limits for an AP film" if view == "ap" else
             "normal cardiac outline")
    return (f"{who} {film} chest radiograph. Trachea central; {heart}; clear lungs with normal "
            "vascular markings; sharp costophrenic angles; the right hemidiaphragm sits "
            "slightly higher than the left; no pneumothorax; bones intact.")


def compose(placed: list[Placed], seen: list[Seen], modality: str, view: str,
            ctr: float | None, age: int, sex: str) -> str:
    """The whole key: the findings this image shows (measured), then those it misses."""
    if not placed:
        return normal_text(modality, view, ctr, age, sex)
    who = _who(age, sex)
    study = ("CT chest" if modality == "ct" else
             {"pa": "PA chest radiograph", "ap": "AP supine chest radiograph",
              "lateral": "Lateral chest radiograph"}[view])
    shown = [sentence(p, s, view) for p, s in zip(placed, seen, strict=True) if s.present]
    missed = [absent_sentence(p, s) for p, s in zip(placed, seen, strict=True)
              if not s.present]
    body = " ".join(shown) if shown else "None of the requested findings is on this image."
    text = f"{who} {study}. Findings: {body}"
    if missed:
        text += " " + " ".join(missed)
    return text + " The rest of the study is normal."
