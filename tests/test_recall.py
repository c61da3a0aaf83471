"""Detection recall estimated from two visits (capture-recapture by hair class)."""

from __future__ import annotations

import numpy as np
import pytest

from scalpmetrics.match import HairMatching
from scalpmetrics.recall import detection_recall

NONE = np.zeros(0, int)


def _matching(pairs, missed_in_baseline=NONE, missed_in_followup=NONE) -> HairMatching:
    pairs = np.asarray(pairs, int).reshape(-1, 2)
    return HairMatching(pairs=pairs, distance_px=np.zeros(len(pairs)), new=NONE, lost=NONE,
                        thickened=NONE, thinned=NONE,
                        missed_in_baseline=np.asarray(missed_in_baseline, int),
                        missed_in_followup=np.asarray(missed_in_followup, int))


def _two_classes():
    """Baseline hairs 0-29 vellus, 30-89 terminal. The follow-up finds 20 of the 30
    vellus (10 missed) and 54 of the 60 terminal ones (6 missed); follow-up hairs keep
    the index of their partner, and the baseline missed 4 terminal follow-up hairs 90-93."""
    b_terminal = np.arange(90) >= 30
    found = np.r_[np.arange(20), np.arange(30, 84)]
    f_terminal = np.r_[b_terminal, np.ones(4, bool)]
    matching = _matching(np.column_stack([found, found]), missed_in_baseline=[90, 91, 92, 93],
                         missed_in_followup=np.r_[np.arange(20, 30), np.arange(84, 90)])
    return matching, b_terminal, f_terminal


def test_recall_per_class_is_the_share_found_again():
    matching, b_terminal, f_terminal = _two_classes()
    r = detection_recall(matching, b_terminal, f_terminal, min_hairs=10, floor=0.1)
    assert r.followup == pytest.approx((20 / 30, 54 / 60))
    # baseline: every follow-up vellus hair was found (20 of 20), terminal 54 of 58
    assert r.baseline == pytest.approx((1.0, 54 / 58))
    assert r.hairs == (78, 90)
    w = r.weights("followup", np.array([False, True]), 2)
    assert w == pytest.approx([30 / 20, 60 / 54])
    record = r.to_dict()
    assert record["followup"]["vellus"] == pytest.approx(20 / 30)
    assert record["hairs"] == {"baseline": 78, "followup": 90}


def test_small_classes_fall_back_to_the_pooled_estimate_then_to_none():
    matching, b_terminal, f_terminal = _two_classes()
    # 30 vellus hairs are too few for a class of its own: pooled (74 of 90)
    r = detection_recall(matching, b_terminal, f_terminal, min_hairs=40, floor=0.1)
    assert r.followup == pytest.approx((74 / 90, 54 / 60))
    # fewer hairs than asked for in all: no correction
    r = detection_recall(matching, b_terminal, f_terminal, min_hairs=100, floor=0.1)
    assert r.followup == (1.0, 1.0) and r.baseline == (1.0, 1.0)


def test_floor_and_uncalibrated_photos():
    matching, b_terminal, f_terminal = _two_classes()
    r = detection_recall(matching, b_terminal, f_terminal, min_hairs=10, floor=0.8)
    assert r.followup == pytest.approx((0.8, 0.9))
    r = detection_recall(matching, None, None, min_hairs=10, floor=0.1)
    assert r.followup == pytest.approx((74 / 90, 74 / 90))
    assert r.weights("followup", None, 3) == pytest.approx([90 / 74] * 3)


def test_without_detection_misses_nothing_is_corrected():
    matching = _matching(np.column_stack([np.arange(50), np.arange(50)]))
    r = detection_recall(matching, np.arange(50) % 2 == 0, np.arange(50) % 2 == 0,
                         min_hairs=5, floor=0.5)
    assert r.baseline == (1.0, 1.0) and r.followup == (1.0, 1.0)
