"""Quality flags: each figure responds to what it measures, each threshold is documented."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from scalpmetrics.marker import MarkerSearch, MarkerSpec
from scalpmetrics.normalize import normalize_photo
from scalpmetrics.params import ChartParams, QualityParams
from scalpmetrics.quality import (
    FLAGS,
    blur_threshold_px,
    calibration_flags,
    chart_flags,
    edge_blur_px,
    glare_fraction,
    hair_scalp_contrast,
    marker_flags,
    measure_quality,
    quality_flags,
    shaft_length_mm,
)
from scalpmetrics.synthetic import make_phantom
from scalpmetrics.types import Calibration, Hair

PX_PER_MM = 80.0


def phantom(**overrides):
    spec = dict(seed=21, width_px=480, height_px=360, px_per_mm=PX_PER_MM)
    spec.update(overrides)
    return make_phantom(**spec)


def figures_of(pixels, hair_mask, *, valid=None, params=QualityParams()):
    normalized = normalize_photo(pixels, px_per_mm=PX_PER_MM)
    return measure_quality(pixels, normalized=normalized, hair_mask=hair_mask,
                           px_per_mm=PX_PER_MM, valid=valid, params=params)


def names(flags):
    return [f.name for f in flags]


# ----------------------------------------------------------------------------- registry


def test_every_flag_documents_an_existing_threshold():
    fields = {
        "quality": set(QualityParams.__dataclass_fields__),
        "chart": set(ChartParams.__dataclass_fields__),
    }
    for name, text in FLAGS.items():
        assert re.fullmatch(r"[a-z_]+", name) and text.endswith(".")
        for group, key in re.findall(r"\b(quality|chart)\.([a-z_0-9]+)", text):
            assert key in fields[group], (name, key)


@pytest.mark.parametrize("skin_type, hair_colour", [(2, "black"), (6, "black"), (4, "white")])
def test_good_phantoms_raise_no_flag(skin_type, hair_colour):
    ph = phantom(skin_type=skin_type, hair_colour=hair_colour)
    figures = figures_of(ph.image, ph.hair_mask)
    assert quality_flags(figures) == [], figures


# ----------------------------------------------------------------------------- focus


def steps() -> np.ndarray:
    luma = np.full((200, 240), 0.2, np.float32)
    luma[:, 120:] = 0.8
    luma[100:, :] = np.where(np.arange(240) < 60, 0.8, luma[100:, :])
    return luma


@pytest.mark.parametrize("sigma", [1.5, 2.0, 4.0])
def test_edge_blur_of_a_blurred_step(sigma):
    assert edge_blur_px(cv2.GaussianBlur(steps(), (0, 0), sigma)) == pytest.approx(sigma, rel=0.2)


def test_edge_blur_of_a_sharp_step_is_below_a_pixel():
    assert edge_blur_px(steps()) < 0.8
    assert edge_blur_px(np.full((50, 60), 0.5, np.float32)) is None


def test_out_of_focus():
    sharp, soft = phantom(), phantom(blur_sigma_px=6.0)
    sharp_fig = figures_of(sharp.image, sharp.hair_mask)
    soft_fig = figures_of(soft.image, soft.hair_mask)
    assert sharp_fig["blur_px"] < 1.5
    assert soft_fig["blur_px"] == pytest.approx(6.0, rel=0.3)
    flags = quality_flags(soft_fig)
    assert names(flags) == ["out_of_focus"]
    assert flags[0].value == soft_fig["blur_px"] and flags[0].threshold == 2.5


def test_blur_limit_follows_the_scale():
    assert blur_threshold_px(None) == QualityParams().max_blur_px
    assert blur_threshold_px(350.0) == pytest.approx(15.0 * 0.35)
    assert blur_threshold_px(40.0) == QualityParams().max_blur_px


# ----------------------------------------------------------------------------- exposure


def test_overexposed_and_underexposed():
    ph = phantom()
    bright = np.clip(ph.image.astype(np.float32) * 1.8, 0, 255).astype(np.uint8)
    dark = (ph.image.astype(np.float32) * 0.03).astype(np.uint8)
    over = figures_of(bright, ph.hair_mask)
    under = figures_of(dark, ph.hair_mask)
    assert "overexposed" in names(quality_flags(over)) and over["overexposed_fraction"] > 0.3
    assert "underexposed" in names(quality_flags(under)) and under["underexposed_fraction"] > 0.3
    base = figures_of(ph.image, ph.hair_mask)
    assert base["overexposed_fraction"] < 0.01 and base["underexposed_fraction"] == 0.0


def test_sixteen_bit_exposure_is_judged_on_the_same_scale():
    ph = phantom()
    base = figures_of(ph.image, ph.hair_mask)
    deep = figures_of(ph.image.astype(np.uint16) * 257, ph.hair_mask)
    for key in ("overexposed_fraction", "underexposed_fraction", "glare_fraction"):
        assert deep[key] == pytest.approx(base[key], abs=1e-3)


# ----------------------------------------------------------------------------- glare


def with_glare(image, *, centres, radius_px):
    out = image.copy()
    for x, y in centres:
        cv2.circle(out, (int(x), int(y)), radius_px, (255, 255, 255), -1, lineType=cv2.LINE_AA)
    return out


def test_glare_blobs_are_flagged_and_light_shafts_are_not():
    ph = phantom(skin_type=4)
    rng = np.random.default_rng(5)
    centres = rng.uniform([30, 30], [450, 330], size=(12, 2))
    radius = 16  # 0.4 mm across at 80 px/mm: wider than any shaft
    img = with_glare(ph.image, centres=centres, radius_px=radius)
    figures = figures_of(img, ph.hair_mask)
    expected = 12 * np.pi * radius**2 / img[:, :, 0].size
    assert figures["glare_fraction"] == pytest.approx(expected, rel=0.35)
    assert "glare" in names(quality_flags(figures))
    white_hair = phantom(skin_type=5, hair_colour="white")
    rgb = white_hair.image.astype(np.float32) / 255
    assert glare_fraction(rgb, px_per_mm=PX_PER_MM) < 0.002


def test_glare_outside_the_analysed_pixels_does_not_count():
    ph = phantom(skin_type=4)
    img = with_glare(ph.image, centres=[(60, 60), (150, 70), (80, 150)], radius_px=20)
    valid = np.ones(img.shape[:2], bool)
    valid[30:180, 30:180] = False
    rgb = img.astype(np.float32) / 255
    assert glare_fraction(rgb, px_per_mm=PX_PER_MM) > 0.02
    assert glare_fraction(rgb, px_per_mm=PX_PER_MM, valid=valid) < 0.001


# ----------------------------------------------------------------------------- contrast


def test_low_contrast():
    ph = phantom()
    skin = np.median(ph.image[~ph.hair_mask], axis=0)
    faint = (skin + 0.08 * (ph.image.astype(np.float32) - skin)).astype(np.uint8)
    good = figures_of(ph.image, ph.hair_mask)["contrast"]
    low = figures_of(faint, ph.hair_mask)
    assert good > 0.4
    assert low["contrast"] < QualityParams().min_contrast
    flag = [f for f in quality_flags(low) if f.name == "low_contrast"][0]
    assert flag.value == low["contrast"] and flag.threshold == QualityParams().min_contrast


def test_contrast_needs_hair():
    image = np.full((50, 60, 3), 0.5, np.float32)
    assert hair_scalp_contrast(image, np.zeros((50, 60), bool), min_hair_px=10) is None


# ----------------------------------------------------------------------------- other flags


def test_calibration_marker_and_chart_flags():
    assert names(calibration_flags(Calibration())) == ["calibration_missing"]
    assert calibration_flags(Calibration(50.0, "argument")) == []
    spec = MarkerSpec("DICT_4X4_50", 7, 5.0)
    lost = marker_flags(MarkerSearch(spec, None, (3, 9)))
    assert names(lost) == ["marker_not_found"]
    assert "DICT_4X4_50:7:5" in lost[0].message and "3, 9" in lost[0].message
    assert marker_flags(None) == []

    class Chart:
        usable, fit_error_de00 = False, 9.5

    rejected = chart_flags(Chart(), max_fit_error_de00=6.0)
    assert names(rejected) == ["color_chart_rejected"]
    assert (rejected[0].value, rejected[0].threshold) == (9.5, 6.0)
    assert chart_flags(None, max_fit_error_de00=6.0) == []


def test_thresholds_come_from_params():
    ph = phantom()
    strict = QualityParams(max_blur_px=0.1, max_blur_um=0.1, min_contrast=5.0)
    figures = figures_of(ph.image, ph.hair_mask, params=strict)
    assert figures["blur_limit_px"] == pytest.approx(0.1)
    assert set(names(quality_flags(figures, params=strict))) == {"out_of_focus", "low_contrast"}


# ----------------------------------------------------------------------------- long hair


def shaft(length_px):
    return Hair(0, (0.0, 0.0), (length_px, 0.0), length_px, 5.0, 50.0, True, False, -1)


def test_shaft_length_is_length_weighted():
    # Weights by length: (1^2 + 3^2) / (1 + 3) = 2.5 mm, not the plain mean 2 mm.
    assert shaft_length_mm([shaft(100.0), shaft(300.0)], px_per_mm=100.0) == pytest.approx(2.5)
    # Many short pieces barely move it.
    pieces = [shaft(300.0)] + [shaft(10.0)] * 20
    assert shaft_length_mm(pieces, px_per_mm=100.0) == pytest.approx((9 + 20 * 0.01) / 5)
    assert shaft_length_mm([shaft(100.0)], px_per_mm=None) is None
    assert shaft_length_mm([], px_per_mm=100.0) is None


def test_measure_quality_includes_the_shaft_length():
    ph = phantom()
    assert figures_of(ph.image, ph.hair_mask)["shaft_length_mm"] is None  # no hairs given
    normalized = normalize_photo(ph.image, px_per_mm=PX_PER_MM)
    figures = measure_quality(ph.image, normalized=normalized, hair_mask=ph.hair_mask,
                              px_per_mm=PX_PER_MM, hairs=[shaft(160.0)])
    assert figures["shaft_length_mm"] == pytest.approx(2.0)
    assert "long_hair" in names(quality_flags(figures))


def test_long_hair_flag_threshold():
    limit = QualityParams().max_shaft_length_mm
    base = {"blur_px": None, "blur_limit_px": None, "overexposed_fraction": 0.0,
            "underexposed_fraction": 0.0, "glare_fraction": 0.0, "contrast": None}
    assert quality_flags({**base, "shaft_length_mm": limit}) == []
    assert quality_flags({**base, "shaft_length_mm": None}) == []
    assert quality_flags(base) == []  # figures recorded before schema 1.1
    flag = quality_flags({**base, "shaft_length_mm": limit + 0.5})[0]
    assert (flag.name, flag.value, flag.threshold) == ("long_hair", limit + 0.5, limit)
    strict = QualityParams(max_shaft_length_mm=0.2)
    assert names(quality_flags({**base, "shaft_length_mm": 0.5}, params=strict)) == ["long_hair"]


@pytest.mark.parametrize("seed", [0, 2])
def test_long_hair_flags_unclipped_not_clipped_phantoms(seed):
    from scalpmetrics.analysis import analyze
    from scalpmetrics.io import photo_from_array

    figures = {}
    for clipped in (True, False):
        ph = make_phantom(seed=seed, width_px=480, height_px=400, px_per_mm=100.0,
                          clipped=clipped, hair_colour="black")
        result = analyze(photo_from_array(ph.image), px_per_mm=100.0)
        figures[clipped] = result.provenance["quality_figures"]["shaft_length_mm"]
        assert ("long_hair" in names(result.flags)) == (not clipped), figures
    assert figures[False] > 1.5 * figures[True]
