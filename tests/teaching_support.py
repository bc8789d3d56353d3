"""A tiny case set rendered once per test session, shared by the teaching tests (case set,
exports, PACS): four findings, two cases each, two normals, 256 px films."""

from __future__ import annotations

from pathlib import Path

import pytest

FINDINGS = ("right pneumothorax", "RLL consolidation", "left pleural effusion", "LUL mass")
PER_FINDING = 2
NORMAL = 0.2  # of 8 abnormal: round(8 * 0.2 / 0.8) = 2 normals
SIZE = 256
SEED = 7


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from imagine_med.teaching.caseset import build_caseset
    from imagine_med.teaching.plan import CaseSetRequest

    out = tmp_path_factory.mktemp("caseset")
    build_caseset(CaseSetRequest("PA chest x-ray", FINDINGS, PER_FINDING, NORMAL, SEED, SIZE),
                  out)
    return out
