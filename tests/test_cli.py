"""The command line through click's CliRunner: output contract, errors, outputs, docs/cli.md."""

import json

import cv2
import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from scalpmetrics.regions import guarded_area
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
    assert data["regions"][1]["area_px"] == ((labels == 2) & guarded_area(labels.shape, 80.0)).sum()


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


# ----------------------------------------------------------------------------- output paths


def _refuse(*args, **kwargs):
    raise AssertionError("the analysis ran before the output path was checked")


def _one_error_line(res, fragment):
    assert res.exit_code == 1, res.output
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert fragment in lines[0]


@pytest.mark.parametrize("option", ["--mask-out", "--overlay-out"])
def test_analyze_checks_outputs_before_analysing(photo_path, tmp_path, monkeypatch, option):
    import scalpmetrics.analysis

    monkeypatch.setattr(scalpmetrics.analysis, "analyze", _refuse)
    res = run("analyze", photo_path, "--px-per-mm", 80, option, tmp_path / "no" / "o.png")
    _one_error_line(res, "does not exist")


@pytest.mark.parametrize("view", [None, "vertex"])
def test_compare_checks_report_out_before_analysing(photo_path, tmp_path, monkeypatch, view):
    import scalpmetrics.compare
    import scalpmetrics_cli.compare_cmd

    monkeypatch.setattr(scalpmetrics.compare, "compare_visits", _refuse)
    monkeypatch.setattr(scalpmetrics_cli.compare_cmd, "run_compare", _refuse)
    how = ["--px-per-mm", 80] if view is None else ["--view", view]
    res = run("compare", photo_path, photo_path, *how, "--report-out", tmp_path / "no" / "r.html")
    _one_error_line(res, "does not exist")


def test_compare_report_without_its_extra_fails_before_analysing(photo_path, tmp_path,
                                                                  monkeypatch):
    import sys

    import scalpmetrics.compare

    monkeypatch.setattr(scalpmetrics.compare, "compare_visits", _refuse)
    monkeypatch.setitem(sys.modules, "jinja2", None)
    res = run("compare", photo_path, photo_path, "--report-out", tmp_path / "r.html")
    _one_error_line(res, "scalpmetrics[report]")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("command", [["analyze", "P", "--mask-out"], ["compare", "P", "P",
                                     "--report-out"], ["batch", "P", "--out"]])
def test_an_output_that_is_a_folder_is_a_usage_error(photo_path, tmp_path, command):
    res = run(*[photo_path if a == "P" else a for a in command], tmp_path)
    assert res.exit_code == 2 and "is a directory" in res.stderr


def test_output_folder_without_write_permission_is_refused(tmp_path, monkeypatch):
    """Checked with ``os.access`` (a test run as root could write anyway)."""
    import os

    from scalpmetrics.errors import OutputFileError
    from scalpmetrics.report import check_output_path

    assert check_output_path(tmp_path / "r.html") == tmp_path
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(OutputFileError, match="no permission to write in folder"):
        check_output_path(tmp_path / "r.html")


def test_batch_checks_out_before_scoring(photo_path, tmp_path, monkeypatch):
    import scalpmetrics.batch.runner

    monkeypatch.setattr(scalpmetrics.batch.runner, "analyze", _refuse)
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path\n{photo_path}\n", encoding="utf-8")
    res = run("batch", manifest, "--out", tmp_path / "none" / "results.csv", "--workers", 0)
    _one_error_line(res, "does not exist")


# ----------------------------------------------------------------------------- docs/cli.md


@pytest.mark.parametrize("command", ["analyze", "compare", "batch", "params"])
def test_cli_reference_documents_every_option(command):
    """docs/cli.md has a section per command naming each of its options."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    heading = f"## `scalpmetrics {command}`"
    assert heading in text
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    if command == "params":
        section = text  # its one option is described with the conventions
    options = [opt for p in main.commands[command].params for opt in p.opts if opt.startswith("--")]
    assert options
    missing = [o for o in options if not re.search(re.escape(o) + r"(?![\w-])", section)]
    assert missing == []


def test_blas_runs_one_thread_unless_the_user_says_otherwise(monkeypatch):
    """The command sets one BLAS thread by default (NumPy is loaded after it) and
    leaves a value the user set alone."""
    import os

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "unset")  # restored after the test
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    assert run("params").exit_code == 0
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["MKL_NUM_THREADS"] == "3"
