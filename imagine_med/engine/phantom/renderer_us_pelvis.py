"""The phantom engine's pelvic ultrasound: a transabdominal midline sagittal view through the
full bladder, with a first-trimester pregnancy dated by its measured crown-rump length, and
the pelvic view of a FAST scan (free fluid in the rectouterine or rectovesical pouch).

Steps per variant: the plane (regions/pelvis_us) -> the same B-mode physics and scan
conversion as the abdominal renderer (`PhantomUltrasound.frame`) -> marks -> measurements
from the label map (mean sac diameter, yolk sac, CRL and the gestational age it gives by
Robinson's formula, fluid depth) -> a report. Sagittal: cranial on the image left.
"""

from __future__ import annotations

import re

import numpy as np
from scipy import ndimage

from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.phantom.model import AGE_OF_GROUP
from imagine_med.engine.phantom.physics.ultrasound import Probe
from imagine_med.engine.phantom.regions.pelvis_us.anatomy import (
    LABELS,
    PelvisPlane,
    build_pelvis,
    crl_for_days,
    days_for_crl,
)
from imagine_med.engine.phantom.regions.pelvis_us.fetal import LABELS as FETAL_LABELS
from imagine_med.engine.phantom.regions.pelvis_us.fetal import FetalPlane, build_fetal
from imagine_med.engine.phantom.regions.pelvis_us.ovaries import LABELS as GYN_LABELS
from imagine_med.engine.phantom.regions.pelvis_us.ovaries import (
    PelvisTransverse,
    build_transverse,
)
from imagine_med.engine.phantom.renderer_base import mask_bbox
from imagine_med.engine.phantom.renderer_us import PhantomUltrasound, _marks, scan_tags
from imagine_med.engine.phantom.renderer_us_fetal import (
    FINDING_LABEL,
    MEASURE,
    asks_biometry,
    biometry_sentence,
    fetal_probe,
    plane_asked,
    weeks_asked,
    weeks_days,
)
from imagine_med.engine.phantom.renderer_us_gyn import (
    CYST_MM,
    GYN_MHZ,
    asks_ovaries,
    gyn_probe,
    ovaries_sentences,
    ovary_measure,
)

DEFAULT_WEEKS = 8.0
WEEKS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\+\s*(\d)\s*)?(?:weeks?|wks?|wk)\b")
FLUID_MM = {"mild": 6.0, "moderate": 12.0, "severe": 22.0}


def gestational_days(spec, finding) -> float:
    """The age asked for: a CRL in mm (the finding's size) sets it by Robinson's formula,
    else "8 weeks" / "7+3 weeks" in the prompt, else 8 weeks; 5-12 weeks."""
    if finding is not None and finding.size_mm:
        return float(np.clip(days_for_crl(finding.size_mm), 35.0, 84.0))
    m = WEEKS.search((spec.prompt or "").lower())
    weeks = float(m.group(1)) + (int(m.group(2)) / 7 if m and m.group(2) else 0.0) if m \
        else DEFAULT_WEEKS
    return float(np.clip(weeks * 7.0, 35.0, 84.0))


def _weeks(days: float) -> str:
    d = round(days)
    return f"{d // 7} weeks {d % 7} day{'s' if d % 7 != 1 else ''}"


