"""Exact rasterisation of the shafts: sub-pixel hair coverage and premultiplied colour."""

from __future__ import annotations

import cv2
import numpy as np

from scalpmetrics.synthetic.spec import PhantomSpec

_FIX_BITS = 8  # fixed-point fraction bits for cv2 polygon drawing
_STRIP_SUBPIXELS = 1 << 21  # size of one rasterisation strip, sub-pixels


def _coverage_strip(edges: np.ndarray, row0: int, row1: int, wsub: int) -> np.ndarray:
    """Exact sub-pixel coverage of the union of polygons in sub-rows [row0, row1).

    ``edges`` is ``(E, 5)``: x0, y0, x1, y1 (sub-pixel units, centres on
    integers) and the sign of the polygon's shoelace area, so that every
    polygon's inside has winding number +1. Each edge crossing a sub-row adds
    its direction to the winding number of every sub-pixel centre to its
    right; a centre is covered when the summed winding number is positive."""
    out = np.zeros((row1 - row0, wsub), bool)
    if not len(edges):
        return out
    x0, y0, x1, y1, sign = edges.T
    ylo, yhi = np.minimum(y0, y1), np.maximum(y0, y1)
    r_start = np.maximum(np.ceil(ylo), row0).astype(np.int64)
    r_stop = np.minimum(np.ceil(yhi), row1).astype(np.int64)
    n = np.maximum(r_stop - r_start, 0)
    keep = n > 0
    if not keep.any():
        return out
    n, r_start = n[keep], r_start[keep]
    x0, y0, x1, y1, sign = x0[keep], y0[keep], x1[keep], y1[keep], sign[keep]
    e = np.repeat(np.arange(len(n)), n)
    first = np.cumsum(n) - n
    rows = r_start[e] + (np.arange(int(n.sum())) - first[e])
    x = x0[e] + (rows - y0[e]) * ((x1 - x0) / (y1 - y0))[e]
    cols = np.clip(np.ceil(x), 0, wsub).astype(np.int64)
    d = np.where(y1 > y0, -1, 1)[e] * sign[e].astype(np.int64)
    flat = (rows - row0) * (wsub + 1) + cols
    diff = np.zeros((row1 - row0) * (wsub + 1), np.int32)
    np.add.at(diff, flat, d.astype(np.int32))
    winding = np.cumsum(diff.reshape(row1 - row0, wsub + 1), axis=1, dtype=np.int32)
    return winding[:, :wsub] > 0


def _hair_layer(polys: list[np.ndarray], bands: list[list[tuple[np.ndarray, tuple]]],
                spec: PhantomSpec) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise shafts: exact coverage counts (H, W) float32 in [0, 1] and premultiplied
    colour (H, W, 3) float32.

    ``polys`` are the true shaft outlines in image px (coverage); ``bands`` the
    coloured cross-section bands per shaft in drawing order (appearance)."""
    s, w_img, h_img = spec.supersample, spec.width_px, spec.height_px
    wsub = w_img * s
    to_sub = lambda p: (p + 0.5) * s - 0.5  # noqa: E731 - image px -> sub-pixel centres
    edge_list, y_lo, y_hi = [], [], []
    for p in polys:
        q = to_sub(p)
        nxt = np.roll(q, -1, axis=0)
        area2 = float(np.sum(q[:, 0] * nxt[:, 1] - nxt[:, 0] * q[:, 1]))
        edge_list.append(np.column_stack([q, nxt, np.full(len(q), 1.0 if area2 > 0 else -1.0)]))
        y_lo.append(q[:, 1].min())
        y_hi.append(q[:, 1].max())
    edges = np.concatenate(edge_list) if edge_list else np.zeros((0, 5))
    fixed = [[(np.round(to_sub(b) * (1 << _FIX_BITS)).astype(np.int32), c) for b, c in hb]
             for hb in bands]
    y_lo_a, y_hi_a = np.array(y_lo), np.array(y_hi)
    rows_per_strip = max(1, _STRIP_SUBPIXELS // wsub // s)
    coverage = np.zeros((h_img, w_img), np.float32)
    premult = np.zeros((h_img, w_img, 3), np.float32)
    for r0 in range(0, h_img, rows_per_strip):
        r1 = min(h_img, r0 + rows_per_strip)
        a, b = r0 * s, r1 * s
        cov = _coverage_strip(edges, a, b, wsub)
        if not cov.any():
            continue
        canvas = np.zeros((b - a, wsub, 3), np.uint8)
        shift = np.array([0, a << _FIX_BITS], np.int32)
        for k in np.nonzero((y_hi_a >= a - 2) & (y_lo_a <= b + 2))[0]:
            for pts, colour in fixed[k]:
                cv2.fillPoly(canvas, [pts - shift], colour, cv2.LINE_8, _FIX_BITS)
        # every sub-pixel weighs s*s, so the box mean is the exact integer count
        cov8 = cov.view(np.uint8) * np.uint8(s * s)
        counts = cv2.resize(cov8, (w_img, r1 - r0), interpolation=cv2.INTER_AREA)
        coverage[r0:r1] = counts.astype(np.float32) / np.float32(s * s)
        masked = cv2.bitwise_and(canvas, canvas, mask=cov.view(np.uint8))
        premult[r0:r1] = cv2.resize(masked, (w_img, r1 - r0),
                                    interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return coverage, premult
