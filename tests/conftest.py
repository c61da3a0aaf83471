"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SCHEMA_DIR = REPO / "docs" / "schema"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real annotated photos beside the checkout; skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def analysis_schema() -> dict:
    import json

    return json.loads((SCHEMA_DIR / "analysis.schema.json").read_text())
