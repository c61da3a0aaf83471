"""Global-view phantoms: exact truth, determinism, courses, repeat photos.

Phantoms are rendered small (non-square photos, coarse supersampling) so the
module runs in a few seconds; the truth is exact at any size.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scalpmetrics.errors import ParameterError
from scalpmetrics.globalview.phantom import (
    Capture,
    global_phantom_course,
    make_global_phantom,
    render_global_phantom,
    repeat_captures,
    truth_zone_coverage,
)
from scalpmetrics.globalview.phantom_head import Thinning, random_head, random_thinning
from scalpmetrics.globalview.zones import template_for

SMALL = {"width_px": 260, "height_px": 200, "supersample": 2}


@pytest.fixture(scope="module")
def vertex_phantom():
    return make_global_phantom(5, "vertex", pattern="vertex", **SMALL)


def test_truth_fractions_are_consistent(vertex_phantom):
    ph = vertex_phantom
    assert ph.image.shape == (200, 260, 3) and ph.image.dtype == np.uint8
    assert ph.hair_fraction.shape == ph.head_fraction.shape == (200, 260)
    assert ph.hair_fraction.min() >= 0 and ph.head_fraction.max() <= 1
    # hair only lies on the head surface
    assert np.all(ph.hair_fraction <= ph.head_fraction + 1e-6)
    # the supersampled truth has partial pixels (area weighting is exercised)
    partial = (ph.hair_fraction > 0.05) & (ph.hair_fraction < 0.95)
    assert partial.mean() > 0.05


def test_zone_truth_is_the_area_weighted_ratio(vertex_phantom):
    ph = vertex_phantom
    coverage, area = truth_zone_coverage(
        ph.hair_fraction, ph.head_fraction, ph.true_ellipse, view="vertex", side=ph.side
    )
    assert coverage == pytest.approx(ph.zone_coverage)
    assert set(coverage) == {z.name for z in template_for("vertex")}
    for name in coverage:
        assert 0.0 <= coverage[name] <= 1.0 and area[name] > 0


def test_vertex_thinning_shows_at_the_crown(vertex_phantom):
    cov = vertex_phantom.zone_coverage
    assert cov["vertex"] < cov["left_parietal"] - 0.1
    assert cov["vertex"] < cov["right_parietal"] - 0.1


def test_rendering_is_deterministic():
    a = make_global_phantom(8, "frontal", **SMALL)
    b = make_global_phantom(8, "frontal", **SMALL)
    c = make_global_phantom(9, "frontal", **SMALL)
    assert np.array_equal(a.image, b.image) and a.zone_coverage == b.zone_coverage
    assert not np.array_equal(a.image, c.image)


def test_temporal_zones_carry_the_side():
    ph = make_global_phantom(3, "temporal", **SMALL)
    assert ph.side in ("left", "right")
    assert f"{ph.side}_temporal" in ph.zone_coverage and "occipital" in ph.zone_coverage


def test_regrowth_course_raises_coverage_where_hair_was_lost():
    course = global_phantom_course(4, "vertex", regrowth=(0.0, 0.0, 0.8), pattern="vertex",
                                   **SMALL)
    c0, c1, c2 = (p.zone_coverage["vertex"] for p in course)
    assert c2 - c0 > 0.05  # regrowth of most of the loss
    assert abs(c1 - c0) < 0.03  # no change: only pose, lighting and restyling move it
    assert course[0].head == course[2].head


def test_regrown_thinning_scales_every_loss():
    t = Thinning(vertex=0.8, frontal=0.4, part=0.2, diffuse=0.1)
    half = t.regrown(0.5)
    assert (half.vertex, half.frontal, half.part, half.diffuse) == pytest.approx((0.4, 0.2, 0.1, 0.05))
    worse = t.regrown(-1.0)
    assert worse.vertex == 1.0 and worse.frontal == pytest.approx(0.8)


def test_repeat_capture_keeps_the_hair_and_moves_the_camera(vertex_phantom):
    again = repeat_captures(vertex_phantom, 77, pose_sd_deg=1.0, supersample=2)
    assert again.capture != vertex_phantom.capture
    assert again.capture.backdrop == vertex_phantom.capture.backdrop
    for name, value in vertex_phantom.zone_coverage.items():
        assert again.zone_coverage[name] == pytest.approx(value, abs=0.03)


def test_truth_does_not_depend_on_resolution():
    rng = np.random.default_rng(12)
    head = random_head(rng)
    thinning = random_thinning(rng, pattern="part")
    cap = Capture(view="midline", width_px=200, height_px=160)
    small = render_global_phantom(head, thinning, cap, supersample=2)
    big = render_global_phantom(head, thinning, dataclasses.replace(cap, width_px=400, height_px=320),
                                supersample=2)
    for name, value in small.zone_coverage.items():
        assert big.zone_coverage[name] == pytest.approx(value, abs=0.02)


def test_bad_scenario_names_are_refused():
    with pytest.raises(ParameterError, match="unknown view"):
        make_global_phantom(1, "sideways", **SMALL)
    with pytest.raises(ParameterError, match="thinning pattern"):
        random_thinning(np.random.default_rng(0), pattern="patchy")
