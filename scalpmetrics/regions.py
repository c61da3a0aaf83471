"""Regions of a photo that are measured on their own.

Every analysis measures the whole photo (region ``'whole'``) and, on request,
a grid of equal cells (``'grid_r{row}_c{col}'``, 1-based) or the labels of a
label image (``'label_{n}'``, 0 meaning outside every region). The analysis
leaves a strip along the photo's edges out of every region
(:func:`guarded_area`).
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from scalpmetrics.errors import RegionError
from scalpmetrics.measure import UM_PER_MM
from scalpmetrics.params import TraceParams
from scalpmetrics.types import Region

_GRID = re.compile(r"^grid:(\d+)x(\d+)$")
MAX_GRID_CELLS = 10_000


def edge_strip(shape: tuple[int, ...], width_px: float) -> np.ndarray:
    """Pixels whose centre lies closer than ``width_px`` to the image edge.

    The width is capped at a quarter of the shorter side, so that the middle
    of any image stays outside the strip.

    Parameters
    ----------
    shape : tuple of int
        Image shape; the first two entries are used.
    width_px : float
        Strip width, px (pixel centres lie half a pixel inside the edge).

    Returns
    -------
    ndarray of bool, shape (H, W)

    Examples
    --------
    >>> edge_strip((5, 6), 1.0).astype(int)
    array([[1, 1, 1, 1, 1, 1],
           [1, 0, 0, 0, 0, 1],
           [1, 0, 0, 0, 0, 1],
           [1, 0, 0, 0, 0, 1],
           [1, 1, 1, 1, 1, 1]])
    """
    h, w = shape[:2]
    width = min(float(width_px), min(h, w) / 4.0)
    rows = np.minimum(np.arange(h) + 0.5, h - 0.5 - np.arange(h)) < width
    cols = np.minimum(np.arange(w) + 0.5, w - 0.5 - np.arange(w)) < width
    return rows[:, None] | cols[None, :]


def edge_guard_px(px_per_mm: float | None, params: TraceParams = TraceParams()) -> float:
    """Width of the strip an analysis leaves out along the photo's edges, px:
    ``params.edge_guard_um`` at the photo's scale (``edge_guard_px`` when
    ``px_per_mm`` is ``None``)."""
    return (params.edge_guard_px if px_per_mm is None
            else params.edge_guard_um * px_per_mm / UM_PER_MM)


def guarded_area(shape: tuple[int, ...], px_per_mm: float | None,
                 params: TraceParams = TraceParams(),
                 outside: np.ndarray | None = None) -> np.ndarray:
    """The pixels an analysis measures before markers and charts are left out:
    all but the :func:`edge_strip` ``params.edge_guard_um`` wide
    (``edge_guard_px`` when ``px_per_mm`` is ``None``).

    Parameters
    ----------
    shape : tuple of int
        Photo shape.
    px_per_mm : float or None
        The photo's scale.
    params : TraceParams
        Gives the strip's width.
    outside : ndarray of bool, shape (H, W), optional
        Pixels outside the field of view although inside the photo (a capture
        device's blank band, :func:`~scalpmetrics.segment.device_graphics`): they
        are left out, and the strip runs along them as along the photo's edge.

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    width_px = edge_guard_px(px_per_mm, params)
    strip = edge_strip(shape, width_px)
    if outside is not None and outside.any():
        width = min(float(width_px), min(shape[:2]) / 4.0)
        # Distance from each pixel centre to the nearest outside pixel's centre;
        # half a pixel less to its edge.
        dist = cv2.distanceTransform((~outside).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        strip |= dist - 0.5 < width
    return ~strip


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
