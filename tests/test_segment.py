"""Tests of hair/scalp segmentation on seeded phantoms with exact masks."""

from __future__ import annotations

import numpy as np
import pytest

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.normalize import normalize_photo
from scalpmetrics.params import SegmentParams
from scalpmetrics.segment import (
    HairSegmentation,
    clipped_pixels,
    hair_fraction,
    joined_cores,
    segment_hair,
    segment_hair_fraction,
    skin_peak,
)
from scalpmetrics.synthetic import make_phantom

PPM = 80.0
#: The contrast detector, for the tests of its own steps (the default is the learned one).
CONTRAST = SegmentParams(method="contrast")


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum()))


def _phantom(**kw):  # type: ignore[no-untyped-def]
    # Non-square (W = H + 98) to catch row/column swaps.
    ph = make_phantom(width_px=400, height_px=302, px_per_mm=PPM, **kw)
    return ph, normalize_photo(ph.image, px_per_mm=ph.truth.px_per_mm)


@pytest.mark.parametrize("method", ["contrast", "learned"])
@pytest.mark.parametrize("kw, min_dice", [
    (dict(seed=1, skin_type=2, hair_colour="black"), 0.88),
    (dict(seed=2, skin_type=6, hair_colour="white"), 0.85),
    (dict(seed=3, skin_type=1, hair_colour="blonde"), 0.85),
    (dict(seed=4, skin_type=4, hair_colour="dark_brown", clipped=False), 0.93),
])
def test_mask_matches_truth(kw, min_dice, method):
    ph, img = _phantom(**kw)
    seg = segment_hair_fraction(img, px_per_mm=ph.truth.px_per_mm,
                                params=SegmentParams(method=method))
    assert seg.mask.shape == ph.hair_mask.shape and seg.mask.dtype == bool
    assert _dice(seg.mask, ph.hair_mask) >= min_dice
    # The mask's share is the coverage (as measured), and so is the fraction's mean.
    assert abs(float(seg.mask.mean()) - ph.truth.coverage_fraction) <= 0.01
    assert abs(float(seg.fraction.mean()) - ph.truth.coverage_fraction) <= 0.015


def test_clipped_skin_is_left_out_of_the_noise_statistics():
    # A strong light fall-off blows out a tenth of the photo: flat clipped skin
    # would make the skin noise look small and its texture pass for hair.
    ph, img = _phantom(seed=11, illumination_gradient=0.6, white_balance=(1.0, 1.0, 1.0))
    clipped = clipped_pixels(ph.image)
    assert 0.05 < clipped.mean() < 0.2
    plain = segment_hair_fraction(img, px_per_mm=PPM).mask
    aware = segment_hair_fraction(img, px_per_mm=PPM, clipped=clipped).mask
    assert _dice(aware, ph.hair_mask) >= 0.85
    assert _dice(aware, ph.hair_mask) > _dice(plain, ph.hair_mask) + 0.05


def test_clipped_mask_must_match_the_image():
    ph, img = _phantom(seed=11)
    with pytest.raises(ImageArrayError):
        segment_hair_fraction(img, px_per_mm=PPM, clipped=np.zeros((3, 3), bool))


def test_fraction_is_one_inside_and_bounded():
    ph, img = _phantom(seed=5)
    seg = segment_hair_fraction(img, px_per_mm=ph.truth.px_per_mm, params=CONTRAST)
    assert seg.fraction.dtype == np.float32
    assert seg.fraction.min() >= 0.0 and seg.fraction.max() <= 1.0
    import cv2

    m8 = seg.mask.astype(np.uint8)
    inner = cv2.erode(m8, np.ones((3, 3), np.uint8)).astype(bool)
    near = cv2.dilate(m8, np.ones((3, 3), np.uint8)).astype(bool)
    assert inner.any() and np.all(seg.fraction[inner] == 1.0)
    assert np.all(seg.fraction[~near] == 0.0)
    assert seg.scale_px_per_mm == ph.truth.px_per_mm


def test_small_enclosed_holes_become_hair_but_not_in_the_traced_cores():
    ph, img = _phantom(seed=30, skin_type=5, hair_colour="brown")
    open_holes = SegmentParams(fill_hole_max_um2=0.0)
    seg0 = segment_hair_fraction(img, px_per_mm=PPM, params=open_holes)
    seg = segment_hair_fraction(img, px_per_mm=PPM)
    filled = seg.mask & ~seg0.mask
    assert filled.any() and not (seg0.mask & ~seg.mask).any()
    assert np.all(seg.fraction[filled] == 1.0)
    np.testing.assert_array_equal(seg.trace_mask, seg0.trace_mask)
    # Every filled piece was a hole: enclosed, and no larger than the limit.
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(filled.astype(np.uint8), connectivity=4)
    limit_px = SegmentParams().fill_hole_max_um2 * (PPM / 1000.0) ** 2
    assert stats[1:, cv2.CC_STAT_AREA].max() <= limit_px
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    ring = cv2.dilate(filled.astype(np.uint8), cross).astype(bool) & ~filled
    assert seg0.mask[ring].all()


