"""Comparison of visits: common area, matching, changes, uncertainty, dates, JSON and CLI.

Most tests feed perfect analyses built from the phantom truth
(``course_truth.truth_analysis``), so the comparison logic is checked exactly,
apart from hair detection; the end-to-end tests run the whole pipeline.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from course_truth import truth_analysis

from scalpmetrics.analysis import analyze
from scalpmetrics.compare import CHANGE_METRICS, compare_analyses, compare_visits, parse_date
from scalpmetrics.errors import ComparisonError, RegistrationError
from scalpmetrics.io import photo_from_array
from scalpmetrics.measure import mean_shaft_width, point_in_mask, width_weights
from scalpmetrics.params import CompareParams, Params, QualityParams
from scalpmetrics.register import apply_homography
from scalpmetrics.report import to_json
from scalpmetrics.synthetic import PhantomSpec, make_course, repeat_capture

SPEC = PhantomSpec(width_px=640, height_px=512)
EXACT = Params(compare=CompareParams(common_margin_um=0.0, common_margin_px=0.0))
REQUIRED_CHANGE_KEYS = {
    "visit", "common_area_cm2", "hair_count_change_pct", "density_change_pct",
    "terminal_count_change_pct", "cumulative_thickness_change_pct", "coverage_change_points",
    "new_hairs", "lost_hairs", "thickened_hairs", "ci95", "beyond_mdc",
}


def _truth_inputs(course, px_per_mm=100.0):
    pairs = [truth_analysis(v, px_per_mm=px_per_mm) for v in course.visits]
    return [p for p, _ in pairs], [a for _, a in pairs]


@pytest.fixture(scope="module")
def strong():
    return make_course(seed=21, n_visits=3, base=SPEC, response="strong")


@pytest.fixture(scope="module")
def strong_result(strong):
    photos, analyses = _truth_inputs(strong)
    return compare_analyses(photos, analyses, params=EXACT, grid="grid:2x2",
                            dates=["2026-01-05", "2026-03-06", "2026-05-05"])


def test_visits_traced_differently_are_all_traced_as_long_hair(strong):
    from scalpmetrics.analysis import analyze
    from scalpmetrics.io import photo_from_array

    photos = [photo_from_array(v.image) for v in strong.visits[:2]]
    lengths = [analyze(p, px_per_mm=100.0).provenance["quality_figures"]["shaft_length_mm"]
               for p in photos]
    assert lengths[0] != lengths[1]
    # With the long-hair limit between the two photos' figures, one alone is long hair.
    params = Params(quality=QualityParams(max_shaft_length_mm=sum(lengths) / 2))
    result = compare_visits(photos, px_per_mm=100.0, params=params)
    assert [a.provenance["tracing"] for a in result.visits] == ["long_hair", "long_hair"]
    modes = [a.provenance["parameters"]["trace"]["long_hair_tracing"] for a in result.visits]
    assert sorted(modes) == ["always", "auto"]


def test_common_area_matches_the_truth(strong, strong_result):
    assert strong_result.common_area_cm2 == pytest.approx(strong.common_area_mm2 / 100, rel=5e-3)


def test_perfect_detection_gives_the_true_changes(strong, strong_result):
    for change, truth in zip(strong_result.changes, strong.true_change):
        assert change.status == "ok"
        assert change.baseline.hair_count == truth["baseline_hair_count"]
        assert change.followup.hair_count == truth["followup_hair_count"]
        assert change.hair_count_change_pct == pytest.approx(truth["hair_count_change_pct"])
        assert change.density_change_pct == pytest.approx(truth["hair_count_change_pct"])
        assert change.terminal_count_change_pct == pytest.approx(truth["terminal_count_change_pct"])
        true_thick = 100 * (truth["followup_cumulative_thickness_mm_per_cm2"]
                            / truth["baseline_cumulative_thickness_mm_per_cm2"] - 1)
        # widths carry the zoom change through the registration scale
        assert change.cumulative_thickness_change_pct == pytest.approx(true_thick, abs=0.2)
        # a lost hair and a new one in the same opening may pair up: never more found
        assert truth["new_hairs"] - 1 <= change.new_hairs <= truth["new_hairs"]
        assert truth["lost_hairs"] - 1 <= change.lost_hairs <= truth["lost_hairs"]
        assert change.new_hairs - change.lost_hairs == truth["hair_count_change"]
        assert change.thickened_hairs == truth["thickened_hairs"]


def test_zoom_change_does_not_move_hairs_across_the_cutoff(strong, strong_result):
    photos, analyses = _truth_inputs(strong)
    naive = Params(compare=dataclasses.replace(EXACT.compare, scale_from_registration=False))
    with_scale = strong_result
    without = compare_analyses(photos, analyses, params=naive)
    zoom = [abs(v.truth.spec.scale - 1) for v in strong.visits[1:]]
    k = int(np.argmax(zoom))
    truth = strong.true_change[k]
    true_thick = 100 * (truth["followup_cumulative_thickness_mm_per_cm2"]
                        / truth["baseline_cumulative_thickness_mm_per_cm2"] - 1)
    err_with = abs(with_scale.changes[k].cumulative_thickness_change_pct - true_thick)
    err_without = abs(without.changes[k].cumulative_thickness_change_pct - true_thick)
    assert err_with < 0.2 < err_without


def test_cross_check_absorbs_hairs_the_detector_missed_in_one_visit(strong):
    photos, analyses = _truth_inputs(strong)
    truth = strong.true_change[0]
    base_ids = {h.hair_id for h in analyses[0].hairs if h.counted}
    follow = analyses[1]
    # the follow-up's "detector" misses every 6th hair that was already there at baseline
    kept = [h for h in follow.hairs if h.counted and h.hair_id in base_ids]
    missed = {h.hair_id for h in kept[::6]}
    hairs = tuple(dataclasses.replace(h, counted=h.counted and h.hair_id not in missed)
                  for h in follow.hairs)
    analyses[1] = dataclasses.replace(follow, hairs=hairs)
    without = Params(compare=dataclasses.replace(EXACT.compare, cross_check=False))
    naive = compare_analyses(photos, analyses, params=without).changes[0]
    checked = compare_analyses(photos, analyses, params=EXACT).changes[0]
    assert naive.hair_count_change < truth["hair_count_change"] - 3
    assert checked.hair_count_change == truth["hair_count_change"]
    assert checked.lost_hairs == truth["lost_hairs"] and checked.missed_hairs >= 4


def test_a_later_visit_counts_new_hairs_an_earlier_one_found(strong):
    """Visit 2's detector misses every other hair that grew in by visit 1 (as
    when a new hair runs merged with its unit mate); its hair mask still shows
    them, so the second look across follow-ups counts them new at visit 2."""
    photos, analyses = _truth_inputs(strong)
    base_ids = {h.hair_id for h in analyses[0].hairs if h.counted}
    grown = [h.hair_id for h in analyses[1].hairs if h.counted and h.hair_id not in base_ids]
    missed = set(grown[::2])
    later = analyses[2]
    analyses[2] = dataclasses.replace(later, hairs=tuple(
        dataclasses.replace(h, counted=h.counted and h.hair_id not in missed)
        for h in later.hairs))
    truth = strong.true_change[1]
    one_look = Params(compare=dataclasses.replace(EXACT.compare, course_second_look=False))
    alone = compare_analyses(photos, analyses, params=one_look).changes[1]
    course = compare_analyses(photos, analyses, params=EXACT)
    both = course.changes[1]
    assert len(missed) >= 3
    assert course.new_at_earlier[0] is None
    assert course.new_at_earlier[1].hair_index.size == both.new_hairs - course.matchings[2].new.size
    assert course.new_at_earlier[1].hair_index.size == both.new_hairs - alone.new_hairs
    assert alone.hair_count_change < truth["hair_count_change"]
    assert both.hair_count_change == truth["hair_count_change"]
    assert both.new_hairs == truth["new_hairs"]
    assert both.hair_count_change == both.new_hairs - both.lost_hairs
    # The first follow-up has no earlier one to look at.
    assert compare_analyses(photos, analyses, params=EXACT).changes[0] == \
        compare_analyses(photos, analyses, params=one_look).changes[0]


def _one_new_hair(baseline_cover_px: int, shown_later: bool, counted_later: bool):
    """A hair counted new at visit 1 along row 50 from x = 20 to 80 (identity
    registrations): the hairs ``_new_earlier`` gives visit 2 when the baseline's
    mask covers its first ``baseline_cover_px`` and visit 2's mask shows it or
    not, and visit 2 counted a new hair there or not."""
    from types import SimpleNamespace

    from scalpmetrics.compare.matching import _new_earlier
    from scalpmetrics.compare.results import MappedHairs
    from scalpmetrics.match import HairMatching

    def mapped(n):
        return MappedHairs(hair_index=np.arange(n), xy_baseline=np.tile([[20.0, 50.0]], (n, 1)),
                           width_um=np.full(n, 60.0), terminal=np.ones(n, bool),
                           width_weight_px=np.ones(n), inside=np.ones(n, bool),
                           direction_baseline=np.tile([[1.0, 0.0]], (n, 1)))

    def matching(new):
        empty = np.zeros(0, int)
        return HairMatching(pairs=np.zeros((0, 2), int), distance_px=np.zeros(0),
                            new=np.array(new, int), lost=empty, thickened=empty, thinned=empty)

    hair = SimpleNamespace(emergence_xy_px=(20.0, 50.0), tip_xy_px=(80.0, 50.0))
    analyses = tuple(SimpleNamespace(hairs=(hair,)) for _ in range(3))
    masks = [np.zeros((100, 100), bool) for _ in range(3)]
    masks[0][49:52, 20:20 + baseline_cover_px] = True
    masks[2][49:52, 20:81] = shown_later
    later = [0] if counted_later else []
    regs = [SimpleNamespace(followup_from_baseline=np.eye(3))] * 2
    return _new_earlier(2, analyses, [mapped(0), mapped(1), mapped(len(later))],
                        [None, matching([0]), matching(later)], tuple(masks), regs,
                        CompareParams(), gate_px=10.0, tolerance_px=2)


@pytest.mark.parametrize("baseline_cover_px, shown_later, counted_later, taken", [
    (0, True, False, 1),    # a clear new hair, shown but not counted later: taken
    (6, True, False, 1),    # the baseline shows a tenth of it: still clear
    (25, True, False, 0),   # the baseline shows 40 % of it: not clearly new
    (0, False, False, 0),   # the later photo does not show it
    (0, True, True, 0),     # the later visit counted it new itself
])
def test_the_second_look_takes_only_clear_new_hairs_a_later_photo_shows(
        baseline_cover_px, shown_later, counted_later, taken):
    extra = _one_new_hair(baseline_cover_px, shown_later, counted_later)
    assert (0 if extra is None else extra.hair_index.size) == taken


def _baseline_missing_every_sixth(course):
    """Perfect analyses, except that the baseline's "detector" misses every 6th hair
    the follow-up also holds."""
    photos, analyses = _truth_inputs(course)
    base = analyses[0]
    follow_ids = {h.hair_id for h in analyses[1].hairs if h.counted}
    kept = [h for h in base.hairs if h.counted and h.hair_id in follow_ids]
    missed = {h.hair_id for h in kept[::6]}
    hairs = tuple(dataclasses.replace(h, counted=h.counted and h.hair_id not in missed)
                  for h in base.hairs)
    analyses[0] = dataclasses.replace(base, hairs=hairs)
    return photos, analyses


def test_counts_are_on_the_baseline_detections_terms(strong):
    """A hair the baseline missed but shows counts in neither visit, so the change in
    percent is new - lost over what the baseline detector found, not over a count
    that two photos' detections made larger (which would shrink every change)."""
    photos, analyses = _baseline_missing_every_sixth(strong)
    truth = strong.true_change[0]
    raw = Params(compare=dataclasses.replace(EXACT.compare, recall_correction=False))
    change = compare_analyses(photos, analyses, params=raw).changes[0]
    assert change.missed_hairs >= 4 and change.detection_recall is None
    assert change.hair_count_change == truth["hair_count_change"]
    assert change.baseline.hair_count == truth["baseline_hair_count"] - change.missed_hairs
    assert change.followup.hair_count == change.baseline.hair_count + truth["hair_count_change"]
    assert change.hair_count_change_pct == pytest.approx(
        100.0 * truth["hair_count_change"] / change.baseline.hair_count)
    assert abs(change.hair_count_change_pct) > abs(truth["hair_count_change_pct"])


