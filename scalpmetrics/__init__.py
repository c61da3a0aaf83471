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
#: Version of the JSON records (analysis, comparison, batch tables): 1.1 added
#: the ``long_hair`` flag and its figure ``shaft_length_mm``; 1.2 the comparison's
#: ``detection_recall`` (percentage changes corrected for each detector's recall);
#: 1.3 ``provenance.tracing`` (long hair traced on its joined cores); 1.4
#: ``provenance.device_graphics`` (a device's blank band and scale-bar lines left out);
#: 1.5 its ``text_px`` (labels a device writes in colour, left out); 1.6
#: ``provenance.machine`` and ``provenance.opencv_cpu_features`` (the processor).
SCHEMA_VERSION = "1.6"

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> module that defines it; imported on first use so that
#: ``import scalpmetrics`` (and ``scalpmetrics --help``) stays fast.
_LAZY = {
    "analyze": "scalpmetrics.analysis",
    "BatchProgress": "scalpmetrics.batch",
    "BatchSummary": "scalpmetrics.batch",
    "run_batch": "scalpmetrics.batch",
    "resolve_calibration": "scalpmetrics.calibration",
    "ChartDetection": "scalpmetrics.colorchart",
    "correct_colors": "scalpmetrics.colorchart",
    "find_color_chart": "scalpmetrics.colorchart",
    "Comparison": "scalpmetrics.compare",
    "VisitChange": "scalpmetrics.compare",
    "compare_analyses": "scalpmetrics.compare",
    "compare_visits": "scalpmetrics.compare",
    "GlobalAnalysis": "scalpmetrics.globalview",
    "GlobalComparison": "scalpmetrics.globalview",
    "analyze_global": "scalpmetrics.globalview",
    "compare_global": "scalpmetrics.globalview",
    "load_photo": "scalpmetrics.io",
    "photo_from_array": "scalpmetrics.io",
    "read_label_image": "scalpmetrics.io",
    "InputProblem": "scalpmetrics.manifest",
    "Manifest": "scalpmetrics.manifest",
    "load_inputs": "scalpmetrics.manifest",
    "validate_inputs": "scalpmetrics.manifest",
    "MarkerDetection": "scalpmetrics.marker",
    "MarkerSearch": "scalpmetrics.marker",
    "MarkerSpec": "scalpmetrics.marker",
    "find_marker": "scalpmetrics.marker",
    "parse_marker_spec": "scalpmetrics.marker",
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
    from scalpmetrics.batch import BatchProgress, BatchSummary, run_batch
    from scalpmetrics.calibration import resolve_calibration
    from scalpmetrics.colorchart import ChartDetection, correct_colors, find_color_chart
    from scalpmetrics.compare import Comparison, VisitChange, compare_analyses, compare_visits
    from scalpmetrics.globalview import (
        GlobalAnalysis,
        GlobalComparison,
        analyze_global,
        compare_global,
    )
    from scalpmetrics.io import load_photo, photo_from_array, read_label_image
    from scalpmetrics.manifest import InputProblem, Manifest, load_inputs, validate_inputs
    from scalpmetrics.marker import (
        MarkerDetection,
        MarkerSearch,
        MarkerSpec,
        find_marker,
        parse_marker_spec,
    )
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


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "SCHEMA_VERSION",
    "Analysis",
    "BatchProgress",
    "BatchSummary",
    "Calibration",
    "ChartDetection",
    "Comparison",
    "GlobalAnalysis",
    "GlobalComparison",
    "Hair",
    "InputProblem",
    "Manifest",
    "MarkerDetection",
    "MarkerSearch",
    "MarkerSpec",
    "Params",
    "Photo",
    "PhotoMetadata",
    "QualityFlag",
    "Region",
    "RegionMetrics",
    "VisitChange",
    "__version__",
    "analyze",
    "analyze_global",
    "compare_analyses",
    "compare_global",
    "compare_visits",
    "correct_colors",
    "errors",
    "find_color_chart",
    "find_marker",
    "load_inputs",
    "load_photo",
    "parse_marker_spec",
    "photo_from_array",
    "read_label_image",
    "resolve_calibration",
    "run_batch",
    "synthetic",
    "validate_inputs",
]
