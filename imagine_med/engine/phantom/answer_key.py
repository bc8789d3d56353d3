"""The answer key, written as a teacher would dictate it, from what was actually built."""

from __future__ import annotations

from imagine_med.engine.phantom.pathology import Placed

LOBE_NAME = {"rul": "right upper lobe", "rml": "right middle lobe", "rll": "right lower lobe",
             "lul": "left upper lobe", "lingula": "lingula", "lll": "left lower lobe"}
FISSURE = {"rul": "the horizontal fissure", "rml": "the horizontal and oblique fissures",
           "rll": "the oblique fissure", "lul": "the oblique fissure",
           "lingula": "the oblique fissure", "lll": "the oblique fissure"}
SILHOUETTE = {"rml": "the right heart border is lost (silhouette sign)",
              "lingula": "the left heart border is lost (silhouette sign)",
              "rll": "the right hemidiaphragm is obscured while the right heart border stays "
                     "sharp",
              "lll": "the left hemidiaphragm is obscured behind the heart while the left heart "
                     "border stays sharp",
              "rul": "the right paratracheal region is opacified; the heart borders stay sharp",
              "lul": "the aortic knuckle is obscured"}


def _sev(p: Placed) -> str:
    return {"mild": "small", "moderate": "moderate", "severe": "large"}[p.severity]


def sentence(p: Placed, modality: str, supine: bool = False) -> str:
    n = p.name
    ct = modality == "ct"
    supine = supine or ct
    side = p.side if p.side in ("left", "right") else None
    if n == "consolidation":
        lobe = LOBE_NAME[p.lobe]
        what = "Lobar consolidation" if p.facts.get("lobar") else "Patchy consolidation"
        text = f"{what} of the {lobe}, sharply bounded by {FISSURE[p.lobe]}, with air bronchograms"
        if not ct:
            text += f"; {SILHOUETTE[p.lobe]}"
        return text + "."
    if n == "pleural_effusion":
        if side is None:
            return (f"{_sev(p).capitalize()} bilateral pleural effusions" + (
                ", layering posteriorly." if supine else ": both costophrenic angles are "
                "blunted, with menisci rising laterally."))
        if ct:
            return (f"{_sev(p).capitalize()} {side} pleural effusion layering dependently "
                    "(posteriorly) with fluid attenuation, compressing the adjacent lung.")
        if supine:
            return (f"{_sev(p).capitalize()} {side} pleural effusion layering posteriorly: a "
                    f"veil-like haze over the {side} hemithorax with the vessels still seen "
                    "through it (supine film).")
        return (f"{_sev(p).capitalize()} {side} pleural effusion: the {side} costophrenic angle "
                "is blunted with a meniscus rising laterally.")
    if n == "pneumothorax":
        if p.facts.get("tension"):
            return (f"Large {side} tension pneumothorax: the lung has collapsed toward the hilum, "
                    f"no lung markings beyond the visceral pleural line, the mediastinum is "
                    f"shifted to the {'left' if side == 'right' else 'right'} and the {side} "
                    "hemidiaphragm is depressed. A clinical emergency.")
        return (f"{_sev(p).capitalize()} {side} pneumothorax: a thin visceral pleural line with "
                "no lung markings beyond it" + (", air anteriorly" if ct else "") + ".")
    if n in ("nodule", "mass"):
        spic = "spiculated " if "spiculated" in p.modifiers else ""
        calc = "calcified " if "calcified" in p.modifiers else ""
        return (f"{p.facts.get('diameter_mm', '')} mm {calc}{spic}{n} in the "
                f"{LOBE_NAME[p.lobe]}" + (" with spiculated margins" if spic else
                                          ", well defined") + ".")
    if n == "cavity":
        return (f"Cavitating lesion in the {LOBE_NAME[p.lobe]}, {p.facts.get('diameter_mm')} mm, "
                f"wall {p.facts.get('wall_mm'):g} mm thick, with an air-fluid level.")
    if n == "cardiomegaly":
        return (f"Cardiomegaly: cardiothoracic ratio about {p.facts.get('ctr', 0.6):.2f} "
                "(normal < 0.5 on a PA film).")
    if n == "pulmonary_edema":
        return ("Pulmonary oedema: bilateral perihilar (bat-wing) airspace opacity, upper lobe "
                "blood diversion, Kerley B lines at the lateral bases, small bilateral pleural "
                "effusions and an enlarged heart.")
    if n == "collapse":
        return (f"Collapse of the {LOBE_NAME[p.lobe]} with volume loss: a dense, shrunken lobe "
                f"drawn toward the hilum, displaced fissure and ipsilateral mediastinal shift; "
                f"{SILHOUETTE.get(p.lobe, '')}.")
    if n == "emphysema":
        return ("Emphysema with hyperinflation: flattened, low hemidiaphragms, hyperlucent upper "
                "zones with pruned vessels, apical bullae and a narrow heart.")
    if n == "fibrosis":
        return ("Basal-predominant peripheral reticulation" + (" with subpleural honeycombing"
                                                             if ct else "")
                + " and reduced lung volumes, in keeping with interstitial fibrosis (UIP pattern).")
    if n == "miliary_nodules":
        return "Innumerable 1-3 mm nodules evenly distributed through both lungs (miliary pattern)."
    if n == "pneumoperitoneum":
        return ("Free intraperitoneal gas: a crescent of air under the right hemidiaphragm "
                "(pneumoperitoneum)." if not ct else "Free intraperitoneal gas anteriorly "
                "beneath the abdominal wall (pneumoperitoneum).")
    if n == "rib_fracture":
        return (f"Displaced fracture of the {side} {_ordinal(p.rib or 6)} rib (posterior "
                "arc), with a step in the cortex.")
    if n == "hiatus_hernia":
        return ("Hiatus hernia: a retrocardiac soft-tissue mass containing an air-fluid level, "
                "just above the diaphragm.")
    if n == "mediastinal_widening":
        return (f"Widened superior mediastinum (about {p.facts.get('width_mm', 90)} mm across); "
                "needs CT to exclude aortic injury or lymphadenopathy.")
    if n == "et_tube":
        return (f"Endotracheal tube with its tip {p.facts.get('tip_above_carina_mm', 50) / 10:.1f} "
                "cm above the carina (satisfactory position).")
    if n == "central_line":
        return (f"{(p.side or 'right').capitalize()} internal jugular central venous catheter, tip "
                "at the cavoatrial junction; no pneumothorax.")
    if n == "pacemaker":
        return ("Left pectoral dual-chamber pacemaker with leads in the right atrium and the "
                "right ventricular apex.")
    return n.replace("_", " ").capitalize() + "."


