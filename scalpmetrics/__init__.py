"""scalpmetrics: hair density, shaft width and scalp coverage from scalp photographs.

The public API. Everything else is an implementation detail and may change.

Examples
--------
>>> import scalpmetrics as sm
>>> ph = sm.synthetic.make_phantom(seed=1, width_px=320, height_px=240, px_per_mm=80.0)
>>> result = sm.analyze(sm.photo_from_array(ph.image), px_per_mm=80.0)
>>> result.whole.hair_count >= 0
True
"""

from __future__ import annotations

__version__ = "0.1.0"
#: Version of the JSON records (analysis, comparison, batch tables).
SCHEMA_VERSION = "1.0"

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> module that defines it; imported on first use so that
#: ``import scalpmetrics`` (and ``scalpmetrics --help``) stays fast.
_LAZY = {
    "analyze": "scalpmetrics.analysis",
    "resolve_calibration": "scalpmetrics.calibration",
    "load_photo": "scalpmetrics.io",
    "photo_from_array": "scalpmetrics.io",
    "read_label_image": "scalpmetrics.io",
    "Params": "scalpmetrics.params",
    "Analysis": "scalpmetrics.types",
    "Calibration": "scalpmetrics.types",
    "Hair": "scalpmetrics.types",
    "Photo": "scalpmetrics.types",
    "PhotoMetadata": "scalpmetrics.types",
    "QualityFlag": "scalpmetrics.types",
    "Region": "scalpmetrics.types",
    "RegionMetrics": "scalpmetrics.types",
}
_SUBMODULES = {"errors", "synthetic"}

if TYPE_CHECKING:
    from scalpmetrics import errors, synthetic
    from scalpmetrics.analysis import analyze
    from scalpmetrics.calibration import resolve_calibration
    from scalpmetrics.io import load_photo, photo_from_array, read_label_image
    from scalpmetrics.params import Params
    from scalpmetrics.types import (
        Analysis,
        Calibration,
        Hair,
        Photo,
        PhotoMetadata,
        QualityFlag,
        Region,
        RegionMetrics,
    )


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"scalpmetrics.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scalpmetrics' has no attribute {name!r}")


__all__ = [
    "SCHEMA_VERSION",
    "Analysis",
    "Calibration",
    "Hair",
    "Params",
    "Photo",
    "PhotoMetadata",
    "QualityFlag",
    "Region",
    "RegionMetrics",
    "__version__",
    "analyze",
    "errors",
    "load_photo",
    "photo_from_array",
    "read_label_image",
    "resolve_calibration",
    "synthetic",
]
