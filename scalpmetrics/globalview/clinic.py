"""Regions a clinic defines itself, mapped with the head.

A clinic can give its own regions instead of (or besides) the view's zone
template:

* a label image (0 = outside, 1..N = regions; each becomes ``'label_{n}'``), or
* polygons: a JSON object ``{"regions": [{"name": ..., "points": [[x, y], ...]},
  ...]}`` or simply ``{name: [[x, y], ...], ...}``, points in pixels
  (x = column).

Both are drawn on a *reference* photo, usually the baseline. When they are
applied to another photo of the same head they are carried over by the head
transform (the affine map between the two photos' head frames), so a region
stays on the same part of the head when the head sits differently in the
frame. A polygon file may record the head frame of its reference photo under
``"head_frame"`` (as written by :meth:`HeadEllipse.to_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from scalpmetrics.errors import RegionError
from scalpmetrics.globalview.geometry import HeadEllipse, transform_between
from scalpmetrics.globalview.zones import polygon_mask

__all__ = ["ClinicRegions", "parse_polygon_regions", "clinic_masks"]

_MAX_REGIONS = 1000


@dataclass(frozen=True, eq=False)
class ClinicRegions:
    """Clinic-defined regions and the head frame of the photo they were drawn on.

    Attributes
    ----------
    labels : ndarray of int, shape (H, W), or None
        Label image (0 = outside).
    polygons : tuple of (str, ndarray of shape (N, 2))
        Named polygons, pixel ``(x, y)`` points.
    reference_frame : HeadEllipse or None
        Head frame of the reference photo; ``None`` means the regions are in
        the pixels of the photo being analysed.
    """

    labels: np.ndarray | None = None
    polygons: tuple[tuple[str, np.ndarray], ...] = ()
    reference_frame: HeadEllipse | None = None

    def with_reference(self, frame: HeadEllipse) -> "ClinicRegions":
        """The same regions, declared as drawn on a photo whose head frame is ``frame``."""
        return ClinicRegions(self.labels, self.polygons, frame)


def parse_polygon_regions(data: Any) -> ClinicRegions:
    """Build :class:`ClinicRegions` from a parsed polygon JSON document.

    Raises
    ------
    RegionError
        Not one of the accepted layouts, a polygon with fewer than 3 points,
        non-finite coordinates, or a repeated name.
    """
    frame = None
    if isinstance(data, dict) and "regions" in data:
        items = data["regions"]
        if not isinstance(items, list):
            raise RegionError("polygon file: 'regions' must be a list")
        pairs = []
        for k, item in enumerate(items):
            if not isinstance(item, dict) or "points" not in item:
                raise RegionError(f"polygon file: region {k + 1} needs 'name' and 'points'")
            pairs.append((str(item.get("name", f"polygon_{k + 1}")), item["points"]))
        if "head_frame" in data:
            try:
                frame = HeadEllipse.from_dict(data["head_frame"])
            except (KeyError, TypeError, ValueError):
                raise RegionError("polygon file: 'head_frame' is malformed") from None
    elif isinstance(data, dict):
        pairs = [(str(k), v) for k, v in data.items() if k != "head_frame"]
    else:
        raise RegionError("polygon file must be a JSON object of named polygons")
    if not pairs:
        raise RegionError("polygon file has no regions")
    if len(pairs) > _MAX_REGIONS:
        raise RegionError(f"polygon file has more than {_MAX_REGIONS} regions")
    names = [n for n, _ in pairs]
    if len(set(names)) != len(names):
        raise RegionError("polygon file: region names must be unique")
    polys = []
    for name, pts in pairs:
        try:
            arr = np.asarray(pts, dtype=np.float64)
        except (TypeError, ValueError):
            raise RegionError(f"polygon {name!r}: points must be [x, y] pairs") from None
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 3:
            raise RegionError(f"polygon {name!r}: needs at least 3 [x, y] points")
        if not np.all(np.isfinite(arr)):
            raise RegionError(f"polygon {name!r}: coordinates must be finite numbers")
        polys.append((name, arr))
    return ClinicRegions(None, tuple(polys), frame)


def clinic_masks(
    regions: ClinicRegions,
    frame: HeadEllipse,
    shape: tuple[int, ...],
    *,
    photo_frame: HeadEllipse,
    photo_shape: tuple[int, int],
) -> list[tuple[str, str, int | None, np.ndarray]]:
    """Rasterize clinic regions into an image, carried over by the head transform.

    Parameters
    ----------
    regions : ClinicRegions
    frame : HeadEllipse
        Head frame in the pixels of the target image (for example the working copy).
    shape : tuple
        Target image shape.
    photo_frame : HeadEllipse
        Head frame of the analysed photo, in its own pixels (used when the
        regions carry no reference frame: they are then in the analysed photo's pixels).
    photo_shape : tuple of int
        ``(H, W)`` of the analysed photo (a label image without a reference
        frame must have this size).

    Returns
    -------
    list of (name, source, label, mask)
    """
    reference = regions.reference_frame or photo_frame
    m = transform_between(reference, frame)
    out: list[tuple[str, str, int | None, np.ndarray]] = []
    if regions.labels is not None:
        lab = np.asarray(regions.labels)
        if lab.ndim != 2:
            raise RegionError(f"label image must be single-channel, got shape {lab.shape}")
        if regions.reference_frame is None and lab.shape != tuple(photo_shape):
            raise RegionError(
                f"label image is {lab.shape[1]}x{lab.shape[0]} but the photo is "
                f"{photo_shape[1]}x{photo_shape[0]}: they must match"
            )
        values = np.unique(lab)
        values = values[values != 0]
        if values.size == 0:
            raise RegionError("label image has no non-zero labels")
        # pixel centres: map target pixel centres back into the label image
        warped = cv2.warpAffine(
            lab.astype(np.float32), m[:2], (shape[1], shape[0]),
            flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0,
        ).astype(np.int64)
        for val in values:
            out.append((f"label_{int(val)}", "label_image", int(val), warped == val))
    for name, pts in regions.polygons:
        mapped = pts @ m[:2, :2].T + m[:2, 2]
        out.append((name, "polygon", None, polygon_mask(mapped, shape)))
    return out
