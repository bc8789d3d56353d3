"""The prompt vocabulary, as data.

Every table maps a canonical value to the phrases clinicians write for it. The parser turns
these into one phrase index (longest match wins), so adding a synonym is a one-line change here
and never an if-chain in the parser. Phrases are written in their normalised form: lower case,
punctuation replaced by spaces (so "T2-weighted" is written "t2 weighted", "H&E" is "h e").
"""

from __future__ import annotations

MODALITIES: dict[str, list[str]] = {
    "xray": ["x ray", "xray", "x rays", "radiograph", "radiographs", "radiography", "plain film",
             "plain radiograph", "film", "roentgenogram", "dx", "cr"],
    "ct": ["ct", "cat scan", "ct scan", "computed tomography", "cect", "ncct", "mdct"],
    "mri": ["mri", "mr", "magnetic resonance", "magnetic resonance imaging", "mr imaging",
            "nmr"],
    "us": ["ultrasound", "us", "sonogram", "sonography", "ultrasonography", "usg", "doppler",
           "sonographic"],
    "histo": ["histology", "histopathology", "histological", "histologic", "biopsy",
              "micrograph", "photomicrograph", "pathology slide", "slide", "core biopsy",
              "resection specimen"],
    "derm": ["dermatoscopy", "dermoscopy", "dermatoscopic", "dermoscopic", "dermatoscope",
             "epiluminescence microscopy"],
    "fundus": ["fundus", "fundus photo", "fundus photograph", "fundus photography",
               "fundus image", "retinal photograph", "retinal photo", "fundoscopy",
               "funduscopy", "ophthalmoscopy", "fundal photograph"],
}

# Phrases that carry several facts at once.
COMPOUNDS: dict[str, dict[str, str]] = {
    "cxr": {"modality": "xray", "region": "chest"},
    "chest film": {"modality": "xray", "region": "chest"},
    "hrct": {"modality": "ct", "region": "chest"},
    "ctpa": {"modality": "ct", "region": "chest"},
    "axr": {"modality": "xray", "region": "abdomen"},
    "opg": {"modality": "xray", "region": "teeth", "view": "panoramic"},
    "orthopantomogram": {"modality": "xray", "region": "teeth", "view": "panoramic"},
    "panorex": {"modality": "xray", "region": "teeth", "view": "panoramic"},
    "dental panoramic": {"modality": "xray", "region": "teeth", "view": "panoramic"},
    "echocardiogram": {"modality": "us", "region": "heart"},
    "echo": {"modality": "us", "region": "heart"},
    "mammogram": {"modality": "xray", "region": "breast"},
    "mammography": {"modality": "xray", "region": "breast"},
    "supine": {"view": "ap"},
    "portable": {"view": "ap"},
    "erect": {"view": "pa"},
    "skin lesion": {"region": "skin"},
    "retina": {"region": "retina"},
}

REGIONS: dict[str, list[str]] = {
    "chest": ["chest", "thorax", "thoracic", "lung", "lungs", "pulmonary", "chest wall"],
    "brain": ["brain", "head", "cerebral", "cranial", "intracranial", "neuro", "cerebrum"],
    "abdomen": ["abdomen", "abdominal", "belly"],
    "pelvis": ["pelvis", "pelvic"],
    "spine": ["spine", "spinal", "cervical spine", "c spine", "lumbar spine", "l spine",
              "thoracic spine", "t spine", "vertebral column"],
    "knee": ["knee", "knees"],
    "hand": ["hand", "hands", "finger", "fingers"],
    "wrist": ["wrist", "wrists", "scaphoid"],
    "ankle": ["ankle", "ankles"],
    "foot": ["foot", "feet", "toe", "toes"],
    "shoulder": ["shoulder", "shoulders"],
    "hip": ["hip", "hips"],
    "elbow": ["elbow", "elbows"],
    "teeth": ["teeth", "tooth", "dental", "jaw", "jaws", "mandible", "maxilla", "dentition"],
    "heart": ["heart", "cardiac"],
    "liver": ["liver", "hepatic"],
    "kidney": ["kidney", "kidneys", "renal"],
    "gallbladder": ["gallbladder", "gall bladder", "biliary"],
    "thyroid": ["thyroid"],
    "breast": ["breast", "breasts"],
    "colon": ["colon", "colonic", "colorectal", "bowel", "large bowel"],
    "stomach": ["stomach", "gastric"],
    "lymph_node": ["lymph node", "lymph nodes", "node"],
    "prostate": ["prostate", "prostatic"],
    "skin": ["skin", "cutaneous", "dermal", "mole"],
    "retina": ["retinal", "eye", "ocular", "optic disc"],
}

VIEWS: dict[str, list[str]] = {
    "pa": ["pa", "p a", "posteroanterior", "postero anterior"],
    "ap": ["ap", "a p", "anteroposterior", "antero posterior"],
    "lateral": ["lateral", "lat", "lateral view", "left lateral"],
    "oblique": ["oblique"],
    "panoramic": ["panoramic", "pantomogram"],
    "decubitus": ["decubitus", "lateral decubitus"],
}

PLANES: dict[str, list[str]] = {
    "axial": ["axial", "transverse", "transaxial", "axial slice", "axial section"],
    "coronal": ["coronal", "cor"],
    "sagittal": ["sagittal", "sag"],
}

SEQUENCES: dict[str, list[str]] = {
    "t1": ["t1", "t1 weighted", "t1w", "t1wi"],
    "t2": ["t2", "t2 weighted", "t2w", "t2wi", "t2 tse", "t2 fse"],
    "flair": ["flair", "t2 flair", "fluid attenuated inversion recovery"],
    "pd": ["pd", "proton density", "pd weighted", "pdw"],
    "dwi": ["dwi", "diffusion weighted", "diffusion weighted imaging", "diffusion"],
    "adc": ["adc", "adc map", "apparent diffusion coefficient"],
    "stir": ["stir", "short tau inversion recovery"],
    "t1c": ["t1c", "t1 c", "t1 post contrast", "t1 post gadolinium", "post contrast t1",
            "contrast enhanced t1", "t1 gad", "t1 gd", "t1 with contrast", "t1 post gad"],
    "swi": ["swi", "susceptibility weighted", "susceptibility weighted imaging"],
    "gre": ["gre", "gradient echo", "t2 star", "t2star"],
}

STAINS: dict[str, list[str]] = {
    "he": ["he", "h e", "h and e", "hematoxylin and eosin", "haematoxylin and eosin",
           "hematoxylin eosin", "haematoxylin eosin", "h e stained", "he stained"],
    "pas": ["pas", "periodic acid schiff", "periodic acid schiff stain", "pas stained"],
    "ihc": ["ihc", "immunohistochemistry", "immunohistochemical", "immunostain", "dab",
            "immunoperoxidase"],
}

# CT display windows: name -> (centre, width) in HU.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "lung": (-600, 1500),
    "mediastinum": (40, 400),
    "bone": (400, 1800),
    "soft_tissue": (50, 350),
    "brain": (40, 80),
    "subdural": (75, 200),
    "stroke": (40, 40),
    "liver": (60, 160),
    "abdomen": (40, 400),
}
WINDOWS: dict[str, list[str]] = {
    "lung": ["lung window", "lung windows", "pulmonary window", "lung"],
    "mediastinum": ["mediastinal window", "mediastinum window", "mediastinal", "mediastinum"],
    "bone": ["bone window", "bone windows", "bone"],
    "soft_tissue": ["soft tissue window", "soft tissue windows", "soft tissue"],
    "brain": ["brain window", "brain"],
    "subdural": ["subdural window", "subdural"],
    "stroke": ["stroke window", "stroke"],
    "liver": ["liver window", "liver"],
    "abdomen": ["abdominal window", "abdomen window", "abdomen"],
}
# In free text only the explicit "... window" phrases select a window ("lung" alone is a
# region); the bare names are for the --window flag.
WINDOW_TEXT_REQUIRES = "window"

LEVELS: dict[str, list[str]] = {
    "thoracic_inlet": ["thoracic inlet"],
    "lung_apices": ["lung apices", "apices", "lung apex"],
    "aortic_arch": ["aortic arch", "level of the aortic arch"],
    "carina": ["carina", "tracheal bifurcation", "level of the carina"],
    "pulmonary_trunk": ["pulmonary trunk", "main pulmonary artery", "pulmonary artery"],
    "heart": ["four chamber", "cardiac level", "level of the heart", "ventricles of the heart"],
    "lung_bases": ["lung bases", "bases", "lung base"],
    "basal_ganglia": ["basal ganglia", "level of the basal ganglia", "thalami"],
    "lateral_ventricles": ["lateral ventricles", "bodies of the lateral ventricles"],
    "centrum_semiovale": ["centrum semiovale", "corona radiata"],
    "vertex": ["vertex", "high convexity"],
    "posterior_fossa": ["posterior fossa", "cerebellum level", "fourth ventricle"],
    "midbrain": ["midbrain", "level of the midbrain"],
    "pons": ["pons", "level of the pons"],
    "orbits": ["orbits", "level of the orbits"],
}
# Vertebral levels (c1-c7, t1-t12, l1-l5, s1) are recognised by pattern in the parser.

LATERALITY: dict[str, list[str]] = {
    "right": ["right", "rt", "right sided", "right side", "dextral"],
    "left": ["left", "lt", "left sided", "left side", "sinistral"],
    "bilateral": ["bilateral", "both", "bilat", "b l", "bilaterally", "both sides",
                  "bibasal", "bibasilar"],
}

# Locations; the value after the colon is the laterality the location implies, if any.
LOCATIONS: dict[str, list[str]] = {
    "rul:right": ["rul", "right upper lobe", "right upper lobar"],
    "rml:right": ["rml", "right middle lobe", "middle lobe"],
    "rll:right": ["rll", "right lower lobe"],
    "lul:left": ["lul", "left upper lobe"],
    "lingula:left": ["lingula", "lingular"],
    "lll:left": ["lll", "left lower lobe"],
    "upper_lobe": ["upper lobe", "upper lobes"],
    "lower_lobe": ["lower lobe", "lower lobes"],
    "upper_zone": ["upper zone", "upper zones"],
    "mid_zone": ["mid zone", "middle zone", "mid zones"],
    "lower_zone": ["lower zone", "lower zones"],
    "apex": ["apex", "apical"],
    "base": ["base", "basal"],
    "perihilar": ["perihilar", "hilar", "hilum"],
    "mca": ["mca", "middle cerebral artery", "middle cerebral"],
    "aca": ["aca", "anterior cerebral artery", "anterior cerebral"],
    "pca": ["pca", "posterior cerebral artery", "posterior cerebral"],
    "pica": ["pica", "posterior inferior cerebellar artery"],
    "basilar": ["basilar", "basilar artery"],
    "watershed": ["watershed", "border zone", "borderzone"],
    "frontal_lobe": ["frontal lobe", "frontal"],
    "parietal_lobe": ["parietal lobe", "parietal"],
    "temporal_lobe": ["temporal lobe", "temporal"],
    "occipital_lobe": ["occipital lobe", "occipital"],
    "cerebellum": ["cerebellum", "cerebellar"],
    "thalamus": ["thalamus", "thalamic"],
    "internal_capsule": ["internal capsule"],
    "periventricular": ["periventricular"],
    "distal_radius": ["distal radius", "distal radial"],
    "femoral_neck": ["femoral neck", "neck of femur", "nof"],
    "tibial_plateau": ["tibial plateau"],
    "medial_meniscus": ["medial meniscus"],
    "lateral_meniscus": ["lateral meniscus"],
    "macula": ["macula", "macular"],
    "optic_disc": ["optic nerve head"],
    "third_molar": ["third molar", "wisdom tooth", "wisdom teeth"],
}

# lateralised generic location -> specific location
LOCATION_COMBINE: dict[tuple[str, str], str] = {
    ("right", "upper_lobe"): "rul",
    ("left", "upper_lobe"): "lul",
    ("right", "lower_lobe"): "rll",
    ("left", "lower_lobe"): "lll",
}

SEVERITY: dict[str, list[str]] = {
    "mild": ["mild", "minimal", "small", "slight", "trace", "subtle", "tiny", "early", "minor"],
    "moderate": ["moderate", "medium", "moderately"],
    "severe": ["severe", "large", "massive", "extensive", "marked", "gross", "huge",
               "big", "advanced", "florid", "dense"],
}

