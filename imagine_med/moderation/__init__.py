"""Moderation: every prompt is screened before it is queued (allow, hold or block).

`screen` is the pure screening function; the review service, appeals, strikes and the audit log
build on it (see docs/moderation.md).
"""

from imagine_med.moderation.screen import POLICY_VERSION, ScreenContext, Verdict, screen

__all__ = ["POLICY_VERSION", "ScreenContext", "Verdict", "screen"]
