"""Human-readable views of global results: the text summary and the overlay image.

Both return values (a string, an array); writing them is the caller's job.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from scalpmetrics.globalview.record import GlobalAnalysis

__all__ = ["format_global_summary", "format_global_comparison", "render_global_overlay"]

#: Zone outline and label colour (RGB).
ZONE_RGB = (255, 230, 0)
#: Tint of visible scalp (RGB): the more scalp shows, the stronger.
SCALP_TINT_RGB = (255, 40, 160)


def _fmt(value: Any, digits: int = 3, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))
        for r in rows
    ]


def format_global_summary(result: GlobalAnalysis) -> str:
    """A short table of one global analysis."""
    view = result.view + (f" ({result.side} side)" if result.side else "")
    head = [
        f"photo      {result.image.path or '(array)'}  {result.image.width_px}x{result.image.height_px} px",
        f"view       {view}" + ("  (detected)" if result.view_detected else ""),
        f"contrast   scalp/hair {result.colour_model['contrast_ratio']:.1f}",
        "",
    ]
    rows = [("region", "coverage", "visible scalp", "thinning", "se", "area px")]
    for r in result.regions:
        rows.append((r.name, _fmt(r.coverage_fraction), _fmt(r.visible_scalp_fraction),
                     _fmt(r.thinning_score), _fmt(r.coverage_se_fraction), str(r.area_px)))
    flags = [f"flag       {f.name}: {f.message}" for f in result.flags]
    return "\n".join(head + _table(rows) + ([""] + flags if flags else [])) + "\n"


def format_global_comparison(record: dict[str, Any]) -> str:
    """A short table of a global comparison record (``GlobalComparison.to_dict()``)."""
    level = round(100 * record["interval_level"])
    lines = [
        f"baseline   {record['visits'][0]['image']['path'] or '(array)'}",
        f"view       {record['view']}" + (f" ({record['side']} side)" if record["side"] else ""),
        "",
    ]
    rows = [("visit", "region", "baseline", "follow-up", "change pts", f"{level} % interval",
             "beyond")]
    for c in record["changes"]:
        for z in c["regions"]:
            ci = z["ci"]
            rows.append((
                str(c["visit"]), z["name"], _fmt(z["baseline_coverage_fraction"]),
                _fmt(z["followup_coverage_fraction"]), _fmt(z["coverage_change_points"], 1, True),
                "-" if ci is None else f"{ci[0]:+.1f} to {ci[1]:+.1f}",
                "-" if z["beyond_interval"] is None else ("yes" if z["beyond_interval"] else "no"),
            ))
    flags = [f"flag       {f['name']}: {f['message']}" for f in record["flags"]]
    return "\n".join(lines + _table(rows) + ([""] + flags if flags else [])) + "\n"


def render_global_overlay(pixels: np.ndarray, result: GlobalAnalysis, *, alpha: float = 0.6) -> np.ndarray:
    """The photo with visible scalp tinted and the zones outlined and named.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3)
        The analysed photo, RGB.
    result : GlobalAnalysis
    alpha : float
        Tint strength where the scalp is fully visible.

    Returns
    -------
    ndarray, shape (h, w, 3), uint8
        At the working resolution of the analysis; a new image.
    """
    from scalpmetrics.report import to_display_rgb8

    rgb = to_display_rgb8(pixels)
    h, w = result.hair_fraction.shape
    out = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    inside = np.zeros((h, w), dtype=bool)
    for m in result.region_masks.values():
        inside |= m
    scalp = np.clip(1.0 - result.hair_fraction, 0.0, 1.0) * alpha * inside
    out = out * (1 - scalp[:, :, None]) + np.array(SCALP_TINT_RGB, np.float32) * scalp[:, :, None]
    out = out.round().astype(np.uint8)
    scale = max(0.3, h / 900)
    for r in result.regions:
        m = result.region_masks.get(r.name)
        if m is None or not m.any():
            continue
        contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, ZONE_RGB, 1, cv2.LINE_AA)
        ys, xs = np.nonzero(m)
        text = r.name if r.coverage_fraction is None else f"{r.name} {r.coverage_fraction:.2f}"
        cv2.putText(out, text, (int(xs.min()) + 2, int(ys.mean())), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, ZONE_RGB, 1, cv2.LINE_AA)
    return out
