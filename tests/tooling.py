"""Tests that need an outside tool skip where it is missing, except in CI.

`.ci/run` sets IMAGINE_MED_REQUIRE_TOOLS=1 after installing the tools, so there a missing tool
fails its tests instead of silently skipping them: a green CI means they ran.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest


def need(available: bool, what: str) -> None:
    if available:
        return
    if os.environ.get("IMAGINE_MED_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{what} is missing, and IMAGINE_MED_REQUIRE_TOOLS=1 says it must be here")
    pytest.skip(f"{what} is not installed")


def need_program(name: str, package: str) -> str:
    path = shutil.which(name)
    need(path is not None, f"{name} ({package})")
    return str(path)


def need_module(name: str, package: str) -> None:
    need(importlib.util.find_spec(name) is not None, f"the {name} module ({package})")