def test_recall_correction_weighs_hairs_by_their_detectors_recall(strong):
    """The baseline's detector found 5 of every 6 hairs both visits hold; counting each
    of its hairs as 6/5 of a hair brings the percent change back to the truth, while
    the hairs found (and the absolute changes) stay as they were."""
    photos, analyses = _baseline_missing_every_sixth(strong)
    truth = strong.true_change[0]
    raw = Params(compare=dataclasses.replace(EXACT.compare, recall_correction=False))
    uncorrected = compare_analyses(photos, analyses, params=raw).changes[0]
    change = compare_analyses(photos, analyses, params=EXACT).changes[0]
    recall = change.detection_recall
    assert recall["followup"] == {"vellus": 1.0, "terminal": 1.0}
    assert all(0.75 < r < 0.9 for r in recall["baseline"].values())
    assert change.baseline == uncorrected.baseline and change.followup == uncorrected.followup
    assert change.hair_count_change == uncorrected.hair_count_change
    err = abs(change.hair_count_change_pct - truth["hair_count_change_pct"])
    err_uncorrected = abs(uncorrected.hair_count_change_pct - truth["hair_count_change_pct"])
    assert err < 0.5 < err_uncorrected
    assert json.loads(json.dumps(change.to_dict()))["detection_recall"] == recall


