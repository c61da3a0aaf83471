"""Matched hairs of a follow-up: cross-checked, counted on the baseline's terms, and
given the new hairs of earlier follow-ups that its photo shows (the second look)."""

from __future__ import annotations

import numpy as np

from scalpmetrics.compare.results import MappedHairs
from scalpmetrics.match import HairMatching, assign_points, cross_check, shaft_evidence
from scalpmetrics.params import CompareParams
from scalpmetrics.recall import DetectionRecall
from scalpmetrics.register import Registration
from scalpmetrics.types import Analysis


def _shaft_cover(analysis: Analysis, hairs: MappedHairs, index: np.ndarray, mask: np.ndarray,
                 mask_from_photo: np.ndarray, cp: CompareParams, tolerance_px: int) -> np.ndarray:
    """Share of the shafts of ``hairs`` rows ``index`` (hairs of ``analysis``)
    that another photo's hair ``mask`` covers, sampled as the cross-check
    samples them; ``mask_from_photo`` maps the analysis' pixels into the mask's."""
    found = [analysis.hairs[i] for i in hairs.hair_index[index]]
    if not found:
        return np.zeros(0)
    return shaft_evidence(
        np.array([h.emergence_xy_px for h in found]), np.array([h.tip_xy_px for h in found]),
        mask, mask_from_photo, span=(cp.cross_check_span_start, cp.cross_check_span_end),
        samples=cp.cross_check_samples, tolerance_px=tolerance_px,
    )


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
        cover = _shaft_cover(analyses[visit], hairs[visit], index, masks[1 - visit],
                             other_from_this, cp, tolerance_px)
        return cover >= cp.cross_check_min_fraction

    to_follow = reg.followup_from_baseline
    return cross_check(
        matching,
        followup_seen=seen(1, matching.new, np.linalg.inv(to_follow)),
        baseline_seen=seen(0, matching.lost, to_follow),
        baseline_xy=hairs[0].xy_baseline,
        followup_xy=hairs[1].xy_baseline,
        max_distance_px=gate_px,
    )


def _stack(parts: list[tuple[MappedHairs, np.ndarray]], hair_index: np.ndarray) -> MappedHairs:
    """Rows ``index`` of each ``(hairs, index)`` of ``parts``, one after the other,
    with ``hair_index`` (widths and classes ``None`` when any part lacks them)."""

    def cat(name: str) -> np.ndarray | None:
        values = [getattr(hairs, name) for hairs, _ in parts]
        if any(v is None for v in values):
            return None
        return np.concatenate([v[index] for v, (_, index) in zip(values, parts)])

    return MappedHairs(hair_index=hair_index, **{
        name: cat(name) for name in ("xy_baseline", "width_um", "terminal", "width_weight_px",
                                     "inside", "direction_baseline")})


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
    hairs = _stack([(follow, keep), (base, add)],
                   np.concatenate([follow.hair_index[keep], np.full(add.size, -1)]))
    if recall is None or base_weights is None:
        return hairs, None
    follow_w = recall.weights("followup", follow.terminal, follow.hair_index.size)
    pairs = matching.pairs.reshape(-1, 2)
    follow_w[pairs[:, 1]] = base_weights[pairs[:, 0]]
    return hairs, np.concatenate([follow_w[keep], base_weights[add]])


def _new_earlier(
    v: int,
    analyses: tuple[Analysis, ...],
    mapped: list[MappedHairs | None],
    matchings: list[HairMatching | None],
    masks: tuple[np.ndarray, ...],
    regs: list[Registration],
    cp: CompareParams,
    gate_px: float,
    tolerance_px: int,
) -> MappedHairs | None:
    """The hairs an earlier follow-up counted new that follow-up ``v`` shows
    but did not count (``compare.course_second_look``), or ``None``.

    A new hair growing in beside a unit mate may run merged with the mate in
    one photo and apart in another; where it ran apart it was counted new.
    Such a hair of an earlier follow-up ``j`` is taken as new at ``v`` too when
    the baseline's hair mask covers at most
    ``second_look_max_baseline_fraction`` of its shaft (a clear new hair), no
    hair ``v`` counted new, or took for a baseline miss, lies within the
    matching gate, and ``v``'s hair mask covers at least
    ``cross_check_min_fraction`` of its shaft. Each hair is taken once, from
    the earliest follow-up that counted it.
    """
    own = mapped[v]
    assert own is not None and matchings[v] is not None
    taken = own.xy_baseline[np.concatenate([matchings[v].new, matchings[v].missed_in_baseline])]
    rows: list[tuple[int, np.ndarray]] = []
    for j in range(1, v):
        hairs, matching = mapped[j], matchings[j]
        if hairs is None or matching is None:
            continue
        new = matching.new[hairs.inside[matching.new]]
        pairs, _ = assign_points(taken, hairs.xy_baseline[new], max_distance=gate_px)
        new = np.delete(new, pairs[:, 1])
        if new.size == 0:
            continue
        j_from_baseline = regs[j - 1].followup_from_baseline
        clear = _shaft_cover(analyses[j], hairs, new, masks[0], np.linalg.inv(j_from_baseline),
                             cp, tolerance_px)
        new = new[clear <= cp.second_look_max_baseline_fraction]
        if new.size == 0:
            continue
        v_from_j = regs[v - 1].followup_from_baseline @ np.linalg.inv(j_from_baseline)
        shown = new[_shaft_cover(analyses[j], hairs, new, masks[v], v_from_j, cp, tolerance_px)
                    >= cp.cross_check_min_fraction]
        rows.append((j, shown))
        taken = np.vstack([taken, hairs.xy_baseline[new]])
    n = sum(index.size for _, index in rows)
    if n == 0:
        return None
    return _stack([(mapped[j], index) for j, index in rows], np.full(n, -1))


def _with_hairs(hairs: MappedHairs, weights: np.ndarray | None, extra: MappedHairs
                ) -> tuple[MappedHairs, np.ndarray | None]:
    """``hairs`` and ``extra`` (each of weight 1) as one visit's hairs."""
    n, n_extra = hairs.hair_index.size, extra.hair_index.size
    out = _stack([(hairs, np.arange(n)), (extra, np.arange(n_extra))],
                 np.concatenate([hairs.hair_index, extra.hair_index]))
    return out, None if weights is None else np.concatenate([weights, np.ones(n_extra)])
