"""Answer-key sentences for axial films, from the measurements (measure.py) of the film
itself; the classification named and, where one applies, its code."""

from __future__ import annotations

from imagine_med.engine.phantom.regions.axial.measure import genant_grade, meyerding_grade
from imagine_med.engine.phantom.regions.axial.request import Want

ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV", 5: "V"}
GENANT_WORD = {
    0: "no fracture (< 20 %)",
    1: "grade 1 (mild, 20-25 %)",
    2: "grade 2 (moderate, 25-40 %)",
    3: "grade 3 (severe, > 40 %)",
}
VIEW_WORD = {
    "ap": "AP",
    "lateral": "lateral",
    "open_mouth": "open-mouth (peg)",
    "oblique": "left posterior oblique",
}
DENS = {
    1: "type I (an oblique avulsion of the tip, above the transverse ligament)",
    2: "type II (through the base of the dens, where it meets the body; the commonest "
    "and the one that fails to unite)",
    3: "type III (extending down into the cancellous body of C2)",
}
DENS_AO = {
    1: "AO Spine upper cervical II (C2)",
    2: "AO Spine upper cervical II (C2)",
    3: "AO Spine upper cervical II (C2)",
}


def who(region: str, view: str, age: float, sex: str) -> str:
    place = {
        "cervical_spine": "cervical spine",
        "lumbar_spine": "lumbar spine",
        "pelvis": "pelvis",
    }[region]
    hang = (
        " (anterior to the image left)"
        if view == "lateral"
        else " (patient's left on the image right)"
    )
    return f"{VIEW_WORD[view]} radiograph of the {place}{hang}; {sex}, {age:.0f} years."


def normal(region: str, m: dict[str, float]) -> str:
    if region == "cervical_spine":
        bits = ["Normal cervical spine: no fracture; alignment maintained"]
        if "prevertebral_c2_mm" in m:
            bits.append(
                f"prevertebral soft tissue {m['prevertebral_c2_mm']:.0f} mm at C2 "
                f"(<= 7) and {m.get('prevertebral_c6_mm', 0):.0f} mm at C6 (<= 22)"
            )
        steps = [m.get(f"{k}_line_step_mm") for k in ("anterior", "posterior", "spinolaminar")]
        if all(v is not None for v in steps):
            bits.append(
                "the anterior vertebral, posterior vertebral and spinolaminar lines "
                "smooth (largest steps " + "/".join(f"{v:.1f}" for v in steps) + " mm)"
            )
        if "overhang_total_mm" in m:
            bits.append(
                f"C1's lateral masses flush with C2's (overhang "
                f"{m['overhang_total_mm']:.1f} mm in all)"
            )
        return "; ".join(bits) + "."
    if region == "lumbar_spine":
        return "Normal lumbar spine: vertebral heights, alignment and disc spaces preserved."
    d = m.get("symphysis_mm")
    tail = f" The symphysis is {d:.0f} mm wide." if d is not None else ""
    pieces = [
        v for k, v in m.items() if k.endswith(("line_pieces_image_left", "line_pieces_image_right"))
    ]
    lines = "continuous" if pieces and max(pieces) <= 1 else "traced"
    tear = [v for k, v in m.items() if k.startswith("teardrop_distance")]
    tears = f"; teardrop distances {' and '.join(f'{v:.0f}' for v in tear)} mm" if tear else ""
    return (
        f"Normal pelvis: the ring intact; iliopectineal and ilioischial lines {lines} on "
        f"both sides{tears}; Shenton's lines continuous.{tail}"
    )


