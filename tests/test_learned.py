"""The learned hair detector (the default, ``segment.method = "learned"``)."""

from __future__ import annotations

import numpy as np
import pytest

from scalpmetrics import learned
from scalpmetrics.errors import ParameterError
from scalpmetrics.learned import HairModel, load_model, pixel_features, predict_fraction
from scalpmetrics.normalize import normalize_photo
from scalpmetrics.params import SegmentParams
from scalpmetrics.segment import segment_hair_fraction, whitened_contrast
from scalpmetrics.segment.learned_detector import _learned_cores
from scalpmetrics.synthetic import make_phantom

PPM = 80.0


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum()))


def test_packaged_model_matches_its_features():
    model = load_model()
    assert len(model.weights) == len(model.biases) >= 2
    assert model.weights[0].shape[0] == model.n_features
    assert model.weights[-1].shape[1] == 1
    white = np.zeros((40, 30, 4), np.float32)
    assert pixel_features(white, 0.1, model).shape == (40, 30, model.n_features)


def _reference_forward(features: np.ndarray, model) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The model as documented by HairModel: standardise, layers, ReLU, logistic."""
    x = (features.astype(np.float64) - model.mean) / model.scale
    for k, (w, b) in enumerate(zip(model.weights, model.biases)):
        x = x @ w + b
        if k < len(model.weights) - 1:
            x = np.maximum(x, 0.0)
    return 1.0 / (1.0 + np.exp(-x[:, 0]))


def test_banded_prediction_equals_one_piece():
    # Bands of rows with margins, each evaluated in blocks of pixels (a band
    # of 256 rows of 150 px is more than one block), give the same values as
    # the whole image at once through the documented model (standardisation
    # not folded).
    rng = np.random.default_rng(3)
    model = load_model()
    white = rng.normal(0, 2, (700, 150, 4)).astype(np.float32)
    assert 256 * 150 > learned._FORWARD_BLOCK_PX
    banded = predict_fraction(white, 0.1, model)
    feats = pixel_features(white, 0.1, model)
    whole = _reference_forward(feats.reshape(-1, feats.shape[-1]), model)
    # float32 against a float64 reference: a few 1e-6 apart.
    np.testing.assert_allclose(banded, whole.reshape(700, 150), atol=5e-6)
    assert banded.min() >= 0.0 and banded.max() <= 1.0


def test_learned_detector_finds_white_hair_the_contrast_detector_misses():
    ph = make_phantom(seed=6, skin_type=3, hair_colour="white", width_px=400, height_px=302,
                      px_per_mm=PPM)
    img = normalize_photo(ph.image, px_per_mm=PPM)
    contrast = segment_hair_fraction(img, px_per_mm=PPM,
                                     params=SegmentParams(method="contrast")).mask
    learned = segment_hair_fraction(img, px_per_mm=PPM, params=SegmentParams(method="learned"))
    assert _dice(contrast, ph.hair_mask) < 0.3
    assert _dice(learned.mask, ph.hair_mask) >= 0.8
    # The fraction map estimates coverage: its mean is close to the true share.
    assert abs(float(learned.fraction.mean()) - float(ph.hair_fraction.mean())) < 0.02


def test_learned_detector_on_plain_skin_finds_nothing():
    ph = make_phantom(seed=4, skin_type=2, density_per_cm2=0.0, width_px=300, height_px=240,
                      px_per_mm=PPM)
    img = normalize_photo(ph.image, px_per_mm=PPM)
    seg = segment_hair_fraction(img, px_per_mm=PPM, params=SegmentParams(method="learned"))
    assert seg.mask.sum() < 0.002 * seg.mask.size


def test_whitened_contrast_has_the_models_channels():
    ph = make_phantom(seed=1, width_px=200, height_px=160, px_per_mm=PPM)
    img = normalize_photo(ph.image, px_per_mm=PPM)
    white = whitened_contrast(img, px_per_mm=PPM)
    assert white.shape == (160, 200, 4) and white.dtype == np.float32


def test_saved_model_loads_back(tmp_path):
    model = load_model()
    path = tmp_path / "m.npz"
    model.save(str(path))
    again = load_model(str(path))
    assert isinstance(again, HairModel)
    assert again.scales_um == model.scales_um
    for a, b in zip(again.weights, model.weights):
        np.testing.assert_array_equal(a, b)


def test_unknown_method_is_refused():
    with pytest.raises(ParameterError, match="segment.method"):
        SegmentParams(method="magic")


def test_shafts_are_traced_on_the_learned_cores():
    ph = make_phantom(seed=1, skin_type=2, width_px=400, height_px=302, px_per_mm=PPM)
    img = normalize_photo(ph.image, px_per_mm=PPM)
    learned = segment_hair_fraction(img, px_per_mm=PPM, params=SegmentParams(method="learned"))
    core = learned.trace_mask
    assert core.any() and not (core & ~learned.mask).any() and core.sum() < learned.mask.sum()
    unfiltered = segment_hair_fraction(img, px_per_mm=PPM,
                                       params=SegmentParams(learned_core_median_px=1))
    level = SegmentParams().learned_core_fraction
    # The cores are taken before small holes are filled.
    unfilled = segment_hair_fraction(img, px_per_mm=PPM,
                                     params=SegmentParams(fill_hole_max_um2=0.0))
    assert np.array_equal(unfiltered.trace_mask, unfilled.mask & (unfilled.fraction >= level))
    contrast = segment_hair_fraction(img, px_per_mm=PPM, params=SegmentParams(method="contrast"))
    assert np.array_equal(contrast.trace_mask, contrast.mask)


def test_core_median_fills_holes_and_drops_specks():
    fraction = np.zeros((20, 30), np.float32)
    fraction[5:12, 4:24] = 0.95  # a shaft's core
    fraction[8, 10] = 0.6  # a noisy pixel inside it
    fraction[5, 15] = 0.6  # a notch in its edge
    fraction[16, 27] = 0.99  # a lone pixel outside
    core = _learned_cores(fraction, SegmentParams())
    assert core[8, 10] and core[5, 15] and not core[16, 27]
    assert core[6:11, 5:23].all() and not core[:4].any()
    plain = _learned_cores(fraction, SegmentParams(learned_core_median_px=1))
    assert np.array_equal(plain, fraction >= SegmentParams().learned_core_fraction)


def test_core_median_must_be_odd():
    with pytest.raises(ParameterError, match="odd"):
        SegmentParams(learned_core_median_px=4)
