"""The HTML report of a comparison: one self-contained file.

Photos and overlays are embedded as ``data:`` URIs and the trend plot is
inline SVG, so the file needs nothing else. The page carries no script at
all: the hair overlay is switched by a checkbox and CSS alone, and a strict
Content-Security-Policy (``default-src 'none'; img-src data:; style-src
'unsafe-inline'``) forbids loading anything. Every text that comes from a
file name, metadata or a parameter is escaped by the template engine
(Jinja2 with autoescaping); numbers are formatted here.

Needs the ``report`` extra (Jinja2).
"""

from __future__ import annotations

import base64
import importlib.util
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scalpmetrics import __version__
from scalpmetrics.compare import CHANGE_METRICS, Comparison, VisitChange
from scalpmetrics.errors import MissingExtraError
from scalpmetrics.report import atomic_write_text, to_display_rgb8

TEMPLATE_NAME = "compare_report.html.j2"
#: Overlay colours (RGB) and opacities.
HAIR_TINT_RGB = (0, 190, 255)
HAIR_TINT_ALPHA = 70
NEW_RGB = (40, 200, 70)
LOST_RGB = (235, 50, 50)
THICKENED_RGB = (40, 110, 255)
OUTLINE_RGB = (255, 255, 255)
#: Photo encoding.
JPEG_QUALITY = 88
#: Trend plot geometry (SVG user units).
_PLOT_W, _PLOT_H = 880, 300
_PLOT_LEFT, _PLOT_RIGHT, _PLOT_TOP, _PLOT_BOTTOM = 64, 24, 20, 46
_SERIES = (
    ("hair_count_change_pct", "Hair count", "#1f5fa8"),
    ("terminal_count_change_pct", "Terminal hairs", "#d9822b"),
    ("cumulative_thickness_change_pct", "Cumulative thickness", "#3a9a5b"),
)
_METRIC_LABELS = {
    "hair_count_change_pct": ("Hair count", " %"),
    "density_change_pct": ("Density", " %"),
    "terminal_count_change_pct": ("Terminal hairs", " %"),
    "cumulative_thickness_change_pct": ("Cumulative thickness", " %"),
    "coverage_change_points": ("Coverage", " pts"),
}


@dataclass(frozen=True)
class _Pair:
    """One aligned before/after pair as data URIs."""

    visit: int
    label: str
    baseline_uri: str
    baseline_overlay_uri: str
    followup_uri: str
    followup_overlay_uri: str
    width_px: int
    height_px: int


def render_compare_report(
    comparison: Comparison,
    *,
    title: str = "Hair course report",
    max_image_side_px: int = 640,
) -> str:
    """The report page as HTML text.

    Parameters
    ----------
    comparison : Comparison
        From :func:`scalpmetrics.compare.compare_visits`.
    title : str
        Page heading (escaped).
    max_image_side_px : int
        Embedded photos are reduced to this longer side, px.

    Returns
    -------
    str
        A complete HTML document.

    Raises
    ------
    MissingExtraError
        Jinja2 (the ``report`` extra) is not installed.
    """
    env = _environment()
    changes = comparison.changes
    ok = [c for c in changes if c.status == "ok"]
    latest = ok[-1] if ok else None
    context = {
        "title": title,
        "version": __version__,
        "baseline_name": _display_name(comparison.visits[0].image.path, 0),
        "baseline_date": comparison.capture_dates[0],
        "visit_names": [_display_name(a.image.path, i) for i, a in enumerate(comparison.visits)],
        "dates": list(comparison.capture_dates),
        "common_area_cm2": comparison.common_area_cm2,
        "common_fraction": float(comparison.common_mask.mean()),
        "n_followups": len(changes),
        "latest": latest,
        "cards": _cards(latest) if latest else [],
        "failed": [c for c in changes if c.status != "ok"],
        "registrations": [
            (i + 1, r) for i, r in enumerate(comparison.registrations)
        ],
        "changes": ok,
        "metric_rows": [_metric_rows(c) for c in ok],
        "regions": _region_rows(ok),
        "pairs": _pairs(comparison, max_image_side_px),
        "plot": _trend_plot(comparison),
        "trend": comparison.trend,
        "flags": comparison.flags,
        "digest": comparison.provenance.get("parameters_digest"),
    }
    return env.get_template(TEMPLATE_NAME).render(**context)


