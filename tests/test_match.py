"""Hair-to-hair matching: one-to-one assignment within a gate, and what changed."""

from __future__ import annotations

import numpy as np
import pytest

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.match import assign_points, cross_check, match_hairs, shaft_evidence


def test_assignment_pairs_the_most_points_within_the_gate():
    # greedy nearest-first would pair a0-b0 (0.5 apart) and leave a1 alone;
    # the best assignment pairs both
    a = [[0.0, 0.0], [2.0, 0.0]]
    b = [[0.5, 0.0], [-2.0, 0.0]]
    pairs, dist = assign_points(a, b, max_distance=2.6)
    assert pairs.tolist() == [[0, 1], [1, 0]]
    assert dist.tolist() == pytest.approx([2.0, 1.5])


def test_assignment_never_pairs_beyond_the_gate_and_is_one_to_one():
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 2000, (600, 2))
    keep = rng.permutation(600)[:500]
    b = a[keep] + rng.normal(0, 1.0, (500, 2))
    b = np.vstack([b, rng.uniform(0, 2000, (40, 2))])  # unrelated points
    pairs, dist = assign_points(a, b, max_distance=6.0)
    assert np.all(dist <= 6.0)
    assert len(np.unique(pairs[:, 0])) == len(pairs) == len(np.unique(pairs[:, 1]))
    truth = {(int(k), i) for i, k in enumerate(keep)}
    found = {(int(p), int(q)) for p, q in pairs}
    assert len(truth & found) >= 495


def test_assignment_of_empty_sets():
    pairs, dist = assign_points(np.zeros((0, 2)), [[1.0, 1.0]], max_distance=5)
    assert pairs.shape == (0, 2) and dist.shape == (0,)
    pairs, _ = assign_points([[0.0, 0.0]], [[100.0, 0.0]], max_distance=5)
    assert pairs.shape == (0, 2)


def test_assignment_rejects_malformed_points():
    with pytest.raises(ImageArrayError):
        assign_points([[0.0, 0.0, 1.0]], [[0.0, 0.0]], max_distance=1)
    with pytest.raises(ImageArrayError):
        assign_points([[np.nan, 0.0]], [[0.0, 0.0]], max_distance=1)


def _scene():
    """Baseline: hairs 0-4 inside, 5 just inside the edge; follow-up: 0-3 again
    (1 now terminal, 3 now vellus), 4 lost, two new hairs, and a hair just
    outside the edge next to baseline hair 5."""
    base = np.array([[10, 10], [30, 10], [50, 10], [70, 10], [90, 10], [99.5, 50]], float)
    follow = np.array([[10.5, 10], [30, 10.5], [50, 9.5], [70.4, 10], [20, 40], [60, 40],
                       [100.5, 50]], float)
    b_in = base[:, 0] < 100
    f_in = follow[:, 0] < 100
    b_term = np.array([True, False, True, True, False, True])
    f_term = np.array([True, True, True, False, True, False, True])
    return base, follow, b_in, f_in, b_term, f_term


def test_match_hairs_counts_new_lost_thickened_and_thinned():
    base, follow, b_in, f_in, b_term, f_term = _scene()
    m = match_hairs(base, follow, baseline_inside=b_in, followup_inside=f_in,
                    baseline_terminal=b_term, followup_terminal=f_term, max_distance_px=3.0)
    assert sorted(m.lost.tolist()) == [4, 5]
    assert sorted(m.new.tolist()) == [4, 5]
    assert [tuple(m.pairs[i]) for i in m.thickened] == [(1, 1)]
    assert [tuple(m.pairs[i]) for i in m.thinned] == [(3, 3)]
    counts = m.counts()
    assert counts == {"new_hairs": 2, "lost_hairs": 2, "thickened_hairs": 1,
                      "thinned_hairs": 1, "matched_hairs": 4, "missed_hairs": 0}
    # only hairs inside the common area take part: new - lost is the count change
    assert counts["new_hairs"] - counts["lost_hairs"] == f_in.sum() - b_in.sum()
    assert 6 not in m.pairs[:, 1]


def test_match_hairs_without_calibration_reports_no_thickening():
    base, follow, b_in, f_in, _, _ = _scene()
    m = match_hairs(base, follow, baseline_inside=b_in, followup_inside=f_in,
                    baseline_terminal=None, followup_terminal=None, max_distance_px=3.0)
    assert m.thickened.size == 0 and m.thinned.size == 0
    assert m.counts()["lost_hairs"] == 2


def test_match_hairs_checks_flag_lengths():
    base, follow, b_in, f_in, b_term, f_term = _scene()
    with pytest.raises(ImageArrayError):
        match_hairs(base, follow, baseline_inside=b_in[:-1], followup_inside=f_in,
                    baseline_terminal=b_term, followup_terminal=f_term, max_distance_px=3.0)


def test_shaft_evidence_measures_the_other_photos_hair_along_the_shaft():
    mask = np.zeros((60, 80), bool)
    mask[20:23, 10:60] = True  # a horizontal hair in the other photo
    shift = np.array([[1.0, 0, 5], [0, 1, 2], [0, 0, 1]])  # this photo -> other: (+5, +2)
    e = np.array([[5.0, 19.0], [5.0, 40.0]])
    t = np.array([[50.0, 19.0], [50.0, 40.0]])
    got = shaft_evidence(e, t, mask, shift, span=(0.25, 0.85), samples=12, tolerance_px=0)
    assert got.tolist() == [1.0, 0.0]
    # outside the other photo entirely: no evidence
    far = shaft_evidence([[500.0, 500.0]], [[550.0, 500.0]], mask, shift,
                         span=(0.25, 0.85), samples=12, tolerance_px=1)
    assert far.tolist() == [0.0]


def test_cross_check_turns_seen_hairs_into_misses_and_pairs_duplicates():
    base = np.array([[10, 10], [40, 10], [70, 10]], float)
    follow = np.array([[10, 10], [40, 31], [90, 50], [70, 40]], float)
    inside_b, inside_f = np.ones(3, bool), np.ones(4, bool)
    m = match_hairs(base, follow, baseline_inside=inside_b, followup_inside=inside_f,
                    baseline_terminal=None, followup_terminal=None, max_distance_px=3.0)
    assert m.lost.tolist() == [1, 2] and m.new.tolist() == [1, 2, 3]
    # follow-up 1 and 3 are seen in the baseline photo, baseline 1 in the follow-up one
    checked = cross_check(m, followup_seen=np.array([True, False, True]),
                          baseline_seen=np.array([True, False]),
                          baseline_xy=base, followup_xy=follow, max_distance_px=25.0)
    assert checked.new.tolist() == [2] and checked.lost.tolist() == [2]
    # baseline 1 and follow-up 1 are one hair detected 21 px apart: paired, not counted twice
    assert [1, 1] in checked.pairs.tolist()
    assert checked.missed_in_baseline.tolist() == [3]
    assert checked.missed_in_followup.tolist() == []
    assert checked.counts()["missed_hairs"] == 1