def test_intervals_and_detectable_change(strong_result):
    for change in strong_result.changes:
        assert set(change.ci95) == set(CHANGE_METRICS) == set(change.mdc95)
        for name in CHANGE_METRICS:
            lo, hi = change.ci95[name]
            value = getattr(change, name)
            assert lo < value < hi
            assert change.mdc95[name] > 0
            assert change.beyond_mdc_metrics[name] == (abs(value) > change.mdc95[name])
        assert change.beyond_mdc == change.beyond_mdc_metrics["hair_count_change_pct"]
    # this strong responder's last visit is well beyond noise
    assert strong_result.changes[-1].beyond_mdc is True


def test_no_biological_change_is_not_beyond_the_detectable_change():
    course = repeat_capture(PhantomSpec(width_px=640, height_px=512, seed=0), n_captures=3, seed=4)
    photos, analyses = _truth_inputs(course)
    result = compare_analyses(photos, analyses, params=EXACT)
    for change in result.changes:
        assert change.hair_count_change_pct == 0
        assert change.new_hairs == change.lost_hairs == change.thickened_hairs == 0
        assert change.beyond_mdc is False
        lo, hi = change.ci95["hair_count_change_pct"]
        assert lo < 0 < hi


def test_a_device_band_in_every_photo_is_left_out_of_the_common_area():
    """A grey band burnt in at the same place in every photo hides a different
    strip of scalp in each: its hairs must not pass for lost or new ones."""
    course = make_course(seed=13, n_visits=3, base=PhantomSpec(width_px=800, height_px=640),
                         response="none")
    band_rows = 60
    photos = [photo_from_array(np.concatenate(
        [v.image[:-band_rows], np.full_like(v.image[-band_rows:], 220)])) for v in course.visits]
    result = compare_analyses(photos, [analyze(p, px_per_mm=100.0) for p in photos])
    guard_px = Params().trace.edge_guard_um * 100.0 / 1000.0
    last_seen_row = 640 - band_rows - guard_px
    assert not result.common_mask[int(last_seen_row):].any()
    rows, cols = np.nonzero(result.common_mask)
    points = np.stack([cols, rows], axis=1).astype(float)
    for reg in result.registrations:
        assert apply_homography(reg.followup_from_baseline, points)[:, 1].max() < last_seen_row
    for change in result.changes:
        assert change.lost_hairs <= 1 and change.new_hairs <= 1
        assert abs(change.hair_count_change_pct) <= 2.0


