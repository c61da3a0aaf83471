"""Zone templates of the standardized global views, fitted to the head.

Each view has a template: named polygons in normalized head coordinates
``(u, v)`` (the head ellipse is the unit circle, ``u`` towards the image's
right, ``v`` towards its bottom; see :mod:`~scalpmetrics.globalview.geometry`).
A template is mapped into a photo through the photo's fitted head ellipse, and
every zone is clipped to the disc of radius ``rim_fraction`` so that the
head's outline (mixed with backdrop) is never measured.

Photo conventions the templates assume (standardized global photography):

``vertex``
    Camera above and behind the head, aimed at the crown; forehead towards
    the top edge, the subject's right on the image's right.
``midline``
    Camera above and in front, the head bowed, the parting running up the
    middle of the photo; forehead towards the bottom edge, the subject's right
    on the image's left.
``frontal``
    Face to the camera, head upright; zones lie above the eyebrows.
``temporal``
    One side of the head to the camera, upright; zones lie above the ear.
    The face is on the image's left for the subject's left side and on the
    right for the right side (``side`` is detected from the face).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scalpmetrics.errors import HeadNotFoundError, RegionError
from scalpmetrics.globalview.geometry import HeadEllipse, fit_head_frame
from scalpmetrics.params import GlobalViewParams

__all__ = [
    "VIEWS",
    "ZoneTemplate",
    "TEMPLATES",
    "template_for",
    "zone_masks",
    "fit_outline_ellipse",
]

VIEWS = ("vertex", "midline", "frontal", "temporal")
#: Height over width of each view's head frame (a convention of the template: the
#: typical projected head; the frame's height is not fitted, see ``fit_head_frame``).
TEMPLATE_ASPECT = {"vertex": 1.3, "midline": 1.3, "frontal": 1.5, "temporal": 1.15}
_SUBPIXEL_BITS = 4


@dataclass(frozen=True)
class ZoneTemplate:
    """One zone of a view's template: a name and a polygon in ``(u, v)``."""

    name: str
    polygon_uv: tuple[tuple[float, float], ...]


def _box(u0: float, u1: float, v0: float, v1: float) -> tuple[tuple[float, float], ...]:
    return ((u0, v0), (u1, v0), (u1, v1), (u0, v1))


#: Zone templates per view, in normalized head coordinates. The temporal template
#: is for the subject's left side (face on the image's left); it is mirrored for
#: the right side. Zone edges keep a margin from the typical natural hairline so
#: that forehead and sideburn skin stay out; a receded hairline shows as
#: uncovered scalp inside the zones, as it should.
TEMPLATES: dict[str, tuple[ZoneTemplate, ...]] = {
    "vertex": (
        ZoneTemplate("frontal", _box(-0.6, 0.6, -1.0, -0.6)),
        ZoneTemplate("mid_scalp", _box(-0.42, 0.42, -0.6, -0.22)),
        ZoneTemplate("vertex", _box(-0.42, 0.42, -0.22, 0.42)),
        ZoneTemplate("right_parietal", _box(0.42, 1.0, -0.6, 0.42)),
        ZoneTemplate("left_parietal", _box(-1.0, -0.42, -0.6, 0.42)),
        ZoneTemplate("occipital", _box(-1.0, 1.0, 0.42, 0.85)),
    ),
    "midline": (
        ZoneTemplate("vertex", _box(-0.42, 0.42, -1.0, -0.45)),
        ZoneTemplate("mid_scalp", _box(-0.38, 0.38, -0.45, 0.08)),
        ZoneTemplate("frontal", _box(-0.38, 0.38, 0.08, 0.36)),
        ZoneTemplate(
            "right_parietal",
            ((-1.0, -0.6), (-0.38, -0.6), (-0.38, 0.25), (-1.0, -0.08)),
        ),
        ZoneTemplate(
            "left_parietal",
            ((0.38, -0.6), (1.0, -0.6), (1.0, -0.08), (0.38, 0.25)),
        ),
    ),
    "frontal": (
        ZoneTemplate("mid_scalp", _box(-0.45, 0.45, -1.0, -0.7)),
        ZoneTemplate("frontal", _box(-0.45, 0.45, -0.7, -0.46)),
        ZoneTemplate("right_temporal", ((-1.0, -0.85), (-0.45, -0.85), (-0.45, -0.44), (-1.0, -0.34))),
        ZoneTemplate("left_temporal", ((0.45, -0.85), (1.0, -0.85), (1.0, -0.34), (0.45, -0.44))),
    ),
    "temporal": (
        ZoneTemplate("frontal", _box(-0.75, -0.25, -1.0, -0.72)),
        ZoneTemplate("temporal", ((-0.8, -0.72), (-0.25, -0.72), (-0.25, -0.3), (-0.8, -0.6))),
        ZoneTemplate("parietal", _box(-0.25, 0.35, -1.0, -0.2)),
        ZoneTemplate(
            "occipital", ((0.35, -0.7), (1.0, -0.7), (1.0, 0.35), (0.6, 0.35), (0.35, 0.0))
        ),
    ),
}
#: Zones of the temporal view named without the side.
_MIDLINE_ZONES = ("frontal", "occipital")


