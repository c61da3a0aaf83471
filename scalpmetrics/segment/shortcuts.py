"""NumPy's row products, row norms and channel sums, to the same bits and sooner.

The colour statistics and the detectors call these instead of NumPy: the
results are bit for bit NumPy's, without the strided reductions along a
short last axis or the BLAS threads that cost more than they save.
"""

from __future__ import annotations

import numpy as np


def _rows_times(rows: np.ndarray, matrix: np.ndarray, block: int = 8192) -> np.ndarray:
    """``rows @ matrix`` for a tall float64 ``rows`` and a small ``matrix``, a
    block of rows at a time.

    Each row's product is computed as in one call (BLAS treats the rows
    alike), but the blocks are too small for BLAS to start threads, which
    cost more than they save on so little work (and much more when the
    cores are busy).
    """
    out = np.empty((rows.shape[0], matrix.shape[1]))
    for start in range(0, rows.shape[0], block):
        np.matmul(rows[start:start + block], matrix, out=out[start:start + block])
    return out


def _row_norms(rows: np.ndarray) -> np.ndarray:
    """``np.linalg.norm(rows, axis=1)`` of a C-ordered (N, 3) float array, in the
    same order (``(x*x + y*y) + z*z``) and so to the same bits, without the
    reduction along the short last axis."""
    x, y, z = rows[:, 0], rows[:, 1], rows[:, 2]
    return np.sqrt((x * x + y * y) + z * z)


def _channel_sum(image: np.ndarray) -> np.ndarray:
    """``image.sum(axis=2)`` of an (H, W, 3) float32 image, in the same order
    (``(r + g) + b``) and so to the same bits, without the strided reduction."""
    return (image[:, :, 0] + image[:, :, 1]) + image[:, :, 2]