def finding(w: Want, m: dict[str, float]) -> str:
    p = w.pattern
    if p == "wedge":
        loss = m.get("height_loss_pct", 0.0)
        g = genant_grade(loss)
        kind = "Osteoporotic wedge" if w.mechanism == "osteoporotic" else "Wedge"
        ha, hp = m.get("anterior_height_mm", 0.0), m.get("posterior_height_mm", 0.0)
        return (
            f"{kind} compression fracture of {w.level.upper()} (AO Spine A1): anterior "
            f"height {ha:.0f} mm against {hp:.0f} mm posteriorly, {loss:.0f} % lost; Genant "
            f"{GENANT_WORD[g]}. The posterior wall is intact."
        )
    if p == "teardrop":
        step = m.get("posterior_line_step_mm", 0.0)
        return (
            f"Flexion teardrop fracture of {w.level.upper()}: a triangular fragment off "
            "the anteroinferior corner, the body wedged and driven back into the canal "
            f"(the posterior vertebral line steps {step:.1f} mm); unstable, the posterior "
            "ligaments torn (a hyperflexion-compression injury, AO Spine subaxial type "
            "B/C)." + _prevertebral(m)
        )
    if p == "burst":
        return (
            f"Burst fracture of {w.level.upper()} (AO Spine A4, complete burst): both "
            f"endplates and the posterior wall; a retropulsed fragment "
            f"{m.get('retropulsion_mm', 0):.0f} mm into the canal (lateral); the "
            f"interpedicular distance widened to {m.get('interpedicular_mm', 0):.0f} mm "
            f"against {m.get('interpedicular_adjacent_mm', 0):.0f} mm at the levels "
            "beside it (AP)."
        )
    if p == "spondylolisthesis":
        slip = m.get("slip_pct", 0.0)
        lower = "S1" if w.level == "l5" else f"L{int(w.level[1]) + 1}"
        return (
            f"Isthmic spondylolisthesis of {w.level.upper()} on {lower} (Wiltse II, pars "
            f"defects): slip {slip:.0f} % of the {lower} endplate "
            f"({m.get('slip_mm', 0):.0f} mm); Meyerding grade "
            f"{ROMAN[meyerding_grade(slip)]}."
        )
    if p == "spondylolysis":
        return (
            f"Spondylolysis of {w.level.upper()}: a defect of the pars interarticularis "
            "(the collar on the Scottie dog of an oblique), no slip."
        )
    if p == "degenerative":
        return (
            f"Degenerative disc disease at {w.level.upper()}: the disc space narrowed to "
            f"{m.get('disc_mm', 0):.0f} mm (adjacent {m.get('disc_adjacent_mm', 0):.0f} mm) "
            "with marginal osteophytes."
        )
    if p == "dens":
        where = m.get("line_in_dens")
        at = (
            f" The line crosses the dens {where:.2f} of the way from tip to base."
            if where is not None and where <= 1.05
            else " The line runs below the base of the dens, through C2's body."
            if where is not None
            else ""
        )
        return (
            f"Fracture of the dens (odontoid peg), Anderson-D'Alonzo {DENS[w.grade]}; "
            f"{DENS_AO[w.grade]}.{at}" + _prevertebral(m)
        )
    if p == "jefferson":
        tot = m.get("overhang_total_mm")
        return (
            "Jefferson (burst) fracture of C1: the ring broken front and back, the lateral "
            "masses spread"
            + (
                f", overhanging C2's by {tot:.1f} mm in all on the "
                "open-mouth view: "
                + (
                    "over 6.9 mm, the transverse ligament is torn (unstable)"
                    if tot > 6.9
                    else "under 7 mm, the transverse ligament likely intact"
                )
                if tot is not None
                else ""
            )
            + "."
            + _prevertebral(m)
        )
    if p == "rami":
        return (
            f"Fractures of the {w.side} superior and inferior pubic rami (AO/OTA 61A2, Tile "
            "A2: stable, anterior arch), from a fall from standing in an older person; the "
            f"ring otherwise intact (symphysis {m.get('symphysis_mm', 0):.0f} mm)."
        )
    if p == "open_book":
        d = m.get("symphysis_mm", 0.0)
        apc = (
            "over 25 mm: Young-Burgess APC II, the anterior sacroiliac ligaments torn"
            if d > 25
            else "under 25 mm: APC I"
        )
        return (
            "Open-book pelvic ring disruption (anteroposterior compression; AO/OTA 61B1, "
            f"Tile B1): symphysis diastasis {d:.0f} mm ({apc}), both hemipelves turned out."
        )
    if p.startswith("garden_"):
        brk = m.get("shenton_break_mm", 0.0)
        shenton = (
            f"Shenton's line is broken on the {w.side}: {brk:.0f} mm off the other side's."
            if brk >= 3.0
            else f"Shenton's line is intact ({brk:.0f} mm off the other side's)."
        )
        return (
            f"Subcapital fracture of the {w.side} femoral neck, Garden "
            f"{ROMAN[int(p[-1])]} (AO/OTA 31B1), from a fall from standing in an older "
            f"person. {shenton}"
        )
    if p == "posterior_dislocation":
        side = "image_right" if w.side == "left" else "image_left"
        other = "image_left" if side == "image_right" else "image_right"
        tear, normal = m.get(f"teardrop_distance_{side}_mm"), m.get(f"teardrop_distance_{other}_mm")
        tears = (
            f"; the teardrop distance {tear:.0f} mm against {normal:.0f} mm on the other side"
            if tear is not None and normal is not None
            else ""
        )
        return (
            f"Posterior dislocation of the {w.side} hip, from a dashboard injury; the head "
            "above and out of the acetabulum, Shenton's line broken "
            f"({m.get('shenton_break_mm', 0):.0f} mm off the other side's){tears}."
        )
    return ""


def _prevertebral(m: dict[str, float]) -> str:
    if "prevertebral_c2_mm" not in m:
        return ""
    c2 = m["prevertebral_c2_mm"]
    return (
        f" Prevertebral soft tissue {c2:.0f} mm at C2"
        + (" (widened: > 7 mm, a haematoma)" if c2 > 7 else " (<= 7 mm)")
        + "."
    )
