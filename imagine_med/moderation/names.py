"""Word lists for recognising personal names without a statistical model (runs offline).

A name is recognised by context ("patient X", "Mr X", "named X"), or by a known first name
followed by a capitalised word ("Maria Garcia"), or by a known first name and surname in any case
("john smith"). The lists are common given names and surnames across the languages a teaching
hospital meets; they need not be complete, since context rules catch unknown names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from imagine_med.prompt import vocab

FIRST_NAMES: frozenset[str] = frozenset("""
aaron abdul abdullah abigail adam adrian agnes ahmed ahmad aisha alan albert alejandro alex
alexander alexandra alexis alfred ali alice alicia alison amanda amelia amir amit amy ana
anastasia andre andrea andreas andrew andrei angela anil anita ann anna anne annie anthony
antonio anya arjun arthur ashley aubrey audrey ava barbara beatrice ben benjamin bernard
beth betty beverly bianca boris brandon brenda brian bridget brittany bruce bryan caitlin
camila carl carla carlos carmen carol caroline carolyn catherine cecilia charles charlie
charlotte chen cheryl chloe chris christian christina christine christopher cindy claire
clara claudia colin connor craig cristina cynthia daniel daniela danielle darius darren
david deborah debra deepak denise dennis derek diana diane diego dimitri dmitri dolores
dominic donald donna doris dorothy douglas dylan edward eileen elaine elena eli elijah
elizabeth ella ellen emily emma eric erica erik esther ethan eugene eva evelyn fatima
felipe fernando fiona florence frances francesca francis francisco gabriel gabriela gareth
gary george georgia gerald gloria gordon gregory greta hamza hannah harold harry hassan
heidi helen henry hiroshi howard hugo hussein ian ibrahim igor ingrid irene isaac isabel
isabella ivan jacob jacqueline james jamie jan jane janet janice jasmine jason javier
jean jeffrey jennifer jeremy jessica jesus joan joanna joe joel johanna john jonathan
jorge jose joseph joshua joyce juan judith julia julian julie justin karen karim katarzyna
kate katherine kathleen kathryn katie kayla keith kelly kenneth kevin kim kimberly kofi
krishna kumar kyle laura lauren lawrence leah leila leo leon leonard liam linda lisa
lois louis louise lucas lucia lucy luis luke lydia magdalena mahmoud malik manuel margaret
maria marie marilyn mario marion marta martha martin mary matthew maureen megan mehmet
melissa mia michael michelle miguel mikhail ming mohamed mohammad mohammed monica mustafa
nadia nancy naomi natalia natasha nathan neil nicholas nicola nicole nikolai nina noah
noor nora norma oliver olivia omar oscar pablo pamela patricia patrick paul paula pauline
pedro peter philip phillip piotr pooja priya rachel rafael rahul raj rajesh ralph ramon
raquel rebecca ricardo richard rita robert roberto robin rodrigo roger ronald rosa ross
ruth ryan sam samantha samir samuel sandra sanjay sara sarah scott sean sergei sergio
shannon sharon sheila shirley simon sofia sophia sophie stanley stefan stephanie stephen
steven susan svetlana sylvia tanya tara teresa terry theresa thomas timothy tina tobias
todd tomas tony tracy tyler valentina valerie vanessa vera veronica victoria vijay vincent
virginia vivian walter wanda wayne wei wendy william xavier yasmin yusuf yuki zachary zainab
zoe zhang
abebe adaeze adebayo adriana agnieszka aiden aleksandr aleksandra alessandro alfredo alina
amara amina anders andrzej aneesh anjali antonella antonia arash aryan asha ashok astrid
ayesha bartosz beatriz benedikt bilal bogdan bruno callum camille carmela cheng chiara
chidi chinonso chloe cormac dagmar daisuke damien dariusz declan deepa dina dmitry dorota
eamon elif emeka emilia enrique esra fabian farah farid fatih fernanda finn florian
francois frederik gaurav giovanni giulia goran grzegorz gunther hana hanna harriet hamid
hans heinrich helga hemant henrik hiro hui ifeoma ines ioana irina isaac isabella ishaan
jakob jamal janusz jiho jin joao jonas jorge josefina jovan jun kamala karin kasia katya
kenji khalid kiran klaus kwame lars laszlo lena leonie lin ling lorenzo lucas ludmila
magnus mai makoto malgorzata manon marcin mariam marisol marko mateo mathilde matteo
maximilian mei mehdi miguel milan min mina miriam mohsen nadia nasser nikhil niamh nils
nkechi nnamdi obinna oksana olga olumide omar oren pavel pawel pierre pietro priyanka
radu rafal ravi reza rizwan roman rui ruth saanvi sabine sadia salma sandeep santiago
saoirse sebastian seo shira shreya sigrid simone siobhan sipho soren stanislaw sunil
tadeusz takeshi tamar tariq thabo thiago tiago tomasz tomas ulrike umar usha valentin
vasily vikram vladimir wojciech xin yara yasmin yosef youssef yuri zainab zofia zoltan
""".split())

SURNAMES: frozenset[str] = frozenset("""
abbott adams ahmed akhtar al-rashid ali allen alvarez anderson andersen bailey baker banerjee
barnes bauer becker begum bell bennett bianchi brooks brown bruno butler campbell carter
castillo chan chang chatterjee chen cheng choi chopra clark clarke cohen collins cook cooper
costa cruz das davies davis diaz dubois edwards evans fernandez ferrari fischer fisher flores
foster garcia gomez gonzalez gonzales gray green gupta gutierrez hall hansen harris hernandez
hill hoffmann huang hughes ivanov ivanova jackson james jensen jimenez johnson jones kaur
kelly khan kim king kowalski kowalska kumar lambert larsen lee lewis li lin liu lopez martin
martinez mehta meyer miller mitchell moore morales moreno morgan morris muller murphy nguyen
nielsen novak o'brien o'connor okafor okonkwo ortiz parker patel perez petrov petrova phillips
popescu price ramirez ramos reddy reyes richter rivera roberts robinson rodriguez rogers romano
rossi ruiz russo sanchez santos schmidt schneider schulz scott shah sharma silva singh
smirnov smirnova smith sokolov stewart sullivan suzuki tanaka taylor thomas thompson torres
turner walker wang ward watson weber white williams wilson wong wood wright wu yadav yamamoto
yang young zhang zhao zimmermann nowak wojcik kowalczyk lewandowski mahmoud hassan haddad
mensah owusu adeyemi oyelaran mbeki dlamini nakamura sato watanabe takahashi kobayashi park
tran pham le hoang vu dang bui ivanovic jovanovic horvat kovacs nagy papadopoulos yilmaz
kaya demir sahin celik fernandes pereira oliveira alves ribeiro carvalho connor
abdullah adeyemi agarwal almeida andrade antonov aziz baptiste bergstrom bhatt borges
brennan byrne castro chaudhry dasgupta delgado dimitrov doherty dominguez eriksson
farouk ferreira fitzgerald gallagher garrido gill goldberg greenberg gruber guerrero
haddad hakimi hashemi hoffman ibrahim iyer jansen janssen jovanovic kapoor katz keller
kennedy khalil kozlov krause kruger kuznetsov lindqvist lombardi lorenzo mahler malik
marino mazur medina melnyk mendes moretti murray nair nakamura navarro novakova obi
oconnell odonnell okeke okonjo olsen omalley osullivan pavlov peters petersen pham pinto
quinn rahman rao rashid reilly rocha romero rosen rossi saleh salazar schafer schwartz
serrano shapiro sharif siddiqui sokolova soto stein svensson tan tiwari vargas vasquez
vogel volkov wagner walsh weiss yilmaz yusuf zhou zielinski
""".split())

# Given names or surnames that are also everyday or clinical words: a lower-case one is not
# taken as a name, since "grey matter", "brown tumour" and "mark the lesion" are not people.
AMBIGUOUS: frozenset[str] = frozenset("""
april august autumn amber angel art bell bill brown black buck carter chase cook crystal dale
dawn don drew faith frank gene ginger grace green grey gray guy hall hill holly hope hunter
iris ivy jack jade joy june king lane le lee li long mark mason max may miles moon olive
park pat penny price ray reed rich robin rose ruby sky summer sue sunny terry todd turner
vera violet wade ward white will wood woody young
""".split())

# Words that end a name-after-trigger search: "patient with ...", "patient A", "Mr Big".
STOPWORDS: frozenset[str] = frozenset("""
a an and any are as at be been being but by came come comes did do does for from had has
have having he her his i if in into is it its male female man men woman women boy girl child
of on or our presenting presents presented who whose with was were she their them they this
that the these those to under undergoing was x y z aged age year years old yo is was seen
scheduled referred admitted post status positioning position education safety consent care
information demographics history data record records file files details identifier summary
number id name names notes portal chart list lists group groups population cohort
""".split())

# Capitalised words common at the start of prompts or in title-case prompts; not names.
CLINICAL_CAPS: frozenset[str] = frozenset("""
abdomen abdominal acute adult anterior ap axial bilateral brain breast chest chronic clinical
coronal create ct derm dermatology distal doppler dwi echo elderly fundus generate h&e hand head
hip histology image images infant knee lateral left lumbar lung make mri mr neck oblique pa
pelvis photo portable posterior proximal radiograph render right sagittal scan show skin skull
spine teaching thoracic ultrasound upper lower wrist x-ray xray cxr ctpa flair please
synthetic case study view views series slide lecture exam review study liver kidney heart
arm arms leg legs foot feet hands shoulder shoulders elbow ankle ankles finger fingers toe toes
thumb neck back face eye eyes ear ears nose mouth tongue teeth tooth jaw rib ribs lungs heart
kidneys bladder bowel colon stomach pancreas spleen uterus ovary ovaries prostate testis bone
bones joint joints muscle tendon ligament thigh calf forearm humerus femur tibia fibula radius
ulna clavicle scapula sternum aorta artery vein orbit orbits sinus sinuses both middle medial
normal abnormal severe mild moderate large small multiple single unilateral early late new
old young male female child children pediatric paediatric paediatrics pediatrics neonatal
showing shows with without render draw display demonstrate depict depicting generate view
finding findings lesion lesions mass tumour tumor cancer fracture fractures pneumonia effusion
infarct stroke bleed haemorrhage hemorrhage edema oedema nodule nodules cyst cysts stone stones
disease syndrome infection abscess ulcer rash burn burns wound wounds trauma injury injuries
radiograph radiographs sonogram ultrasound photograph picture section stain biopsy pathology
contrast enhanced enhancement phase arterial venous delayed window bone soft tissue plain film
angiogram angiography venogram mammogram mammography echo echocardiogram fluoroscopy barium
nuclear pet spect scintigraphy dexa fundus retina retinal optic slit lamp dermoscopy
emergency department intensive unit ward clinic hospital room theatre surgery surgical post
pre operative follow up initial repeat versus vs and or the a an of in on at for to from by
""".split())

# Public figures: a prompt naming one is refused (medical images of real people).
PUBLIC_FIGURES = [
    "taylor swift", "donald trump", "trump", "barack obama", "obama", "michelle obama",
    "elon musk", "musk", "kim kardashian", "kardashian", "king charles", "queen elizabeth",
    "prince harry", "prince william", "kate middleton", "princess diana", "meghan markle",
    "joe biden", "biden", "kamala harris", "vladimir putin", "putin", "volodymyr zelensky",
    "zelensky", "zelenskyy", "xi jinping", "narendra modi", "emmanuel macron", "angela merkel",
    "rishi sunak", "boris johnson", "keir starmer", "justin trudeau", "pope francis",
    "pope leo", "beyonce", "rihanna", "lady gaga", "madonna", "britney spears", "selena gomez",
    "ariana grande", "billie eilish", "justin bieber", "kanye west", "oprah", "tom cruise",
    "tom hanks", "brad pitt", "angelina jolie", "leonardo dicaprio", "scarlett johansson",
    "jennifer aniston", "jennifer lawrence", "emma watson", "cristiano ronaldo", "lionel messi",
    "messi", "lebron james", "michael jordan", "serena williams", "roger federer",
    "usain bolt", "mark zuckerberg", "zuckerberg", "bill gates", "jeff bezos", "bezos",
    "steve jobs", "albert einstein", "einstein", "marilyn monroe", "michael jackson",
    "elvis presley", "stephen hawking", "greta thunberg", "dalai lama", "shakira",
    "harry styles", "ed sheeran", "dwayne johnson", "keanu reeves", "morgan freeman",
]


def _vocabulary_words() -> Iterator[str]:
    """Every word of the prompt parser's vocabulary (modalities, regions, findings, ...)."""
    tables = (vocab.MODALITIES, vocab.REGIONS, vocab.VIEWS, vocab.PLANES, vocab.SEQUENCES,
              vocab.STAINS, vocab.LEVELS, vocab.LATERALITY, vocab.LOCATIONS, vocab.SEVERITY,
              vocab.MODIFIERS, vocab.AGE_GROUPS, vocab.SEXES, vocab.WINDOWS)
    phrases = [p for table in tables for ps in table.values() for p in ps]
    phrases += [p for _regions, ps in vocab.FINDINGS.values() for p in ps]
    phrases += list(vocab.COMPOUNDS) + list(vocab.NORMAL) + list(vocab.STOPWORDS)
    for phrase in phrases:
        yield from re.findall(r"[a-z]+", phrase.lower())


