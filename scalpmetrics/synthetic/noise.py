"""Random fields and dot drawing for textures: smooth noise, cell networks, discs."""

from __future__ import annotations

import math

import cv2
import numpy as np


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell_x: float,
                  cell_y: float | None = None, angle: float = 0.0) -> np.ndarray:
    """Zero-mean, unit-variance smooth random field, float32 ``shape``.

    ``cell_x`` / ``cell_y`` are the feature sizes in px along / across the
    direction ``angle`` (radians)."""
    h, w = shape
    cell_y = cell_x if cell_y is None else cell_y
    side = int(math.ceil(math.hypot(h, w))) + 4 if angle else None
    gh_px, gw_px = (side, side) if side else (h, w)
    gw = max(2, int(math.ceil(gw_px / max(cell_x, 1.0))) + 3)
    gh = max(2, int(math.ceil(gh_px / max(cell_y, 1.0))) + 3)
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    fx, fy = max(cell_x, 1.0), max(cell_y, 1.0)
    up = cv2.resize(grid, (int(gw * fx), int(gh * fy)), interpolation=cv2.INTER_CUBIC)
    if side:
        ucx, ucy = up.shape[1] / 2.0, up.shape[0] / 2.0
        rot = cv2.getRotationMatrix2D((ucx, ucy), math.degrees(angle), 1.0)
        rot[0, 2] -= ucx - w / 2.0
        rot[1, 2] -= ucy - h / 2.0
        field = cv2.warpAffine(up, rot, (w, h), flags=cv2.INTER_LINEAR)
    else:
        ox, oy = int(fx), int(fy)
        field = up[oy:oy + h, ox:ox + w]
    if cell_x < 1.5:
        field = cv2.GaussianBlur(field, (0, 0), max(cell_x, 0.5) * 0.5)
    mean, std = cv2.meanStdDev(field)
    field = field - np.float32(mean[0, 0])
    field *= np.float32(1.0 / (std[0, 0] + 1e-6))
    return field


def _cell_network(rng: np.random.Generator, shape: tuple[int, int], cell_px: float,
                  line_px: float) -> np.ndarray:
    """Honeycomb network (pigment network), float32 in [0, 1], 1 on the cell walls."""
    h, w = shape
    n = max(1, int(h * w / cell_px**2))
    seeds = np.ones((h, w), np.uint8)
    seeds[rng.integers(0, h, n), rng.integers(0, w, n)] = 0
    _, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    walls = np.zeros((h, w), np.float32)
    walls[:, 1:] += labels[:, 1:] != labels[:, :-1]
    walls[1:, :] += labels[1:, :] != labels[:-1, :]
    walls = cv2.GaussianBlur(np.minimum(walls, 1.0), (0, 0), max(line_px, 0.5))
    return walls / (walls.max() + 1e-6)


def _dots(layer: np.ndarray, xy: np.ndarray, radius_px: np.ndarray,
          value: np.ndarray | float = 1.0, axes_ratio: np.ndarray | None = None,
          angle_deg: np.ndarray | None = None) -> None:
    """Draw filled anti-aliased discs (or ellipses) into a float32 layer in place."""
    f = 1 << 4
    vals = np.broadcast_to(np.asarray(value, np.float64), (len(xy),))
    for i, ((x, y), r) in enumerate(zip(xy, radius_px)):
        centre = (int(round(x * f)), int(round(y * f)))
        if axes_ratio is None:
            cv2.circle(layer, centre, max(1, int(round(r * f))), float(vals[i]), -1,
                       cv2.LINE_AA, 4)
        else:
            axes = (max(1, int(round(r * f))), max(1, int(round(r * axes_ratio[i] * f))))
            ang = float(angle_deg[i]) if angle_deg is not None else 0.0
            cv2.ellipse(layer, centre, axes, ang, 0, 360, float(vals[i]), -1, cv2.LINE_AA, 4)
