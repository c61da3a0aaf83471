"""Per-subject change tables: each spot's change from its baseline visit to every later one."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from scalpmetrics.batch.rows import STATUS_ERROR, STATUS_OK
from scalpmetrics.manifest import ManifestRow, natural_sort_key

# Per-subject change table.
SUBJECT_COLUMN = "subject"
VISIT_COLUMN = "visit"
DATE_COLUMN = "date"
#: Manifest columns that name the photographed spot; photos of one subject are
#: compared across visits only within the same spot.
SPOT_COLUMNS = ("view", "site", "region")
#: Per-photo figure -> (its change, its change in percent), named as in
#: :class:`scalpmetrics.compare.VisitChange`. Coverage changes in percentage points.
CHANGE_METRICS: dict[str, tuple[str, str | None]] = {
    "hair_count": ("hair_count_change", "hair_count_change_pct"),
    "density_per_cm2": ("density_change_per_cm2", "density_change_pct"),
    "coverage_fraction": ("coverage_change_points", None),
}
PERCENT = 100.0
#: How the change table is computed (a column of it): differences of the
#: per-photo figures, averaged over the photos of a visit.
CHANGE_METHOD = "table_difference"


def change_table_columns(names: Mapping[str, str]) -> tuple[list[str], dict[str, type]]:
    """Columns and types of the change table for a manifest with these table names."""
    kinds: dict[str, type] = {names[SUBJECT_COLUMN]: str}
    kinds.update({names[c]: str for c in SPOT_COLUMNS if c in names})
    kinds.update({
        "region": str, "baseline_visit": str, "visit": str, "baseline_date": str,
        "date": str, "days_since_baseline": int, "ordered_by": str,
        "baseline_photos": int, "photos": int, "status": str, "error": str,
    })
    for metric, (change, pct) in CHANGE_METRICS.items():
        kinds.update({f"{metric}_baseline": float, metric: float, change: float})
        if pct is not None:
            kinds[pct] = float
    kinds["change_method"] = str
    return list(kinds), kinds


def _visit_date(text: str | None) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(text.strip()).date() if text else None
    except ValueError:
        return None


def visit_changes(
    photos: Sequence[tuple[ManifestRow, list[dict[str, Any]]]], *, names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Change of each photographed spot from its baseline visit to every later visit.

    Photos are grouped by ``subject`` and the spot columns (``view``, ``site``,
    ``region``, when the manifest has them); within a group the baseline is
    the first visit by ``date`` (ISO 8601) when every visit has one, else the
    first in natural order of the ``visit`` labels. A visit's figure for a
    region is the mean over its successfully scored photos; the change is
    follow-up minus baseline, in percent of the baseline too (``_pct``);
    coverage changes in percentage points; column names follow
    :class:`scalpmetrics.compare.VisitChange`. A side without a scored photo
    makes the row's ``status`` ``'error'``. Rows with an empty subject or
    visit are left out.

    Returns
    -------
    list of dict
        One row per (group, region, later visit), groups in manifest order.
    """
    groups: dict[tuple[str, ...], dict[str, list[tuple[ManifestRow, list[dict[str, Any]]]]]] = {}
    spot_columns = [c for c in SPOT_COLUMNS if c in names]
    for row, rows in photos:
        subject, visit = row.values[SUBJECT_COLUMN], row.values[VISIT_COLUMN]
        if subject.strip() and visit.strip():
            group = (subject, *(row.values[c] for c in spot_columns))
            groups.setdefault(group, {}).setdefault(visit, []).append((row, rows))
    out = []
    for group, visits in groups.items():
        dates = {
            visit: min((d for d in (_visit_date(r.values.get(DATE_COLUMN)) for r, _ in shots)
                        if d is not None), default=None)
            for visit, shots in visits.items()
        }
        by_date = all(d is not None for d in dates.values())
        order = sorted(visits, key=lambda v: ((dates[v], natural_sort_key(v)) if by_date
                                              else natural_sort_key(v)))
        regions = list(dict.fromkeys(
            r["region"] for shots in visits.values() for _, rows in shots for r in rows
            if r["status"] == STATUS_OK
        )) or [None]
        baseline = order[0]
        for visit in order[1:]:
            for region in regions:
                change: dict[str, Any] = {names[SUBJECT_COLUMN]: group[0],
                    **{names[c]: v for c, v in zip(spot_columns, group[1:], strict=True)}}
                change.update(_change(visits[baseline], visits[visit], region))
                change.update(
                    baseline_visit=baseline, visit=visit,
                    baseline_date=_iso(dates[baseline]), date=_iso(dates[visit]),
                    days_since_baseline=_days(dates[baseline], dates[visit]),
                    ordered_by="date" if by_date else "visit",
                    change_method=CHANGE_METHOD,
                )
                out.append(change)
    return out


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _days(start: dt.date | None, end: dt.date | None) -> int | None:
    return None if start is None or end is None else (end - start).days


def _change(
    baseline: list[tuple[ManifestRow, list[dict[str, Any]]]],
    follow_up: list[tuple[ManifestRow, list[dict[str, Any]]]],
    region: str | None,
) -> dict[str, Any]:
    """Status, photo counts and the change of each metric for one region."""

    def scored(shots: list[tuple[ManifestRow, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
        return [r for _, rows in shots for r in rows
                if r["status"] == STATUS_OK and r["region"] == region]

    before, after = scored(baseline), scored(follow_up)
    out: dict[str, Any] = {"region": region, "baseline_photos": len(before),
                           "photos": len(after), "status": STATUS_OK, "error": None}
    if not before or not after:
        side = "baseline visit" if not before else "visit"
        out.update(status=STATUS_ERROR, error=f"the {side} has no successfully scored photo")
    for metric, (change_column, pct_column) in CHANGE_METRICS.items():
        b, a = _mean(before, metric), _mean(after, metric)
        change = None if a is None or b is None else a - b
        out.update({f"{metric}_baseline": b, metric: a})
        if pct_column is None:  # a fraction: its change in percentage points
            out[change_column] = None if change is None else PERCENT * change
        else:
            out[change_column] = change
            out[pct_column] = None if change is None or not b else PERCENT * change / b
    return out


def _mean(rows: list[dict[str, Any]], metric: str) -> float | None:
    """Mean over the rows; ``None`` when there are none or any value is missing."""
    values = [r[metric] for r in rows]
    if not values or any(v is None for v in values):
        return None
    return statistics.fmean(values)
