"""The eponym allow-list: clinical words named after people, which must never read as PHI.

"Parkinson disease", "Colles fracture" and "pouch of Douglas" name a condition or a structure,
not a patient. An eponym is protected when it stands before a clinical head noun, after
"<structure> of", or as one of the multi-word eponyms below (always protected: "Austin Flint",
"Sister Mary Joseph" look like personal names but are not). An eponym that is also a surname
gets no protection on its own: "Mr Parkinson" and "patient Wilson" are still names.
"""

from __future__ import annotations

import re

EPONYMS: frozenset[str] = frozenset("""
achilles adams addison adie aicardi albright alexander alport alzheimer angelman anton arnold
aschoff asherman asperger auer auspitz austin babinski baker balint balo bankart barlow barrett
barre barr bartholin barton bartter battle beck becker beckwith bell bennett berger bernard
bertolotti binswanger bitot blount bochdalek boerhaave bosniak bouchard boutonniere bowen
breslow brenner broca brodie brown brudzinski brugada brushfield budd buerger burkitt call
calot calve camper canavan caplan caroli carey castleman chagas chance charcot chediak
cheyne chiari chilaiditi chopart christian churg chvostek clark clay cobb codman colles conn
councilman courvoisier cowper creutzfeldt crigler crohn crowe cullen curling cushing
dandy darier dawson devic diamond dieulafoy digeorge dobson douglas down dravet dressler
dubin duchenne dupuytren duroziez ebstein edwards ehlers eisenmenger ellison erb erdheim
essex ewing exner fabry fahr fallot fallopian fanconi felty finkelstein fitz fleischer
fleischner flint forchheimer fournier freiberg friedreich galeazzi galen gardner garre
gaucher gehrig gerota gerstmann gilbert gitelman glasgow gleason glisson golden goodpasture
gottron gower gradenigo graham graves grey grover guillain gunn gustilo hailey hallervorden
hamman hampton hand hangman harris hartmann hashimoto heberden henle henoch hesselbach hill
hippel hirano hirschsprung his hodgkin hoffmann holstein homans homer horner howell hunt
hunter huntington hurler hurley hurthle hutchinson ito jaccoud jacksonian jakob janeway
jefferson jeghers jessner job johansson johnson jolly jones joseph kaposi kartagener kasabach
kawasaki kayser kehr kellgren kennedy kerley kernig kienbock kikuchi killian kimmelstiel
klatskin klebsiella klinefelter klippel klumpke koebner kohler koplik korsakoff krabbe
krukenberg kugelberg kupffer kussmaul lachman lambert landau langerhans langhans lawrence
legg leigh lemierre lennox lesch letterer levine lewis lewy leydig libman liddle lisch
lisfranc looser lou louis ludwig lutembacher lyell lyme lynch madelung maffucci magendie
maisonneuve mallory marchiafava marcus marfan marie marjolin mary mcburney mccune mcmurray
meckel mees meigs menetrier meniere menkes merkel merrill meyer middleton mikulicz millard
mobitz modic monro monteggia morgagni morison morton moyamoya muehrcke munchausen murphy
naboth nabothian negri nelson niemann nikolsky noonan oddi ogilvie ollier ortolani osgood
osler ota paget pancoast parinaud parkinson patau pelizaeus perthes peutz peyronie phalen
pick pickwickian pierre plummer pompe potter pott prader preiser prinzmetal quincke quervain
ramsay rasmussen ranvier rathke raynaud recklinghausen reed reidel reiter rett reye reynolds ringer
riedel rigler robertson robin rolando romano romberg rosai rotor roth rotter rovsing russell
salter sachs santorini scarpa schatzki scheuermann schiller schilder schlatter schmorl
schuller schonlein schwann segond sertoli sever sezary sheehan shenton sinding sipple
sister sjogren skene smith spitz sprengel stein stensen steell stevens still stokes strauss
sturge sudeck sutton swyer sylvian takayasu takotsubo tarlov tay terry thompson tietze
tillaux tinel todd tolosa touton tourette traube treacher treitz trendelenburg trousseau
turner uhthoff vater vincent virchow volkmann von waldenstrom walker wallenberg warthin
waterhouse weber wegener weil welander wenckebach werdnig wermer wernicke west westermark
wharton whipple white wickham wiedemann willebrand willi williams willis wilms wilson
winter wintersteiner wirsung wiskott wolff wright zellweger zenker zollinger
""".split())

