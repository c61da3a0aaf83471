"""Batch throughput: one worker against two, and the batch machinery's overhead per photo.

Run::

    .venv/bin/python benchmarks/batch_throughput.py [--photos 100] [--size 640x512] [--repeats 3]

Makes ``--photos`` seeded phantoms (JPEG, ``--size`` pixels, 100 px/mm) in a
temporary folder, then times

* ``analyze``: :func:`scalpmetrics.analysis.analyze` on every photo, one after
  another in this process, with OpenCV and BLAS limited to one thread as in a
  worker;
* ``batch --workers 0``: :func:`scalpmetrics.batch.run_batch` in this process
  (journal, rows and table, no pool);
* ``batch --workers 1`` and ``--workers 2``: the process pool.

and prints seconds per photo for each, the speed-up of two workers over one
(target >= 1.8 on a 2-core machine) and the overhead of the batch machinery,
``batch time per photo / analyze time per photo - 1`` (target <= 5 %). Batch
wall times are given for the whole run (worker start-up included) and for the
steady state (from the first finished photo to the last), whose difference
is the fixed cost of a run (starting the workers, writing the tables); CPU
time per photo (this process and its workers) is less sensitive to other load. Each figure
is the best of ``--repeats`` interleaved runs; the machine may be shared, so
the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import tempfile
import time
from pathlib import Path

from PIL import Image

PX_PER_MM = 100.0
JPEG_QUALITY = 95


def make_photos(folder: Path, count: int, width_px: int, height_px: int) -> Path:
    """Write ``count`` phantoms and a manifest listing them; return the manifest."""
    from scalpmetrics.synthetic import make_phantom

    rows = []
    for seed in range(count):
        phantom = make_phantom(seed=seed, width_px=width_px, height_px=height_px,
                               px_per_mm=PX_PER_MM)
        name = f"photo{seed:04d}.jpg"
        Image.fromarray(phantom.image).save(folder / name, quality=JPEG_QUALITY)
        rows.append([name, PX_PER_MM])
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["path", "px_per_mm"], *rows])
    return manifest


def cpu_s() -> float:
    """CPU seconds of this process and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def time_analyze(manifest: Path) -> tuple[float, float, float]:
    """(wall, wall, CPU) seconds per photo of analyze in this process, one thread."""
    from scalpmetrics.analysis import analyze
    from scalpmetrics.executors import one_native_thread
    from scalpmetrics.manifest import read_manifest

    paths = [row.path for row in read_manifest(manifest).rows]
    analyze(paths[0], px_per_mm=PX_PER_MM)  # warm-up: imports and caches
    with one_native_thread():
        start, cpu = time.perf_counter(), cpu_s()
        for path in paths:
            analyze(path, px_per_mm=PX_PER_MM)
    wall = (time.perf_counter() - start) / len(paths)
    return wall, wall, (cpu_s() - cpu) / len(paths)


def time_batch(manifest: Path, out: Path, workers: int) -> tuple[float, float, float]:
    """(whole-run wall, steady-state wall, CPU) seconds per photo of one batch run."""
    from scalpmetrics.batch import run_batch

    stamps: list[float] = []
    start, cpu = time.perf_counter(), cpu_s()
    summary = run_batch(manifest, out_path=out, workers=workers, overwrite=True,
                        progress=lambda event: stamps.append(time.perf_counter()))
    wall = time.perf_counter() - start
    if summary.failed:
        with open(out, newline="", encoding="utf-8") as fh:
            reason = next(r["error"] for r in csv.DictReader(fh) if r["status"] == "error")
        raise SystemExit(f"{summary.failed} photos failed, e.g.: {reason}")
    finished = stamps[1:]  # the first event is the start
    steady = (finished[-1] - finished[0]) / (len(finished) - 1)
    return wall / summary.photos, steady, (cpu_s() - cpu) / summary.photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--size", default="640x512", help="WIDTHxHEIGHT in pixels")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    width_px, height_px = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="sm-throughput-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        manifest = make_photos(folder, args.photos, width_px, height_px)
        print(f"{args.photos} phantoms {width_px}x{height_px} px, JPEG, "
              f"made in {time.perf_counter() - start:.1f} s; cores: {os.cpu_count()}")
        print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        samples: dict[str, list[tuple[float, float, float]]] = {}
        for _ in range(args.repeats):
            samples.setdefault("analyze", []).append(time_analyze(manifest))
            for w in (0, 1, 2):
                samples.setdefault(f"w{w}", []).append(
                    time_batch(manifest, folder / f"w{w}.csv", w))
        print(f"load average after:  {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    best = {k: tuple(min(s[i] for s in v) for i in range(3)) for k, v in samples.items()}
    labels = {"analyze": "analyze, in process", "w0": "batch --workers 0",
              "w1": "batch --workers 1", "w2": "batch --workers 2"}
    print(f"\nseconds per photo, best of {args.repeats}")
    print(f"{'':22s}{'wall, whole run':>17s}{'wall, steady':>14s}{'CPU':>9s}")
    for key, label in labels.items():
        print(f"{label:22s}{best[key][0]:17.4f}{best[key][1]:14.4f}{best[key][2]:9.4f}")
    print()
    a = best["analyze"]
    for kind, i in (("whole run", 0), ("steady state", 1)):
        print(f"{kind}: speed-up 2 vs 1 workers {best['w1'][i] / best['w2'][i]:.2f}x "
              f"(target >= 1.8); overhead 1 worker {best['w1'][i] / a[i] - 1:+.1%}, "
              f"in process {best['w0'][i] / a[i] - 1:+.1%} (target <= 5 %)")
    for w in (1, 2):
        fixed = (best[f"w{w}"][0] - best[f"w{w}"][1]) * args.photos
        print(f"fixed cost per run, {w} worker(s) (start-up, final tables): about {fixed:.1f} s")
    print(f"CPU (start-up included): overhead 1 worker {best['w1'][2] / a[2] - 1:+.1%}, "
          f"2 workers {best['w2'][2] / a[2] - 1:+.1%}, in process {best['w0'][2] / a[2] - 1:+.1%}")


if __name__ == "__main__":
    main()
