"""Colour and illumination normalisation of a scalp photo.

The photo is divided, channel by channel, by a smooth estimate of the skin
colour under the local illumination, then scaled to the photo's mean
skin brightness. This removes uneven lighting (vignetting, a side lamp) and
colour casts at once: skin becomes a flat neutral grey, hair keeps its
contrast to the skin in every channel.

The skin estimate must ignore hair, dark or light, however much of the
photo it covers. On tiles of the photo the commonest shade (the peak of the
log-luminance histogram, pooled with neighbouring tiles) is taken as skin
(:func:`skin_colour_grid`); the pixels close to that rough skin colour are
then averaged with Gaussian weights (:func:`skin_background`). The scale is
``flat_field_sigma_mm``, but never more than ``flat_field_sigma_fraction`` of
the shorter image side (lighting varies over the field of view, whatever its
size); without a pixel scale it is that fraction.
"""

from __future__ import annotations

import cv2
import numpy as np

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.params import NormalizeParams
from scalpmetrics.selection import median, quantile

__all__ = ["normalize_photo", "luminance"]

_LUMA_RGB = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
_EPS = np.float32(1.0 / 255.0)


def luminance(image: np.ndarray) -> np.ndarray:
    """Linear-weight luminance of a float RGB image.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        RGB in [0, 1].

    Returns
    -------
    ndarray, shape (H, W), float32
        Rec. 709 weighted sum of the channels.
    """
    return cv2.transform(np.ascontiguousarray(image, dtype=np.float32), _LUMA_RGB[None, :])


