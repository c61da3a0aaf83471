"""Which standard view a photo is, and which side a temporal view shows.

Both are read from the head's layout, with a provisional hair-fraction map:

* the temporal view has the face (bare skin) low on one side and hair on the
  other; the side with the face is the front, which gives the ``side``;
* the vertex view has hair (the back of the head) at the bottom of the head;
  the midline and frontal views have the face there;
* the midline view has hair (the top of the head) in the middle of the head,
  the frontal view has the face there.

Every decision has a margin; a decision whose margin is below
``view_min_margin`` is refused (or flagged, see :func:`detect_view`).
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
    side: str | None
    margin: float


def _region_mean(values: np.ndarray, u: np.ndarray, v: np.ndarray, support: np.ndarray,
                 u_range: tuple[float, float], v_range: tuple[float, float]) -> float:
    sel = support & (u >= u_range[0]) & (u <= u_range[1]) & (v >= v_range[0]) & (v <= v_range[1])
    return float(np.clip(values[sel], 0, 1).mean()) if sel.sum() >= 20 else float("nan")


def detect_side(hair_fraction: np.ndarray, frame: HeadEllipse, support: np.ndarray) -> tuple[str, float]:
    """Side of the head a temporal view shows, and the coverage margin behind the call.

    The face (bare skin) is in the lower front of the head: the lower half
    with less hair is the front. Facing the subject's left side, the face is
    on the image's left.
    """
    u, v = frame.uv_grid(hair_fraction.shape)
    left = _region_mean(hair_fraction, u, v, support, (-0.95, -0.2), (0.0, 0.7))
    right = _region_mean(hair_fraction, u, v, support, (0.2, 0.95), (0.0, 0.7))
    if not (np.isfinite(left) and np.isfinite(right)):
        return "left", 0.0
    return ("left" if left < right else "right"), abs(left - right)


def view_features(hair_fraction: np.ndarray, frame: HeadEllipse, head: np.ndarray) -> dict[str, float]:
    """The layout figures :func:`decide_view` uses.

    ``asymmetry``: difference of hair fraction between the lower left and the
    lower right of the head (``left_minus_right`` keeps its sign);
    ``low_hair``: hair fraction in the lower middle of the head;
    ``mid_hair``: hair fraction just below the head's centre.
    """
    u, v = frame.uv_grid(head.shape)
    left = _region_mean(hair_fraction, u, v, head, (-0.95, -0.2), (0.0, 0.7))
    right = _region_mean(hair_fraction, u, v, head, (0.2, 0.95), (0.0, 0.7))
    low = _region_mean(hair_fraction, u, v, head, (-0.4, 0.4), (0.45, 0.9))
    mid = _region_mean(hair_fraction, u, v, head, (-0.4, 0.4), (-0.1, 0.25))
    diff = left - right if np.isfinite(left) and np.isfinite(right) else 0.0
    return {
        "asymmetry": abs(diff),
        "left_minus_right": diff,
        "low_hair": low if np.isfinite(low) else 0.5,
        "mid_hair": mid if np.isfinite(mid) else 0.5,
    }


def decide_view(features: dict[str, float], *, asymmetry_split: float, low_hair_split: float,
                mid_hair_split: float) -> ViewGuess:
    """Turn :func:`view_features` into a view, a side and a margin.

    Temporal when the lower halves differ (face on one side); else vertex
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
        side = "left" if features["left_minus_right"] < 0 else "right"
        return ViewGuess("temporal", side, m1)
    m2 = margin(features["low_hair"], low_hair_split)
    if features["low_hair"] >= low_hair_split:
        return ViewGuess("vertex", None, min(m1, m2))
    m3 = margin(features["mid_hair"], mid_hair_split)
    view = "midline" if features["mid_hair"] >= mid_hair_split else "frontal"
    return ViewGuess(view, None, min(m1, m2, m3))
