"""Batch scoring: tidy table, failures as rows, journal and resume, executors, change table, CLI.

Most tests replace ``scalpmetrics.batch.runner.analyze`` by :func:`fake_analyze`, a fast
deterministic stand-in that loads photos for real (so corrupt files fail as in
the real pipeline) and derives its figures from pixel statistics. It is defined
at module level so that worker processes, which import this module, can run it.
``test_real_pipeline_end_to_end`` runs the real analysis.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from scalpmetrics_cli.main import main

from scalpmetrics import __version__, batch
from scalpmetrics.batch import (
    JOURNAL_SUFFIX,
    RESULT_COLUMNS,
    Journal,
    output_plan,
    run_batch,
    runner,
)
from scalpmetrics.calibration import resolve_calibration
from scalpmetrics.errors import BatchError, ManifestError, MissingExtraError
from scalpmetrics.io import load_photo
from scalpmetrics.manifest import read_manifest
from scalpmetrics.params import Params
from scalpmetrics.quality import calibration_flags
from scalpmetrics.regions import build_regions
from scalpmetrics.types import Analysis, ImageInfo, RegionMetrics

TESTS = Path(__file__).resolve().parent


# ----------------------------------------------------------------------------- fakes


def fake_analyze(path, *, px_per_mm=None, field_width_mm=None, grid=None, params=Params()):
    """Stand-in for analysis.analyze: real loading, calibration and regions;
    'hairs' are dark pixels / 20. A file named bug* raises a non-library error,
    one named crash* kills its worker process."""
    name = Path(path).name
    if name.startswith("crash"):
        os._exit(3)
    if name.startswith("bug"):
        raise ValueError("an unexpected\nmulti-line failure")
    photo = load_photo(path, params=params.load)
    calibration = resolve_calibration(photo, px_per_mm=px_per_mm, field_width_mm=field_width_mm,
                                      params=params.calibration)
    dark = photo.pixels.mean(axis=2) < 100
    metrics = []
    for region in build_regions(photo.pixels.shape, grid=grid):
        area_px = int(region.mask.sum())
        count = int(dark[region.mask].sum()) // 20
        mm2_per_px = calibration.mm2_per_px
        area_cm2 = None if mm2_per_px is None else area_px * mm2_per_px / 100
        values = dict.fromkeys(f.name for f in dataclasses.fields(RegionMetrics))
        values.update(
            name=region.name, area_px=area_px, area_cm2=area_cm2, hair_count=count,
            density_per_cm2=None if area_cm2 is None else count / area_cm2,
            coverage_fraction=float(dark[region.mask].mean()),
            follicular_unit_count=np.int64(count),  # a NumPy scalar, as measure may return
        )
        metrics.append(RegionMetrics(**values))
    return Analysis(
        image=ImageInfo(photo.path, photo.sha256, photo.width_px, photo.height_px),
        calibration=calibration, whole=metrics[0], regions=tuple(metrics), hairs=(),
        flags=tuple(calibration_flags(calibration)),
        provenance={"scalpmetrics_version": __version__, "parameters_digest": params.digest()},
        metadata=photo.metadata,
    )


def killing_analyze(path, **options):
    """Like fake_analyze, but kill -9 the calling process at a photo named kill*."""
    if Path(path).name.startswith("kill"):
        os.kill(os.getpid(), signal.SIGKILL)
    return fake_analyze(path, **options)


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(runner, "analyze", fake_analyze)


# ----------------------------------------------------------------------------- inputs


def write_photo(path, *, seed, width_px=48, height_px=36):
    """A seeded non-square PNG with a random share of dark pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pixels = np.full((height_px, width_px, 3), 200, np.uint8)
    pixels[rng.random((height_px, width_px)) < rng.uniform(0.1, 0.5)] = 30
    Image.fromarray(pixels).save(path)
    return path


def write_manifest(folder, rows, columns):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


