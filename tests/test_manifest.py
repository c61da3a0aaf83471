"""Batch inputs: manifest CSVs, SUBJECT/VISIT folders, per-row calibration, pre-flight checks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from scalpmetrics.errors import CalibrationError, ManifestError
from scalpmetrics.manifest import (
    FOLDER_COLUMNS,
    load_inputs,
    natural_sort_key,
    read_manifest,
    row_calibration,
    scan_directory,
    validate_inputs,
)
from scalpmetrics.params import Params


def write_png(path, *, width_px=40, height_px=30, seed=0):
    """A small seeded RGB PNG (non-square, to catch width/height swaps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (height_px, width_px, 3), dtype=np.uint8)).save(path)
    return path


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- read_manifest


def test_manifest_rows_resolve_paths_and_keep_every_column_verbatim(tmp_path):
    write_png(tmp_path / "photos" / "a.png")
    other = write_png(tmp_path / "elsewhere.png")
    m = read_manifest(write_csv(
        tmp_path / "photos" / "m.csv",
        f"\ufeffsubject, path ,note\nS1,a.png, keep  spaces \n\nS2,{other},\n",
    ))
    assert m.columns == ("subject", "path", "note")
    assert [r.index for r in m.rows] == [0, 1]
    assert m.rows[0].path == (tmp_path / "photos" / "a.png").absolute()
    assert m.rows[1].path == other
    assert dict(m.rows[0].values) == {"subject": "S1", "path": "a.png", "note": " keep  spaces "}
    assert [r.where for r in m.rows] == ["line 2", "line 4"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        ("path,subject\n", "header but no rows"),
        ("file,subject\na.png,S1\n", "no 'path' column"),
        ("path,subject,subject\na.png,S1,S1\n", "more than once"),
        ("path,,subject\na.png,x,S1\n", "column 2 has no name"),
        ("path,subject\na.png,S1,extra\n", "line 2 has 3 cells but the header has 2"),
        ("path,subject\n ,S1\n", "line 2 has an empty path"),
        ("path,subject\na.png,S1\nb.png,S1\n./a.png,S1\n", "lines 2 and 4 are the same photo"),
    ],
)
def test_malformed_manifests_are_refused_with_one_line(tmp_path, text, message):
    with pytest.raises(ManifestError, match=message) as info:
        read_manifest(write_csv(tmp_path / "m.csv", text))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"pa\nth",subject\na.png,S1\n', r"no 'path' column \(columns: 'pa\\nth', subject\)"),
        ('path,"sub\nject","sub\nject"\na.png,S1,S1\n', r"column 'sub\\nject' more than once"),
        ('path,note\na.png,"x\ny"\nb.png\n', "line 4 has 1 cells"),
        ('path,note\n"a\n.png",x\n"a\n.png",x\n', "lines 2 and 4 are the same photo"),
    ],
)
def test_line_breaks_in_cells_do_not_break_the_message(tmp_path, text, message):
    with pytest.raises(ManifestError, match=message) as info:
        read_manifest(write_csv(tmp_path / "m.csv", text))
    assert "\n" not in str(info.value) and "\r" not in str(info.value)


def test_line_breaks_in_file_names_do_not_break_the_message(tmp_path):
    with pytest.raises(ManifestError, match=r"'.*m\\n\.csv': no such manifest") as info:
        read_manifest(tmp_path / "m\n.csv")
    assert "\n" not in str(info.value)
    (tmp_path / "S1" / "v1").mkdir(parents=True)
    (tmp_path / "S1" / "v1" / "a.jpg").write_bytes(b"x")
    (tmp_path / "S1" / "lo\nose.jpg").write_bytes(b"x")
    with pytest.raises(ManifestError, match=r"photo 'S1/lo\\nose.jpg' is not in") as info:
        scan_directory(tmp_path)
    assert "\n" not in str(info.value)


def test_same_photo_with_different_columns_is_two_rows(tmp_path):
    m = read_manifest(write_csv(tmp_path / "m.csv", "path,view\na.png,vertex\na.png,frontal\n"))
    assert [r.values["view"] for r in m.rows] == ["vertex", "frontal"]