MODIFIERS: dict[str, list[str]] = {
    "hyperacute": ["hyperacute"],
    "early_subacute": ["early subacute"],
    "late_subacute": ["late subacute"],
    "active": ["active", "actively enhancing"],
    "acute": ["acute"],
    "subacute": ["subacute"],
    "chronic": ["chronic", "longstanding", "long standing"],
    "spiculated": ["spiculated", "spiculate"],
    "cavitating": ["cavitating", "cavitated", "cavitary"],
    "tension": ["tension"],
    "loculated": ["loculated"],
    "calcified": ["calcified", "calcifying"],
    "air_bronchograms": ["air bronchograms", "air bronchogram"],
    "displaced": ["displaced"],
    "comminuted": ["comminuted"],
    "haemorrhagic": ["haemorrhagic", "hemorrhagic"],
    "macrovesicular": ["macrovesicular", "large droplet"],
    "microvesicular": ["microvesicular", "small droplet"],
    "ring_enhancing": ["ring enhancing", "rim enhancing"],
    "multifocal": ["multifocal", "multiple"],
    "lobar": ["lobar"],
}

# Findings: canonical -> (regions it belongs to, phrases). The first region is its home,
# used to infer the region (and so the modality) when the prompt names neither.
FINDINGS: dict[str, tuple[tuple[str, ...], list[str]]] = {
    # chest
    "consolidation": (("chest",), ["consolidation", "consolidations", "airspace opacity",
                       "airspace disease", "air space disease", "pneumonia", "pneumonias",
                       "lobar pneumonia", "bronchopneumonia", "airspace consolidation"]),
    "pleural_effusion": (("chest",), ["pleural effusion", "pleural effusions", "effusion",
                          "effusions", "hydrothorax", "pleural fluid"]),
    "pneumothorax": (("chest",), ["pneumothorax", "pneumothoraces", "ptx", "collapsed lung"]),
    "nodule": (("chest",), ["nodule", "pulmonary nodule", "lung nodule", "coin lesion",
               "solitary pulmonary nodule", "spn"]),
    "mass": (("chest", "brain", "breast", "abdomen"), ["mass", "lung mass", "tumour", "tumor",
             "neoplasm", "lung cancer", "bronchogenic carcinoma", "lesion"]),
    "cavity": (("chest",), ["cavity", "cavitating lesion", "cavitation", "lung abscess",
               "abscess"]),
    "cardiomegaly": (("chest",), ["cardiomegaly", "enlarged heart", "cardiac enlargement",
                     "enlarged cardiac silhouette"]),
    "pulmonary_edema": (("chest",), ["pulmonary oedema", "pulmonary edema", "oedema", "edema",
                        "chf", "heart failure", "congestive heart failure", "fluid overload",
                        "bat wing", "batwing", "kerley b lines", "kerley lines"]),
    "collapse": (("chest",), ["collapse", "lobar collapse", "atelectasis", "volume loss"]),
    "emphysema": (("chest",), ["emphysema", "copd", "hyperinflation", "hyperinflated",
                  "hyperexpanded", "hyperexpansion", "bullae", "bullous"]),
    "fibrosis": (("chest", "liver"), ["fibrosis", "interstitial fibrosis", "pulmonary fibrosis",
                 "ipf", "uip", "interstitial lung disease", "ild", "honeycombing",
                 "reticulation"]),
    "miliary_nodules": (("chest",), ["miliary", "miliary nodules", "miliary tb",
                        "miliary tuberculosis", "miliary pattern"]),
    "pneumoperitoneum": (("chest", "abdomen"), ["pneumoperitoneum", "free air", "free gas",
                         "air under the diaphragm", "free intraperitoneal air"]),
    "rib_fracture": (("chest",), ["rib fracture", "rib fractures", "fractured rib",
                     "broken rib"]),
    "hiatus_hernia": (("chest",), ["hiatus hernia", "hiatal hernia"]),
    "mediastinal_widening": (("chest",), ["widened mediastinum", "mediastinal widening",
                             "wide mediastinum"]),
    "et_tube": (("chest",), ["endotracheal tube", "ett", "et tube", "tracheal tube"]),
    "central_line": (("chest",), ["central line", "cvc", "central venous catheter", "picc",
                     "picc line"]),
    "pacemaker": (("chest",), ["pacemaker", "pacer", "icd", "cardiac device"]),
    # brain
    "infarct": (("brain",), ["infarct", "infarction", "infarcts", "stroke", "ischaemic stroke",
                "ischemic stroke", "cva", "ischaemia", "ischemia"]),
    "haemorrhage": (("brain",), ["haemorrhage", "hemorrhage", "bleed", "ich",
                    "intracerebral haemorrhage", "intracerebral hemorrhage", "haematoma",
                    "hematoma", "intraparenchymal haemorrhage"]),
    "subdural_haematoma": (("brain",), ["subdural haematoma", "subdural hematoma", "sdh",
                           "subdural haemorrhage", "subdural hemorrhage"]),
    "extradural_haematoma": (("brain",), ["extradural haematoma", "epidural hematoma",
                             "epidural haematoma", "extradural hematoma", "edh"]),
    "subarachnoid_haemorrhage": (("brain",), ["subarachnoid haemorrhage",
                                 "subarachnoid hemorrhage", "sah"]),
    "glioma": (("brain",), ["glioma", "glioblastoma", "gbm", "astrocytoma"]),
    "meningioma": (("brain",), ["meningioma"]),
    "metastases": (("brain", "chest", "liver"), ["metastases", "metastasis", "mets",
                   "metastatic disease"]),
    "ms_plaques": (("brain",), ["ms plaques", "demyelination", "multiple sclerosis",
                   "demyelinating plaques", "white matter lesions"]),
    "hydrocephalus": (("brain",), ["hydrocephalus", "ventriculomegaly"]),
    "atrophy": (("brain",), ["atrophy", "cerebral atrophy", "volume loss of the brain"]),
    "brain_abscess": (("brain",), ["brain abscess", "cerebral abscess", "intracranial abscess"]),
    # liver / histology
    "steatosis": (("liver",), ["steatosis", "fatty liver", "fatty change", "nafld", "masld",
                  "hepatic steatosis", "fatty infiltration"]),
    "cirrhosis": (("liver",), ["cirrhosis", "cirrhotic"]),
    "hepatitis": (("liver",), ["hepatitis", "interface hepatitis"]),
    "adenocarcinoma": (("colon", "stomach", "prostate", "lung", "breast"),
                       ["adenocarcinoma", "carcinoma"]),
    "granuloma": (("lung", "lymph_node", "liver", "skin"), ["granuloma", "granulomas",
                  "granulomatous inflammation"]),
    "glomerulosclerosis": (("kidney",), ["glomerulosclerosis", "diabetic nephropathy",
                           "kimmelstiel wilson"]),
    "dysplasia": (("colon", "stomach"), ["dysplasia", "dysplastic"]),
    "necrosis": (("liver", "kidney", "lymph_node"), ["necrosis", "necrotic", "caseation"]),
    # dermatoscopy
    "melanoma": (("skin",), ["melanoma", "malignant melanoma"]),
    "naevus": (("skin",), ["naevus", "nevus", "nevi", "naevi", "benign mole"]),
    "basal_cell_carcinoma": (("skin",), ["basal cell carcinoma", "bcc", "rodent ulcer"]),
    "squamous_cell_carcinoma": (("skin",), ["squamous cell carcinoma", "scc"]),
    "seborrhoeic_keratosis": (("skin",), ["seborrhoeic keratosis", "seborrheic keratosis"]),
    "dermatofibroma": (("skin",), ["dermatofibroma"]),
    # fundus
    "diabetic_retinopathy": (("retina",), ["diabetic retinopathy", "npdr", "pdr",
                             "proliferative diabetic retinopathy"]),
    "hypertensive_retinopathy": (("retina",), ["hypertensive retinopathy", "av nicking"]),
    "papilloedema": (("retina",), ["papilloedema", "papilledema", "disc swelling"]),
    "glaucomatous_cupping": (("retina",), ["glaucoma", "glaucomatous cupping", "cupping",
                             "enlarged cup"]),
    "macular_degeneration": (("retina",), ["macular degeneration", "amd", "armd", "drusen"]),
    "retinal_vein_occlusion": (("retina",), ["retinal vein occlusion", "crvo", "brvo"]),
    "retinal_detachment": (("retina",), ["retinal detachment"]),
    # musculoskeletal
    "fracture": (("wrist", "hip", "ankle", "hand", "foot", "knee", "shoulder", "elbow",
                  "spine"), ["fracture", "fractures", "fx", "break", "broken"]),
    "dislocation": (("shoulder", "elbow", "hip", "hand"), ["dislocation", "dislocated"]),
    "osteoarthritis": (("knee", "hip", "hand"), ["osteoarthritis", "oa",
                       "degenerative joint disease", "joint space narrowing"]),
    "joint_effusion": (("knee", "elbow", "ankle"), ["joint effusion", "knee effusion"]),
    # ultrasound / abdomen
    "gallstones": (("gallbladder",), ["gallstones", "gallstone", "cholelithiasis"]),
    "hydronephrosis": (("kidney",), ["hydronephrosis"]),
    "cyst": (("kidney", "liver", "thyroid", "breast"), ["cyst", "simple cyst"]),
    "ascites": (("abdomen",), ["ascites"]),
    # dental
    "caries": (("teeth",), ["caries", "dental caries", "cavity in tooth"]),
    "periapical_lesion": (("teeth",), ["periapical lesion", "periapical abscess",
                          "periapical lucency"]),
    "impacted_tooth": (("teeth",), ["impacted tooth", "impaction",
                       "impacted"]),
}

# Short forms that mean a modality or stain only when written in capitals ("US" is
# ultrasound, "us" is a pronoun; "HE" is H&E, "he" is not; "MR" vs "Mr. Nguyen").
UPPERCASE_ONLY: frozenset[str] = frozenset({"us", "mr", "he", "dx", "cr", "oa", "ich", "dab"})

# A finding word that means something else in another region ("effusion" in a knee is a
# joint effusion, a "cavity" in a tooth is caries).
FINDING_IN_REGION: dict[tuple[str, str], str] = {
    ("pleural_effusion", "knee"): "joint_effusion",
    ("pleural_effusion", "elbow"): "joint_effusion",
    ("pleural_effusion", "ankle"): "joint_effusion",
    ("cavity", "teeth"): "caries",
    ("collapse", "spine"): "fracture",
    ("fibrosis", "liver"): "cirrhosis",
    ("fracture", "chest"): "rib_fracture",
}

# A slice level named in the text of a projection image is a place ("at the lung bases").
LEVEL_AS_LOCATION: dict[str, str] = {"lung_bases": "base", "lung_apices": "apex"}

# Words that set the finding-free "normal" study.
NORMAL: list[str] = ["normal", "no acute findings", "unremarkable", "healthy",
                     "no abnormality", "no abnormalities", "within normal limits", "wnl",
                     "no acute abnormality"]

AGE_GROUPS: dict[str, list[str]] = {
    "neonate": ["neonate", "neonatal", "newborn", "preterm"],
    "infant": ["infant", "baby", "toddler"],
    "child": ["child", "children", "paediatric", "pediatric", "kid", "boy child",
              "girl child", "school age"],
    "adolescent": ["adolescent", "teenager", "teen", "teenage"],
    "adult": ["adult", "middle aged", "middle age"],
    "elderly": ["elderly", "older adult", "geriatric", "old age"],
}

SEXES: dict[str, list[str]] = {
    "male": ["male", "man", "men", "boy", "gentleman", "his"],
    "female": ["female", "woman", "women", "girl", "lady", "her", "pregnant"],
}

