"""The phantom's one tissue table: every physical property a modality needs, per tissue.

A region's structures name a tissue from this table and a finding names a tissue change
(`changed`), so one anatomy gives every contrast (BrainWeb's habit: anatomy as tissue
fractions, physics kept apart). Sources are ../shared/reference/physics.md:
- HU: "CT numbers" and "Neuro additions" (head CT: grey 35-40, white 25-30, CSF 0-15,
  oedema 10-20, acute clot 50-90, bone 700-1900, fat -60 to -120).
- mu (cm^-1, 70 keV): "Linear attenuation", else mu = mu_water * (1 + HU/1000).
- MR at 1.5 T and 3 T: "MRI relaxation" (T1/T2 ranges, BrainWeb PD), "Neuro additions"
  (ADC in 1e-6 mm^2/s: white 700-800, grey 800-900, CSF ~3000). T2* (not tabulated there)
  is taken a little below T2 for soft tissue, far below it for bone and blood products.
Acoustic and optical columns are left to the issues that render ultrasound and photographs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

MU_WATER_70 = 0.194  # cm^-1 at 70 keV (physics.md)
FIELDS = ("1.5T", "3T")


@dataclass(frozen=True)
class MR:
    """Relaxation at one field strength: PD (water = 1), T1/T2/T2* in ms, ADC in 1e-6 mm^2/s."""

    pd: float
    t1: float
    t2: float
    t2s: float
    adc: float


@dataclass(frozen=True)
class Tissue:
    """One tissue: `hu` (CT), `mu` (cm^-1 at 70 keV, films), `mr` per field, `gd_mM` the
    gadolinium concentration it holds after a standard dose (0 behind an intact barrier)."""

    name: str
    hu: float
    mr: dict[str, MR]
    gd_mM: float = 0.0
    mu: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.mu < 0:
            object.__setattr__(self, "mu", MU_WATER_70 * max(0.0, 1.0 + self.hu / 1000.0))


def _mr(pd: float, t1: tuple[float, float], t2: tuple[float, float],
        t2s: tuple[float, float], adc: float) -> dict[str, MR]:
    """(1.5 T, 3 T) pairs into a per-field dict; ADC does not depend on the field."""
    return {f: MR(pd, t1[i], t2[i], t2s[i], adc) for i, f in enumerate(FIELDS)}


TISSUES: dict[str, Tissue] = {t.name: t for t in (
    # air: no protons, -1000 HU
    Tissue("air", -1000.0, _mr(0.0, (1e4, 1e4), (1.0, 1.0), (1.0, 1.0), 0.0), mu=0.0002),
    # brain (physics.md MRI table: GM 1000-1124 / 95-100 at 1.5 T, 1300-1820 / 90-99 at 3 T;
    # WM 680-884 / 72-80 and 890-1084 / 69-80; BrainWeb PD 0.86 / 0.77)
    Tissue("grey_matter", 38.0, _mr(0.86, (1100, 1600), (98, 92), (66, 50), 850)),
    Tissue("white_matter", 27.0, _mr(0.77, (780, 1000), (76, 72), (56, 42), 750)),
    # deep grey nuclei: between cortex and white matter on every contrast (iron, myelin)
    Tissue("deep_grey", 34.0, _mr(0.82, (950, 1350), (84, 78), (50, 36), 800)),
    # CSF ~4200 / ~2000 at 1.5 T, ~4300 / ~2000 at 3 T; HU 5; ADC ~3000
    Tissue("csf", 6.0, _mr(1.0, (4200, 4300), (2000, 2000), (1500, 1200), 3000)),
    # dura (falx, tentorium): fibrous, short T2, a little denser than brain on CT
    Tissue("dura", 50.0, _mr(0.5, (900, 1100), (40, 38), (25, 20), 900), gd_mM=0.2),
    # fat: 260-343 / 60-80 at 1.5 T, 370-380 / 70-130 at 3 T; HU -100
    Tissue("fat", -100.0, _mr(1.0, (300, 375), (70, 90), (40, 30), 20), mu=0.179),
    # muscle (temporalis, extraocular): 1000-1130 / 35-45, ~1400 / 30-50; HU 45
    Tissue("muscle", 45.0, _mr(0.9, (1050, 1400), (40, 40), (30, 25), 1500), mu=0.202),
    # skin and galea: soft tissue
    Tissue("skin", 40.0, _mr(0.8, (900, 1200), (45, 42), (30, 25), 1000)),
    # skull tables: cortical bone 1000-1900 HU, almost no MR signal (T2 < 1 ms)
    Tissue("cortical_bone", 1400.0, _mr(0.05, (1000, 1200), (1.0, 1.0), (0.5, 0.5), 0.0),
           mu=0.502),
    # diploe: cancellous bone 200-700 HU holding fatty marrow (bright on T1)
    Tissue("diploe", 550.0, _mr(0.7, (380, 450), (60, 70), (20, 15), 50)),
    # vitreous and aqueous: water
    Tissue("vitreous", 5.0, _mr(1.0, (4000, 4100), (1500, 1500), (1000, 800), 2900)),
    # lens: protein-rich, short T2, dense on CT
    Tissue("lens", 100.0, _mr(0.6, (800, 1000), (20, 20), (15, 12), 300)),
    # unenhanced blood in the dural venous sinuses: HU 40; flowing blood would void on SE
    Tissue("blood", 42.0, _mr(0.9, (1400, 1900), (180, 150), (60, 40), 1500), gd_mM=1.0),
    # --- tissues findings bring ---
    # vasogenic oedema: HU 10-20; T1/T2 ~1200-1400 / 120-200 at 1.5 T, ~1600-2000 at 3 T;
    # free water raises the ADC
    Tissue("oedema", 16.0, _mr(0.88, (1300, 1800), (170, 160), (110, 95), 1400)),
    # viable tumour (Gach: 1011 / 100 at 1.5 T, 1175 / 100 at 3 T), leaky vessels: enhances
    Tissue("tumour", 36.0, _mr(0.85, (1011, 1175), (100, 100), (60, 45), 900), gd_mM=0.35),
    # necrosis: near-fluid, does not enhance
    Tissue("necrosis", 14.0, _mr(0.95, (2200, 2800), (300, 280), (150, 120), 2200)),
    # clotted blood by age (physics.md: CT 50-90 HU acute; MR T1/T2 hyperacute iso/bright,
    # acute iso/dark, early subacute bright/dark, late subacute bright/bright; Gach clot
    # 1550 / 200 at 1.5 T). Deoxy- and intracellular methaemoglobin shorten T2 and T2*.
    Tissue("blood_hyperacute", 58.0, _mr(0.9, (1100, 1600), (200, 200), (80, 50), 650)),
    Tissue("blood_acute", 72.0, _mr(0.9, (1050, 1500), (45, 40), (12, 8), 550)),
    Tissue("blood_early_subacute", 60.0, _mr(0.9, (350, 450), (50, 45), (12, 8), 500)),
    Tissue("blood_late_subacute", 40.0, _mr(0.95, (380, 480), (250, 220), (90, 60), 1200)),
    Tissue("blood_chronic", 10.0, _mr(1.0, (3500, 3800), (900, 900), (300, 200), 2800)),
)}

# r1 relaxivity of gadolinium chelates (physics.md: ~4-5 L/mmol/s, gadobutrol, 1.5-3 T)
R1_GD_PER_MM_PER_S = 4.5


def tissue(name: str) -> Tissue:
    return TISSUES[name]


def changed(base: Tissue, name: str, *, hu_delta: float = 0.0, t1: float = 1.0, t2: float = 1.0,
            t2s: float = 1.0, pd: float = 1.0, adc: float = 1.0, gd_mM: float | None = None
            ) -> Tissue:
    """`base` with a change a finding makes (factors on T1/T2/T2*/PD/ADC, a shift in HU, a
    new gadolinium uptake): an infarct keeps grey matter grey matter, with less diffusion."""
    mr = {f: MR(min(1.0, m.pd * pd), m.t1 * t1, m.t2 * t2, m.t2s * t2s, m.adc * adc)
          for f, m in base.mr.items()}
    return replace(base, name=name, hu=base.hu + hu_delta, mr=mr,
                   gd_mM=base.gd_mM if gd_mM is None else gd_mM, mu=-1.0)


# Optical column for stained sections (issue 15, histology): the stain each tissue component
# binds, as optical density at full staining (haematoxylin, eosin, glycogen for PAS and
# removed by diastase, basement membrane/mucin for PAS and kept by diastase). Relative
# strengths follow what a stained liver section shows (nuclei blue-purple, hepatocyte
# cytoplasm and collagen pink, red cells bright eosinophilic, fat and lumina empty); the
# colour of each stain is its optical-density vector in physics.md (physics/microscopy.py).
STAIN_COLUMNS: dict[str, tuple[float, float, float, float]] = {
    "hepatocyte_cytoplasm": (0.12, 0.30, 0.55, 0.07),
    "cell_membrane": (0.08, 0.42, 0.30, 0.10),
    "hepatocyte_nucleus": (0.80, 0.10, 0.0, 0.0),
    "kupffer_nucleus": (1.00, 0.10, 0.0, 0.0),
    "endothelial_nucleus": (0.95, 0.10, 0.0, 0.0),
    "lymphocyte_nucleus": (1.30, 0.05, 0.0, 0.0),
    "biliary_nucleus": (0.90, 0.08, 0.0, 0.0),
    "smooth_muscle_nucleus": (0.90, 0.12, 0.0, 0.0),
    "red_cell": (0.0, 0.72, 0.0, 0.0),
    "plasma": (0.0, 0.06, 0.0, 0.0),
    "collagen": (0.01, 0.30, 0.0, 0.10),
    "smooth_muscle": (0.07, 0.46, 0.05, 0.0),
    "biliary_epithelium": (0.12, 0.22, 0.0, 0.0),
    "basement_membrane": (0.05, 0.40, 0.0, 0.85),
    "kupffer_cytoplasm": (0.08, 0.22, 0.0, 0.35),
    "fat": (0.0, 0.0, 0.0, 0.0),
    # more organs (issue 15): (haematoxylin, eosin, glycogen, diastase-resistant PAS) OD.
    # PAS marks basement membranes, brush borders, mesangial matrix, mucin (all resist
    # diastase); goblet mucin is pale blue-grey on H&E; keratin and fibrin are bright pink.
    "proximal_tubule": (0.10, 0.46, 0.04, 0.08),
    "distal_tubule": (0.10, 0.28, 0.02, 0.05),
    "brush_border": (0.05, 0.55, 0.0, 0.75),
    "mesangial_matrix": (0.10, 0.40, 0.0, 0.38),
    "hyaline_nodule": (0.04, 0.55, 0.0, 1.05),
    "interstitium": (0.02, 0.10, 0.0, 0.04),
    "crescent_cytoplasm": (0.12, 0.40, 0.0, 0.10),
    "fibrin": (0.02, 0.80, 0.0, 0.30),
    "colonic_epithelium": (0.12, 0.34, 0.0, 0.08),
    "goblet_mucin": (0.14, 0.05, 0.0, 0.95),
    "lamina_propria": (0.10, 0.22, 0.0, 0.06),
    "tumour_cytoplasm": (0.18, 0.40, 0.0, 0.06),
    "desmoplastic_stroma": (0.05, 0.34, 0.0, 0.12),
    "necrotic_debris": (0.30, 0.45, 0.0, 0.05),
    "lymphoid_background": (0.08, 0.14, 0.0, 0.02),
    "germinal_centre": (0.06, 0.20, 0.0, 0.02),
    "sinus": (0.02, 0.08, 0.0, 0.01),
    "macrophage_cytoplasm": (0.05, 0.30, 0.0, 0.20),
    "keratinocyte": (0.08, 0.38, 0.05, 0.02),
    "keratin": (0.0, 0.55, 0.0, 0.05),
    "keratohyalin": (0.55, 0.20, 0.0, 0.0),
    "basaloid_cytoplasm": (0.22, 0.22, 0.0, 0.03),
    "myxoid_stroma": (0.12, 0.10, 0.0, 0.20),
    "melanocyte_cytoplasm": (0.08, 0.30, 0.0, 0.02),
    "melanin": (0.55, 0.70, 0.0, 0.0),
}
# --- ultrasound (issue 16): the acoustic column, and the abdominal tissues the RUQ needs ---
# physics.md "Ultrasound": impedance Z (MRayl) and attenuation (dB/cm/MHz): fat 1.38 / 0.5-0.6,
# water 1.48 / 0.002, blood 1.61 / 0.15-0.2, liver 1.65 / 0.5-0.9, kidney 1.62 / ~1,
# muscle 1.70 / 1-1.3, bone 7.8 / 5-20, air 0.0004, lung 0.18 / ~40. Scatter (relative, from
# "Ultrasound additions"): liver moderate (the reference, 1.0), spleen a little below it in
# brightness (the oracle order liver >= spleen), renal cortex below liver, medulla below cortex,
# renal sinus fat high, bile/urine/blood anechoic. `density` is the fraction of beam samples
# holding a scatterer (1: fully developed speckle; sparse fat gives sub-Rayleigh dots) and
# `strength` its RMS amplitude, so a tissue's mean backscattered intensity is strength^2.


@dataclass(frozen=True)
class Acoustic:
    """Acoustic properties: `z` MRayl, `alpha` dB/cm/MHz, scatter `density` (0-1), `strength`."""

    z: float
    alpha: float
    density: float
    strength: float


def _soft(name: str, hu: float, pd: float, t1: tuple[float, float], t2: tuple[float, float]
          ) -> Tissue:
    """An abdominal soft tissue: HU from physics.md, MR values rough (not used by ultrasound)."""
    return Tissue(name, hu, _mr(pd, t1, t2, (t2[0] * 0.6, t2[1] * 0.5), 1100))


for _t in (
    _soft("liver", 55.0, 0.8, (580, 810), (45, 40)),
    _soft("spleen", 45.0, 0.85, (1060, 1330), (80, 75)),
    _soft("kidney_cortex", 30.0, 0.85, (970, 1140), (85, 80)),
    _soft("kidney_medulla", 30.0, 0.9, (1400, 1550), (95, 90)),
    _soft("sinus_fat", -60.0, 0.95, (330, 400), (70, 90)),  # renal sinus: fat + fibrous septa
    _soft("fibrous", 60.0, 0.6, (900, 1100), (40, 38)),  # walls, capsules, fascia
    _soft("bile", 10.0, 1.0, (2800, 3000), (1500, 1500)),
    _soft("serous_fluid", 8.0, 1.0, (3500, 3700), (1800, 1800)),  # free fluid, ascites
    _soft("mesenteric_fat", -80.0, 0.95, (330, 400), (70, 90)),  # bowel mesentery
    _soft("gallstone", 250.0, 0.05, (1000, 1200), (1.0, 1.0)),  # mixed stone, calcified rim
    _soft("thyroid", 90.0, 0.8, (750, 900), (60, 55)),  # iodine makes it dense on CT
    _soft("myometrium", 45.0, 0.85, (1300, 1500), (110, 100)),
    _soft("endometrium", 40.0, 0.9, (1300, 1500), (150, 140)),
    _soft("embryo", 30.0, 0.95, (1500, 1700), (150, 150)),
    _soft("thyroid_nodule_hyper", 70.0, 0.8, (800, 950), (70, 65)),
    _soft("thyroid_nodule_iso", 70.0, 0.8, (800, 950), (70, 65)),
    _soft("thyroid_nodule_hypo", 50.0, 0.85, (900, 1050), (80, 75)),
    _soft("thyroid_nodule_very_hypo", 45.0, 0.85, (950, 1100), (85, 80)),
):
    TISSUES.setdefault(_t.name, _t)

ACOUSTIC: dict[str, Acoustic] = {
    "air": Acoustic(0.0004, 40.0, 0.0, 0.0),
    "fat": Acoustic(1.38, 0.55, 0.06, 0.9),  # subcutaneous: dark with sparse bright septa
    "skin": Acoustic(1.70, 1.0, 1.0, 1.6),
    "muscle": Acoustic(1.70, 1.15, 0.5, 0.55),
    "blood": Acoustic(1.61, 0.18, 1.0, 0.012),
    "liver": Acoustic(1.65, 0.6, 1.0, 1.0),
    "spleen": Acoustic(1.64, 0.6, 1.0, 0.9),
    "kidney_cortex": Acoustic(1.62, 1.0, 1.0, 0.72),
    "kidney_medulla": Acoustic(1.62, 1.0, 1.0, 0.33),
    "sinus_fat": Acoustic(1.45, 0.6, 1.0, 3.4),
    "fibrous": Acoustic(1.75, 1.2, 1.0, 1.8),
    "mesenteric_fat": Acoustic(1.42, 0.6, 0.12, 2.6),
    "bile": Acoustic(1.49, 0.01, 1.0, 0.006),
    "serous_fluid": Acoustic(1.48, 0.005, 1.0, 0.006),
    "gallstone": Acoustic(4.0, 12.0, 1.0, 2.5),
    "cortical_bone": Acoustic(7.8, 12.0, 1.0, 2.5),
    "blood_acute": Acoustic(1.63, 0.3, 1.0, 0.16),  # fresh thrombus: low-level echoes
    # thyroid: homogeneous, brighter than the strap muscles (+1.6 dB over liver speckle);
    # nodules by ACR TI-RADS echogenicity against the gland and the strap muscle (-8 dB):
    # hyper +4, iso 0, hypo -4.4 (between gland and strap muscle), very hypo -13 (below it)
    "thyroid": Acoustic(1.65, 0.8, 1.0, 1.2),
    "strap_muscle": Acoustic(1.70, 1.15, 0.5, 0.42),  # thin, hypoechoic to the gland
    # pelvis: myometrium a little darker than liver, the endometrium (and the decidua round
    # a gestational sac) bright, the embryo's soft tissue mid-grey
    "myometrium": Acoustic(1.64, 0.9, 1.0, 0.75),
    "endometrium": Acoustic(1.66, 0.9, 1.0, 1.7),
    "embryo": Acoustic(1.60, 0.5, 1.0, 1.4),
    # psammomatous microcalcifications: bright points (< 1 mm) too small to cast a shadow
    "microcalcification": Acoustic(2.2, 1.5, 1.0, 3.0),
    "thyroid_nodule_hyper": Acoustic(1.65, 0.8, 1.0, 1.9),
    "thyroid_nodule_iso": Acoustic(1.65, 0.8, 1.0, 1.2),
    "thyroid_nodule_hypo": Acoustic(1.64, 0.8, 1.0, 0.72),
    "thyroid_nodule_very_hypo": Acoustic(1.63, 0.8, 1.0, 0.27),
}
# fatty liver grades 1-3: fat droplets scatter more (about +4 dB a grade) and attenuate more
# (grade 3 hides the diaphragm: physics.md "Fatty liver grades")
for _g in (1, 2, 3):
    TISSUES.setdefault(f"liver_fatty_{_g}", changed(TISSUES["liver"], f"liver_fatty_{_g}",
                                                     hu_delta=-18.0 * _g))
    ACOUSTIC[f"liver_fatty_{_g}"] = Acoustic(1.64, 0.6 + 0.22 * _g, 1.0, 10 ** (4.0 * _g / 20))


def acoustic(t: Tissue) -> Acoustic:
    """The acoustic row of `t` (a changed tissue carries its own in ACOUSTIC, else its base's:
    names such as 'liver_fatty_2' fall back to 'liver')."""
    row = ACOUSTIC.get(t.name)
    if row is None:
        row = ACOUSTIC.get(t.name.split("_fatty")[0], ACOUSTIC["liver"])
    return row
# --- skin optics (issue 18): relative absorption / scatter per channel (R 620, G 545, B 460
# nm) for physics/skin_optics.py. Melanin ~ lambda^-3.5 (Jacques, "Optical properties of
# biological tissues", 2013: mu_a,mel ~ lambda^-3.48); oxy/deoxyhaemoglobin low at 620 nm,
# peaks near 545 (Q bands) and toward the Soret band; corneal melanin clumps are near-black
# (flat); collagen scatter ~ lambda^-1; papillary backscatter bluish (Tyndall). The scale is
# set so Fitzpatrick I-VI reach their ITA ranges (physics.md "Dermoscopy additions").
SKIN_OPTICS: dict[str, tuple[float, float, float]] = {
    "mel_epidermal": (0.22, 0.30, 0.37),
    "mel_corneal": (1.0, 1.08, 1.18),
    "mel_dermal": (0.9, 1.0, 1.1),
    "blood": (0.02, 1.0, 0.7),
    "keratin": (0.02, 0.06, 0.22),
    "dermis_k": (0.02, 0.03, 0.05),
    "dermis_s": (1.0, 1.14, 1.35),
    "papillary_backscatter": (0.015, 0.03, 0.07),
}
# --- bones and joints on films (issue 19): what a limb's voxels are made of. physics.md:
# cancellous bone 200-700 HU, cortical 1000-1900 HU (mu 0.502 cm^-1 at 70 keV, above). A
# voxel of ~0.45 mm is either a trabecular spicule (dense) or marrow between spicules, so the
# cancellous average (~350 HU at ~35 % spicules) comes out of the texture; growth-plate and
# articular cartilage are soft tissue; callus mineralises from soft (2 weeks) through woven
# bone (6 weeks) to near-cortical (remodelled, 12 weeks).
for _t in (
    _soft("trabecular_bone", 550.0, 0.05, (1000, 1200), (1.0, 1.0)),
    _soft("bone_marrow", 60.0, 0.9, (400, 480), (70, 80)),  # mixed red/yellow marrow
    _soft("growth_cartilage", 90.0, 0.7, (1000, 1200), (40, 38)),
    _soft("callus_soft", 150.0, 0.7, (1000, 1200), (40, 38)),
    _soft("callus_woven", 600.0, 0.3, (1000, 1200), (5.0, 5.0)),
    _soft("callus_mature", 1000.0, 0.1, (1000, 1200), (2.0, 2.0)),
    _soft("impacted_bone", 1200.0, 0.05, (1000, 1200), (1.0, 1.0)),  # compressed spicules
):
    TISSUES.setdefault(_t.name, _t)
# --- teeth and dental materials (issue 19, regions/dental). HU from physics.md "CT numbers":
# dentine ~1500-2000, enamel ~2500-3000, so mu = mu_water (1 + HU/1000) gives enamel 0.73 and
# dentine 0.53 cm^-1 at 70 keV. Pulp is soft tissue (40 HU). Cementum is taken as cortical bone
# (its mineral fraction, ~45-50% by weight, is close to bone's; physics.md has no row for it).
# Restorative materials are not in physics.md: approximate 70 keV values from NIST XCOM mass
# attenuation x density, rounded: titanium (4.5 g/cm3, mu/rho ~0.55 cm2/g) ~2.5 cm^-1; dental
# amalgam (Ag-Sn-Cu + Hg, ~11.5 g/cm3, mu/rho ~3 cm2/g) ~35 cm^-1, i.e. opaque at any film
# exposure; resin composite with barium glass filler is radiopaque a little above enamel (ISO
# 4049 asks >= aluminium of the same thickness); porcelain/zirconia crown ~ 3 cm^-1; gutta-percha
# root filling (zinc oxide, barium sulphate) ~ 3 cm^-1.
_DENTAL_MR = _mr(0.05, (1000, 1200), (1.0, 1.0), (0.5, 0.5), 0.0)
for _t in (
    Tissue("enamel", 2750.0, _DENTAL_MR),
    Tissue("dentine", 1750.0, _DENTAL_MR),
    Tissue("pulp", 40.0, _mr(0.85, (900, 1200), (80, 75), (50, 40), 1100)),
    Tissue("cementum", 1400.0, _DENTAL_MR, mu=0.502),
    Tissue("cancellous_bone", 450.0, _mr(0.7, (380, 450), (60, 70), (20, 15), 50)),
    Tissue("amalgam", 30000.0, _DENTAL_MR, mu=35.0),
    Tissue("composite", 3200.0, _DENTAL_MR, mu=0.85),
    Tissue("titanium", 12000.0, _DENTAL_MR, mu=2.5),
    Tissue("porcelain", 14000.0, _DENTAL_MR, mu=3.0),
    Tissue("gutta_percha", 14000.0, _DENTAL_MR, mu=3.0),
):
    TISSUES.setdefault(_t.name, _t)
# --- sketches (issue 24): the chest's lung and airspace disease as tissues, so a drawn chest
# renders on every modality from this one table. Lung: physics.md "CT numbers" (aerated lung
# -850 HU) and "Linear attenuation" (inflated lung 0.050 cm^-1 at 70 keV). Lung MR (not in
# physics.md): parenchyma holds little water (PD ~0.15), T1 ~1200 ms at 1.5 T and ~1300 ms at
# 3 T (Stadler et al., MRM 2005), T2* ~2 ms at 1.5 T and under 1 ms at 3 T (Hatabu et al.,
# 1999; Yu et al., 2011): dark on every sequence. Consolidation: airspaces full of exudate,
# HU 35 as materials.py's consolidation; MR like an oedematous tissue (long T2).
TISSUES.setdefault("lung", Tissue("lung", -850.0, _mr(0.15, (1200, 1300), (40, 35), (2.0, 0.8),
                                                      1500), mu=0.050))
TISSUES.setdefault("consolidation", Tissue("consolidation", 35.0,
                                           _mr(0.9, (1400, 1700), (120, 110), (40, 30), 1300)))

TISSUES.setdefault("strap_muscle", changed(TISSUES["muscle"], "strap_muscle"))
TISSUES.setdefault("microcalcification", changed(TISSUES["gallstone"], "microcalcification"))
# --- plain abdominal film (issue 19, regions/abdomen_xr): calculi and metal. Calcium oxalate
# renal stones read ~1200-1800 HU on CT (monohydrate the densest), so 1500 HU: mu from the
# water line (physics.md) ~0.49 cm^-1. A coin (copper-nickel, ~8.9 g/cm3, mu/rho ~2 cm2/g at
# 70 keV, NIST XCOM, approximate) ~18 cm^-1: opaque on any film. Bowel gas is `air`.
for _t in (
    Tissue("calculus", 1500.0, _DENTAL_MR),
    Tissue("metal", 20000.0, _DENTAL_MR, mu=18.0),
):
    TISSUES.setdefault(_t.name, _t)
# --- abdominal ultrasound, more findings (issue 16). Echogenicity against liver speckle (1.0)
# from physics.md "Ultrasound additions" and the usual textbook descriptions: sludge is
# low-level echoes (about 15 dB over bile, 6 dB under liver), a suspension of crystals and
# granules that attenuates like soft tissue, not like a stone: no shadow; a gallbladder polyp
# is soft tissue, echogenic, non-shadowing; a haemangioma is homogeneous and hyperechoic
# (blood-filled spaces: many interfaces) with low attenuation (posterior enhancement); a
# metastasis is hypoechoic, or a target with an echogenic centre, with a hypoechoic halo
# (compressed liver and tumour rim); an angiomyolipoma is fat: as bright as the renal sinus
# fat or brighter, attenuating more (some shadow behind a large one). Impedances in the
# soft-tissue range of physics.md.
for _t in (
    _soft("sludge", 25.0, 1.0, (2000, 2200), (600, 600)),
    _soft("gb_polyp", 45.0, 0.85, (900, 1100), (80, 75)),
    _soft("haemangioma", 40.0, 0.95, (1200, 1400), (150, 140)),
    _soft("metastasis", 40.0, 0.9, (1000, 1200), (90, 85)),
    _soft("metastasis_core", 45.0, 0.85, (900, 1100), (80, 75)),
    _soft("metastasis_halo", 35.0, 0.9, (1100, 1300), (100, 95)),
    _soft("angiomyolipoma", -60.0, 0.95, (330, 400), (70, 90)),
):
    TISSUES.setdefault(_t.name, _t)
ACOUSTIC.update({
    "sludge": Acoustic(1.52, 0.8, 1.0, 0.3),
    "gb_polyp": Acoustic(1.65, 0.7, 1.0, 1.4),
    "haemangioma": Acoustic(1.64, 0.35, 1.0, 2.0),
    "metastasis": Acoustic(1.63, 0.7, 1.0, 0.35),  # hypoechoic: about -9 dB
    "metastasis_core": Acoustic(1.65, 0.7, 1.0, 2.0),  # the target's echogenic centre
    "metastasis_halo": Acoustic(1.62, 0.6, 1.0, 0.1),  # the halo: about -20 dB
    "angiomyolipoma": Acoustic(1.45, 1.0, 1.0, 4.2),
})
# Speed of sound (m/s) for refraction in physics/ultrasound.py (edge shadows): physics.md
# "Ultrasound" (fat 1450, water 1480, blood 1570, liver 1550, kidney 1560, muscle 1580, bone
# 3500-4000, air 330); bile, urine and serous fluid as water, fibrous tissue and myocardium as
# muscle, parenchymas as liver. Unlisted tissues take the scanner's assumed 1540.
SPEED_M_S: dict[str, float] = {
    "air": 330.0, "lung": 650.0, "fat": 1450.0, "mesenteric_fat": 1450.0, "sinus_fat": 1450.0,
    "bile": 1480.0, "serous_fluid": 1480.0, "blood": 1570.0, "blood_acute": 1570.0,
    "liver": 1550.0, "spleen": 1550.0, "kidney_cortex": 1560.0, "kidney_medulla": 1560.0,
    "muscle": 1580.0, "strap_muscle": 1580.0, "fibrous": 1580.0, "skin": 1580.0,
    "myocardium": 1580.0, "pericardium": 1580.0, "gallstone": 3500.0, "cortical_bone": 3500.0,
}


def speed(t: Tissue) -> float:
    """Speed of sound in `t` (a changed tissue falls back to its base: liver_fatty_2 -> liver)."""
    return SPEED_M_S.get(t.name, SPEED_M_S.get(t.name.split("_fatty")[0], 1540.0))


# The heart (subcostal four-chamber view, issue 16): myocardium a little darker than liver
# (muscle's speckle, fibres across the beam), the pericardium a dense fibrous sac, bright
# against myocardium and fluid.
TISSUES.setdefault("myocardium", changed(TISSUES["muscle"], "myocardium"))
TISSUES.setdefault("pericardium", changed(TISSUES["fibrous"], "pericardium"))
ACOUSTIC["myocardium"] = Acoustic(1.69, 1.0, 1.0, 0.7)
ACOUSTIC["pericardium"] = Acoustic(1.95, 1.5, 1.0, 3.0)
# a calcified crystal in the gallbladder wall (adenomyomatosis): calcium's impedance (as
# cortical bone, physics.md 7.8) in a focus ~2 mm across, too thin to attenuate much
TISSUES.setdefault("wall_crystal", changed(TISSUES["gallstone"], "wall_crystal"))
ACOUSTIC["wall_crystal"] = Acoustic(7.8, 1.5, 1.0, 2.5)
SPEED_M_S["wall_crystal"] = 3500.0
# --- obstetric and gynaecological ultrasound (issue 16): the fetal skull is thin and less
# mineralised than adult bone (Z ~3 MRayl: a bright ring that still lets the far hemisphere
# through, physics.md "Ultrasound": bone 7.8 is the mature value); fetal brain hypoechoic with
# darker thalami; placenta homogeneous, a little brighter than myometrium; ovarian stroma
# mid-grey; a dermoid's sebum/hair plug bright and attenuating (the "tip of the iceberg").
for _t in (
    _soft("fetal_skull", 400.0, 0.05, (1000, 1200), (1.0, 1.0)),
    _soft("fetal_brain", 30.0, 0.95, (1800, 2000), (200, 180)),
    _soft("thalamus", 32.0, 0.9, (1500, 1700), (150, 140)),
    _soft("placenta", 45.0, 0.9, (1200, 1400), (120, 110)),
    _soft("ovary", 40.0, 0.9, (1300, 1500), (100, 90)),
    _soft("dermoid_plug", -90.0, 0.9, (300, 380), (70, 80)),
    _soft("venous_thrombus", 55.0, 0.9, (900, 1100), (120, 100)),
):
    TISSUES.setdefault(_t.name, _t)
ACOUSTIC.update({
    "fetal_skull": Acoustic(3.0, 6.0, 1.0, 2.5),
    "fetal_brain": Acoustic(1.58, 0.5, 1.0, 0.7),
    "thalamus": Acoustic(1.59, 0.5, 1.0, 0.16),
    "placenta": Acoustic(1.63, 0.7, 1.0, 1.1),
    "ovary": Acoustic(1.63, 0.8, 1.0, 0.6),
    "dermoid_plug": Acoustic(1.50, 6.0, 1.0, 4.5),
    # a deep vein's thrombus of days: low-level echoes, clearly above flowing blood (-10 dB
    # to liver; the jugular view's fresher "blood_acute" is darker)
    "venous_thrombus": Acoustic(1.63, 0.3, 1.0, 0.32),
})
