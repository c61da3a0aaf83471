"""Quality flags of global-view analyses: names and what they mean."""

from __future__ import annotations

from scalpmetrics.types import QualityFlag

__all__ = ["GLOBAL_FLAGS", "flag"]

#: name -> description of every flag a global-view analysis can raise.
GLOBAL_FLAGS: dict[str, str] = {
    "calibration_missing": (
        "No pixel scale is known; coverage does not need one, areas are in pixels."
    ),
    "low_contrast": (
        "Hair and scalp luminances are close (grey or blond hair on fair skin): coverage "
        "errors grow as the contrast falls."
    ),
    "scalp_not_seen": (
        "No bare scalp was found to learn its colour from; it was estimated from the "
        "brightest gaps. Coverage is high and barely depends on it."
    ),
    "weak_outline": (
        "The head's upper outline barely stands out from the backdrop; the head frame "
        "(and so the zones) may be misplaced."
    ),
    "head_cut_off": "The head frame reaches past the photo's edge; zones there are partial.",
    "zone_not_measured": "A zone has too few measurable pixels and is reported as null.",
    "view_uncertain": "The view was detected automatically with a small margin.",
    "contrast_mismatch": (
        "The scalp/hair contrast found differs widely between visits of one head; one "
        "colour model is likely wrong (lit hair taken for scalp): check the overlays."
    ),
    "side_uncertain": (
        "The side of the head a temporal view shows was detected with a small margin; "
        "check the zone names on the overlay."
    ),
}


def flag(name: str, *, value: float | None = None, threshold: float | None = None,
         detail: str = "") -> QualityFlag:
    """A :class:`QualityFlag` of the registry, with an optional detail appended."""
    message = GLOBAL_FLAGS[name] + (f" ({detail})" if detail else "")
    return QualityFlag(name, value=value, threshold=threshold, message=message)