# Words after an eponym that make it a condition, sign or structure.
HEAD_NOUNS = """
abscess adenoma anomaly angle aneurysm angina area arteritis arthritis ataxia atrophy band
bodies body bursa canal catheter cell cells circle classification colitis complex contracture
corpuscles crisis criteria cyst cysts deformity dermatitis disease diverticulum duct dystrophy
effect encephalitis encephalopathy enteritis esophagus oesophagus fascia fingers fissure
foramen fracture fractures ganglion gangrene gland glands granules grade hernia hump
ileitis index injury joint lesion lesions level ligament line lines lymphoma malformation
manoeuvre maneuver marker membrane method murmur myopathy neuralgia neuroma nevus naevus
node nodes nodule nodules nucleus operation ophthalmopathy orbitopathy palsy papillae
paralysis pattern phenomenon plaque plaques point pouch procedure pupil pulse reflex repair
ring rings rosettes sarcoma scale score sequence shunt sign signs space spots stage staging
striae syndrome test thickness thyroiditis tract triad triangle tube tumor tumour tumours
tumors type ulcer vasculitis vein waves zone zones disorder disorders lymphadenopathy
carcinoma pentad dysplasia vertebra appearance spot criterion lactate solution
""".split()

# "<structure> of <eponym>": pouch of Douglas, circle of Willis, tetralogy of Fallot.
OF_HEADS = """
pouch circle tetralogy vein ampulla sphincter ligament foramen islets islet loop canal
space bundle node nodes crypts triangle duct ducts organ tubercle fissure glands gland
""".split()

# Eponyms spelled as several capitalised words; protected wherever they appear.
MULTI_WORD = [
    "austin flint", "marcus gunn", "homer wright", "graham steell", "pierre robin",
    "sister mary joseph", "ramsay hunt", "foster kennedy", "lou gehrig", "argyll robertson",
    "grey turner", "carey coombs", "treacher collins", "de quervain", "de musset",
    "von willebrand", "von hippel", "von recklinghausen", "hand schuller christian",
    "charcot marie tooth", "kimmelstiel wilson", "wolff parkinson white", "still disease",
    "call exner", "kayser fleischer", "reed sternberg", "howell jolly", "golden s",
    "jacksonian march", "march fracture", "mary joseph", "down syndrome",
    "claude bernard horner", "bernard horner", "louis bar", "adams stokes", "stevens johnson",
    "dubin johnson", "pierre marie", "marie strumpell", "sinding larsen", "legg calve perthes",
    "brown sequard", "osgood schlatter", "hill sachs", "salter harris", "lou gehrig's",
    "ann arbor", "factor v leiden", "hunt and hess", "spetzler martin",
]

_multi_alt = "|".join(re.escape(m).replace(r"\ ", r"[\s\-]+") for m in MULTI_WORD)
_of_alt = "|".join(OF_HEADS)
_eponym_alt = "|".join(sorted((re.escape(e) for e in EPONYMS), key=len, reverse=True))
_head_alt = "|".join(sorted(HEAD_NOUNS, key=len, reverse=True))
# An eponym (possibly hyphenated with others, possibly possessive) followed by a head noun,
# allowing up to two modifiers in between ("Paget disease", "Hodgkin's lymphoma",
# "Osgood-Schlatter disease", "Barrett oesophagus", "Kerley B lines").
EPONYM_PHRASE = re.compile(
    rf"(?<![a-z])(?:{_eponym_alt})(?:-(?:{_eponym_alt}|[a-z]+))*(?:'s|s'|')?"
    rf"(?:[\s\-]+(?:[a-z0-9]{{1,4}}|type|\w+'s)){{0,2}}[\s\-]+(?:{_head_alt})(?![a-z])"
    rf"|(?<![a-z])(?:{_of_alt})\s+of\s+(?:the\s+)?(?:{_eponym_alt})(?![a-z])"
    rf"|(?<![a-z])(?:{_multi_alt})(?![a-z])"
)


def protected_spans(folded: str) -> list[tuple[int, int]]:
    """Spans of the folded text that are eponym phrases, so name rules skip them."""
    return [m.span() for m in EPONYM_PHRASE.finditer(folded)]