def _to_float(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ImageArrayError(f"expected RGB pixels of shape (H, W, 3), got {pixels.shape}")
    if pixels.dtype == np.uint8:
        scale = 1.0 / 255.0
    elif pixels.dtype == np.uint16:
        scale = 1.0 / 65535.0
    elif np.issubdtype(pixels.dtype, np.floating):
        scale = 1.0
    else:
        raise ImageArrayError(f"unsupported pixel type {pixels.dtype}")
    return pixels.astype(np.float32) * np.float32(scale)


def _smoothing_sigma_px(shape: tuple[int, ...], px_per_mm: float | None,
                        params: NormalizeParams) -> float:
    by_size = params.flat_field_sigma_fraction * min(shape[0], shape[1])
    if px_per_mm is not None:
        return min(params.flat_field_sigma_mm * px_per_mm, by_size)
    return by_size


def skin_colour_grid(image: np.ndarray, *, tile_px: float,
                     params: NormalizeParams = NormalizeParams()) -> np.ndarray:
    """Most common colour of each tile of the photo: the skin, wherever hair
    covers less of the tile than the commonest skin shade does.

    The log luminance of a strided sample of each tile is histogrammed; the
    histograms of neighbouring tiles are pooled, the peak bin is taken as the
    skin shade, and the tile's colour is the mean RGB of its samples within
    one bin of that peak. Hair of any colour, light or dark, spreads over
    other bins (shaft edges, highlights) and does not move the peak unless it
    covers most of the pooled neighbourhood.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        RGB in [0, 1].
    tile_px : float
        Tile side, pixels.
    params : NormalizeParams
        Uses ``mode_bins``, ``mode_samples_per_tile``.

    Returns
    -------
    ndarray, shape (ceil(H / tile), ceil(W / tile), 3), float32
        Skin colour per tile (positive).
    """
    h, w = image.shape[:2]
    tile = max(2, int(round(tile_px)))
    stride = max(1, int(tile / np.sqrt(params.mode_samples_per_tile)))
    sample = image[stride // 2::stride, stride // 2::stride]
    rows = (np.arange(sample.shape[0]) * stride + stride // 2) // tile
    cols = (np.arange(sample.shape[1]) * stride + stride // 2) // tile
    nty, ntx = -(-h // tile), -(-w // tile)
    tile_id = (rows[:, None] * ntx + cols[None, :]).ravel()
    rgb = sample.reshape(-1, 3)
    lum = np.log(rgb @ _LUMA_RGB + np.float32(1.0 / 255.0))
    lo, hi = quantile(lum, [0.002, 0.998])
    bins = params.mode_bins
    # The bin of each sample (clipped before the truncation: the same bins,
    # sooner; each step in place).
    b = lum - lo
    b /= max(hi - lo, 1e-6)
    b *= bins
    b = np.clip(b, 0, bins - 1, out=b).astype(np.int16)
    key = tile_id * bins
    key += b
    hist = np.bincount(key, minlength=nty * ntx * bins).astype(np.float32)
    hist = hist.reshape(nty, ntx, bins)
    # Pool each tile with its neighbours (3x3 tiles) and neighbouring bins.
    pooled = cv2.blur(hist, (3, 3), borderType=cv2.BORDER_REPLICATE) if min(nty, ntx) > 0 else hist
    pooled = pooled.reshape(nty, ntx, bins)
    pooled = pooled + 0.5 * (np.roll(pooled, 1, axis=2) + np.roll(pooled, -1, axis=2))
    # Each sample's tile mode: the tiles' modes repeated over their samples.
    mode = pooled.argmax(axis=2).astype(np.int16)
    mode = np.repeat(np.repeat(mode, np.bincount(rows, minlength=nty), axis=0),
                     np.bincount(cols, minlength=ntx), axis=1).ravel()
    # The samples within one bin of their tile's mode (taken by index: faster
    # than a boolean selection of rows).
    near = np.flatnonzero(np.abs(b - mode) <= 1)
    near_id = tile_id.take(near)
    near_rgb = rgb.take(near, axis=0)
    weight = np.bincount(near_id, minlength=nty * ntx).astype(np.float64)
    colour = np.stack([np.bincount(near_id, weights=near_rgb[:, c], minlength=nty * ntx)
                       for c in range(3)], axis=1)
    colour /= np.maximum(weight, 1)[:, None]
    if not weight.all():
        colour[weight == 0] = [median(rgb[:, c]) for c in range(3)]
    return np.maximum(colour.reshape(nty, ntx, 3).astype(np.float32), np.float32(1.0 / 255.0))


def skin_background(image: np.ndarray, *, sigma_px: float,
                    params: NormalizeParams = NormalizeParams()) -> np.ndarray:
    """Smooth per-channel estimate of the skin colour under the local light.

    A rough estimate from :func:`skin_colour_grid` (tiles of ``sigma_px``)
    picks the skin pixels (those within ``skin_tolerance_log`` of it in every
    channel) of a strided sample of the photo; their Gaussian-weighted mean
    at scale ``sigma_px`` is the estimate.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        RGB in [0, 1].
    sigma_px : float
        Gaussian scale of the estimate, pixels of ``image``.
    params : NormalizeParams
        Normalisation parameters.

    Returns
    -------
    ndarray, shape (H, W, 3), float32
        Positive skin colour estimate, same size as ``image``.
    """
    h, w = image.shape[:2]
    grid = skin_colour_grid(image, tile_px=sigma_px, params=params)
    tile = max(2, int(round(sigma_px)))
    # At most the shorter side: a tiny photo still gets one sample row and column.
    stride = max(1, min(int(sigma_px / params.background_samples_per_sigma), h, w))
    small = np.ascontiguousarray(image[stride // 2::stride, stride // 2::stride])
    sh, sw = small.shape[:2]
    # Tile colours placed at their tile centres, on the sample grid.
    rough = cv2.resize(grid, (grid.shape[1] * tile, grid.shape[0] * tile),
                       interpolation=cv2.INTER_LINEAR)[stride // 2:h:stride, stride // 2:w:stride]
    rough = np.ascontiguousarray(rough[:sh, :sw])
    dev = np.abs(cv2.log(small + _EPS) - cv2.log(rough + _EPS)).max(axis=2)
    weight = (dev < params.skin_tolerance_log).astype(np.float32)
    sigma_small = sigma_px / stride
    blur = lambda a: cv2.GaussianBlur(a, (0, 0), sigma_small, borderType=cv2.BORDER_REFLECT)
    wsum = blur(weight)[..., None]
    est = blur(small * weight[..., None]) / np.maximum(wsum, 1e-6)
    est = np.where(wsum > params.min_skin_weight_fraction, est, blur(rough))
    est = np.maximum(est, _EPS)
    return cv2.resize(est, (w, h), interpolation=cv2.INTER_LINEAR)


def normalize_photo(pixels: np.ndarray, *, px_per_mm: float | None,
                    params: NormalizeParams = NormalizeParams()) -> np.ndarray:
    """White-balance and flat-field a scalp photo.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8 or uint16
        RGB photo. Not modified.
    px_per_mm : float or None
        Pixel scale; sets the width of the illumination estimate. When
        ``None`` the width is ``params.flat_field_sigma_fraction`` of the
        shorter image side.
    params : NormalizeParams
        Normalisation parameters.

    Returns
    -------
    ndarray, shape (H, W, 3), float32
        RGB in [0, 1]: skin a flat neutral grey at the photo's mean skin
        luminance, hair with
        its contrast to the skin kept in each channel.

    Raises
    ------
    ImageArrayError
        When ``pixels`` is not an (H, W, 3) RGB array of a supported type.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.linspace(60, 200, 64, dtype=np.float32)[None, :, None]
    >>> photo = np.broadcast_to(ramp * np.array([1.0, 0.8, 0.6]), (48, 64, 3)).astype(np.uint8)
    >>> out = normalize_photo(photo, px_per_mm=None)
    >>> bool(np.ptp(out[24, 8:-8]) < 0.05 and np.ptp(out[24, 32]) < 0.02)
    True
    """
    image = _to_float(pixels)
    sigma_px = _smoothing_sigma_px(image.shape, px_per_mm, params)
    background = skin_background(image, sigma_px=sigma_px, params=params)
    level = float(luminance(background).mean())
    out = image / background
    out *= np.float32(level)
    np.clip(out, 0.0, 1.0, out=out)
    return out