def write_compare_report(
    path: str | os.PathLike[str], comparison: Comparison, **options: Any
) -> None:
    """Write :func:`render_compare_report` to ``path`` atomically (UTF-8)."""
    atomic_write_text(path, render_compare_report(comparison, **options))


# ---------------------------------------------------------------------------------------
# Template environment and formatting
# ---------------------------------------------------------------------------------------


def require_report_extra() -> None:
    """Raise :class:`MissingExtraError` unless Jinja2 (the ``report`` extra) is installed.

    Cheap: lets a command refuse ``--report-out`` before a long analysis.
    """
    if importlib.util.find_spec("jinja2") is None:
        raise MissingExtraError("jinja2", "report")


def _environment() -> Any:
    require_report_extra()
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("scalpmetrics", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt_number
    env.filters["signed"] = lambda v, d=1, u="": fmt_number(v, d, unit=u, signed=True)
    env.filters["interval"] = fmt_interval
    return env


def fmt_number(value: Any, digits: int = 1, *, unit: str = "", signed: bool = False) -> str:
    """A number for display; an en dash for ``None`` or non-finite values.

    Examples
    --------
    >>> fmt_number(3.14159, 2, unit=" %", signed=True)
    '+3.14 %'
    >>> fmt_number(None)
    '\u2013'
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2013"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return text.replace("-", "\u2212") + unit


def fmt_interval(value: Sequence[float] | None, digits: int = 1, unit: str = "") -> str:
    """``'low to high'`` of an interval, or an en dash."""
    if value is None:
        return "\u2013"
    return f"{fmt_number(value[0], digits, signed=True)} to {fmt_number(value[1], digits, signed=True)}{unit}"


def _display_name(path: str | None, visit: int) -> str:
    """The file name (not the folder) shown for a visit."""
    if not path:
        return "baseline" if visit == 0 else f"visit {visit}"
    return os.path.basename(path) or path


# ---------------------------------------------------------------------------------------
# Tables and cards
# ---------------------------------------------------------------------------------------


def _cards(c: VisitChange) -> list[dict[str, Any]]:
    """Headline cards for the latest follow-up."""
    assert c.baseline is not None and c.followup is not None and c.ci95 is not None
    b, f = c.baseline, c.followup
    rows = [
        ("Hair count", "hair_count_change_pct", " %", f"{b.hair_count} \u2192 {f.hair_count} hairs"),
        ("Density", "density_change_pct", " %",
         f"{fmt_number(b.density_per_cm2, 0)} \u2192 {fmt_number(f.density_per_cm2, 0)} per cm\u00b2"),
        ("Terminal hairs", "terminal_count_change_pct", " %",
         f"{fmt_number(b.terminal_count, 0)} \u2192 {fmt_number(f.terminal_count, 0)} hairs"),
        ("Cumulative thickness", "cumulative_thickness_change_pct", " %",
         f"{fmt_number(b.cumulative_thickness_mm_per_cm2, 1)} \u2192 "
         f"{fmt_number(f.cumulative_thickness_mm_per_cm2, 1)} mm/cm\u00b2"),
        ("Coverage", "coverage_change_points", " pts",
         f"{fmt_number(_pc(b.coverage_fraction), 1)} \u2192 {fmt_number(_pc(f.coverage_fraction), 1)} %"),
    ]
    out = []
    for label, key, unit, detail in rows:
        value = getattr(c, key)
        beyond = (c.beyond_mdc_metrics or {}).get(key)
        out.append({
            "label": label,
            "value": fmt_number(value, 1, unit=unit, signed=True),
            "interval": fmt_interval(c.ci95.get(key), 1, unit),
            "detail": detail,
            "direction": "none" if value is None else ("up" if value > 0 else "down" if value < 0 else "none"),
            "beyond": beyond,
        })
    return out


def _pc(fraction: float | None) -> float | None:
    return None if fraction is None else 100.0 * fraction


def _metric_rows(c: VisitChange) -> dict[str, Any]:
    """One follow-up's change table."""
    assert c.baseline is not None and c.followup is not None
    b, f = c.baseline, c.followup
    values = {
        "hair_count_change_pct": (b.hair_count, f.hair_count, 0, ""),
        "density_change_pct": (b.density_per_cm2, f.density_per_cm2, 1, " /cm\u00b2"),
        "terminal_count_change_pct": (b.terminal_count, f.terminal_count, 0, ""),
        "cumulative_thickness_change_pct": (
            b.cumulative_thickness_mm_per_cm2, f.cumulative_thickness_mm_per_cm2, 2, " mm/cm\u00b2"
        ),
        "coverage_change_points": (_pc(b.coverage_fraction), _pc(f.coverage_fraction), 1, " %"),
    }
    rows = []
    for key in CHANGE_METRICS:
        label, unit = _METRIC_LABELS[key]
        before, after, digits, vunit = values[key]
        rows.append({
            "label": label,
            "before": fmt_number(before, digits, unit=vunit),
            "after": fmt_number(after, digits, unit=vunit),
            "change": fmt_number(getattr(c, key), 1, unit=unit, signed=True),
            "interval": fmt_interval((c.ci95 or {}).get(key), 1),
            "mdc": fmt_number((c.mdc95 or {}).get(key), 1, unit=unit),
            "beyond": (c.beyond_mdc_metrics or {}).get(key),
        })
    return {"change": c, "rows": rows}


def _region_rows(changes: Sequence[VisitChange]) -> dict[str, Any]:
    """Per-region hair counts and changes: one row per region, one column group per visit."""
    if not changes or not changes[0].regions:
        return {"visits": [], "rows": []}
    rows = []
    for k, region in enumerate(changes[0].regions):
        cells = []
        for c in changes:
            r = c.regions[k]
            cells.append({
                "count": f"{r.baseline.hair_count} \u2192 {r.followup.hair_count}",
                "change": fmt_number(r.hair_count_change_pct, 1, unit=" %", signed=True),
                "coverage": fmt_number(r.coverage_change_points, 1, unit=" pts", signed=True),
            })
        rows.append({
            "name": _region_label(region.name),
            "area": fmt_number(region.baseline.area_cm2, 2, unit=" cm\u00b2"),
            "cells": cells,
        })
    return {"visits": [c.visit for c in changes], "rows": rows}


def _region_label(name: str) -> str:
    """``grid_r1_c2`` -> ``row 1, column 2``; other names unchanged."""
    parts = name.split("_")
    if len(parts) == 3 and parts[0] == "grid" and parts[1][1:].isdigit() and parts[2][1:].isdigit():
        return f"row {parts[1][1:]}, column {parts[2][1:]}"
    return name


# ---------------------------------------------------------------------------------------
# Aligned photo pairs
# ---------------------------------------------------------------------------------------


def _pairs(comparison: Comparison, max_side_px: int) -> list[_Pair]:
    import cv2

    common = comparison.common_mask
    rows, cols = np.nonzero(common)
    if rows.size == 0:
        return []
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    crop = (slice(top, bottom), slice(left, right))
    factor = min(1.0, max_side_px / max(bottom - top, right - left))
    size = (max(1, round((right - left) * factor)), max(1, round((bottom - top) * factor)))
    h0, w0 = common.shape
    base_rgb = to_display_rgb8(comparison.photos[0].pixels)
    base_mask = _mask(comparison, 0)
    base_img = _jpeg_uri(_shrink(base_rgb[crop], size))
    outline = _outline(common[crop], size)
    out = []
    for c, reg, matching, hairs, earlier in zip(
        comparison.changes, comparison.registrations, comparison.matchings[1:],
        comparison.mapped_hairs[1:],
        comparison.new_at_earlier or (None,) * len(comparison.changes),
    ):
        if c.status != "ok" or matching is None or hairs is None:
            continue
        m = reg.followup_from_baseline
        photo = to_display_rgb8(comparison.photos[c.visit].pixels)
        aligned = cv2.warpPerspective(photo, m, (w0, h0),
                                      flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        mask_b = cv2.warpPerspective(
            _mask(comparison, c.visit).astype(np.uint8), m, (w0, h0),
            flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        ).astype(bool)
        base_hairs = comparison.mapped_hairs[0]
        assert base_hairs is not None
        lost_xy = base_hairs.xy_baseline[matching.lost]
        new_xy = hairs.xy_baseline[matching.new]
        if earlier is not None:  # new at an earlier follow-up, shown here (the second look)
            new_xy = np.vstack([new_xy, earlier.xy_baseline])
        thick_xy = hairs.xy_baseline[matching.pairs[matching.thickened, 1]]
        offset = np.array([left, top], np.float64)
        base_overlay = _overlay(base_mask[crop], outline, size,
                                [(lost_xy - offset, LOST_RGB)], factor)
        follow_overlay = _overlay(mask_b[crop], outline, size,
                                  [(new_xy - offset, NEW_RGB), (thick_xy - offset, THICKENED_RGB)],
                                  factor)
        date = comparison.capture_dates[c.visit]
        out.append(_Pair(
            visit=c.visit,
            label=f"Visit {c.visit}" + (f" \u00b7 {date}" if date else ""),
            baseline_uri=base_img,
            baseline_overlay_uri=_png_uri(base_overlay),
            followup_uri=_jpeg_uri(_shrink(aligned[crop], size)),
            followup_overlay_uri=_png_uri(follow_overlay),
            width_px=size[0],
            height_px=size[1],
        ))
    return out


def _mask(comparison: Comparison, visit: int) -> np.ndarray:
    mask = comparison.visits[visit].hair_mask
    assert mask is not None, "a compared analysis always carries its hair mask"
    return mask


def _shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if (image.shape[1], image.shape[0]) == size:
        return np.ascontiguousarray(image)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _outline(common_crop: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Boundary pixels of the common area at display size (bool)."""
    import cv2

    small = _shrink(common_crop.astype(np.uint8) * 255, size) > 127
    eroded = cv2.erode(small.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return small & ~eroded


def _overlay(
    hair_mask_crop: np.ndarray,
    outline: np.ndarray,
    size: tuple[int, int],
    markers: Sequence[tuple[np.ndarray, tuple[int, int, int]]],
    factor: float,
) -> np.ndarray:
    """Transparent RGBA layer: tinted hair, common-area outline, ringed hairs."""
    import cv2

    tint = _shrink(hair_mask_crop.astype(np.float32), size)
    rgba = np.zeros((size[1], size[0], 4), np.uint8)
    rgba[..., :3] = HAIR_TINT_RGB
    rgba[..., 3] = np.clip(tint * HAIR_TINT_ALPHA, 0, 255).astype(np.uint8)
    rgba[outline] = (*OUTLINE_RGB, 230)
    radius = max(5, round(min(size) / 45))
    for xy, colour in markers:
        for x, y in np.asarray(xy, np.float64).reshape(-1, 2):
            centre = (int(round((x + 0.5) * factor - 0.5)), int(round((y + 0.5) * factor - 0.5)))
            cv2.circle(rgba, centre, radius + 1, (0, 0, 0, 160), 3, cv2.LINE_AA)
            cv2.circle(rgba, centre, radius, (*colour, 255), 2, cv2.LINE_AA)
    return rgba


def _jpeg_uri(rgb: np.ndarray) -> str:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _png_uri(rgba: np.ndarray) -> str:
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgba[:, :, [2, 1, 0, 3]]))
    if not ok:
        raise ValueError("PNG encoding failed")
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


# ---------------------------------------------------------------------------------------
# Trend plot (inline SVG primitives; the template writes them out)
# ---------------------------------------------------------------------------------------


def _trend_plot(comparison: Comparison) -> dict[str, Any] | None:
    """Lines, whiskers, ticks and labels of the change-over-visits plot, or None."""
    ok = [c for c in comparison.changes if c.status == "ok"]
    if not ok:
        return None
    dated = comparison.trend is not None
    xs = [0.0] + [
        (c.months_since_baseline if dated and c.months_since_baseline is not None else float(c.visit))
        for c in ok
    ]
    series = []
    values_all = [0.0]
    for key, label, colour in _SERIES:
        ys = [0.0] + [getattr(c, key) for c in ok]
        if any(y is None for y in ys):
            continue
        series.append((key, label, colour, ys))
        values_all += ys
    ci = [(c.ci95 or {}).get("hair_count_change_pct") for c in ok]
    for lo_hi in ci:
        if lo_hi is not None:
            values_all += list(lo_hi)
    mdc = (ok[0].mdc95 or {}).get("hair_count_change_pct")
    if mdc is not None:
        values_all += [mdc, -mdc]
    y_lo, y_hi, y_step = _nice_range(min(values_all), max(values_all))
    x_lo, x_hi = min(xs), max(xs)
    x_pad = 0.06 * (x_hi - x_lo or 1.0)
    x_lo, x_hi = x_lo - x_pad, x_hi + x_pad
    inner_w = _PLOT_W - _PLOT_LEFT - _PLOT_RIGHT
    inner_h = _PLOT_H - _PLOT_TOP - _PLOT_BOTTOM

    def px(x: float) -> float:
        return round(_PLOT_LEFT + (x - x_lo) / (x_hi - x_lo) * inner_w, 1)

    def py(y: float) -> float:
        return round(_PLOT_TOP + (y_hi - y) / (y_hi - y_lo) * inner_h, 1)

    y_ticks = [
        {"y": py(v), "label": fmt_number(v, 0 if y_step >= 1 else 1, unit=" %", signed=v != 0)}
        for v in np.arange(y_lo, y_hi + y_step / 2, y_step)
    ]
    x_ticks = [
        {"x": px(x), "label": ("baseline" if i == 0 else
                               (f"{x:.1f} mo" if dated else f"visit {ok[i - 1].visit}"))}
        for i, x in enumerate(xs)
    ]
    lines = [
        {
            "label": label,
            "colour": colour,
            "points": " ".join(f"{px(x)},{py(y)}" for x, y in zip(xs, ys)),
            "dots": [{"x": px(x), "y": py(y)} for x, y in zip(xs, ys)],
        }
        for _, label, colour, ys in series
    ]
    whiskers = [
        {"x": px(x), "y1": py(lo_hi[0]), "y2": py(lo_hi[1])}
        for x, lo_hi in zip(xs[1:], ci) if lo_hi is not None
    ]
    band = None if mdc is None else {"y": py(mdc), "height": round(py(-mdc) - py(mdc), 1)}
    return {
        "width": _PLOT_W, "height": _PLOT_H,
        "left": _PLOT_LEFT, "right": _PLOT_W - _PLOT_RIGHT,
        "top": _PLOT_TOP, "bottom": _PLOT_H - _PLOT_BOTTOM,
        "zero": py(0.0),
        "y_ticks": y_ticks, "x_ticks": x_ticks,
        "lines": lines, "whiskers": whiskers, "band": band,
        "x_title": "months since baseline" if dated else "visit",
    }


def _nice_range(lo: float, hi: float) -> tuple[float, float, float]:
    """Axis limits on round steps that include ``lo`` and ``hi`` (and some headroom)."""
    span = max(hi - lo, 1.0)
    raw = span / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step, step