def template_for(view: str, *, side: str = "left") -> tuple[ZoneTemplate, ...]:
    """The zone template of ``view``; for ``'temporal'``, of the given ``side``.

    Temporal zones are named with the side (``'left_temporal'``, ...).
    """
    if view not in TEMPLATES:
        raise RegionError(f"unknown view {view!r}: expected one of {', '.join(VIEWS)}")
    zones = TEMPLATES[view]
    if view != "temporal":
        return zones
    if side not in ("left", "right"):
        raise RegionError(f"temporal side must be 'left' or 'right', got {side!r}")
    sign = 1.0 if side == "left" else -1.0
    return tuple(
        ZoneTemplate(
            z.name if z.name in _MIDLINE_ZONES else f"{side}_{z.name}",
            tuple((sign * u, v) for u, v in z.polygon_uv),
        )
        for z in zones
    )


def rim_mask(ellipse: HeadEllipse, shape: tuple[int, ...], rim_fraction: float) -> np.ndarray:
    """Pixels within ``rim_fraction`` of the head ellipse (normalized radius)."""
    u, v = ellipse.uv_grid(shape)
    return u * u + v * v <= rim_fraction**2


def polygon_mask(points_xy: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Rasterize a pixel-coordinate polygon (pixel centres inside)."""
    mask = np.zeros(shape[:2], dtype=np.uint8)
    pts = np.round(np.asarray(points_xy) * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    return mask.astype(bool)


def zone_masks(
    view: str,
    ellipse: HeadEllipse,
    shape: tuple[int, ...],
    *,
    side: str = "left",
    params: GlobalViewParams = GlobalViewParams(),
) -> list[tuple[str, np.ndarray]]:
    """The template of ``view`` mapped into a photo of ``shape`` through ``ellipse``.

    Returns
    -------
    list of (name, ndarray of bool, shape (H, W))
        One mask per zone, clipped to the rim disc; zones do not overlap.
    """
    rim = rim_mask(ellipse, shape, params.rim_fraction)
    taken = np.zeros(shape[:2], dtype=bool)
    out = []
    for zone in template_for(view, side=side):
        mask = polygon_mask(ellipse.to_pixels(np.array(zone.polygon_uv)), shape) & rim & ~taken
        taken |= mask
        out.append((zone.name, mask))
    return out


def fit_outline_ellipse(
    mask: np.ndarray, *, view: str, params: GlobalViewParams = GlobalViewParams()
) -> HeadEllipse:
    """Fit the head frame of ``view`` to a head mask (see :func:`fit_head_frame`).

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
        The head with whatever joins it below (not the clothing, not the
        backdrop), holes filled.
    view : str
    params : GlobalViewParams

    Raises
    ------
    HeadNotFoundError
        The mask is too small, or its upper outline is not head-like.
    """
    if view not in TEMPLATE_ASPECT:
        raise RegionError(f"unknown view {view!r}: expected one of {', '.join(VIEWS)}")
    fit = fit_head_frame(
        mask,
        aspect=TEMPLATE_ASPECT[view],
        band_v=(params.frame_band_top_v, params.frame_band_bottom_v),
    )
    if fit is None:
        raise HeadNotFoundError(f"no head outline found in the {view} photo")
    if fit.rms_residual_fraction > params.frame_max_misfit_fraction:
        raise HeadNotFoundError(
            f"the upper outline of the {view} photo is not head-shaped (misfit "
            f"{fit.rms_residual_fraction:.1%} of the head width, at most "
            f"{params.frame_max_misfit_fraction:.1%} allowed)"
        )
    return fit.ellipse
