"""End-to-end analysis on seeded phantoms with exact truth."""

import dataclasses
import platform

import cv2
import numpy as np
import pytest

from scalpmetrics.analysis import analyze
from scalpmetrics.io import photo_from_array
from scalpmetrics.params import Params, TraceParams
from scalpmetrics.regions import guarded_area
from scalpmetrics.synthetic import make_phantom
from scalpmetrics.types import Calibration


@pytest.fixture(scope="module")
def phantom():
    # non-square, with an uneven scale to catch row/column swaps
    return make_phantom(seed=11, width_px=700, height_px=520, px_per_mm=90.0)


@pytest.fixture(scope="module")
def result(phantom):
    photo = photo_from_array(phantom.image)
    return analyze(photo, px_per_mm=phantom.truth.px_per_mm, grid="grid:2x3")


def test_figures_are_close_to_truth(phantom, result):
    t = phantom.truth_within(guarded_area(phantom.image.shape, phantom.truth.px_per_mm))
    assert result.whole.hair_count == pytest.approx(t.hair_count, rel=0.25, abs=2)
    assert result.whole.coverage_fraction == pytest.approx(t.coverage_fraction, abs=0.03)
    assert result.whole.area_cm2 == pytest.approx(t.area_cm2, rel=1e-9)
    assert result.whole.mean_shaft_width_um == pytest.approx(t.mean_shaft_width_um, abs=15)


def test_hairs_emerging_in_the_edge_strip_belong_to_no_region(phantom, result):
    area = guarded_area(phantom.image.shape, phantom.truth.px_per_mm)
    assert result.whole.area_px == area.sum() < area.size
    counted = [h for h in result.hairs if h.counted]
    inside = [h for h in counted if area[int(np.floor(h.emergence_xy_px[1] + 0.5)),
                                         int(np.floor(h.emergence_xy_px[0] + 0.5))]]
    assert result.whole.hair_count == len(inside) < len(counted)


def test_mask_matches_truth(phantom, result):
    mask, truth = result.hair_mask, phantom.hair_mask
    assert mask.shape == truth.shape and mask.dtype == bool
    dice = 2 * np.logical_and(mask, truth).sum() / (mask.sum() + truth.sum())
    assert dice > 0.8


def test_grid_counts_add_up_to_whole(result):
    cells = result.regions[1:]
    assert len(cells) == 6
    assert sum(c.hair_count for c in cells) == result.whole.hair_count
    assert sum(c.area_px for c in cells) == result.whole.area_px


def test_uncalibrated_still_reports_coverage(phantom):
    r = analyze(photo_from_array(phantom.image))
    assert r.calibration == Calibration()
    assert r.whole.density_per_cm2 is None and r.whole.mean_shaft_width_um is None
    assert r.whole.coverage_fraction is not None
    assert [f.name for f in r.flags] == ["calibration_missing"]
    assert r.to_dict()["density_per_cm2"] is None


def test_deterministic(phantom, result):
    again = analyze(photo_from_array(phantom.image), px_per_mm=phantom.truth.px_per_mm,
                    grid="grid:2x3")
    assert again.to_dict() == result.to_dict()
    assert np.array_equal(again.hair_mask, result.hair_mask)


def test_input_not_modified(phantom):
    image = phantom.image.copy()
    analyze(photo_from_array(image), px_per_mm=90.0)
    assert np.array_equal(image, phantom.image)


def test_provenance(phantom, result):
    prov = result.to_dict()["provenance"]
    assert prov["input_sha256"] == result.image.sha256
    assert prov["parameters"] == Params().to_dict()
    assert prov["parameters_digest"] == Params().digest()
    assert prov["calibration_source"] == "argument"
    # the processor: OpenCV's float filters round differently on each instruction set
    assert prov["machine"] == platform.machine()
    assert prov["opencv_cpu_features"] == cv2.getCPUFeaturesLine() != ""


def test_vellus_cutoff_parameter_changes_classification(phantom, result):
    p = Params()
    p = dataclasses.replace(p, trace=dataclasses.replace(p.trace, vellus_cutoff_um=1.0))
    r = analyze(photo_from_array(phantom.image), px_per_mm=phantom.truth.px_per_mm, params=p)
    assert r.whole.vellus_count == 0 < result.whole.vellus_count
    assert r.whole.terminal_count == r.whole.hair_count == result.whole.hair_count


@pytest.fixture(scope="module")
def fine_phantom():
    # 270 px/mm: analysed on a copy reduced twice (thinnest shaft 4 px, at least 1.5 px kept)
    return make_phantom(seed=11, width_px=2100, height_px=1560, px_per_mm=270.0)


