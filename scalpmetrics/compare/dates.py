"""Capture dates of the visits, months since the baseline and the trend per month."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence

import numpy as np

from scalpmetrics.compare.figures import TREND_METRICS
from scalpmetrics.compare.results import Trend, VisitChange
from scalpmetrics.errors import ComparisonError
from scalpmetrics.params import Params
from scalpmetrics.types import Photo

DAYS_PER_MONTH = 365.2425 / 12


def parse_date(value: str | dt.date | None, *, what: str = "date") -> dt.date | None:
    """An ISO 8601 date or date-time (or a date object) as a date; None stays None.

    Examples
    --------
    >>> parse_date("2026-03-01T09:30:00")
    datetime.date(2026, 3, 1)
    """
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    text = str(value).strip()
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        raise ComparisonError(f"{what} {text!r} is not an ISO date such as 2026-03-01") from None


def load_visits(
    photos: Sequence[Photo | str | os.PathLike[str]],
    dates: Sequence[str | dt.date | None] | None,
    *,
    params: Params = Params(),
) -> tuple[Photo, ...]:
    """Load the photos of a comparison, refusing too few photos or unusable dates first.

    Parameters
    ----------
    photos : sequence of Photo or path
        Baseline first; at least two.
    dates : sequence of (str or date or None), optional
        One per photo (see :func:`resolve_capture_dates`).
    params : Params
        Loading parameters (``params.load``).

    Returns
    -------
    tuple of Photo

    Raises
    ------
    ComparisonError
        Fewer than two photos, or unusable dates.
    ScalpmetricsError
        Any problem reading a photo.
    """
    from scalpmetrics.io import load_photo

    if len(photos) < 2:
        raise ComparisonError("compare needs a baseline photo and at least one follow-up photo")
    loaded = tuple(p if isinstance(p, Photo) else load_photo(p, params=params.load) for p in photos)
    resolve_capture_dates(loaded, dates)
    return loaded


def resolve_capture_dates(
    photos: Sequence[Photo], dates: Sequence[str | dt.date | None] | None
) -> tuple[str | None, ...]:
    """Each photo's capture date as ISO text: the given dates, else EXIF/DICOM, else None.

    Parameters
    ----------
    photos : sequence of Photo
        The visits, baseline first.
    dates : sequence of (str or date or None), optional
        One per photo; when given they override the photos' own capture times.

    Returns
    -------
    tuple of (str or None)
        ``YYYY-MM-DD`` per photo, None where unknown.

    Raises
    ------
    ComparisonError
        The wrong number of dates, or a date that is not ISO 8601.
    """
    if dates is not None:
        if len(dates) != len(photos):
            raise ComparisonError(f"{len(dates)} dates given for {len(photos)} photos")
        parsed = [parse_date(d, what=f"date {i + 1}") for i, d in enumerate(dates)]
    else:
        parsed = []
        for p in photos:
            try:
                parsed.append(parse_date(p.metadata.capture_time))
            except ComparisonError:
                parsed.append(None)
    return tuple(None if d is None else d.isoformat() for d in parsed)


def _months(dates: tuple[str | None, ...]) -> tuple[float, ...] | None:
    """Months since the first date, or None unless every date is known."""
    known = [dt.date.fromisoformat(d) for d in dates if d is not None]
    if len(known) != len(dates):
        return None
    return tuple((d - known[0]).days / DAYS_PER_MONTH for d in known)


def _trend(changes: Sequence[VisitChange], months: tuple[float, ...] | None) -> Trend | None:
    """Least-squares slope per month through the baseline (0, 0) and each registered visit."""
    from scipy import stats

    if months is None:
        return None
    ok = [c for c in changes if c.status == "ok"]
    t = np.array([0.0] + [months[c.visit] for c in ok])
    if len(ok) == 0 or np.ptp(t) == 0:
        return None
    per_month: dict[str, float | None] = {}
    ci95: dict[str, tuple[float, float] | None] = {}
    for name in TREND_METRICS:
        values = [getattr(c, name) for c in ok]
        if any(v is None for v in values):
            per_month[name], ci95[name] = None, None
            continue
        y = np.array([0.0] + values)
        fit = stats.linregress(t, y)
        per_month[name] = float(fit.slope)
        ci95[name] = None
        if len(t) >= 3 and np.isfinite(fit.stderr):
            half = float(stats.t.ppf(0.975, len(t) - 2) * fit.stderr)
            ci95[name] = (float(fit.slope) - half, float(fit.slope) + half)
    return Trend(
        visits=(0, *(c.visit for c in ok)),
        months=tuple(float(v) for v in t),
        per_month=per_month,
        ci95=ci95,
    )
