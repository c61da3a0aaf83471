"""The values that flow between the steps of an analysis.

Every box is a small frozen dataclass. Pixel arrays are NumPy arrays in
row-major (row, column) order; colour photos are **RGB** channel order.
Physical units are in the field names (``_px``, ``_mm``, ``_um``, ``_cm2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

CalibrationSource = Literal["argument", "field_width", "metadata", "marker"]


@dataclass(frozen=True)
class Calibration:
    """Pixel scale of a photo.

    Attributes
    ----------
    px_per_mm : float or None
        Pixels per millimetre on the scalp; ``None`` when unknown.
    source : {'argument', 'field_width', 'metadata', 'marker'} or None
        Where the scale came from; ``None`` when unknown.
    """

    px_per_mm: float | None = None
    source: CalibrationSource | None = None

    @property
    def is_known(self) -> bool:
        """True when a pixel scale is available."""
        return self.px_per_mm is not None

    @property
    def mm2_per_px(self) -> float | None:
        """Scalp area of one pixel in mm², or ``None`` when uncalibrated."""
        return None if self.px_per_mm is None else 1.0 / self.px_per_mm**2

    def to_dict(self) -> dict[str, Any]:
        return {"px_per_mm": self.px_per_mm, "source": self.source}


@dataclass(frozen=True)
class PhotoMetadata:
    """What the file says about the capture.

    Attributes
    ----------
    format : str
        Container format as detected from the file's bytes (``'JPEG'``, ``'PNG'``, ...).
    bit_depth : int
        Bits per channel of the decoded pixels (8 or 16).
    capture_time : str or None
        ISO 8601 capture time from EXIF/DICOM, when present.
    camera_model : str or None
        Camera make and model, when present.
    exif_orientation : int or None
        The EXIF orientation tag (1-8) that was applied to the pixels.
    extra : dict
        Further format-specific fields (JSON-serialisable values only).
    """

    format: str
    bit_depth: int = 8
    capture_time: str | None = None
    camera_model: str | None = None
    exif_orientation: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "bit_depth": self.bit_depth,
            "capture_time": self.capture_time,
            "camera_model": self.camera_model,
            "exif_orientation": self.exif_orientation,
            **({"extra": dict(self.extra)} if self.extra else {}),
        }


@dataclass(frozen=True, eq=False)
class Photo:
    """A loaded photo: pixels plus what is known about them.

    Attributes
    ----------
    pixels : ndarray, shape (H, W, 3), dtype uint8 or uint16
        RGB pixels, EXIF orientation already applied. Grayscale inputs are
        replicated to three channels; alpha is dropped.
    sha256 : str
        SHA-256 of the file's bytes (or of the pixel buffer for in-memory photos).
    path : str or None
        The path it was read from.
    calibration : Calibration
        Pixel scale, possibly unknown.
    metadata : PhotoMetadata
        Capture metadata.
    """

    pixels: np.ndarray
    sha256: str
    path: str | None = None
    calibration: Calibration = Calibration()
    metadata: PhotoMetadata = PhotoMetadata(format="array")

    @property
    def height_px(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width_px(self) -> int:
        return int(self.pixels.shape[1])


@dataclass(frozen=True)
class Hair:
    """One traced hair shaft.

    Coordinates are in pixels of the analysed photo, (x = column, y = row).

    Attributes
    ----------
    hair_id : int
        Index of the shaft within its photo (0-based).
    emergence_xy_px : tuple of float
        Where the shaft is counted: its emergence point when found, otherwise
        its visible end chosen by the counting rule (see ``docs/methods.md``).
    tip_xy_px : tuple of float
        The other end of the visible shaft.
    length_px : float
        Visible length along the centreline; a hair that parts from a unit
        mate it ran merged with is measured from their shared emergence point.
    width_px : float
        Mean shaft width.
    width_um : float or None
        Mean shaft width in micrometres, ``None`` when uncalibrated.
    is_terminal : bool or None
        ``width_um >= vellus cut-off``; ``None`` when uncalibrated.
    counted : bool
        Whether the shaft is countable (emerges in the field, is not a loose
        cut hair). The hair counts take the countable shafts emerging in the
        measured area: not in the edge strip, nor on a marker, a chart or the
        capture device's graphics (``docs/cli.md``).
    unit_id : int
        Follicular unit this hair belongs to (hairs emerging together share it);
        ``-1`` when no unit could be assigned.
    """

    hair_id: int
    emergence_xy_px: tuple[float, float]
    tip_xy_px: tuple[float, float]
    length_px: float
    width_px: float
    width_um: float | None
    is_terminal: bool | None
    counted: bool = True
    unit_id: int = -1

    def to_dict(self) -> dict[str, Any]:
        return {
            "hair_id": self.hair_id,
            "emergence_xy_px": [float(v) for v in self.emergence_xy_px],
            "tip_xy_px": [float(v) for v in self.tip_xy_px],
            "length_px": float(self.length_px),
            "width_px": float(self.width_px),
            "width_um": None if self.width_um is None else float(self.width_um),
            "is_terminal": self.is_terminal,
            "counted": self.counted,
            "unit_id": self.unit_id,
        }


@dataclass(frozen=True, eq=False)
class Region:
    """A named part of the photo that is measured on its own.

    Attributes
    ----------
    name : str
        ``'whole'``, ``'grid_r{row}_c{col}'`` or ``'label_{n}'`` (or a user name).
    mask : ndarray of bool, shape (H, W)
        The region's pixels.
    """

    name: str
    mask: np.ndarray


@dataclass(frozen=True)
class RegionMetrics:
    """The figures of one region of one photo. ``None`` means not measurable
    (typically: no calibration)."""

    name: str
    area_px: int
    area_cm2: float | None
    hair_count: int
    density_per_cm2: float | None
    terminal_count: int | None
    vellus_count: int | None
    vellus_fraction: float | None
    mean_shaft_width_um: float | None
    cumulative_thickness_mm_per_cm2: float | None
    coverage_fraction: float | None
    follicular_unit_count: int
    mean_hairs_per_unit: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class QualityFlag:
    """A raised quality flag: its registry name, the measured figure and threshold."""

    name: str
    value: float | None = None
    threshold: float | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
        }


@dataclass(frozen=True)
class ImageInfo:
    """Identity of the analysed image."""

    path: str | None
    sha256: str
    width_px: int
    height_px: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class Analysis:
    """The result of analysing one photo.

    The whole-photo figures are ``whole``; ``regions`` holds one entry per
    requested region (the whole photo first). ``hair_mask`` is kept for
    overlays and comparison, and ``measured_area`` (the pixels every region
    is cut to: all but the edge strip and any marker or chart) for overlays;
    neither is part of the JSON.
    """

    image: ImageInfo
    calibration: Calibration
    whole: RegionMetrics
    regions: tuple[RegionMetrics, ...]
    hairs: tuple[Hair, ...]
    flags: tuple[QualityFlag, ...]
    provenance: dict[str, Any]
    metadata: PhotoMetadata
    hair_mask: np.ndarray | None = None
    measured_area: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready record described by ``docs/schema/analysis.schema.json``."""
        from scalpmetrics import SCHEMA_VERSION

        w = self.whole
        return {
            "schema_version": SCHEMA_VERSION,
            "image": self.image.to_dict(),
            "calibration": self.calibration.to_dict(),
            "metadata": self.metadata.to_dict(),
            "area_cm2": w.area_cm2,
            "hair_count": w.hair_count,
            "density_per_cm2": w.density_per_cm2,
            "terminal_count": w.terminal_count,
            "vellus_count": w.vellus_count,
            "vellus_fraction": w.vellus_fraction,
            "mean_shaft_width_um": w.mean_shaft_width_um,
            "cumulative_thickness_mm_per_cm2": w.cumulative_thickness_mm_per_cm2,
            "coverage_fraction": w.coverage_fraction,
            "follicular_unit_count": w.follicular_unit_count,
            "mean_hairs_per_unit": w.mean_hairs_per_unit,
            "regions": [r.to_dict() for r in self.regions],
            "hairs": [h.to_dict() for h in self.hairs],
            "flags": [f.to_dict() for f in self.flags],
            "provenance": dict(self.provenance),
        }
