"""Every sentence the bot says, in one place, so both platforms word things identically.

Whatever a person typed is quoted with `said` (see markup.py), so that it is shown as typed and
never read as markup or mentions.
"""

from __future__ import annotations

from imagine_med.bot.markup import said
from imagine_med.bot.ratelimit import Rate
from imagine_med.prompt.spec import CaseSpec

DISCLAIMER = "Synthetic teaching image, not a real patient, not for diagnosis."


def interpreted(spec: CaseSpec) -> str:
    """The "interpreted as" line (plus "ignored" when words were not understood): the same
    text on every platform for the same prompt."""
    lines = [f"interpreted as: {spec.describe()}"]
    if spec.unparsed:
        lines.append("ignored: " + said(", ".join(spec.unparsed)))
    return "\n".join(lines)


def queued(position: int | None, what: str = "") -> str:
    lead = f"{what} — " if what else ""
    if position is None or position <= 0:
        return f"{lead}Queued, starting now…"
    return f"{lead}Queued (#{position} in line)"


def progress(fraction: float, stage: str, what: str = "") -> str:
    lead = f"{what} — " if what else ""
    pct = max(0, min(99, round(fraction * 100)))
    bar = "▰" * (pct // 10) + "▱" * (10 - pct // 10)
    stage_txt = f" ({stage})" if stage else ""
    return f"{lead}Rendering {bar} {pct}%{stage_txt}"


def cancelled(by_owner: bool) -> str:
    return "Cancelled." if by_owner else "Cancelled by a moderator."


CANCELLING = "Cancelling… (a running job stops at its next step)"


def failed() -> str:
    return "This job failed:"


NO_REASON = "the renderer stopped without saying why"


def unreadable(message: str) -> str:
    """A PromptError for the user; its message can quote what they typed."""
    return "I could not read that prompt: " + said(message)


def no_job(job_id: str) -> str:
    return "No job " + said(repr(job_id)) + ". Job ids are shown under each result."


def rate_limited(person: Rate | None, channel: Rate | None, wait: str) -> str:
    limits = [f"{r.describe()} {who}" for r, who in ((person, "per person"),
                                                      (channel, "per channel")) if r]
    return (f"Slow down: imagine-med takes at most {' and '.join(limits)}. "
            f"Try again in {wait}.")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- errors shown to the user concerned only ---------------------------------------------

NOT_ALLOWED_HERE = (
    "imagine-med is not enabled in this channel. Ask an admin to add it to the bot's "
    "channel allow-list (IMAGINE_MED_BOT_ALLOWED_CHANNELS), or use an allowed channel."
)
CANCEL_NOT_OWNER = "Only the person who started this job, or a moderator, can cancel it."
MODERATOR_ONLY = "Only moderators can review held prompts."
MODERATOR_OTHER_TEAM = (
    "That held prompt comes from another server or workspace; only its own moderators can "
    "decide on it."
)
SHOW_ELSEWHERE = (
    "Job {job} was made in another channel. Only the person who made it can show it here; "
    "anyone can show it in the channel it was made in."
)
CHANNEL_SETTINGS_MODERATOR_ONLY = (
    "Only moderators (or members who can manage the channel) can change channel defaults; "
    "set your own defaults instead (scope: user)."
)
EMPTY_PROMPT = (
    "The prompt is empty. Describe an image, e.g. "
    "`PA chest x-ray, right upper lobe consolidation`."
)
INTERNAL = (
    "Something went wrong on our side while handling that (reference {ref}). "
    "Nothing was posted; please try again."
)
QUIZ_HIDDEN = (
    "This case is in a quiz that has not been revealed yet; its key, DICOM, variations and "
    "full description come after the reveal."
)
BUTTON_UNKNOWN = (
    "That button belongs to a job this bot no longer knows about (job {job}). "
    "Start a new one with /imagine-med."
)


def held(reason: str) -> str:
    return (
        "Your prompt was held for review by a moderator"
        + (f" ({reason})" if reason else "")
        + ". You will be told here when it is approved or rejected."
    )


def blocked(reason: str) -> str:
    return f"This prompt cannot be rendered: {reason}" if reason else (
        "This prompt cannot be rendered under this server's content rules."
    )
