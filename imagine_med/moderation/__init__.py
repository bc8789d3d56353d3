"""Moderation: every prompt is screened before it is queued (allow, hold or block).

`screen` is the pure screening function (no I/O). `ModerationService` adds the record: cases,
moderators' review, appeals, strikes and bans, and the append-only audit log (docs/moderation.md).
The service is imported lazily so `import imagine_med.moderation` stays light.
"""

from __future__ import annotations

from typing import Any

from imagine_med.moderation.screen import POLICY_VERSION, ScreenContext, Verdict, screen

__all__ = [
    "POLICY_VERSION",
    "AlreadyDecided",
    "AppealRefused",
    "ModerationError",
    "ModerationService",
    "NotFound",
    "NotModerator",
    "ReviewItem",
    "ReviewResult",
    "ScreenContext",
    "Screening",
    "Verdict",
    "screen",
]

_LAZY = {
    "AlreadyDecided", "AppealRefused", "ModerationError", "ModerationService", "NotFound",
    "NotModerator", "ReviewItem", "ReviewResult", "Screening",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from imagine_med.moderation import service

        return getattr(service, name)
    raise AttributeError(f"module 'imagine_med.moderation' has no attribute {name!r}")