# ---------------------------------------------------------------- census lists and their limits
_CENSUS = Path(__file__).with_name("data") / "census_names.txt"


def _census() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames) of the shipped census list (see `namelists.py`)."""
    first: set[str] = set()
    last: set[str] = set()
    target = first
    for line in _CENSUS.read_text(encoding="utf-8").splitlines():
        if line == "[first]":
            target = first
        elif line == "[last]":
            target = last
        elif line and not line.startswith("#"):
            target.add(line)
    return frozenset(first), frozenset(last)


CENSUS_FIRST, CENSUS_LAST = _census()
ANY_FIRST: frozenset[str] = CENSUS_FIRST | FIRST_NAMES
ANY_LAST: frozenset[str] = CENSUS_LAST | SURNAMES

# Census names that are also words a teaching prompt uses (anatomy, findings, verbs, everyday
# words): a listed name only counts as evidence when it is not one of these.
CLINICAL_WORDS: frozenset[str] = frozenset("""
angle back blood body bone born box brain burns call case chamber check cheek cherry child
colon core corpus cotton crown day days degree delta dot echo fall fast field finger free
garden glass hand head heart height her high honey kidney knee lamp line lines loop lower lung
major mallet man march marrow mass may natal newborn old patch pick post power puff purpura
rash red ring root roots runner shin small stage stone stump swallow to wall way wedge weeks
white wing units unit sign signs hump lesion lesions mark marks pattern patterns film films
cell cells tissue fluid free gas air wave waves rib ribs lobe lobes spine disc discs joint
render show generate make draw depict illustrate create simulate visualise visualize display
produce give want need please picture photo photograph scan scans image images plate plates
series slice slices view views grade grades type types class zone zones score scale level
group factor vitamin hepatitis protein antigen virus strain stain stains nodule nodules
weber kerley hampton chilaiditi pancoast hashimoto crohn wilms ewing fitzpatrick glasgow
hounsfield apgar tanner neer garden gustilo schatzker mayo pugh meld fisher hunt hess
spetzler arbor bosniak gleason breslow bethesda mobitz wenckebach lown
nyha killip forrest los angeles savary prague paris vienna montreal rockall blatchford
wells geneva perc curb centor alvarado ranson caprini
new york heart association fontaine rutherford kellgren outerbridge
""".split())
VOCABULARY_WORDS: frozenset[str] = frozenset(_vocabulary_words())
NOT_NAMES: frozenset[str] = (
    STOPWORDS | CLINICAL_CAPS | AMBIGUOUS | CLINICAL_WORDS | VOCABULARY_WORDS
)
