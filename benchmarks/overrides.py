"""Parameter overrides given on a benchmark's command line as ``GROUP.NAME=VALUE``."""

from __future__ import annotations

import json
from typing import Any


def parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["segment.seed_threshold_sigma=9", ...]`` as the nested mapping
    :meth:`scalpmetrics.params.Params.from_dict` takes; each VALUE is JSON
    (``true``, ``0.5``)."""
    overrides: dict[str, dict[str, Any]] = {}
    for item in items:
        key, value = item.split("=", 1)
        group, name = key.split(".", 1)
        overrides.setdefault(group, {})[name] = json.loads(value)
    return overrides
