"""Atomic writes, and ``kill -9`` of a real batch process at random points: resumed,
it loses and duplicates nothing.

The batch runs as its own process (``python -m scalpmetrics_cli.main batch``)
in its own process group, with a real worker pool or in-process. It is killed
with SIGKILL when its journal reaches a randomly chosen length; its workers
must then exit by themselves. Once a journal line is also torn by hand, as a
kill in the middle of a write leaves it. Every restart uses ``--resume``. The finished
table must equal, byte for byte, the table of an uninterrupted run, and the
journal must hold each photo exactly once.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from scalpmetrics.batch import run_batch
from scalpmetrics.errors import OutputFileError
from scalpmetrics.report import atomic_write_text
from scalpmetrics.synthetic import make_phantom
from scalpmetrics_cli.main import main

N_PHOTOS = 10
PX_PER_MM = 40.0
#: Seed of the kill points.
KILL_SEED = 20260301
KILLS = 3
#: Longest wait for one process to reach its kill point or finish, seconds (a hang guard).
PATIENCE_S = 120.0
#: Longest wait for the killed batch's worker processes to exit on their own, seconds.
ORPHAN_PATIENCE_S = 30.0


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """Small phantoms of 5 subjects x 2 visits, one of them an empty file (an error row)."""
    root = tmp_path_factory.mktemp("photos")
    with open(root / "manifest.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "subject", "visit", "px_per_mm"])
        for i in range(N_PHOTOS):
            path = root / f"photo_{i:02d}.png"
            if i == 5:
                path.write_bytes(b"")
            else:
                image = make_phantom(seed=100 + i, width_px=160, height_px=128,
                                     px_per_mm=PX_PER_MM).image
                Image.fromarray(image).save(path)
            writer.writerow([path.name, f"S{i // 2}", f"V{i % 2 + 1}", PX_PER_MM])
    return root / "manifest.csv"


@pytest.fixture(scope="module")
def reference(manifest, tmp_path_factory) -> Path:
    """The table of an uninterrupted run."""
    out = tmp_path_factory.mktemp("reference") / "results.csv"
    run_batch(manifest, out_path=out, workers=0)
    return out


def assert_same_table(path: Path, reference: Path) -> None:
    """Byte-identical tables; on a difference, name the cells that differ."""
    if path.read_bytes() == reference.read_bytes():
        return
    with open(path, encoding="utf-8", newline="") as a, open(reference, encoding="utf-8",
                                                             newline="") as b:
        got, want = list(csv.DictReader(a)), list(csv.DictReader(b))
    cells = [(i, k, r.get(k), w.get(k)) for i, (r, w) in enumerate(zip(got, want))
             for k in w if r.get(k) != w.get(k)]
    pytest.fail(f"{path.name}: {len(got)} rows vs {len(want)}; differing cells "
                f"(row, column, got, expected): {cells[:8]}")


def journal_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def start_batch(manifest: Path, out: Path, workers: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "scalpmetrics_cli.main", "batch", str(manifest), "--out",
         str(out), "--workers", str(workers), "--resume", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )


def kill_when_journal_reaches(proc: subprocess.Popen, journal: Path, lines: int) -> bool:
    """``kill -9`` the batch process once the journal has ``lines`` lines; False if it
    ended first. Its worker processes must then go away by themselves."""
    deadline = time.monotonic() + PATIENCE_S
    try:
        while proc.poll() is None:
            if journal_lines(journal) >= lines:
                os.kill(proc.pid, signal.SIGKILL)
                return True
            if time.monotonic() > deadline:
                os.kill(proc.pid, signal.SIGKILL)
                pytest.fail(f"the batch made no progress for {PATIENCE_S:.0f} s")
            time.sleep(0.002)
        return False
    finally:
        proc.communicate()
        wait_for_orphans(proc.pid)


def wait_for_orphans(group: int) -> None:
    """Wait until no process of the killed batch's group is left (workers, resource
    tracker); kill and fail if one lingers."""
    deadline = time.monotonic() + ORPHAN_PATIENCE_S
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.killpg(group, signal.SIGKILL)
    pytest.fail(f"processes of the killed batch were still running after {ORPHAN_PATIENCE_S} s")


def test_kill_9_and_resume_lose_and_duplicate_nothing(manifest, reference, tmp_path):
    rng = random.Random(KILL_SEED)
    out = tmp_path / "results.csv"
    journal = tmp_path / "results.csv.journal.jsonl"
    total_lines = 1 + N_PHOTOS  # the header, then one line per photo
    kills = 0
    for attempt in range(KILLS):
        # random points: from before the header is written to the last photo
        target = min(journal_lines(journal) + rng.randint(0, 4), total_lines)
        proc = start_batch(manifest, out, workers=rng.choice([0, 1]))
        kills += kill_when_journal_reaches(proc, journal, target)
        if out.exists():  # written only at the end, and atomically: never partial
            assert_same_table(out, reference)
        if attempt == 1 and journal.exists():
            with open(journal, "ab") as fh:  # a kill in the middle of a line leaves this
                fh.write(b'{"index":3,"key":"0123456789abcdef","rows":[{"status":"o')
    assert kills >= 1

    proc = start_batch(manifest, out, workers=1)
    stdout, stderr = proc.communicate(timeout=PATIENCE_S)
    assert proc.returncode == 0, stderr.decode()
    assert stdout == b""
    assert_same_table(out, reference)
    changes = "results.changes.csv"
    assert_same_table(out.with_name(changes), reference.with_name(changes))

    entries = [json.loads(line) for line in journal.read_bytes().splitlines()[1:]]
    assert sorted(e["index"] for e in entries) == list(range(N_PHOTOS))  # each photo once
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["path"] for r in rows] == [f"photo_{i:02d}.png" for i in range(N_PHOTOS)]
    assert [r["status"] for r in rows].count("error") == 1
    leftovers = [p.name for p in tmp_path.iterdir()
                 if p.name not in {"results.csv", "results.changes.csv", journal.name}]
    assert leftovers == []


# ----------------------------------------------------------------------------- atomic writes


def test_written_files_get_ordinary_permissions(tmp_path):
    """The temporary file is created like any new file: the umask applies, not 0600."""
    umask = os.umask(0o022)
    os.umask(umask)
    target = tmp_path / "table.csv"
    atomic_write_text(target, "a,b\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_a_folder_or_a_missing_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(OutputFileError, match="is a folder"):
        atomic_write_text(tmp_path, "x")
    with pytest.raises(OutputFileError, match="does not exist"):
        atomic_write_text(tmp_path / "no" / "x.csv", "x")


def test_analyze_writes_nothing_when_one_output_cannot_be_written(manifest, tmp_path):
    photo = manifest.parent / "photo_00.png"
    res = CliRunner().invoke(main, ["analyze", str(photo), "--px-per-mm", str(PX_PER_MM),
                                    "--mask-out", str(tmp_path / "mask.png"),
                                    "--overlay-out", str(tmp_path / "missing" / "overlay.png")])
    assert res.exit_code == 1 and "does not exist" in res.stderr
    assert list(tmp_path.iterdir()) == []  # not even the mask, which could have been written
