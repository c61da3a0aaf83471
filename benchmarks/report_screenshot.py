"""Render the comparison report of a phantom course and photograph it in headless Chromium.

Run::

    .venv/bin/python benchmarks/report_screenshot.py [--out DIR] [--perfect-detection]

A baseline and three follow-ups (:func:`scalpmetrics.synthetic.make_course`,
strong responder) are written as PNG files with capture dates and compared
with :func:`scalpmetrics.compare.compare_visits` on a 2 x 2 grid; the report
goes to ``DIR/report.html`` and Debian's ``chromium`` (``apt-get install
chromium``) saves ``DIR/report.png`` (1280 x 2000) and
``DIR/report_full.png`` (the whole page). Printed: the files, their sizes,
and the share of the screenshot that is not page background (a blank or
broken page scores near zero). ``--perfect-detection`` builds the analyses
from the phantom truth instead of running the pipeline.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from scalpmetrics.compare import compare_analyses, compare_visits
from scalpmetrics.report_html import write_compare_report
from scalpmetrics.synthetic import CourseSpec, PhantomSpec, make_course

PX_PER_MM = 100.0
DATES = ["2026-01-12", "2026-03-16", "2026-05-11", "2026-07-13"]
BACKGROUND_BGR = (248, 245, 243)  # the page colour, #f3f5f8


def chromium_screenshot(page: Path, out: Path, *, height_px: int) -> None:
    """Save a 1280-px-wide screenshot of ``page`` with headless Chromium."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", f"--screenshot={out}",
             f"--window-size=1280,{height_px}", page.resolve().as_uri()],
            check=True, capture_output=True, timeout=180,
        )


def main() -> int:
    import cv2

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a new temp folder)")
    parser.add_argument("--seed", type=int, default=900)
    parser.add_argument("--perfect-detection", action="store_true")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="scalpmetrics_report_"))
    out.mkdir(parents=True, exist_ok=True)

    course = make_course(CourseSpec(seed=args.seed, n_visits=4, response="strong",
                                    base=PhantomSpec(px_per_mm=PX_PER_MM)))
    paths = []
    for i, visit in enumerate(course.visits):
        path = out / f"{'baseline' if i == 0 else f'visit_{i}'}.png"
        cv2.imwrite(str(path), visit.image[:, :, ::-1])
        paths.append(str(path))
    if args.perfect_detection:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from course_truth import truth_analysis

        pairs = [truth_analysis(v, px_per_mm=PX_PER_MM) for v in course.visits]
        result = compare_analyses([p for p, _ in pairs], [a for _, a in pairs],
                                  dates=DATES, grid="grid:2x2")
    else:
        result = compare_visits(paths, px_per_mm=PX_PER_MM, dates=DATES, grid="grid:2x2")
    page = out / "report.html"
    write_compare_report(page, result)
    shot, full = out / "report.png", out / "report_full.png"
    chromium_screenshot(page, shot, height_px=2000)
    chromium_screenshot(page, full, height_px=5200)
    image = cv2.imread(str(shot))
    content = float(np.mean(np.any(np.abs(image.astype(int) - BACKGROUND_BGR) > 6, axis=2)))
    print(f"report      {page}  {page.stat().st_size / 1e6:.2f} MB")
    print(f"screenshot  {shot}  {image.shape[1]}x{image.shape[0]} px")
    print(f"full page   {full}")
    print(f"non-background share of the screenshot: {content:.0%}")
    return 0 if content > 0.2 else 1


if __name__ == "__main__":
    sys.exit(main())