class PhantomPelvisUS(PhantomUltrasound):
    """Transabdominal pelvis, curvilinear 3.5 MHz."""

    def build(self, request: RenderRequest) -> PelvisPlane | FetalPlane | PelvisTransverse:
        spec = request.spec
        rng = np.random.default_rng([request.seed, 16])
        names = [f.name for f in spec.findings]
        text = (spec.prompt or "").lower()
        wk = WEEKS.search(text)
        if "fetal_biometry" in names or asks_biometry(text, float(wk.group(1)) if wk else None):
            return self._fetal(request, rng, text, wk)
        if asks_ovaries(text, names):
            return self._ovaries(request, rng)
        preg = "intrauterine_pregnancy" in names or WEEKS.search((spec.prompt or "").lower())
        sex = spec.sex or ("female" if preg or rng.uniform() < 0.5 else "male")
        if preg and sex == "male":
            raise EngineError("A pregnancy needs a female pelvis; this prompt asks for a man.")
        lo, hi = (18, 42) if preg else AGE_OF_GROUP.get(spec.age_group or "adult", (25, 64))
        # "8 weeks" reads as an infant's age to the parser: a mother is at least 14
        age = spec.age if spec.age is not None and not (preg and spec.age < 14) else round(
            rng.uniform(lo, hi + 0.999))
        plane = build_pelvis(rng, sex, age)
        frng = np.random.default_rng([request.seed, 17])
        for f in spec.findings:
            if f.name == "free_fluid" or f.name == "ascites":
                plane.fluid_mm = float(np.clip(f.size_mm or FLUID_MM.get(
                    f.severity or "moderate", 12.0), 3.0, 40.0))
                o = plane.pouch()
                plane.findings.append(_placed("free_fluid", "pouch_of_douglas", (o.cx, o.cy),
                                              {"depth_mm": plane.fluid_mm}))
            elif f.name != "intrauterine_pregnancy":
                raise EngineError("The pelvic ultrasound phantom draws a first-trimester "
                                  "pregnancy and free fluid in the pouch; not "
                                  f"{f.name.replace('_', ' ')}.")
        if preg:
            f = next((g for g in spec.findings if g.name == "intrauterine_pregnancy"), None)
            plane.findings.append(plane.pregnancy(gestational_days(spec, f), frng))
        return plane

    def _fetal(self, request: RenderRequest, rng: np.random.Generator, text: str,
               wk: re.Match | None) -> FetalPlane:
        """A biometry plane (head, abdomen or femur) at the asked age (default 20 weeks)."""
        spec = request.spec
        if spec.sex == "male":
            raise EngineError("A pregnancy needs a female pelvis; this prompt asks for a man.")
        extra = [f.name for f in spec.findings
                 if f.name not in ("fetal_biometry", "intrauterine_pregnancy")]
        if extra:
            raise EngineError("The fetal biometry planes draw a normal fetus (head, abdomen, "
                              f"femur); not {extra[0].replace('_', ' ')}.")
        age = spec.age if (spec.age or 0) >= 14 else round(rng.uniform(18, 42.999))
        plane = plane_asked(text, rng)
        return build_fetal(rng, weeks_asked(text, wk), plane, age)

    def _ovaries(self, request: RenderRequest, rng: np.random.Generator) -> PelvisTransverse:
        """The transverse view through both ovaries, with the asked ovarian findings."""
        spec = request.spec
        if spec.sex == "male":
            raise EngineError("Ovaries need a female pelvis; this prompt asks for a man.")
        lo, hi = AGE_OF_GROUP.get(spec.age_group or "adult", (18, 45))
        age = spec.age if (spec.age or 0) >= 12 else round(rng.uniform(max(lo, 18), min(hi, 45)
                                                                       + 0.999))
        plane = build_transverse(rng, age)
        frng = np.random.default_rng([request.seed, 17])
        for f in spec.findings:
            if f.name == "polycystic_ovaries":
                plane.findings.append(plane.polycystic(frng))
            elif f.name in ("ovarian_cyst", "dermoid"):
                side = f.laterality if f.laterality in ("right", "left") else \
                    ("right", "left")[int(frng.integers(0, 2))]
                size = float(np.clip(f.size_mm or CYST_MM, 15.0, 80.0))
                plane.findings.append(plane.cyst(side, size, frng, f.name == "dermoid"))
            else:
                raise EngineError("The transverse ovarian view draws follicles, polycystic "
                                  "ovaries, a simple ovarian cyst and a dermoid; not "
                                  f"{f.name.replace('_', ' ')}.")
        return plane

    def probe(self, request: RenderRequest, plane) -> Probe:
        """The view's preset (the prompt's settings are applied after it)."""
        if isinstance(plane, FetalPlane):
            return fetal_probe(plane, 3.5)
        if isinstance(plane, PelvisTransverse):
            return gyn_probe(plane, GYN_MHZ)
        return super().probe(request, plane)

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress
               ) -> RenderResult:
        fr = self.frame(request, progress)
        plane = fr.plane
        if isinstance(plane, FetalPlane):
            return self._biometry(fr, progress)
        if isinstance(plane, PelvisTransverse):
            return self._gyn(fr, progress)
        assert isinstance(plane, PelvisPlane)
        pixels, labels = fr.pixels, fr.labels
        _marks(pixels, labels, fr)
        results, sentences = [], []
        for p in plane.findings:
            m, text, lab = measure(p.name, labels, fr.px)
            sentences.append(text)
            results.append(FindingResult(p.name, LABELS[lab], mask_bbox(labels == LABELS[lab]),
                                         None, p.location, text, m))
        organ = "uterus" if plane.uterus is not None else "prostate"
        normal = [f"The bladder is full and anechoic; the {organ} is seen behind it"
                  + (" with a thin endometrial stripe." if organ == "uterus" and
                     plane.sac is None else ".")]
        if plane.fluid_mm == 0:
            normal.append("No free fluid in the " + ("rectouterine pouch (pouch of Douglas)."
                                                     if organ == "uterus" else
                                                     "rectovesical pouch."))
        head = (f"Pelvic ultrasound, transabdominal, midline sagittal, curvilinear "
                f"{fr.probe.freq_mhz:g} MHz, depth {fr.probe.depth_mm / 10:g} cm "
                f"({plane.age}-year-old {plane.sex}); cranial on the image left. ")
        names = {v: k for k, v in LABELS.items()}
        present = {int(i): names[int(i)] for i in np.unique(labels) if i}
        tags = scan_tags(fr.probe, "pelvis", "sagittal", plane.sex, plane.age)
        progress(1.0, "done")
        return RenderResult(pixels=pixels, label_map=labels, labels=present, findings=results,
                            pixel_spacing_mm=(fr.px, fr.px),
                            answer_key=head + " ".join([*sentences, *normal]), tags=tags)


    def _biometry(self, fr, progress: ProgressFn) -> RenderResult:
        """The plane's measurements from its labels, with Hadlock's age for each."""
        plane = fr.plane
        pixels, labels = fr.pixels, fr.labels
        _marks(pixels, labels, fr)
        m = MEASURE[plane.plane](labels, fr.px)
        text = biometry_sentence(plane.plane, m)
        lab = FINDING_LABEL[plane.plane]
        m |= {"gestational_age_asked_weeks": round(plane.weeks, 1)}
        res = FindingResult("fetal_biometry", FETAL_LABELS[lab],
                            mask_bbox(labels == FETAL_LABELS[lab]), None, plane.plane, text, m)
        names = {v: k for k, v in FETAL_LABELS.items()}
        present = {int(i): names[int(i)] for i in np.unique(labels) if i}
        placenta = " An anterior placenta." if "placenta" in present.values() else ""
        head = (f"Obstetric ultrasound, transabdominal, curvilinear {fr.probe.freq_mhz:g} MHz, "
                f"depth {fr.probe.depth_mm / 10:g} cm; a singleton pregnancy of "
                f"{weeks_days(plane.weeks)} by dates ({plane.age}-year-old woman). ")
        tags = {**scan_tags(fr.probe, "pelvis", f"fetal_{plane.plane}", "female", plane.age),
                "gestational_age_weeks": f"{plane.weeks:g}"}
        progress(1.0, "done")
        return RenderResult(pixels=pixels, label_map=labels, labels=present, findings=[res],
                            pixel_spacing_mm=(fr.px, fr.px), answer_key=head + text + placenta,
                            tags=tags)


    def _gyn(self, fr, progress: ProgressFn) -> RenderResult:
        """Each ovary measured from its labels; each finding's sentence is its ovary's."""
        plane = fr.plane
        pixels, labels = fr.pixels, fr.labels
        _marks(pixels, labels, fr)
        ms = ovary_measure(labels, fr.px)
        sentences = ovaries_sentences(ms)
        results = []
        for p in plane.findings:
            lab = {"polycystic_ovaries": "follicle"}.get(p.name, p.name)
            sides = [s for s in ("right", "left") if s in ms] if p.side == "bilateral" else \
                [p.side]
            meas = {f"{s}_{k}": v for s in sides for k, v in ms.get(s, {}).items()}
            text = " ".join(t for t in sentences if any(f"{s} ovar" in t for s in sides)
                            or "polycystic" in t)
            results.append(FindingResult(p.name, GYN_LABELS[lab],
                                         mask_bbox(labels == GYN_LABELS[lab]), p.side,
                                         p.location, text, meas))
        names = {v: k for k, v in GYN_LABELS.items()}
        present = {int(i): names[int(i)] for i in np.unique(labels) if i}
        head = (f"Pelvic ultrasound, transabdominal, transverse through the ovaries, "
                f"curvilinear {fr.probe.freq_mhz:g} MHz, depth {fr.probe.depth_mm / 10:g} cm "
                f"({plane.age}-year-old woman); the patient's right on the image left. The "
                "bladder is full; the uterus is seen in cross-section behind it. ")
        tags = {**scan_tags(fr.probe, "pelvis", "transverse_ovaries", "female", plane.age),
                "image_left": "patient_right"}
        progress(1.0, "done")
        return RenderResult(pixels=pixels, label_map=labels, labels=present, findings=results,
                            pixel_spacing_mm=(fr.px, fr.px),
                            answer_key=head + " ".join(sentences), tags=tags)


