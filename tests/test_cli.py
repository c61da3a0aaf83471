"""The analyze command through click's CliRunner: output contract and errors."""

import json

import cv2
import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from scalpmetrics.synthetic import make_phantom
from scalpmetrics_cli.main import main


@pytest.fixture(scope="module")
def photo_path(tmp_path_factory):
    ph = make_phantom(seed=5, width_px=480, height_px=360, px_per_mm=80.0)
    path = tmp_path_factory.mktemp("cli") / "photo.png"
    cv2.imwrite(str(path), ph.image[:, :, ::-1])
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_json_output_is_one_valid_object(photo_path, analysis_schema):
    res = run("analyze", photo_path, "--px-per-mm", 80, "--json", "--regions", "grid:2x2")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    jsonschema.validate(data, analysis_schema)
    assert [r["name"] for r in data["regions"]] == [
        "whole", "grid_r1_c1", "grid_r1_c2", "grid_r2_c1", "grid_r2_c2"]
    assert data["calibration"] == {"px_per_mm": 80.0, "source": "argument"}
    assert data["image"]["width_px"] == 480 and data["image"]["height_px"] == 360


def test_uncalibrated_json(photo_path, analysis_schema):
    res = run("analyze", photo_path, "--json")
    data = json.loads(res.stdout)
    jsonschema.validate(data, analysis_schema)
    assert data["density_per_cm2"] is None
    assert [f["name"] for f in data["flags"]] == ["calibration_missing"]


def test_field_width(photo_path):
    data = json.loads(run("analyze", photo_path, "--field-width-mm", 6, "--json").stdout)
    assert data["calibration"] == {"px_per_mm": 80.0, "source": "field_width"}


def test_text_table(photo_path):
    res = run("analyze", photo_path, "--px-per-mm", 80)
    assert res.exit_code == 0
    assert "whole" in res.stdout and "per cm2" in res.stdout


def test_mask_and_overlay_outputs(photo_path, tmp_path):
    mask_out, overlay_out = tmp_path / "m.png", tmp_path / "o.png"
    res = run("analyze", photo_path, "--px-per-mm", 80, "--mask-out", mask_out,
              "--overlay-out", overlay_out)
    assert res.exit_code == 0
    mask = cv2.imread(str(mask_out), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (360, 480) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255} and (mask == 255).any()
    overlay = cv2.imread(str(overlay_out))
    assert overlay.shape == (360, 480, 3)


def test_regions_mask(photo_path, tmp_path, analysis_schema):
    labels = np.zeros((360, 480), np.uint8)
    labels[:180] = 2
    labels[180:, :240] = 5
    path = tmp_path / "labels.png"
    cv2.imwrite(str(path), labels)
    data = json.loads(run("analyze", photo_path, "--px-per-mm", 80, "--json",
                          "--regions-mask", path).stdout)
    jsonschema.validate(data, analysis_schema)
    assert [r["name"] for r in data["regions"]] == ["whole", "label_2", "label_5"]
    assert data["regions"][1]["area_px"] == 180 * 480


def test_params_override_is_recorded(photo_path):
    data = json.loads(run("analyze", photo_path, "--px-per-mm", 80, "--json",
                          "--param", "trace.vellus_cutoff_um=30").stdout)
    assert data["provenance"]["parameters"]["trace"]["vellus_cutoff_um"] == 30.0


@pytest.mark.parametrize(
    "make_args, fragment",
    [
        (lambda p, t: ["analyze", t / "missing.jpg"], "no such file"),
        (lambda p, t: ["analyze", t], "directory"),
        (lambda p, t: ["analyze", p, "--px-per-mm", "nan"], "finite"),
        (lambda p, t: ["analyze", p, "--px-per-mm", "-3"], "positive"),
        (lambda p, t: ["analyze", p, "--px-per-mm", "1e9"], "plausible"),
        (lambda p, t: ["analyze", p, "--px-per-mm", "80", "--field-width-mm", "5"], "not both"),
        (lambda p, t: ["analyze", p, "--regions", "grid:0x2"], "grid"),
        (lambda p, t: ["analyze", p, "--param", "trace.nope=1"], "unknown parameter"),
        (lambda p, t: ["analyze", p, "--mask-out", t / "no" / "dir" / "m.png"], "does not exist"),
    ],
)
def test_errors_are_one_line_nonzero(photo_path, tmp_path, make_args, fragment):
    res = run(*make_args(photo_path, tmp_path))
    assert res.exit_code == 1
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert fragment in lines[0]
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "empty"),
        (b"<html><body>hi</body></html>", "not an image"),
        (b"hello, this is text", "not an image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40), "JPEG"),
        (bytes(range(256)) * 4, "not a recognised image format"),
    ],
)
def test_bad_files(tmp_path, content, fragment):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    res = run("analyze", path, "--json")
    assert res.exit_code == 1 and res.stdout == ""
    assert fragment in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_usage_error_exit_code():
    assert run("analyze").exit_code == 2
