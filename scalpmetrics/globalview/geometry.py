"""The head frame: normalized head coordinates and their fit to a head outline.

Every global view is measured in *normalized head coordinates* ``(u, v)``:
the fitted head ellipse is the unit circle, ``u`` runs along the ellipse axis
nearest to the image's horizontal (towards the image's right), ``v`` along the
other axis (towards the image's bottom). Zone templates are drawn in these
coordinates, and two photos of the same head are aligned by mapping one
ellipse onto the other (an affine map: the hair plays no part in it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


__all__ = ["HeadEllipse", "FrameFit", "fit_head_frame", "transform_between"]


@dataclass(frozen=True)
class HeadEllipse:
    """An ellipse in pixel coordinates (x = column, y = row).

    Attributes
    ----------
    center_xy_px : tuple of float
        Centre ``(x, y)``.
    semi_axes_px : tuple of float
        ``(a, b)``: semi-axis along ``u`` (the near-horizontal axis) and along ``v``.
    angle_deg : float
        Angle of the ``u`` axis from the image's x axis, in degrees, positive
        towards +y (clockwise on screen); always in ``(-45, 45]``.
    """

    center_xy_px: tuple[float, float]
    semi_axes_px: tuple[float, float]
    angle_deg: float

    @classmethod
    def from_cv(cls, box: tuple[tuple[float, float], tuple[float, float], float]) -> "HeadEllipse":
        """From OpenCV's ``((cx, cy), (width, height), angle)`` rotated-rect form.

        The axis closest to the image horizontal becomes ``u``.
        """
        (cx, cy), (w, h), ang = box
        a, b, ang = 0.5 * float(w), 0.5 * float(h), float(ang)
        ang = (ang + 90.0) % 180.0 - 90.0  # (-90, 90]
        if ang > 45.0:
            a, b, ang = b, a, ang - 90.0
        elif ang <= -45.0:
            a, b, ang = b, a, ang + 90.0
        return cls((float(cx), float(cy)), (a, b), ang)

    @property
    def mean_radius_px(self) -> float:
        """Geometric mean of the semi-axes (the head's size), px."""
        return math.sqrt(self.semi_axes_px[0] * self.semi_axes_px[1])

    def matrix(self) -> np.ndarray:
        """3x3 homogeneous matrix taking ``(u, v, 1)`` to pixel ``(x, y, 1)``."""
        t = math.radians(self.angle_deg)
        c, s = math.cos(t), math.sin(t)
        a, b = self.semi_axes_px
        cx, cy = self.center_xy_px
        return np.array([[a * c, -b * s, cx], [a * s, b * c, cy], [0.0, 0.0, 1.0]])

    def to_pixels(self, uv: np.ndarray) -> np.ndarray:
        """Map normalized points, shape (N, 2), to pixel ``(x, y)``, shape (N, 2)."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        m = self.matrix()
        return uv @ m[:2, :2].T + m[:2, 2]

    def to_normalized(self, xy: np.ndarray) -> np.ndarray:
        """Map pixel points ``(x, y)``, shape (N, 2), to normalized ``(u, v)``."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        inv = np.linalg.inv(self.matrix())
        return xy @ inv[:2, :2].T + inv[:2, 2]

    def uv_grid(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Normalized coordinates of every pixel centre of an image of ``shape``.

        Returns
        -------
        u, v : ndarray, shape (H, W), float32
        """
        h, w = shape[:2]
        inv = np.linalg.inv(self.matrix())
        xs = np.arange(w, dtype=np.float64)
        ys = np.arange(h, dtype=np.float64)
        u = (inv[0, 0] * xs[None, :] + inv[0, 1] * ys[:, None] + inv[0, 2]).astype(np.float32)
        v = (inv[1, 0] * xs[None, :] + inv[1, 1] * ys[:, None] + inv[1, 2]).astype(np.float32)
        return u, v

    def scaled(self, factor: float) -> "HeadEllipse":
        """The same ellipse in an image resized by ``factor`` (pixel centres kept aligned)."""
        cx, cy = self.center_xy_px
        a, b = self.semi_axes_px
        return HeadEllipse(
            ((cx + 0.5) * factor - 0.5, (cy + 0.5) * factor - 0.5),
            (a * factor, b * factor),
            self.angle_deg,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "center_xy_px": [float(v) for v in self.center_xy_px],
            "semi_axes_px": [float(v) for v in self.semi_axes_px],
            "angle_deg": float(self.angle_deg),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "HeadEllipse":
        """Inverse of :meth:`to_dict`."""
        cx, cy = (float(v) for v in data["center_xy_px"])
        a, b = (float(v) for v in data["semi_axes_px"])
        return cls((cx, cy), (a, b), float(data["angle_deg"]))


def transform_between(source: HeadEllipse, target: HeadEllipse) -> np.ndarray:
    """3x3 matrix taking pixels of the ``source`` photo to the same head point in ``target``.

    Examples
    --------
    >>> e1 = HeadEllipse((100.0, 80.0), (50.0, 60.0), 0.0)
    >>> e2 = HeadEllipse((120.0, 90.0), (100.0, 120.0), 0.0)
    >>> (transform_between(e1, e2) @ [150.0, 80.0, 1.0]).round(3).tolist()
    [220.0, 90.0, 1.0]
    """
    return target.matrix() @ np.linalg.inv(source.matrix())


@dataclass(frozen=True)
class FrameFit:
    """A head frame fitted to the upper outline of a head mask.

    Attributes
    ----------
    ellipse : HeadEllipse
        Upright ellipse through the head's top, as wide as the head.
    rms_residual_fraction : float
        Root-mean-square misfit of the half-widths in the band, fraction of
        the half-width ``a`` (large values mean the outline is not head-like).
    rows : int
        Rows of the band the fit used.
    """

    ellipse: HeadEllipse
    rms_residual_fraction: float
    rows: int


def fit_head_frame(
    mask: np.ndarray,
    *,
    aspect: float,
    band_v: tuple[float, float],
    iterations: int = 4,
) -> FrameFit | None:
    """Fit an upright head frame to the upper outline of ``mask``.

    The frame is the upright ellipse of semi-axes ``(a, aspect * a)`` whose
    top touches the head's top and whose width matches the head's width in a
    band of rows well above the ears (normalized heights ``band_v``, for
    example ``(-0.92, -0.3)``). Only the upper outline is used: it is against
    the backdrop in every standard view, while the widest point of the head
    is hidden by the ears and its lower outline by the neck, the shoulders
    or (in top views) the face in front of the clothing. Fitting the height
    of the ellipse as well would rest on the flat top of the width profile
    and is not reliable, so the height is a fixed ratio of the width.

    Parameters
    ----------
    mask : ndarray of bool or float, shape (H, W)
        The head (and whatever joins it below), holes filled; or the share of
        every pixel that the head covers (0..1, a sub-pixel outline), whose
        row sums are then the head's widths.
    aspect : float
        ``b / a`` of the frame.
    band_v : tuple of float
        Band of normalized heights whose half-widths are fitted.
    iterations : int
        Refits of the band (it moves with the estimate).

    Returns
    -------
    FrameFit or None
        ``None`` when the mask has too few rows in the band.
    """
    from scipy.optimize import least_squares

    m = np.asarray(mask)
    m = m.astype(np.float64) if m.dtype != bool else m
    rows = np.flatnonzero((m >= 0.5).any(axis=1))
    if rows.size < 8:
        return None
    counts = m.sum(axis=1).astype(np.float64)
    half = counts / 2.0
    cols = np.arange(m.shape[1], dtype=np.float64)
    mid = (m * cols).sum(axis=1) / np.maximum(counts, 1.0)
    ys = np.arange(m.shape[0], dtype=np.float64)
    top = float(rows[0]) - 0.5  # the top edge of the first row
    a = float(half[rows[: max(3, rows.size // 4)]].max())
    sel = np.zeros(0, dtype=int)

    def resid(x: np.ndarray) -> np.ndarray:
        aa, tt = x
        bb = aspect * aa
        vv = (ys[sel] - tt - bb) / bb
        return (half[sel] - aa * np.sqrt(np.clip(1.0 - vv * vv, 0.0, None))) / aa

    for _ in range(iterations):
        b = aspect * a
        v = (ys - top - b) / b
        sel = np.flatnonzero((v >= band_v[0]) & (v <= band_v[1]) & (counts > 0))
        if sel.size < 4:
            return None
        sol = least_squares(resid, [a, top], loss="soft_l1", f_scale=0.02)
        a, top = float(sol.x[0]), float(sol.x[1])
        if not (np.isfinite(a) and a > 1.0):
            return None
    rms = float(np.sqrt(np.mean(resid(np.array([a, top])) ** 2)))
    cx = float(np.median(mid[sel]))
    b = aspect * a
    return FrameFit(HeadEllipse((cx, top + b), (a, b), 0.0), rms, int(sel.size))