# Filler words a prompt is made of that carry nothing for the spec; everything else that
# matches no table is reported back as "ignored".
STOPWORDS: frozenset[str] = frozenset(
    """a an the of in at on to for with without and or but by from into onto over under
    generate create produce make render draw give show showing shows shown depict depicting
    demonstrate demonstrating demonstrates illustrate illustrating displaying display
    image images picture pictures photo photograph scan scans study slice slices view views
    sequence weighted stained stain staining level levels territory territories
    suggestive suggesting consistent compatible typical classic classical example examples
    involving involvement affecting approximately about around roughly nearly some
    please patient case cases teaching finding findings appearance appearances feature
    features sign signs pattern seen visible there is are was were be being which that
    this these those who year years old aged age yo y o sex
    hepatocytes cells tissue parenchyma specimen field high power low magnification
    sample samples sized size like within its their an side lobe zone obtained taken
    acquired performed level also plus very quite well""".split()
)

# Flags: canonical option -> aliases (without dashes).
FLAGS: dict[str, list[str]] = {
    "modality": ["modality", "m"],
    "view": ["view"],
    "plane": ["plane"],
    "seq": ["seq", "sequence"],
    "stain": ["stain"],
    "window": ["window", "w"],
    "level": ["level"],
    "age": ["age"],
    "sex": ["sex", "gender"],
    "seed": ["seed", "sameseed"],
    "ar": ["ar", "aspect"],
    "size": ["size"],
    "no": ["no"],
    "engine": ["engine"],
    "steps": ["steps"],
    "repeat": ["repeat", "r"],
    "region": ["region", "body"],
    # ultrasound machine settings (prompt/scan.py)
    "freq": ["freq", "frequency", "mhz"],
    "depth": ["depth"],
    "focus": ["focus"],
    "gain": ["gain"],
    "dr": ["dr", "dynamic-range", "dynamic_range"],
    "frames": ["frames", "cine"],
    "scale": ["scale", "velocity-scale"],
}
# a cine clip of the default length (prompt/scan.py); "loop" alone is a bowel loop
CINE: list[str] = ["cine", "cine loop", "cineloop", "cine clip", "video clip", "clip",
                   "multiframe", "multi frame", "multi-frame", "sweep"]
# colour Doppler shown aliasing: a low velocity scale (prompt/scan.py)
ALIASING: list[str] = ["aliasing", "with aliasing", "aliased", "colour aliasing",
                       "color aliasing"]

# Which modalities each field makes sense for. A prompt that sets a field for another
# modality is an error naming both.
FIELD_MODALITIES: dict[str, frozenset[str]] = {
    "view": frozenset({"xray"}),
    "plane": frozenset({"ct", "mri", "us"}),
    "sequence": frozenset({"mri"}),
    "stain": frozenset({"histo"}),
    "window": frozenset({"ct"}),
    "level": frozenset({"ct", "mri"}),
    "us": frozenset({"us"}),
}

# Modalities that can image each region. Histology organs are regions too.
REGION_MODALITIES: dict[str, frozenset[str]] = {
    "chest": frozenset({"xray", "ct", "mri", "us"}),
    "brain": frozenset({"ct", "mri", "us"}),
    "abdomen": frozenset({"xray", "ct", "mri", "us"}),
    "pelvis": frozenset({"xray", "ct", "mri", "us"}),
    "spine": frozenset({"xray", "ct", "mri"}),
    "knee": frozenset({"xray", "ct", "mri", "us"}),
    "hand": frozenset({"xray", "ct", "mri", "us"}),
    "wrist": frozenset({"xray", "ct", "mri", "us"}),
    "ankle": frozenset({"xray", "ct", "mri", "us"}),
    "foot": frozenset({"xray", "ct", "mri", "us"}),
    "shoulder": frozenset({"xray", "ct", "mri", "us"}),
    "hip": frozenset({"xray", "ct", "mri", "us"}),
    "elbow": frozenset({"xray", "ct", "mri", "us"}),
    "teeth": frozenset({"xray", "ct"}),
    "heart": frozenset({"ct", "mri", "us"}),
    "liver": frozenset({"ct", "mri", "us", "histo"}),
    "kidney": frozenset({"ct", "mri", "us", "histo"}),
    "gallbladder": frozenset({"ct", "mri", "us"}),
    "thyroid": frozenset({"us", "ct", "histo"}),
    "breast": frozenset({"xray", "mri", "us", "histo"}),
    "colon": frozenset({"ct", "histo"}),
    "stomach": frozenset({"ct", "histo"}),
    "lymph_node": frozenset({"ct", "us", "histo"}),
    "prostate": frozenset({"mri", "us", "histo"}),
    "lung": frozenset({"histo"}),
    "skin": frozenset({"derm", "histo"}),
    "retina": frozenset({"fundus"}),
}

# For histology, a body region names the organ sampled.
HISTO_REGION: dict[str, str] = {"chest": "lung"}
# Regions the other way round: "lung" outside histology is the chest.
IMAGING_REGION: dict[str, str] = {"lung": "chest"}

# The region a modality implies when the prompt names none.
MODALITY_DEFAULT_REGION: dict[str, str] = {"derm": "skin", "fundus": "retina"}
# The modality a region implies when the prompt names none.
REGION_DEFAULT_MODALITY: dict[str, str] = {
    "chest": "xray", "teeth": "xray", "skin": "derm", "retina": "fundus", "wrist": "xray",
    "hand": "xray", "ankle": "xray", "foot": "xray", "knee": "xray", "hip": "xray",
    "elbow": "xray", "shoulder": "xray", "spine": "xray", "brain": "mri",
    "gallbladder": "us",
}
# The modality a field implies.
FIELD_DEFAULT_MODALITY: dict[str, str] = {
    "sequence": "mri", "stain": "histo", "window": "ct",
}

# Defaults filled in after parsing, so engines see a complete spec.
DEFAULT_VIEW: dict[str, str] = {"chest": "pa", "teeth": "panoramic"}
DEFAULT_XRAY_VIEW = "pa"
DEFAULT_PLANE = "axial"
DEFAULT_SEQUENCE = "t2"
DEFAULT_STAIN = "he"

# Views that fit only some regions.
VIEW_REGIONS: dict[str, frozenset[str]] = {"panoramic": frozenset({"teeth"})}

# Histology (issue 15): PAS after diastase digestion, and the objective's magnification
# ("x20", "40x", "20x objective"; the renderer reads which one from the prompt), which states
# microscopy. "high power" / "low power" are filler words above (the renderer reads them too).
STAINS["pas_d"] = ["pas d", "pasd", "d pas", "dpas", "pas diastase", "pas with diastase",
                   "pas after diastase", "diastase pas", "periodic acid schiff diastase",
                   "periodic acid schiff with diastase", "pas d stained"]
# Fibrosis on a liver biopsy stays fibrosis (staged), where imaging reads it as cirrhosis;
# the pattern words a pathologist stages by.
FINDING_IN_REGION[("fibrosis", "histo:liver")] = "fibrosis"
MODIFIERS.update({"bridging": ["bridging"], "periportal": ["periportal", "peri portal"],
                  "perisinusoidal": ["perisinusoidal", "pericellular", "chicken wire"]})
# --- ultrasound of the upper abdomen (issue 16), kept in one block ---
COMPOUNDS.update({
    "fast scan": {"modality": "us", "region": "abdomen"},
    "fast exam": {"modality": "us", "region": "abdomen"},
    "fast examination": {"modality": "us", "region": "abdomen"},
    "fast ultrasound": {"modality": "us", "region": "abdomen"},
    "fast view": {"modality": "us", "region": "abdomen"},
    "efast": {"modality": "us", "region": "abdomen"},
    "e fast": {"modality": "us", "region": "abdomen"},
})
REGIONS["abdomen"] += ["ruq", "right upper quadrant", "luq", "left upper quadrant",
                       "upper abdomen", "upper abdominal"]
REGIONS["spleen"] = ["spleen", "splenic"]
REGIONS["carotid"] = ["carotid", "carotids", "carotid artery", "carotid arteries", "cca",
                      "common carotid", "common carotid artery"]
REGION_MODALITIES["carotid"] = frozenset({"us", "ct", "mri"})
REGION_DEFAULT_MODALITY["carotid"] = "us"
COMPOUNDS.update({"colour doppler": {"modality": "us"}, "color doppler": {"modality": "us"},
                  "duplex": {"modality": "us"}, "duplex ultrasound": {"modality": "us"}})
REGION_MODALITIES["spleen"] = frozenset({"ct", "mri", "us"})
FINDINGS["free_fluid"] = (("abdomen",), [
    "free fluid", "free intraperitoneal fluid", "intraperitoneal fluid", "haemoperitoneum",
    "hemoperitoneum", "intra abdominal fluid", "positive fast"])
FINDINGS["gallstones"] = (("gallbladder", "abdomen", "liver"), FINDINGS["gallstones"][1] + [
    "gallbladder stones", "gallbladder stone", "biliary calculi"])
FINDINGS["steatosis"] = (FINDINGS["steatosis"][0] + ("abdomen",), FINDINGS["steatosis"][1])
FINDINGS["ascites"] = (FINDINGS["ascites"][0] + ("liver", "gallbladder"),
                       FINDINGS["ascites"][1])
FINDINGS["cholecystitis"] = (("gallbladder", "abdomen"), [
    "cholecystitis", "acute cholecystitis", "calculous cholecystitis",
    "gallbladder wall thickening"])
FINDINGS["hydronephrosis"] = (("kidney", "abdomen"), FINDINGS["hydronephrosis"][1] + [
    "pelvicalyceal dilatation", "dilated renal pelvis", "hydronephrotic"])
FINDINGS["cyst"] = (FINDINGS["cyst"][0] + ("abdomen", "gallbladder"), FINDINGS["cyst"][1])
MODIFIERS["acalculous"] = ["acalculous"]
FINDINGS["venous_thrombosis"] = (("carotid",), [
    "venous thrombosis", "vein thrombosis", "jugular vein thrombosis", "jugular thrombosis",
    "ijv thrombosis", "thrombosed vein", "thrombosed jugular", "dvt", "deep vein thrombosis",
    "deep venous thrombosis"])
LOCATIONS.update({
    "morison_pouch:right": ["morison s pouch", "morisons pouch", "morison pouch",
                            "hepatorenal space", "hepatorenal recess", "hepatorenal pouch"],
    "splenorenal:left": ["splenorenal", "splenorenal recess", "splenorenal space",
                         "perisplenic", "splenorenal angle"],
})
# --- fundus photography (issue 17): eyes, DR grades, the cup-to-disc ratio ---
# "OD"/"OS"/"OU" (oculus dexter/sinister/uterque) only in capitals ("os" is also a bone)
LATERALITY["right"] += ["od", "oculus dexter"]
LATERALITY["left"] += ["os", "oculus sinister"]
LATERALITY["bilateral"] = [*LATERALITY.get("bilateral", []), "ou", "both eyes"]
UPPERCASE_ONLY = UPPERCASE_ONLY | {"od", "os", "ou"}
MODIFIERS["proliferative"] = ["proliferative", "pdr", "proliferative diabetic retinopathy",
                              "proliferative retinopathy"]
MODIFIERS["non_proliferative"] = ["non proliferative", "nonproliferative", "npdr",
                                  "background retinopathy"]
FINDINGS["glaucomatous_cupping"][1].extend(
    ["cup to disc ratio", "cup disc ratio", "cup to disc", "cdr", "c d ratio",
     "vertical cup to disc ratio", "optic disc cupping"])
FINDINGS["diabetic_retinopathy"][1].extend(
    ["non proliferative diabetic retinopathy", "diabetic eye disease",
     "proliferative retinopathy"])
# a bare number right after these words is the cup-to-disc ratio (the finding's extent)
RATIO_CUES: frozenset[str] = frozenset({"ratio", "cdr"})

