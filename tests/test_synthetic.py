"""Seeded phantoms: determinism, exact truth, courses and parameter validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scalpmetrics.errors import ParameterError
from scalpmetrics.synthetic import (
    HAIR_COLOURS,
    PhantomSpec,
    common_area_masks,
    conditions,
    make_course,
    make_phantom,
    pose_homography,
    repeat_capture,
)

SMALL = dict(width_px=400, height_px=300, px_per_mm=90.0)


@pytest.fixture(scope="module")
def phantom():
    # non-square, uneven size to catch row/column swaps
    return make_phantom(seed=7, width_px=421, height_px=263, px_per_mm=80.0, loose_hairs=4)


@pytest.fixture(scope="module")
def course():
    base = PhantomSpec(width_px=360, height_px=280, px_per_mm=70.0, density_per_cm2=250.0)
    return make_course(seed=5, n_visits=3, base=base, response="strong")


def _apply(h, xy):
    v = np.asarray(h) @ np.array([xy[0], xy[1], 1.0])
    return v[:2] / v[2]


def _inside(xy, spec):
    return -0.5 <= xy[0] < spec.width_px - 0.5 and -0.5 <= xy[1] < spec.height_px - 0.5


def test_same_seed_gives_identical_bytes():
    a = make_phantom(seed=3, **SMALL)
    b = make_phantom(PhantomSpec(seed=3, **SMALL))
    assert a.image.tobytes() == b.image.tobytes()
    assert np.array_equal(a.hair_fraction, b.hair_fraction)
    assert a.truth == b.truth


def test_noise_seed_redraws_the_sensor_noise_alone():
    plain = make_phantom(seed=3, **SMALL)
    again = make_phantom(seed=3, noise_seed=1, **SMALL)
    other = make_phantom(seed=3, noise_seed=2, **SMALL)
    assert again.truth.hairs == plain.truth.hairs
    assert np.array_equal(again.hair_fraction, plain.hair_fraction)
    assert not np.array_equal(again.image, plain.image)
    assert not np.array_equal(again.image, other.image)
    assert again.image.tobytes() == make_phantom(seed=3, noise_seed=1, **SMALL).image.tobytes()
    # Only the noise differs: without it, the photographs are the same.
    quiet = {"noise_sigma": 0.0, "jpeg_quality": None}
    assert np.array_equal(make_phantom(seed=3, noise_seed=1, **quiet, **SMALL).image,
                          make_phantom(seed=3, **quiet, **SMALL).image)


def test_different_seeds_differ():
    a = make_phantom(seed=1, **SMALL)
    b = make_phantom(seed=2, **SMALL)
    assert not np.array_equal(a.image, b.image)
    assert a.truth.hairs != b.truth.hairs


def test_shapes_and_types(phantom):
    assert phantom.image.shape == (263, 421, 3) and phantom.image.dtype == np.uint8
    assert phantom.hair_mask.shape == (263, 421) and phantom.hair_mask.dtype == bool
    assert phantom.hair_fraction.shape == (263, 421)
    assert phantom.hair_fraction.dtype == np.float32


def test_counts_follow_the_counting_rule(phantom):
    t = phantom.truth
    counted = [h for h in t.hairs if h.counted]
    assert t.hair_count == len(counted) > 0
    assert t.terminal_count == sum(h.width_um >= 40 for h in counted)
    assert t.terminal_count + t.vellus_count == t.hair_count
    assert t.vellus_fraction == pytest.approx(t.vellus_count / t.hair_count)
    assert t.mean_shaft_width_um == pytest.approx(np.mean([h.width_um for h in counted]))
    assert t.follicular_unit_count == len({h.unit_id for h in counted})
    assert t.density_per_cm2 == pytest.approx(t.hair_count / t.area_cm2)
    assert t.area_cm2 == pytest.approx(421 * 263 / 80.0**2 / 100)
    assert t.cumulative_thickness_mm_per_cm2 == pytest.approx(
        sum(h.width_um for h in counted) / 1000 / t.area_cm2)
    for h in t.hairs:
        assert h.counted == (_inside(h.emergence_xy_px, t.spec) and not h.loose)
        assert h.is_terminal == (h.width_um >= 40)
    loose = [h for h in t.hairs if h.loose]
    assert len(loose) == 4 and not any(h.counted for h in loose)
    assert len({h.hair_id for h in t.hairs}) == len(t.hairs)


def test_truth_within_an_area(phantom):
    t = phantom.truth
    assert phantom.truth_within(np.ones((263, 421), bool)) == t
    left = np.zeros((263, 421), bool)
    left[:, :200] = True  # columns 0..199: x < 199.5
    part = phantom.truth_within(left)
    inside = [h for h in t.hairs if h.counted and h.emergence_xy_px[0] < 199.5]
    assert 0 < part.hair_count == len(inside) < t.hair_count
    assert part.hair_count == sum(h.counted for h in part.hairs)
    assert part.terminal_count == sum(h.is_terminal for h in inside)
    assert part.area_cm2 == pytest.approx(263 * 200 / 80.0**2 / 100)
    assert part.coverage_fraction == pytest.approx(float(phantom.hair_fraction[:, :200].mean()))
    assert part.density_per_cm2 == pytest.approx(part.hair_count / part.area_cm2)
    with pytest.raises(ValueError, match="differ"):
        phantom.truth_within(left[:, :100])


def test_coverage_is_the_mean_fraction_and_mask_is_its_half(phantom):
    f = phantom.hair_fraction
    assert phantom.truth.coverage_fraction == pytest.approx(float(f.mean(dtype=np.float64)))
    assert np.array_equal(phantom.hair_mask, f > 0.5)
    assert f.min() >= 0.0 and f.max() <= 1.0 and f.max() == 1.0
    s2 = phantom.truth.spec.supersample ** 2
    assert np.array_equal(np.round(f * s2), f * s2)  # whole sub-pixel counts


def test_shafts_lie_between_emergence_and_tip(phantom):
    """Rows and columns are not swapped: points along each counted terminal shaft
    are covered, and emergence points of counted hairs are in bounds."""
    f = phantom.hair_fraction
    for h in phantom.truth.hairs:
        if not h.counted:
            continue
        x, y = h.emergence_xy_px
        assert -0.5 <= x < 421 - 0.5 and -0.5 <= y < 263 - 0.5
        if h.is_terminal and h.visible_length_px > 10:
            e, tip = np.array(h.emergence_xy_px), np.array(h.tip_xy_px)
            for a in (0.3, 0.5):
                px, py = e + a * (tip - e)
                if 0 <= round(px) < 421 and 0 <= round(py) < 263:
                    assert f[int(round(py)), int(round(px))] > 0.5


def test_coverage_equals_shaft_areas():
    """Isolated straight shafts: hair area = sum of width x visible length."""
    ph = make_phantom(seed=11, width_px=640, height_px=480, px_per_mm=100.0,
                      density_per_cm2=25.0, unit_size_probs=(1.0,), vellus_fraction=0.0,
                      jpeg_quality=None)
    hairs = [h for h in ph.truth.hairs if not h.loose]
    expected = sum(h.width_um / 1000 * 100.0 * h.visible_length_px for h in hairs)
    assert len(hairs) >= 5
    assert ph.hair_fraction.sum() == pytest.approx(expected, rel=0.005)


def test_pose_maps_scalp_to_image():
    spec = PhantomSpec(seed=2, rotation_deg=20.0, scale=1.2, shift_mm=(0.3, -0.2),
                       perspective=(0.05, -0.03), **SMALL)
    ph = make_phantom(spec)
    h = np.array(ph.truth.scalp_to_image)
    assert np.allclose(h, pose_homography(spec))
    assert ph.truth.px_per_mm == pytest.approx(90.0 * 1.2)
    for hair in ph.truth.hairs:
        assert np.allclose(_apply(h, hair.emergence_scalp_xy_px), hair.emergence_xy_px)
    identity = pose_homography(PhantomSpec(**SMALL))
    assert np.allclose(identity, np.eye(3))


def test_loose_hairs_are_hair_but_never_counted():
    ph = make_phantom(seed=4, density_per_cm2=0.0, loose_hairs=6, **SMALL)
    assert ph.truth.hair_count == 0 and ph.truth.coverage_fraction > 0
    assert all(h.loose and not h.counted for h in ph.truth.hairs)


@pytest.mark.parametrize("kw", [
    dict(skin_type=6, hair_colour="black", clipped=False),
    dict(skin_type=1, hair_colour="blonde", px_per_mm=40.0),
    dict(skin_type=4, hair_colour="grey", px_per_mm=400.0, supersample=2),
])
def test_conditions_render(kw):
    ph = make_phantom(seed=1, width_px=256, height_px=200, **kw)
    assert ph.image.std() > 2.0
    assert 0.0 <= ph.truth.coverage_fraction <= 1.0


def test_condition_grid_covers_every_combination():
    grid = conditions()
    assert len(grid) == 6 * len(HAIR_COLOURS) * 2
    combos = {(c["skin_type"], c["hair_colour"], c["clipped"]) for c in grid}
    assert len(combos) == len(grid)
    assert [c["seed"] for c in grid] == list(range(len(grid)))
    assert grid == conditions()
    for c in grid:
        PhantomSpec(**c)


def test_truth_is_json_ready_and_spec_round_trips(phantom):
    d = json.loads(json.dumps(phantom.truth.to_dict()))
    assert d["hair_count"] == phantom.truth.hair_count
    assert len(d["hairs"]) == len(phantom.truth.hairs)
    assert PhantomSpec.from_dict(d["spec"]) == phantom.truth.spec


def test_course_keeps_follicles_fixed(course):
    seen: dict[int, tuple] = {}
    for visit, h in zip(course.visits, course.scalp_to_image):
        assert np.allclose(np.array(visit.truth.scalp_to_image), h)
        for hair in visit.truth.hairs:
            if hair.loose:
                continue
            assert np.allclose(_apply(h, hair.emergence_scalp_xy_px), hair.emergence_xy_px)
            seen.setdefault(hair.hair_id, hair.emergence_scalp_xy_px)
            assert seen[hair.hair_id] == hair.emergence_scalp_xy_px
    poses = course.scalp_to_image
    assert not np.allclose(poses[0], poses[1])


def test_true_change_agrees_with_hair_ids(course):
    specs = [v.truth.spec for v in course.visits]

    def common_ids(visit):
        return {h.hair_id: h for h in visit.truth.hairs if h.counted and all(
            _inside(_apply(hm, h.emergence_scalp_xy_px), s)
            for hm, s in zip(course.scalp_to_image, specs))}

    base = common_ids(course.visits[0])
    assert len(course.true_change) == len(course.visits) - 1
    for change, visit in zip(course.true_change, course.visits[1:]):
        follow = common_ids(visit)
        assert change["baseline_hair_count"] == len(base)
        assert change["followup_hair_count"] == len(follow)
        assert change["hair_count_change"] == change["new_hairs"] - change["lost_hairs"]
        assert set(change["new_hair_ids"]) == set(follow) - set(base)
        assert set(change["lost_hair_ids"]) == set(base) - set(follow)
        thick = {i for i in set(base) & set(follow)
                 if not base[i].is_terminal and follow[i].is_terminal}
        assert set(change["thickened_hair_ids"]) == thick
        assert change["followup_terminal_count"] == sum(h.is_terminal for h in follow.values())
        assert change["hair_count_change_pct"] == pytest.approx(
            100 * (len(follow) - len(base)) / len(base))
    last = course.true_change[-1]
    assert last["new_hairs"] > last["lost_hairs"]  # a strong responder gains hair
    json.dumps(course.to_dict())


def test_common_area_masks(course):
    masks = common_area_masks(course)
    assert len(masks) == len(course.visits)
    for m, v in zip(masks, course.visits):
        assert m.shape == v.hair_mask.shape and m.dtype == bool
        # the same scalp area, counted in this visit's pixels at this visit's scale
        assert m.sum() / v.truth.px_per_mm**2 == pytest.approx(course.common_area_mm2,
                                                                rel=0.01)
        assert 0.5 < m.mean() < 1.0


def test_repeat_capture_has_no_change():
    """Same moment, new pose: identical hairs (tips included) in scalp coordinates."""
    base = PhantomSpec(width_px=300, height_px=240, px_per_mm=60.0, clipped=False,
                       loose_hairs=3)
    rep = repeat_capture(base, n_captures=2, seed=9)
    change = rep.true_change[0]
    assert change["new_hairs"] == change["lost_hairs"] == change["hair_count_change"] == 0
    a, b = ({h.hair_id: h for h in v.truth.hairs} for v in rep.visits)
    to_scalp = [np.linalg.inv(h) for h in rep.scalp_to_image]
    shared = set(a) & set(b)
    assert len(shared) > 10 and any(a[i].loose for i in shared)
    for i in shared:
        assert a[i].width_um == b[i].width_um
        assert np.allclose(a[i].emergence_scalp_xy_px, b[i].emergence_scalp_xy_px)
        assert np.allclose(_apply(to_scalp[0], a[i].tip_xy_px),
                           _apply(to_scalp[1], b[i].tip_xy_px))


@pytest.mark.parametrize("kw", [
    dict(skin_type=7), dict(skin_type=2.5), dict(hair_colour="purple"),
    dict(px_per_mm=10.0), dict(width_px=0), dict(clipped="yes"),
    dict(vellus_width_um=(15.0, 45.0)), dict(terminal_width_um=(100.0, 60.0)),
    dict(unit_size_probs=(0.5, 0.2)), dict(jpeg_quality=0), dict(white_balance=(1.0, 1.0)),
    dict(density_per_cm2=float("nan")), dict(seed=-1), dict(no_such_field=1),
    dict(noise_seed=-1), dict(noise_seed=1.5),
])
def test_invalid_phantom_parameters_raise(kw):
    with pytest.raises(ParameterError):
        make_phantom(**kw)


@pytest.mark.parametrize("kw", [
    dict(response="miracle"), dict(n_visits=0), dict(base="spec"),
    dict(max_rotation_deg=-1.0), dict(regrow=1), dict(colour="black"),
])
def test_invalid_course_parameters_raise(kw):
    with pytest.raises(ParameterError):
        make_course(**kw)