def test_fine_scale_photo_is_analysed_on_a_working_copy(fine_phantom):
    t = fine_phantom.truth
    r = analyze(photo_from_array(fine_phantom.image), px_per_mm=270.0, grid="grid:2x3")
    assert r.hair_mask.shape == fine_phantom.hair_mask.shape
    dice = 2 * np.logical_and(r.hair_mask, fine_phantom.hair_mask).sum() / (
        r.hair_mask.sum() + fine_phantom.hair_mask.sum())
    assert dice > 0.9
    assert r.whole.hair_count == pytest.approx(t.hair_count, rel=0.25, abs=2)
    assert r.whole.coverage_fraction == pytest.approx(t.coverage_fraction, abs=0.03)
    assert r.whole.mean_shaft_width_um == pytest.approx(t.mean_shaft_width_um, abs=15)
    assert sum(c.hair_count for c in r.regions[1:]) == r.whole.hair_count
    # Hairs and the blur limit are in the photo's own pixels.
    xy = np.array([h.emergence_xy_px for h in r.hairs] + [h.tip_xy_px for h in r.hairs])
    assert xy.min() >= -0.5 and xy[:, 0].max() <= 2099.5 and xy[:, 1].max() <= 1559.5
    assert xy[:, 0].max() > 1900 and xy[:, 1].max() > 1400
    for h in r.hairs:
        assert h.width_um == pytest.approx(h.width_px / 270.0 * 1000.0)
    # The blur is measured on the photo itself (on tiles of it: 3.3 MP is large).
    figures = r.provenance["quality_figures"]
    assert figures["blur_limit_px"] == pytest.approx(15.0 * 0.27)
    assert 0.5 < figures["blur_px"] < figures["blur_limit_px"]


def _tracing(params_kw: dict, **phantom_kw):  # type: ignore[no-untyped-def]
    ph = make_phantom(width_px=480, height_px=400, px_per_mm=100.0, **phantom_kw)
    return analyze(photo_from_array(ph.image), px_per_mm=100.0,
                   params=Params(trace=TraceParams(**params_kw)))


@pytest.mark.parametrize("mode, clipped, expected", [
    ("auto", False, "long_hair"), ("auto", True, "standard"),
    ("never", False, "standard"), ("always", True, "long_hair"),
])
def test_long_hair_tracing_follows_its_mode(mode, clipped, expected):
    r = _tracing({"long_hair_tracing": mode}, seed=2, clipped=clipped, hair_colour="grey")
    assert r.provenance["tracing"] == expected
    assert r.to_dict()["provenance"]["tracing"] == expected
    assert ("long_hair" in [f.name for f in r.flags]) == (not clipped)


def test_long_hair_tracing_keeps_the_flag_figure():
    kw = dict(seed=1, clipped=False, hair_colour="white", skin_type=4)
    joined = _tracing({}, **kw)
    cores = _tracing({"long_hair_tracing": "never"}, **kw)
    figure = "shaft_length_mm"
    assert joined.provenance["quality_figures"][figure] == cores.provenance["quality_figures"][figure]
    # Light long hair breaks into many short pieces on its cores; joined, fewer.
    assert len(joined.hairs) < len(cores.hairs)


def test_long_hair_is_traced_whole_with_the_width_of_its_cores():
    from scalpmetrics.analysis import _trace
    from scalpmetrics.segment import HairSegmentation

    # A shaft 7 px wide in the mask whose 3 px core broke in the middle.
    mask = np.zeros((30, 80), dtype=bool)
    mask[10:17, 5:75] = True
    cores = np.zeros_like(mask)
    cores[12:15, 5:35] = True
    cores[12:15, 42:75] = True
    seg = HairSegmentation(mask=mask, fraction=mask.astype(np.float32), scale_px_per_mm=100.0,
                           trace_mask=cores)
    image = np.full((30, 80, 3), 0.6, np.float32)
    params = Params(trace=TraceParams(long_hair_tracing="always"))
    hairs, _, tracing = _trace(seg, np.ones_like(mask), image, 100.0, params)
    longest = max(hairs, key=lambda h: h.length_px)
    assert tracing == "long_hair" and longest.length_px > 60
    assert longest.width_px == pytest.approx(3.0, abs=0.5)  # the cores', not the joined 5 px
    hairs, _, tracing = _trace(seg, np.ones_like(mask), image, 100.0, Params())
    assert tracing == "standard" and max(h.length_px for h in hairs) < 35


def test_bad_long_hair_tracing_mode_is_refused():
    from scalpmetrics.errors import ParameterError

    with pytest.raises(ParameterError, match="long_hair_tracing"):
        TraceParams(long_hair_tracing="sometimes")


def test_a_width_outlier_ratio_below_one_is_refused():
    from scalpmetrics.errors import ParameterError

    with pytest.raises(ParameterError, match="width_outlier_ratio"):
        TraceParams(width_outlier_ratio=0.5)
    assert TraceParams(width_outlier_ratio=0.0).width_outlier_ratio == 0.0
