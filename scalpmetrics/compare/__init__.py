"""Changes between visits, with uncertainty.

:func:`compare_visits` analyses every photo (:func:`scalpmetrics.analysis.analyze`),
registers each follow-up to the baseline (:mod:`scalpmetrics.register`),
builds the *common area* (the part of the baseline, kept a margin away from
every photo's edge, that every registered photo shows), measures every visit
inside it, matches hairs between visits (:mod:`scalpmetrics.match`) and
attaches a 95 % interval and a minimal detectable change to every change.
``docs/compare.md`` describes the method and how the constants were measured.

Everything is measured in baseline coordinates: a follow-up's counting
points are mapped into the baseline; coverage is measured in the follow-up's
own pixels over the common area mapped into it; the area is the baseline's,
so a change of zoom or framing between visits cannot pass for growth or
loss. Hairs are counted on the baseline's terms (see :class:`VisitChange`),
and the percentage changes weigh each hair by its photo's estimated detector
recall for its class (:mod:`scalpmetrics.recall`). With
``CompareParams.scale_from_registration`` (the default) a follow-up's shaft
widths use the baseline scale times the registration scale, so a zoom change
does not move hairs across the vellus cut-off.
"""

from __future__ import annotations

from scalpmetrics.compare.changes import Z95
from scalpmetrics.compare.figures import CHANGE_METRICS, TREND_METRICS
from scalpmetrics.compare.dates import (
    DAYS_PER_MONTH,
    load_visits,
    parse_date,
    resolve_capture_dates,
)
from scalpmetrics.compare.pipeline import compare_analyses, compare_visits
from scalpmetrics.compare.results import (
    AreaMetrics,
    Comparison,
    MappedHairs,
    RegionChange,
    Trend,
    VisitChange,
)

__all__ = [
    "CHANGE_METRICS",
    "DAYS_PER_MONTH",
    "TREND_METRICS",
    "Z95",
    "AreaMetrics",
    "Comparison",
    "MappedHairs",
    "RegionChange",
    "Trend",
    "VisitChange",
    "compare_analyses",
    "compare_visits",
    "load_visits",
    "parse_date",
    "resolve_capture_dates",
]
