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


@pytest.fixture(scope="session")
def compare_validator():
    """Validator of ``compare --json`` records (visits checked against the analysis schema)."""
    import json

    import jsonschema
    from referencing import Registry, Resource

    schemas = [json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
               for name in ("analysis", "compare")]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    cls = jsonschema.validators.validator_for(schemas[1])
    cls.check_schema(schemas[1])
    return cls(schemas[1], registry=registry)
