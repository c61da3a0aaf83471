"""Standardized global photographs (vertex, midline, frontal, temporal views).

Find the head, fit the view's zone template to it, and measure per zone how
much of the scalp hair hides (coverage), how much shows, and how much of the
zone reads as thinned; compare visits zone by zone. See ``docs/global.md``.
"""

from __future__ import annotations

from scalpmetrics.globalview.analyze import VIEW_CHOICES, analyze_global
from scalpmetrics.globalview.clinic import ClinicRegions, parse_polygon_regions
from scalpmetrics.globalview.compare import GlobalComparison, compare_global, compare_global_analyses
from scalpmetrics.globalview.coverage import ZoneMetrics
from scalpmetrics.globalview.geometry import HeadEllipse
from scalpmetrics.globalview.record import GlobalAnalysis

__all__ = [
    "VIEW_CHOICES",
    "ClinicRegions",
    "GlobalAnalysis",
    "GlobalComparison",
    "HeadEllipse",
    "ZoneMetrics",
    "analyze_global",
    "compare_global",
    "compare_global_analyses",
    "parse_polygon_regions",
]
