"""Step 1 of the tracing: the skeleton graph.

The mask is thinned to a one-pixel centreline; pixels with three or more
branches are junctions. Junctions closer than a shaft width are merged,
short spurs are pruned, and the rest is cut into ordered segments between
ends and junctions.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from skimage.morphology import skeletonize

from scalpmetrics.params import TraceParams
from scalpmetrics.trace.primitives import _arc_lengths, _group_medians, _UnionFind


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


def _thin(mask: np.ndarray, dist: np.ndarray, pool: Executor) -> np.ndarray:
    """The mask thinned to one-pixel centrelines (Zhang and Suen's thinning,
    ``skimage.morphology.skeletonize``), its top and bottom halves side by side.

    Each pass of the thinning removes pixels by their 3 x 3 neighbourhood, so
    what a pass does to a pixel depends only on the mask within one pixel
    more than the pass before; and it peels a shaft of half-width ``w`` in
    about ``2 w`` passes. Each half is therefore thinned with a margin of
    rows beyond it of four times the largest half-width (``dist``, the
    mask's distance map, at its largest) and 16 px, twice what the passes
    reach, and keeps its own rows. The result was the whole mask's on every
    mask the benchmarks trace (``docs/methods.md``, *The tracing over all
    shafts at once*). A mask too short to split is thinned whole.
    """
    height = mask.shape[0]
    margin = 4 * int(np.ceil(float(dist.max()))) + 16
    half = height // 2
    if half <= 2 * margin:
        return skeletonize(mask)
    top = pool.submit(lambda: skeletonize(mask[:half + margin])[:half])
    bottom = skeletonize(mask[half - margin:])[margin:]
    return np.concatenate([top.result(), bottom])


def _neighbour_code(skel_u8: np.ndarray) -> np.ndarray:
    code = cv2.filter2D(skel_u8.astype(np.float32), -1, _CODE_KERNEL,
                        borderType=cv2.BORDER_CONSTANT)
    return code.astype(np.uint8)


def _order_segments(seg_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of the 8-connected runs of ``seg_mask``, each run's ordered along
    it, as one (N, 2) float array of (row, col) and the runs' bounds in it
    (run ``i`` is ``bounds[i]:bounds[i + 1]``)."""
    rows, cols = np.nonzero(seg_mask)
    n = rows.size
    if n == 0:
        return np.zeros((0, 2)), np.zeros(1, dtype=np.int64)
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
    bounds = np.unique(np.searchsorted(lab[order], np.arange(1, nlab + 2)))
    return np.stack([rows[order], cols[order]], axis=1).astype(np.float64), bounds


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
    ordered, bounds = _order_segments(skel & ~zone)
    if bounds.size < 2:
        return [], node_map
    runs = np.split(ordered, bounds[1:-1])
    ends = np.stack([ordered[bounds[:-1]], ordered[bounds[1:] - 1]], axis=1).astype(np.int64)
    # The junction each end touches: the largest node label in its 3 x 3 neighbourhood.
    padded = np.pad(node_map, 1)
    touch = np.max([padded[ends[..., 0] + 1 + dr, ends[..., 1] + 1 + dc]
                    for dr in (-1, 0, 1) for dc in (-1, 0, 1)], axis=0)
    nodes = (touch.astype(np.int64) - 1).tolist()
    pixels = ordered.astype(int)
    owner = np.repeat(np.arange(len(runs)), np.diff(bounds))
    medians = _group_medians(owner, dist[pixels[:, 0], pixels[:, 1]], len(runs))[0]
    widths = 2.0 * medians.astype(np.float64)
    return [
        _Segment(rc=rc, nodes=nd, width_px=max(float(wd), 1.0), arc=arc)
        for rc, nd, wd, arc in zip(runs, nodes, widths, _arc_lengths(runs))
    ], node_map


def _node_degrees(segments: list[_Segment], n_nodes: int) -> np.ndarray:
    """How many segment ends meet at each of the ``n_nodes`` nodes."""
    degree = np.zeros(n_nodes, dtype=int)
    for s in segments:
        for nd in s.nodes:
            if nd >= 0:
                degree[nd] += 1
    return degree


def _simplify(segments: list[_Segment], n_nodes: int, params: TraceParams) -> list[_Segment]:
    """Merge junctions joined by short bridges; prune short spurs (repeatedly)."""
    for _ in range(params.simplify_rounds):
        uf = _UnionFind(n_nodes)
        keep = []
        changed = False
        degree = _node_degrees(segments, n_nodes)
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
    degree = _node_degrees(segments, n_nodes)
    for s in segments:
        s.nodes = [nd if nd >= 0 and degree[nd] >= 2 else -1 for nd in s.nodes]
    return segments
