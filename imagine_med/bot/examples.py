"""Example prompts for /imagine-med-help, one per renderer row, drawn from the registry and the
prompt vocabulary: each names its modality and region in the vocabulary's own first words and
the first finding the vocabulary places in that region. Each is kept only if the parser reads
it back as that modality, region and finding and its renderer draws it (one 64-pixel variant,
once per process: renderers refuse findings they have no model of), else the region alone,
so help never offers a prompt that would be refused. The "try this" button runs one by its
index."""

from __future__ import annotations

import functools

from imagine_med.engine import registry
from imagine_med.engine.base import RenderRequest
from imagine_med.errors import UserError
from imagine_med.prompt import PromptError, parse, vocab

EXAMPLE_SEED = 7  # the same anatomy every time a user tries an example
CHECK_PX = 64  # the smallest image a spec allows: enough to see a renderer accept a finding


def _finding_for(region: str) -> str | None:
    for name, (regions, _phrases) in vocab.FINDINGS.items():
        if region in regions:
            return name
    return None


def _candidate(modality: str, region: str) -> tuple[str, str | None]:
    what = vocab.MODALITIES[modality][0]
    where = vocab.REGIONS.get(region, [region.replace("_", " ")])[0]
    finding = _finding_for(region)
    words = f"{where} {what}"
    if finding:
        words += ", " + vocab.FINDINGS[finding][1][0]
    return f"{words} --seed {EXAMPLE_SEED}", finding


def _reads_back(prompt: str, modality: str, region: str, finding: str | None) -> bool:
    try:
        specs = parse(prompt)
        spec = specs[0]
        registry.check(spec)
    except (PromptError, registry.Unavailable):
        return False
    named = {f.name for f in spec.findings}
    if not (len(specs) == 1 and spec.modality == modality and spec.region == region
            and (finding is None or named == {finding})):
        return False
    try:
        renderer = registry.get_renderer(spec.engine, spec.modality, spec.region)
        renderer.render(RenderRequest(spec, EXAMPLE_SEED, CHECK_PX, CHECK_PX))
    except UserError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def examples() -> tuple[str, ...]:
    """One checked prompt per (modality, region) of the phantom engine's rows, in the
    registry's order."""
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    for offer in registry.offers():
        # the phantom's rows only: a check render of a diffusion row would load its model
        # into the bot's process
        if offer.engine != "phantom" or offer.region is None or (
                offer.modality, offer.region) in seen:
            continue
        seen.add((offer.modality, offer.region))
        prompt, finding = _candidate(offer.modality, offer.region)
        if not _reads_back(prompt, offer.modality, offer.region, finding):
            prompt = prompt.split(",")[0] + f" --seed {EXAMPLE_SEED}" if finding else prompt
            if not _reads_back(prompt, offer.modality, offer.region, None):
                continue
        out.append(prompt)
    return tuple(out)
