"""The exact truth of a phantom and the records of rendered phantoms and courses.

:class:`HairTruth` (one hair), :class:`PhantomTruth` (the figures of one
image), :class:`Phantom` (image, exact hair coverage and truth) and
:class:`Course` (visits of one scalp patch with the true changes), and the
computation of the figures from the hairs and coverage.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scalpmetrics.measure import point_in_mask
from scalpmetrics.synthetic.spec import CourseSpec, PhantomSpec


@dataclass(frozen=True)
class HairTruth:
    """The truth about one hair in one image.

    Attributes
    ----------
    hair_id : int
        Stable identity: the same id is the same follicle slot in every
        visit of a course. Loose hairs get ids after all follicle slots.
    unit_id : int
        Follicular unit (opening) the hair emerges from; -1 for loose hairs.
    emergence_xy_px : tuple of float
        Emergence point in image pixels (x = column, y = row); for a loose
        hair (which has none), the centre of the fragment.
    emergence_scalp_xy_px : tuple of float
        The same point in scalp coordinates (fixed across visits).
    tip_xy_px : tuple of float
        The other end of the shaft centreline (cut tip or free end), image px.
    emerges_in_field : bool
        Emergence point inside the image field.
    loose : bool
        A cut hair lying on the skin.
    width_um : float
        Shaft width.
    visible_length_px : float
        Length of the centreline inside the image field.
    is_terminal : bool
        ``width_um >= 40``.
    colour_rgb : tuple of int
        Base shaft colour, 8-bit sRGB.
    """

    hair_id: int
    unit_id: int
    emergence_xy_px: tuple[float, float]
    emergence_scalp_xy_px: tuple[float, float]
    tip_xy_px: tuple[float, float]
    emerges_in_field: bool
    loose: bool
    width_um: float
    visible_length_px: float
    is_terminal: bool
    colour_rgb: tuple[int, int, int]

    @property
    def counted(self) -> bool:
        """The counting rule: emerges inside the image and is not loose."""
        return self.emerges_in_field and not self.loose

    def to_dict(self) -> dict[str, Any]:
        d = {k: list(v) if isinstance(v, tuple) else v
             for k, v in dataclasses.asdict(self).items()}
        d["counted"] = self.counted
        return d


@dataclass(frozen=True)
class PhantomTruth:
    """Exact figures of one phantom (see :mod:`scalpmetrics.synthetic` for definitions).

    Attributes
    ----------
    px_per_mm : float
        Scale in the image at its centre: ``spec.px_per_mm * spec.scale``.
    hair_count, terminal_count, vellus_count : int
        Counted hairs (counting rule) and their split at 40 um.
    vellus_fraction : float
        ``vellus_count / hair_count`` (0 when no hair counts).
    mean_shaft_width_um : float
        Mean width of counted hairs (NaN when none; ``None`` in JSON).
    cumulative_thickness_mm_per_cm2 : float
        Sum of counted widths in mm per cm2 of image area.
    coverage_fraction : float
        Mean of the exact per-pixel hair fraction (all hair, loose included).
    area_cm2 : float
        Image area on the scalp at ``px_per_mm``.
    density_per_cm2 : float
        ``hair_count / area_cm2``.
    follicular_unit_count : int
        Units with at least one counted hair.
    mean_hairs_per_unit : float
        ``hair_count / follicular_unit_count`` (NaN when no unit).
    scalp_to_image : tuple
        The pose homography, 3x3 nested tuples.
    hairs : tuple of HairTruth
        Every hair with a visible part in the image, plus every counted
        hair, sorted by ``hair_id``.
    spec : PhantomSpec
        The specification (for course visits: that visit's pose and lighting).
    """

    px_per_mm: float
    hair_count: int
    terminal_count: int
    vellus_count: int
    vellus_fraction: float
    mean_shaft_width_um: float
    cumulative_thickness_mm_per_cm2: float
    coverage_fraction: float
    area_cm2: float
    density_per_cm2: float
    follicular_unit_count: int
    mean_hairs_per_unit: float
    scalp_to_image: tuple[tuple[float, float, float], ...]
    hairs: tuple[HairTruth, ...]
    spec: PhantomSpec

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (NaN becomes ``None``)."""
        d: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "hairs":
                value = [h.to_dict() for h in value]
            elif f.name == "spec":
                value = value.to_dict()
            elif f.name == "scalp_to_image":
                value = [list(row) for row in value]
            elif isinstance(value, float) and not math.isfinite(value):
                value = None
            d[f.name] = value
        return d


@dataclass(frozen=True, eq=False)
class Phantom:
    """A rendered phantom.

    Attributes
    ----------
    image : ndarray, shape (H, W, 3), uint8
        RGB photo.
    hair_mask : ndarray, shape (H, W), bool
        Pixels more than half covered by hair.
    hair_fraction : ndarray, shape (H, W), float32
        Exact fraction of each pixel covered by hair, in [0, 1].
    truth : PhantomTruth
        The figures.
    """

    image: np.ndarray
    hair_mask: np.ndarray
    hair_fraction: np.ndarray
    truth: PhantomTruth

    def truth_within(self, area: np.ndarray) -> PhantomTruth:
        """The figures of the part ``area`` of the image (what an analysis
        measures when its region leaves some pixels out).

        Parameters
        ----------
        area : ndarray of bool, shape (H, W)
            The pixels measured.

        Returns
        -------
        PhantomTruth
            Counted hairs are those whose emergence point lies in a pixel of
            ``area`` (pixel centres on integers); coverage and area are over
            ``area``. ``hairs`` leaves out the counted hairs emerging
            elsewhere.
        """
        area = np.asarray(area, dtype=bool)
        if area.shape != self.hair_fraction.shape:
            raise ValueError(f"area {area.shape} and image {self.hair_fraction.shape} differ")
        hairs = [t for t in self.truth.hairs
                 if not t.counted or point_in_mask(t.emergence_xy_px, area)]
        h_pose = np.array(self.truth.scalp_to_image)
        return _truth(hairs, self.hair_fraction, self.truth.spec, h_pose, area=area)


@dataclass(frozen=True, eq=False)
class Course:
    """Rendered visits of one scalp patch with the true changes.

    Attributes
    ----------
    visits : tuple of Phantom
        Visit 0 is the baseline.
    scalp_to_image : tuple of ndarray, each shape (3, 3)
        Per visit, the homography from scalp coordinates to image pixels.
    true_change : tuple of dict
        Per follow-up (visit 1, 2, ...) against the baseline, over the
        common area; keys are listed in :func:`~scalpmetrics.synthetic.make_course`.
    common_area_mm2 : float
        Scalp area visible in every visit.
    spec : CourseSpec
        The specification.
    """

    visits: tuple[Phantom, ...]
    scalp_to_image: tuple[np.ndarray, ...]
    true_change: tuple[dict[str, Any], ...]
    common_area_mm2: float
    spec: CourseSpec

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record: spec, per-visit truth, true changes."""
        return {
            "spec": self.spec.to_dict(),
            "common_area_mm2": self.common_area_mm2,
            "visits": [v.truth.to_dict() for v in self.visits],
            "true_change": [dict(c) for c in self.true_change],
        }


def _truth(hairs: list[HairTruth], coverage: np.ndarray, spec: PhantomSpec,
           h_pose: np.ndarray, area: np.ndarray | None = None) -> PhantomTruth:
    """The figures of ``hairs`` and ``coverage`` over the image, or over ``area``."""
    hairs = sorted(hairs, key=lambda t: t.hair_id)
    counted = [t for t in hairs if t.counted]
    n = len(counted)
    ppm = spec.px_per_mm * spec.scale
    area_px = spec.width_px * spec.height_px if area is None else int(area.sum())
    area_cm2 = area_px / ppm**2 / 100.0
    cover = coverage if area is None else coverage[area]
    widths = np.array([t.width_um for t in counted])
    terminal = int(sum(t.is_terminal for t in counted))
    units = len({t.unit_id for t in counted})
    return PhantomTruth(
        px_per_mm=ppm, hair_count=n, terminal_count=terminal, vellus_count=n - terminal,
        vellus_fraction=(n - terminal) / n if n else 0.0,
        mean_shaft_width_um=float(widths.mean()) if n else float("nan"),
        cumulative_thickness_mm_per_cm2=(float(widths.sum() / 1000.0 / area_cm2)
                                         if area_px else 0.0),
        coverage_fraction=float(cover.mean(dtype=np.float64)) if area_px else 0.0,
        area_cm2=area_cm2, density_per_cm2=n / area_cm2 if area_px else 0.0,
        follicular_unit_count=units,
        mean_hairs_per_unit=n / units if units else float("nan"),
        scalp_to_image=tuple(tuple(float(v) for v in row) for row in h_pose),
        hairs=tuple(hairs), spec=spec,
    )
