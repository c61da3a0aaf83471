"""Analyses built from a phantom's exact truth, to test comparison logic apart from detection."""

from __future__ import annotations

from scalpmetrics.io import photo_from_array
from scalpmetrics.measure import measure_regions
from scalpmetrics.regions import whole_region
from scalpmetrics.synthetic import Phantom
from scalpmetrics.types import Analysis, Calibration, Hair, ImageInfo, Photo

VELLUS_CUTOFF_UM = 40.0


def truth_analysis(phantom: Phantom, *, px_per_mm: float | None) -> tuple[Photo, Analysis]:
    """The photo of ``phantom`` and a perfect analysis of it.

    Shaft widths in px are the true widths at the photo's own scale; with
    ``px_per_mm`` (the nominal scale a user would give) they are converted
    back to um as ``analyze`` would, so a zoom change shows in them.
    """
    image_ppm = phantom.truth.px_per_mm
    hairs = []
    for h in phantom.truth.hairs:
        width_px = h.width_um / 1000.0 * image_ppm
        width_um = None if px_per_mm is None else width_px / px_per_mm * 1000.0
        hairs.append(Hair(
            hair_id=h.hair_id,
            emergence_xy_px=h.emergence_xy_px,
            tip_xy_px=h.tip_xy_px,
            length_px=h.visible_length_px,
            width_px=width_px,
            width_um=width_um,
            is_terminal=None if width_um is None else width_um >= VELLUS_CUTOFF_UM,
            counted=h.emerges_in_field and not h.loose,
            unit_id=h.unit_id,
        ))
    calibration = Calibration(px_per_mm, "argument" if px_per_mm else None)
    photo = photo_from_array(phantom.image, calibration=calibration)
    metrics = measure_regions(
        [whole_region(phantom.image.shape)], hairs, phantom.hair_mask, calibration=calibration
    )
    analysis = Analysis(
        image=ImageInfo(photo.path, photo.sha256, photo.width_px, photo.height_px),
        calibration=calibration,
        whole=metrics[0],
        regions=metrics,
        hairs=tuple(hairs),
        flags=(),
        provenance={},
        metadata=photo.metadata,
        hair_mask=phantom.hair_mask,
    )
    return photo, analysis
