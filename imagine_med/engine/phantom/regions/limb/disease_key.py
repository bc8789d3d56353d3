"""Keys for bone disease on limb films: numbers measured on this variant's film and label
map (disease.py's measures), then a sentence from them, never from the request alone."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.base import FindingResult
from imagine_med.engine.phantom.regions.limb import disease as dz
from imagine_med.engine.phantom.regions.limb import disease_measure as dm
from imagine_med.engine.phantom.regions.limb.anatomy import Wrist
from imagine_med.engine.phantom.regions.limb.labels import LABELS
from imagine_med.engine.phantom.regions.limb.lesions import REACTION_LABEL

VIEW_WORDS = {
    "pa": "PA",
    "ap": "AP",
    "lateral": "lateral",
    "oblique": "PA oblique",
    "mortise": "mortise",
    "scapular_y": "scapular Y",
}
# tumour -> (name, margin, matrix, periosteal reaction words, site)
TUMOUR_WORDS = {
    "osteoid_osteoma": (
        "Osteoid osteoma",
        "well defined (a small lucent nidus)",
        "no matrix (lytic nidus)",
        "solid periosteal reaction (cortical thickening) over it",
        "in the lateral cortex of the femoral shaft",
    ),
    "giant_cell_tumour": (
        "Giant cell tumour",
        "geographic, well defined",
        "no matrix (lytic)",
        "no periosteal reaction",
        "eccentric in the distal radial "
        "epiphysis and metaphysis, reaching the subchondral bone, expanding "
        "and thinning the cortex",
    ),
    "osteosarcoma": (
        "Osteosarcoma",
        "ill defined, permeative",
        "osteoid (cloud-like mineralisation)",
        "spiculated (sunburst) periosteal reaction with Codman triangles at its ends",
        "in the proximal humeral metaphysis, breaking through the cortex",
    ),
    "ewing_sarcoma": (
        "Ewing sarcoma",
        "ill defined, permeative",
        "no matrix (lytic)",
        "lamellated (onion-skin) periosteal reaction",
        "in the femoral diaphysis",
    ),
    "sclerotic_metastasis": (
        "Sclerotic (osteoblastic) metastasis",
        "well defined",
        "sclerotic",
        "no periosteal reaction",
        "in the subtrochanteric femur",
    ),
}


def _who(wrist: Wrist, side: str, view: str) -> str:
    return (
        f"{side.capitalize()} {wrist.region}, {VIEW_WORDS.get(view, view)} view, "
        f"age {wrist.age:.0f}."
    )


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def measure(
    d: dz.Disease,
    wrist: Wrist,
    pixels: np.ndarray,
    labels: np.ndarray,
    px: float,
    side: str,
    view: str = "pa",
) -> dict[str, float]:
    L = LABELS
    m: dict[str, float] = {}
    if wrist.region == "hand" and view in ("pa", "ap"):  # the index is read on a frontal film
        c = dm.cortex_across(
            pixels, labels, [L["metacarpal_2"]], dm.midshaft_rows(labels, L["metacarpal_2"]), px
        )
        if c is not None:
            m["metacarpal_cortical_index"] = c["cortical_index"]
            m["mc2_width_mm"] = c["width_mm"]
            m["mc2_cortex_mm"] = c["cortex_mm"]
        gaps = {}
        for joint, (a, b) in {
            "mcp": ("metacarpal", "proximal_phalanx"),
            "pip": ("proximal_phalanx", "middle_phalanx"),
            "dip": ("middle_phalanx", "distal_phalanx"),
        }.items():
            vals = [dm.joint_gap_mm(labels, L[f"{a}_{r}"], L[f"{b}_{r}"], px) for r in range(2, 6)]
            vals = [v for v in vals if v is not None]
            if vals:
                gaps[joint] = float(np.mean(vals))
                m[f"{joint}_joint_space_mm"] = round(gaps[joint], 2)
    m["erosions"] = float(dm.count_components(labels, L["erosion"], px, 0.8))
    m["osteophytes"] = float(dm.count_components(labels, L["osteophyte"], px, 0.8))
    if d.name == "hip_osteoarthritis":
        js = dm.joint_space_slab(wrist, side)
        m["joint_space_mm"] = js if js is not None else 0.0
        m["osteophyte_mm"] = round(dm.largest_radius_mm(labels, L["osteophyte"], px), 2)
        m["sclerosis_mm2"] = round(float((labels == L["sclerosis"]).sum()) * px * px, 1)
        m["cysts"] = float(dm.count_components(labels, L["cyst"], px, 2.0))
        m["kl_grade"] = float(dm.kl_from(m["joint_space_mm"], m["osteophyte_mm"]))
    if wrist.region == "hip" and d.name in ("paget", "osteoporosis"):
        m.update(femoral_shaft(pixels, labels, px, wrist.scale))
    if d.name == "paget":
        m["lytic_front_mm2"] = round(float((labels == L["lytic_front"]).sum()) * px * px, 1)
    if d.name in TUMOUR_WORDS:
        m.update(tumour_numbers(labels, px))
    return m


PAGET_LEVEL_MM = (86.0, 98.0)  # below the head's centre: the subtrochanteric shaft


def femoral_shaft(pixels: np.ndarray, labels: np.ndarray, px: float, s: float) -> dict[str, float]:
    """The femoral shaft's width and cortex at a fixed distance below the head's centre
    (the same rows for a patient with and without disease)."""
    head = np.nonzero(labels == LABELS["femoral_head"])[0]
    if not len(head):
        return {}
    r0 = head.mean()
    rows = np.arange(int(r0 + PAGET_LEVEL_MM[0] * s / px), int(r0 + PAGET_LEVEL_MM[1] * s / px))
    rows = rows[rows < labels.shape[0]]
    c = dm.cortex_across(pixels, labels, [LABELS["femur"]], rows, px)
    if c is None:
        return {}
    return {"shaft_width_mm": c["width_mm"], "shaft_cortex_mm": c["cortex_mm"]}


def tumour_numbers(labels: np.ndarray, px: float) -> dict[str, float]:
    """The lesion's size, its zone of transition's width (the margin label's reach beyond
    the core, 90th centile of the distance) and the periosteal reaction's area."""
    core = labels == LABELS["tumour"]
    zone = labels == LABELS["tumour_margin"]
    out: dict[str, float] = {}
    if core.any():
        ys, xs = np.nonzero(core)
        out["lesion_length_mm"] = round(float(ys.max() - ys.min() + 1) * px, 1)
        out["lesion_width_mm"] = round(float(xs.max() - xs.min() + 1) * px, 1)
        if zone.any():
            dist = ndimage.distance_transform_edt(~core)
            out["transition_mm"] = round(float(np.percentile(dist[zone], 90)) * px, 1)
    for kind in REACTION_LABEL.values():  # each type of periosteal reaction seen
        area = float((labels == LABELS[kind]).sum()) * px * px
        if area > 0:
            out[f"{kind}_mm2"] = round(area, 1)
    return out