@pytest.fixture
def study(tmp_path):
    """12 photos of 3 subjects over 2 visits, one corrupt and one missing, manifest columns
    that collide with table names (region, px_per_mm), dates ordering v10 before v2."""
    folder = tmp_path / "study"
    rows = []
    n = 0
    for subject in ("S1", "S2", "S3"):
        for visit, date in (("v2", "2025-01-01"), ("v10", "2025-04-01")):
            for view in ("vertex", "frontal"):
                name = f"{subject}_{visit}_{view}.png"
                write_photo(folder / name, seed=n)
                rows.append([name, subject, visit, date, view, "80", "note, with comma"])
                n += 1
    (folder / rows[3][0]).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))   # S1 v10 frontal: corrupt
    rows[7][0] = "gone.png"                                               # S2 v10 frontal: missing
    rows[8][5] = ""                                                       # S3 v2 vertex: no scale
    columns = ["path", "subject", "visit", "date", "region", "px_per_mm", "note"]
    return write_manifest(folder, rows, columns)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ----------------------------------------------------------------------------- the table


def test_table_rows_columns_and_failures(fake, study, tmp_path):
    out = tmp_path / "results.csv"
    summary = run_batch(study, out_path=out, workers=0, grid="grid:1x2", px_per_mm=40.0)
    rows = read_csv(out)
    header = list(rows[0])
    assert header == ["path", "subject", "visit", "date", "manifest_region", "manifest_px_per_mm",
                      "note", *RESULT_COLUMNS]
    manifest = read_manifest(study)
    # 10 good photos x 3 regions + 2 failures x 1 row, in manifest then region order
    assert summary.photos == 12 and summary.failed == 2 and summary.rows == len(rows) == 32
    expected_order = []
    for row in manifest.rows:
        regions = ["whole", "grid_r1_c1", "grid_r1_c2"] if row.index not in (3, 7) else [""]
        expected_order += [(row.values["path"], r) for r in regions]
    assert [(r["path"], r["region"]) for r in rows] == expected_order
    assert all(r["note"] == "note, with comma" and r["scalpmetrics_version"] == __version__
               and r["parameters_digest"] == Params().digest() for r in rows)
    corrupt, missing = rows[9], rows[19]
    assert (corrupt["status"], missing["status"]) == ("error", "error")
    assert corrupt["error"].startswith("ImageDecodeError: ")
    assert missing["error"] == "InputFileError: no such file"
    assert corrupt["hair_count"] == corrupt["region"] == missing["image_sha256"] == ""
    assert len(corrupt["image_sha256"]) == 64
    good = [r for r in rows if r["status"] == "ok"]
    assert all(r["error"] == "" and r["width_px"] == "48" and r["height_px"] == "36" for r in good)
    scales = {(r["path"], r["px_per_mm"], r["calibration_source"]) for r in good
              if r["region"] == "whole"}
    assert ("S3_v2_vertex.png", "40.0", "argument") in scales   # the run's default
    assert ("S1_v2_vertex.png", "80.0", "argument") in scales   # the row's own
    whole = good[0]
    expected = fake_analyze(study.parent / whole["path"], px_per_mm=80.0).whole
    assert int(whole["hair_count"]) == expected.hair_count
    assert float(whole["density_per_cm2"]) == expected.density_per_cm2   # exact round trip
    assert summary.scored == 12 and summary.reused == 0 and summary.executor == "in this process"


def test_bugs_and_bad_calibration_cells_become_error_rows(fake, tmp_path):
    folder = tmp_path / "in"
    for name in ("ok.png", "bug.png", "nan.png", "huge.png"):
        write_photo(folder / name, seed=1)
    manifest = write_manifest(folder, [["ok.png", ""], ["bug.png", ""], ["nan.png", "eighty"],
                                       ["huge.png", "1e9"]], ["path", "px_per_mm"])
    run_batch(manifest, out_path=tmp_path / "r.csv", workers=0)
    errors = [r["error"] for r in read_csv(tmp_path / "r.csv")]
    assert errors[0] == ""
    assert errors[1] == "internal error ValueError: an unexpected multi-line failure"
    assert errors[2] == "CalibrationError: px_per_mm 'eighty' is not a number"
    assert errors[3].startswith("CalibrationError: px_per_mm = 1e+09 px/mm is outside")