def _placed(name: str, location: str, at: tuple[float, float], params: dict):
    from imagine_med.engine.phantom.regions.base import PlacedFinding

    return PlacedFinding(name, None, location, (), (at[0], at[1], 0.0), params)


def crl_mm(mask: np.ndarray, px: float) -> float:
    """The embryo's greatest length: its extent along its main axis (+1 pixel)."""
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], 1).astype(float)
    pts -= pts.mean(0)
    axis = np.linalg.svd(pts, full_matrices=False)[2][0]
    return (float(np.ptp(pts @ axis)) + 1.0) * px


def measure(name: str, labels: np.ndarray, px: float) -> tuple[dict[str, float], str, str]:
    """(measurements, sentence, label name) of a finding, from the label map."""
    if name == "free_fluid":
        mask = labels == LABELS["free_fluid"]
        if not mask.any():
            return {}, "No free fluid is seen in the pelvis in this plane.", "free_fluid"
        depth = float(ndimage.distance_transform_edt(mask).max()) * 2 * px
        organ = "uterus" if (labels == LABELS["uterus"]).any() else "bladder"
        return ({"depth_mm": round(depth, 1), "area_mm2": round(float(mask.sum()) * px * px)},
                f"Anechoic free fluid in the pouch behind the {organ}, {depth:.0f} mm deep: "
                "a positive pelvic FAST view.", "free_fluid")
    sac = labels == LABELS["gestational_sac"]
    if not sac.any():
        return {}, "The requested pregnancy is not in this plane.", "gestational_sac"
    ys, xs = np.nonzero(sac)
    h, w = (np.ptp(ys) + 1) * px, (np.ptp(xs) + 1) * px
    msd = (h + w) / 2
    m = {"msd_mm": round(msd, 1), "sac_length_mm": round(w, 1), "sac_height_mm": round(h, 1)}
    text = f"An intrauterine gestational sac, {w:.0f} x {h:.0f} mm (mean sac diameter "
    text += f"{msd:.0f} mm), with a bright decidual reaction"
    yolk = labels == LABELS["yolk_sac"]
    if yolk.any():
        yy, yx = np.nonzero(yolk)
        m["yolk_sac_mm"] = round(float(max(np.ptp(yy), np.ptp(yx)) + 1) * px, 1)
        text += f"; a yolk sac {m['yolk_sac_mm']:.0f} mm"
    emb = labels == LABELS["embryo"]
    if emb.any():
        crl = crl_mm(emb, px)
        days = days_for_crl(crl)
        m |= {"crl_mm": round(crl, 1), "gestational_age_days": round(days, 1)}
        text += (f"; an embryo with a crown-rump length of {crl:.1f} mm: {_weeks(days)} by "
                 "Robinson's formula")
    else:
        days = msd + 30.0
        m["gestational_age_days"] = round(days, 1)
        text += (f"; no embryo yet: about {_weeks(days)} by the mean sac diameter "
                 "(MSD + 30 days)")
    return m, text + ".", "gestational_sac"


def pelvis_us_renderer() -> PhantomPelvisUS:
    return PhantomPelvisUS()


__all__ = ["PhantomPelvisUS", "crl_for_days", "pelvis_us_renderer"]
