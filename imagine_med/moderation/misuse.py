"""Misuse rules: the table of what is refused or put before a moderator, and why.

The policy is clinical, not consumer: nudity and injury in a medical context are allowed
(dermatology, genital lesions, trauma). Refused: passing an image off as a real patient's study,
using one for a claim, insurance, litigation or a sick note, defeating the provenance marks,
real public figures, and sexualised content, with anything sexual involving a minor always
refused, as is nudity of a child outside a clinical context. Held for a moderator: ambiguous
hints of the above, adult nudity with no clinical context, and intimate clinical photographs of
children.

Each rule is data: phrases in the `rules.fuzzy` notation, matched on the folded text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imagine_med.moderation.names import PUBLIC_FIGURES
from imagine_med.moderation.rules import Decision, Hit, compile_phrases

_MODALITY = "(scan|scans|x ?ray|xray|mri|ct|ultrasound|image|images|film|study|report|result~)"


@dataclass(frozen=True)
class MisuseRule:
    rule_id: str
    decision: Decision
    reason: str
    phrases: tuple[str, ...]


RULES: tuple[MisuseRule, ...] = (
    MisuseRule(
        "misuse.pass_off", "block",
        "Images made here are synthetic and must never be passed off as a real patient's study.",
        (
            "pass (it|this|that|them|these)? off as", "pass(es)? as (a )?real",
            "present (it|this|them)? as my own", f"as my own {_MODALITY}",
            "(say|claim|pretend) (it|that|this)? ?(is|was|'s) (mine|my own|real)",
            "with my (name|details|date of birth|dob)", "(put|add|write|print) my (name|details)",
            "my (name|details) on (it|the)", "(as|for) proof",
            "proof (that|for|to) (i|my|the|her|him)",
            "letterhead", "look~ official", "official (looking|report|document|letter|record)",
            "hospital (header|stamp|seal)",
            "prove (that )?(i'?m|i am|i was|she'?s|he'?s) (pregnant|injured|sick|ill|hurt)",
            "fake (pregnancy|pregnant)", "(forge|forged|forgery|forging)", "hospital logo~",
            "(real|genuine) hospital (scan|x ?ray|logo|header|letterhead)",
            "patient details on (it|the)", "came from a real patient",
            "(has|have|needs?) to look real",
            "show (to )?my (boyfriend|girlfriend|partner|husband|wife|parents|mum|mom|dad|family)",
            "(trick|fool|deceive|prank|scam|con) (my|the|him|her|them|people|everyone|someone)",
        ),
    ),
    MisuseRule(
        "misuse.look_real", "hold",
        "A moderator will check requests to make an image look like a real patient's study.",
        (
            "look(s|ing)? like (a |an )?real (patient|person|hospital|one)",
            f"look(s|ing)? like (a |an )?real {_MODALITY}", "real patient'?s",
            f"fake {_MODALITY}", f"fake _ {_MODALITY}", "convincing",
            "look(s)? (100%|totally|completely|exactly) real",
            "(indistinguishable|no different) from (a )?real", "authentic looking",
        ),
    ),
    MisuseRule(
        "misuse.claim", "block",
        "Synthetic images must not be used for insurance, compensation or benefit claims.",
        (
            "insurance (claim~|company|companies|payout|pay ?out|money|fraud|agent|adjuster)",
            "(my|car|health|travel|life|home|the) insurance", "insurer~", "workers'? ?comp~",
            "compensation (claim~|case|payout|money)",
            "(my|a|an|the|injury|disability|benefits?|accident|compensation|personal injury) "
            "claim~",
            "disability (benefit~|allowance|payment~|pension|application~|assessment~|case)",
            "(benefits?|welfare|insurance) (claim~|office|agency|application~)",
            "refund~", "(get|claim) (my )?money back",
            "claim (for|against|compensation|benefits|damages)",
            "so (they|it|the company) (will )?pay~", "pay ?out", "reimburse~",
        ),
    ),
    MisuseRule(
        "misuse.claim_hint", "hold",
        "A moderator will check requests that mention insurance or claims.",
        ("insurance", "claim", "claims"),
    ),
    MisuseRule(
        "misuse.litigation", "block",
        "Synthetic images must not be used as evidence in legal proceedings.",
        (
            "law ?suit~", "litigat~", "(to|can|could|will|going to|gonna|want to) sue",
            "sue (the|him|her|them|my|a|an|this|that)", "(for|in|to) court", "court (case|hearing)",
            "(my|a|the|our) (lawyer|lawyers|attorney|solicitor)", "attorney~", "solicitor~",
            "legal (case|action|claim|proceeding~|evidence|dispute)", "court", "courtroom",
            "(case|claim|complaint|action) against (my|the|a|an|him|her|them|this|that|our)",
            "slip (and|&|n) fall", "personal injury",
            "(use|used|using|submit|present) (it|this|them|these)? as evidence",
            "as evidence (in|against|for) (my|the|a|court)",
            "evidence (for|in|against) (my|the|a|our)? ?(lawyer|court|case|trial|claim|insurer~|"
            "employer|judge|hearing)", "trial against", "tribunal", "settlement", "the judge",
        ),
    ),
    MisuseRule(
        "misuse.sick_note", "block",
        "Synthetic images must not be used to excuse absence from work or school.",
        (
            "sick ?note", "doctor'?s? note", "medical (certificate|note|excuse)", "fit note",
            "(skip|miss|avoid|get out of|off) (work|school|class|classes|pe|gym|exam~|duty|shift~|"
            "jury|jury duty|jury service|military service|training|practice|deployment)",
            "(show|convince|tell|send (it )?to|prove to) (my|the) (employer|boss|manager|school|"
            "teacher|work|hr|supervisor|company)", "can'?t (go to )?work",
            "(call|calling) in sick", "time off( work)?", "excuse~ me", "school excuse",
            "days? off", "stay (at )?home from", "(paid|sick|medical|unpaid) leave", "sick pay",
            "(approve|get|take|request|extend|grant) (my |me )?(leave|time off)",
        ),
    ),
    MisuseRule(
        "misuse.employer_hint", "hold",
        "A moderator will check requests made for an employer or a school.",
        (
            "(for|to) (my|the) (boss|employer|manager|supervisor|hr|workplace|company)",
            "my (boss|employer|manager|supervisor)",
        ),
    ),
    MisuseRule(
        "misuse.undetectable", "block",
        "Requests to make an image undetectable as synthetic are refused.",
        (
            "un ?detect(able|ed)", "not detectable",
            "(pass|passes|passing|evade|evades|bypass|beat|fool|avoid) (the |any )?(ai |deepfake |"
            "fake )?(detection|detector~|checks?|forensic~)",
            "(can'?t|cannot|can ?not|won'?t|wont|never) be (detected|flagged|spotted|traced|"
            "identified) as (fake|synthetic|ai|generated|computer)",
            "(can'?t|cannot|won'?t|wont) be (flagged|traced)",
            "(no ?one|nobody|no body|noone) (can|could|will|would|should|must|may|is going to) "
            "(ever )?(tell|know|notice|spot|find out|see|guess)",
            "indistinguishable from (a )?real (scan|x ?ray|xray|mri|ct|one|image|study|patient)",
            "(hide|conceal) (the fact|that it)", "not look (ai|synthetic|fake|generated)",
        ),
    ),
    MisuseRule(
        "misuse.watermark", "block",
        "The SYNTHETIC label and the watermark cannot be removed or hidden.",
        (
            "(remove|removing|removed|strip|stripping|crop|cropping|erase|delete|hide|hiding|"
            "get rid of|cover|blur|clean off|take off|turn off|disable) _ (watermark~|label~|"
            "banner|stamp|provenance|metadata|c2pa|marking~)",
            "(remove|strip|crop|erase|delete|hide|disable) (watermark~|label~|banner|stamp|"
            "provenance|metadata|c2pa)",
            "(no|without|w/o|minus|omit|skip|leave out) _ (watermark~|label band|banner|provenance|"
            "metadata|c2pa|synthetic (label~|tag|stamp|text|marking~|band)|ai (label~|tag|mark~))",
            "(no|without|w/o) (watermark~|label band|banner)",
            "(remove|removing|strip|crop|erase|delete|hide|get rid of|cover|blur|take off|no|"
            "without|w/o) _ synthetic (text|label~|tag|stamp|mark~|band|banner|watermark~|word~)",
            "(without|no|remove|hide|get rid of) _ (marks?|signs?|traces?|indications?|labels?) _ "
            "(ai|synthetic|generated|fake|computer)",
            "watermark ?(free|less)", "un ?watermarked", "no (ai|synthetic) (label~|mark~|tag~)",
            "(watermark~|label~|banner|stamp|marks?|marking~) (invisible|disappear|go away|"
            "transparent|removed|gone)",
        ),
    ),
    MisuseRule(
        "misuse.public_figure", "block",
        "Images of real, identifiable people (public figures included) are not made here.",
        tuple(PUBLIC_FIGURES),
    ),
    MisuseRule(
        "misuse.celebrity", "hold",
        "A moderator will check requests that refer to a real, well-known person.",
        (
            "celebrit~", "famous (actor|actress|singer|person|people|athlete|footballer|player|"
            "politician|star|rapper|musician|model|youtuber)",
            "(movie|film|pop|rock|tv|sports?) star",
            "(the|a|our) president~", "prime minister", "royal family", "the (king|queen|pope)",
            "influencer", "youtuber", "politician",
        ),
    ),
    MisuseRule(
        "sexual.explicit", "block",
        "Sexualised content is not generated. Clinical images of the body are fine.",
        (
            "sexy", "sexier", "erotic~", "porn~", "nsfw", "xxx", "hentai", "seduc~", "lingerie",
            "fetish~", "kinky", "lewd", "horny", "aroused", "arousing", "sensual", "provocative~",
            "nude model", "(posing|pose|poses) (nude|naked|topless)", "(nude|naked|topless) pos~",
            "hot (girl|girls|woman|women|babe|chick|guy|nurse|mom|mum|milf|body|teen)", "busty",
            "boob~", "tits", "titties", "pin ?up", "playboy", "only ?fans", "striptease",
            "stripper~", "sex (scene|act|toy|doll|position|video|tape|appeal|worker)", "having sex",
            "sexual (pose|poses|content|images?|photos?|pictures?|acts?|scenes?|fantas~|pleasure|"
            "gratification|activity)", "for (sexual )?pleasure", "orgasm~", "masturbat~",
            "explicit", "milf", "slut~", "naughty", "camgirl~", "escort", "voluptuous",
            "(get|make) (me )?(aroused|horny|hard|wet)", "turns? me on",
            "wearing (a )?bikini", "bikini (girl|model|body|pic~|photo~|babe)",
        ),
    ),
)

# Anything sexual together with a minor is refused outright.
_SEXUAL_WORDS = compile_phrases(
    ("sexual", "sexualised", "sexualized", "sexually (explicit|suggestive|abused)"),
)
_CSAM = compile_phrases(
    ("loli~", "lolicon", "shota~", "jailbait", "child porn~", "kiddie porn~", "pedo~", "paedo~",
     "cp porn", "underage (nude|naked|sex~)", "preteen (nude|naked|sex~)"),
)
_MINOR = re.compile(
    r"(?<![a-z])(?:child|children|child's|childs|kid|kids|girl|girls|boy|boys|teen|teens|"
    r"teenage\w*|adolescen\w*|a minor|minors|underage|infant\w*|baby|babies|newborn\w*|"
    r"neonat\w*|toddler\w*|pre-?teen\w*|schoolgirl\w*|schoolboy\w*|p(?:a)?ediatric|"
    r"young (?:girl|boy)|little (?:girl|boy))(?![a-z])"
    r"|(?<![\d.])(?:1[0-7]|[1-9])\s*-?\s*(?:years?|yrs?|yo|y/o|y\.o\.?)(?:[\s\-]*old)?(?![a-z])"
    r"|(?<![\d.])\d{1,2}\s*-?\s*(?:months?|weeks?|days?|mo)[\s\-]*old"
    r"|\baged?\s*[:=]?\s*(?:1[0-7]|[1-9])(?![\d.])"
)
_INTIMATE = re.compile(
    r"(?<![a-z])(?:genital\w*|penis|penile|scrot\w*|testis|testes|testic\w*|vulva\w*|vagina\w*|"
    r"labia\w*|labial|clitor\w*|perine\w*|anus|anal|breasts?|nipples?|areola\w*|pubic|"
    r"tanner|hypospadias|epispadias|phimosis|paraphimosis|cryptorchid\w*|hymen\w*|"
    r"circumcis\w*|foreskin|prepuce|glans|groin|buttocks?)(?![a-z])"
)
_NUDITY = compile_phrases(
    ("nude", "naked", "topless", "undressed", "unclothed", "no clothes", "nudity", "bottomless"),
)
_PHOTO = re.compile(
    r"(?<![a-z])(?:photo\w*|picture\w*|pics?|clinical image|dermatolog\w*|derm|skin|selfie|"
    r"portrait|full body|camera)(?![a-z])"
)
# Words that put nudity in a medical setting.
_CLINICAL = re.compile(
    r"(?<![a-z])(?:x-?ray\w*|xray|radiograph\w*|ct|mri|scan\w*|ultrasound|sonograph\w*|"
    r"dermatolog\w*|derm|clinical|medical|patient\w*|lesions?|rash\w*|psoria\w*|eczema|"
    r"[a-z]+(?:itis|omas?|osis)|ulcer\w*|wound\w*|burns?|fractur\w*|injur\w*|biops\w*|"
    r"histolog\w*|tumou?r\w*|cancer\w*|nev(?:us|i)|naev\w*|moles?|scars?|infection\w*|disease\w*|"
    r"syndrome\w*|atlas|teaching|anatom\w*|surg\w*|post-?op\w*|exam\w*|screening|vitiligo|"
    r"herpes|syphilis|warts?|lichen|tinea|scabies|lice|abscess\w*|trauma\w*|bruis\w*|"
    r"lacerat\w*|skin check|guttate|plaques?|papules?|vesicles?|pustules?|erythema|"
    r"pressure (?:sore|ulcer)|diagnos\w*|patholog\w*|physical examination|body map)(?![a-z])"
)

_COMPILED = [(rule, compile_phrases(rule.phrases)) for rule in RULES]
REASONS: dict[str, str] = {rule.rule_id: rule.reason for rule in RULES}
REASONS.update(
    {
        "sexual.minor": "Sexual content involving minors is never generated.",
        "nudity.nonclinical": "A moderator will check nudity requested outside a clinical context.",
        "sensitive.minor_nudity": (
            "Images of unclothed children are only made in a clinical context."
        ),
        "sensitive.minor_intimate": (
            "Intimate clinical photographs of children are checked by a moderator first."
        ),
    }
)


def find_misuse(folded: str, skip: list[tuple[int, int]]) -> list[Hit]:
    """All misuse hits in the folded text; `skip` spans (eponym phrases) never fire a rule."""

    def free(m: re.Match[str]) -> bool:
        return not any(m.start() < b and a < m.end() for a, b in skip)

    hits: list[Hit] = []
    for rule, pattern in _COMPILED:
        for m in pattern.finditer(folded):
            if free(m):
                hits.append(Hit(rule.rule_id, rule.rule_id.split(".")[0], *m.span(), rule.decision))
    minor = next((m for m in _MINOR.finditer(folded) if free(m)), None)
    sexual = any(h.rule_id == "sexual.explicit" for h in hits)
    sexual_word = next((m for m in _SEXUAL_WORDS.finditer(folded) if free(m)), None)
    csam = next(_CSAM.finditer(folded), None)
    if csam is not None:
        hits.append(Hit("sexual.minor", "sexual", *csam.span(), "block"))
    elif minor is not None and (sexual or sexual_word is not None):
        hits.append(Hit("sexual.minor", "sexual", *minor.span(), "block"))
    nudity = next(_NUDITY.finditer(folded), None)
    clinical = _CLINICAL.search(folded) is not None
    if minor is not None and not sexual:
        intimate = _INTIMATE.search(folded)
        if nudity is not None and not clinical:
            hits.append(Hit("sensitive.minor_nudity", "sensitive", *minor.span(), "block"))
        elif nudity is not None or (intimate is not None and _PHOTO.search(folded)):
            hits.append(Hit("sensitive.minor_intimate", "sensitive", *minor.span(), "hold"))
    if nudity is not None and not sexual and not clinical:
        hits.append(Hit("nudity.nonclinical", "sensitive", *nudity.span(), "hold"))
    return hits
