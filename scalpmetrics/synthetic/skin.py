"""Skin appearance: tone, texture and follicular openings, as layers composed to RGB."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from scalpmetrics.synthetic.camera import _apply_h
from scalpmetrics.synthetic.noise import _cell_network, _dots, _smooth_noise

#: Base skin tone per Fitzpatrick type as seen through a trichoscope.
_SKIN_RGB = {
    1: (0.93, 0.86, 0.84),
    2: (0.90, 0.81, 0.76),
    3: (0.83, 0.70, 0.60),
    4: (0.69, 0.51, 0.38),
    5: (0.51, 0.35, 0.25),
    6: (0.33, 0.22, 0.16),
}
#: Per skin type: (erythema, pigment-network strength, sheen strength, pores are white dots).
_SKIN_TRAITS = {
    1: (0.05, 0.00, 0.38, False),
    2: (0.04, 0.03, 0.38, False),
    3: (0.025, 0.07, 0.35, False),
    4: (0.015, 0.12, 0.26, True),
    5: (0.008, 0.18, 0.24, True),
    6: (0.005, 0.22, 0.22, True),
}

#: Multiplicative tint of the follicular openings and of hair seen through the skin.
_OPENING_DARKEN_RGB = (0.26, 0.22, 0.13)
_SUBSURFACE_DARKEN_RGB = (0.60, 0.50, 0.30)


@dataclass(eq=False)
class _SkinLayers:
    """Skin appearance as single-channel layers, composed once into RGB."""

    tone: np.ndarray  # (3,) base colour
    lum: np.ndarray  # (h, w) brightness multiplier
    whiten: np.ndarray  # (h, w) blend towards white
    darken: list[tuple[np.ndarray, tuple[float, float, float]]]  # (layer, per-channel)

    def compose(self) -> np.ndarray:
        """RGB raster (h, w, 3) float32."""
        h, w = self.lum.shape
        dark = np.zeros((h, w, 3), np.float32)
        for i in range(0, len(self.darken), 4):  # cv2.transform mixes up to 4 channels
            chunk = self.darken[i:i + 4]
            stack = cv2.merge([layer for layer, _ in chunk])
            tints = np.array([t for _, t in chunk], np.float32).T
            dark += cv2.transform(stack, tints).reshape(h, w, 3)
        rgb = 1 - dark
        rgb *= self.lum[..., None]
        rgb *= self.tone.astype(np.float32)
        alpha = np.clip(self.whiten, 0, 1)[..., None]
        rgb += (np.float32(0.96) - rgb) * alpha
        return rgb


def _blurred_dots(shape: tuple[int, int], sigma_px: float, xy: np.ndarray,
                  radius_px: np.ndarray, value: np.ndarray | float = 1.0,
                  axes_ratio: np.ndarray | None = None,
                  angle_deg: np.ndarray | None = None) -> np.ndarray:
    layer = np.zeros(shape, np.float32)
    _dots(layer, xy, radius_px, value, axes_ratio, angle_deg)
    return cv2.GaussianBlur(layer, (0, 0), sigma_px)


def _skin_texture(rng: np.random.Generator, shape: tuple[int, int], ppm: float,
                  skin_type: int, specks_per_mm2: float, sheen_factor: float) -> _SkinLayers:
    """Skin of one Fitzpatrick type: tone, mottling, erythema, pigment network,
    micro-relief with glistening ridges, pores, scale specks, vessels and pigment dots."""
    h, w = shape
    erythema, network, sheen, white_pores = _SKIN_TRAITS[skin_type]
    sheen *= sheen_factor
    tone = np.array(_SKIN_RGB[skin_type]) * rng.uniform(0.96, 1.04, 3)
    lum = (1 + 0.045 * _smooth_noise(rng, shape, 1.5 * ppm)
           + 0.03 * _smooth_noise(rng, shape, 0.35 * ppm)
           + 0.035 * _smooth_noise(rng, shape, 0.09 * ppm))
    red = erythema * np.clip(1 + _smooth_noise(rng, shape, 2.0 * ppm), 0, 3)
    darken = [(red, (0.0, 0.6, 0.45))]
    if network > 0:
        lum *= 1 - network * _cell_network(rng, shape, 0.22 * ppm, 0.02 * ppm)
    # micro-relief: a height field of anisotropic wrinkles and skin-line furrows, lit
    # from one side; its slopes facing the light glisten (whitish scale, sebum)
    angle = rng.uniform(0, math.pi)
    height = (_smooth_noise(rng, shape, 0.5 * ppm, 0.15 * ppm, angle)
              + 0.6 * _smooth_noise(rng, shape, 0.2 * ppm, 0.06 * ppm, angle + 0.4)
              + 0.3 * _smooth_noise(rng, shape, 0.04 * ppm))
    lines = _smooth_noise(rng, shape, 1.2 * ppm, 0.35 * ppm, angle + rng.uniform(0.5, 1.2))
    height -= 1.2 * np.exp(-(lines / 0.12) ** 2)
    light = rng.uniform(0, 2 * math.pi)
    slope = (math.cos(light) * cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3)
             + math.sin(light) * cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3))
    slope /= float(cv2.meanStdDev(slope)[1][0, 0]) + 1e-6
    lum *= 1 + 0.05 * np.clip(slope, -3, 3)
    patch = np.clip(0.45 + 0.6 * _smooth_noise(rng, shape, 0.6 * ppm), 0, 1)
    whiten = sheen * patch * np.clip(slope - 0.8, 0, 2.5) ** 1.5 / np.float32(2.5**1.5)
    area_mm2 = h * w / ppm**2
    # pores: pinpoint dots, darker on light skin, white on dark skin
    n = rng.poisson(3.0 * area_mm2)
    pores = _blurred_dots(shape, 0.008 * ppm + 0.3, rng.uniform((0, 0), (w, h), (n, 2)),
                          rng.uniform(0.012, 0.028, n) * ppm, rng.uniform(0.5, 1.0, n))
    if white_pores:
        whiten += 0.45 * pores
    else:
        lum *= 1 - 0.16 * pores
    # scale and dandruff specks
    n = rng.poisson(specks_per_mm2 * area_mm2)
    whiten += 0.55 * _blurred_dots(
        shape, 0.01 * ppm + 0.3, rng.uniform((0, 0), (w, h), (n, 2)),
        rng.uniform(0.02, 0.12, n) * ppm, rng.uniform(0.4, 1.0, n),
        rng.uniform(0.3, 0.9, n), rng.uniform(0, 180, n))
    # small vessels (red dots and commas) and pigment dots
    n = rng.poisson(0.06 * area_mm2)
    darken.append((_blurred_dots(
        shape, 0.01 * ppm + 0.3, rng.uniform((0, 0), (w, h), (n, 2)),
        rng.uniform(0.02, 0.06, n) * ppm, rng.uniform(0.5, 1.0, n),
        rng.uniform(0.25, 1.0, n), rng.uniform(0, 180, n)), (0.05, 0.45, 0.40)))
    n = rng.poisson(0.05 * area_mm2)
    darken.append((_blurred_dots(
        shape, 0.008 * ppm + 0.3, rng.uniform((0, 0), (w, h), (n, 2)),
        rng.uniform(0.015, 0.04, n) * ppm, rng.uniform(0.4, 0.9, n)), (0.40, 0.48, 0.52)))
    return _SkinLayers(tone=tone, lum=lum, whiten=whiten, darken=darken)


def _add_openings(skin: _SkinLayers, rng: np.random.Generator, sites: np.ndarray,
                  size: np.ndarray, widest_um: np.ndarray, raster_to_scalp: np.ndarray,
                  rppm: float, tattoo_xy: np.ndarray | None) -> None:
    """Add the follicular openings (fixed per site; empty ones darker or whitish),
    peripilar scale and the optional tattoo dot (scalp coordinates) to the layers."""
    shape = skin.lum.shape
    to_raster = np.linalg.inv(raster_to_scalp)
    xy = _apply_h(to_raster, sites) if len(sites) else np.zeros((0, 2))
    n = len(xy)
    radius = (rng.uniform(0.035, 0.06, n) + 0.9 * widest_um / 1000.0) * rppm
    light = (size == 0) & (rng.random(n) < 0.4)
    strength = rng.uniform(0.45, 0.9, n)
    sigma = (0.25 * float(np.median(radius)) if n else 1.0) + 0.3
    skin.darken.append((_blurred_dots(shape, sigma, xy[~light], radius[~light],
                                      strength[~light]), _OPENING_DARKEN_RGB))
    skin.whiten += 0.3 * _blurred_dots(shape, sigma, xy[light], 0.8 * radius[light],
                                       strength[light])
    # whitish peripilar scale around a third of the occupied openings
    scaly = np.nonzero((size > 0) & (rng.random(n) < 0.35))[0]
    k = 3 * len(scaly)
    centres = (np.repeat(xy[scaly], 3, 0)
               + rng.normal(0, 1, (k, 2)) * 1.5 * np.repeat(radius[scaly], 3)[:, None])
    skin.whiten += 0.5 * _blurred_dots(
        shape, 0.012 * rppm + 0.3, centres, rng.uniform(0.02, 0.07, k) * rppm,
        rng.uniform(0.3, 0.8, k), rng.uniform(0.3, 0.8, k), rng.uniform(0, 180, k))
    if tattoo_xy is not None:
        skin.darken.append((_blurred_dots(shape, 0.04 * rppm, _apply_h(to_raster, tattoo_xy)[None],
                                          np.array([0.22 * rppm]), 0.85), (0.85, 0.8, 0.6)))
