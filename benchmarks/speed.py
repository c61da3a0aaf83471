"""Speed and peak memory of one analysis (not a timed test).

For each photo size a synthetic phantom (``scalpmetrics.synthetic``) is
rendered once and written to a temporary PNG; a fresh Python process then
loads it, runs :func:`scalpmetrics.analysis.analyze` once to warm up and
``--repeats`` more times, and reports

* the median wall time of ``analyze`` on the in-memory photo (in-process,
  file decoding excluded);
* the tracemalloc peak of one ``analyze`` call (Python/NumPy allocations;
  OpenCV's own buffers are not seen by tracemalloc);
* the process's peak resident set size (``ru_maxrss``: interpreter,
  libraries, the photo and the analysis, everything included).

Sizes: 1.3 MP (1280 x 1024 at 100 px/mm) and 12 MP (4000 x 3000 at
300 px/mm), each of unclipped and of clipped hair (long hair is traced twice:
``trace.long_hair_tracing``). Targets: 1.3 MP <= 0.3 s, 12 MP <= 1.5 s, peak
memory <= 1.5 GB, on a 2-core machine.

Run::

    python benchmarks/speed.py [--repeats 3] [--sizes 1.3,12] [--one-blas-thread]

``--one-blas-thread`` runs the measuring process with ``OPENBLAS_NUM_THREADS=1``
(and ``MKL_NUM_THREADS=1``), as the ``scalpmetrics`` command does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = {"1.3": (1280, 1024, 100.0), "12": (4000, 3000, 300.0)}
TARGET_S = {"1.3": 0.3, "12": 1.5}
TARGET_PEAK_GB = 1.5


def _measure(path: str, px_per_mm: float, repeats: int) -> dict:
    """Run in a fresh process: time and memory of analyze on one photo."""
    import resource
    import tracemalloc

    import numpy as np

    from scalpmetrics.analysis import analyze
    from scalpmetrics.io import load_photo

    photo = load_photo(path)
    analyze(photo, px_per_mm=px_per_mm)  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = analyze(photo, px_per_mm=px_per_mm)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    analyze(photo, px_per_mm=px_per_mm)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "median_s": float(np.median(times)),
        "min_s": float(min(times)),
        "traced_peak_mb": traced_peak / 2**20,
        "max_rss_mb": rss_kb / 1024.0,
        "hairs": result.whole.hair_count,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", default="1.3,12")
    ap.add_argument("--one-blas-thread", action="store_true",
                    help="measure with one BLAS thread, as the command runs")
    ap.add_argument("--child", nargs=3, metavar=("PATH", "PX_PER_MM", "REPEATS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        path, ppm, repeats = args.child
        print(json.dumps(_measure(path, float(ppm), int(repeats))))
        return

    import cv2

    from scalpmetrics.synthetic import make_phantom

    env = dict(os.environ)
    if args.one_blas_thread:
        env.update(OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    print(f"SPEED  cpus={os.cpu_count()}  python {sys.version.split()[0]}  "
          f"repeats={args.repeats} (median reported, after one warm-up)"
          f"{'  one BLAS thread' if args.one_blas_thread else ''}")
    with tempfile.TemporaryDirectory() as tmp:
        for key, clipped in [(k, c) for k in args.sizes.split(",") for c in (False, True)]:
            w, h, ppm = SIZES[key]
            ph = make_phantom(seed=0, width_px=w, height_px=h, px_per_mm=ppm, clipped=clipped)
            kind = "clipped" if clipped else "unclipped"
            path = str(Path(tmp) / f"phantom_{key}_{kind}.png")
            cv2.imwrite(path, cv2.cvtColor(ph.image, cv2.COLOR_RGB2BGR))
            del ph
            out = subprocess.run(
                [sys.executable, __file__, "--child", path, str(ppm), str(args.repeats)],
                capture_output=True, text=True, check=True, env=env,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            ok_t = r["median_s"] <= TARGET_S[key]
            ok_m = r["max_rss_mb"] <= TARGET_PEAK_GB * 1024
            print(f"  {key:>4s} MP ({w}x{h}, {ppm:.0f} px/mm, {kind} phantom seed 0, "
                  f"{r['hairs']} hairs): analyze median {r['median_s']:.3f} s (min {r['min_s']:.3f}) "
                  f"target <= {TARGET_S[key]} s {'MET' if ok_t else 'MISSED'};  "
                  f"tracemalloc peak {r['traced_peak_mb']:.0f} MB;  process peak RSS "
                  f"{r['max_rss_mb']:.0f} MB target <= {TARGET_PEAK_GB} GB {'MET' if ok_m else 'MISSED'}",
                  flush=True)


if __name__ == "__main__":
    main()