# --- skin (issue 18): skin type, body site, clinical photographs and more lesions. Skin type
# and the clinical view ride on the lesion as modifiers; the site is its location.
MODIFIERS.update({
    "fitzpatrick_i": ["fitzpatrick i", "fitzpatrick type i", "fitzpatrick 1", "skin type i",
                      "skin type 1", "phototype i", "type i skin"],
    "fitzpatrick_ii": ["fitzpatrick ii", "fitzpatrick type ii", "fitzpatrick 2",
                       "skin type ii", "skin type 2", "phototype ii", "type ii skin"],
    "fitzpatrick_iii": ["fitzpatrick iii", "fitzpatrick type iii", "fitzpatrick 3",
                        "skin type iii", "skin type 3", "phototype iii", "type iii skin"],
    "fitzpatrick_iv": ["fitzpatrick iv", "fitzpatrick type iv", "fitzpatrick 4",
                       "skin type iv", "skin type 4", "phototype iv", "type iv skin"],
    "fitzpatrick_v": ["fitzpatrick v", "fitzpatrick type v", "fitzpatrick 5", "skin type v",
                      "skin type 5", "phototype v", "type v skin"],
    "fitzpatrick_vi": ["fitzpatrick vi", "fitzpatrick type vi", "fitzpatrick 6",
                       "skin type vi", "skin type 6", "phototype vi", "type vi skin"],
    "very_light_skin": ["very light skin", "very fair skin", "pale skin"],
    "light_skin": ["light skin", "fair skin", "light skinned", "fair skinned"],
    "intermediate_skin": ["intermediate skin", "olive skin"],
    "tan_skin": ["tan skin", "tanned skin"],
    "brown_skin": ["brown skin", "brown skinned"],
    "dark_skin": ["dark skin", "dark skinned", "darker skin", "black skin",
                  "deeply pigmented skin"],
    "clinical_photo": ["clinical photograph", "clinical photo", "clinical image",
                       "macroscopic photograph", "naked eye"],
})
LOCATIONS.update({
    "back": ["on the back", "back", "upper back", "lower back"],
    "trunk": ["trunk", "torso"],
    "face": ["face", "cheek", "forehead", "nose"],
    "arm": ["arm", "forearm", "upper arm"],
    "leg": ["leg", "shin", "calf", "thigh"],
    "scalp": ["scalp"],
})
FINDINGS.update({
    "dysplastic_naevus": (("skin",), ["dysplastic naevus", "dysplastic nevus", "atypical naevus",
                          "atypical nevus", "atypical mole", "clark naevus", "clark nevus",
                          "dysplastic mole"]),
    "haemangioma": (("skin",), ["haemangioma", "hemangioma", "cherry angioma", "angioma"]),
    "blue_naevus": (("skin",), ["blue naevus", "blue nevus"]),
    "spitz_naevus": (("skin",), ["spitz naevus", "spitz nevus", "reed naevus", "reed nevus",
                     "starburst naevus", "spitz"]),
})
FINDINGS["naevus"][1].extend(["common naevus", "common nevus", "banal naevus", "mole",
                              "melanocytic naevus", "melanocytic nevus"])
FINDINGS["seborrhoeic_keratosis"][1].extend(["seborrhoeic keratoses", "seb k",
                                             "basal cell papilloma"])
MODIFIERS["notched"] = ["notch", "notched", "notching", "rim notch", "rim notching"]
MODIFIERS["disc_haemorrhage"] = ["disc haemorrhage", "disc hemorrhage", "drance haemorrhage",
                                 "drance hemorrhage", "optic disc haemorrhage"]
MODIFIERS["macular_oedema"] = ["macular oedema", "macular edema", "dmo", "dme", "csme",
                               "clinically significant macular oedema",
                               "clinically significant macular edema", "maculopathy",
                               "diabetic maculopathy", "with maculopathy"]
# --- bones and joints on films (issue 19): fracture patterns, eponyms, mechanisms and the
# healing series ride on the fracture as modifiers; the scaphoid is a place in the wrist.
# "oblique" and "transverse" alone are a view and a plane, so their fracture senses are
# compounds ("oblique fracture"); the longest phrase wins.
MODIFIERS.update({
    "colles": ["colles", "colles s", "dinner fork", "dinner fork deformity"],
    "smith": ["smith", "smith s", "smiths", "reverse colles", "reversed colles"],
    "spiral": ["spiral"],
    "buckle": ["buckle", "torus"],
    "greenstick": ["greenstick"],
    "foosh": ["foosh", "fall on the outstretched hand", "fall on an outstretched hand",
              "fall on outstretched hand", "fall onto an outstretched hand",
              "fall onto the outstretched hand", "fall onto outstretched hand",
              "fell on the outstretched hand", "fell on an outstretched hand",
              "fell onto an outstretched hand", "fell on outstretched hand",
              "outstretched hand"],
    "flexion_fall": ["fall on the flexed wrist", "fall on a flexed wrist",
                     "fall onto a flexed wrist", "fall onto the flexed wrist",
                     "fall on flexed wrist", "fell on a flexed wrist", "flexion injury"],
    "healing_series": ["healing", "healing series", "fracture healing", "healing over time",
                       "follow up series", "follow up films", "serial films",
                       "over time", "treatment journey", "union series"],
})
for _n, _roman in ((1, "i"), (2, "ii"), (3, "iii"), (4, "iv"), (5, "v")):
    MODIFIERS[f"salter_harris_{_n}"] = [
        f"salter harris {_roman}", f"salter harris {_n}", f"salter harris type {_roman}",
        f"salter harris type {_n}", f"sh {_roman}", f"sh{_n}", f"sh {_n}", f"salter {_roman}",
        f"salter {_n}", f"type {_roman} salter harris", f"type {_n} salter harris"]
COMPOUNDS.update({
    "oblique fracture": {"finding": "fracture", "modifier": "oblique_fracture"},
    "transverse fracture": {"finding": "fracture", "modifier": "transverse"},
    "scaphoid fracture": {"finding": "fracture", "location": "scaphoid", "region": "wrist"},
    "scaphoid waist fracture": {"finding": "fracture", "location": "scaphoid",
                                "region": "wrist"},
})
MODIFIERS["oblique_fracture"] = []
MODIFIERS["transverse"] = []
for _m, _words in (("colles", ("colles", "colles s")), ("smith", ("smith", "smith s", "smiths")),
                   ("buckle", ("buckle", "torus")), ("greenstick", ("greenstick",)),
                   ("spiral", ("spiral",))):
    for _w in _words:
        COMPOUNDS[f"{_w} fracture"] = {"finding": "fracture", "modifier": _m}
LOCATIONS["radius"] = ["radius", "radial shaft", "shaft of the radius"]
LOCATIONS["scaphoid"] = ["scaphoid", "scaphoid waist", "waist of the scaphoid",
                         "scaphoid bone"]
FINDINGS["fracture"][1].extend(["fractured", "broken wrist", "wrist fracture"])
# a mechanism alone ("left wrist after a fall on the outstretched hand") asks for the
# fracture it causes; with "fracture" also named the two merge into one finding
for _mech in ("foosh", "flexion_fall"):
    for _phrase in MODIFIERS[_mech]:
        COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": _mech}
# the ankle (issue 19): the mortise view, Danis-Weber levels and Lauge-Hansen mechanisms
VIEWS["mortise"] = ["mortise", "mortise view", "ankle mortise"]
VIEW_REGIONS["mortise"] = frozenset({"ankle"})
DEFAULT_VIEW["ankle"] = "ap"
for _l in ("a", "b", "c"):
    MODIFIERS[f"weber_{_l}"] = [f"weber {_l}", f"weber type {_l}", f"danis weber {_l}",
                                f"weber {_l} fracture"]
MODIFIERS["weber_a"] += ["infrasyndesmotic"]
MODIFIERS["weber_b"] += ["transsyndesmotic"]
MODIFIERS["weber_c"] += ["suprasyndesmotic", "maisonneuve"]
MODIFIERS.update({
    "inversion": ["inversion injury", "inversion", "rolled ankle", "rolled her ankle",
                  "rolled his ankle", "twisted ankle", "went over on the ankle",
                  "supination external rotation", "external rotation injury"],
    "supination_adduction": ["supination adduction"],
    "pronation_external_rotation": ["pronation external rotation"],
})
for _mech in ("inversion", "supination_adduction", "pronation_external_rotation"):
    for _phrase in MODIFIERS[_mech]:
        COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": _mech}
for _l in ("a", "b", "c"):
    for _phrase in MODIFIERS[f"weber_{_l}"]:
        COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": f"weber_{_l}",
                              "region": "ankle"}
LOCATIONS["lateral_malleolus"] = ["lateral malleolus", "distal fibula", "fibula", "fibular"]
STOPWORDS = STOPWORDS | {"after", "following"}
# --- teeth (issue 19): panoramic words, FDI tooth numbers and names, dental findings ---
COMPOUNDS.update({
    "panoramic dental": {"modality": "xray", "region": "teeth", "view": "panoramic"},
    "panoramic radiograph": {"modality": "xray", "view": "panoramic"},
    "dental x ray": {"modality": "xray", "region": "teeth"},
    "pantomograph": {"modality": "xray", "region": "teeth", "view": "panoramic"},
    "dpt": {"modality": "xray", "region": "teeth", "view": "panoramic"},
    "bitewing": {"modality": "xray", "region": "teeth", "view": "bitewing"},
    "bitewings": {"modality": "xray", "region": "teeth", "view": "bitewing"},
    "bite wing": {"modality": "xray", "region": "teeth", "view": "bitewing"},
    "periapical radiograph": {"modality": "xray", "region": "teeth", "view": "periapical"},
    "periapical film": {"modality": "xray", "region": "teeth", "view": "periapical"},
    "periapical view": {"modality": "xray", "region": "teeth", "view": "periapical"},
})
VIEWS["bitewing"] = ["bitewing view"]
VIEWS["periapical"] = ["periapical x ray"]
VIEW_REGIONS["bitewing"] = frozenset({"teeth"})
VIEW_REGIONS["periapical"] = frozenset({"teeth"})
REGIONS["teeth"] += ["dentition", "mouth", "mandibular", "maxillary teeth"]


def _tooth_locations() -> dict[str, list[str]]:
    """'tooth_36:left' -> 'tooth 36', 'fdi 36', 'lower left first molar', 'mandibular left
    first molar', 'left lower first molar', ... for the 32 permanent and 20 primary teeth."""
    jaws = {"upper": ("upper", "maxillary"), "lower": ("lower", "mandibular")}
    perm = {1: ["central incisor"], 2: ["lateral incisor"], 3: ["canine", "cuspid"],
            4: ["first premolar", "first bicuspid"], 5: ["second premolar", "second bicuspid"],
            6: ["first molar"], 7: ["second molar"], 8: ["third molar", "wisdom tooth"]}
    prim = {1: ["central incisor"], 2: ["lateral incisor"], 3: ["canine"],
            4: ["first molar"], 5: ["second molar"]}
    quad = {1: ("upper", "right"), 2: ("upper", "left"), 3: ("lower", "left"),
            4: ("lower", "right")}
    out: dict[str, list[str]] = {}
    for q, (jaw, side) in quad.items():
        for table, qq, pre in ((perm, q, ("",)), (prim, q + 4, ("primary ", "deciduous ",
                                                                "baby "))):
            for p, names in table.items():
                fdi = qq * 10 + p
                phrases = [f"tooth {fdi}", f"fdi {fdi}", f"tooth number {fdi}"]
                for j in jaws[jaw]:
                    for n in names:
                        for pr in pre:
                            phrases += [f"{j} {side} {pr}{n}", f"{side} {j} {pr}{n}"]
                out[f"tooth_{fdi}:{side}"] = phrases
    return out


LOCATIONS.update(_tooth_locations())
FINDINGS.update({
    "restoration": (("teeth",), ["restoration", "restorations", "filling", "fillings",
                    "amalgam", "amalgam filling", "composite filling", "dental filling",
                    "restored tooth", "root canal treatment", "root filling",
                    "root canal filling"]),
    "implant": (("teeth",), ["dental implant", "implant", "implants", "osseointegrated implant",
                "implant crown"]),
    "periodontal_bone_loss": (("teeth",), ["periodontal bone loss", "alveolar bone loss",
                              "bone loss", "periodontitis", "periodontal disease"]),
    "mandibular_fracture": (("teeth",), ["mandibular fracture", "fractured mandible",
                            "mandible fracture", "broken jaw", "jaw fracture",
                            "fracture of the mandible", "fractured jaw"]),
})
FINDINGS["caries"][1].extend(["carious lesion", "carious", "decay", "tooth decay",
                              "interproximal caries", "dental decay", "cavities"])
FINDINGS["periapical_lesion"][1].extend(["periapical radiolucency", "periapical granuloma",
                                         "radicular cyst", "apical periodontitis",
                                         "dental abscess", "tooth abscess"])
