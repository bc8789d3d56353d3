"""`/imagine-med-help`, generated from the prompt vocabulary and the renderer registry, so it
never lists something the parser or the engines do not know."""

from __future__ import annotations

from imagine_med.engine.registry import describe_available
from imagine_med.prompt import vocab

FLAG_HELP: dict[str, str] = {
    "modality": "xray | ct | mri | us | histo | derm | fundus",
    "view": "x-ray view, e.g. pa, ap, lateral",
    "plane": "axial | coronal | sagittal",
    "seq": "MRI sequence, e.g. t1, t2, flair, dwi",
    "stain": "histology stain: he, pas, ihc",
    "window": "CT window, e.g. lung, mediastinal, bone",
    "level": "anatomical level, e.g. carina",
    "age": "years, e.g. 67",
    "sex": "male | female",
    "seed": "number; the same seed gives the same anatomy",
    "ar": "aspect ratio, e.g. 4:3",
    "size": "pixels, e.g. 768",
    "no": "something to leave out, e.g. --no devices",
    "engine": "phantom (physics, default) or diffusion",
    "steps": "diffusion steps",
    "repeat": "render the prompt N times",
    "region": "body region, e.g. chest",
}




def autocomplete(field: str, typed: str, limit: int = 25) -> list[str]:
    """Choices for `field` matching what the user typed so far (also by synonym)."""
    typed = typed.strip().lower()
    table: dict[str, list[str]] = {
        "modality": vocab.MODALITIES, "view": vocab.VIEWS,
        "sequence": vocab.SEQUENCES, "stain": vocab.STAINS,
    }[field]
    hits = [
        key for key, phrases in sorted(table.items())
        if not typed or key.startswith(typed) or any(p.startswith(typed) for p in phrases)
    ]
    return hits[:limit]


def examples_text() -> str:
    """One example prompt per installed renderer (bot/examples.py), numbered as the buttons."""
    from imagine_med.bot.examples import examples

    return "\n".join(f"{i}. `{e}`" for i, e in enumerate(examples(), start=1))


def palette_names() -> str:
    from imagine_med.engine.phantom.sketch import PALETTE

    return ", ".join(e.name.replace("_", " ") for e in PALETTE)


def help_text() -> str:
    flags = "\n".join(
        f"• `--{name}` {FLAG_HELP.get(name, '')}".rstrip()
        + (f" (also --{', --'.join(aliases[1:])})" if len(aliases) > 1 else "")
        for name, aliases in vocab.FLAGS.items()
    )
    findings = sorted(vocab.FINDINGS)
    sample = ", ".join(f.replace("_", " ") for f in findings[:30])
    more = f" and {len(findings) - 30} more" if len(findings) > 30 else ""
    # what to do first, then the long reference lists (a chat message may be cut at its end)
    return (
        "**imagine-med** renders SYNTHETIC medical images for teaching. "
        "It visualizes, never diagnoses.\n\n"
        "**Usage:** `/imagine-med PA chest x-ray, right upper lobe consolidation, "
        "adult male --seed 7` (on Discord, in the `prompt` option)\n"
        "Typed options (modality, view, sequence, stain) are an alternative to flags.\n\n"
        f"**Examples** (the buttons run them):\n{examples_text()}\n\n"
        "**Images in:** attach an image to /imagine-med (Slack: add `--image` after sharing "
        "it, or its link). One of ours is refined with your prompt (same patient); a sketch "
        "in the palette (the PNG attached here; flat colours, no anti-aliasing) is rendered "
        "as the modality you ask for (chest film, CT or MRI). Real images are refused. "
        f"Palette: {palette_names()}.\n\n"
        "**Buttons:** U1-U4 upscale a variant, V1-V4 vary it (nearby anatomy), 🔄 reroll "
        "(new seeds), ✏️ Refine (edit the prompt, keep the anatomy), 🔑 Answer key (only you "
        "see it), Cancel while queued or running.\n"
        "**Other commands:** /imagine-med-show job:<id>, /imagine-med-info, "
        "/imagine-med-settings\n"
        "**Teaching:** /imagine-med-quiz (instructors: a case without its key, answered with "
        "buttons, revealed on a timer), /imagine-med-leaderboard, /imagine-med-library (save, "
        "list, search, post, edit, remove), /imagine-med-set (a balanced case set as a ZIP: "
        "`PA chest x-ray --findings pneumothorax, nodule --per-finding 20 --normal 0.2`), "
        "/imagine-med-series (the same patient again: `<job> CT of this patient`, "
        "`<job> follow-up at 6 weeks`, `<job> after treatment`)\n\n"
        f"**Flags:**\n{flags}\n\n"
        f"**Modalities:** {', '.join(sorted(vocab.MODALITIES))}\n"
        f"**Regions:** {', '.join(r.replace('_', ' ') for r in sorted(vocab.REGIONS))}\n"
        f"**Findings:** {sample}{more}\n"
        f"**Renderers installed** (also /imagine-med-info): {describe_available()}"
    )
