"""Tests of the quantiles and medians found through a probe: NumPy's, to the bit."""

from __future__ import annotations

import numpy as np
import pytest

from scalpmetrics import selection
from scalpmetrics.selection import median, quantile


def _samples() -> list[np.ndarray]:
    """Large samples of several kinds: continuous, tied, sorted, heavy-tailed."""
    rng = np.random.default_rng(7)
    n = 200_001
    return [
        rng.normal(size=n),
        rng.normal(size=n - 1).astype(np.float32),
        (rng.integers(0, 256, n) / 255).astype(np.float32),  # few distinct values
        np.sort(rng.exponential(size=n)).astype(np.float32),
        np.round(rng.standard_t(2, size=n) * 3),
        np.full(n, 0.25),
    ]


def _identical(a, b) -> bool:
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    return (type(a) is type(b) and a_arr.dtype == b_arr.dtype and a_arr.shape == b_arr.shape
            and a_arr.tobytes() == b_arr.tobytes())


@pytest.mark.parametrize("q", [0.01, [0.01, 0.99], [0.002, 0.998], 0.25, 0.97, np.float64(0.5),
                               np.array([0.1, 0.5, 0.9]), 0, 1.0, [0.0, 1.0], 1e-9])
def test_quantile_is_numpys(q):
    for x in _samples():
        assert _identical(quantile(x, q), np.quantile(x, q))


def test_median_is_numpys():
    for x in _samples():
        assert _identical(median(x), np.median(x))
        assert _identical(median(x[1:]), np.median(x[1:]))


def test_small_and_non_finite_samples_go_to_numpy():
    rng = np.random.default_rng(1)
    small = rng.normal(size=100)
    assert _identical(quantile(small, [0.1, 0.9]), np.quantile(small, [0.1, 0.9]))
    for bad in (np.nan, np.inf, -np.inf):
        x = rng.normal(size=100_000)
        x[123] = bad
        assert _identical(quantile(x, [0.1, 0.9]), np.quantile(x, [0.1, 0.9]))
        assert _identical(median(x), np.median(x))
    ints = rng.integers(0, 10, 100_000)
    assert _identical(quantile(ints, 0.3), np.quantile(ints, 0.3))


def test_a_missed_bracket_falls_back(monkeypatch):
    """With no margin the bracket often misses its rank; the result stays NumPy's."""
    monkeypatch.setattr(selection, "_MARGIN_SIGMAS", 0.0)
    monkeypatch.setattr(selection, "_MARGIN_RANKS", 0)
    x = np.random.default_rng(3).normal(size=100_000)
    for q in (0.001, 0.3, [0.02, 0.98]):
        assert _identical(quantile(x, q), np.quantile(x, q))
    assert _identical(median(x), np.median(x))


def test_input_not_modified():
    x = np.random.default_rng(4).normal(size=100_000)
    before = x.copy()
    quantile(x, [0.1, 0.9])
    median(x)
    np.testing.assert_array_equal(x, before)