FINDINGS["impacted_tooth"][1].extend(["impacted molar"])
LOCATIONS["third_molar"].append("third molars")
FINDING_IN_REGION[("fracture", "teeth")] = "mandibular_fracture"
FINDING_IN_REGION[("cavity", "teeth")] = "caries"
MODIFIERS.update({"composite": ["composite", "tooth coloured", "white filling", "resin"],
                  "root_filled": ["root filled", "root canal treated", "root treated",
                                  "endodontically treated"],
                  "horizontal": ["horizontal", "horizontally impacted"],
                  "mesioangular": ["mesioangular", "mesio angular"]})

# --- fundus, more findings (issue 17): artery occlusion, detachment, optic atrophy, laser
# scars, vitreous haemorrhage, and the dry/wet forms of AMD (modifiers of the AMD finding)
FINDINGS.update({
    "retinal_artery_occlusion": (("retina",), [
        "retinal artery occlusion", "central retinal artery occlusion", "crao", "brao",
        "branch retinal artery occlusion", "cherry red spot", "cherry-red spot",
        "artery occlusion"]),
    "optic_atrophy": (("retina",), ["optic atrophy", "optic nerve atrophy", "pale disc",
                                    "disc pallor", "optic disc pallor", "pale optic disc"]),
    "laser_scars": (("retina",), ["laser scars", "prp scars", "prp", "panretinal photocoagulation",
                                  "photocoagulation scars", "laser photocoagulation",
                                  "pan retinal photocoagulation", "laser burns"]),
    "vitreous_haemorrhage": (("retina",), ["vitreous haemorrhage", "vitreous hemorrhage",
                                           "vitreous bleed", "haemorrhage into the vitreous"]),
})
FINDINGS["retinal_detachment"][1].extend(["rhegmatogenous retinal detachment",
                                          "detached retina", "rrd"])
MODIFIERS.update({
    "macula_off": ["macula off", "macula-off", "fovea off", "macula involving"],
    "macula_on": ["macula on", "macula-on", "macula sparing", "fovea on"],
    "geographic_atrophy": ["geographic atrophy", "dry amd with geographic atrophy",
                           "atrophic amd", "ga"],
    "neovascular": ["wet", "neovascular", "exudative", "choroidal neovascularisation",
                    "choroidal neovascularization", "cnv", "choroidal neovascular membrane"],
})
FINDINGS["macular_degeneration"][1].extend(["age related macular degeneration", "dry amd",
                                            "geographic atrophy"])

# --- the plain abdominal film (issue 19): supine and erect views, obstruction, volvulus,
# calculi, foreign bodies. "supine"/"erect" set AP/PA (a chest's views); for the abdomen the
# parser turns those into the abdomen's own views (VIEW_IN_REGION).
COMPOUNDS.update({"upright": {"view": "pa"}, "upright film": {"view": "pa"}})
VIEW_IN_REGION: dict[tuple[str, str], str] = {("ap", "abdomen"): "supine",
                                              ("pa", "abdomen"): "erect"}


def region_view(view: str | None, region: str | None) -> str | None:
    """The view a radiograph of `region` means by `view`: "erect" and "supine" (compounds for
    PA and AP, as a chest film is taken) are the abdomen's own two views."""
    if view is None:
        return None
    return VIEW_IN_REGION.get((view, str(region)), view)
DEFAULT_VIEW["abdomen"] = "supine"
REGION_DEFAULT_MODALITY.setdefault("abdomen", "xray")
COMPOUNDS.update({"abdominal x ray": {"modality": "xray", "region": "abdomen"},
                  "abdominal radiograph": {"modality": "xray", "region": "abdomen"},
                  "abdominal film": {"modality": "xray", "region": "abdomen"},
                  "kub": {"modality": "xray", "region": "abdomen"}})
FINDINGS.update({
    "small_bowel_obstruction": (("abdomen",), [
        "small bowel obstruction", "sbo", "small bowel obstructed", "dilated small bowel",
        "dilated small bowel loops", "small intestinal obstruction", "obstructed small bowel"]),
    "large_bowel_obstruction": (("abdomen",), [
        "large bowel obstruction", "lbo", "colonic obstruction", "dilated colon",
        "dilated large bowel", "obstructed colon"]),
    "sigmoid_volvulus": (("abdomen",), ["sigmoid volvulus", "volvulus", "coffee bean sign",
                                        "coffee bean", "bent inner tube sign"]),
    "renal_stone": (("abdomen", "kidney"), [
        "renal stone", "renal stones", "kidney stone", "kidney stones", "renal calculus",
        "renal calculi", "nephrolithiasis", "staghorn calculus"]),
    "ureteric_stone": (("abdomen", "kidney"), [
        "ureteric stone", "ureteric calculus", "ureteral stone", "ureteral calculus",
        "ureterolithiasis", "vuj stone"]),
    "foreign_body": (("abdomen",), [
        "foreign body", "ingested foreign body", "swallowed foreign body", "swallowed coin",
        "ingested coin", "coin", "button battery", "swallowed battery"]),
})
FINDINGS["pneumoperitoneum"][1].extend(["rigler s sign", "riglers sign", "rigler sign",
                                        "football sign", "perforation", "perforated viscus"])
MODIFIERS["battery"] = ["battery", "button cell", "button battery"]
# --- skin, more lesions (issue 18): congenital naevus, melanoma in situ, keratinocyte
# lesions, and inflammatory rashes (clinical photographs); dermoscope options
FINDINGS.update({
    "congenital_naevus": (("skin",), ["congenital naevus", "congenital nevus",
                                      "congenital melanocytic naevus",
                                      "congenital melanocytic nevus", "congenital mole"]),
    "melanoma_in_situ": (("skin",), ["melanoma in situ", "in situ melanoma",
                                     "melanoma insitu", "lentigo maligna"]),
    "actinic_keratosis": (("skin",), ["actinic keratosis", "actinic keratoses",
                                      "solar keratosis", "solar keratoses"]),
    "psoriasis": (("skin",), ["psoriasis", "plaque psoriasis", "psoriatic plaque",
                              "psoriatic plaques", "psoriasis vulgaris"]),
    "eczema": (("skin",), ["eczema", "atopic dermatitis", "atopic eczema", "dermatitis",
                           "eczematous rash"]),
    "tinea": (("skin",), ["tinea", "tinea corporis", "ringworm", "dermatophytosis",
                          "fungal skin infection"]),
    "urticaria": (("skin",), ["urticaria", "hives", "wheals", "urticarial rash",
                              "nettle rash"]),
})
FINDINGS["squamous_cell_carcinoma"][1].extend(["cutaneous squamous cell carcinoma", "cscc",
                                               "invasive squamous cell carcinoma"])
MODIFIERS.update({
    "hair_removed": ["hair removed", "hair removal", "shaved", "without hair",
                     "digital hair removal"],
    "ruler": ["ruler", "with a ruler", "mm scale", "millimetre scale", "millimeter scale",
              "scale bar"],
    "non_polarised": ["non polarised", "non polarized", "nonpolarised", "nonpolarized",
                      "contact dermoscopy", "immersion dermoscopy"],
})
# the hand (issue 19): the boxer's fracture and its mechanism
MODIFIERS["punch"] = ["punch", "punched", "punching", "punched a wall", "punch injury",
                      "fist fight", "punched someone"]
MODIFIERS["boxer"] = ["boxer", "boxer s", "boxers"]
for _phrase in ("boxer s fracture", "boxers fracture", "boxer fracture"):
    COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": "boxer", "region": "hand"}
for _phrase in MODIFIERS["punch"]:
    COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": "punch"}
LOCATIONS["fifth_metacarpal"] = ["fifth metacarpal", "5th metacarpal", "little finger metacarpal",
                                 "fifth metacarpal neck", "neck of the fifth metacarpal"]
DEFAULT_VIEW["hand"] = "pa"
# the elbow (issue 19): the child's supracondylar fracture by Gartland grade
MODIFIERS["supracondylar"] = ["supracondylar"]
for _g, _roman in ((1, "i"), (2, "ii"), (3, "iii")):
    MODIFIERS[f"gartland_{_g}"] = [f"gartland {_roman}", f"gartland {_g}",
                                   f"gartland type {_roman}", f"gartland type {_g}",
                                   f"gartland grade {_roman}", f"gartland grade {_g}"]
MODIFIERS["undisplaced"] = ["undisplaced", "non displaced", "nondisplaced"]
for _phrase in ("supracondylar fracture", "supracondylar humerus fracture",
                "supracondylar fracture of the humerus"):
    COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": "supracondylar",
                          "region": "elbow"}
MODIFIERS["fat_pad_sign"] = ["fat pad sign", "posterior fat pad sign", "sail sign",
                             "posterior fat pad", "elevated fat pads"]
DEFAULT_VIEW["elbow"] = "ap"
# the hip (issue 19): femoral neck fractures by Garden stage, posterior dislocation
for _g, _roman in ((1, "i"), (2, "ii"), (3, "iii"), (4, "iv")):
    MODIFIERS[f"garden_{_g}"] = [f"garden {_roman}", f"garden {_g}", f"garden stage {_roman}",
                                 f"garden stage {_g}", f"garden type {_roman}",
                                 f"garden type {_g}"]
MODIFIERS["dashboard"] = ["dashboard", "dashboard injury", "dash board injury"]
MODIFIERS["elderly_fall"] = ["fall from standing", "fall from standing height",
                             "low energy fall", "fall at home", "elderly fall"]
for _phrase in ("posterior hip dislocation", "posterior dislocation of the hip"):
    COMPOUNDS[_phrase] = {"finding": "dislocation", "region": "hip"}
for _phrase in MODIFIERS["dashboard"]:
    COMPOUNDS[_phrase] = {"finding": "dislocation", "modifier": "dashboard"}
for _phrase in ("neck of femur fracture", "fractured neck of femur", "hip fracture",
                "femoral neck fracture", "fractured hip"):
    COMPOUNDS[_phrase] = {"finding": "fracture", "location": "femoral_neck", "region": "hip"}
DEFAULT_VIEW["hip"] = "ap"
# --- histology, more organs (issue 15): objective, antibody, renal/colonic/nodal/skin words ---
# The objective: canonical "x4" ... "x40" (the parser stores the number in spec.magnification).
MAGNIFICATIONS: dict[str, list[str]] = {
    f"x{_mag}": [f"x{_mag}", f"{_mag}x", f"x {_mag}", f"{_mag} x", f"{_mag}x objective",
                 f"{_mag} x objective", f"x{_mag} objective", f"x {_mag} objective",
                 f"{_mag}x magnification", f"{_mag} x magnification"]
    for _mag in (4, 10, 20, 40)}
MAGNIFICATIONS["x4"] += ["scanning power", "scanning magnification", "very low power"]
MAGNIFICATIONS["x10"] += ["low power", "low power view", "low power field", "low-power",
                          "low magnification"]
MAGNIFICATIONS["x20"] += ["medium power", "intermediate power", "medium magnification"]
MAGNIFICATIONS["x40"] += ["high power", "high power view", "high power field", "hpf",
                          "high magnification", "oil"]
# The IHC antibody (canonical lower-case names); naming one states an IHC stain.
ANTIBODIES: dict[str, list[str]] = {
    "her2": ["her2", "her 2", "her2 neu", "erbb2", "c erbb 2", "c erbb2"],
    "er": ["er", "oestrogen receptor", "estrogen receptor", "oestrogen receptors",
           "estrogen receptors"],
    "pr": ["pr", "pgr", "progesterone receptor", "progesterone receptors"],
    "ki67": ["ki 67", "ki67", "mib 1", "mib1"],
    "cd20": ["cd20", "cd 20", "l26"],
    "ck7": ["ck7", "ck 7", "cytokeratin 7"],
}
UPPERCASE_ONLY = UPPERCASE_ONLY | {"er", "pr"}
FIELD_MODALITIES["magnification"] = frozenset({"histo"})
FIELD_MODALITIES["antibody"] = frozenset({"histo"})
FIELD_DEFAULT_MODALITY["magnification"] = "histo"
FIELD_DEFAULT_MODALITY["antibody"] = "histo"
FIELD_DEFAULT_MODALITY["us"] = "us"  # scanner settings (prompt/scan.py)
REGIONS["kidney"] += ["renal cortex", "glomerulus", "glomeruli", "nephron"]
COMPOUNDS["colonic polyp"] = {"region": "colon", "finding": "adenoma"}
REGIONS["colon"] += ["colonic mucosa", "large intestine", "rectum", "rectal"]
REGIONS["lymph_node"] += ["nodal"]
REGIONS["skin"] += ["epidermis"]
# an organ's biopsy states histology as well as the organ
for _phrase, _region in (("renal biopsy", "kidney"), ("kidney biopsy", "kidney"),
                         ("colonic biopsy", "colon"), ("colon biopsy", "colon"),
                         ("rectal biopsy", "colon"), ("lymph node biopsy", "lymph_node"),
                         ("lymph node excision", "lymph_node"), ("node biopsy", "lymph_node"),
                         ("skin biopsy", "skin"), ("punch biopsy", "skin"),
                         ("shave biopsy", "skin"), ("liver biopsy", "liver"),
                         ("breast biopsy", "breast"), ("breast core biopsy", "breast")):
    COMPOUNDS[_phrase] = {"modality": "histo", "region": _region}
