"""Individual hair shafts from a hair mask.

Method (details in ``docs/methods.md``):

1. **Skeleton graph.** The mask is thinned to a one-pixel centreline; pixels
   with three or more branches are junctions. Junctions closer than a shaft
   width are merged (a crossing of two wide shafts thins to two nearby
   junctions), short spurs are pruned, and the rest is cut into ordered
   segments between ends and junctions.
2. **Shafts through junctions.** At each junction the segments are paired by
   direction continuity (the straightest continuation first, bends up to
   ``max_bend_deg``); paired segments are one shaft, unpaired ones end there
   (a hair leaving a follicular unit, or touching another). Chains of paired
   segments are the shafts.
3. **Width.** The hair-coverage map (the mask itself unless one is given)
   is integrated across the shaft on perpendicular profiles every
   ``width_sample_step_px``, away from junctions; the shaft's width is the
   median of those integrals, leaving out those wider than
   ``width_outlier_ratio`` times it (a neighbour lying alongside).
4. **Ends.** An end is *cut by the border* when it lies within a shaft
   width of the image edge. Of the two ends, the emergence end is chosen by
   the rule in :func:`_emergence`; a shaft is counted when its
   emergence point is a true end inside the image (``counted``).
5. **Follicular units.** Emergence points closer than
   ``follicular_unit_radius_um`` are grouped (single linkage).
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from skimage.morphology import skeletonize

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.normalize import luminance
from scalpmetrics.params import TraceParams
from scalpmetrics.segment import skin_peak
from scalpmetrics.types import Hair

__all__ = ["trace_hairs", "trace_hairs_with_fraction"]

# Ring order of the 8 neighbours: N, NE, E, SE, S, SW, W, NW as (drow, dcol).
_RING = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def _ring_lut() -> np.ndarray:
    """Number of 0->1 transitions around the ring for each 8-bit neighbour code."""
    lut = np.zeros(256, dtype=np.uint8)
    for code in range(256):
        bits = [(code >> k) & 1 for k in range(8)]
        lut[code] = sum(1 for k in range(8) if bits[k] == 0 and bits[(k + 1) % 8] == 1)
    return lut


_TRANSITIONS = _ring_lut()
_CODE_KERNEL = np.zeros((3, 3), dtype=np.float32)
for _k, (_dr, _dc) in enumerate(_RING):
    _CODE_KERNEL[1 + _dr, 1 + _dc] = float(1 << _k)


@dataclass
class _Segment:
    """An ordered run of skeleton pixels between two graph nodes."""

    rc: np.ndarray  # (N, 2) float, row/col along the centreline
    nodes: list[int]  # node id at [start, end]; -1 = free end
    width_px: float  # local width from the distance transform
    arc: np.ndarray  # (N,) cumulative arc length, see _arc_lengths


def _neighbour_code(skel_u8: np.ndarray) -> np.ndarray:
    code = cv2.filter2D(skel_u8.astype(np.float32), -1, _CODE_KERNEL,
                        borderType=cv2.BORDER_CONSTANT)
    return code.astype(np.uint8)


def _order_segments(seg_mask: np.ndarray) -> list[np.ndarray]:
    """Pixels of each 8-connected run of ``seg_mask``, ordered along the run."""
    rows, cols = np.nonzero(seg_mask)
    n = rows.size
    if n == 0:
        return []
    index = np.full(seg_mask.shape, -1, dtype=np.int64)
    index[rows, cols] = np.arange(n)
    h, w = seg_mask.shape
    src, dst, wts = [], [], []
    padded = np.pad(seg_mask, 1)
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        r2, c2 = rows + dr, cols + dc
        ok = (r2 >= 0) & (r2 < h) & (c2 >= 0) & (c2 < w)
        ok[ok] = seg_mask[r2[ok], c2[ok]]
        if dr and dc:
            # Skip a diagonal link when a 4-connected detour exists (staircase).
            corner = padded[rows + 1 + dr, cols + 1] | padded[rows + 1, cols + 1 + dc]
            ok &= ~corner
        src.append(np.nonzero(ok)[0])
        dst.append(index[r2[ok], c2[ok]])
        wts.append(np.full(int(ok.sum()), np.hypot(dr, dc)))
    s, d, wt = np.concatenate(src), np.concatenate(dst), np.concatenate(wts)
    degree = np.bincount(s, minlength=n) + np.bincount(d, minlength=n)
    _, labels = cv2.connectedComponents(seg_mask.astype(np.uint8), connectivity=8)
    lab = labels[rows, cols]
    nlab = int(lab.max())
    # One start per run: its lowest-index end pixel (degree <= 1), else any pixel.
    is_end = degree <= 1
    start = np.full(nlab + 1, -1, dtype=np.int64)
    ends_idx = np.nonzero(is_end)[0][::-1]
    start[lab[ends_idx]] = ends_idx
    loops = np.nonzero(start[1:] < 0)[0] + 1
    if loops.size:
        first = np.full(nlab + 1, -1, dtype=np.int64)
        all_idx = np.arange(n)[::-1]
        first[lab[all_idx]] = all_idx
        start[loops] = first[loops]
        # Open each loop by dropping the links of its start pixel but one.
        loop_starts = set(first[loops].tolist())
        keep = np.ones(s.size, dtype=bool)
        seen: set[int] = set()
        for e in np.nonzero(np.isin(s, list(loop_starts)) | np.isin(d, list(loop_starts)))[0]:
            node = int(s[e]) if int(s[e]) in loop_starts else int(d[e])
            if node in seen:
                keep[e] = False
            seen.add(node)
        s, d, wt = s[keep], d[keep], wt[keep]
    graph = sparse.coo_matrix((wt, (s, d)), shape=(n, n)).tocsr()
    starts = start[1:]
    dist = csgraph.dijkstra(graph, directed=False, indices=starts, min_only=True)
    dist[~np.isfinite(dist)] = 0.0
    order = np.lexsort((dist, lab))
    bounds = np.searchsorted(lab[order], np.arange(1, nlab + 2))
    ordered = np.stack([rows[order], cols[order]], axis=1).astype(np.float64)
    return [ordered[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _arc_lengths(chains: list[np.ndarray], chunk: int = 64) -> list[np.ndarray]:
    """Cumulative arc length along each ordered pixel chain, staircases smoothed
    (moving average over 5 points, fewer on shorter chains, the ends repeated).

    Chains of one smoothing length are stacked (sorted by length, ``chunk``
    at a time, padded with their last point); every sum runs along each chain
    as it would for the chain alone, so the result does not depend on the
    other chains.
    """
    out: list[np.ndarray] = [np.zeros(0)] * len(chains)
    sizes = np.array([len(rc) for rc in chains], dtype=np.int64)
    for i in np.nonzero(sizes < 2)[0]:
        out[i] = np.zeros(sizes[i])
    for k in (2, 3, 4, 5):
        group = np.nonzero((np.minimum(5, sizes) == k) & (sizes >= 2))[0]
        group = group[np.argsort(sizes[group], kind="stable")]
        for start in range(0, group.size, chunk):
            part = group[start:start + chunk]
            for i, arc in zip(part, _stacked_arc_lengths([chains[i] for i in part], k)):
                out[i] = arc
    return out


def _stacked_arc_lengths(chains: list[np.ndarray], k: int) -> list[np.ndarray]:
    """:func:`_arc_lengths` of chains of at least ``k`` points (moving average over ``k``)."""
    h = k // 2
    sizes = np.array([len(rc) for rc in chains], dtype=np.int64)
    longest = int(sizes.max())
    flat = np.concatenate(chains)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # Each row: the first point h times, the chain, then its last point repeated.
    pick = np.clip(np.arange(longest + 2 * h)[None, :] - h, 0, (sizes - 1)[:, None])
    padded = flat[pick + offsets[:, None]]
    run = np.concatenate([np.zeros((len(chains), 1, 2)), np.cumsum(padded, axis=1, dtype=np.float64)],
                         axis=1)
    sm = ((run[:, k:] - run[:, :-k]) / k)[:, :longest]
    d = np.diff(sm, axis=1)
    arcs = np.zeros((len(chains), longest))
    arcs[:, 1:] = np.cumsum(np.hypot(d[..., 0], d[..., 1]), axis=1)
    return [arcs[i, :n] for i, n in enumerate(sizes)]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _skeleton_graph(skel: np.ndarray, dist: np.ndarray,
                    params: TraceParams) -> tuple[list[_Segment], np.ndarray]:
    """Segments of the mask's skeleton ``skel`` (bool) and the junction-node
    label map; ``dist`` is the mask's distance transform."""
    skel_u8 = skel.astype(np.uint8)
    code = _neighbour_code(skel_u8)
    junction = skel & (_TRANSITIONS[code] >= 3)
    # Junction zone: junction pixels and their skeleton neighbours.
    zone = cv2.dilate(junction.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & skel
    n_nodes, node_map = cv2.connectedComponents(zone.astype(np.uint8), connectivity=8)
    runs = _order_segments(skel & ~zone)
    if not runs:
        return [], node_map
    ends = np.array([rc[[0, -1]] for rc in runs]).astype(np.int64)  # (n, 2 ends, 2)
    # The junction each end touches: the largest node label in its 3 x 3 neighbourhood.
    padded = np.pad(node_map, 1)
    touch = np.max([padded[ends[..., 0] + 1 + dr, ends[..., 1] + 1 + dc]
                    for dr in (-1, 0, 1) for dc in (-1, 0, 1)], axis=0)
    nodes = (touch.astype(np.int64) - 1).tolist()
    widths = 2.0 * _run_medians(runs, dist).astype(np.float64)
    return [
        _Segment(rc=rc, nodes=nd, width_px=max(float(wd), 1.0), arc=arc)
        for rc, nd, wd, arc in zip(runs, nodes, widths, _arc_lengths(runs))
    ], node_map


def _run_medians(runs: list[np.ndarray], plane: np.ndarray) -> np.ndarray:
    """``np.median`` of a float32 ``plane`` under each run's pixels, to the same bits."""
    sizes = np.array([len(rc) for rc in runs], dtype=np.int64)
    rc = np.concatenate(runs).astype(int)
    owner = np.repeat(np.arange(len(runs)), sizes)
    return _group_medians(owner, plane[rc[:, 0], rc[:, 1]], len(runs))[0]


def _group_medians(owner: np.ndarray, values: np.ndarray,
                   n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """``np.median`` of each group's ``values`` (groups ``0..n-1``, none empty),
    to the same bits (the mean of the two middle values, in the values' type),
    and each group's values in increasing order."""
    ordered = values[np.lexsort((values, owner))]
    counts = np.bincount(owner, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    middle = ordered[starts + (counts - 1) // 2] + ordered[starts + counts // 2]
    medians = middle / ordered.dtype.type(2)
    return medians, np.split(ordered, starts[1:])


def _simplify(segments: list[_Segment], n_nodes: int, node_xy: np.ndarray,
              params: TraceParams) -> list[_Segment]:
    """Merge junctions joined by short bridges; prune short spurs (repeatedly)."""
    for _ in range(params.simplify_rounds):
        uf = _UnionFind(n_nodes)
        keep = []
        changed = False
        degree = np.zeros(n_nodes, dtype=int)
        for s in segments:
            for nd in s.nodes:
                if nd >= 0:
                    degree[nd] += 1
        for s in segments:
            length = s.arc[-1] + 1.0
            a, b = s.nodes
            if a >= 0 and b >= 0 and length < params.bridge_merge_widths * s.width_px:
                uf.union(a, b)
                changed = True
                continue
            free = (a < 0) != (b < 0)
            node = a if a >= 0 else b
            if free and degree[node] >= 3 and length < params.spur_prune_widths * s.width_px:
                degree[node] -= 1
                changed = True
                continue
            keep.append(s)
        for s in keep:
            s.nodes = [uf.find(nd) if nd >= 0 else -1 for nd in s.nodes]
        segments = keep
        if not changed:
            break
    # A junction left with a single branch is no junction: that end is free.
    degree = np.zeros(n_nodes, dtype=int)
    for s in segments:
        for nd in s.nodes:
            if nd >= 0:
                degree[nd] += 1
    for s in segments:
        s.nodes = [nd if nd >= 0 and degree[nd] >= 2 else -1 for nd in s.nodes]
    return segments


@dataclass
class _Chain:
    """A shaft: segments joined through junctions, as one ordered centreline."""

    rc: np.ndarray  # (N, 2) row/col
    end_kinds: list[str]  # per end: 'free', 'node' (stops at a junction) or 'corner'
    width_hint_px: float
    node_ends: np.ndarray  # (N,) bool: point lies within a junction's reach
    end_nodes: list[int]  # junction id at each end, -1 when none
    passes: list[tuple[int, int]]  # (index into rc, junction id) crossed on the way


def _searchsorted_rows(rows: list[np.ndarray], which: np.ndarray, values: np.ndarray,
                       side: str = "left") -> np.ndarray:
    """``np.searchsorted(rows[which[i]], values[i], side)`` for every ``i`` in one call.

    The sorted rows are joined as complex numbers ``row + 1j * value``, which
    NumPy orders by row first, then by value.
    """
    sizes = np.array([len(r) for r in rows], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    keys = np.repeat(np.arange(len(rows), dtype=np.float64), sizes) + 1j * np.concatenate(rows)
    return np.searchsorted(keys, which + 1j * values, side=side) - offsets[which]


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


def _build_chains(segments: list[_Segment], partner: dict[tuple[int, int], tuple[int, int]]
                  ) -> list[_Chain]:
    """Join paired segments into ordered centrelines."""
    visited = np.zeros(len(segments), dtype=bool)
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
            flags = np.zeros(len(rc), dtype=bool)
            reach = max(1.0, s.width_px)
            for side, nd in ((0, s.nodes[cur_start]), (1, s.nodes[1 - cur_start])):
                if nd >= 0:
                    d = np.hypot(*(rc - rc[0 if side == 0 else -1]).T)
                    flags |= d <= reach
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
            width_hint_px=float(np.average(w[:, 0], weights=w[:, 1])),
            node_ends=np.concatenate(node_flags),
            end_nodes=[start_node, end_node],
            passes=passes,
        ))
    return chains


def _split_corners(chain: _Chain, arc: np.ndarray, params: TraceParams) -> list[_Chain]:
    """Cut a centreline where it turns by more than ``max_bend_deg`` within
    a couple of widths (two hairs leaving one opening in a V)."""
    rc = chain.rc
    span = max(params.min_corner_span_px, params.direction_span_widths * chain.width_hint_px)
    if arc[-1] < 3 * span:
        return [chain]
    i_back = np.searchsorted(arc, arc - span)
    i_fwd = np.clip(np.searchsorted(arc, arc + span), 0, len(rc) - 1)
    valid = (arc >= span) & (arc <= arc[-1] - span)
    v1 = rc - rc[i_back]
    v2 = rc[i_fwd] - rc
    n1, n2 = np.hypot(*v1.T), np.hypot(*v2.T)
    cosang = np.einsum("ij,ij->i", v1, v2) / np.maximum(n1 * n2, 1e-9)
    sharp = valid & (cosang < np.cos(np.deg2rad(params.max_bend_deg)))
    if not sharp.any():
        return [chain]
    # One cut per run of sharp points, at its sharpest point.
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


def _sample(plane: np.ndarray, rows: np.ndarray, cols: np.ndarray, *, nearest: bool = False,
            outside: float = 0.0) -> np.ndarray:
    """Values of ``plane`` at sub-pixel (row, col) points of any shape."""
    shape = rows.shape
    n = rows.size
    width = 4096
    # The points as float32 maps of rows of ``width``, the last one padded with zeros.
    maps = np.zeros((2, n + (-n) % width), dtype=np.float32)
    maps[0, :n] = rows.reshape(-1)
    maps[1, :n] = cols.reshape(-1)
    r, c = maps
    out = cv2.remap(plane, c.reshape(-1, width), r.reshape(-1, width),
                    cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=outside)
    return out.reshape(-1)[:n].reshape(shape)


def _sample_points(chains: list[_Chain], arcs: list[np.ndarray], shape: tuple[int, int],
                   params: TraceParams) -> tuple[np.ndarray, np.ndarray]:
    """Where the width profiles of every centreline are taken: every
    ``width_sample_step_px`` along it, away from its ends, junctions and the
    image border (everywhere when nothing is left).

    Returns
    -------
    owner : ndarray of int, shape (n,)
        The centreline of each profile, in order.
    index : ndarray of int, shape (n,)
        Its point, an index into the joined centrelines.
    """
    h, w = shape
    sizes = np.array([len(ch.rc) for ch in chains], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    total = np.array([arc[-1] for arc in arcs])
    wid = np.array([ch.width_hint_px for ch in chains])
    # np.arange(0, total + 1e-9, step) of each centreline.
    n_pos = np.ceil((total + 1e-9) / params.width_sample_step_px).astype(np.int64)
    owner = np.repeat(np.arange(len(chains)), n_pos)
    pos = (np.arange(owner.size) - np.repeat(np.cumsum(n_pos) - n_pos, n_pos)) * params.width_sample_step_px
    idx = starts[owner] + np.clip(_searchsorted_rows(arcs, owner, pos), 0, sizes[owner] - 1)
    arc = np.concatenate(arcs)[idx]
    rc = np.concatenate([ch.rc for ch in chains])[idx]
    near_node = np.concatenate([ch.node_ends for ch in chains])[idx]
    margin = params.end_exclusion_widths * wid[owner]
    wo = wid[owner]
    ok = (arc >= margin) & (arc <= total[owner] - margin) & ~near_node
    ok &= (rc[:, 0] >= wo) & (rc[:, 0] < h - wo) & (rc[:, 1] >= wo) & (rc[:, 1] < w - wo)
    ok |= (np.bincount(owner, weights=ok, minlength=len(chains)) == 0)[owner]
    return owner[ok], idx[ok]


def _tangents(chains: list[_Chain], arcs: list[np.ndarray], owner: np.ndarray,
              index: np.ndarray) -> np.ndarray:
    """Unit tangents (drow, dcol) at points ``index`` of the joined centrelines
    (of centrelines ``owner``), over a span of two widths (at least 3 px)."""
    sizes = np.array([len(ch.rc) for ch in chains], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    span = np.maximum(3.0, 2 * np.array([ch.width_hint_px for ch in chains]))[owner]
    arc = np.concatenate(arcs)[index]
    i0 = starts[owner] + _searchsorted_rows(arcs, owner, arc - span / 2)
    i1 = starts[owner] + np.clip(_searchsorted_rows(arcs, owner, arc + span / 2), 0,
                                 sizes[owner] - 1)
    rc = np.concatenate([ch.rc for ch in chains])
    v = rc[i1] - rc[i0]
    n = np.hypot(v[:, 0], v[:, 1])[:, None]
    return np.where(n > 0, v / np.maximum(n, 1e-9), np.array([[1.0, 0.0]]))


def _profile_widths(chains: list[_Chain], arcs: list[np.ndarray], fraction: np.ndarray,
                    shape: tuple[int, int],
                    params: TraceParams) -> tuple[np.ndarray, list[np.ndarray]]:
    """Integrated hair fraction across each centreline (px).

    Returns
    -------
    widths : ndarray, shape (n_chains,)
        The median of each centreline's profiles, those wider than
        ``width_outlier_ratio`` times that median left out (a neighbour
        lying alongside, a crossing).
    profiles : list of ndarray
        Each centreline's profile integrals, in increasing order.
    """
    owner, index = _sample_points(chains, arcs, shape, params)
    centre = np.concatenate([ch.rc for ch in chains])[index]
    t = _tangents(chains, arcs, owner, index)
    normal = np.stack([-t[:, 1], t[:, 0]], axis=1)
    reach = params.profile_reach_widths * max(ch.width_hint_px for ch in chains) + 2.0
    # Symmetric about the centreline: the middle sample lies on it.
    half = int(np.ceil(reach / params.profile_step_px))
    offsets = np.arange(-half, half + 1) * params.profile_step_px
    rows = offsets[None, :] * normal[:, :1]
    rows += centre[:, :1]
    cols = offsets[None, :] * normal[:, 1:]
    cols += centre[:, 1:]
    prof = _sample(fraction, rows, cols)
    mid = len(offsets) // 2
    total = np.zeros(len(centre))
    for side in (prof[:, mid:], prof[:, mid::-1]):
        runmin = np.minimum.accumulate(side, axis=1)
        ok = (side > params.profile_stop_fraction) & (side - runmin <= params.profile_rise_fraction)
        ok = np.logical_and.accumulate(ok, axis=1)
        total += (side * ok).sum(axis=1) * params.profile_step_px
    total -= prof[:, mid] * params.profile_step_px  # centre counted twice
    # Every centreline has a profile (see _sample_points).
    medians, profiles = _group_medians(owner, total, len(chains))
    if params.width_outlier_ratio > 0:
        medians = np.array([_median_up_to(p, params.width_outlier_ratio * m)
                            for p, m in zip(profiles, medians)])
    return medians, profiles


def _median_up_to(ordered: np.ndarray, limit: float) -> float:
    """The median of the values of ``ordered`` (increasing) up to ``limit``
    (at least the median of them all, so that one value is)."""
    k = int(np.searchsorted(ordered, limit, side="right"))
    return float(ordered[(k - 1) // 2] + ordered[k // 2]) / 2.0


def _at_border(xy_rc: np.ndarray, shape: tuple[int, int], margin: float) -> bool:
    r, c = xy_rc
    return bool(r < margin or c < margin or r > shape[0] - 1 - margin or c > shape[1] - 1 - margin)


def _darkness(image: np.ndarray) -> np.ndarray:
    """Log luminance below the skin's (positive = darker than skin)."""
    lum = cv2.log(luminance(image) + np.float32(1.0 / 255.0))
    step = max(1, lum.size // 200_000)
    centre, _ = skin_peak(lum.reshape(-1)[::step])
    return np.float32(centre) - lum


def _end_cues(chains: list[_Chain], arcs: list[np.ndarray], darkness: np.ndarray,
              mask: np.ndarray, um_per_px: float, params: TraceParams) -> np.ndarray:
    """How much darker the skin just beyond each end is than the skin beside
    the shaft near that end, (n, 2) in log luminance.

    A hair leaves the skin through a follicular opening (a darker dot) with
    its subsurface part showing as a dark shadow behind it; a cut tip or a
    free end has plain skin beyond it. Hair pixels are left out; NaN when no
    skin pixel beyond the end is sampled.
    """
    n_along, n_across = params.cue_samples_along, 3
    n = len(chains)
    w = np.array([ch.width_hint_px for ch in chains])
    reach = np.maximum(params.cue_length_um / um_per_px, 2.0 * w)
    along = np.linspace(w, w + reach, n_along, axis=1)[:, :, None, None]
    across = np.linspace(-0.5 * w, 0.5 * w, n_across, axis=1)[:, None, :, None]
    beside_along = -np.linspace(0.5 * w, 0.5 * w + reach, n_along, axis=1)[:, :, None, None]
    beside_across = (np.array([-1.0, 1.0, 1.5]) * params.cue_side_widths)[None, :] * w[:, None]
    beside_across[:, 2] = -beside_across[:, 2]
    beside_across = beside_across[:, None, :, None]
    pts = np.zeros((n, 2, 2 * n_along * n_across, 2))
    for e in (0, 1):
        which = np.arange(n)
        out = -_end_directions([ch.rc for ch in chains], arcs, w, which,
                               np.full(n, e == 0), params)[:, None, None, :]
        normal = np.stack([-out[..., 1], out[..., 0]], axis=-1)
        p0 = np.array([ch.rc[0 if e == 0 else -1] for ch in chains])[:, None, None, :]
        ahead = p0 + along * out + across * normal
        beside = p0 + beside_along * out + beside_across * normal
        pts[:, e] = np.concatenate([ahead.reshape(n, -1, 2), beside.reshape(n, -1, 2)], axis=1)
    flat = pts.reshape(-1, 2)
    val = _sample(darkness, flat[:, 0], flat[:, 1], outside=np.nan)
    hair = _sample(mask.astype(np.uint8), flat[:, 0], flat[:, 1], nearest=True, outside=1)
    val = np.where(np.isfinite(val) & (hair == 0), val, np.nan).reshape(len(chains), 2, 2, -1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ahead = np.nanmean(val[:, :, 0], axis=2)
        beside = np.nanmedian(val[:, :, 1], axis=2)
    return ahead - np.where(np.isfinite(beside), beside, 0.0)


def _emergence(chains: list[_Chain], arcs: list[np.ndarray], cues: np.ndarray,
               shape: tuple[int, int],
               um_per_px: float, params: TraceParams) -> list[tuple[int, bool, np.ndarray]]:
    """For each shaft: the end it emerges from, whether it counts, and its emergence point.

    The emergence end is chosen by evidence at the ends and by the hair
    stream. At each end, the skin beyond it is compared with the skin beside
    the shaft (:func:`_end_cues`): a follicular opening and the subsurface
    shadow make it darker. Neighbouring hairs leave the skin in nearly the
    same direction, so each shaft's end-to-end evidence is added to the
    (Gaussian-weighted, ``flow_radius_um``) mean evidence of its neighbours,
    projected on its own direction, with weight ``flow_weight``.

    The shaft counts when its emergence end lies inside the image (not cut
    by the border) and is

    * a free end, or a junction where shafts only end (several hairs leaving
      one opening), or a junction within ``fork_reach_um`` (along a shaft) of
      a counted free emergence end: a hair of a follicular unit leaving the
      group where the shafts separate, or a junction with another shaft when
      this one ends in a free tip inside the image (a hair emerging against a
      neighbour that lies over its opening); unless the shaft is a loose cut
      hair (below), or
    * the apex of a sharp V (two hairs leaving one opening) whose other end
      is a free tip inside the image, or where the skin beyond the apex is
      at least ``apex_cue_log`` darker than beside the shaft (the opening
      seen), or which lies within ``fork_reach_um`` of a counted free
      emergence end, or
    * a branch parting from a counted hair of the same opening
      (:func:`_forks`); its emergence point is that hair's.

    Otherwise it crosses the field, emerges outside it, or continues a shaft
    counted elsewhere, and does not count. A loose cut hair lying on the
    skin, or a piece of one cut by the hairs it lies on, is a shaft with a
    free end, both ends inside the image, no V apex and no opening darker
    than ``loose_cue_log`` at either end, that lies across the local hair
    stream (:func:`_across_stream`).
    """
    n = len(chains)
    known = np.isfinite(cues).all(axis=1)
    cue = np.where(np.isfinite(cues), cues, 0.0)
    own = np.where(known, cue[:, 0] - cue[:, 1], 0.0)
    ends = np.array([[ch.rc[0], ch.rc[-1]] for ch in chains])  # (n, 2, 2) row/col
    chord = ends[:, 1] - ends[:, 0]
    chord /= np.maximum(np.hypot(chord[:, 0], chord[:, 1]), 1e-9)[:, None]
    # Evidence that end 0 is the emergence, as a vector pointing from root to tip.
    evidence = own[:, None] * chord
    centres = ends.mean(axis=1)
    tree = cKDTree(centres)
    flow = np.zeros_like(evidence)
    radius = params.flow_radius_um / um_per_px
    if n > 1 and radius > 0:
        for k, near in enumerate(tree.query_ball_point(centres, 2.0 * radius)):
            d2 = np.sum((centres[near] - centres[k]) ** 2, axis=1)
            wts = np.exp(-0.5 * d2 / radius**2)
            flow[k] = (wts[:, None] * evidence[near]).sum(axis=0) / wts.sum()
    score = own + params.flow_weight * np.einsum("ij,ij->i", flow, chord)
    border = []
    for ch in chains:
        margin = params.border_margin_widths * ch.width_hint_px + 1.0
        border.append([_at_border(ch.rc[0], shape, margin), _at_border(ch.rc[-1], shape, margin)])
    choice = [0 if score[k] >= 0 else 1 for k in range(n)]
    # Junctions some shaft passes straight through (crossings, not shared openings).
    # A loop (a chain leaving and re-entering one junction round a hole in the
    # mask) crosses nothing.
    crossed = {nd for ch in chains if not _is_loop(ch) for _, nd in ch.passes}
    reach = params.fork_reach_um / um_per_px
    # A free end, no V apex, both ends inside the image and no opening seen:
    # maybe a loose cut hair (or a piece of one cut by the hairs it lies on).
    may_be_loose = np.array(["free" in ch.end_kinds and "corner" not in ch.end_kinds
                             and not any(border[k]) and max(cue[k]) < params.loose_cue_log
                             for k, ch in enumerate(chains)], dtype=bool)
    loose = may_be_loose & _across_stream(ends, tree, may_be_loose, um_per_px, params)
    open_nodes: set[int] = set()
    free_counted = []
    for k, ch in enumerate(chains):
        e = choice[k]
        ok = ch.end_kinds[e] == "free" and not border[k][e] and not loose[k]
        free_counted.append(ok)
        if not ok:
            continue
        arc = arcs[k]
        for i, nd in ch.passes:
            if (arc[i] if e == 0 else arc[-1] - arc[i]) <= reach:
                open_nodes.add(nd)
        far = ch.end_nodes[1 - e]
        if far >= 0 and arc[-1] <= reach:
            open_nodes.add(far)
    # A V apex counts when an opening seen directly lies within reach of it.
    seen_xy = np.array([chains[k].rc[0 if choice[k] == 0 else -1]
                        for k in range(n) if free_counted[k]]).reshape(-1, 2)
    near_open = [False] * n
    for k, ch in enumerate(chains):
        e = choice[k]
        if ch.end_kinds[e] != "corner":
            continue
        tip_free = ch.end_kinds[1 - e] == "free" and not border[k][1 - e]
        p = ch.rc[0 if e == 0 else -1]
        opening = bool(np.isfinite(cues[k][e]) and cues[k][e] >= params.apex_cue_log)
        near_open[k] = tip_free or opening or (len(seen_xy) > 0
                                    and bool(np.min(np.hypot(*(seen_xy - p).T)) <= reach))
    forks = _forks(chains, arcs, choice, free_counted, border, um_per_px, params)
    out = []
    for k, ch in enumerate(chains):
        if k in forks:
            e, root = forks[k]
            out.append((e, True, root))
            continue
        e = choice[k]
        kind = ch.end_kinds[e]
        if border[k][e] or _is_loop(ch):
            counted = False
        elif kind == "free":
            counted = free_counted[k]
        elif kind == "node":
            nd = ch.end_nodes[e]
            tip_free = ch.end_kinds[1 - e] == "free" and not border[k][1 - e]
            counted = (nd in open_nodes or nd not in crossed or tip_free) and not loose[k]
        else:
            counted = near_open[k]
        out.append((e, counted, ch.rc[0 if e == 0 else -1]))
    return out


def _across_stream(ends: np.ndarray, tree: cKDTree, which: np.ndarray, um_per_px: float,
                   params: TraceParams) -> np.ndarray:
    """Whether each shaft ``which`` selects lies across the local hair stream.

    Hairs of one patch of scalp leave the skin in nearly the same direction;
    a cut hair lying loose on the skin points anywhere. The stream at a shaft
    is the mean orientation (on the doubled-angle circle, so direction signs
    do not matter) of every other shaft, weighted by its end-to-end length
    and a Gaussian of ``stream_radius_um``. A shaft lies across it when the
    stream is known (at least ``stream_min_shafts`` other shafts within two
    radii) and coherent (mean resultant at least ``loose_min_coherence``),
    and the shaft turns away from it by more than ``loose_min_angle_deg``.

    Parameters
    ----------
    ends : ndarray, shape (N, 2, 2)
        The (row, col) of both ends of every shaft.
    tree : scipy.spatial.cKDTree
        Of the shafts' centres (the mean of their two ends).
    which : ndarray of bool, shape (N,)
        The shafts to judge; the others are ``False``.
    um_per_px : float
        Pixel size.
    params : TraceParams
        Tracing parameters.

    Returns
    -------
    ndarray of bool, shape (N,)
    """
    out = np.zeros(len(ends), dtype=bool)
    if not which.any():
        return out
    chord = ends[:, 1] - ends[:, 0]
    length = np.hypot(chord[:, 0], chord[:, 1])
    doubled = 2.0 * np.arctan2(chord[:, 0], chord[:, 1])
    unit = np.stack([np.cos(doubled), np.sin(doubled)], axis=1)
    centres = tree.data
    sigma = params.stream_radius_um / um_per_px
    cos_max = np.cos(np.radians(2.0 * params.loose_min_angle_deg))
    for k in np.flatnonzero(which):
        near = np.array([j for j in tree.query_ball_point(centres[k], 3.0 * sigma) if j != k],
                        dtype=np.int64)
        d2 = np.sum((centres[near] - centres[k]) ** 2, axis=1)
        if np.count_nonzero(d2 <= 4.0 * sigma**2) < params.stream_min_shafts:
            continue
        wts = length[near] * np.exp(-0.5 * d2 / sigma**2)
        total = wts.sum()
        if total <= 0:
            continue
        mean = (wts[:, None] * unit[near]).sum(axis=0) / total
        resultant = float(np.hypot(*mean))
        if resultant < params.loose_min_coherence:
            continue
        # cos of the doubled angle between the shaft and the stream.
        out[k] = float(unit[k] @ mean) / resultant < cos_max
    return out


def _is_loop(chain: _Chain) -> bool:
    """A chain whose two ends are the same junction."""
    return chain.end_nodes[0] >= 0 and chain.end_nodes[0] == chain.end_nodes[1]


def _forks(chains: list[_Chain], arcs: list[np.ndarray], choice: list[int],
           free_counted: list[bool],
           border: list[list[bool]], um_per_px: float, params: TraceParams
           ) -> dict[int, tuple[int, np.ndarray]]:
    """Shafts that part from a counted hair: hairs of one opening that ran merged.

    Hairs of a follicular unit leave one opening side by side and part a
    little further on, so the mask shows one trunk that forks. The trunk
    and the straightest branch are traced as one shaft (counted at its free
    emergence end); every other branch ends at a junction on it. A shaft
    whose one end is such a junction, no further than ``fork_trunk_max_um``
    along the counted shaft from its emergence, whose other end is a free
    tip inside the image, and which leaves the junction within
    ``fork_max_angle_deg`` of the counted shaft's onward direction is a
    hair of the same opening.

    Returns
    -------
    dict
        For each such shaft: its end at the junction (0 or 1) and the
        emergence point it shares (row, col).
    """
    ending: dict[int, list[tuple[int, int]]] = {}
    for k, ch in enumerate(chains):
        for j in (0, 1):
            if ch.end_kinds[j] == "node" and ch.end_kinds[1 - j] == "free" and not border[k][1 - j]:
                ending.setdefault(ch.end_nodes[j], []).append((k, j))
    ends = [end for group in ending.values() for end in group]
    directions = _end_directions([ch.rc for ch in chains], arcs,
                                 np.array([ch.width_hint_px for ch in chains]),
                                 np.array([k for k, _ in ends], dtype=np.int64),
                                 np.array([j == 0 for _, j in ends], dtype=bool), params)
    away = dict(zip(ends, directions))
    cos_max = np.cos(np.radians(params.fork_max_angle_deg))
    reach = params.fork_trunk_max_um / um_per_px
    out: dict[int, tuple[int, np.ndarray]] = {}
    for c, ch in enumerate(chains):
        if not free_counted[c]:
            continue
        e = choice[c]
        arc = arcs[c]
        root = ch.rc[0 if e == 0 else -1]
        span = params.direction_span_widths * ch.width_hint_px
        for i, nd in ch.passes:
            along = arc[i] if e == 0 else arc[-1] - arc[i]
            if along > reach or nd not in ending:
                continue
            target = arc[i] + span if e == 0 else arc[i] - span
            i2 = int(np.clip(np.searchsorted(arc, target), 0, len(arc) - 1))
            onward = ch.rc[i2] - ch.rc[i]
            norm = float(np.hypot(*onward))
            if norm == 0:
                continue
            onward = onward / norm
            for k, j in ending[nd]:
                if k == c or k in out:
                    continue
                if float(away[(k, j)] @ onward) >= cos_max:
                    out[k] = (j, root)
    return out


def _follicular_units(points: np.ndarray, radius_px: float) -> np.ndarray:
    """Single-linkage groups of points closer than ``radius_px`` (labels 0..)."""
    n = len(points)
    uf = _UnionFind(n)
    if n > 1 and radius_px > 0:
        for a, b in cKDTree(points).query_pairs(radius_px):
            uf.union(a, b)
    roots = [uf.find(i) for i in range(n)]
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(int)


def _split_side_by_side(hairs_raw: list[tuple[_Chain, float, float, int, bool, np.ndarray]],
                        profiles: list[np.ndarray], um_per_px: float, params: TraceParams
                        ) -> list[tuple[_Chain, float, float, int, bool, np.ndarray]]:
    """Counted shafts much wider than the photo's typical shaft are several hairs.

    Hairs of one follicular unit often lie side by side, touching, along
    their whole visible length: the mask shows one shaft of their summed
    width. The typical width is the median width of the photo's counted
    shafts, but at least ``min_reference_width_um`` (so that a photo of
    mostly thin or broken-up shafts does not split its terminal hairs). A
    counted shaft wider than ``side_by_side_ratio`` typical widths is taken as
    ``round(width / typical)`` hairs (at most ``max_side_by_side``) sharing
    the width equally, with the same ends. The shaft's width here is its
    narrow width (the ``side_by_side_percentile`` of its width ``profiles``),
    which a shadow or a crossing over part of its length does not widen.
    """
    widths = np.array([h[1] for h in hairs_raw if h[4]])
    if widths.size < params.min_shafts_for_reference or params.side_by_side_ratio <= 0:
        return hairs_raw
    typical = max(float(np.median(widths)), params.min_reference_width_um / um_per_px)
    out = []
    for (ch, wpx, length, e, counted, root), profile in zip(hairs_raw, profiles):
        n = 1
        narrow = float(np.percentile(profile, params.side_by_side_percentile)) if counted else 0.0
        if counted and narrow > params.side_by_side_ratio * typical:
            n = int(min(params.max_side_by_side, max(2, round(narrow / typical))))
        out.extend([(ch, wpx / n, length, e, counted, root)] * n)
    return out


def trace_hairs(mask: np.ndarray, image: np.ndarray, *, px_per_mm: float | None,
                params: TraceParams = TraceParams(),
                fraction: np.ndarray | None = None) -> tuple[Hair, ...]:
    """Split a hair mask into individual shafts and measure each.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
        Hair mask (see :func:`scalpmetrics.segment.segment_hair`). Not modified.
    image : ndarray, shape (H, W, 3), float32
        The normalised photo the mask came from.
    px_per_mm : float or None
        Pixel scale; without it widths in um and terminal/vellus are ``None``
        and length limits are taken relative to the median shaft width.
    params : TraceParams
        Tracing parameters.
    fraction : ndarray of float32, shape (H, W), optional
        Sub-pixel hair coverage (see :func:`scalpmetrics.segment.segment_hair_fraction`);
        widths are integrated on it. Without it the binary mask is used and
        widths are only whole-pixel accurate.

    Returns
    -------
    tuple of Hair
        One entry per traced shaft, counted or not, in a deterministic order.
    """
    if mask.ndim != 2:
        raise ImageArrayError(f"expected a 2-D mask, got shape {mask.shape}")
    if image.shape[:2] != mask.shape:
        raise ImageArrayError(f"mask {mask.shape} and image {image.shape[:2]} differ in size")
    mask = mask.astype(bool)
    if fraction is None:
        fraction = mask.astype(np.float32)
    elif fraction.shape != mask.shape:
        raise ImageArrayError(f"fraction {fraction.shape} and mask {mask.shape} differ in size")
    fraction = np.ascontiguousarray(fraction, dtype=np.float32)
    if not mask.any():
        return ()
    shape = mask.shape
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Independent work overlapped in a second thread: the distance map and
        # the darkness map while the mask is thinned, the width profiles while
        # the ends are judged.
        dist = pool.submit(cv2.distanceTransform, mask.astype(np.uint8), cv2.DIST_L2, 3)
        darkness = pool.submit(_darkness, image)
        segments, node_map = _skeleton_graph(skeletonize(mask), dist.result(), params)
        segments = _simplify(segments, int(node_map.max()), np.zeros(0), params)
        partner = _pair_at_nodes(segments, params)
        built = _build_chains(segments, partner)
        chains = [c for ch, arc in zip(built, _arc_lengths([ch.rc for ch in built]))
                  for c in _split_corners(ch, arc, params)]
        chains = [c for c in chains if len(c.rc) >= 2]
        if not chains:
            return ()
        arcs = _arc_lengths([ch.rc for ch in chains])
        widths = pool.submit(_profile_widths, chains, arcs, fraction, shape, params)
        scale = px_per_mm
        if scale is None:
            scale = float(np.median(widths.result()[0])) * 1000.0 / params.typical_shaft_width_um
        um_per_px = 1000.0 / scale
        cues = _end_cues(chains, arcs, darkness.result(), mask, um_per_px, params)
        decisions = _emergence(chains, arcs, cues, shape, um_per_px, params)
        widths_px, profiles = widths.result()
    hairs_raw = []
    for ch, arc, wpx, (emerge, inside, root) in zip(chains, arcs, widths_px, decisions):
        length = arc[-1]
        # A free end of the thinned centreline stops about half a width short.
        length += 0.5 * ch.width_hint_px * sum(k == "free" for k in ch.end_kinds)
        # A branch parting from a counted hair (see _forks) shares its trunk
        # from the emergence point: the hair's visible length includes it.
        length += float(np.hypot(*(root - ch.rc[0 if emerge == 0 else -1])))
        counted = (inside and length * um_per_px >= params.min_shaft_length_um
                   and length >= params.min_shaft_length_widths * wpx
                   and wpx * um_per_px >= params.min_shaft_width_um)
        hairs_raw.append((ch, float(wpx), float(length), emerge, counted, root))
    hairs_raw = _split_side_by_side(hairs_raw, profiles, um_per_px, params)
    emergence = np.array([root[::-1] for *_, root in hairs_raw])
    counted_idx = [i for i, h in enumerate(hairs_raw) if h[4]]
    units = np.full(len(hairs_raw), -1, dtype=int)
    if counted_idx:
        radius = params.follicular_unit_radius_um / um_per_px
        units[counted_idx] = _follicular_units(emergence[counted_idx], radius)
    hairs = []
    for i, (ch, wpx, length, e, counted, _) in enumerate(hairs_raw):
        tip = ch.rc[-1 if e == 0 else 0][::-1]
        width_um = wpx * 1000.0 / px_per_mm if px_per_mm is not None else None
        hairs.append(Hair(
            hair_id=i,
            emergence_xy_px=(float(emergence[i][0]), float(emergence[i][1])),
            tip_xy_px=(float(tip[0]), float(tip[1])),
            length_px=length,
            width_px=wpx,
            width_um=width_um,
            is_terminal=None if width_um is None else bool(width_um >= params.vellus_cutoff_um),
            counted=bool(counted),
            unit_id=int(units[i]),
        ))
    return tuple(hairs)