def sentence(
    d: dz.Disease, m: dict[str, float], wrist: Wrist, side: str, view: str, who: bool = True
) -> str:
    return _sentence(d, m, wrist, _who(wrist, side, view) if who else "").rstrip()


def _spaces(m: dict[str, float]) -> str:
    """' (mean joint space MCP 0.6 mm; PIP ...)' for the joints measured on this film."""
    js = "; ".join(
        f"{j.upper()} {m[f'{j}_joint_space_mm']:.1f} mm"
        for j in ("mcp", "pip", "dip")
        if f"{j}_joint_space_mm" in m
    )
    return f" (mean joint space {js})" if js else ""


def _sentence(d: dz.Disease, m: dict[str, float], wrist: Wrist, who: str) -> str:
    if d.name == "osteoporosis":
        mci = m.get("metacarpal_cortical_index")
        extra = ""
        if mci is not None:
            extra = (
                f" Metacarpal cortical index {mci:.2f} (second metacarpal: combined "
                f"cortex {2 * m['mc2_cortex_mm']:.1f} mm of a {m['mc2_width_mm']:.1f} mm "
                f"shaft; normal > {dz.MCI_NORMAL})."
            )
        elif "shaft_cortex_mm" in m:
            extra = (
                f" Femoral shaft cortex {m['shaft_cortex_mm']:.1f} mm each side of a "
                f"{m['shaft_width_mm']:.0f} mm shaft."
            )
        return (
            f"Osteoporosis: generalised osteopenia, thin cortices and sparse, thin "
            f"trabeculae{'; no fracture' if who else ''}.{extra} {who}"
        )
    if d.name == "rheumatoid_arthritis":
        n = int(m.get("erosions", 0))
        return (
            f"Rheumatoid arthritis: periarticular osteopenia, {n} marginal erosion"
            f"{'s' if n != 1 else ''} seen (MCP/PIP bare areas and the ulnar styloid), "
            f"symmetric joint-space narrowing of the MCP and PIP joints{_spaces(m)}; no "
            f"osteophytes. {who}"
        )
    if d.name == "hand_osteoarthritis":
        n = int(m.get("osteophytes", 0))
        return (
            f"Osteoarthritis of the hand: DIP and PIP joint-space narrowing with {n} "
            f"marginal osteophytes (Heberden's nodes at the DIP, Bouchard's at the PIP "
            f"joints); MCPs spared; no erosions{_spaces(m)}. {who}"
        )
    if d.name == "hip_osteoarthritis":
        g = int(m["kl_grade"])
        feats = [
            f"superolateral joint space {m['joint_space_mm']:.1f} mm (normal ~"
            f"{dz.HIP_JOINT_SPACE_MM * wrist.scale:.1f} mm in this model)"
        ]
        if m["osteophyte_mm"] > 0:
            feats.append(f"osteophytes up to {m['osteophyte_mm']:.1f} mm")
        if m["sclerosis_mm2"] > 0:
            feats.append("subchondral sclerosis")
        if m["cysts"] > 0:
            feats.append(f"{int(m['cysts'])} subchondral cyst{'s' if m['cysts'] > 1 else ''}")
        return f"Osteoarthritis of the hip, Kellgren-Lawrence grade {g}: {', '.join(feats)}. {who}"
    if d.name == "paget":
        return (
            f"Paget's disease of the proximal femur and hemipelvis: the bone enlarged, "
            f"cortex thickened ({m.get('shaft_cortex_mm', 0):.1f} mm each side of a "
            f"{m.get('shaft_width_mm', 0):.0f} mm subtrochanteric shaft), coarse "
            f"trabeculae; a V-shaped lytic front ('blade of grass') advancing down the "
            f"shaft. {who}"
        )
    name, margin, matrix, reaction, site = TUMOUR_WORDS[d.name]
    size = (
        f"{m.get('lesion_length_mm', 0):.0f} x {m.get('lesion_width_mm', 0):.0f} mm"
        if "lesion_length_mm" in m
        else ""
    )
    zone = m.get("transition_mm")
    zone_words = (
        ""
        if zone is None
        else (f"; zone of transition {'narrow' if zone < 2.5 else 'wide'} ({zone:.1f} mm)")
    )
    kind = {
        "sclerotic": "sclerotic",
        "osteoid (cloud-like mineralisation)": "mixed lytic and sclerotic",
    }.get(matrix, "lytic")
    return (
        f"{name}: a {size} {kind} "
        f"lesion {site}. Margin {margin}{zone_words}; matrix: {matrix}; {reaction}. "
        f"{who}"
    )


def finding(
    d: dz.Disease,
    wrist: Wrist,
    pixels: np.ndarray,
    labels: np.ndarray,
    px: float,
    view: str,
    side: str,
    who: bool = True,
) -> tuple[list[FindingResult], str]:
    m = measure(d, wrist, pixels, labels, px, side, view)
    text = sentence(d, m, wrist, side, view, who)
    label = {
        "rheumatoid_arthritis": "erosion",
        "hand_osteoarthritis": "osteophyte",
        "hip_osteoarthritis": "osteophyte",
        "paget": "lytic_front",
    }.get(d.name, "tumour")
    box = _bbox(labels == LABELS[label]) if d.name != "osteoporosis" else None
    return [FindingResult(d.name, LABELS.get(label, 0), box, side, wrist.region, text, m)], text
