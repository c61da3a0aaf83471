"""``scalpmetrics analyze/compare --view`` through click's CliRunner: outputs and errors."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from scalpmetrics.globalview.phantom import global_phantom_course
from scalpmetrics_cli.main import main

SIZE = {"width_px": 480, "height_px": 360, "supersample": 2}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two visits of one head (vertex view) written as PNG files."""
    folder = tmp_path_factory.mktemp("global")
    course = global_phantom_course(41, "vertex", regrowth=(0.0, 0.5), pattern="vertex", **SIZE)
    paths = []
    for i, ph in enumerate(course):
        path = folder / f"visit{i}.png"
        cv2.imwrite(str(path), ph.image[:, :, ::-1])
        paths.append(path)
    return folder, paths, course


def test_analyze_json(files):
    _, (photo, _), course = files
    res = run("analyze", photo, "--view", "vertex", "--json")
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert record["kind"] == "global" and record["view"] == "vertex"
    zones = {z["name"]: z for z in record["regions"]}
    assert set(zones) == set(course[0].zone_coverage)
    for name, z in zones.items():
        assert z["coverage_fraction"] == pytest.approx(course[0].zone_coverage[name], abs=0.08)


def test_analyze_text_and_outputs(files):
    folder, (photo, _), _ = files
    mask, overlay = folder / "f.png", folder / "o.png"
    res = run("analyze", photo, "--view", "vertex", "--mask-out", mask, "--overlay-out", overlay)
    assert res.exit_code == 0, res.output
    assert "coverage" in res.stdout and "mid_scalp" in res.stdout
    fraction = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
    assert fraction.ndim == 2 and fraction.dtype == np.uint8 and fraction.max() == 255
    assert cv2.imread(str(overlay)).ndim == 3


def test_analyze_clinic_regions(files):
    folder, (photo, _), _ = files
    labels = np.zeros((SIZE["height_px"], SIZE["width_px"]), np.uint8)
    labels[120:210, 180:270] = 5
    label_path = folder / "labels.png"
    cv2.imwrite(str(label_path), labels)
    polygons = folder / "regions.json"
    polygons.write_text(json.dumps({"crown": [[180, 120], [270, 120], [270, 210], [180, 210]]}))
    res = run("analyze", photo, "--view", "vertex", "--json", "--regions-mask", label_path,
              "--regions-polygons", polygons)
    assert res.exit_code == 0, res.output
    zones = {z["name"]: z for z in json.loads(res.stdout)["regions"]}
    assert zones["label_5"]["label"] == 5 and zones["crown"]["source"] == "polygon"
    assert zones["label_5"]["coverage_fraction"] == pytest.approx(
        zones["crown"]["coverage_fraction"], abs=0.02)


def test_compare_json_and_report(files):
    folder, paths, course = files
    report = folder / "report.html"
    res = run("compare", *paths, "--view", "vertex", "--json", "--report-out", report,
              "--dates", "2026-01-01,2026-07-01")
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert record["kind"] == "global" and len(record["changes"]) == 1
    zone = {z["name"]: z for z in record["changes"][0]["regions"]}["vertex"]
    truth = 100 * (course[1].zone_coverage["vertex"] - course[0].zone_coverage["vertex"])
    assert zone["coverage_change_points"] == pytest.approx(truth, abs=8.0)
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_compare_text(files):
    _, paths, _ = files
    res = run("compare", *paths, "--view", "vertex")
    assert res.exit_code == 0, res.output
    assert "change pts" in res.stdout and "95 % interval" in res.stdout


@pytest.mark.parametrize("make_args, fragment", [
    (lambda d, p: ["analyze", d / "missing.png", "--view", "vertex"], "no such file"),
    (lambda d, p: ["analyze", d / "flat.png", "--view", "vertex"], "no subject"),
    (lambda d, p: ["analyze", p[0], "--view", "vertex", "--regions-polygons", d / "bad.json"],
     "not valid JSON"),
    (lambda d, p: ["analyze", p[0], "--view", "vertex", "--regions-polygons", d / "short.json"],
     "at least 3"),
    (lambda d, p: ["analyze", p[0], "--view", "vertex", "--regions-mask", d / "small.png"],
     "must match"),
    (lambda d, p: ["compare", p[0], p[1], "--view", "vertex", "--dates", "2026-01-01"],
     "dates"),
    (lambda d, p: ["analyze", p[0], "--view", "auto", "--param", "globalview.view_min_margin=1.0"],
     "--view"),
])
def test_bad_inputs_exit_1_with_one_line(files, make_args, fragment):
    folder, paths, _ = files
    cv2.imwrite(str(folder / "flat.png"), np.full((120, 160, 3), 90, np.uint8))
    (folder / "bad.json").write_text("{not json")
    (folder / "short.json").write_text(json.dumps({"a": [[0, 0], [1, 1]]}))
    cv2.imwrite(str(folder / "small.png"), np.ones((20, 30), np.uint8))
    res = run(*make_args(folder, paths))
    assert res.exit_code == 1, res.output
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


@pytest.mark.parametrize("args", [
    ["analyze", "PHOTO", "--view", "sideways"],
    ["analyze", "PHOTO", "--regions-polygons", "x.json"],
    ["analyze", "PHOTO", "--view", "vertex", "--regions", "grid:2x2"],
    ["compare", "PHOTO", "PHOTO", "--regions-mask", "x.png"],
])
def test_usage_errors_exit_2(files, args):
    photo = str(files[1][0])
    res = run(*[photo if a == "PHOTO" else a for a in args])
    assert res.exit_code == 2, res.output
