"""Step 2 of the tracing: shafts through junctions.

At each junction the segments are paired by direction continuity; paired
segments are one shaft (a chain), and a chain turning sharply is cut at the
corner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalpmetrics.params import TraceParams
from scalpmetrics.trace.primitives import _searchsorted_rows
from scalpmetrics.trace.skeleton import _Segment


@dataclass
class _Chain:
    """A shaft: segments joined through junctions, as one ordered centreline."""

    rc: np.ndarray  # (N, 2) row/col
    end_kinds: list[str]  # per end: 'free', 'node' (stops at a junction) or 'corner'
    width_hint_px: float
    node_ends: np.ndarray  # (N,) bool: point lies within a junction's reach
    end_nodes: list[int]  # junction id at each end, -1 when none
    passes: list[tuple[int, int]]  # (index into rc, junction id) crossed on the way


def _end_directions(rcs: list[np.ndarray], arcs: list[np.ndarray], widths: np.ndarray,
                    which: np.ndarray, from_start: np.ndarray,
                    params: TraceParams) -> np.ndarray:
    """Unit (drow, dcol) pointing from an end into its centreline, measured past
    a junction's distortion (from ``direction_skip_widths`` over
    ``direction_span_widths`` widths), for many ends at once.

    End ``i`` is the start (``from_start[i]``) or the end of centreline
    ``which[i]`` of width ``widths[which[i]]``. Returns (n, 2).
    """
    if which.size == 0:
        return np.zeros((0, 2))
    total = np.array([arc[-1] for arc in arcs])[which]
    size = np.array([len(rc) for rc in rcs], dtype=np.int64)[which]
    width = widths[which]
    a = np.minimum(params.direction_skip_widths * width, total / 3.0)
    b = np.minimum(a + params.direction_span_widths * width, total)
    ia = np.where(from_start, _searchsorted_rows(arcs, which, a),
                  _searchsorted_rows(arcs, which, total - a, "right") - 1)
    ib = np.where(from_start, _searchsorted_rows(arcs, which, b),
                  _searchsorted_rows(arcs, which, total - b, "right") - 1)
    offsets = np.concatenate([[0], np.cumsum([len(rc) for rc in rcs])[:-1]])[which]
    flat = np.concatenate(rcs)
    ia = offsets + np.clip(ia, 0, size - 1)
    ib = offsets + np.clip(ib, 0, size - 1)
    v = flat[ib] - flat[ia]
    first, last = flat[offsets], flat[offsets + size - 1]
    whole = np.where(from_start[:, None], last - first, first - last)
    v = np.where((v == 0).all(axis=1)[:, None], whole, v)
    n = np.hypot(v[:, 0], v[:, 1])
    return np.where(n[:, None] > 0, v / np.where(n > 0, n, 1.0)[:, None], 0.0)


def _pair_at_nodes(segments: list[_Segment], params: TraceParams) -> dict[tuple[int, int], tuple[int, int]]:
    """Pair segment ends at each junction by direction continuity."""
    by_node: dict[int, list[tuple[int, int]]] = {}
    for i, s in enumerate(segments):
        for e, nd in enumerate(s.nodes):
            if nd >= 0:
                by_node.setdefault(nd, []).append((i, e))
    cos_limit = np.cos(np.deg2rad(params.max_bend_deg))
    partner: dict[tuple[int, int], tuple[int, int]] = {}
    joined = [(i, e) for ends in by_node.values() if len(ends) >= 2 for i, e in ends]
    which = np.array([i for i, _ in joined], dtype=np.int64)
    away = _end_directions([s.rc for s in segments], [s.arc for s in segments],
                           np.array([s.width_px for s in segments]), which,
                           np.array([e == 0 for _, e in joined], dtype=bool), params)
    direction = dict(zip(joined, away))
    for ends in by_node.values():
        if len(ends) < 2:
            continue
        dirs = [direction[end] for end in ends]
        cands = []
        for a in range(len(ends)):
            for b in range(a + 1, len(ends)):
                if ends[a][0] == ends[b][0]:
                    continue
                straight = -float(dirs[a] @ dirs[b])
                if straight >= cos_limit:
                    cands.append((straight, a, b))
        used: set[int] = set()
        for _, a, b in sorted(cands, reverse=True):
            if a in used or b in used:
                continue
            used.update((a, b))
            partner[ends[a]] = ends[b]
            partner[ends[b]] = ends[a]
    return partner


def _near_node(segments: list[_Segment]) -> list[np.ndarray]:
    """For each segment, which of its points lie within a width (at least a
    pixel) of an end that is a junction, in the segment's own order."""
    sizes = np.array([len(s.rc) for s in segments], dtype=np.int64)
    if sizes.size == 0:
        return []
    flat = np.concatenate([s.rc for s in segments])
    owner = np.repeat(np.arange(len(segments)), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    reach = np.maximum(1.0, np.array([s.width_px for s in segments]))[owner]
    near = np.zeros(len(flat), dtype=bool)
    for e, at in ((0, starts), (1, starts + sizes - 1)):
        junction = np.array([s.nodes[e] >= 0 for s in segments], dtype=bool)[owner]
        near |= junction & (np.hypot(*(flat - flat[at][owner]).T) <= reach)
    return np.split(near, starts[1:])


def _build_chains(segments: list[_Segment], partner: dict[tuple[int, int], tuple[int, int]]
                  ) -> list[_Chain]:
    """Join paired segments into ordered centrelines."""
    visited = np.zeros(len(segments), dtype=bool)
    near_node = _near_node(segments)
    chains = []
    for first in range(len(segments)):
        if visited[first]:
            continue
        # Walk back from the start of `first` to the chain's beginning.
        seg, end = first, 0
        steps = 0
        while (seg, end) in partner and steps <= len(segments):
            nseg, nend = partner[(seg, end)]
            if nseg == first:
                break
            seg, end = nseg, 1 - nend
            steps += 1
        # `seg` is the first segment; its free side is `end`.
        parts, kinds_start = [], None
        widths = []
        node_flags = []
        passes: list[tuple[int, int]] = []
        n_points = 0
        start_node = end_node = -1
        cur, cur_start = seg, end
        while True:
            visited[cur] = True
            s = segments[cur]
            rc = s.rc if cur_start == 0 else s.rc[::-1]
            flags = near_node[cur] if cur_start == 0 else near_node[cur][::-1]
            if kinds_start is None:
                kinds_start = "free" if s.nodes[cur_start] < 0 else "node"
                start_node = s.nodes[cur_start]
            parts.append(rc)
            n_points += len(rc)
            node_flags.append(flags)
            widths.append((s.width_px, len(rc)))
            key = (cur, 1 - cur_start)
            if key not in partner:
                kind_end = "free" if s.nodes[1 - cur_start] < 0 else "node"
                end_node = s.nodes[1 - cur_start]
                break
            nseg, nend = partner[key]
            if visited[nseg]:
                kind_end = "node"
                end_node = s.nodes[1 - cur_start]
                break
            passes.append((n_points - 1, s.nodes[1 - cur_start]))
            cur, cur_start = nseg, nend
        rc = np.concatenate(parts)
        w = np.array(widths, dtype=float)
        chains.append(_Chain(
            rc=rc,
            end_kinds=[kinds_start or "free", kind_end],
            width_hint_px=float((w[:, 0] * w[:, 1]).sum() / w[:, 1].sum()),
            node_ends=np.concatenate(node_flags),
            end_nodes=[start_node, end_node],
            passes=passes,
        ))
    return chains


def _split_corners(chains: list[_Chain], arcs: list[np.ndarray],
                   params: TraceParams) -> list[_Chain]:
    """Cut each centreline where it turns by more than ``max_bend_deg`` within
    a couple of widths (two hairs leaving one opening in a V); ``arcs`` are
    their arc lengths. The pieces keep the chains' order."""
    spans = np.maximum(params.min_corner_span_px,
                       params.direction_span_widths * np.array([ch.width_hint_px for ch in chains]))
    which = np.flatnonzero(np.array([arc[-1] for arc in arcs]) >= 3 * spans)
    cos_limit = np.cos(np.deg2rad(params.max_bend_deg))
    sharpest: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if which.size:
        sizes = np.array([len(arcs[k]) for k in which], dtype=np.int64)
        owner = np.repeat(which, sizes)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        first = np.repeat(starts, sizes)
        last = np.repeat(starts + sizes - 1, sizes)
        arc = np.concatenate([arcs[k] for k in which])
        rc = np.concatenate([chains[k].rc for k in which])
        span = spans[owner]
        i_back = first + _searchsorted_rows(arcs, owner, arc - span)
        i_fwd = np.minimum(first + _searchsorted_rows(arcs, owner, arc + span), last)
        valid = (arc >= span) & (arc <= arc[last] - span)
        v1 = rc - rc[i_back]
        v2 = rc[i_fwd] - rc
        n1, n2 = np.hypot(*v1.T), np.hypot(*v2.T)
        cosang = np.einsum("ij,ij->i", v1, v2) / np.maximum(n1 * n2, 1e-9)
        sharp = valid & (cosang < cos_limit)
        for k in np.unique(owner[sharp]):
            i = int(np.searchsorted(which, k))
            part = slice(starts[i], starts[i] + sizes[i])
            sharpest[int(k)] = (sharp[part], cosang[part])
    out = []
    for k, chain in enumerate(chains):
        if k in sharpest:
            out += _cut_at(chain, *sharpest[k])
        else:
            out.append(chain)
    return out


def _cut_at(chain: _Chain, sharp: np.ndarray, cosang: np.ndarray) -> list[_Chain]:
    """Cut a chain once per run of ``sharp`` points, at its sharpest point
    (smallest ``cosang``)."""
    rc = chain.rc
    cuts = []
    idx = np.nonzero(sharp)[0]
    groups = np.split(idx, np.nonzero(np.diff(idx) > 1)[0] + 1)
    for g in groups:
        cuts.append(int(g[np.argmin(cosang[g])]))
    out = []
    bounds = [0, *cuts, len(rc) - 1]
    for k in range(len(bounds) - 1):
        a, b = bounds[k], bounds[k + 1]
        kinds = [chain.end_kinds[0] if k == 0 else "corner",
                 chain.end_kinds[1] if k == len(bounds) - 2 else "corner"]
        out.append(_Chain(
            rc=rc[a:b + 1], end_kinds=kinds, width_hint_px=chain.width_hint_px,
            node_ends=chain.node_ends[a:b + 1],
            end_nodes=[chain.end_nodes[0] if k == 0 else -1,
                       chain.end_nodes[1] if k == len(bounds) - 2 else -1],
            passes=[(i - a, nd) for i, nd in chain.passes if a <= i <= b],
        ))
    return out


def _is_loop(chain: _Chain) -> bool:
    """A chain whose two ends are the same junction."""
    return chain.end_nodes[0] >= 0 and chain.end_nodes[0] == chain.end_nodes[1]