def test_joined_cores_bridge_broken_cores_inside_the_mask_only():
    # One shaft 7 px wide whose core broke in two, and a second shaft one
    # pixel of skin away: the joined cores hold the first shaft in one
    # piece, leave out the mask's one-pixel rim, and do not cross the skin.
    import cv2

    mask = np.zeros((40, 60), dtype=bool)
    mask[5:12, 5:55] = True
    mask[13:20, 5:55] = True
    cores = np.zeros_like(mask)
    cores[7:10, 5:25] = True
    cores[7:10, 32:55] = True
    cores[15:18, 5:55] = True
    seg = HairSegmentation(mask=mask, fraction=mask.astype(np.float32), scale_px_per_mm=100.0,
                           trace_mask=cores)
    joined = joined_cores(seg)
    assert (joined | mask).sum() == mask.sum() and (joined & cores).sum() == cores.sum()
    n, _ = cv2.connectedComponents(joined.astype(np.uint8), connectivity=8)
    assert n - 1 == 2
    assert not joined[5, 30] and not joined[11, 30] and joined[6, 30] and joined[10, 30]
    assert not joined[12].any()


def test_wrappers_agree_and_input_untouched():
    ph, img = _phantom(seed=6)
    before = img.copy()
    seg = segment_hair_fraction(img, px_per_mm=PPM)
    np.testing.assert_array_equal(segment_hair(img, px_per_mm=PPM), seg.mask)
    np.testing.assert_array_equal(hair_fraction(img, px_per_mm=PPM), seg.fraction)
    np.testing.assert_array_equal(img, before)


def test_uncalibrated_estimates_a_plausible_scale():
    ph, img = _phantom(seed=7)
    seg = segment_hair_fraction(img, px_per_mm=None)
    assert 0.5 * PPM < seg.scale_px_per_mm < 2.0 * PPM
    assert _dice(seg.mask, ph.hair_mask) >= 0.8


def test_flat_and_noise_images_have_no_hair():
    flat = np.full((120, 150, 3), 0.6, np.float32)
    assert not segment_hair(flat, px_per_mm=PPM).any()
    rng = np.random.default_rng(0)
    noise = np.clip(0.6 + rng.normal(0, 0.02, (120, 150, 3)), 0, 1).astype(np.float32)
    assert segment_hair(noise, px_per_mm=PPM).sum() < 0.001 * noise.shape[0] * noise.shape[1]


def test_higher_seed_threshold_finds_less_hair():
    ph, img = _phantom(seed=8, skin_type=3, hair_colour="grey")
    loose = segment_hair(img, px_per_mm=PPM,
                         params=SegmentParams(method="contrast", seed_threshold_sigma=6.0))
    strict = segment_hair(img, px_per_mm=PPM,
                          params=SegmentParams(method="contrast", seed_threshold_sigma=40.0))
    assert strict.sum() < loose.sum()


def test_skin_peak_ignores_the_hair_side():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(5.0, 0.5, 5000), rng.normal(1.0, 0.5, 4000)])
    centre, spread = skin_peak(values)
    assert abs(centre - 5.0) < 0.15 and 0.35 < spread < 0.65


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.float32), np.zeros((10, 10, 3), np.uint8),
                                 np.zeros((2, 10, 3), np.float32)])
def test_bad_input_is_refused(bad):
    with pytest.raises(ImageArrayError):
        segment_hair(bad, px_per_mm=PPM)


def test_second_hair_colour_finds_white_hairs_among_dark_ones():
    # White hairs on medium skin lie along another colour direction than the
    # few dark hairs among them: the default finds almost none of them.
    ph, img = _phantom(seed=6, skin_type=3, hair_colour="white")
    plain = segment_hair_fraction(img, px_per_mm=PPM, params=CONTRAST).mask
    both = segment_hair_fraction(img, px_per_mm=PPM, params=SegmentParams(
        method="contrast", second_hair_colour=True)).mask
    assert _dice(plain, ph.hair_mask) < 0.3
    assert _dice(both, ph.hair_mask) >= 0.7


def test_second_hair_colour_leaves_one_colour_photos_alone():
    # Without a second population the stray texture pieces it finds (here
    # about 600 px of them) are dropped, so the mask is the default one.
    ph, img = _phantom(seed=5, skin_type=2, hair_colour="black")
    plain = segment_hair_fraction(img, px_per_mm=PPM, params=CONTRAST).mask
    both = segment_hair_fraction(img, px_per_mm=PPM, params=SegmentParams(
        method="contrast", second_hair_colour=True)).mask
    ungated = segment_hair_fraction(img, px_per_mm=PPM, params=SegmentParams(
        method="contrast", second_hair_colour=True, second_colour_min_area_share=0.0)).mask
    assert np.array_equal(plain, both)
    assert (ungated & ~plain).sum() > 100


def test_shortcuts_give_numpys_bits():
    """The hand-ordered reductions and the per-channel subtraction equal NumPy's."""
    import cv2

    from scalpmetrics.segment.shortcuts import _channel_sum, _row_norms

    rng = np.random.default_rng(11)
    rows = rng.normal(size=(50_000, 3)) * rng.random((50_000, 1))
    assert _row_norms(rows).tobytes() == np.linalg.norm(rows, axis=1).tobytes()
    image = rng.random((120, 170, 3)).astype(np.float32)
    assert _channel_sum(image).tobytes() == image.sum(axis=2).tobytes()
    centre = rng.normal(size=3) * 0.3
    by_cv = image.copy()
    cv2.subtract(by_cv, (*centre.tolist(), 0.0), dst=by_cv)
    assert by_cv.tobytes() == (image - centre.astype(np.float32)).tobytes()
    pixels = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    level = SegmentParams().clipped_level_fraction * 255
    assert (clipped_pixels(pixels) == (pixels.max(axis=2) >= level)).all()