FINDINGS["glomerulosclerosis"][1].extend([
    "nodular glomerulosclerosis", "diabetic glomerulosclerosis", "kimmelstiel wilson nodules",
    "kimmelstiel wilson nodule", "kw nodules", "diabetic kidney disease"])
FINDINGS["crescents"] = (("kidney",), [
    "crescent", "crescents", "crescentic", "crescentic glomerulonephritis",
    "cellular crescent", "cellular crescents", "rapidly progressive glomerulonephritis", "rpgn"])
FINDINGS["adenoma"] = (("colon",), [
    "adenoma", "tubular adenoma", "adenomatous polyp", "adenomatous", "polyp", "adenomas"])
FINDINGS["adenocarcinoma"][1].extend(["invasive adenocarcinoma", "colorectal carcinoma",
                                      "colorectal adenocarcinoma", "colon cancer"])
FINDINGS["metastases"] = (FINDINGS["metastases"][0] + ("lymph_node",), FINDINGS["metastases"][1]
                          + ["metastatic carcinoma", "nodal metastasis", "metastatic deposit",
                             "metastatic adenocarcinoma"])
FINDINGS["lymphoma"] = (("lymph_node",), [
    "lymphoma", "lymphomas", "diffuse large b cell lymphoma", "dlbcl", "b cell lymphoma",
    "non hodgkin lymphoma", "follicular lymphoma"])
FINDINGS["basal_cell_carcinoma"][1].extend(["nodular basal cell carcinoma", "basal cell"])
FINDINGS["melanoma"][1].extend(["invasive melanoma", "nodular melanoma"])
# liver extras
FINDINGS["steatohepatitis"] = (("liver",), [
    "steatohepatitis", "nash", "mash", "non alcoholic steatohepatitis", "alcoholic hepatitis",
    "alcoholic steatohepatitis", "ballooning", "mallory denk bodies", "mallory bodies",
    "mallory hyaline"])
FINDINGS["cholestasis"] = (("liver",), [
    "cholestasis", "cholestatic", "bile plugs", "bile plug", "canalicular cholestasis",
    "bilirubinostasis"])
FINDINGS["hepatocellular_carcinoma"] = (("liver",), [
    "hepatocellular carcinoma", "hcc", "hepatoma", "liver cell carcinoma"])

# --- ultrasound, more (issue 16): renal calculi are the abdominal film's `renal_stone`
FINDINGS["renal_stone"][1].append("urolithiasis")
# thyroid nodules by ACR TI-RADS (issue 16): the level and the features are modifiers
FINDINGS["thyroid_nodule"] = (("thyroid",), [
    "thyroid nodule", "thyroid nodules", "thyroid lesion", "thyroid mass",
    "thyroid incidentaloma"])
FINDING_IN_REGION[("nodule", "thyroid")] = "thyroid_nodule"
for _n in range(1, 6):
    MODIFIERS[f"tirads_{_n}"] = [f"ti rads {_n}", f"tirads {_n}", f"tr{_n}", f"tr {_n}",
                                 f"acr tr{_n}", f"ti rads tr{_n}", f"tirads tr{_n}",
                                 f"ti rads category {_n}"]
MODIFIERS.update({
    "spongiform": ["spongiform"], "mixed": ["mixed cystic and solid", "mixed solid and cystic",
                                            "partially cystic", "complex"],
    "cystic": ["cystic", "purely cystic", "colloid cyst"],
    "solid": ["solid", "completely solid", "almost completely solid"],
    "hyperechoic": ["hyperechoic"], "isoechoic": ["isoechoic"],
    "hypoechoic": ["hypoechoic"], "very_hypoechoic": ["very hypoechoic", "markedly hypoechoic"],
    "taller_than_wide": ["taller than wide", "taller than it is wide"],
    "lobulated": ["lobulated", "irregular margin", "irregular margins"],
    "extrathyroidal": ["extrathyroidal extension", "extra thyroidal extension",
                       "extrathyroidal"],
    "microcalcifications": ["microcalcifications", "microcalcification",
                            "punctate echogenic foci", "punctate calcifications"],
    "macrocalcifications": ["macrocalcifications", "macrocalcification",
                            "coarse calcification", "coarse calcifications"],
    "rim_calcification": ["rim calcification", "peripheral calcification",
                          "eggshell calcification"],
})
LOCATIONS.setdefault("right_lobe:right", ["right lobe", "right thyroid lobe"])
LOCATIONS.setdefault("left_lobe:left", ["left lobe", "left thyroid lobe"])
# pelvis and early pregnancy (transabdominal), and the pelvic FAST view (issue 16)
FINDINGS["intrauterine_pregnancy"] = (("pelvis",), [
    "intrauterine pregnancy", "early pregnancy", "first trimester pregnancy", "pregnancy",
    "gestational sac", "dating scan", "viability scan", "iup", "early intrauterine pregnancy",
    "first trimester"])
FINDINGS["free_fluid"] = (FINDINGS["free_fluid"][0] + ("pelvis",), FINDINGS["free_fluid"][1])
COMPOUNDS.update({
    "obstetric ultrasound": {"modality": "us", "region": "pelvis"},
    "transabdominal pelvic ultrasound": {"modality": "us", "region": "pelvis"},
    "pelvic ultrasound": {"modality": "us", "region": "pelvis"},
    "early pregnancy scan": {"modality": "us", "region": "pelvis"},
})
LOCATIONS.update({
    "pouch_of_douglas": ["pouch of douglas", "rectouterine pouch", "recto uterine pouch",
                         "rectovesical pouch", "recto vesical pouch", "pelvic view",
                         "pelvis view", "douglas pouch"],
})
# the shoulder (issue 19): anterior dislocation
MODIFIERS["anterior_dislocation"] = []
MODIFIERS["posterior_dislocation"] = []
for _phrase in ("anterior dislocation", "anterior shoulder dislocation",
                "subcoracoid dislocation", "anterior dislocation of the shoulder"):
    COMPOUNDS[_phrase] = {"finding": "dislocation", "modifier": "anterior_dislocation"}
for _phrase in ("posterior dislocation", "posterior shoulder dislocation",
                "posterior dislocation of the shoulder"):
    COMPOUNDS[_phrase] = {"finding": "dislocation", "modifier": "posterior_dislocation"}
DEFAULT_VIEW["shoulder"] = "ap"

# --- head imaging artefacts, as options (issue 14): read by the head renderers
MODIFIERS.update({
    "gibbs_ringing": ["gibbs", "gibbs ringing", "gibbs artefact", "gibbs artifact",
                      "truncation artefact", "truncation artifact", "ringing artefact",
                      "ringing artifact"],
    "beam_hardening": ["beam hardening", "beam hardening artefact", "beam hardening artifact",
                       "hounsfield bar", "streak artefact", "streak artifact"],
})

# cerebral venous (sinus) thrombosis on head CT and brain MRI (issue 14)
FINDINGS["venous_thrombosis"] = (FINDINGS["venous_thrombosis"][0] + ("brain",),
                                 FINDINGS["venous_thrombosis"][1] + [
    "cerebral venous thrombosis", "cerebral venous sinus thrombosis", "cvst", "cvt",
    "venous sinus thrombosis", "sagittal sinus thrombosis", "superior sagittal sinus thrombosis",
    "dural sinus thrombosis", "dural venous sinus thrombosis", "sinus thrombosis"])

# --- ultrasound of the upper abdomen, more findings (issue 16): gallbladder sludge and polyps,
# a dilated common bile duct, liver haemangioma and metastases, renal angiomyolipoma
_RUQ = ("gallbladder", "abdomen", "liver")
FINDINGS["sludge"] = (_RUQ, [
    "sludge", "biliary sludge", "gallbladder sludge", "sludge ball", "tumefactive sludge",
    "echogenic bile", "layering sludge", "microlithiasis"])
FINDINGS["gallbladder_polyp"] = (_RUQ, [
    "gallbladder polyp", "gallbladder polyps", "polyp of the gallbladder", "cholesterol polyp",
    "gallbladder adenoma", "polypoid lesion of the gallbladder", "gb polyp"])
FINDING_IN_REGION[("adenoma", "us:gallbladder")] = "gallbladder_polyp"  # "8 mm polyp"
FINDING_IN_REGION[("adenoma", "us:abdomen")] = "gallbladder_polyp"
FINDINGS["cbd_dilatation"] = (_RUQ, [
    "dilated cbd", "cbd dilatation", "cbd dilation", "dilated common bile duct",
    "common bile duct dilatation", "common bile duct dilation", "dilated bile duct",
    "biliary dilatation", "biliary dilation", "dilated common duct", "extrahepatic biliary "
    "dilatation", "cbd", "common bile duct", "obstructive jaundice"])
FINDINGS["haemangioma"] = (FINDINGS["haemangioma"][0] + ("liver", "abdomen", "gallbladder"),
                           FINDINGS["haemangioma"][1] + [
    "hemangiomas", "haemangiomas", "liver haemangioma", "liver hemangioma",
    "hepatic haemangioma", "hepatic hemangioma", "cavernous haemangioma",
    "cavernous hemangioma"])
FINDINGS["metastases"] = (FINDINGS["metastases"][0] + ("abdomen", "gallbladder"),
                          FINDINGS["metastases"][1] + [
    "liver metastases", "liver metastasis", "hepatic metastases", "hepatic metastasis",
    "liver mets", "liver deposits", "hepatic deposits", "target lesions",
    "bull s eye lesions", "bulls eye lesions", "secondaries", "liver secondaries"])
FINDINGS["angiomyolipoma"] = (("kidney", "abdomen"), [
    "angiomyolipoma", "angiomyolipomas", "renal angiomyolipoma", "renal aml",
    "echogenic renal lesion", "echogenic renal mass", "fat containing renal lesion"])
MODIFIERS["target"] = ["target", "bull s eye", "bulls eye", "bullseye", "hypoechoic halo"]
# ultrasound: the phased (cardiac) probe, the subcostal pericardial view of a FAST scan and
# its effusion, and artefacts as options (issue 16; renderer_us reads the words)
COMPOUNDS.update({
    "subxiphoid": {"modality": "us", "region": "heart"},
    "sub xiphoid": {"modality": "us", "region": "heart"},
    "subcostal": {"modality": "us", "region": "heart"},
    "subcostal view": {"modality": "us", "region": "heart"},
    "subxiphoid view": {"modality": "us", "region": "heart"},
    "echocardiography": {"modality": "us", "region": "heart"},
    "cardiac ultrasound": {"modality": "us", "region": "heart"},
    "phased array": {"modality": "us"},
    "phased array probe": {"modality": "us"},
    "cardiac probe": {"modality": "us", "region": "heart"},
})
FINDINGS["pericardial_effusion"] = (("heart", "abdomen"), [
    "pericardial effusion", "pericardial fluid", "fluid in the pericardium",
    "haemopericardium", "hemopericardium", "pericardial collection", "positive pericardial view"])
