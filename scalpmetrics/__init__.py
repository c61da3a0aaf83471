"""scalpmetrics: hair density, shaft width and scalp coverage from scalp photographs."""

from __future__ import annotations

__version__ = "0.1.0"
SCHEMA_VERSION = "1.0"
