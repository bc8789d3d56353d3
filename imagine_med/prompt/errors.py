"""The single exception type of the prompt language."""

from __future__ import annotations

from imagine_med.errors import UserError


class PromptError(UserError, ValueError):
    """A prompt that cannot be turned into a spec. `message` is written for the user: it says
    what was wrong, what is allowed and, where it can, what they probably meant."""
