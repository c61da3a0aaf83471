"""Quantiles and medians of large samples: NumPy's values, found sooner.

``np.quantile`` and ``np.median`` partition a copy of the whole sample
around the order statistics they need. Here a sorted, regularly strided
subsample (the probe) brackets each needed order statistic between two of
its values, a margin of probe ranks either side; only the sample values in
that bracket are partitioned. The order statistics found are then handed to
NumPy, whose own interpolation (or mean) of them is the result, so results
are those of ``np.quantile`` and ``np.median`` to the bit. A bracket that
misses its rank, a sample that is small, not of floats or not finite
(NaN, infinities) goes to NumPy whole: the margin only sets how often that
slower path is taken.
"""

from __future__ import annotations

import numpy as np

__all__ = ["median", "quantile"]

# Values in the probe.
_PROBE_SIZE = 4096
# Smaller samples are left to NumPy (the probe would save nothing).
_MIN_SAMPLE_SIZE = 8 * _PROBE_SIZE
# Bracket margin, in standard deviations of a probe rank (binomial), plus a
# few ranks for the probe's own discreteness.
_MARGIN_SIGMAS = 5.0
_MARGIN_RANKS = 4
# Ranks within this share of either end are in a tail.
_TAIL_SHARE = 0.4


def _bracket(values: np.ndarray, probe: np.ndarray, first: int,
             last: int) -> tuple[int, np.ndarray]:
    """The sample values between the probe values bracketing ranks ``first``
    to ``last`` (0-based, ascending), and the count of values below them.

    A bracket in a tail is cut from the few values beyond its inner bound
    (one comparison of the whole sample instead of two). Values are selected
    with ``np.compress``, much faster than a boolean index here.
    """
    n, m = values.size, probe.size
    p = 0.5 * (first + last) / n
    margin = _MARGIN_SIGMAS * np.sqrt(m * p * (1.0 - p)) + _MARGIN_RANKS
    j0 = int(np.floor(first * m / n - margin))
    j1 = int(np.ceil(last * m / n + margin))
    lo = probe[j0] if j0 >= 0 else None
    hi = probe[j1] if j1 < m else None
    if lo is None and hi is None:
        return 0, values
    if hi is not None and (lo is None or p < _TAIL_SHARE):
        tail = np.compress(values <= hi, values)
        window = tail if lo is None else np.compress(tail >= lo, tail)
        return tail.size - window.size, window
    if lo is not None and (hi is None or p > 1.0 - _TAIL_SHARE):
        tail = np.compress(values >= lo, values)
        window = tail if hi is None else np.compress(tail <= hi, tail)
        return n - tail.size, window
    return int(np.count_nonzero(values < lo)), np.compress((values >= lo) & (values <= hi), values)


def _order_statistics(values: np.ndarray, ranks: list[list[int]]) -> np.ndarray | None:
    """The values of the given ranks (groups of nearby 0-based ranks,
    ascending) in the sorted finite ``values``, in order; ``None`` when a
    bracket misses."""
    step = max(1, values.size // _PROBE_SIZE)
    probe = np.sort(values[::step])
    out = []
    for group in ranks:
        below, window = _bracket(values, probe, group[0], group[-1])
        if not below <= group[0] <= group[-1] < below + window.size:
            return None
        kth = [r - below for r in group]
        out.extend(np.partition(window, kth)[kth])
    return np.array(out, dtype=values.dtype)


def _usable(values: np.ndarray) -> bool:
    """Whether the probe can be used: a large, finite sample of floats."""
    return (values.size >= _MIN_SAMPLE_SIZE and values.dtype.kind == "f"
            and bool(np.isfinite(values.sum())))


def quantile(values: np.ndarray, q: float | list[float] | np.ndarray) -> np.floating | np.ndarray:
    """``np.quantile(values, q)`` (linear interpolation, the whole array), to the bit.

    Parameters
    ----------
    values : ndarray
        The sample (flattened).
    q : float or sequence of float
        Quantiles in [0, 1].

    Returns
    -------
    numpy scalar or ndarray
        As ``np.quantile(values, q)``, of its type and shape.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=100_000).astype(np.float32)
    >>> bool((quantile(x, [0.01, 0.99]) == np.quantile(x, [0.01, 0.99])).all())
    True
    >>> bool(quantile(x, 0.25) == np.quantile(x, 0.25))
    True
    """
    values = np.ascontiguousarray(values).reshape(-1)
    qs = np.asarray(q, dtype=np.float64)
    if not (_usable(values) and qs.ndim <= 1 and ((qs > 0) & (qs < 1)).all()):
        return np.quantile(values, q)
    virtual = (values.size - 1) * qs.reshape(-1)  # NumPy's linear method
    lower = np.floor(virtual).astype(np.int64)
    stats = _order_statistics(values, [[int(r), int(r) + 1] for r in lower])
    if stats is None:
        return np.quantile(values, q)
    gamma = virtual - lower
    # NumPy interpolates between the two order statistics; q of the same kind
    # (a Python float, or an array) gives the same weak or strong arithmetic.
    weak = type(q) in (int, float)
    out = [np.quantile(stats[2 * i:2 * i + 2], float(g) if weak else np.array([g]))
           for i, g in enumerate(gamma)]
    if weak:
        return out[0]
    return np.concatenate(out).reshape(qs.shape)[()]


def median(values: np.ndarray) -> np.floating:
    """``np.median(values)`` of the whole array, to the bit.

    Parameters
    ----------
    values : ndarray
        The sample (flattened).

    Returns
    -------
    numpy scalar
        As ``np.median(values)``.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=100_000)
    >>> bool(median(x) == np.median(x))
    True
    """
    values = np.ascontiguousarray(values).reshape(-1)
    if not _usable(values):
        return np.median(values)
    half = values.size // 2
    middle = [half - 1, half] if values.size % 2 == 0 else [half]
    stats = _order_statistics(values, [middle])
    if stats is None:
        return np.median(values)
    # NumPy's median is the mean of the middle values.
    return np.median(stats)
