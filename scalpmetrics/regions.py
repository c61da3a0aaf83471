"""Regions of a photo that are measured on their own.

Every analysis measures the whole photo (region ``'whole'``) and, on request,
a grid of equal cells (``'grid_r{row}_c{col}'``, 1-based) or the labels of a
label image (``'label_{n}'``, 0 meaning outside every region).
"""

from __future__ import annotations

import re

import numpy as np

from scalpmetrics.errors import RegionError
from scalpmetrics.types import Region

_GRID = re.compile(r"^grid:(\d+)x(\d+)$")
MAX_GRID_CELLS = 10_000


def whole_region(shape: tuple[int, ...]) -> Region:
    """The whole photo as one region."""
    return Region("whole", np.ones(shape[:2], dtype=bool))


def parse_grid_spec(spec: str) -> tuple[int, int]:
    """Parse ``'grid:RxC'`` into ``(rows, cols)``.

    Examples
    --------
    >>> parse_grid_spec("grid:2x3")
    (2, 3)
    """
    m = _GRID.match(spec.strip().lower())
    if not m:
        raise RegionError(f"region spec {spec!r} is not of the form grid:RxC (for example grid:3x3)")
    rows, cols = int(m.group(1)), int(m.group(2))
    if rows < 1 or cols < 1 or rows * cols > MAX_GRID_CELLS:
        raise RegionError(f"grid {rows}x{cols} must have 1 to {MAX_GRID_CELLS} cells")
    return rows, cols


def grid_regions(shape: tuple[int, ...], rows: int, cols: int) -> list[Region]:
    """Split the photo into ``rows`` x ``cols`` cells of (nearly) equal size.

    Parameters
    ----------
    shape : tuple
        The photo's shape; only ``(H, W)`` is used.
    rows, cols : int
        Cells down and across. Each cell must be at least one pixel.

    Returns
    -------
    list of Region
        Named ``grid_r{i}_c{j}`` with 1-based ``i`` (row) and ``j`` (column).
    """
    h, w = shape[:2]
    if rows > h or cols > w:
        raise RegionError(f"grid {rows}x{cols} is finer than the {w}x{h} photo")
    r_edges = np.linspace(0, h, rows + 1).round().astype(int)
    c_edges = np.linspace(0, w, cols + 1).round().astype(int)
    out = []
    for i in range(rows):
        for j in range(cols):
            mask = np.zeros((h, w), dtype=bool)
            mask[r_edges[i] : r_edges[i + 1], c_edges[j] : c_edges[j + 1]] = True
            out.append(Region(f"grid_r{i + 1}_c{j + 1}", mask))
    return out


def label_regions(labels: np.ndarray, shape: tuple[int, ...]) -> list[Region]:
    """One region per non-zero label of a label image.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        0 = outside, 1..N = regions. Must have the photo's height and width.
    shape : tuple
        The photo's shape.

    Returns
    -------
    list of Region
        Named ``label_{n}``, in increasing label order.
    """
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise RegionError(f"label image must be single-channel, got shape {lab.shape}")
    if lab.shape != tuple(shape[:2]):
        raise RegionError(
            f"label image is {lab.shape[1]}x{lab.shape[0]} but the photo is "
            f"{shape[1]}x{shape[0]}: they must match"
        )
    values = np.unique(lab)
    values = values[values != 0]
    if values.size == 0:
        raise RegionError("label image has no non-zero labels")
    return [Region(f"label_{int(v)}", lab == v) for v in values]


def build_regions(
    shape: tuple[int, ...],
    *,
    grid: str | None = None,
    labels: np.ndarray | None = None,
) -> list[Region]:
    """The whole photo followed by the requested grid or label regions."""
    if grid is not None and labels is not None:
        raise RegionError("give a grid or a label image, not both")
    regions = [whole_region(shape)]
    if grid is not None:
        regions += grid_regions(shape, *parse_grid_spec(grid))
    elif labels is not None:
        regions += label_regions(labels, shape)
    return regions
