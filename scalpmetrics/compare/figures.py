"""The named change figures shared by the comparison modules."""

from __future__ import annotations

#: The change figures that carry an interval, with their unit.
CHANGE_METRICS: dict[str, str] = {
    "hair_count_change_pct": "percent",
    "density_change_pct": "percent",
    "terminal_count_change_pct": "percent",
    "cumulative_thickness_change_pct": "percent",
    "coverage_change_points": "percentage points",
}
#: Figures whose course over time is summarised as a trend per month.
TREND_METRICS = (
    "hair_count_change_pct",
    "density_change_per_cm2",
    "terminal_count_change_pct",
    "cumulative_thickness_change_pct",
    "coverage_change_points",
)
