"""The one base of every error whose text is meant for the person who caused it.

Adapters and the CLI show `message` as it is (privately, on chat platforms); any other
exception is a bug, logged with its traceback and never shown in a channel.
"""

from __future__ import annotations


class UserError(Exception):
    """An error with a user-facing `message`: what was wrong and what is allowed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
