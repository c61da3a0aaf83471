import numpy as np
import pytest

from scalpmetrics.measure import (
    mean_shaft_width,
    mean_width_from_sums,
    measure_region,
    measure_regions,
    width_weights,
)
from scalpmetrics.params import TraceParams
from scalpmetrics.regions import build_regions
from scalpmetrics.types import Calibration, Hair


def _hair(i, x, y, width_um, counted=True, unit=-1, length_px=50.0):
    return Hair(i, (x, y), (x + 5, y), length_px, width_um / 10 if width_um else 3.0, width_um,
                None if width_um is None else width_um >= 40, counted, unit)


HAIRS = (
    _hair(0, 10.5, 10.5, 80.0, unit=0),
    _hair(1, 12.0, 11.0, 70.0, unit=0),
    _hair(2, 150.0, 80.0, 30.0, unit=1),
    _hair(3, 160.0, 20.0, 90.0, counted=False),
)


def test_whole_region_figures_with_calibration():
    shape = (100, 200)
    cov = np.zeros(shape)
    cov[:, :50] = 0.5  # a quarter of the area half covered
    region = build_regions(shape)[0]
    m = measure_region(region, HAIRS, cov, calibration=Calibration(100.0, "argument"))
    # 100 px/mm -> 2 mm x 1 mm = 0.02 cm2
    assert m.area_cm2 == pytest.approx(0.02)
    assert m.hair_count == 3
    assert m.density_per_cm2 == pytest.approx(150.0)
    assert (m.terminal_count, m.vellus_count) == (2, 1)
    assert m.vellus_fraction == pytest.approx(1 / 3)
    assert m.mean_shaft_width_um == pytest.approx(60.0)
    assert m.cumulative_thickness_mm_per_cm2 == pytest.approx(0.180 / 0.02)
    assert m.coverage_fraction == pytest.approx(0.125)
    assert m.follicular_unit_count == 2
    assert m.mean_hairs_per_unit == pytest.approx(1.5)


def test_mean_width_is_weighted_by_traced_length_and_thickness_is_not():
    # A long shaft, a shorter one and a blob shorter than twice its width (a
    # merged unit base, 150 um = 15 px wide, 20 px long): the shafts weigh by
    # their lengths, the blob not at all; the cumulative thickness still sums
    # each counted hair's width once.
    shape = (100, 200)
    hairs = (_hair(0, 20.0, 20.0, 60.0, length_px=90.0), _hair(1, 40.0, 20.0, 30.0, length_px=30.0),
             _hair(2, 60.0, 20.0, 150.0, length_px=20.0))
    region = build_regions(shape)[0]
    m = measure_region(region, hairs, np.zeros(shape), calibration=Calibration(100.0))
    assert m.mean_shaft_width_um == pytest.approx((60.0 * 90 + 30.0 * 30) / 120)
    assert m.cumulative_thickness_mm_per_cm2 == pytest.approx(0.240 / 0.02)


def test_width_weights_follow_the_profiles_end_rule():
    hairs = (_hair(0, 0.0, 0.0, 50.0, length_px=10.0), _hair(1, 0.0, 0.0, 50.0, length_px=9.9))
    assert width_weights(hairs).tolist() == [10.0, 0.0]  # 5 px wide: 2 x 1 width kept off the ends
    loose = TraceParams(end_exclusion_widths=0.5)
    assert width_weights(hairs, loose).tolist() == [10.0, 9.9]


def test_mean_shaft_width_edge_cases():
    assert mean_shaft_width(np.zeros(0), np.zeros(0)) is None
    assert mean_width_from_sums(0.0, 0.0, 0.0, 0) is None
    assert mean_width_from_sums(75.0 * 4, 4.0, 120.0, 2) == pytest.approx(75.0)
    assert mean_shaft_width(np.array([30.0, 90.0]), np.zeros(2)) == pytest.approx(60.0)
    assert mean_shaft_width(np.array([30.0, 90.0]), np.array([1.0, 3.0])) == pytest.approx(75.0)


def test_uncalibrated_figures_are_none_but_counts_and_coverage_remain():
    shape = (100, 200)
    region = build_regions(shape)[0]
    m = measure_region(region, HAIRS, np.zeros(shape, bool), calibration=Calibration())
    assert m.hair_count == 3 and m.coverage_fraction == 0.0
    for name in ("area_cm2", "density_per_cm2", "terminal_count", "vellus_fraction",
                 "mean_shaft_width_um", "cumulative_thickness_mm_per_cm2"):
        assert getattr(m, name) is None, name


def test_hairs_are_assigned_by_counting_point_with_row_col_order():
    shape = (100, 200)
    regions = build_regions(shape, grid="grid:1x2")
    ms = measure_regions(regions, HAIRS, np.zeros(shape), calibration=Calibration(100.0))
    left, right = ms[1], ms[2]
    assert (left.hair_count, right.hair_count) == (2, 1)
    assert left.area_px + right.area_px == 100 * 200


def test_empty_region_has_typed_nulls():
    shape = (10, 10)
    region = build_regions(shape)[0]
    m = measure_region(region, (), np.zeros(shape), calibration=Calibration(100.0))
    assert m.hair_count == 0 and m.density_per_cm2 == 0.0
    assert m.vellus_fraction is None and m.mean_shaft_width_um is None
    assert m.mean_hairs_per_unit is None


def test_counting_point_maps_to_the_pixel_whose_centre_is_nearest():
    # Pixel centres are on integers: x = 99.6 lies in column 100 (right cell),
    # x = 99.4 in column 99 (left cell); likewise for rows.
    shape = (100, 200)
    regions = build_regions(shape, grid="grid:2x2")
    hairs = (_hair(0, 99.6, 10.0, 80.0), _hair(1, 99.4, 10.0, 80.0), _hair(2, 10.0, 49.5, 80.0))
    ms = measure_regions(regions, hairs, np.zeros(shape), calibration=Calibration(100.0))
    counts = {m.name: m.hair_count for m in ms}
    assert counts["grid_r1_c1"] == 1 and counts["grid_r1_c2"] == 1 and counts["grid_r2_c1"] == 1