MODIFIERS.update({
    "tamponade": ["tamponade", "cardiac tamponade", "rv collapse", "right ventricular collapse"],
    "reverberation": ["reverberation", "reverberations", "reverberation artefact",
                      "reverberation artifact", "reverberation artefacts",
                      "reverberation artifacts"],
    "comet_tail": ["comet tail", "comet tails", "comet tail artefact", "comet tail artifact",
                   "comet tail artefacts", "comet tail artifacts", "ring down",
                   "ring down artefact", "ring down artifact"],
    "side_lobe": ["side lobe", "side lobes", "side lobe artefact", "side lobe artifact",
                  "side lobe artefacts", "side lobe artifacts", "sidelobe", "sidelobes",
                  "pseudosludge", "pseudo sludge"],
    "edge_shadow": ["edge shadow", "edge shadows", "edge shadowing", "refraction shadow",
                    "refraction shadows", "refraction artefact", "refraction artifact",
                    "refractive shadowing", "refraction edge shadows", "lateral edge shadows"],
})
# modifiers that are options of the image, not of a finding: understood without one
RENDER_OPTIONS: frozenset[str] = frozenset({
    "gibbs_ringing", "beam_hardening", "reverberation", "comet_tail", "side_lobe", "edge_shadow"})
# --- limb films (issue 19): a fracture's requested deformity, bone disease, the Y view ---
# "30 degrees of dorsal angulation", "displaced 5 mm", "shortened by 1 cm": the lexer turns
# the number into a modifier (angulation_deg_30, displacement_mm_5, shortening_mm_10) when
# a cue word sits within two words of it; the parser refuses values outside the range.
ANGLE_UNITS = frozenset({"degrees", "degree", "deg", "degs"})
DEFORMITY_CUES: dict[str, tuple[str, ...]] = {
    "displacement_mm": ("displaced", "displacement", "translated", "translation", "shifted",
                        "shift", "offset"),
    "shortening_mm": ("shortened", "shortening", "shortens", "short"),
}
DEFORMITY_RANGES: dict[str, tuple[float, float]] = {  # what a fracture model can build
    "angulation_deg": (0.0, 60.0), "displacement_mm": (0.0, 15.0),
    "shortening_mm": (0.0, 15.0)}
# per fracture named in the prompt (its modifier): what it takes and within which range (the
# limb renderer builds from the same table: regions/limb/deformity.py)
DEFORMITY_LIMITS: dict[str, dict[str, tuple[float, float]]] = {
    "colles": {"angulation_deg": (0.0, 45.0), "displacement_mm": (0.0, 10.0),
               "shortening_mm": (0.0, 12.0)},
    "smith": {"angulation_deg": (0.0, 45.0), "displacement_mm": (0.0, 10.0),
              "shortening_mm": (0.0, 12.0)},
    "boxer": {"angulation_deg": (0.0, 60.0), "shortening_mm": (0.0, 6.0)},
    "supracondylar": {"angulation_deg": (0.0, 35.0), "displacement_mm": (0.0, 12.0)},
}
DEFORMITY_NAMES = {"colles": "Colles", "smith": "Smith", "boxer": "boxer's",
                   "supracondylar": "supracondylar"}
MODIFIERS.update({
    "dorsal_angulation": ["dorsal angulation", "dorsally angulated", "dorsal tilt",
                          "dorsally tilted", "angulated dorsally"],
    "volar_angulation": ["volar angulation", "volarly angulated", "palmar angulation",
                         "volar tilt", "palmar tilt", "angulated volarly"],
    "angulated": ["angulation", "angulated"],
})
FINDINGS.update({
    "osteoporosis": (("hand", "wrist", "hip"), [
        "osteoporosis", "osteoporotic", "osteopenia", "osteopenic", "low bone density",
        "thin cortices", "reduced bone density"]),
    "rheumatoid_arthritis": (("hand", "wrist"), [
        "rheumatoid arthritis", "rheumatoid", "rheumatoid hands", "rheumatoid hand",
        "erosions", "erosive arthritis", "marginal erosions", "erosive arthropathy",
        "inflammatory arthritis"]),
    "giant_cell_tumour": (("wrist",), [
        "giant cell tumour", "giant cell tumor", "gct", "osteoclastoma",
        "giant cell tumour of bone", "giant cell tumor of bone"]),
    "osteosarcoma": (("shoulder",), [
        "osteosarcoma", "osteogenic sarcoma", "sunburst periosteal reaction", "sunburst",
        "codman triangle", "codman s triangle", "codmans triangle", "spiculated periosteal "
        "reaction"]),
    "ewing_sarcoma": (("hip",), [
        "ewing", "ewing sarcoma", "ewing s sarcoma", "ewings sarcoma", "ewings",
        "onion skin", "onion skin periosteal reaction", "lamellated periosteal reaction",
        "permeative lesion"]),
    "sclerotic_metastasis": (("hip",), [
        "sclerotic metastasis", "sclerotic metastases", "osteoblastic metastasis",
        "blastic metastasis", "sclerotic bone lesion", "sclerotic lesion"]),
    "osteoid_osteoma": (("hip",), [
        "osteoid osteoma", "osteoid osteomas", "solid periosteal reaction", "nidus"]),
    "paget": (("hip",), [
        "paget", "paget s", "pagets", "paget s disease", "pagets disease",
        "paget disease", "paget s disease of bone", "osteitis deformans", "blade of grass"]),
})
FINDINGS["osteoarthritis"][1].extend(["hip osteoarthritis", "osteoarthritic", "heberden",
                                      "heberden s nodes", "bouchard s nodes",
                                      "hand osteoarthritis"])
for _g in range(5):
    MODIFIERS[f"kl_{_g}"] = [f"kl {_g}", f"kl{_g}", f"kl grade {_g}", f"kellgren lawrence {_g}",
                             f"kellgren lawrence grade {_g}", f"kellgren {_g}",
                             f"kellgren grade {_g}"]
COMPOUNDS.update({
    "hip osteoarthritis": {"finding": "osteoarthritis", "region": "hip"},
    "rheumatoid hands": {"finding": "rheumatoid_arthritis", "region": "hand"},
    "rheumatoid hand": {"finding": "rheumatoid_arthritis", "region": "hand"},
    "posterior shoulder dislocation": {"finding": "dislocation",
                                       "modifier": "posterior_dislocation",
                                       "region": "shoulder"},
    "light bulb sign": {"finding": "dislocation", "modifier": "posterior_dislocation",
                        "region": "shoulder"},
})
VIEWS["scapular_y"] = ["y view", "scapular y view", "y scapular view", "scapular lateral",
                       "trans scapular view", "transscapular view", "y projection"]
VIEW_REGIONS["scapular_y"] = frozenset({"shoulder"})
# --- obstetric biometry, ovaries, leg veins and spectral Doppler (issue 16) ---
FINDINGS["fetal_biometry"] = (("pelvis",), [
    "fetal biometry", "biometry", "biparietal diameter", "bpd", "head circumference",
    "abdominal circumference", "femur length", "transthalamic plane", "second trimester",
    "third trimester", "fetal growth", "fetal head", "fetal femur", "fetal abdomen"])
for _phrase in ("anatomy scan", "anomaly scan", "morphology scan", "growth scan",
                "fetal anatomy scan", "mid trimester scan", "second trimester scan",
                "third trimester scan", "fetal biometry scan"):
    COMPOUNDS[_phrase] = {"modality": "us", "region": "pelvis", "finding": "fetal_biometry"}
REGIONS["pelvis"] += ["ovary", "ovaries", "ovarian", "adnexa", "adnexal", "adnexae", "follicle",
                     "follicles"]
FINDINGS["ovarian_cyst"] = (("pelvis",), [
    "ovarian cyst", "simple ovarian cyst", "adnexal cyst", "functional ovarian cyst",
    "follicular cyst", "simple adnexal cyst", "ovarian cysts"])
FINDINGS["polycystic_ovaries"] = (("pelvis",), [
    "polycystic ovaries", "polycystic ovary", "polycystic ovarian morphology", "pcom", "pcos",
    "polycystic ovary syndrome", "polycystic ovarian syndrome", "polycystic ovarian",
    "multifollicular ovaries"])
FINDINGS["dermoid"] = (("pelvis",), [
    "dermoid", "dermoid cyst", "mature cystic teratoma", "ovarian teratoma", "ovarian dermoid",
    "cystic teratoma"])
COMPOUNDS.update({
    "transvaginal": {"modality": "us", "region": "pelvis"},
    "transvaginal ultrasound": {"modality": "us", "region": "pelvis"},
    "tvus": {"modality": "us", "region": "pelvis"},
    "endovaginal ultrasound": {"modality": "us", "region": "pelvis"},
    "gynaecological ultrasound": {"modality": "us", "region": "pelvis"},
    "gynecological ultrasound": {"modality": "us", "region": "pelvis"},
    "follicle tracking": {"modality": "us", "region": "pelvis"},
    "antral follicle count": {"modality": "us", "region": "pelvis"},
})
REGIONS["leg_veins"] = [
    "common femoral vein", "femoral vein", "popliteal vein", "common femoral", "popliteal",
    "femoral artery", "common femoral artery", "superficial femoral artery", "leg veins",
    "deep veins", "lower limb veins", "leg vein", "femoral vessels", "groin vessels", "cfv",
    "cfa", "femoral", "popliteal fossa"]
REGION_MODALITIES["leg_veins"] = frozenset({"us"})
REGION_DEFAULT_MODALITY["leg_veins"] = "us"
FINDINGS["venous_thrombosis"] = (FINDINGS["venous_thrombosis"][0] + ("leg_veins",),
                                 FINDINGS["venous_thrombosis"][1])
for _phrase in ("dvt", "deep vein thrombosis", "deep venous thrombosis", "femoral dvt",
                "popliteal dvt", "femoral vein thrombosis", "popliteal vein thrombosis",
                "non compressible vein", "noncompressible vein"):
    COMPOUNDS[_phrase] = {"finding": "venous_thrombosis", "region": "leg_veins"}
for _phrase in ("compression ultrasound", "compression ultrasonography", "dvt scan",
                "dvt study", "venous duplex", "leg doppler", "lower limb doppler",
                "leg vein ultrasound", "venous compression"):
    COMPOUNDS[_phrase] = {"modality": "us", "region": "leg_veins"}
for _phrase in ("spectral doppler", "spectral trace", "spectral waveform", "pulsed wave doppler",
                "pw doppler", "doppler waveform", "spectral display", "duplex waveform"):
    COMPOUNDS[_phrase] = {"modality": "us"}
FINDING_IN_REGION[("cyst", "pelvis")] = "ovarian_cyst"
REGIONS["carotid"] += ["jugular", "jugular vein", "internal jugular vein", "ijv", "neck vessels"]
# --- the knee and foot (issue 19, regions/limb/knee.py, foot.py): views, Schatzker types,
# Kellgren-Lawrence grades, lipohaemarthrosis, fifth metatarsal zones, Lisfranc, patterns
VIEWS["cross_table"] = ["cross table lateral", "cross table", "horizontal beam lateral",
                        "horizontal beam", "shoot through lateral", "shoot through",
                        "translateral"]
VIEW_REGIONS["cross_table"] = frozenset({"knee"})
VIEWS["skyline"] = ["skyline", "skyline view", "sunrise view", "merchant view"]
VIEW_REGIONS["skyline"] = frozenset({"knee"})
VIEWS["dp"] = ["dp", "dorsoplantar", "dorso plantar", "dorsiplantar"]
VIEW_REGIONS["dp"] = frozenset({"foot"})
DEFAULT_VIEW["knee"] = "ap"
DEFAULT_VIEW["foot"] = "dp"
for _n, _roman in ((1, "i"), (2, "ii"), (3, "iii"), (4, "iv"), (5, "v"), (6, "vi")):
    MODIFIERS[f"schatzker_{_n}"] = [f"schatzker {_roman}", f"schatzker {_n}",
                                    f"schatzker type {_roman}", f"schatzker type {_n}"]
    for _phrase in MODIFIERS[f"schatzker_{_n}"]:
        COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": f"schatzker_{_n}",
                              "location": "tibial_plateau", "region": "knee"}
for _g in range(5):  # one Kellgren-Lawrence grade modifier for every joint (kl_N, above)
    MODIFIERS[f"kl_{_g}"] += [f"kellgren and lawrence {_g}",
                              f"kellgren lawrence {_g} osteoarthritis"]
    for _phrase in MODIFIERS[f"kl_{_g}"]:
        COMPOUNDS[_phrase] = {"finding": "osteoarthritis", "modifier": f"kl_{_g}"}
