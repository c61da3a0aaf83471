import json
import os

import cv2
import numpy as np
import pytest

from scalpmetrics import report
from scalpmetrics.errors import InputFileError, OutputFileError
from scalpmetrics.types import Hair


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.json"
    report.atomic_write_text(target, "one")
    report.atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(tmp_path) == ["out.json"]


def test_atomic_write_failure_keeps_old_file_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    def boom(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OutputFileError, match="disk full"):
        report.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]


def test_atomic_write_into_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        report.atomic_write_text(tmp_path / "nope" / "x.json", "x")


def test_json_is_strict():
    assert json.loads(report.to_json({"a": np.float32(1.5), "b": np.int64(2)})) == {"a": 1.5, "b": 2}
    with pytest.raises(ValueError):
        report.to_json({"a": float("nan")})


def test_mask_png_round_trip_non_square(tmp_path):
    mask = np.zeros((30, 50), bool)
    mask[5:10, 20:45] = True
    path = tmp_path / "mask.png"
    report.write_mask_png(path, mask)
    back = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint8 and back.shape == (30, 50)
    assert set(np.unique(back)) == {0, 255}
    assert np.array_equal(back == 255, mask)


def test_overlay_draws_without_touching_input():
    pixels = np.full((40, 60, 3), 200, np.uint16) * 257
    mask = np.zeros((40, 60), bool)
    mask[10:12, 5:50] = True
    before = pixels.copy()
    hair = Hair(0, (5.0, 11.0), (50.0, 11.0), 45.0, 2.0, None, None, True, -1)
    out = report.render_overlay(pixels, mask, [hair])
    assert np.array_equal(pixels, before)
    assert out.dtype == np.uint8 and out.shape == (40, 60, 3)
    assert not np.array_equal(out[11, 30], out[30, 30])
    assert tuple(out[11, 5]) == report.COUNTED_RGB


def test_overlay_outlines_the_measured_area_and_marks_hairs_outside_it_uncounted():
    pixels = np.full((40, 60, 3), 100, np.uint8)
    mask = np.zeros((40, 60), bool)
    area = np.zeros((40, 60), bool)
    area[8:32, 8:52] = True
    inside = Hair(0, (20.0, 20.0), (40.0, 20.0), 20.0, 2.0, None, None, True, -1)
    outside = Hair(1, (3.0, 30.0), (30.0, 30.0), 27.0, 2.0, None, None, True, -1)
    out = report.render_overlay(pixels, mask, [inside, outside], measured_area=area)
    assert tuple(out[20, 20]) == report.COUNTED_RGB
    assert tuple(out[30, 3]) == report.NOT_COUNTED_RGB
    assert tuple(out[8, 30]) == report.AREA_OUTLINE_RGB  # the area's top edge
    assert tuple(out[2, 30]) == (100, 100, 100)
