"""The HTML comparison report: self-contained, script-free, escaped, and it renders."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from course_truth import truth_analysis

from scalpmetrics.compare import compare_analyses
from scalpmetrics.report_html import fmt_number, render_compare_report, write_compare_report
from scalpmetrics.synthetic import PhantomSpec, make_course
from scalpmetrics.types import PhotoMetadata

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def comparison():
    """A 3-visit comparison whose file names and metadata try to inject markup."""
    course = make_course(seed=41, n_visits=3, base=PhantomSpec(width_px=600, height_px=480))
    photos, analyses = [], []
    for i, visit in enumerate(course.visits):
        photo, analysis = truth_analysis(visit, px_per_mm=100.0)
        path = f"/clinic/{HOSTILE}/visit{i}{HOSTILE}.png"
        meta = PhotoMetadata(format="PNG", camera_model=HOSTILE)
        photo = dataclasses.replace(photo, path=path, metadata=meta)
        analysis = dataclasses.replace(
            analysis, image=dataclasses.replace(analysis.image, path=path), metadata=meta)
        photos.append(photo)
        analyses.append(analysis)
    return compare_analyses(photos, analyses, grid="grid:2x2",
                            dates=["2026-01-10", "2026-04-11", "2026-07-09"])


@pytest.fixture(scope="module")
def html(comparison):
    return render_compare_report(comparison, title=f"Report {HOSTILE}")


def test_everything_from_names_and_metadata_is_escaped(html):
    assert "<script" not in html.lower()
    assert "<img src=x" not in html
    # shown, but as text: in the title and in the file names
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 2
    assert "&lt;script&gt;" in html
    # every <img> is one of ours and points at embedded data
    for tag in re.findall(r"<img\b[^>]*>", html):
        assert re.search(r'src="data:image/(png|jpeg);base64,[A-Za-z0-9+/=]+"', tag), tag
        assert "onerror" not in tag


def test_self_contained_and_script_free(html):
    assert html.startswith("<!DOCTYPE html>")
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            'img-src data:; style-src \'unsafe-inline\'">') in html
    assert "<script" not in html and "javascript:" not in html.lower()
    assert not re.search(r'(src|href)="(https?:|//|file:)', html)
    assert re.search(r"https?://", html) is None


def test_has_the_promised_parts(html, comparison):
    # overlay switch (checkbox + CSS), aligned pairs, tables, trend plot
    assert '<input type="checkbox" id="show-overlay"' in html
    assert "#show-overlay:checked ~ main .overlay" in html
    assert html.count('class="pair"') == len(comparison.changes)
    assert html.count('class="overlay"') == 2 * len(comparison.changes)
    assert "<svg" in html and "<polyline" in html
    assert "By region" in html and "row 2, column 2" in html
    assert "95&nbsp;% interval" in html
    change = comparison.changes[-1]
    assert fmt_number(change.hair_count_change_pct, 1, unit=" %", signed=True) in html


def test_failed_registration_is_stated(comparison):
    failed = dataclasses.replace(
        comparison,
        changes=(comparison.changes[0],
                 dataclasses.replace(comparison.changes[1], status="registration_failed")),
    )
    html = render_compare_report(failed)
    assert "could not be aligned" in html
    assert html.count('class="pair"') == 1


def test_write_is_utf8_and_complete(tmp_path, comparison):
    out = tmp_path / "report.html"
    write_compare_report(out, comparison)
    text = out.read_text(encoding="utf-8")
    assert text.rstrip().endswith("</html>")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed")
def test_renders_in_headless_chromium(tmp_path, comparison):
    import cv2

    page = tmp_path / "report.html"
    shot = tmp_path / "shot.png"
    write_compare_report(page, comparison)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", f"--screenshot={shot}",
             "--window-size=1280,2000", page.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (2000, 1280)
    # the photos rendered: the page is not a blank sheet of background colour
    assert float(np.std(image)) > 20
    assert Path(shot).stat().st_size > 50_000
