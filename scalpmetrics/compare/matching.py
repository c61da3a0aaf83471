"""Matched hairs of a follow-up: cross-checked, then counted on the baseline's terms."""

from __future__ import annotations

import numpy as np

from scalpmetrics.compare.results import MappedHairs
from scalpmetrics.match import HairMatching, cross_check, shaft_evidence
from scalpmetrics.params import CompareParams
from scalpmetrics.recall import DetectionRecall
from scalpmetrics.register import Registration
from scalpmetrics.types import Analysis


def _cross_check(
    matching: HairMatching,
    analyses: tuple[Analysis, Analysis],
    hairs: tuple[MappedHairs, MappedHairs],
    masks: tuple[np.ndarray, np.ndarray],
    reg: Registration,
    cp: CompareParams,
    gate_px: float,
    tolerance_px: int,
) -> HairMatching:
    """Unpaired hairs of each visit that the other photo shows are detection misses."""
    assert reg.followup_from_baseline is not None

    def seen(visit: int, index: np.ndarray, other_from_this: np.ndarray) -> np.ndarray:
        found = [analyses[visit].hairs[i] for i in hairs[visit].hair_index[index]]
        if not found:
            return np.zeros(0, bool)
        evidence = shaft_evidence(
            np.array([h.emergence_xy_px for h in found]), np.array([h.tip_xy_px for h in found]),
            masks[1 - visit], other_from_this,
            span=(cp.cross_check_span_start, cp.cross_check_span_end),
            samples=cp.cross_check_samples, tolerance_px=tolerance_px,
        )
        return evidence >= cp.cross_check_min_fraction

    to_follow = reg.followup_from_baseline
    return cross_check(
        matching,
        followup_seen=seen(1, matching.new, np.linalg.inv(to_follow)),
        baseline_seen=seen(0, matching.lost, to_follow),
        baseline_xy=hairs[0].xy_baseline,
        followup_xy=hairs[1].xy_baseline,
        max_distance_px=gate_px,
    )


def _on_baseline_terms(follow: MappedHairs, base: MappedHairs, matching: HairMatching,
                       recall: DetectionRecall | None, base_weights: np.ndarray | None,
                       ) -> tuple[MappedHairs, np.ndarray | None]:
    """The follow-up's hairs as the baseline's detection saw them: less those the
    baseline missed (``missed_in_baseline``), plus the baseline's that the
    follow-up missed (``missed_in_followup``, given ``hair_index`` -1); and each
    one's weight under ``recall`` (``None`` without): a hair of the baseline
    (paired or missed) weighs as in ``base_weights``, a new one by the
    follow-up's recall."""
    keep = np.ones(follow.hair_index.size, bool)
    keep[matching.missed_in_baseline] = False
    add = matching.missed_in_followup

    def cat(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
        return None if a is None or b is None else np.concatenate([a[keep], b[add]])

    hairs = MappedHairs(
        hair_index=np.concatenate([follow.hair_index[keep], np.full(add.size, -1)]),
        xy_baseline=np.vstack([follow.xy_baseline[keep], base.xy_baseline[add]]),
        width_um=cat(follow.width_um, base.width_um),
        terminal=cat(follow.terminal, base.terminal),
        width_weight_px=np.concatenate([follow.width_weight_px[keep], base.width_weight_px[add]]),
        inside=np.concatenate([follow.inside[keep], base.inside[add]]),
        direction_baseline=np.vstack([follow.direction_baseline[keep],
                                      base.direction_baseline[add]]),
    )
    if recall is None or base_weights is None:
        return hairs, None
    follow_w = recall.weights("followup", follow.terminal, follow.hair_index.size)
    pairs = matching.pairs.reshape(-1, 2)
    follow_w[pairs[:, 1]] = base_weights[pairs[:, 0]]
    return hairs, np.concatenate([follow_w[keep], base_weights[add]])