def test_progress_events(fake, study, tmp_path):
    events = []
    run_batch(study, out_path=tmp_path / "r.csv", workers=0, progress=events.append)
    assert [e.done for e in events] == list(range(13))
    assert all(e.total == 12 for e in events)
    assert events[-1].failed == 2 and events[-1].eta_s == 0.0 and events[0].rate_per_s is None


def test_parquet_is_typed_and_equals_csv(fake, study, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    run_batch(study, out_path=tmp_path / "r.csv", workers=0)
    run_batch(study, out_path=tmp_path / "r.parquet", workers=0)
    table = pq.read_table(tmp_path / "r.parquet")
    types = {f.name: str(f.type) for f in table.schema}
    assert types["hair_count"] == types["area_px"] == "int64"
    assert types["density_per_cm2"] == types["px_per_mm"] == "double"
    assert types["manifest_px_per_mm"] == types["error"] == "string"
    as_text = [{k: "" if v is None else repr(v) if isinstance(v, float) else str(v)
                for k, v in row.items()} for row in table.to_pylist()]
    assert as_text == read_csv(tmp_path / "r.csv")
    changes = pq.read_table(tmp_path / "r.changes.parquet")
    assert str(changes.schema.field("days_since_baseline").type) == "int64"


def test_parquet_without_pyarrow_is_a_missing_extra(fake, study, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingExtraError, match=r"scalpmetrics\[table\]"):
        run_batch(study, out_path=tmp_path / "r.parquet", workers=0)
    assert not (tmp_path / ("r.parquet" + JOURNAL_SUFFIX)).exists()


def test_colliding_renamed_column_is_refused(fake, tmp_path):
    write_photo(tmp_path / "a.png", seed=0)
    manifest = write_manifest(tmp_path, [["a.png", "x", "y"]],
                              ["path", "region", "manifest_region"])
    with pytest.raises(ManifestError, match="'region' would be carried as 'manifest_region'"):
        run_batch(manifest, out_path=tmp_path / "r.csv", workers=0)


def test_undecodable_file_names_are_escaped_in_utf8_tables(fake, tmp_path):
    name = os.fsdecode(b"m\xfcller.png")   # Latin-1 bytes: not UTF-8
    write_photo(tmp_path / "in" / "S1" / "V1" / name, seed=0)
    run_batch(tmp_path / "in", out_path=tmp_path / "r.csv", workers=0)
    rows = read_csv(tmp_path / "r.csv")   # strict UTF-8
    assert rows[0]["path"] == "S1/V1/m\\udcfcller.png" and rows[0]["status"] == "ok"
    pq = pytest.importorskip("pyarrow.parquet")
    run_batch(tmp_path / "in", out_path=tmp_path / "r.parquet", workers=0)
    assert pq.read_table(tmp_path / "r.parquet").column("path").to_pylist() == [rows[0]["path"]]


# ----------------------------------------------------------------------------- change table


def test_change_table_baseline_by_date_and_failures(fake, study, tmp_path):
    run_batch(study, out_path=tmp_path / "r.csv", workers=0, px_per_mm=40.0)
    changes = read_csv(tmp_path / "r.changes.csv")
    # one row per (subject, manifest region, analysis region) for the one later visit
    assert [(c["subject"], c["manifest_region"]) for c in changes] == [
        ("S1", "vertex"), ("S1", "frontal"), ("S2", "vertex"), ("S2", "frontal"),
        ("S3", "vertex"), ("S3", "frontal")]
    assert all(c["baseline_visit"] == "v2" and c["visit"] == "v10" and c["ordered_by"] == "date"
               and c["days_since_baseline"] == "90" and c["region"] == "whole"
               and c["change_method"] == "table_difference" for c in changes)
    photos = {(r["subject"], r["visit"], r["manifest_region"]): r
              for r in read_csv(tmp_path / "r.csv")}
    s3 = changes[4]
    before, after = photos[("S3", "v2", "vertex")], photos[("S3", "v10", "vertex")]
    assert s3["status"] == "ok" and s3["error"] == ""
    assert float(s3["hair_count_change"]) == int(after["hair_count"]) - int(before["hair_count"])
    assert float(s3["density_change_pct"]) == pytest.approx(
        100 * (float(after["density_per_cm2"]) / float(before["density_per_cm2"]) - 1), rel=1e-12)
    assert float(s3["coverage_change_points"]) == pytest.approx(
        100 * (float(after["coverage_fraction"]) - float(before["coverage_fraction"])), rel=1e-12)
    for failed in (changes[1], changes[3]):   # follow-up photo corrupt / missing
        assert failed["status"] == "error"
        assert "visit has no successfully scored photo" in failed["error"]
        assert failed["hair_count_change"] == "" and failed["baseline_photos"] == "1"


def test_change_table_visit_order_and_repeat_photos(fake, tmp_path):
    folder = tmp_path / "scan"
    for rel, seed in (("A/visit10/x.png", 1), ("A/visit2/x.png", 2), ("A/visit2/y.png", 3),
                      ("A/visit9/x.png", 4)):
        write_photo(folder / rel, seed=seed)
    run_batch(folder, out_path=tmp_path / "r.csv", workers=0)
    rows = read_csv(tmp_path / "r.csv")
    changes = read_csv(tmp_path / "r.changes.csv")
    assert [(c["baseline_visit"], c["visit"], c["ordered_by"]) for c in changes] == [
        ("visit2", "visit9", "visit"), ("visit2", "visit10", "visit")]
    baseline = np.mean([int(r["hair_count"]) for r in rows if r["visit"] == "visit2"])
    assert float(changes[0]["hair_count_baseline"]) == baseline
    assert changes[0]["baseline_photos"] == "2" and changes[0]["photos"] == "1"
    assert changes[0]["density_per_cm2"] == "" and changes[0]["coverage_fraction"] != ""


def test_no_subject_column_means_no_change_table(fake, tmp_path):
    write_photo(tmp_path / "a.png", seed=0)
    summary = run_batch(write_manifest(tmp_path, [["a.png"]], ["path"]),
                        out_path=tmp_path / "r.csv", workers=0)
    assert summary.changes_path is None and not (tmp_path / "r.changes.csv").exists()


# ----------------------------------------------------------------------------- workers


def test_process_pool_table_equals_in_process_table(fake, study, tmp_path):
    run_batch(study, out_path=tmp_path / "one.csv", workers=0, grid="grid:2x1")
    summary = run_batch(study, out_path=tmp_path / "two.csv", workers=2, grid="grid:2x1")
    assert summary.executor == "process pool, 2 workers"
    assert (tmp_path / "two.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert ((tmp_path / "two.changes.csv").read_bytes()
            == (tmp_path / "one.changes.csv").read_bytes())


def test_a_photo_that_kills_its_worker_is_an_error_row(fake, tmp_path):
    for name in ("a.png", "crash.png", "b.png", "c.png"):
        write_photo(tmp_path / name, seed=len(name))
    manifest = write_manifest(tmp_path, [[n] for n in ("a.png", "crash.png", "b.png", "c.png")],
                              ["path"])
    summary = run_batch(manifest, out_path=tmp_path / "r.csv", workers=2)
    rows = read_csv(tmp_path / "r.csv")
    assert [r["status"] for r in rows] == ["ok", "error", "ok", "ok"]
    assert rows[1]["error"].startswith("WorkerLost: the worker process died")
    assert summary.failed == 1


def test_dask_local_cluster_table_equals_in_process_table(fake, study, tmp_path):
    distributed = pytest.importorskip("distributed")
    run_batch(study, out_path=tmp_path / "local.csv", workers=0)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        summary = run_batch(study, out_path=tmp_path / "dask.csv",
                            scheduler=cluster.scheduler_address)
    assert summary.executor.startswith("Dask cluster at tcp://")
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


# ----------------------------------------------------------------------------- resume


def journal_entries(path):
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    assert records[0]["kind"] == "scalpmetrics-batch-journal"
    return records[1:]


def test_kill_9_then_resume_equals_an_uninterrupted_run(study, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "analyze", fake_analyze)
    run_batch(study, out_path=tmp_path / "reference.csv", workers=0)
    manifest = read_manifest(study)
    victim = manifest.rows[5].values["path"]
    rows = []   # a copy of the study in which photo 5 kills the process analysing it
    (tmp_path / "killed").mkdir()
    for row in manifest.rows:
        name = "kill.png" if row.index == 5 else row.values["path"]
        if row.path.exists():
            shutil.copy(row.path, tmp_path / "killed" / name)
        rows.append([name, *list(row.values.values())[1:]])
    killed_manifest = write_manifest(tmp_path / "killed", rows, list(manifest.columns))
    out = tmp_path / "results.csv"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_batch; "
        "from scalpmetrics.batch import runner; runner.analyze = test_batch.killing_analyze; "
        "runner.run_batch(sys.argv[2], out_path=sys.argv[3], workers=0)"
    )
    proc = subprocess.run([sys.executable, "-c", script, TESTS, killed_manifest, out],
                          capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    journal = out.with_name(out.name + JOURNAL_SUFFIX)
    assert [e["index"] for e in journal_entries(journal)] == [0, 1, 2, 3, 4]
    with pytest.raises(BatchError, match="exists from an earlier run"):
        run_batch(killed_manifest, out_path=out, workers=0)
    summary = run_batch(killed_manifest, out_path=out, workers=0, resume=True)
    assert (summary.reused, summary.scored) == (5, 7)
    assert sorted(e["index"] for e in journal_entries(journal)) == list(range(12))
    reference, resumed = read_csv(tmp_path / "reference.csv"), read_csv(out)
    for row in reference:
        row["path"] = row["path"].replace(victim, "kill.png")
    assert resumed == reference


def test_torn_journal_line_is_dropped_and_rescored(fake, study, tmp_path):
    out = tmp_path / "r.csv"
    run_batch(study, out_path=tmp_path / "reference.csv", workers=0)

    class Crash(Exception):
        pass

    def crash_after_four(event):
        if event.done == 4:
            raise Crash

    with pytest.raises(Crash):
        run_batch(study, out_path=out, workers=0, progress=crash_after_four)
    journal = out.with_name(out.name + JOURNAL_SUFFIX)
    entries = journal_entries(journal)
    assert len(entries) == 4
    with open(journal, "ab") as fh:   # kill -9 in the middle of writing a fifth line
        fh.write(json.dumps({"index": 4, "key": "x", "rows": []}).encode()[:25])
    summary = run_batch(study, out_path=out, workers=0, resume=True)
    assert (summary.reused, summary.scored, summary.journal_lines_ignored) == (4, 8, 1)
    assert len(journal_entries(journal)) == 12          # the torn fragment is gone
    assert out.read_bytes() == (tmp_path / "reference.csv").read_bytes()
    again = run_batch(study, out_path=out, workers=0, resume=True)
    assert (again.reused, again.scored) == (12, 0)
    assert out.read_bytes() == (tmp_path / "reference.csv").read_bytes()


def test_tables_cut_short_by_a_kill_are_cleaned_up(fake, study, tmp_path):
    out = tmp_path / "r.csv"
    run_batch(study, out_path=out, workers=0)
    partial = tmp_path / ".r.csv.k2j4x9.tmp"          # as a kill during the final write leaves
    partial.write_text("path,subj")
    unrelated = tmp_path / ".other.csv.k2j4x9.tmp"
    unrelated.write_text("keep")
    run_batch(study, out_path=out, workers=0, resume=True)
    assert not partial.exists() and unrelated.exists()


def test_resume_rescores_changed_photos_and_new_rows(fake, study, tmp_path):
    out = tmp_path / "r.csv"
    run_batch(study, out_path=out, workers=0)
    manifest = read_manifest(study)
    write_photo(manifest.rows[0].path, seed=99)   # the photo changed
    os.utime(manifest.rows[0].path, ns=(1, 1))
    with open(study, "a", encoding="utf-8") as fh:
        fh.write(f"{manifest.rows[1].values['path']},S9,v1,,vertex,80,new\n")
    summary = run_batch(study, out_path=out, workers=0, resume=True)
    assert (summary.photos, summary.scored, summary.reused) == (13, 2, 11)


def test_refusals_protect_earlier_results(fake, study, tmp_path):
    out = tmp_path / "r.csv"
    run_batch(study, out_path=out, workers=0)
    with pytest.raises(BatchError, match="--resume to continue it or --overwrite"):
        run_batch(study, out_path=out, workers=0)
    with pytest.raises(BatchError, match="parameters_digest"):
        run_batch(study, out_path=out, workers=0, resume=True,
                  params=Params.from_dict({"trace": {"vellus_cutoff_um": 30.0}}))
    with pytest.raises(BatchError, match="grid"):
        run_batch(study, out_path=out, workers=0, resume=True, grid="grid:2x2")
    with pytest.raises(BatchError, match="not both"):
        run_batch(study, out_path=out, workers=0, resume=True, overwrite=True)
    summary = run_batch(study, out_path=out, workers=0, overwrite=True, grid="grid:2x2")
    assert summary.scored == 12 and summary.rows == 10 * 5 + 2
    out.with_name(out.name + JOURNAL_SUFFIX).unlink()
    with pytest.raises(BatchError, match="has no journal"):
        run_batch(study, out_path=out, workers=0, resume=True)
    with pytest.raises(BatchError, match=r"must end in \.csv or \.parquet"):
        output_plan(tmp_path / "r.xlsx")
    with pytest.raises(BatchError, match="does not exist"):
        output_plan(tmp_path / "nowhere" / "r.csv")


@pytest.mark.parametrize("name", ["r.csv", "r.changes.csv", "r.csv.journal.jsonl"])
def test_a_folder_in_place_of_an_output_is_refused_before_scoring(tmp_path, name):
    (tmp_path / name).mkdir()
    for resume, overwrite in ((False, False), (False, True), (True, False)):
        with pytest.raises(BatchError, match="is a folder, not a file"):
            output_plan(tmp_path / "r.csv", resume=resume, overwrite=overwrite)


def test_a_journal_held_by_a_running_batch_cannot_be_opened(tmp_path):
    header = {"kind": batch.JOURNAL_KIND, "format": batch.JOURNAL_FORMAT,
              **dict.fromkeys(batch.RESUME_SETTINGS)}
    first = Journal.open(tmp_path / "j.jsonl", header, resume=False)
    try:
        with pytest.raises(BatchError, match="another batch run"):
            Journal.open(tmp_path / "j.jsonl", header, resume=True)
    finally:
        first.close()
    Journal.open(tmp_path / "j.jsonl", header, resume=True).close()


# ----------------------------------------------------------------------------- CLI


def cli(*args, env=None):
    return CliRunner(env=env).invoke(main, [str(a) for a in args])


def test_cli_writes_only_files_and_reports_on_stderr(fake, study, tmp_path):
    out = tmp_path / "r.csv"
    res = cli("batch", study, "--out", out, "--workers", 0, "--px-per-mm", 40)
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    assert "12 photos: 12 scored now, 0 from the journal, 2 failed" in res.stderr
    assert "wrote" in res.stderr and out.exists()
    res = cli("batch", study, "--out", out, "--workers", 0)
    assert res.exit_code == 1 and res.stdout == ""
    assert res.stderr.startswith("error: ") and "--resume" in res.stderr
    res = cli("batch", study, "--out", out, "--workers", 0, "--resume", "--px-per-mm", 40,
              "--no-progress")
    assert res.exit_code == 0 and "0 scored now, 12 from the journal" in res.stderr


def test_cli_validate_lists_problems_and_scores_nothing(fake, study, tmp_path):
    out = tmp_path / "r.csv"
    res = cli("batch", study, "--out", out, "--validate")
    assert res.exit_code == 1 and res.stdout == ""
    problems = [line for line in res.stderr.splitlines() if line.startswith("problem: ")]
    assert len(problems) == 2
    assert "line 5: S1_v10_frontal.png: " in problems[0] and "gone.png: no such file" in problems[1]
    assert not out.exists() and not out.with_name(out.name + JOURNAL_SUFFIX).exists()
    write_photo(tmp_path / "a.png", seed=0)
    good = write_manifest(tmp_path / "good", [[str(tmp_path / "a.png")]], ["path"])
    res = cli("batch", good, "--out", out, "--validate")
    assert res.exit_code == 0 and "1 photos checked: no problems found" in res.stderr


def test_cli_scheduler_and_workers(fake, study, tmp_path):
    res = cli("batch", study, "--out", tmp_path / "r.csv", "--workers", 1,
              "--scheduler", "tcp://127.0.0.1:9")
    assert res.exit_code == 2 and "not both" in res.output
    res = cli("batch", study, "--out", tmp_path / "r.csv", "--workers", 0,
              env={"DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:9"})
    assert res.exit_code == 0 and "in this process" in res.stderr


def test_cli_manifest_problem_is_one_line(tmp_path):
    res = cli("batch", tmp_path / "missing.csv", "--out", tmp_path / "r.csv")
    assert res.exit_code == 1 and res.stderr.count("\n") == 1 and "no such manifest" in res.stderr


# ----------------------------------------------------------------------------- real pipeline


def test_real_pipeline_end_to_end(tmp_path):
    """The real analysis, in a process pool and in this process: same table, same figures."""
    # imported here: worker processes import this module and need not load the pipeline
    from scalpmetrics.analysis import analyze as real_analyze
    from scalpmetrics.synthetic import make_phantom

    folder = tmp_path / "photos"
    folder.mkdir()
    rows = []
    for seed in range(3):
        ph = make_phantom(seed=seed, width_px=320, height_px=256, px_per_mm=80.0)
        Image.fromarray(ph.image).save(folder / f"p{seed}.png")
        rows.append([f"p{seed}.png", "80", ""] if seed != 1 else [f"p{seed}.png", "", "4"])
    (folder / "broken.png").write_bytes((folder / "p0.png").read_bytes()[:400])
    rows.append(["broken.png", "80", ""])
    manifest = write_manifest(folder, rows, ["path", "px_per_mm", "field_width_mm"])
    run_batch(manifest, out_path=tmp_path / "pool.csv", workers=2, grid="grid:2x2")
    run_batch(manifest, out_path=tmp_path / "here.csv", workers=0, grid="grid:2x2")
    assert (tmp_path / "pool.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
    table = read_csv(tmp_path / "pool.csv")
    assert [r["status"] for r in table] == ["ok"] * 15 + ["error"], [r["error"] for r in table]
    assert table[-1]["error"].startswith("ImageDecodeError: ")
    for seed in range(3):
        options = {"px_per_mm": 80.0} if seed != 1 else {"field_width_mm": 4.0}
        expected = real_analyze(folder / f"p{seed}.png", grid="grid:2x2", **options)
        got = table[5 * seed: 5 * seed + 5]
        assert [r["region"] for r in got] == [m.name for m in expected.regions]
        for row, metrics in zip(got, expected.regions, strict=True):
            assert int(row["hair_count"]) == metrics.hair_count
            assert float(row["coverage_fraction"]) == metrics.coverage_fraction
        assert got[0]["image_sha256"] == expected.image.sha256
