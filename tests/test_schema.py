"""The JSON schemas of docs/schema: valid schemas, in step with the records the code writes.

Real outputs are validated where they are made (``test_cli.py`` for ``analyze --json``,
``test_compare.py`` for ``compare --json``); these tests tie the schemas' name lists to
the code's, so that a new figure or flag cannot be added to one and not the other.
"""

import dataclasses
import json

import jsonschema
import pytest
from conftest import SCHEMA_DIR

from scalpmetrics.compare import CHANGE_METRICS, TREND_METRICS, AreaMetrics, VisitChange
from scalpmetrics.quality import FLAGS
from scalpmetrics.register import Registration
from scalpmetrics.types import Hair, RegionMetrics


def load(name):
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def fields(cls):
    return {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("name", ["analysis", "compare"])
def test_schema_is_a_valid_draft_2020_12_schema(name):
    schema = load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_analysis_schema_names_every_flag_and_region_figure():
    defs = load("analysis")["$defs"]
    assert set(defs["flag"]["properties"]["name"]["enum"]) == set(FLAGS)
    assert set(defs["region"]["required"]) == fields(RegionMetrics)
    assert set(defs["region"]["properties"]) == fields(RegionMetrics)
    assert set(defs["hair"]["required"]) == set(defs["hair"]["properties"])
    assert {"hair_id", "counted", "unit_id"} <= fields(Hair)


def test_compare_schema_names_every_change_figure():
    defs = load("compare")["$defs"]
    assert set(defs["change"]["required"]) == fields(VisitChange)
    assert set(defs["change"]["properties"]) == fields(VisitChange)
    assert set(defs["area_metrics"]["required"]) == fields(AreaMetrics)
    assert set(defs["registration"]["required"]) == fields(Registration) | {"visit", "image_path"}
    assert set(defs["per_change_metric"]["required"]) == set(CHANGE_METRICS)
    assert set(defs["per_change_metric"]["propertyNames"]["enum"]) == set(CHANGE_METRICS)
    assert set(defs["trend_metric"]["enum"]) == set(TREND_METRICS)
