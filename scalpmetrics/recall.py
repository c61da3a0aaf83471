"""Each visit's detector recall, estimated from the hairs two visits share.

Two photos of one scalp are two looks at the hairs both visits hold. After
matching (:mod:`scalpmetrics.match`), every such hair that one photo's
detector found is either found again in the other photo (a pair) or
missed there although the other photo shows its shaft (a detection miss of
the cross-check). The share found again is that detector's **recall**, the
capture-recapture estimate of the share of hairs it finds; it is estimated
separately for vellus and terminal hairs (by the class the finding photo
gave them), because thin hairs are found far less often than thick ones.

A comparison counts each hair as ``1 / recall`` hairs of its class: the new
hairs by the follow-up's recall, the baseline's hairs (and so the lost ones)
by the baseline's. Without this, a regrowth made mostly of new vellus hairs,
which either detector finds less often than the average hair, reads too
small (:mod:`scalpmetrics.compare`, ``docs/compare.md``).

Hairs that neither photo's detector found leave no trace, and hairs found in
one photo are the easier ones, so the estimate is an upper bound of the true
recall and the correction a partial one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from scalpmetrics.match import HairMatching

__all__ = ["DetectionRecall", "detection_recall"]

#: Class names, in the order of the ``terminal`` flag (False, True).
CLASSES = ("vellus", "terminal")


@dataclass(frozen=True)
class DetectionRecall:
    """Estimated recall of each visit's detector, by hair class.

    Attributes
    ----------
    baseline, followup : tuple of float
        Recall of that visit's detector for ``(vellus, terminal)`` hairs, in
        ``[floor, 1]``; both entries are equal when the photos carry no
        classes (uncalibrated) or a class rests on too few hairs (pooled).
    hairs : tuple of int
        Hairs each estimate rests on, ``(baseline, followup)``: the baseline's
        recall is judged on the hairs the follow-up's detector found in both
        visits, and the other way round.
    """

    baseline: tuple[float, float]
    followup: tuple[float, float]
    hairs: tuple[int, int]

    def weights(self, visit: Literal["baseline", "followup"], terminal: np.ndarray | None,
                n: int) -> np.ndarray:
        """``1 / recall`` for ``n`` hairs of ``visit`` ('baseline' or 'followup'),
        by their ``terminal`` flags (all vellus and terminal alike when ``None``)."""
        r = self.baseline if visit == "baseline" else self.followup
        if terminal is None:
            return np.full(n, 1.0 / r[0])
        return np.where(np.asarray(terminal, bool), 1.0 / r[1], 1.0 / r[0])

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """``{"baseline": {"vellus": r, "terminal": r}, "followup": {...},
        "hairs": {"baseline": n, "followup": n}}``."""
        return {"baseline": dict(zip(CLASSES, self.baseline)),
                "followup": dict(zip(CLASSES, self.followup)),
                "hairs": {"baseline": self.hairs[0], "followup": self.hairs[1]}}


def detection_recall(
    matching: HairMatching,
    baseline_terminal: np.ndarray | None,
    followup_terminal: np.ndarray | None,
    *,
    min_hairs: int,
    floor: float,
) -> DetectionRecall:
    """Each visit's detector recall from a cross-checked matching.

    Parameters
    ----------
    matching : HairMatching
        After :func:`scalpmetrics.match.cross_check` (without it there are no
        detection misses and every recall is 1).
    baseline_terminal, followup_terminal : ndarray of bool, or None
        Class of every hair of each visit (indices as in ``matching``).
    min_hairs : int
        A class's own estimate needs this many hairs; below it the pooled
        estimate of both classes is used, and below it again recall 1.
    floor : float
        Smallest recall used (so one photo's few thin hairs cannot weigh without bound).

    Returns
    -------
    DetectionRecall
    """
    pairs = matching.pairs.reshape(-1, 2)
    # The follow-up's detector, judged on the hairs the baseline's found (and vice versa).
    followup, n_f = _recall(baseline_terminal, pairs[:, 0], matching.missed_in_followup,
                            min_hairs, floor)
    baseline, n_b = _recall(followup_terminal, pairs[:, 1], matching.missed_in_baseline,
                            min_hairs, floor)
    return DetectionRecall(baseline=baseline, followup=followup, hairs=(n_b, n_f))


def _recall(terminal: np.ndarray | None, found: np.ndarray, missed: np.ndarray,
            min_hairs: int, floor: float) -> tuple[tuple[float, float], int]:
    """Share found of the hairs ``found`` and ``missed`` (indices), per class."""
    n = found.size + missed.size
    pooled = max(floor, found.size / n) if n >= min_hairs else 1.0
    if terminal is None:
        return (pooled, pooled), n
    cls = np.asarray(terminal, bool)
    out = []
    for value in (False, True):
        k_found = int(np.count_nonzero(cls[found] == value))
        k_all = k_found + int(np.count_nonzero(cls[missed] == value))
        out.append(max(floor, k_found / k_all) if k_all >= min_hairs else pooled)
    return (out[0], out[1]), n