def test_regions_partition_the_common_area(strong_result):
    for change in strong_result.changes:
        assert [r.name for r in change.regions] == [
            "grid_r1_c1", "grid_r1_c2", "grid_r2_c1", "grid_r2_c2"]
        assert sum(r.baseline.area_px for r in change.regions) == change.baseline.area_px
        # counting points on the boundary use the pixel grid there: allow one hair
        total = sum(r.followup.hair_count for r in change.regions)
        assert abs(total - change.followup.hair_count) <= 1
    masks = [m for _, m in strong_result.region_masks]
    assert np.array_equal(np.logical_or.reduce(masks), strong_result.common_mask)


def test_common_area_mean_width_is_weighted_as_for_one_photo(strong):
    # The baseline's hairs whose counting point lies in the common area, their
    # widths weighted by measure.width_weights.
    photos, analyses = _truth_inputs(strong)
    result = compare_analyses(photos, analyses, params=EXACT)
    base = analyses[0]
    inside = [h for h in base.hairs if h.counted
              and point_in_mask(h.emergence_xy_px, result.common_mask)]
    change = result.changes[0]
    assert len(inside) == change.baseline.hair_count
    expected = mean_shaft_width(np.array([h.width_um for h in inside]), width_weights(inside))
    assert change.baseline.mean_shaft_width_um == pytest.approx(expected, rel=1e-9)
    assert expected != pytest.approx(np.mean([h.width_um for h in inside]), rel=1e-3)


