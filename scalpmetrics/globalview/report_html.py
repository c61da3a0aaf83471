"""The HTML report of a global comparison: one self-contained file.

Same rules as the close-up report (:mod:`scalpmetrics.report_html`): photos
are embedded as ``data:`` URIs, the page has no script, a strict
Content-Security-Policy forbids loading anything, and every text from a file
name, metadata or a parameter is escaped by Jinja2's autoescaping.

Needs the ``report`` extra (Jinja2).
"""

from __future__ import annotations

import base64
import os
from typing import Any

import cv2
import numpy as np

from scalpmetrics import __version__
from scalpmetrics.errors import MissingExtraError
from scalpmetrics.globalview.compare import GlobalComparison
from scalpmetrics.globalview.present import render_global_overlay
from scalpmetrics.report import atomic_write_text

__all__ = ["render_global_report", "write_global_report"]

JPEG_QUALITY = 88

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="scalpmetrics {{ version }}">
<title>{{ title }}</title>
<style>
  body { margin:0; background:#f3f5f8; color:#1d2733; font:15px/1.45 "Segoe UI", Helvetica, Arial, sans-serif; }
  header { background:#fff; border-bottom:1px solid #dde3ea; padding:22px 40px 18px; }
  header h1 { margin:0 0 4px; font-size:26px; font-weight:600; }
  header p { margin:0; color:#5d6b7a; }
  main { max-width:1200px; margin:0 auto; padding:8px 40px 40px; }
  section { background:#fff; border:1px solid #dde3ea; border-radius:10px; padding:18px 22px; margin-top:18px; }
  h2 { margin:0 0 8px; font-size:19px; font-weight:600; }
  p.note { color:#5d6b7a; font-size:13.5px; }
  table { border-collapse:collapse; width:100%; font-size:14px; }
  th, td { padding:6px 10px; border-bottom:1px solid #dde3ea; text-align:right; white-space:nowrap; }
  th:first-child, td:first-child { text-align:left; }
  td.up { color:#23834a; font-weight:600; } td.down { color:#b8322a; font-weight:600; }
  .pair { display:grid; grid-template-columns:1fr 1fr; gap:14px; margin-top:12px; }
  figure { margin:0; } figure img { width:100%; height:auto; border-radius:6px; }
  figcaption { font-size:13.5px; color:#5d6b7a; margin-top:5px; }
  li.flag { color:#9e2a22; }
</style>
</head>
<body>
<header>
  <h1>{{ title }}</h1>
  <p>{{ view }} view{% if side %} ({{ side }} side){% endif %} &middot; baseline {{ names[0] }}{% if dates[0] %}, {{ dates[0] }}{% endif %} &middot; {{ n }} follow-up{{ "s" if n != 1 }}</p>
</header>
<main>
{% if flags %}<section><h2>Flags</h2><ul>{% for f in flags %}<li class="flag"><b>{{ f.name }}</b>: {{ f.message }}</li>{% endfor %}</ul></section>{% endif %}
{% for c in changes %}
<section>
  <h2>Visit {{ c.visit }}: {{ names[c.visit] }}{% if c.date %} ({{ c.date }}){% endif %}</h2>
  <p class="note">Coverage is the share of each zone's scalp that hair hides. Change in percentage points with a {{ level }} % interval; the heads, not the hair, are aligned (head size ratio {{ c.head_scale }}).</p>
  <table>
    <tr><th>Zone</th><th>Baseline</th><th>Follow-up</th><th>Change (pts)</th><th>{{ level }} % interval</th><th>Beyond interval</th><th>Thinning score</th></tr>
    {% for z in c.rows %}<tr><td>{{ z.name }}</td><td>{{ z.base }}</td><td>{{ z.fol }}</td><td class="{{ z.cls }}">{{ z.change }}</td><td>{{ z.ci }}</td><td>{{ z.beyond }}</td><td>{{ z.thin }}</td></tr>
    {% endfor %}
  </table>
  <div class="pair">
    <figure><img alt="baseline with zones" src="{{ images[0] }}"><figcaption><b>Baseline</b> &middot; visible scalp tinted</figcaption></figure>
    <figure><img alt="follow-up with zones" src="{{ images[c.visit] }}"><figcaption><b>Visit {{ c.visit }}</b> &middot; visible scalp tinted</figcaption></figure>
  </div>
</section>
{% endfor %}
<p class="note">scalpmetrics {{ version }} &middot; parameters {{ digest }}</p>
</main>
</body>
</html>
"""


def _jpeg_uri(rgb: np.ndarray, max_side_px: int) -> str:
    h, w = rgb.shape[:2]
    f = min(1.0, max_side_px / max(h, w))
    if f < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _f(value: float | None, digits: int = 3, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def render_global_report(
    comparison: GlobalComparison, *, title: str = "Global photograph course report",
    max_image_side_px: int = 640,
) -> str:
    """The report page as HTML text.

    Raises
    ------
    MissingExtraError
        Jinja2 (the ``report`` extra) is not installed.
    """
    try:
        import jinja2
    except ImportError:
        raise MissingExtraError("jinja2", "report") from None
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    names = [a.image.path.rsplit("/", 1)[-1] if a.image.path else f"visit {i}"
             for i, a in enumerate(comparison.visits)]
    changes: list[dict[str, Any]] = []
    for c in comparison.changes:
        rows = []
        for z in c.regions:
            ch = z.coverage_change_points
            rows.append({
                "name": z.name, "base": _f(z.baseline_coverage_fraction),
                "fol": _f(z.followup_coverage_fraction), "change": _f(ch, 1, True),
                "cls": "" if not z.beyond_interval or ch is None else ("up" if ch > 0 else "down"),
                "ci": "-" if z.ci is None else f"{z.ci[0]:+.1f} to {z.ci[1]:+.1f}",
                "beyond": "-" if z.beyond_interval is None else ("yes" if z.beyond_interval else "no"),
                "thin": f"{_f(z.baseline_thinning_score, 2)} → {_f(z.followup_thinning_score, 2)}",
            })
        changes.append({"visit": c.visit, "date": c.capture_date, "rows": rows,
                        "head_scale": f"{c.head_scale:.3f}"})
    images = [_jpeg_uri(render_global_overlay(p.pixels, a), max_image_side_px)
              for p, a in zip(comparison.photos, comparison.visits)]
    return env.from_string(_TEMPLATE).render(
        title=title, version=__version__, view=comparison.view, side=comparison.side,
        names=names, dates=list(comparison.capture_dates), n=len(comparison.changes),
        flags=comparison.flags, changes=changes, images=images,
        level=round(100 * comparison.interval_level),
        digest=comparison.provenance.get("parameters_digest"),
    )


def write_global_report(path: str | os.PathLike[str], comparison: GlobalComparison, **options: Any) -> None:
    """Write :func:`render_global_report` to ``path`` atomically (UTF-8)."""
    atomic_write_text(path, render_global_report(comparison, **options))
