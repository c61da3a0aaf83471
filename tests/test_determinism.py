"""The same input and parameters give identical numbers: across calls, across
processes (different hash seeds), across OpenCV thread counts, across the
memory alignment of arrays and across batch ``--workers`` settings."""

from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from scalpmetrics.analysis import analyze
from scalpmetrics.batch import run_batch
from scalpmetrics.floatops import magnitude
from scalpmetrics.io import load_photo
from scalpmetrics.report import to_json
from scalpmetrics.synthetic import make_phantom
from scalpmetrics_cli.main import main

PX_PER_MM = 40.0


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Four small non-square phantoms saved as PNG."""
    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for i in range(4):
        path = folder / f"p{i}.png"
        image = make_phantom(seed=40 + i, width_px=176, height_px=144, px_per_mm=PX_PER_MM).image
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def analysis_json(path, **options) -> str:
    result = analyze(load_photo(path), px_per_mm=PX_PER_MM, grid="grid:2x3", **options)
    return to_json(result.to_dict())


def test_repeated_calls_are_identical(photos):
    first = analyze(load_photo(photos[0]), px_per_mm=PX_PER_MM, grid="grid:2x3")
    second = analyze(load_photo(photos[0]), px_per_mm=PX_PER_MM, grid="grid:2x3")
    assert to_json(first.to_dict()) == to_json(second.to_dict())
    np.testing.assert_array_equal(first.hair_mask, second.hair_mask)


def test_opencv_thread_count_does_not_change_the_numbers(photos):
    """Batch workers run OpenCV on one thread; a library call uses all cores."""
    reference = analysis_json(photos[0])
    previous = cv2.getNumThreads()
    try:
        for threads in (1, 3):
            cv2.setNumThreads(threads)
            assert analysis_json(photos[0]) == reference
    finally:
        cv2.setNumThreads(previous)


def test_separate_processes_with_different_hash_seeds_agree(photos):
    """A fresh process without hash randomisation agrees with this (randomised) one."""
    args = ["analyze", str(photos[1]), "--px-per-mm", str(PX_PER_MM), "--regions", "grid:2x3",
            "--json"]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run([sys.executable, "-m", "scalpmetrics_cli.main", *args],
                          capture_output=True, env=env, check=True)
    assert proc.stdout == CliRunner().invoke(main, args).stdout_bytes


def test_batch_tables_do_not_depend_on_workers(photos, tmp_path):
    manifest = tmp_path / "manifest.csv"
    lines = ["path,subject,visit"] + [f"{p},S{i // 2},V{i % 2}" for i, p in enumerate(photos)]
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tables = {}
    for workers in (0, 2):  # in this process, in order / a pool, finishing in any order
        out = tmp_path / f"w{workers}" / "results.csv"
        out.parent.mkdir()
        run_batch(manifest, out_path=out, workers=workers, px_per_mm=PX_PER_MM,
                  grid="grid:2x2")
        tables[workers] = (out.read_bytes(), out.with_name("results.changes.csv").read_bytes())
    assert tables[0] == tables[2]
    assert tables[0][0].count(b"\n") == 1 + len(photos) * 5  # header + (whole + 4 cells) each


def _at_offset(values: np.ndarray, offset: int) -> np.ndarray:
    """A copy of ``values`` whose data start ``offset`` float32s into a fresh buffer."""
    buf = np.empty(values.size + 16, np.float32)
    out = buf[offset:offset + values.size].reshape(values.shape)
    out[:] = values
    return out


def test_magnitude_same_bits_whatever_the_alignment():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(67, 129)).astype(np.float32)
    y = rng.normal(size=(67, 129)).astype(np.float32)
    results = [magnitude(_at_offset(x, i), _at_offset(y, (i * 3) % 8)) for i in range(8)]
    for r in results[1:]:
        assert np.array_equal(r, results[0])
    exact = np.sqrt(x.astype(np.float64) ** 2 + y.astype(np.float64) ** 2)
    assert results[0].dtype == np.float32
    np.testing.assert_allclose(results[0], exact, rtol=3e-7)
