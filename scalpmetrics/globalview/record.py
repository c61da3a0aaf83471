"""The result record of a global-view analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scalpmetrics.globalview.coverage import ZoneMetrics
from scalpmetrics.globalview.geometry import HeadEllipse
from scalpmetrics.types import Calibration, ImageInfo, PhotoMetadata, QualityFlag

__all__ = ["GlobalAnalysis"]


@dataclass(frozen=True, eq=False)
class GlobalAnalysis:
    """The result of analysing one global-view photo.

    Attributes
    ----------
    image : ImageInfo
    calibration : Calibration
        Usually unknown; coverage does not need it.
    metadata : PhotoMetadata
    view : {'vertex', 'midline', 'frontal', 'temporal'}
    side : {'left', 'right'} or None
        The side of the head facing the camera (temporal view only).
    view_detected : bool
        True when the view was detected automatically.
    head_frame : HeadEllipse
        The head frame in the photo's pixels.
    regions : tuple of ZoneMetrics
        Template zones first, then clinic regions.
    colour_model : dict
        Hair and scalp colours and their contrast (JSON-ready).
    flags : tuple of QualityFlag
    provenance : dict
    work_scale : float
        Working-copy pixels per photo pixel (coverage is measured on it).
    hair_fraction : ndarray, shape (h, w), float32
        Per-pixel hair fraction of the working copy (unclipped); not in the JSON.
    region_masks : dict
        Region name -> bool mask of the working copy; not in the JSON.
    """

    image: ImageInfo
    calibration: Calibration
    metadata: PhotoMetadata
    view: str
    side: str | None
    view_detected: bool
    head_frame: HeadEllipse
    regions: tuple[ZoneMetrics, ...]
    colour_model: dict[str, Any]
    flags: tuple[QualityFlag, ...]
    provenance: dict[str, Any]
    work_scale: float
    hair_fraction: np.ndarray | None = None
    region_masks: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def work_frame(self) -> HeadEllipse:
        """The head frame in the working copy's pixels."""
        return self.head_frame.scaled(self.work_scale)

    def region(self, name: str) -> ZoneMetrics:
        """The figures of the region called ``name``."""
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready record (see ``docs/global.md``)."""
        from scalpmetrics import SCHEMA_VERSION

        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "global",
            "image": self.image.to_dict(),
            "calibration": self.calibration.to_dict(),
            "metadata": self.metadata.to_dict(),
            "view": self.view,
            "side": self.side,
            "view_detected": self.view_detected,
            "head_frame": self.head_frame.to_dict(),
            "work_scale": float(self.work_scale),
            "colour_model": dict(self.colour_model),
            "regions": [r.to_dict() for r in self.regions],
            "flags": [f.to_dict() for f in self.flags],
            "provenance": dict(self.provenance),
        }
