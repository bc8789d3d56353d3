"""The prompt grammar: Midjourney-style free text plus `--flag value` options -> CaseSpec(s).

Order of work: expand `{a, b}` permutations, split off flags, lex the free text against the
vocabulary, group findings with their side / location / severity clause by clause, merge flags
over text (a disagreement is an error naming both), infer what the prompt left implicit, check
that the combination makes sense, and fill engine defaults. Every failure is a `PromptError`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from imagine_med.prompt import scan, vocab
from imagine_med.prompt.errors import PromptError
from imagine_med.prompt.lexer import Lexed, clause_ids, lex, tokenize
from imagine_med.prompt.spec import SEED_MAX, CaseSpec, Finding, UltrasoundSettings
from imagine_med.prompt.text import MAX_PROMPT_CHARS, clean_prompt

MAX_SPECS = 12
DEFAULT_SIZE = 512
FLAG_RE = re.compile(r"^(?:--|—|–|-)([A-Za-z][A-Za-z_-]*)$")
BRACE_RE = re.compile(r"\{([^{}]*)\}")
GLOBAL_FIELDS = ("modality", "region", "view", "plane", "sequence", "stain", "window", "level",
                 "age", "age_group", "sex", "magnification", "antibody",
                 *(f"{scan.FACT_PREFIX}{s.field}" for s in scan.SETTINGS))
ATTACHED_FIELDS = ("laterality", "location", "severity", "modifier", "extent", "size_mm")
EXAMPLE = 'e.g. "PA chest x-ray, right upper lobe consolidation, adult male --seed 7"'


def parse_one(text: str, *, max_specs: int = MAX_SPECS) -> CaseSpec:
    """The single spec of a prompt without permutations or --repeat."""
    specs = parse(text, max_specs=max_specs)
    if len(specs) != 1:
        raise PromptError(f"This prompt makes {len(specs)} cases; expected one.")
    return specs[0]


def parse(text: str, *, max_specs: int = MAX_SPECS,
          max_chars: int = MAX_PROMPT_CHARS) -> list[CaseSpec]:
    """Parse a prompt into one spec per permutation and repeat."""
    if not isinstance(text, str):
        raise PromptError("The prompt must be text.")
    text = clean_prompt(text)  # the same text moderation screens and the bot stores
    if not text:
        raise PromptError(f"The prompt is empty. Describe the image you want, {EXAMPLE}.")
    if len(text) > max_chars:
        raise PromptError(
            f"The prompt is {len(text)} characters long; the limit is {max_chars}."
        )
    variants = expand_permutations(text, max_specs)
    specs: list[CaseSpec] = []
    for variant in variants:
        spec, repeat = _parse_single(variant, original=variant)
        if (len(specs) + repeat > max_specs and repeat > 1) or len(variants) * repeat > max_specs:
            raise PromptError(
                f"This prompt asks for {len(variants) * repeat} jobs "
                f"({len(variants)} permutation(s) x --repeat {repeat}); the limit is {max_specs}."
            )
        for k in range(repeat):
            seed = spec.seed if spec.seed is None else (spec.seed + k) % (SEED_MAX + 1)
            specs.append(spec.model_copy(update={"seed": seed}) if k else spec)
    return specs


def expand_permutations(text: str, cap: int = MAX_SPECS) -> list[str]:
    """`{t1, t2} axial brain` -> two prompts; nested and multiple groups multiply out."""
    if text.count("{") != text.count("}"):
        raise PromptError("Unbalanced braces: every '{' needs a matching '}', as in {t1, t2}.")
    texts = [text]
    while any("{" in t for t in texts):
        expanded: list[str] = []
        for t in texts:
            m = BRACE_RE.search(t)
            if m is None:
                raise PromptError("Braces must enclose options, as in {t1, t2, flair}.")
            options = [o.strip() for o in m.group(1).split(",")]
            options = list(dict.fromkeys(o for o in options)) or [""]
            for option in options:
                expanded.append(t[: m.start()] + option + t[m.end():])
                if len(expanded) > cap:
                    raise PromptError(
                        f"This prompt expands to more than {cap} permutations; the limit is "
                        f"{cap}. Use fewer {{...}} options."
                    )
        texts = expanded
    return texts


# ---------------------------------------------------------------------------- flags


@dataclass
class Flags:
    values: dict[str, str] = field(default_factory=dict)
    no: list[str] = field(default_factory=list)


def _flag_aliases() -> dict[str, str]:
    return {alias: canon for canon, aliases in vocab.FLAGS.items() for alias in aliases}


def split_flags(text: str) -> tuple[str, Flags]:
    """Free text before the first flag (and stray words after flag values) + the flags."""
    words = text.split()
    aliases = _flag_aliases()
    free: list[str] = []
    flags = Flags()
    i = 0
    while i < len(words):
        m = FLAG_RE.match(words[i])
        is_negative_number = re.match(r"^-\d", words[i]) is not None
        if not m or is_negative_number:
            free.append(words[i])
            i += 1
            continue
        name = m.group(1).lower().replace("_", "-")
        single_dash = not words[i].startswith(("--", "—", "–"))
        if single_dash and name not in ("m", "r", "w"):
            free.append(words[i])  # a hyphenated word, not an option
            i += 1
            continue
        canon = aliases.get(name)
        if canon is None:
            guess = difflib.get_close_matches(name, list(aliases), n=1, cutoff=0.6)
            hint = f" Did you mean --{guess[0]}?" if guess else ""
            raise PromptError(
                f"Unknown option --{name}.{hint} Options: "
                + ", ".join(f"--{c}" for c in vocab.FLAGS) + "."
            )
        j = i + 1
        value_words: list[str] = []
        while j < len(words) and not (FLAG_RE.match(words[j]) and not re.match(r"^-\d", words[j])
                                      and (words[j].startswith(("--", "—", "–"))
                                           or words[j][1:].lower() in ("m", "r", "w"))):
            value_words.append(words[j])
            j += 1
        if not value_words:
            raise PromptError(f"--{canon} needs a value, as in {_flag_example(canon)}.")
        if canon == "no":
            flags.no.extend(t.strip() for t in " ".join(value_words).split(",") if t.strip())
        else:
            if canon in flags.values:
                raise PromptError(f"--{canon} is given twice.")
            value = value_words[0].rstrip(",;.")
            if not value:
                raise PromptError(f"--{canon} needs a value, as in {_flag_example(canon)}.")
            flags.values[canon] = value
            free.extend(value_words[1:])
        i = j
    return " ".join(free), flags


def _flag_example(name: str) -> str:
    examples = {"modality": "--modality ct", "view": "--view pa", "plane": "--plane axial",
                "seq": "--seq flair", "stain": "--stain he", "window": "--window lung",
                "level": "--level carina", "age": "--age 45", "sex": "--sex female",
                "seed": "--seed 7", "ar": "--ar 3:4", "size": "--size 768",
                "no": "--no devices", "engine": "--engine phantom", "steps": "--steps 30",
                "repeat": "--repeat 2", "region": "--region chest"}
    return examples.get(name, f"--{name} VALUE")


def _choose(flag: str, value: str, table: dict[str, list[str]]) -> str:
    """A flag value -> canonical entry of `table`, accepting synonyms; else a did-you-mean."""
    key = " ".join(t.norm for t in tokenize(value))
    for canonical, phrases in table.items():
        names = {canonical, canonical.replace("_", " ")}
        names |= {" ".join(t.norm for t in tokenize(p)) for p in phrases}
        if key in names:
            return canonical
    allowed = list(table)
    guess = difflib.get_close_matches(key.replace(" ", "_"), allowed, n=1, cutoff=0.5)
    hint = f" Did you mean {guess[0]}?" if guess else ""
    raise PromptError(f"--{flag} {value!r} is not known.{hint} Allowed: {', '.join(allowed)}.")


def _int_flag(flag: str, value: str, lo: int, hi: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise PromptError(
            f"--{flag} needs a whole number from {lo} to {hi}, not {value!r}."
        ) from None
    if not lo <= number <= hi:
        raise PromptError(f"--{flag} must be from {lo} to {hi}; got {number}.")
    return number


# ---------------------------------------------------------------------------- free text


@dataclass
class Facts:
    """What the free text says: global facts with their wording, and findings."""

    globals: dict[str, list[tuple[object, str]]] = field(default_factory=dict)
    findings: list[dict[str, object]] = field(default_factory=list)
    orphans: list[tuple[str, object, str]] = field(default_factory=list)
    normal: bool = False
    unparsed: list[str] = field(default_factory=list)


def read_text(text: str) -> Facts:
    lexed = lex(text)
    facts = Facts()
    clauses = clause_ids(lexed)
    # findings first, so attributes can attach to the nearest one in their clause
    finding_at: list[tuple[int, int, dict[str, object]]] = []
    for m in lexed.matches:
        for name, value in m.facts:
            if name == "finding":
                f: dict[str, object] = {"name": value, "modifiers": [], "_text": m.text}
                finding_at.append((m.i, clauses[m.i], f))
                facts.findings.append(f)
    for m in lexed.matches:
        for name, value in m.facts:
            if name == "finding":
                continue
            if name == "normal":
                facts.normal = True
            elif name in GLOBAL_FIELDS:
                facts.globals.setdefault(name, []).append((value, m.text))
            else:
                target = _attach_target(m.i, clauses[m.i], finding_at)
                if target is None:
                    facts.orphans.append((name, value, m.text))
                else:
                    _attach(target, name, value, m.text)
    facts.unparsed = _unknown_words(lexed)
    return facts


def _attach_target(pos: int, clause: int, finding_at: list[tuple[int, int, dict[str, object]]]
                   ) -> dict[str, object] | None:
    """The first finding after `pos` in the same clause, else the last one before it, else
    the last finding of an earlier clause ("consolidation, right upper lobe")."""
    same = [(i, f) for i, c, f in finding_at if c == clause]
    after = [f for i, f in same if i >= pos]  # >=: a phrase naming a finding and its kind
    if after:
        return after[0]
    before = [f for i, c, f in finding_at if i < pos]
    return before[-1] if before else None


def _attach(finding: dict[str, object], name: str, value: object, text: str) -> None:
    if name == "modifier":
        mods = finding["modifiers"]
        assert isinstance(mods, list)
        if value not in mods:
            mods.append(value)
        return
    if name == "location":
        loc, _, implied = str(value).partition(":")
        if implied:
            _set_attr(finding, "laterality", implied, text)
        _set_attr(finding, "location", loc, text)
        return
    _set_attr(finding, name, value, text)


def _set_attr(finding: dict[str, object], name: str, value: object, text: str) -> None:
    old = finding.get(name)
    if old is not None and old != value:
        raise PromptError(
            f"{finding['_text']!s} is described as both {_say(old)} and {_say(value)} "
            f"({text!r}); pick one."
        )
    finding[name] = value


def _say(value: object) -> str:
    return str(value).replace("_", " ")


def _unknown_words(lexed: Lexed) -> list[str]:
    words: list[str] = []
    for i in lexed.unknown:
        w = lexed.tokens[i].orig
        if w not in words:
            words.append(w)
    return words


# ---------------------------------------------------------------------------- assembly


def _one(facts: Facts, name: str) -> tuple[object, str] | None:
    """The single value the text gives for a global field; two different ones is an error."""
    found = facts.globals.get(name, [])
    values = list(dict.fromkeys(v for v, _ in found))
    if len(values) > 1:
        if name == "region":
            return found[0]  # the first region named is the subject; others stay as words
        words = " and ".join(repr(t) for _, t in found)
        options = ", ".join(_say(v) for v in values)
        raise PromptError(
            f"The prompt names more than one {name.replace('_', ' ')}: {words}. "
            f"Pick one, or ask for several with braces: {{{options}}}."
        )
    return found[0] if found else None


def _merge(name: str, flag_value: object | None, text_value: tuple[object, str] | None,
           flag: str) -> object | None:
    if flag_value is not None and text_value is not None and flag_value != text_value[0]:
        raise PromptError(
            f"The text says {text_value[1]!r} ({_say(text_value[0])}) but --{flag} says "
            f"{_say(flag_value)}. Remove one of them."
        )
    if flag_value is not None:
        return flag_value
    return text_value[0] if text_value else None


def _age_group(age: float) -> str:
    for limit, group in ((28 / 365, "neonate"), (2, "infant"), (13, "child"),
                         (18, "adolescent"), (65, "adult")):
        if age < limit:
            return group
    return "elderly"


def _parse_single(text: str, original: str) -> tuple[CaseSpec, int]:
    free, flags = split_flags(text)
    facts = read_text(free)
    fv = flags.values
    update: dict[str, object] = {}

    chosen = {
        "modality": _choose("modality", fv["modality"], vocab.MODALITIES)
        if "modality" in fv else None,
        "region": _choose("region", fv["region"], vocab.REGIONS) if "region" in fv else None,
        "view": _choose("view", fv["view"], vocab.VIEWS) if "view" in fv else None,
        "plane": _choose("plane", fv["plane"], vocab.PLANES) if "plane" in fv else None,
        "sequence": _choose("seq", fv["seq"], vocab.SEQUENCES) if "seq" in fv else None,
        "stain": _choose("stain", fv["stain"], vocab.STAINS) if "stain" in fv else None,
    }
    flag_names = {"sequence": "seq"}
    for name, flag_value in chosen.items():
        update[name] = _merge(name, flag_value, _one(facts, name), flag_names.get(name, name))

    for name in ("magnification", "antibody"):  # histology, from the text only
        got = _one(facts, name)
        update[name] = got[0] if got else None
    if update["magnification"] is not None:
        update["magnification"] = int(str(update["magnification"]).lstrip("x"))
    _read_window(fv.get("window"), facts, update)
    _read_level(fv.get("level"), facts, update)
    _read_scan(fv, facts, update)
    _read_demographics(fv, facts, update)
    update["findings"] = _findings(facts)
    update["exclude"] = tuple(_exclusions(flags.no))
    _read_output_flags(fv, update)
    repeat = _int_flag("repeat", fv["repeat"], 1, MAX_SPECS) if "repeat" in fv else 1

    _infer(update)
    _orphans(facts, update)
    _check(update)
    _defaults(update)
    extra = update.pop("_unparsed_extra", [])
    update["unparsed"] = tuple(dict.fromkeys([*facts.unparsed, *extra]))  # type: ignore[misc]
    update["prompt"] = original
    try:
        spec = CaseSpec(**update)  # type: ignore[arg-type]
    except ValidationError as exc:  # bounds the grammar cannot see, e.g. size_mm > 500
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PromptError(f"{where}: {first['msg']}.") from None
    return spec, repeat


def _read_window(flag: str | None, facts: Facts, update: dict[str, object]) -> None:
    text = _one(facts, "window")
    if flag is not None:
        m = re.fullmatch(r"(-?\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)", flag)
        if m:
            update["window_center"], update["window_width"] = float(m[1]), float(m[2])
            if float(m[2]) <= 0:
                raise PromptError("--window width must be positive, as in --window 40/400.")
            update["window"] = "custom"
            if text is not None:
                raise PromptError(f"The text says {text[1]!r} but --window says {flag}.")
            return
        flag = _choose("window", flag, vocab.WINDOWS)
    update["window"] = _merge("window", flag, text, "window")


def _read_scan(fv: dict[str, str], facts: Facts, update: dict[str, object]) -> None:
    """Ultrasound machine settings from flags and text (prompt/scan.py)."""
    got: dict[str, float] = {}
    for s in scan.SETTINGS:
        flag = scan.read_value(s, fv[s.flag], f"--{s.flag}") if s.flag in fv else None
        said = facts.globals.get(f"{scan.FACT_PREFIX}{s.field}", [])
        if any(v == 0 for v, _ in said) and (flag is not None or any(v != 0 for v, _ in said)):
            said[:] = [(v, t) for v, t in said if v != 0]  # "cine, 16 frames": one clip
        text = _one(facts, f"{scan.FACT_PREFIX}{s.field}")
        if text is not None:
            text = (scan.read_value(s, str(text[0]), repr(text[1])), text[1])
        value = _merge(s.field, flag, text, s.flag)
        if value is not None:
            got[s.field] = float(value)  # type: ignore[arg-type]
    if "frames" in got:
        got["frames"] = int(got["frames"])
    update["us"] = UltrasoundSettings(**got) if got else None


def _read_level(flag: str | None, facts: Facts, update: dict[str, object]) -> None:
    level: str | None = None
    if flag is not None:
        norm = " ".join(t.norm for t in tokenize(flag))
        if re.fullmatch(r"(c[1-7]|t(?:[1-9]|1[0-2])|l[1-5]|s1)", norm):
            level = norm
        else:
            level = _choose("level", flag, vocab.LEVELS)
    text = _one(facts, "level")
    update["level"] = _merge("level", level, text, "level")
    if flag is None and text is not None:
        update["_level_text"] = text[1]


def _read_demographics(fv: dict[str, str], facts: Facts, update: dict[str, object]) -> None:
    age: float | None = None
    if "age" in fv:
        value = fv["age"]
        if re.fullmatch(r"\d+", value):
            age = _int_flag("age", value, 0, 120)
        else:
            update["age_group"] = _choose("age", value, vocab.AGE_GROUPS)
    text_age = _one(facts, "age")
    if text_age is not None:
        text_years = float(text_age[0])  # type: ignore[arg-type]
        if age is not None and int(text_years) != age:
            raise PromptError(f"The text says {text_age[1]!r} but --age says {age}.")
        age = text_years
    if age is not None and not 0 <= age <= 120:
        raise PromptError(f"Age must be from 0 to 120 years; got {age:g}.")
    group = _merge("age_group", update.get("age_group"), _one(facts, "age_group"), "age")
    if age is not None:
        derived = _age_group(age)
        if group is not None and group != derived:
            raise PromptError(f"Age {age:g} is not {_say(group)}; remove one of them.")
        group = derived
        update["age"] = int(age)
    update["age_group"] = group
    sex = _choose("sex", fv["sex"], {**vocab.SEXES, "male": ["m", *vocab.SEXES["male"]],
                                      "female": ["f", *vocab.SEXES["female"]]}) \
        if "sex" in fv else None
    update["sex"] = _merge("sex", sex, _one(facts, "sex"), "sex")


def _findings(facts: Facts) -> list[dict[str, object]]:
    """Merge repeats of one finding ("consolidation ... suggestive of lobar pneumonia")."""
    merged: list[dict[str, object]] = []
    for f in facts.findings:
        twin = next((g for g in merged if g["name"] == f["name"]
                     and _compatible(g, f)), None)
        if twin is None:
            merged.append(f)
            continue
        for key, value in f.items():
            if key == "modifiers":
                twin["modifiers"] = list(dict.fromkeys([*twin["modifiers"], *value]))  # type: ignore[misc]
            elif key != "_text" and value is not None:
                twin.setdefault(key, value)
    return merged


def _compatible(a: dict[str, object], b: dict[str, object]) -> bool:
    return all(a.get(k) is None or b.get(k) is None or a.get(k) == b.get(k)
               for k in ("laterality", "location", "severity", "extent", "size_mm"))


def _exclusions(terms: Iterable[str]) -> list[str]:
    from imagine_med.prompt.lexer import lex as lex_

    out: list[str] = []
    for term in terms:
        lexed = lex_(term)
        names = [str(v) for m in lexed.matches for k, v in m.facts if k == "finding"]
        canon = names[0] if names else " ".join(t.norm for t in tokenize(term))
        if canon in ("device", "lines", "tubes", "line", "tube", "hardware"):
            canon = "devices"
        if canon and canon not in out:
            out.append(canon)
    return out


def _read_output_flags(fv: dict[str, str], update: dict[str, object]) -> None:
    if "seed" in fv:
        update["seed"] = _int_flag("seed", fv["seed"], 0, SEED_MAX)
    if "engine" in fv:
        update["engine"] = _choose("engine", fv["engine"],
                                   {"phantom": ["physics", "embedded"],
                                    "diffusion": ["sd", "stable diffusion"]})
    if "steps" in fv:
        update["steps"] = _int_flag("steps", fv["steps"], 1, 150)
    width, height = DEFAULT_SIZE, DEFAULT_SIZE
    if "size" in fv:
        m = re.fullmatch(r"(\d+)(?:[x×*](\d+))?", fv["size"].lower())
        if not m:
            raise PromptError(f"--size takes pixels, as in --size 768 or --size 512x768; "
                              f"not {fv['size']!r}.")
        width = int(m[1])
        height = int(m[2]) if m[2] else width
        for v in (width, height):
            if not 64 <= v <= 2048:
                raise PromptError(f"--size must be from 64 to 2048 pixels; got {v}.")
        if m[2] and "ar" in fv:
            raise PromptError("--size WxH already fixes the shape; drop --ar or give one size.")
    if "ar" in fv:
        m = re.fullmatch(r"(\d+)[:/x](\d+)", fv["ar"])
        if not m or int(m[1]) == 0 or int(m[2]) == 0:
            raise PromptError(f"--ar takes width:height, as in --ar 3:4; not {fv['ar']!r}.")
        aw, ah = int(m[1]), int(m[2])
        if not 0.25 <= aw / ah <= 4:
            raise PromptError(f"--ar {aw}:{ah} is too extreme; allowed from 1:4 to 4:1.")
        long_side = max(width, height)
        if aw >= ah:
            width, height = long_side, max(64, round(long_side * ah / aw / 8) * 8)
        else:
            width, height = max(64, round(long_side * aw / ah / 8) * 8), long_side
    update["width"], update["height"] = width, height


def _infer(update: dict[str, object]) -> None:
    """Fill modality and region from whatever the prompt did say."""
    modality, region = update.get("modality"), update.get("region")
    findings = update["findings"]
    assert isinstance(findings, list)
    site = vocab.SKIN_SITE_OF_REGION.get(str(region))
    if site and findings and modality in (None, "derm") and all(
            "skin" in vocab.FINDINGS[str(f["name"])][0] for f in findings):
        # "psoriasis on the elbows": a skin finding's body site, not an elbow film
        for f in findings:
            f["location"] = f.get("location") or site
        region = "skin"
    if region is None and findings:
        region = vocab.FINDINGS[str(findings[0]["name"])][0][0]
    if modality is None:
        for name, implied in vocab.FIELD_DEFAULT_MODALITY.items():
            if update.get(name) is not None:
                modality = implied
                break
    if modality is None and region is not None:
        modality = vocab.REGION_DEFAULT_MODALITY.get(str(region))
    if modality is None:
        raise PromptError(
            "Which kind of image? Name a modality (x-ray, CT, MRI, ultrasound, histology, "
            f"dermatoscopy, fundus) or use --modality; {EXAMPLE}."
        )
    if region is None:
        region = vocab.MODALITY_DEFAULT_REGION.get(str(modality))
    if region is not None:
        table = vocab.HISTO_REGION if modality == "histo" else vocab.IMAGING_REGION
        region = table.get(str(region), region)
    update["modality"], update["region"] = modality, region
    for f in findings:
        alternative = vocab.FINDING_IN_REGION.get(
            (str(f["name"]), f"{modality}:{region}"),
            vocab.FINDING_IN_REGION.get((str(f["name"]), str(region))))
        if alternative:
            f["name"] = alternative


def _orphans(facts: Facts, update: dict[str, object]) -> None:
    """Side, location or severity words with no finding to belong to."""
    for name, value, text in facts.orphans:
        if name == "laterality" and update.get("laterality") in (None, value):
            update["laterality"] = value
        elif name == "location" and ":" in str(value) and update.get("laterality") is None:
            update["laterality"] = str(value).split(":")[1]
            facts.unparsed.append(text)
        elif name == "modifier" and value in vocab.RENDER_OPTIONS:
            continue  # an artefact option: the renderer reads it from the prompt's words
        else:
            facts.unparsed.append(text)


def _check_deformity(findings: list) -> None:
    """A requested angle or length the fracture models cannot build is refused here, before
    anything is queued (vocab.DEFORMITY_RANGES)."""
    for f in findings:
        named = next((m for m in f["modifiers"] if m in vocab.DEFORMITY_LIMITS), None)
        for mod in f["modifiers"]:
            kind, _, value = str(mod).rpartition("_")
            if kind not in vocab.DEFORMITY_RANGES:
                continue
            lo, hi = vocab.DEFORMITY_RANGES[kind]
            if named is not None:
                takes = vocab.DEFORMITY_LIMITS[named]
                if kind not in takes:
                    what = kind.rsplit("_", 1)[0]
                    raise PromptError(f"A {vocab.DEFORMITY_NAMES[named]} fracture's {what} "
                                      f"cannot be set; it takes "
                                      f"{', '.join(k.rsplit('_', 1)[0] for k in takes)}.")
                lo, hi = takes[kind]
            if not lo <= float(value) <= hi:
                what, unit = kind.rsplit("_", 1)
                unit = "degrees" if unit == "deg" else unit
                model = f"a {vocab.DEFORMITY_NAMES[named]} fracture is" if named \
                    else "the fracture models are"
                raise PromptError(f"Requested {what} of {value} {unit} is out of range: "
                                  f"{model} built with {lo:g}-{hi:g} {unit}.")


def _check(update: dict[str, object]) -> None:
    """Combinations that make no sense are errors naming both sides."""
    modality = str(update["modality"])
    level_text = update.pop("_level_text", None)
    for name, allowed in vocab.FIELD_MODALITIES.items():
        value = update.get(name)
        if value is None or modality in allowed:
            continue
        if name == "level" and level_text is not None:
            _level_as_place(update, str(level_text))
            continue
        label = {"sequence": "MRI sequence", "stain": "stain", "window": "CT window",
                 "plane": "slice plane", "view": "radiograph view", "level": "slice level",
                 "us": "scanner setting"}
        said = scan.describe(value) if name == "us" else _say(value)
        raise PromptError(
            f"A {label[name]} ({said}) does not apply to {_modality_name(modality)}; "
            f"it needs {' or '.join(_modality_name(m) for m in sorted(allowed))}."
        )
    region = update.get("region")
    if region is not None:
        allowed_m = vocab.REGION_MODALITIES.get(str(region))
        if allowed_m is not None and modality not in allowed_m:
            raise PromptError(
                f"{_modality_name(modality)} does not image the {_say(region)}; "
                f"try {', '.join(_modality_name(m) for m in sorted(allowed_m))}."
            )
    view = update.get("view")
    if view in vocab.VIEW_REGIONS and region not in vocab.VIEW_REGIONS[str(view)]:
        raise PromptError(f"A {view} view is for {', '.join(vocab.VIEW_REGIONS[str(view)])}, "
                          f"not the {_say(region)}.")
    findings = update["findings"]
    assert isinstance(findings, list)
    _check_deformity(findings)
    imaging_region = vocab.IMAGING_REGION.get(str(region), str(region))
    for f in findings:
        homes = vocab.FINDINGS.get(str(f["name"]), ((), []))[0]
        if region is not None and homes and region not in homes and imaging_region not in homes:
            raise PromptError(
                f"{f['_text']!s} is a finding of the {' / '.join(_say(h) for h in homes)}, "
                f"but the prompt asks for the {_say(region)}."
            )
    excluded = set(update["exclude"])  # type: ignore[arg-type]
    for f in findings:
        if f["name"] in excluded:
            raise PromptError(
                f"The prompt asks for {f['_text']!s} and also --no {_say(f['name'])}."
            )
    if update.get("steps") is not None and update.get("engine", "phantom") != "diffusion":
        raise PromptError("--steps applies to the diffusion engine; add --engine diffusion "
                          "or drop --steps.")


def _level_as_place(update: dict[str, object], text: str) -> None:
    """On a projection image "at the lung bases" places the findings; it selects no slice."""
    place = vocab.LEVEL_AS_LOCATION.get(str(update["level"]))
    update["level"] = None
    findings = update["findings"]
    assert isinstance(findings, list)
    unplaced = [f for f in findings if f.get("location") is None]
    if place is None or not unplaced:
        unparsed = update.setdefault("_unparsed_extra", [])
        assert isinstance(unparsed, list)
        unparsed.append(text)
        return
    for f in unplaced:
        f["location"] = place


def _modality_name(modality: str) -> str:
    return {"xray": "X-ray", "ct": "CT", "mri": "MRI", "us": "ultrasound",
            "histo": "histology", "derm": "dermatoscopy", "fundus": "fundus photography"
            }.get(modality, modality)


def _defaults(update: dict[str, object]) -> None:
    """Complete the spec so every engine sees the same explicit request."""
    modality, region = update["modality"], update.get("region")
    if modality == "xray" and update.get("view") is None:
        update["view"] = vocab.DEFAULT_VIEW.get(str(region), vocab.DEFAULT_XRAY_VIEW)
    if modality == "xray":  # "supine"/"erect" mean AP/PA on a chest, their own views elsewhere
        update["view"] = vocab.region_view(update["view"], region)
    if modality in ("ct", "mri") and update.get("plane") is None:
        update["plane"] = vocab.DEFAULT_PLANE
    if modality == "mri" and update.get("sequence") is None:
        update["sequence"] = vocab.DEFAULT_SEQUENCE
    if modality == "histo" and update.get("stain") is None:
        update["stain"] = "ihc" if update.get("antibody") else vocab.DEFAULT_STAIN
    # No window asked for: the engine picks one that shows the findings (mediastinal for an
    # effusion, bone for a fracture), so only a named preset is filled in here.
    if modality == "ct" and update.get("window") not in (None, "custom"):
        c, w = vocab.WINDOW_PRESETS[str(update["window"])]
        update["window_center"], update["window_width"] = float(c), float(w)
    findings = update["findings"]
    assert isinstance(findings, list)
    built = []
    for f in findings:
        lat, loc = f.get("laterality"), f.get("location")
        if lat is not None and loc is not None:
            loc = vocab.LOCATION_COMBINE.get((str(lat), str(loc)), loc)
        built.append(Finding(
            name=str(f["name"]), laterality=lat, location=loc,  # type: ignore[arg-type]
            severity=f.get("severity"), extent=f.get("extent"),  # type: ignore[arg-type]
            size_mm=f.get("size_mm"), modifiers=tuple(f["modifiers"]),  # type: ignore[arg-type]
        ))
    update["findings"] = tuple(built)
