"""The provenance record of a comparison: versions, parameters and inputs."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from typing import Any

import numpy as np

from scalpmetrics import __version__
from scalpmetrics.params import Params
from scalpmetrics.types import Photo


def _provenance(photos: Sequence[Photo], params: Params) -> dict[str, Any]:
    """Versions, parameters, inputs and processor (:func:`scalpmetrics.analysis.processor_record`)."""
    import cv2
    import scipy

    from scalpmetrics.analysis import processor_record

    return {
        "scalpmetrics_version": __version__,
        "parameters": params.to_dict(),
        "parameters_digest": params.digest(),
        "input_sha256": [p.sha256 for p in photos],
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "opencv_version": cv2.__version__,
        "scipy_version": scipy.__version__,
        **processor_record(),
    }
