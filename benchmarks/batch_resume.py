"""Batch robustness: corrupt files, and kill -9 half-way then --resume.

Run::

    .venv/bin/python benchmarks/batch_resume.py [--photos 1000] [--size 640x512]
        [--workers 2] [--corrupt-fraction 0.05] [--data DIR]

Writes ``--photos`` seeded phantoms (JPEG, ``--size`` pixels) as
``SUBJECT/VISIT/photo.jpg`` (4 visits of 5 photos per subject), then spoils
``--corrupt-fraction`` of them, chosen by a seeded draw, in turn: truncated to
a third, replaced by random bytes, or random bytes behind a JPEG signature.
``--data DIR`` keeps the photos in DIR (reused when it already holds the same
set) instead of a temporary folder.

Then, each through the ``scalpmetrics batch`` command in its own process:

1. an uninterrupted run;
2. a run killed with SIGKILL once half of the photos are in its journal;
3. ``--resume`` of the killed run.

Prints the throughput, whether stdout stayed empty, whether every good photo
was scored and every bad one has status ``error`` and a one-line reason,
whether the journal holds each photo exactly once, and whether the resumed
tables equal the uninterrupted ones byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

PX_PER_MM = 100.0
JPEG_QUALITY = 95
VISITS = 4
PHOTOS_PER_VISIT = 5
CORRUPTION_SEED = 20240501
POLL_S = 0.05
#: Seconds the workers of the killed run are given to notice and exit.
ORPHAN_GRACE_S = 5.0


def photo_path(root: Path, i: int) -> Path:
    subject, rest = divmod(i, VISITS * PHOTOS_PER_VISIT)
    visit, shot = divmod(rest, PHOTOS_PER_VISIT)
    return root / f"S{subject + 1:03d}" / f"visit{visit + 1}" / f"photo{shot + 1}.jpg"


def write_phantom(args: tuple[Path, int, int, int]) -> None:
    from scalpmetrics.synthetic import make_phantom

    root, i, width_px, height_px = args
    phantom = make_phantom(seed=i, width_px=width_px, height_px=height_px, px_per_mm=PX_PER_MM)
    path = photo_path(root, i)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(phantom.image).save(path, quality=JPEG_QUALITY)


def corrupt(root: Path, count: int, fraction: float) -> dict[Path, str]:
    """Spoil a seeded choice of photos; return path -> kind of damage."""
    rng = np.random.default_rng(CORRUPTION_SEED)
    chosen = sorted(rng.choice(count, size=round(fraction * count), replace=False))
    damage = {}
    for n, i in enumerate(chosen):
        path = photo_path(root, int(i))
        data = path.read_bytes()
        kind = ("truncated", "random bytes", "JPEG signature + random bytes")[n % 3]
        if kind == "truncated":
            data = data[: len(data) // 3]
        elif kind == "random bytes":
            data = rng.bytes(len(data))
        else:
            data = data[:4] + rng.bytes(len(data) - 4)
        path.write_bytes(data)
        damage[path] = kind
    return damage


def prepare(root: Path, count: int, width_px: int, height_px: int, fraction: float,
            workers: int) -> dict[Path, str]:
    """Make (or reuse) the photo set; return the damaged photos."""
    marker = root / ".benchmark.json"
    spec = {"photos": count, "size": [width_px, height_px], "corrupt_fraction": fraction}
    if marker.exists() and json.loads(marker.read_text()) == spec:
        print(f"reusing the photos in {root}")
        return {Path(p): k for p, k in json.loads((root / ".damage.json").read_text()).items()}
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(write_phantom, [(root, i, width_px, height_px) for i in range(count)],
                      chunksize=16))
    damage = corrupt(root, count, fraction)
    (root / ".damage.json").write_text(json.dumps({str(p): k for p, k in damage.items()}))
    marker.write_text(json.dumps(spec))
    print(f"made {count} phantoms in {time.perf_counter() - start:.0f} s")
    return damage


def command() -> list[str]:
    script = Path(sys.executable).with_name("scalpmetrics")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from scalpmetrics_cli.main import main; main()"]


def batch_args(root: Path, out: Path, workers: int, *extra: str) -> list[str]:
    return [*command(), "batch", str(root), "--out", str(out), "--workers", str(workers),
            "--px-per-mm", str(PX_PER_MM), "--no-progress", *extra]


def run(args: list[str]) -> tuple[float, str]:
    """Run to completion; return (wall seconds, stdout). Fails loudly on a non-zero exit."""
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"batch failed ({proc.returncode}): {proc.stderr.strip()}")
    return wall, proc.stdout


def journal_entries(journal: Path) -> list[dict]:
    """Complete journal lines after the header."""
    if not journal.exists():
        return []
    lines = journal.read_bytes().split(b"\n")[1:-1]
    return [json.loads(line) for line in lines]


def kill_half_way(args: list[str], journal: Path, half: int) -> tuple[float, int, int]:
    """Start a run, SIGKILL it once ``half`` photos are journaled.

    Returns (seconds until the kill, photos journaled, worker processes that
    outlived the kill by ORPHAN_GRACE_S and were then killed here).
    """
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    children: list[psutil.Process] = []
    while True:
        try:
            children = parent.children(recursive=True) or children
        except psutil.NoSuchProcess:
            raise SystemExit("the run ended before it could be killed") from None
        if journal.exists() and journal.read_bytes().count(b"\n") - 1 >= half:
            break
        time.sleep(POLL_S)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = time.perf_counter() - start
    journaled = len(journal_entries(journal))
    deadline = time.monotonic() + ORPHAN_GRACE_S
    alive = [c for c in children if c.is_running()]
    while alive and time.monotonic() < deadline:
        time.sleep(POLL_S)
        alive = [c for c in alive if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    for child in alive:
        child.kill()
    return killed_at, journaled, len(alive)


def check_table(table: Path, root: Path, damage: dict[Path, str]) -> None:
    with open(table, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    status = {}
    reasons: Counter[str] = Counter()
    one_line = True
    for row in rows:
        path = (root / row["path"]).absolute()
        status.setdefault(path, set()).add(row["status"])
        if row["status"] == "error":
            one_line &= bool(row["error"]) and "\n" not in row["error"]
            reasons[f"{damage.get(path, 'intact')} -> {row['error'].split(':')[0]}"] += 1
    good = [p for p in status if p not in damage]
    print(f"table: {len(rows)} rows for {len(status)} photos")
    print(f"good photos scored (status ok): "
          f"{sum(status[p] == {'ok'} for p in good)} / {len(good)}")
    print(f"bad photos with status error: {sum(status.get(p) == {'error'} for p in damage)} "
          f"/ {len(damage)}; every reason one non-empty line: {one_line}")
    for reason, n in sorted(reasons.items()):
        print(f"  {n:4d}  {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--size", default="640x512", help="WIDTHxHEIGHT in pixels")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--corrupt-fraction", type=float, default=0.05)
    parser.add_argument("--data", type=Path, default=None, help="keep the photos here")
    args = parser.parse_args()
    width_px, height_px = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="sm-resume-") as tmp:
        work = Path(tmp)
        root = (args.data or work / "photos").absolute()
        damage = prepare(root, args.photos, width_px, height_px, args.corrupt_fraction,
                         args.workers)
        print(f"{args.photos} photos {width_px}x{height_px} px, {len(damage)} corrupt; "
              f"{args.workers} workers; load average {os.getloadavg()[0]:.2f}")

        full = work / "full" / "results.csv"
        full.parent.mkdir()
        wall, stdout = run(batch_args(root, full, args.workers))
        print(f"\nuninterrupted run: {wall:.1f} s, {args.photos / wall:.2f} photos/s, "
              f"stdout {'empty' if not stdout else 'NOT empty'}")
        check_table(full, root, damage)

        resumed = work / "killed" / "results.csv"
        resumed.parent.mkdir()
        journal = resumed.with_name(resumed.name + ".journal.jsonl")
        killed_at, journaled, orphans = kill_half_way(
            batch_args(root, resumed, args.workers), journal, args.photos // 2)
        print(f"\nkilled with SIGKILL after {killed_at:.1f} s, {journaled} photos journaled; "
              f"worker processes left running {ORPHAN_GRACE_S:.0f} s later: {orphans}")
        wall, stdout = run(batch_args(root, resumed, args.workers, "--resume"))
        entries = journal_entries(journal)
        indices = Counter(e["index"] for e in entries)
        print(f"resumed run: {wall:.1f} s for {args.photos - journaled} photos, stdout "
              f"{'empty' if not stdout else 'NOT empty'}")
        print(f"journal: {len(entries)} entries, {len(indices)} distinct photos, "
              f"{sum(n > 1 for n in indices.values())} duplicated")
        changes = [p.with_name("results.changes.csv") for p in (full, resumed)]
        print(f"resumed table equals uninterrupted table: "
              f"{resumed.read_bytes() == full.read_bytes()}")
        print(f"resumed change table equals uninterrupted one: "
              f"{changes[1].read_bytes() == changes[0].read_bytes()}")
        report_differences(full, resumed)


def report_differences(expected: Path, got: Path) -> None:
    """Name the rows and columns where two tables differ (nothing when they are equal)."""
    tables = []
    for path in (expected, got):
        with open(path, newline="", encoding="utf-8") as fh:
            tables.append(list(csv.DictReader(fh)))
    if len(tables[0]) != len(tables[1]):
        print(f"  row counts differ: {len(tables[0])} and {len(tables[1])}")
        return
    differing = [(i, [c for c in a if a[c] != b.get(c)])
                 for i, (a, b) in enumerate(zip(*tables, strict=True)) if a != b]
    columns = Counter(c for _, cols in differing for c in cols)
    if differing:
        i, cols = differing[0]
        print(f"  {len(differing)} rows differ, in columns {dict(columns)}; first: row {i} "
              + ", ".join(f"{c}: {tables[0][i][c]!r} / {tables[1][i][c]!r}" for c in cols))


if __name__ == "__main__":
    main()