def test_dates_give_months_and_a_trend(strong_result):
    months = [c.months_since_baseline for c in strong_result.changes]
    assert months == pytest.approx([60 / 30.436875, 120 / 30.436875])
    trend = strong_result.trend
    assert trend.visits == (0, 1, 2)
    slope = trend.per_month["hair_count_change_pct"]
    t = np.array([0.0, *months])
    y = np.array([0.0, *(c.hair_count_change_pct for c in strong_result.changes)])
    assert slope == pytest.approx(np.polyfit(t, y, 1)[0])
    lo, hi = trend.ci95["hair_count_change_pct"]
    assert lo <= slope <= hi


def test_unusable_dates_are_refused(strong):
    photos, analyses = _truth_inputs(strong)
    with pytest.raises(ComparisonError, match="3 photos"):
        compare_analyses(photos, analyses, dates=["2026-01-01"])
    with pytest.raises(ComparisonError, match="ISO date"):
        compare_analyses(photos, analyses, dates=["2026-01-01", "March", None])
    assert parse_date(None) is None


def test_fewer_than_two_photos_is_an_error(strong):
    photos, analyses = _truth_inputs(strong)
    with pytest.raises(ComparisonError):
        compare_analyses(photos[:1], analyses[:1])


def _with_stranger(course):
    """The course with its last follow-up replaced by a photo of another scalp."""
    photos, analyses = _truth_inputs(course)
    other = make_course(seed=99, n_visits=1, base=SPEC).visits[0]
    p, a = truth_analysis(other, px_per_mm=100.0)
    return photos[:-1] + [p], analyses[:-1] + [a]


def test_unregistrable_follow_up_raises_unless_allowed(strong):
    photos, analyses = _with_stranger(strong)
    with pytest.raises(RegistrationError, match="follow-up 2"):
        compare_analyses(photos, analyses)
    result = compare_analyses(photos, analyses, allow_unregistered=True, params=EXACT)
    failed = result.changes[-1]
    assert failed.status == "registration_failed"
    assert failed.hair_count_change_pct is None and failed.beyond_mdc is None
    assert [f.name for f in result.flags] == ["registration_failed"]
    record = result.to_dict()
    assert record["registration"][-1]["registered"] is False
    assert record["changes"][-1]["hair_count_change_pct"] is None
    # the common area is that of the photos that could be aligned
    assert result.changes[0].status == "ok"


def test_json_record_has_the_contract_keys(strong_result):
    record = json.loads(to_json(strong_result.to_dict()))  # strict JSON: no NaN
    from scalpmetrics import SCHEMA_VERSION

    assert record["schema_version"] == SCHEMA_VERSION
    assert len(record["visits"]) == 3 and len(record["registration"]) == 2
    assert {"hair_count", "regions", "hairs", "provenance"} <= set(record["visits"][0])
    assert {"machine", "opencv_cpu_features"} <= set(record["provenance"])
    for i, change in enumerate(record["changes"], start=1):
        assert REQUIRED_CHANGE_KEYS <= set(change)
        assert change["visit"] == i
        assert set(change["ci95"]) >= set(CHANGE_METRICS)
        assert all(len(v) == 2 for v in change["ci95"].values())
    for reg in record["registration"]:
        assert {"registered", "inliers", "median_residual_um", "followup_from_baseline"} <= set(reg)
    assert record["trend"]["per_month"]["hair_count_change_pct"] is not None


def test_uncalibrated_comparison_keeps_counts_and_coverage(strong):
    photos, analyses = _truth_inputs(strong, px_per_mm=None)
    result = compare_analyses(photos, analyses, params=EXACT)
    change = result.changes[0]
    assert result.common_area_cm2 is None and change.density_change_per_cm2 is None
    assert change.hair_count_change_pct == pytest.approx(strong.true_change[0]["hair_count_change_pct"])
    assert change.coverage_change_points is not None
    assert change.terminal_count_change_pct is None and change.ci95["terminal_count_change_pct"] is None
    assert change.thickened_hairs == 0


def test_deterministic(strong, strong_result):
    photos, analyses = _truth_inputs(strong)
    again = compare_analyses(photos, analyses, params=EXACT, grid="grid:2x2",
                             dates=["2026-01-05", "2026-03-06", "2026-05-05"])
    assert again.to_dict()["changes"] == strong_result.to_dict()["changes"]


# --- end to end: the whole pipeline -------------------------------------------------