MODIFIERS.update({
    "lipohaemarthrosis": ["lipohaemarthrosis", "lipohemarthrosis", "fat fluid level",
                          "fat-fluid level", "fat blood interface"],
    "segond": ["segond"], "segmental": ["segmental"], "avulsion": ["avulsion", "avulsed"],
    "stress": ["stress fracture", "stress"], "march": ["march"],
    "jones": ["jones"], "pseudo_jones": ["pseudo jones", "pseudojones"],
    "lisfranc": ["lisfranc", "tarsometatarsal"],
})
for _phrase in MODIFIERS["lipohaemarthrosis"]:
    COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": "lipohaemarthrosis",
                          "region": "knee"}
for _phrase, _entry in {
    "tibial plateau fracture": {"location": "tibial_plateau", "region": "knee"},
    "plateau fracture": {"location": "tibial_plateau", "region": "knee"},
    "patellar fracture": {"location": "patella", "region": "knee"},
    "fractured patella": {"location": "patella", "region": "knee"},
    "patella fracture": {"location": "patella", "region": "knee"},
    "segond fracture": {"modifier": "segond", "region": "knee"},
    "segmental fracture": {"modifier": "segmental"},
    "avulsion fracture": {"modifier": "avulsion"},
    "stress fracture": {"modifier": "stress"},
    "march fracture": {"modifier": "march", "location": "second_metatarsal", "region": "foot"},
    "jones fracture": {"modifier": "jones", "location": "fifth_metatarsal", "region": "foot"},
    "pseudo jones fracture": {"modifier": "pseudo_jones", "location": "fifth_metatarsal",
                              "region": "foot"},
    "fifth metatarsal fracture": {"location": "fifth_metatarsal", "region": "foot"},
    "5th metatarsal fracture": {"location": "fifth_metatarsal", "region": "foot"},
    "fifth metatarsal base fracture": {"location": "fifth_metatarsal", "region": "foot"},
    "lisfranc injury": {"modifier": "lisfranc", "region": "foot"},
    "lisfranc fracture": {"modifier": "lisfranc", "region": "foot"},
    "lisfranc fracture dislocation": {"modifier": "lisfranc", "region": "foot"},
    "lisfranc dislocation": {"modifier": "lisfranc", "region": "foot"},
    "tarsometatarsal injury": {"modifier": "lisfranc", "region": "foot"},
}.items():
    COMPOUNDS[_phrase] = {"finding": "fracture", **_entry}
for _w in ("march", "jones", "segond", "lisfranc"):
    COMPOUNDS.setdefault(_w, {"finding": "fracture", "modifier": _w,
                              "region": "knee" if _w == "segond" else "foot"})
LOCATIONS["patella"] = ["patella", "patellar", "kneecap", "knee cap"]
LOCATIONS["second_metatarsal"] = ["second metatarsal", "2nd metatarsal"]
LOCATIONS["fifth_metatarsal"] = ["fifth metatarsal", "5th metatarsal",
                                  "base of the fifth metatarsal", "fifth metatarsal base"]
# carpal and elbow dislocations (regions/limb/dislocations.py)
FINDINGS["dislocation"] = (FINDINGS["dislocation"][0] + ("wrist",), FINDINGS["dislocation"][1])
MODIFIERS.update({"perilunate": ["perilunate", "peri lunate"],
                  "lunate_out": ["spilled teacup", "spilled tea cup"]})
for _phrase in ("perilunate dislocation", "perilunate fracture dislocation",
                "dorsal perilunate dislocation", "mayfield iii", "mayfield 3"):
    COMPOUNDS[_phrase] = {"finding": "dislocation", "modifier": "perilunate", "region": "wrist"}
for _phrase in ("lunate dislocation", "dislocated lunate", "volar lunate dislocation",
                "mayfield iv", "mayfield 4", "spilled teacup sign"):
    COMPOUNDS[_phrase] = {"finding": "dislocation", "modifier": "lunate_out", "region": "wrist"}
for _phrase in ("elbow dislocation", "dislocated elbow", "posterior elbow dislocation",
                "posterolateral elbow dislocation", "dislocation of the elbow"):
    COMPOUNDS[_phrase] = {"finding": "dislocation", "region": "elbow"}
# --- the axial skeleton on plain films (issue 19): cervical and lumbar spine, the pelvis ---
# The cervical and lumbar spine are regions of their own (one renderer row each); "spine"
# alone stays (its level decides). The open-mouth (peg) view; dens, Jefferson, wedge,
# burst; spondylolisthesis by Meyerding grade; pelvic ring injuries.
_CERVICAL = ["cervical spine", "c spine", "cspine", "c spine x ray", "neck spine",
             "cervical vertebrae"]
_LUMBAR = ["lumbar spine", "l spine", "lspine", "lumbosacral spine", "lumbar vertebrae",
           "ls spine"]
REGIONS["spine"] = [w for w in REGIONS["spine"] if w not in _CERVICAL + _LUMBAR]
REGIONS["cervical_spine"] = _CERVICAL
REGIONS["lumbar_spine"] = _LUMBAR
for _r in ("cervical_spine", "lumbar_spine"):
    REGION_MODALITIES[_r] = frozenset({"xray", "ct", "mri"})
    REGION_DEFAULT_MODALITY[_r] = "xray"
DEFAULT_VIEW.update({"cervical_spine": "lateral", "lumbar_spine": "lateral", "pelvis": "ap",
                     "spine": "lateral"})
VIEWS["open_mouth"] = ["open mouth", "open mouth view", "peg view", "odontoid view",
                       "open mouth odontoid", "open mouth odontoid view", "am view"]
VIEW_REGIONS["open_mouth"] = frozenset({"cervical_spine", "spine"})
COMPOUNDS.update({
    "peg view": {"modality": "xray", "region": "cervical_spine", "view": "open_mouth"},
    "open mouth view": {"modality": "xray", "region": "cervical_spine", "view": "open_mouth"},
    "odontoid view": {"modality": "xray", "region": "cervical_spine", "view": "open_mouth"},
    "lateral cervical spine": {"modality": "xray", "region": "cervical_spine",
                               "view": "lateral"},
    "lateral c spine": {"modality": "xray", "region": "cervical_spine", "view": "lateral"},
    "pelvis x ray": {"modality": "xray", "region": "pelvis"},
    "pelvic x ray": {"modality": "xray", "region": "pelvis"},
    "ap pelvis": {"modality": "xray", "region": "pelvis", "view": "ap"},
    "pelvic radiograph": {"modality": "xray", "region": "pelvis"},
})
FINDINGS["fracture"] = (FINDINGS["fracture"][0] + ("cervical_spine", "lumbar_spine", "pelvis"),
                        FINDINGS["fracture"][1])
FINDINGS["dislocation"] = (FINDINGS["dislocation"][0] + ("pelvis",), FINDINGS["dislocation"][1])
FINDINGS.update({
    "spondylolisthesis": (("lumbar_spine", "spine"), [
        "spondylolisthesis", "anterolisthesis", "listhesis", "isthmic spondylolisthesis",
        "slipped vertebra"]),
    "spondylolysis": (("lumbar_spine", "spine"), [
        "spondylolysis", "pars defect", "pars defects", "pars interarticularis defect",
        "pars fracture", "scottie dog collar", "collar on the scottie dog"]),
    "disc_degeneration": (("lumbar_spine", "spine"), [
        "degenerative disc disease", "disc degeneration", "disc space narrowing",
        "degenerative disc", "lumbar spondylosis", "spondylosis", "osteophytes"]),
})
LOCATIONS.update({
    "dens": ["dens", "odontoid", "odontoid peg", "odontoid process"],
    "pubic_rami": ["pubic rami", "pubic ramus", "superior pubic ramus", "inferior pubic ramus",
                   "superior and inferior pubic rami"],
})
MODIFIERS.update({
    "wedge": ["wedge", "wedge compression"],
    "burst": ["burst"],
    "jefferson": ["jefferson", "jefferson s", "c1 burst", "atlas burst"],
    "open_book": ["open book", "open book pelvis", "open book injury",
                  "anteroposterior compression", "symphysis diastasis", "pubic diastasis",
                  "diastasis of the symphysis"],
})
# "type II", "grade 2": generic words each region reads its own way (a dens fracture's
# Anderson-D'Alonzo type, a slip's Meyerding grade); the named forms are specific
for _n, _roman in ((1, "i"), (2, "ii"), (3, "iii"), (4, "iv"), (5, "v")):
    MODIFIERS.setdefault(f"type_{_n}", []).extend([f"type {_roman}", f"type {_n}"])
    MODIFIERS.setdefault(f"grade_{_n}", []).extend([f"grade {_roman}", f"grade {_n}"])
    MODIFIERS[f"meyerding_{_n}"] = [f"meyerding {_roman}", f"meyerding {_n}",
                                    f"meyerding grade {_roman}", f"meyerding grade {_n}"]
for _n, _roman in ((1, "i"), (2, "ii"), (3, "iii")):
    MODIFIERS[f"dens_type_{_n}"] = [f"anderson d alonzo {_roman}",
                                    f"anderson d alonzo type {_roman}",
                                    f"anderson and d alonzo type {_roman}",
                                    f"type {_roman} odontoid", f"type {_roman} dens"]
for _phrase in ("odontoid fracture", "dens fracture", "peg fracture", "fractured dens",
                "fracture of the dens", "fracture of the odontoid", "odontoid peg fracture"):
    COMPOUNDS[_phrase] = {"finding": "fracture", "location": "dens",
                          "region": "cervical_spine"}
for _phrase in ("jefferson fracture", "jefferson s fracture", "c1 burst fracture",
                "burst fracture of c1", "burst fracture of the atlas"):
    COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": "jefferson",
                          "region": "cervical_spine"}
for _phrase in ("wedge fracture", "compression fracture", "wedge compression fracture",
                "vertebral compression fracture", "osteoporotic wedge fracture",
                "osteoporotic compression fracture", "osteoporotic vertebral fracture",
                "crush fracture", "vertebral crush fracture", "osteoporotic collapse"):
    COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": "wedge"}
COMPOUNDS["burst fracture"] = {"finding": "fracture", "modifier": "burst"}
MODIFIERS["flexion_teardrop"] = ["flexion teardrop"]
for _phrase in ("teardrop fracture", "flexion teardrop fracture", "tear drop fracture",
                "flexion teardrop"):
    COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": "flexion_teardrop",
                          "region": "cervical_spine"}
for _phrase in ("pubic rami fracture", "pubic rami fractures", "pubic ramus fracture",
                "rami fractures", "fractured pubic rami", "fractured pubic ramus"):
    COMPOUNDS[_phrase] = {"finding": "fracture", "location": "pubic_rami", "region": "pelvis"}
for _phrase in ("open book", "open book pelvis", "open book injury", "open book fracture",
                "open book pelvic fracture", "symphysis diastasis", "pubic diastasis",
                "pelvic ring disruption", "diastasis of the symphysis"):
    COMPOUNDS[_phrase] = {"finding": "fracture", "modifier": "open_book", "region": "pelvis"}
# on a radiograph a vertebral level names where a finding is ("L1 wedge fracture")
LEVEL_AS_LOCATION.update({f"c{i}": f"c{i}" for i in range(1, 8)})
LEVEL_AS_LOCATION.update({f"l{i}": f"l{i}" for i in range(1, 6)})
LEVEL_AS_LOCATION.update({"t12": "t12", "s1": "s1"})
# a joint or part named with a skin finding is where the skin is ("psoriasis on the elbows",
# "eczema in the elbow creases"): the site the skin region photographs, not that part's film
SKIN_SITE_OF_REGION: dict[str, str] = {
    "elbow": "elbows", "knee": "knees", "hand": "hands", "wrist": "wrists", "foot": "feet",
    "ankle": "ankles", "shoulder": "shoulders", "chest": "chest", "abdomen": "abdomen",
    "hip": "hips"}
LOCATIONS.update({"flexures": ["flexures", "flexural", "elbow creases", "knee creases",
                               "antecubital fossa", "antecubital fossae", "popliteal fossae"],
                  "extensor_surfaces": ["extensor surfaces", "extensor surface"]})
FINDINGS["psoriasis"][1].extend(["psoriasis plaques", "psoriatic plaques", "plaque psoriasis",
                                 "psoriatic plaque"])