def test_unreadable_manifests(tmp_path):
    with pytest.raises(ManifestError, match="no such manifest"):
        read_manifest(tmp_path / "missing.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("path,name\na.png,J\xf6rg\n".encode("latin-1"))
    with pytest.raises(ManifestError, match="not UTF-8"):
        read_manifest(bad)


# ----------------------------------------------------------------------------- folders


def test_folder_layout_in_natural_order(tmp_path):
    for rel in ("S10/v1/a.jpg", "S2/v10/a.png", "S2/v2/b.JPG", "S2/v2/a10.tif", "S2/v2/a9.tif"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "S2" / "v2" / "notes.txt").write_text("ignored")
    (tmp_path / "S2" / "v2" / ".hidden.jpg").write_bytes(b"x")
    (tmp_path / ".cache" / "v1").mkdir(parents=True)
    (tmp_path / ".cache" / "v1" / "x.jpg").write_bytes(b"x")
    (tmp_path / "S2" / "v2" / "overlays").mkdir()
    (tmp_path / "S2" / "v2" / "overlays" / "o.png").write_bytes(b"x")
    m = scan_directory(tmp_path)
    assert m.columns == FOLDER_COLUMNS
    assert [r.values["path"] for r in m.rows] == [
        "S2/v2/a9.tif", "S2/v2/a10.tif", "S2/v2/b.JPG", "S2/v10/a.png", "S10/v1/a.jpg"]
    assert dict(m.rows[3].values) == {"path": "S2/v10/a.png", "subject": "S2", "visit": "v10"}
    assert m.rows[0].path == (tmp_path / "S2" / "v2" / "a9.tif").absolute()
    assert load_inputs(tmp_path).rows == m.rows


def test_folder_with_misplaced_or_no_photos(tmp_path):
    with pytest.raises(ManifestError, match="no photos found"):
        scan_directory(tmp_path)
    (tmp_path / "S1" / "v1").mkdir(parents=True)
    (tmp_path / "S1" / "v1" / "a.jpg").write_bytes(b"x")
    (tmp_path / "S1" / "loose.jpg").write_bytes(b"x")
    with pytest.raises(ManifestError, match="S1/loose.jpg is not in a SUBJECT/VISIT folder"):
        scan_directory(tmp_path)


def test_natural_sort_key_orders_numbers_by_value():
    assert sorted(["visit10", "visit9", "Visit1", "baseline"], key=natural_sort_key) == [
        "baseline", "Visit1", "visit9", "visit10"]


# ----------------------------------------------------------------------------- calibration


def test_row_calibration_row_wins_over_defaults():
    assert row_calibration({}, px_per_mm=50.0) == (50.0, None)
    blank = {"px_per_mm": "", "field_width_mm": " "}
    assert row_calibration(blank, field_width_mm=6.0) == (None, 6.0)
    assert row_calibration({"px_per_mm": "80"}, field_width_mm=6.0) == (80.0, None)
    assert row_calibration({"field_width_mm": "5.5"}, px_per_mm=50.0) == (None, 5.5)
    with pytest.raises(CalibrationError, match="'abc' is not a number"):
        row_calibration({"px_per_mm": "abc"})
    with pytest.raises(CalibrationError, match="both"):
        row_calibration({"px_per_mm": "80", "field_width_mm": "6"})


# ----------------------------------------------------------------------------- validation


def test_validate_inputs_lists_every_problem(tmp_path):
    write_png(tmp_path / "good.png", width_px=400, height_px=300)
    write_png(tmp_path / "tiny.png", width_px=8, height_px=6)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image")
    (tmp_path / "header.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(40))
    (tmp_path / "folder.png").mkdir()
    m = read_manifest(write_csv(tmp_path / "m.csv", "\n".join([
        "path,px_per_mm,field_width_mm",
        "good.png,80,",
        "good.png,,4",          # 400 px / 4 mm = 100 px/mm: fine
        "good.png,,0.01",       # 40000 px/mm: implausible
        "good.png,1e9,",
        "good.png,eighty,",
        "missing.png,,",
        "folder.png,,",
        "empty.jpg,,",
        "text.jpg,,",
        "header.jpg,,",
        "tiny.png,,",
    ]) + "\n"))
    problems = validate_inputs(m)
    by_line = {p.where: p.message for p in problems}
    assert set(by_line) == {f"line {n}" for n in range(4, 13)}
    assert "outside the plausible range" in by_line["line 4"]
    assert "outside the plausible range" in by_line["line 5"]
    assert "'eighty' is not a number" in by_line["line 6"]
    assert by_line["line 7"] == "no such file"
    assert "directory" in by_line["line 8"]
    assert by_line["line 9"] == "file is empty"
    assert "not a recognised image format" in by_line["line 10"]
    assert "corrupt JPEG header" in by_line["line 11"]
    assert "too small" in by_line["line 12"]
    assert str(problems[0]) == f"line 4: good.png: {problems[0].message}"
    assert all("\n" not in str(p) for p in problems)


def test_validate_problems_quoting_a_line_break_stay_one_line(tmp_path):
    m = read_manifest(write_csv(tmp_path / "m.csv", 'path,px_per_mm\n"miss\ning.png",\n'
                                                    'a.png,"8\n0"\n'))
    problems = [str(p) for p in validate_inputs(m)]
    assert problems[0] == r"line 2: 'miss\ning.png': no such file"
    assert r"'8\n0' is not a number" in problems[-1]
    assert all("\n" not in p for p in problems)


def test_validate_inputs_uses_default_calibration_and_params(tmp_path):
    write_png(tmp_path / "a.png", width_px=400, height_px=300)
    m = read_manifest(write_csv(tmp_path / "m.csv", "path\na.png\n"))
    assert validate_inputs(m) == []
    assert validate_inputs(m, field_width_mm=4.0) == []
    assert len(validate_inputs(m, px_per_mm=5000.0)) == 1
    strict = Params.from_dict({"load": {"min_side_px": 500}})
    assert "too small" in validate_inputs(m, params=strict)[0].message
