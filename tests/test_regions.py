import numpy as np
import pytest

from scalpmetrics.errors import RegionError
from scalpmetrics.params import TraceParams
from scalpmetrics.regions import (
    build_regions,
    edge_strip,
    grid_regions,
    guarded_area,
    label_regions,
    parse_grid_spec,
)


def test_grid_cells_tile_a_non_square_photo_exactly():
    shape = (31, 47)
    cells = grid_regions(shape, 3, 4)
    assert [c.name for c in cells[:5]] == [
        "grid_r1_c1", "grid_r1_c2", "grid_r1_c3", "grid_r1_c4", "grid_r2_c1"]
    total = np.sum([c.mask.astype(int) for c in cells], axis=0)
    assert np.all(total == 1)
    # row 1, column 4 is the top-right cell
    assert cells[3].mask[0, -1] and not cells[3].mask[-1, 0]


@pytest.mark.parametrize("spec", ["grid:0x3", "grid:3", "3x3", "grid:axb", "grid:1000x1000"])
def test_bad_grid_specs(spec):
    with pytest.raises(RegionError):
        parse_grid_spec(spec)


def test_grid_finer_than_photo():
    with pytest.raises(RegionError):
        grid_regions((4, 4), 5, 1)


def test_label_regions_named_by_label():
    lab = np.zeros((10, 20), np.int32)
    lab[:5, :10] = 3
    lab[5:, 10:] = 7
    regions = label_regions(lab, (10, 20, 3))
    assert [r.name for r in regions] == ["label_3", "label_7"]
    assert regions[0].mask.sum() == 50


def test_label_image_size_must_match():
    with pytest.raises(RegionError, match="must match"):
        label_regions(np.ones((10, 10), np.int32), (10, 20, 3))


def test_empty_label_image():
    with pytest.raises(RegionError, match="no non-zero"):
        label_regions(np.zeros((10, 20), np.int32), (10, 20))


def test_build_regions_starts_with_whole():
    regions = build_regions((8, 8, 3), grid="grid:2x2")
    assert regions[0].name == "whole" and regions[0].mask.all()
    assert len(regions) == 5
    with pytest.raises(RegionError):
        build_regions((8, 8), grid="grid:2x2", labels=np.ones((8, 8)))


def test_the_guarded_area_leaves_out_a_strip_of_the_edge_guard():
    area = guarded_area((100, 150), px_per_mm=50.0)  # 200 um = 10 px
    rows, cols = np.nonzero(area)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 89, 10, 139)
    assert area.sum() == 80 * 130
    uncalibrated = guarded_area((100, 150), None, TraceParams(edge_guard_px=5.0))
    assert uncalibrated.sum() == 90 * 140
    assert guarded_area((100, 150), 50.0, TraceParams(edge_guard_um=0.0)).all()


def test_the_edge_strip_never_takes_the_whole_photo():
    strip = edge_strip((16, 40), 100.0)  # capped at a quarter of 16 px
    assert not strip[4:12, 4:36].any() and strip[:4].all() and strip[12:].all()
