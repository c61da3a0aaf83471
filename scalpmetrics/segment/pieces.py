"""Figures and shape filters of the detected pieces (connected labels).

Bit-exact per-label percentiles, the nearest kept piece of each pixel, the
length and compact-blob filter, and the elongation of each piece.
"""

from __future__ import annotations

import cv2
import numpy as np

from scalpmetrics.params import SegmentParams


def _sortable_bits(values: np.ndarray) -> np.ndarray:
    """float32 values as uint32 codes of the same order (no NaN)."""
    bits = values.astype(np.float32).view(np.uint32)
    return np.where(bits >> 31, ~bits, bits | np.uint32(1 << 31))


def _float_from_bits(codes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_sortable_bits`."""
    codes = codes.astype(np.uint32)
    return np.where(codes >> 31, codes & np.uint32(0x7FFFFFFF), ~codes).view(np.float32)


def _label_percentiles(labels: np.ndarray, values: np.ndarray, n: int,
                       percentile: float) -> np.ndarray:
    """Per label ``0..n-1``: the value of rank ``floor((count - 1) * percentile / 100)``
    among its ``values`` (float32; 0 for a label without values).

    One sort of 64-bit keys (label in the high half, the value's order-preserving
    bits in the low half, both written as halves of the key) ranks every
    label's values at once; each label's run in the sorted keys starts after
    the values of the labels below it.
    """
    keys = np.empty(labels.size, dtype="<u8")
    halves = keys.view("<u4").reshape(-1, 2)  # (low, high) half of each key
    halves[:, 0] = _sortable_bits(values)
    halves[:, 1] = labels
    keys.sort()
    counts = np.bincount(labels, minlength=n)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    pos = starts + np.floor((counts - 1) * percentile / 100.0).astype(int)
    out = np.zeros(n, dtype=np.float32)
    out[has] = _float_from_bits(halves[pos[has], 0])
    return out


def _nearby_piece(labels: np.ndarray, keep: np.ndarray,
                  reach: int) -> tuple[np.ndarray, np.ndarray]:
    """The highest label of a kept piece within ``reach`` px (elliptic
    neighbourhood) of each pixel, as a rank map (0 where none) and the label
    of each rank: ``label = kept[rank]``.

    The kept labels are renumbered in order (so the highest stays the
    highest) to the smallest integer type that holds them: the dilation is
    cheaper on small integers than on the float labels it stands for, and
    only the pixels near a piece need their label back.
    """
    rank = np.cumsum(keep) * keep
    n_kept = int(rank[-1]) if rank.size else 0
    dtype = np.uint8 if n_kept < 2**8 else np.uint16 if n_kept < 2**16 else np.float32
    support = rank.astype(dtype)[labels]
    if reach > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        support = cv2.dilate(support, kernel)
    return support, np.concatenate([[0], np.nonzero(keep)[0]])


def _blob_filter(stats: np.ndarray, min_length_px: float, max_blob_px: float,
                 params: SegmentParams) -> np.ndarray:
    """Which detected pieces can be shafts: long enough and not a compact blob."""
    w = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    h = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    diag = np.hypot(w, h)
    fill = area / np.maximum(w * h, 1.0)
    compact = (diag <= max_blob_px) & (fill >= params.blob_fill_fraction) & (
        np.maximum(w, h) <= params.blob_aspect_ratio * np.minimum(w, h))
    keep = (diag >= min_length_px) & ~compact
    keep[0] = False
    return keep


def _elongation(labels: np.ndarray, n: int) -> np.ndarray:
    """Per label ``0..n-1``: the ratio of the long to the short axis of its
    pixels' spread (1 for a round piece, about length / width for a shaft)."""
    h, w = labels.shape
    lab = labels.ravel()
    y, x = np.divmod(np.arange(lab.size, dtype=np.float64), w)
    count = np.maximum(np.bincount(lab, minlength=n), 1)
    mx = np.bincount(lab, weights=x, minlength=n) / count
    my = np.bincount(lab, weights=y, minlength=n) / count
    sxx = np.bincount(lab, weights=x * x, minlength=n) / count - mx * mx + 1.0 / 12.0
    syy = np.bincount(lab, weights=y * y, minlength=n) / count - my * my + 1.0 / 12.0
    sxy = np.bincount(lab, weights=x * y, minlength=n) / count - mx * my
    half_diff = np.sqrt(((sxx - syy) / 2.0) ** 2 + sxy**2)
    mean = (sxx + syy) / 2.0
    return np.sqrt((mean + half_diff) / np.maximum(mean - half_diff, 1e-12))
