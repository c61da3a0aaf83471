"""Registration of follow-up photos to the baseline, on phantom courses with known poses."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scalpmetrics.errors import ImageArrayError, ParameterError
from scalpmetrics.params import Params, RegisterParams
from scalpmetrics.register import apply_homography, register_pair, register_to_baseline
from scalpmetrics.synthetic import PhantomSpec, make_course

# non-square, so a row/column swap cannot pass
SPEC = PhantomSpec(width_px=560, height_px=420)


@pytest.fixture(scope="module")
def course():
    return make_course(seed=11, n_visits=3, base=SPEC)


def _true(course, v):
    return course.scalp_to_image[v] @ np.linalg.inv(course.scalp_to_image[0])


def _grid(shape):
    h, w = shape[:2]
    return np.stack(np.meshgrid(np.linspace(0, w - 1, 9), np.linspace(0, h - 1, 7)), -1).reshape(-1, 2)


def _max_error_px(course, v, matrix):
    pts = _grid(course.visits[0].image.shape)
    return float(np.abs(apply_homography(matrix, pts) - apply_homography(_true(course, v), pts)).max())


@pytest.mark.parametrize("model", ["similarity", "affine", "homography"])
def test_recovers_the_camera_pose_to_a_fraction_of_a_pixel(course, model):
    base = course.visits[0]
    regs = register_to_baseline(
        base.image, [v.image for v in course.visits[1:]],
        baseline_hair_mask=base.hair_mask,
        followup_hair_masks=[v.hair_mask for v in course.visits[1:]],
        px_per_mm=100.0, params=RegisterParams(model=model),
    )
    assert len(regs) == 2
    for v, reg in enumerate(regs, start=1):
        assert reg.registered, reg.failure_reason
        assert reg.model == model
        assert _max_error_px(course, v, reg.followup_from_baseline) < 0.5
        assert reg.inliers >= 100 and 0 < reg.inlier_ratio <= 1
        assert reg.median_residual_um == pytest.approx(reg.median_residual_px * 10.0)
        assert reg.correlation > 0.5
        spec = course.visits[v].truth.spec
        assert reg.scale == pytest.approx(spec.scale, abs=2e-3)
        assert reg.rotation_deg == pytest.approx(spec.rotation_deg, abs=0.1)


def test_maps_points_both_ways(course):
    reg = register_pair(course.visits[0].image, course.visits[1].image,
                        baseline_hair_mask=course.visits[0].hair_mask,
                        followup_hair_mask=course.visits[1].hair_mask)
    pts = np.array([[10.0, 20.0], [400.5, 300.25]])
    assert np.allclose(reg.to_baseline(reg.to_followup(pts)), pts)
    assert reg.median_residual_um is None  # no scale given
    assert reg.to_dict()["followup_from_baseline"] == reg.followup_from_baseline.tolist()


def test_works_without_hair_masks_and_on_16_bit_photos(course):
    base = course.visits[0].image.astype(np.uint16) * 257
    follow = course.visits[2].image.astype(np.uint16) * 257
    reg = register_pair(base, follow)
    assert reg.registered, reg.failure_reason
    assert _max_error_px(course, 2, reg.followup_from_baseline) < 0.5


def test_follow_up_of_another_size(course):
    # the follow-up photo is a crop: registration must absorb the offset
    follow = course.visits[1].image[30:, 50:]
    reg = register_pair(course.visits[0].image, follow,
                        baseline_hair_mask=course.visits[0].hair_mask,
                        followup_hair_mask=course.visits[1].hair_mask[30:, 50:])
    assert reg.registered, reg.failure_reason
    shifted = np.array([[1, 0, -50], [0, 1, -30], [0, 0, 1]], float) @ _true(course, 1)
    pts = _grid(course.visits[0].image.shape)[20:40]
    assert np.abs(apply_homography(reg.followup_from_baseline, pts)
                  - apply_homography(shifted, pts)).max() < 0.5


def test_a_different_scalp_is_not_registered(course):
    other = make_course(seed=12, n_visits=1, base=SPEC).visits[0]
    reg = register_pair(course.visits[0].image, other.image,
                        baseline_hair_mask=course.visits[0].hair_mask,
                        followup_hair_mask=other.hair_mask)
    assert not reg.registered
    assert reg.failure_reason and "\n" not in reg.failure_reason


def test_implausible_scale_fails_with_a_reason(course):
    params = RegisterParams(max_scale_change_fraction=0.0)
    spec = course.visits[1].truth.spec
    assert abs(spec.scale - 1) > 1e-3
    reg = register_pair(course.visits[0].image, course.visits[1].image, params=params)
    assert not reg.registered
    assert "scale" in reg.failure_reason
    assert reg.followup_from_baseline is not None  # the fit is kept for inspection


def test_inputs_are_not_modified(course):
    base = course.visits[0].image.copy()
    mask = course.visits[0].hair_mask.copy()
    register_pair(base, course.visits[1].image, baseline_hair_mask=mask)
    assert np.array_equal(base, course.visits[0].image)
    assert np.array_equal(mask, course.visits[0].hair_mask)


def test_bad_inputs_raise_one_line_errors(course):
    img = course.visits[0].image
    with pytest.raises(ImageArrayError, match="uint8 or uint16"):
        register_pair(img.astype(np.float32), img)
    with pytest.raises(ImageArrayError, match="hair mask"):
        register_pair(img, img, baseline_hair_mask=np.zeros((5, 5), bool))
    with pytest.raises(ImageArrayError, match="masks"):
        register_to_baseline(img, [img, img], followup_hair_masks=[None])


def test_model_must_be_known():
    with pytest.raises(ParameterError, match="register.model"):
        RegisterParams(model="projective")
    assert dataclasses.asdict(Params())["register"]["model"] == "similarity"
