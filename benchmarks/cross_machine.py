"""How far the numbers move between machines: the same photos analysed on
two of OpenCV's code paths (not a timed test, no target).

On one machine the analysis gives the same bits on every run
(``docs/reliability.md``, *Determinism*). Across machines it need not:
OpenCV picks the vector instructions of the processor it runs on (SSE4.2,
AVX2 with fused multiply-add, AVX-512, NEON on ARM), and its float filters
round differently on each, in the last bit. Those differences pass through
the normalisation, the contrast and the detector, and where a value lies
within them of a threshold (a core's coverage, a shaft's length) a decision
flips. This benchmark measures by how much, on one machine: every phantom
is rendered once and written losslessly, then analysed in two fresh
processes, one as OpenCV dispatches on this processor and one with OpenCV
held to SSE4.2 (``OPENCV_CPU_DISABLE``), a stand-in for an older or a
different processor. NumPy's own vector paths and OpenBLAS's kernels were
checked too and left the results unchanged (``NPY_DISABLE_CPU_FEATURES``,
``OPENBLAS_CORETYPE``; 2026-12-07), so they are not varied here.

Printed per phantom (with ``--verbose``) and over all: whether the hair mask
is identical, the hair count, mean shaft width (um), vellus fraction and
coverage fraction on each path, and the largest differences.

Phantoms: those of ``benchmarks/accuracy.py`` (the conditions of
:func:`scalpmetrics.synthetic.conditions`, 1280 x 1024 px at 100 px/mm),
report seeds (100000 + seed) unless ``--split tune``.

Run::

    python benchmarks/cross_machine.py [--split report|tune] [--quick] [--verbose]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: OpenCV's dispatched instruction sets above SSE4.2 (unknown names are
#: reported by OpenCV on stderr and ignored).
ABOVE_SSE42 = "AVX512_SKX,AVX512_CLX,AVX_VNNI,AVX2,FMA3,FP16,AVX"
PX_PER_MM = 100.0


def _child(folder: str) -> None:
    """Analyse every PNG of ``folder`` (sorted); one JSON line per photo,
    after one with OpenCV's processor features."""
    import cv2

    from scalpmetrics.analysis import analyze
    from scalpmetrics.io import load_photo

    print(json.dumps({"features": cv2.getCPUFeaturesLine()}), flush=True)

    for path in sorted(Path(folder).glob("*.png")):
        a = analyze(load_photo(path), px_per_mm=PX_PER_MM)
        w = a.whole
        print(json.dumps({
            "name": path.stem, "count": w.hair_count, "width_um": w.mean_shaft_width_um,
            "vellus": w.vellus_fraction, "coverage": w.coverage_fraction,
            "mask": hashlib.sha256(np.packbits(a.hair_mask).tobytes()).hexdigest(),
        }), flush=True)


def _run(folder: str, env_extra: dict[str, str]) -> tuple[str, dict[str, dict]]:
    """OpenCV's processor features and the records by photo, from a child process."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", **env_extra)
    out = subprocess.run([sys.executable, __file__, "--child", folder], capture_output=True,
                         text=True, check=True, env=env)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return rows[0]["features"], {r["name"]: r for r in rows[1:]}


def _diff(a: float | None, b: float | None) -> float:
    if a is None or b is None:
        return 0.0 if a is None and b is None else float("inf")
    return abs(a - b)


def _fmt(a: float | None, b: float | None, spec: str) -> str:
    return " / ".join("-" if v is None else format(v, spec) for v in (a, b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("report", "tune"), default="report")
    ap.add_argument("--quick", action="store_true", help="every fourth phantom")
    ap.add_argument("--verbose", action="store_true", help="one line per phantom")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child)
        return

    import cv2

    from scalpmetrics.synthetic import make_phantom

    from accuracy import phantom_conditions  # benchmarks/accuracy.py

    conds = phantom_conditions(args.split, args.quick)
    print(f"CROSS-MACHINE  split={args.split}  n={len(conds)} phantoms (conditions() order"
          f"{', every 4th' if args.quick else ''}), 1280x1024 px at {PX_PER_MM:.0f} px/mm; "
          f"OpenCV as dispatched here against OpenCV held to SSE4.2")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for c in conds:
            ph = make_phantom(**c)
            cv2.imwrite(str(Path(folder) / f"{c['seed']:06d}.png"),
                        cv2.cvtColor(ph.image, cv2.COLOR_RGB2BGR))
        here_features, here = _run(folder, {})
        sse_features, sse = _run(folder, {"OPENCV_CPU_DISABLE": ABOVE_SSE42})
    print(f"  OpenCV's features (* dispatched): here {here_features}; held {sse_features}")
    same_mask, count_d, width_d, vellus_d, cover_d = 0, [], [], [], []
    for name in sorted(here):
        a, b = here[name], sse[name]
        same_mask += a["mask"] == b["mask"]
        count_d.append(abs(a["count"] - b["count"]))
        width_d.append(_diff(a["width_um"], b["width_um"]))
        vellus_d.append(_diff(a["vellus"], b["vellus"]))
        cover_d.append(_diff(a["coverage"], b["coverage"]))
        if args.verbose:
            print(f"    seed {int(name):6d}  mask {'same' if a['mask'] == b['mask'] else 'DIFFERS'}  "
                  f"count {a['count']} / {b['count']}  width {_fmt(a['width_um'], b['width_um'], '.3f')} um  "
                  f"vellus {_fmt(a['vellus'], b['vellus'], '.4f')}  "
                  f"coverage {_fmt(a['coverage'], b['coverage'], '.6f')}", flush=True)
    n = len(here)
    count_d = np.array(count_d)
    counts = np.array([here[k]["count"] for k in sorted(here)])
    print(f"  hair mask identical on {same_mask} of {n} phantoms")
    print(f"  hair count identical on {int((count_d == 0).sum())} of {n}; largest difference "
          f"{count_d.max()} hairs ({100 * np.max(count_d / np.maximum(counts, 1)):.2f} % of that photo's "
          f"count), mean |difference| {count_d.mean():.2f} hairs")
    print(f"  largest differences: mean shaft width {max(width_d):.3f} um, vellus fraction "
          f"{max(vellus_d):.4f}, coverage fraction {max(cover_d):.2e}")
    print(f"  ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
