"""Float operations that give the same bits on every run.

Some OpenCV kernels take a different SIMD path depending on where NumPy
happened to allocate their output, and round differently on each path
(``cv2.magnitude`` in OpenCV 5.1 does), so the same photo could give
features that differ in the last bit from one run to the next. The
functions here use IEEE-exact steps only (each product, sum and square root
rounded once, never fused), which give the same bits on every SIMD path.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["magnitude"]


def magnitude(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Element-wise ``sqrt(x**2 + y**2)`` of two float32 arrays of one shape.

    Parameters
    ----------
    x, y : ndarray, float32
        The two components.

    Returns
    -------
    ndarray, float32
        A new array.
    """
    out = cv2.multiply(x, x)
    cv2.add(out, cv2.multiply(y, y), dst=out)
    return cv2.sqrt(out, dst=out)
