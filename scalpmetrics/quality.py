"""The one registry of quality flags, and the checks that raise them.

Every flag has a name, a description and (where it is measured) the figure
and threshold that raised it. Clinic software may refuse photos on any flag.
"""

from __future__ import annotations

from scalpmetrics.types import Calibration, QualityFlag

#: name -> description of every flag scalpmetrics can raise.
FLAGS: dict[str, str] = {
    "calibration_missing": (
        "No pixel scale is known: density, widths and areas are null; "
        "coverage is still reported."
    ),
}


def calibration_flags(calibration: Calibration) -> list[QualityFlag]:
    """``calibration_missing`` when the photo has no pixel scale."""
    if calibration.is_known:
        return []
    return [QualityFlag("calibration_missing", message=FLAGS["calibration_missing"])]