def _ordinal(k: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


def _who(age: int, sex: str) -> str:
    when = "newborn" if age == 0 else "1 year" if age == 1 else f"{age} years"
    return f"{'Male' if sex == 'male' else 'Female'}, {when}."


def normal_text(modality: str, view: str, ctr: float, age: int, sex: str) -> str:
    who = _who(age, sex)
    if modality == "ct":
        return (f"{who} Normal CT chest: clear lungs with normal fissures, bronchi and vessels; "
                "normal heart and great vessels; no effusion, no pneumothorax; bones intact.")
    film = {"pa": "PA", "ap": "AP supine", "lateral": "Lateral"}[view]
    heart = (f"heart size normal (CTR {ctr:.2f})" if view == "pa" else
             "heart size within normal limits for an AP film" if view == "ap" else
             "normal cardiac outline")
    return (f"{who} {film} chest radiograph. Trachea central; {heart}; clear lungs with normal "
            "vascular markings; sharp costophrenic angles; the right hemidiaphragm sits "
            "slightly higher than the left; no pneumothorax; bones intact.")


def compose(placed: list[Placed], modality: str, view: str, ctr: float, age: int,
            sex: str) -> str:
    if not placed:
        return normal_text(modality, view, ctr, age, sex)
    who = _who(age, sex)
    film = ("CT chest" if modality == "ct" else
            {"pa": "PA chest radiograph", "ap": "AP supine chest radiograph",
             "lateral": "Lateral chest radiograph"}[view])
    body = " ".join(sentence(p, modality, supine=view == "ap") for p in placed)
    return f"{who} {film}. Findings: {body} The rest of the study is normal."
