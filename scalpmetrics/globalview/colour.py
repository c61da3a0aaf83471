"""Linear-light helpers: coverage is an area average, so it is computed in linear light.

An sRGB pixel value is not proportional to light; a pixel half covered by
dark hair is not half as bright in sRGB. Decoding to linear light makes the
pixel the area average of what it shows, and a reduced copy made by area
averaging shows the same coverage as the full photo.
"""

from __future__ import annotations

import cv2
import numpy as np

from scalpmetrics.errors import ImageArrayError

__all__ = ["to_linear", "luminance", "area_resize", "LUMA_RGB"]

#: Rec. 709 luminance weights of linear RGB.
LUMA_RGB = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def to_linear(pixels: np.ndarray) -> np.ndarray:
    """Decode sRGB pixels to linear light.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8 or uint16
        sRGB photo.

    Returns
    -------
    ndarray, shape (H, W, 3), float32
        Linear RGB in [0, 1]; a new array.

    Examples
    --------
    >>> float(to_linear(np.full((1, 1, 3), 255, np.uint8))[0, 0, 0])
    1.0
    """
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ImageArrayError(f"expected RGB pixels of shape (H, W, 3), got {pixels.shape}")
    if pixels.dtype == np.uint8:
        lut = np.arange(256, dtype=np.float32) / 255.0
        lut = np.where(lut <= 0.04045, lut / 12.92, ((lut + 0.055) / 1.055) ** 2.4).astype(np.float32)
        return lut[pixels]
    if pixels.dtype == np.uint16:
        v = pixels.astype(np.float32) / 65535.0
        return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)
    raise ImageArrayError(f"pixels must be uint8 or uint16, got {pixels.dtype}")


def luminance(linear: np.ndarray) -> np.ndarray:
    """Luminance of linear RGB, shape (H, W), float32."""
    return cv2.transform(np.ascontiguousarray(linear, dtype=np.float32), LUMA_RGB[None, :])


def area_resize(image: np.ndarray, factor: float) -> np.ndarray:
    """Resize by ``factor`` (at most 1) with area averaging; the input is unchanged.

    Area averaging of linear light keeps every region's mean (its coverage).
    """
    if factor >= 1.0:
        return image.copy()
    h, w = image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
