"""Analysis of one global photo: coverage per zone against phantoms with exact truth.

Phantoms are rendered small (320 x 240) to keep the module quick; the
tolerances here are looser than the benchmark's targets
(``benchmarks/global_accuracy.py`` measures those on full-size photos).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from scalpmetrics.errors import HeadNotFoundError, RegionError, ViewDetectionError
from scalpmetrics.globalview import ClinicRegions, analyze_global
from scalpmetrics.globalview.colour import area_resize, to_linear
from scalpmetrics.globalview.coverage import local_coverage, measure_zone, thinning_map
from scalpmetrics.globalview.geometry import HeadEllipse
from scalpmetrics.globalview.hairfraction import UnmixingModel, _blend, hair_fraction, seen_weight
from scalpmetrics.globalview.phantom import make_global_phantom
from scalpmetrics.globalview.zones import VIEWS, template_for, zone_masks
from scalpmetrics.io import photo_from_array
from scalpmetrics.params import GlobalViewParams, Params
from scalpmetrics.report import to_json

SIZE = {"width_px": 320, "height_px": 240, "supersample": 2}
SEEDS = {"vertex": 11, "midline": 12, "frontal": 13, "temporal": 14}
PATTERNS = {"vertex": "vertex", "midline": "part", "frontal": "frontal", "temporal": "mixed"}
TOLERANCE = 0.06  # per zone, at this small size


@pytest.fixture(scope="module")
def phantoms():
    return {v: make_global_phantom(SEEDS[v], v, pattern=PATTERNS[v], **SIZE) for v in VIEWS}


@pytest.fixture(scope="module")
def results(phantoms):
    return {v: analyze_global(photo_from_array(ph.image), view=v) for v, ph in phantoms.items()}


@pytest.mark.parametrize("view", VIEWS)
def test_zone_coverage_matches_the_truth(view, phantoms, results):
    ph, r = phantoms[view], results[view]
    names = [z.name for z in template_for(view, side=ph.side)]
    assert [z.name for z in r.regions] == names
    for z in r.regions:
        assert z.coverage_fraction == pytest.approx(ph.zone_coverage[z.name], abs=TOLERANCE), z.name


@pytest.mark.parametrize("view", VIEWS)
def test_zone_figures_are_consistent(view, results):
    for z in results[view].regions:
        assert z.source == "template" and z.label is None
        assert 0.0 <= z.coverage_fraction <= 1.0
        assert z.visible_scalp_fraction == pytest.approx(1.0 - z.coverage_fraction)
        assert 0.0 <= z.thinning_score <= 1.0
        assert z.coverage_se_fraction > 0 and z.area_px > 0


def test_thinned_zone_scores_higher_than_full_hair(phantoms, results):
    r, truth = results["vertex"], phantoms["vertex"].zone_coverage
    thin = min(truth, key=truth.get)
    full = max(truth, key=truth.get)
    assert truth[full] - truth[thin] > 0.15  # the scene has a clear thinned zone
    assert r.region(thin).thinning_score > r.region(full).thinning_score + 0.1
    assert r.region(thin).coverage_fraction < r.region(full).coverage_fraction - 0.1


def test_temporal_side_is_detected_and_can_be_given(phantoms, results):
    ph = phantoms["temporal"]
    assert results["temporal"].side == ph.side
    other = "right" if ph.side == "left" else "left"
    forced = analyze_global(photo_from_array(ph.image), view="temporal", side=other)
    assert forced.side == other and f"{other}_temporal" in [z.name for z in forced.regions]


def test_head_frame_is_found(phantoms, results):
    for view, ph in phantoms.items():
        got, true = results[view].head_frame, ph.true_ellipse
        r0 = true.mean_radius_px
        assert np.hypot(*np.subtract(got.center_xy_px, true.center_xy_px)) < 0.05 * r0, view
        assert got.mean_radius_px == pytest.approx(r0, rel=0.05), view


def test_input_is_not_modified_and_result_is_deterministic(phantoms, results):
    image = phantoms["midline"].image
    before = image.copy()
    again = analyze_global(photo_from_array(image), view="midline")
    assert np.array_equal(image, before)
    assert [z.coverage_fraction for z in again.regions] == [
        z.coverage_fraction for z in results["midline"].regions
    ]


def test_view_is_detected_automatically_or_refused(phantoms):
    for view in ("midline", "frontal"):
        r = analyze_global(photo_from_array(phantoms[view].image), view="auto")
        assert r.view == view and r.view_detected
    # an unsure guess is refused, never silently used
    strict = Params(globalview=GlobalViewParams(view_min_margin=1.0))
    with pytest.raises(ViewDetectionError, match="--view"):
        analyze_global(photo_from_array(phantoms["frontal"].image), view="auto", params=strict)


def test_json_record(results):
    record = json.loads(to_json(results["frontal"].to_dict()))
    assert record["kind"] == "global" and record["view"] == "frontal"
    assert {"coverage_fraction", "visible_scalp_fraction", "thinning_score",
            "coverage_se_fraction", "area_px", "name", "source", "label"} <= set(record["regions"][0])
    assert "calibration_missing" in [f["name"] for f in record["flags"]]


def test_clinic_label_image_measures_what_the_template_measures(phantoms, results):
    ph, r = phantoms["vertex"], results["vertex"]
    labels = np.zeros(ph.image.shape[:2], dtype=np.uint8)
    zones = dict(zone_masks("vertex", r.head_frame, ph.image.shape))
    labels[zones["vertex"]] = 4
    labels[zones["left_parietal"]] = 9
    both = analyze_global(photo_from_array(ph.image), view="vertex",
                          regions=ClinicRegions(labels=labels))
    assert [z.name for z in both.regions][-2:] == ["label_4", "label_9"]
    assert both.region("label_4").label == 4 and both.region("label_4").source == "label_image"
    assert both.region("label_4").coverage_fraction == pytest.approx(
        r.region("vertex").coverage_fraction, abs=0.01)
    only = analyze_global(photo_from_array(ph.image), view="vertex", template=False,
                          regions=ClinicRegions(labels=labels))
    assert [z.name for z in only.regions] == ["label_4", "label_9"]


def test_clinic_polygon_may_not_repeat_a_zone_name(phantoms):
    square = np.array([[100.0, 80.0], [200.0, 80.0], [200.0, 160.0], [100.0, 160.0]])
    with pytest.raises(RegionError, match="unique"):
        analyze_global(photo_from_array(phantoms["vertex"].image), view="vertex",
                       regions=ClinicRegions(polygons=(("vertex", square),)))


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"view": "oblique"}, RegionError, "unknown view"),
    ({"view": "temporal", "side": "top"}, RegionError, "side"),
    ({"view": "vertex", "template": False}, RegionError, "nothing to measure"),
])
def test_bad_options(phantoms, kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        analyze_global(photo_from_array(phantoms["vertex"].image), **kwargs)


def test_photo_without_a_head_is_refused():
    flat = np.full((200, 260, 3), 120, dtype=np.uint8)
    with pytest.raises(HeadNotFoundError):
        analyze_global(photo_from_array(flat), view="vertex")


def test_unmixing_recovers_the_hair_fraction_exactly():
    rng = np.random.default_rng(0)
    f = rng.uniform(0.0, 1.0, (30, 40)).astype(np.float32)
    hair, scalp = np.array([0.02, 0.015, 0.012]), np.array([0.5, 0.35, 0.3])
    linear = (f[:, :, None] * hair + (1 - f[:, :, None]) * scalp).astype(np.float32)
    model = UnmixingModel(hair, scalp, np.zeros(12), True, 20.0)
    frame = HeadEllipse((20.0, 15.0), (18.0, 14.0), 0.0)
    assert np.allclose(hair_fraction(linear, frame, model), f, atol=1e-5)


def test_scalp_seen_weight_ramps_instead_of_switching():
    p = GlobalViewParams(min_scalp_cells=3, scalp_cells_ramp=4, min_seen_contrast_ratio=2.0,
                         seen_contrast_ramp_ratio=1.5)
    assert seen_weight(2, 10.0, p) == 0.0
    assert [seen_weight(n, 10.0, p) for n in (3, 4, 5, 6, 30)] == pytest.approx([0.25, 0.5, 0.75, 1, 1])
    assert seen_weight(30, 1.9, p) == 0.0
    assert seen_weight(30, 2.0 * 1.5**0.5, p) == pytest.approx(0.5)
    assert seen_weight(4, 2.0 * 1.5**0.5, p) == pytest.approx(0.25)
    hard = GlobalViewParams(min_scalp_cells=3, scalp_cells_ramp=1, seen_contrast_ramp_ratio=1.0)
    assert (seen_weight(2, 10.0, hard), seen_weight(3, 2.01, hard), seen_weight(3, 1.99, hard)) == (0, 1, 0)


def test_blended_colour_model_lies_between_the_two():
    rng = np.random.default_rng(1)
    f = rng.uniform(0.0, 1.0, (30, 40)).astype(np.float32)
    hair = np.array([0.02, 0.015, 0.012])
    seen = UnmixingModel(hair, np.array([0.5, 0.35, 0.3]), np.zeros(12), True, 20.0)
    unseen = UnmixingModel(hair, np.array([0.25, 0.175, 0.15]), np.zeros(12), False, 10.0)
    linear = (f[:, :, None] * hair + (1 - f[:, :, None]) * 0.35).astype(np.float32)
    frame = HeadEllipse((20.0, 15.0), (18.0, 14.0), 0.0)
    cov = [float(hair_fraction(linear, frame, m).mean()) for m in
           (unseen, _blend(seen, unseen, 0.25), _blend(seen, unseen, 0.75), seen)]
    assert cov == sorted(cov) and cov[-1] > cov[0] + 0.1
    assert _blend(seen, unseen, 0.25).scalp_seen_weight == 0.25
    assert not _blend(seen, unseen, 0.25).scalp_seen and _blend(seen, unseen, 0.75).scalp_seen


def test_area_averaging_keeps_coverage():
    # a half-covered pixel counts half: the mean hair share of a binary pattern
    # survives area reduction in linear light
    rng = np.random.default_rng(1)
    hair = rng.uniform(size=(120, 160)) < 0.3
    srgb = np.where(hair[:, :, None], 20, 200).astype(np.uint8).repeat(3, axis=2)
    linear = to_linear(srgb)
    lo, hi = to_linear(np.array([[[20] * 3]], np.uint8))[0, 0, 0], to_linear(
        np.array([[[200] * 3]], np.uint8))[0, 0, 0]
    small = area_resize(linear, 0.25)[:, :, 0]
    share = (hi - small) / (hi - lo)
    assert share.mean() == pytest.approx(hair.mean(), abs=1e-4)


def test_thinning_map_and_small_zones():
    gp = GlobalViewParams()
    local = np.array([[1.0, 0.9, 0.65, 0.4, 0.1]], dtype=np.float32)
    assert thinning_map(local, params=gp)[0].tolist() == pytest.approx([0, 0, 0.5, 1, 1])
    f = np.ones((20, 20), np.float32)
    support = np.ones((20, 20), bool)
    lc = local_coverage(f, support, 2.0)
    assert np.allclose(lc, 1.0)
    tiny = np.zeros((20, 20), bool)
    tiny[:2, :2] = True
    z = measure_zone("tiny", tiny, f, thinning_map(lc, params=gp), lc, support,
                     head_radius_px=10.0, area_scale=4.0)
    assert z.coverage_fraction is None and z.thinning_score is None and z.area_px == 16
