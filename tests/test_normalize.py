"""Tests of colour and illumination normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.normalize import luminance, normalize_photo, skin_background
from scalpmetrics.synthetic import make_phantom

PPM = 80.0


def _skin_only(ph) -> np.ndarray:
    """Pixels far from any hair."""
    from scipy import ndimage

    return ~ndimage.binary_dilation(ph.hair_fraction > 0, iterations=6)


def test_output_type_range_and_input_untouched():
    ph = make_phantom(seed=3, width_px=160, height_px=122, px_per_mm=PPM)
    before = ph.image.copy()
    out = normalize_photo(ph.image, px_per_mm=PPM)
    assert out.dtype == np.float32 and out.shape == ph.image.shape
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(ph.image, before)


def test_uneven_light_is_flattened():
    ph = make_phantom(seed=5, width_px=320, height_px=242, px_per_mm=PPM,
                      illumination_gradient=0.7, density_per_cm2=80.0)
    skin = _skin_only(ph)
    raw_lum = luminance(ph.image.astype(np.float32) / 255.0)
    out_lum = luminance(normalize_photo(ph.image, px_per_mm=PPM))
    # Mean skin brightness of the four quadrants: spread falls sharply.
    def quadrant_spread(lum):
        h, w = lum.shape
        means = [lum[r:r + h // 2, c:c + w // 2][skin[r:r + h // 2, c:c + w // 2]].mean()
                 for r in (0, h // 2) for c in (0, w // 2)]
        return (max(means) - min(means)) / np.mean(means)
    assert quadrant_spread(out_lum) < 0.25 * quadrant_spread(raw_lum)


def test_colour_cast_is_removed():
    ph = make_phantom(seed=7, width_px=240, height_px=182, px_per_mm=PPM,
                      white_balance=(1.3, 1.0, 0.7), density_per_cm2=80.0)
    out = normalize_photo(ph.image, px_per_mm=PPM)
    skin_rgb = out[_skin_only(ph)].mean(axis=0)
    assert np.ptp(skin_rgb) / skin_rgb.mean() < 0.03


def test_uint16_matches_uint8():
    ph = make_phantom(seed=2, width_px=120, height_px=98, px_per_mm=PPM)
    a = normalize_photo(ph.image, px_per_mm=PPM)
    b = normalize_photo(ph.image.astype(np.uint16) * 257, px_per_mm=PPM)
    np.testing.assert_allclose(a, b, atol=2e-3)


def test_uncalibrated_runs():
    ph = make_phantom(seed=2, width_px=120, height_px=98, px_per_mm=PPM)
    out = normalize_photo(ph.image, px_per_mm=None)
    assert out.shape == ph.image.shape


def test_background_ignores_dark_hair():
    rng = np.random.default_rng(0)
    img = np.full((100, 130, 3), 0.7, np.float32) + rng.normal(0, 0.01, (100, 130, 3)).astype(np.float32)
    img[:, ::4] = 0.1  # a quarter of the pixels are dark "hair" columns
    bg = skin_background(img, sigma_px=20.0)
    assert np.abs(bg - 0.7).max() < 0.03


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8),
                                 np.zeros((10, 10, 3), np.int32)])
def test_bad_input_is_refused(bad):
    with pytest.raises(ImageArrayError):
        normalize_photo(bad, px_per_mm=PPM)