@pytest.fixture(scope="module")
def course_files(tmp_path_factory):
    import cv2

    course = make_course(seed=31, n_visits=3, base=SPEC, response="strong")
    folder = tmp_path_factory.mktemp("course")
    paths = []
    for i, v in enumerate(course.visits):
        path = folder / f"visit{i}.png"
        cv2.imwrite(str(path), v.image[:, :, ::-1])
        paths.append(str(path))
    stranger = folder / "stranger.png"
    cv2.imwrite(str(stranger), make_course(seed=98, n_visits=1, base=SPEC).visits[0].image[:, :, ::-1])
    return course, paths, str(stranger)


def test_compare_visits_end_to_end(course_files):
    course, paths, _ = course_files
    result = compare_visits(paths, px_per_mm=100.0)
    assert [a.image.path for a in result.visits] == paths
    assert all(r.registered for r in result.registrations)
    for change, truth in zip(result.changes, course.true_change):
        assert change.status == "ok"
        # the default margin keeps the common area a little inside the true one
        assert 0.8 < change.common_area_cm2 / (truth["common_area_mm2"] / 100) < 1.0
        assert change.hair_count_change_pct is not None


@pytest.fixture(scope="module")
def cli_record(course_files):
    """``compare --json`` of the course, with dates and a grid."""
    from click.testing import CliRunner

    from scalpmetrics_cli.main import main

    _, paths, _ = course_files
    ok = CliRunner().invoke(main, ["compare", *paths, "--px-per-mm", "100", "--json",
                                   "--regions", "grid:2x2",
                                   "--dates", "2026-01-01,2026-02-01,2026-03-01"])
    assert ok.exit_code == 0, ok.output
    return json.loads(ok.stdout)


def test_cli_compare_json_matches_its_schema(cli_record, compare_validator):
    compare_validator.validate(cli_record)
    assert REQUIRED_CHANGE_KEYS <= set(cli_record["changes"][0])
    assert cli_record["capture_dates"] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert [len(c["regions"]) for c in cli_record["changes"]] == [4, 4]
    assert cli_record["trend"] is not None


@pytest.mark.parametrize(
    "path, broken",
    [
        (("changes", 0), lambda c: c.pop("beyond_mdc")),
        (("changes", 0), lambda c: c.update(surprise=1)),
        (("changes", 0, "ci95"), lambda ci: ci.update(hair_count_change_pct=[1.0, 2.0, 3.0])),
        (("changes", 0, "ci95"), lambda ci: ci.pop("coverage_change_points")),
        (("changes", 0), lambda c: c.update(status="registration_failed")),
        (("registration", 0), lambda r: r.update(followup_from_baseline=[[1.0, 0.0]])),
        (("visits", 1), lambda v: v.pop("hairs")),
        (("visits", 1, "provenance"), lambda p: p.pop("quality_figures")),
        (("capture_dates",), lambda d: d.__setitem__(1, "01/02/2026")),
    ],
)
def test_compare_schema_catches_a_broken_record(cli_record, compare_validator, path, broken):
    import copy

    import jsonschema

    record = copy.deepcopy(cli_record)
    part = record
    for key in path:
        part = part[key]
    broken(part)
    with pytest.raises(jsonschema.ValidationError):
        compare_validator.validate(record)


def test_cli_compare_json_and_exit_codes(course_files, tmp_path, compare_validator):
    from click.testing import CliRunner

    from scalpmetrics_cli.main import main

    _, paths, stranger = course_files
    runner = CliRunner()

    bad = runner.invoke(main, ["compare", paths[0], stranger, "--px-per-mm", "100", "--json"])
    assert bad.exit_code == 1
    assert bad.stdout == ""
    assert "could not be registered" in bad.stderr

    allowed = runner.invoke(main, ["compare", paths[0], stranger, "--px-per-mm", "100",
                                   "--json", "--allow-unregistered"])
    assert allowed.exit_code == 0
    record = json.loads(allowed.stdout)
    compare_validator.validate(record)
    assert record["changes"][0]["status"] == "registration_failed"
    assert record["flags"][0]["name"] == "registration_failed"
    assert "warning" in allowed.stderr

    text = runner.invoke(main, ["compare", *paths[:2], "--px-per-mm", "100",
                                "--report-out", str(tmp_path / "r.html")])
    assert text.exit_code == 0 and "count %" in text.stdout
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    usage = runner.invoke(main, ["compare", paths[0]])
    assert usage.exit_code == 2
