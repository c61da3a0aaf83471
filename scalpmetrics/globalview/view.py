"""Which standard view a photo is, and which side a temporal view shows.

Both are read from the head's layout:

* the temporal view has the face (bare skin) low on one side and hair on the
  other; the side with the face is the front, which gives the ``side``
  (:func:`detect_side` reads it from colours alone, with no colour model;
  its margin also decides whether the view is temporal at all);
* the vertex view has hair (the back of the head) at the bottom of the head;
  the midline and frontal views have the face there;
* the midline view has hair (the top of the head) in the middle of the head,
  the frontal view has the face there (these two read a provisional
  hair-fraction map).

Every decision has a margin; a decision whose margin is below
``view_min_margin`` is refused (and below ``view_flag_margin`` flagged).
Limits: every cue is hair against skin, so heavy thinning blurs them (a bald
crown looks like a face); give the view when the photo is of an advanced case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalpmetrics.globalview.geometry import HeadEllipse

__all__ = ["ViewGuess", "detect_side", "view_features", "decide_view"]


@dataclass(frozen=True)
class ViewGuess:
    """A detected view and the smallest margin of the decisions that led to it."""

    view: str
    margin: float


#: Regions of :func:`detect_side`, ``(u range, v range)`` in head coordinates.
_SIDE_TOP = ((-0.5, 0.5), (-0.95, -0.6))
_SIDE_LEFT = ((-0.95, -0.2), (0.0, 0.7))
_SIDE_RIGHT = ((0.2, 0.95), (0.0, 0.7))
_MIN_REGION_PIXELS = 20


def _region(u: np.ndarray, v: np.ndarray, support: np.ndarray,
            u_range: tuple[float, float], v_range: tuple[float, float]) -> np.ndarray:
    """Support pixels inside a box of head coordinates."""
    return support & (u >= u_range[0]) & (u <= u_range[1]) & (v >= v_range[0]) & (v <= v_range[1])


def _region_mean(values: np.ndarray, u: np.ndarray, v: np.ndarray, support: np.ndarray,
                 u_range: tuple[float, float], v_range: tuple[float, float]) -> float:
    sel = _region(u, v, support, u_range, v_range)
    if sel.sum() < _MIN_REGION_PIXELS:
        return float("nan")
    return float(np.clip(values[sel], 0, 1).mean())


def detect_side(features: np.ndarray, frame: HeadEllipse, support: np.ndarray) -> tuple[str, float]:
    """Side of the head a temporal view shows, and the relative margin behind the call.

    The top of the head is hair in a temporal view; of the lower front and
    the lower back, the back (behind the ear, down to the nape) is hair too,
    the front is the face. The lower quarter whose colour lies further from
    the top's is the face; facing the subject's left side, the face is on the
    image's left. Colours are compared as :func:`~scalpmetrics.globalview.head.colour_features`
    (log luminance and log-chromaticities), so no colour model is needed.

    Parameters
    ----------
    features : ndarray, shape (H, W, 3)
        Colour features of the photo.
    frame : HeadEllipse
        Head frame in the same pixels.
    support : ndarray of bool, shape (H, W)
        Measurable head pixels.

    Returns
    -------
    side : {'left', 'right'}
    margin : float
        ``|d_left - d_right| / max(d_left, d_right)`` of the two colour
        distances (0 = no idea, 1 = certain).
    """
    u, v = frame.uv_grid(features.shape)
    top, left, right = (_region(u, v, support, *box) for box in (_SIDE_TOP, _SIDE_LEFT, _SIDE_RIGHT))
    if min(top.sum(), left.sum(), right.sum()) < _MIN_REGION_PIXELS:
        return "left", 0.0
    ref = np.median(features[top], axis=0)
    d_left = float(np.median(np.linalg.norm(features[left] - ref, axis=-1)))
    d_right = float(np.median(np.linalg.norm(features[right] - ref, axis=-1)))
    margin = abs(d_left - d_right) / max(d_left, d_right, 1e-9)
    return ("left" if d_left > d_right else "right"), margin


def view_features(hair_fraction: np.ndarray, frame: HeadEllipse, head: np.ndarray) -> dict[str, float]:
    """The hair-layout figures :func:`decide_view` uses besides the side margin.

    ``low_hair``: hair fraction in the lower middle of the head;
    ``mid_hair``: hair fraction just below the head's centre.
    """
    u, v = frame.uv_grid(head.shape)
    low = _region_mean(hair_fraction, u, v, head, (-0.4, 0.4), (0.45, 0.9))
    mid = _region_mean(hair_fraction, u, v, head, (-0.4, 0.4), (-0.1, 0.25))
    return {
        "low_hair": low if np.isfinite(low) else 0.5,
        "mid_hair": mid if np.isfinite(mid) else 0.5,
    }


def decide_view(features: dict[str, float], *, asymmetry_split: float, low_hair_split: float,
                mid_hair_split: float) -> ViewGuess:
    """Turn :func:`view_features` and the temporal side's margin into a view and a margin.

    ``features["asymmetry"]`` is the margin of :func:`detect_side` measured
    in a temporal head frame. Temporal when it is large (the face on one
    side, hair on the other); else vertex
    when the lower middle is hair (the back of the head); else midline when
    the middle is hair (the top of the head, the forehead lower down); else
    frontal (the face fills the middle). Each decision's margin is the
    distance of its feature from the split, divided by the split's distance
    to the nearer end of [0, 1]; the guess's margin is the smallest of the
    decisions taken.
    """
    def margin(x: float, split: float) -> float:
        return abs(x - split) / max(min(split, 1.0 - split), 1e-6)

    m1 = margin(features["asymmetry"], asymmetry_split)
    if features["asymmetry"] >= asymmetry_split:
        return ViewGuess("temporal", m1)
    m2 = margin(features["low_hair"], low_hair_split)
    if features["low_hair"] >= low_hair_split:
        return ViewGuess("vertex", min(m1, m2))
    m3 = margin(features["mid_hair"], mid_hair_split)
    view = "midline" if features["mid_hair"] >= mid_hair_split else "frontal"
    return ViewGuess(view, min(m1, m2, m3))
