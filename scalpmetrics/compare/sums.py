"""Per-label sums of a visit over the common area, its regions and the bootstrap blocks.

One label image (``_Layers``) holds the three partitions; ``_Sums`` are one
visit's sums per label, from which the figures of an area are read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalpmetrics.compare.area import _pixel_of
from scalpmetrics.compare.results import AreaMetrics, MappedHairs
from scalpmetrics.measure import MM2_PER_CM2, UM_PER_MM, mean_width_from_sums
from scalpmetrics.register import Registration


@dataclass(frozen=True, eq=False)
class _Sums:
    """Per-label sums of one visit (arrays of length n_labels): the hairs found,
    and the hairs estimated (each found hair weighted by 1 / its recall)."""

    count: np.ndarray
    terminal: np.ndarray | None
    width_um: np.ndarray | None
    weighted_width_um_px: np.ndarray | None  # summed width x its weight (baseline px)
    width_weight_px: np.ndarray  # summed weights of the mean width (baseline px)
    cover: np.ndarray  # summed hair-mask pixels (visit frame)
    pixels: np.ndarray  # label pixels (visit frame)
    est_count: np.ndarray
    est_terminal: np.ndarray | None
    est_width_um: np.ndarray | None


@dataclass(frozen=True, eq=False)
class _Layers:
    """One label image (baseline pixels, -1 outside) holding three partitions of the
    common area: label 0 is the whole common area, 1..R the regions, then the blocks."""

    labels: tuple[np.ndarray, ...]  # common, regions, blocks: int32 label images
    region_names: tuple[str, ...]
    area_px: tuple[np.ndarray, ...]

    @classmethod
    def build(cls, common: np.ndarray, block_px: float, grid: str | None) -> _Layers:
        from scalpmetrics.regions import grid_regions, parse_grid_spec

        h, w = common.shape
        whole = np.where(common, 0, -1).astype(np.int32)
        regions = np.full((h, w), -1, np.int32)
        names: list[str] = []
        if grid is not None:
            for i, region in enumerate(grid_regions(common.shape, *parse_grid_spec(grid))):
                regions[region.mask & common] = i
                names.append(region.name)
        step = max(1, int(round(block_px)))
        rows, cols = np.nonzero(common)
        _, dense = np.unique((rows // step) * ((w + step - 1) // step) + cols // step,
                             return_inverse=True)
        blocks = np.full((h, w), -1, np.int32)
        blocks[rows, cols] = dense
        labels = (whole, regions, blocks)
        area = tuple(np.bincount(lab[lab >= 0], minlength=_n(lab)) for lab in labels)
        return cls(labels, tuple(names), area)

    def region_masks(self) -> tuple[tuple[str, np.ndarray], ...]:
        return tuple((name, self.labels[1] == i) for i, name in enumerate(self.region_names))

    def sums(
        self, hairs: MappedHairs, hair_mask: np.ndarray, reg: Registration | None,
        weights: np.ndarray | None = None,
    ) -> tuple[_Sums, ...]:
        """Per-label sums of one visit, for each of the three partitions; the
        estimated sums weight each hair by ``weights`` (1 when ``None``)."""
        import cv2

        w = np.ones(hairs.hair_index.size) if weights is None else np.asarray(weights, float)
        out = []
        for layer, lab in enumerate(self.labels):
            n = _n(lab)
            if layer == 0:  # the whole common area: the exact test, not the pixel grid
                hair_lab = np.where(hairs.inside, 0, -1)
            else:
                row, col, ok = _pixel_of(hairs.xy_baseline, lab.shape)
                hair_lab = np.where(ok, lab[row, col], -1)
            use = hair_lab >= 0
            at, wu = hair_lab[use], w[use]
            count = np.bincount(at, minlength=n)
            est_count = np.bincount(at, weights=wu, minlength=n)
            ww = hairs.width_weight_px[use]
            width_weight = np.bincount(at, weights=ww, minlength=n)
            terminal = width = weighted_width = est_terminal = est_width = None
            if hairs.terminal is not None and hairs.width_um is not None:
                term, widths = hairs.terminal[use].astype(float), hairs.width_um[use]
                terminal = np.bincount(at, weights=term, minlength=n)
                width = np.bincount(at, weights=widths, minlength=n)
                weighted_width = np.bincount(at, weights=widths * ww, minlength=n)
                est_terminal = np.bincount(at, weights=term * wu, minlength=n)
                est_width = np.bincount(at, weights=widths * wu, minlength=n)
            if reg is None:
                visit_lab = lab
            else:
                size = (hair_mask.shape[1], hair_mask.shape[0])
                visit_lab = cv2.warpPerspective(
                    lab.astype(np.float32), reg.followup_from_baseline, size,
                    flags=cv2.INTER_NEAREST, borderValue=-1.0,
                ).astype(np.int32)
            inside = visit_lab >= 0
            pixels = np.bincount(visit_lab[inside], minlength=n)
            cover = np.bincount(visit_lab[inside], weights=hair_mask[inside].astype(np.float64),
                                minlength=n)
            out.append(_Sums(count, terminal, width, weighted_width, width_weight, cover, pixels,
                             est_count, est_terminal, est_width))
        return tuple(out)


def _n(labels: np.ndarray) -> int:
    return int(labels.max()) + 1 if labels.size else 0


def _area_metrics(s: _Sums, k: int, area_px: float, mm2_per_px: float | None) -> AreaMetrics:
    """Figures of label ``k``."""
    count = int(s.count[k])
    area_cm2 = None if mm2_per_px is None else area_px * mm2_per_px / MM2_PER_CM2
    terminal = None if s.terminal is None else int(round(float(s.terminal[k])))
    width = None if s.width_um is None else float(s.width_um[k])
    mean_width = None if width is None else mean_width_from_sums(
        float(s.weighted_width_um_px[k]), float(s.width_weight_px[k]), width, count)
    return AreaMetrics(
        area_px=int(area_px),
        area_cm2=area_cm2,
        hair_count=count,
        density_per_cm2=count / area_cm2 if area_cm2 else None,
        terminal_count=terminal,
        vellus_count=None if terminal is None else count - terminal,
        mean_shaft_width_um=mean_width,
        cumulative_thickness_mm_per_cm2=(
            width / UM_PER_MM / area_cm2 if width is not None and area_cm2 else None
        ),
        coverage_fraction=_coverage(s, k),
    )


def _coverage(s: _Sums, k: int) -> float | None:
    """Coverage fraction of label ``k`` (``None`` on an empty label)."""
    return float(s.cover[k]) / float(s.pixels[k]) if s.pixels[k] else None
