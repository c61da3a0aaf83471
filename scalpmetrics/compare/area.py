"""The common area, and each visit's hairs mapped into baseline coordinates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scalpmetrics.compare.results import MappedHairs
from scalpmetrics.measure import UM_PER_MM, width_weights
from scalpmetrics.params import Params
from scalpmetrics.register import Registration
from scalpmetrics.types import Analysis

#: Pixels whose centres are tested at once when the common-area mask is built.
_MASK_CHUNK_PX = 1 << 20


@dataclass(frozen=True, eq=False)
class _CommonArea:
    """The part of the baseline that every registered photo shows, a margin from
    every edge, less what hides the scalp in any photo.

    A photo's field is ``-0.5 <= x < width - 0.5`` (pixel centres on integers);
    the margin is in baseline px and scaled by the registration in a follow-up.
    A photo's ``hidden`` pixels (see :func:`_hidden`) are left out wherever
    they fall.
    """

    # shape, matrix (baseline -> photo), margin, hidden pixels of the photo
    fields: tuple[tuple[tuple[int, ...], np.ndarray | None, float, np.ndarray | None], ...]

    @classmethod
    def build(
        cls,
        baseline: tuple[tuple[int, ...], np.ndarray | None],
        followups: Sequence[tuple[tuple[int, ...], np.ndarray | None, Registration]],
        margin_px: float,
    ) -> _CommonArea:
        """From each photo's shape and hidden pixels (``None``: none), and each
        follow-up's registration."""
        fields = [(tuple(baseline[0][:2]), None, margin_px, baseline[1])]
        fields += [(tuple(shape[:2]), reg.followup_from_baseline, margin_px * (reg.scale or 1.0),
                    hidden) for shape, hidden, reg in followups]
        return cls(tuple(fields))

    def contains(self, xy: np.ndarray) -> np.ndarray:
        """Whether baseline points ``xy`` (shape (N, 2)) lie in the common area."""
        from scalpmetrics.register import apply_homography

        ok = np.ones(len(xy), bool)
        for (h, w), matrix, margin, hidden in self.fields:
            q = xy if matrix is None else apply_homography(matrix, xy)
            lo = margin - 0.5
            ok &= (q[:, 0] >= lo) & (q[:, 0] < w - 0.5 - margin)
            ok &= (q[:, 1] >= lo) & (q[:, 1] < h - 0.5 - margin)
            if hidden is not None:
                row, col, seen = _pixel_of(q, (h, w))
                ok &= ~(hidden[row, col] & seen)
        return ok

    def mask(self) -> np.ndarray:
        """The common area as baseline pixels whose centres it contains, shape (H, W)."""
        h, w = self.fields[0][0]
        out = np.zeros((h, w), bool)
        rows_per_chunk = max(1, _MASK_CHUNK_PX // max(w, 1))
        xs = np.arange(w, dtype=np.float64)
        for r0 in range(0, h, rows_per_chunk):
            rows = np.arange(r0, min(h, r0 + rows_per_chunk), dtype=np.float64)
            xy = np.stack(np.meshgrid(xs, rows), -1).reshape(-1, 2)
            out[r0:r0 + len(rows)] = self.contains(xy).reshape(len(rows), w)
        return out


def _hidden(analysis: Analysis, params: Params) -> np.ndarray | None:
    """Pixels of a photo that hide its scalp: those its analysis left out
    besides the strip along the photo's edge (a marker, a colour chart, a
    device's blank band with the strip along it), continued into that strip
    as far as the strip is wide (the comparison keeps a narrower margin of its
    own there). ``None`` when there are none or the analysis carries no
    measured area."""
    import cv2

    from scalpmetrics.regions import edge_guard_px, guarded_area

    measured = analysis.measured_area
    if measured is None:
        return None
    px_per_mm = analysis.calibration.px_per_mm
    inside = guarded_area(measured.shape, px_per_mm, params.trace)
    hidden = inside & ~measured
    if not hidden.any():
        return None
    reach = int(np.ceil(edge_guard_px(px_per_mm, params.trace)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    return hidden | (cv2.dilate(hidden.astype(np.uint8), kernel).astype(bool) & ~inside)


def _pixel_of(xy: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and in-bounds flag of points (pixel centres on integers)."""
    col = np.floor(xy[:, 0] + 0.5).astype(np.int64)
    row = np.floor(xy[:, 1] + 0.5).astype(np.int64)
    ok = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
    return np.where(ok, row, 0), np.where(ok, col, 0), ok


def _map_hairs(
    analysis: Analysis,
    reg: Registration | None,
    area: _CommonArea,
    baseline_px_per_mm: float | None,
    params: Params,
) -> MappedHairs:
    """The visit's counted hairs in baseline coordinates, widths on the baseline's scale."""
    index = np.array([i for i, h in enumerate(analysis.hairs) if h.counted], dtype=int)
    hairs = [analysis.hairs[i] for i in index]
    xy = np.array([h.emergence_xy_px for h in hairs], np.float64).reshape(-1, 2)
    tip = np.array([h.tip_xy_px for h in hairs], np.float64).reshape(-1, 2)
    if reg is not None and len(xy):
        xy, tip = reg.to_baseline(xy), reg.to_baseline(tip)
    inside = area.contains(xy)
    s = 1.0 if reg is None or reg.scale is None else reg.scale
    width_weight_px = width_weights(hairs, params.trace) / s
    width_um = None
    if baseline_px_per_mm is not None and params.compare.scale_from_registration:
        width_um = np.array([h.width_px for h in hairs], np.float64) / (
            baseline_px_per_mm * s) * UM_PER_MM
    elif all(h.width_um is not None for h in hairs) and analysis.calibration.is_known:
        width_um = np.array([h.width_um for h in hairs], np.float64)
    terminal = None if width_um is None else width_um >= params.trace.vellus_cutoff_um
    return MappedHairs(index, xy, width_um, terminal, width_weight_px, inside, tip - xy)
