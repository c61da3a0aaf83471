"""One validated parameter set, shared by the Python API, config files and the CLI.

Parameters are grouped by the step that uses them. Every field declares its
unit in its name, and its range in ``metadata``; construction validates the
type and the range, and :meth:`Params.from_dict` refuses unknown keys.

Examples
--------
>>> p = Params.from_dict({"trace": {"vellus_cutoff_um": 30.0}})
>>> p.trace.vellus_cutoff_um
30.0
>>> Params.from_dict({"trace": {"no_such_key": 1}})
Traceback (most recent call last):
...
scalpmetrics.errors.ParameterError: unknown parameter 'trace.no_such_key'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from scalpmetrics.errors import ParameterError


def _p(default: Any, lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    """A parameter field with an inclusive valid range and a one-line description."""
    return field(default=default, metadata={"min": lo, "max": hi, "doc": doc})


def _validate(obj: Any, prefix: str) -> None:
    hints = get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{prefix}.{f.name}"
        expected = hints[f.name]
        if expected is bool:
            if not isinstance(value, bool):
                raise ParameterError(f"parameter {name!r} must be true or false, got {value!r}")
            continue
        if expected in (int, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParameterError(f"parameter {name!r} must be a number, got {value!r}")
            if expected is int and isinstance(value, float) and not value.is_integer():
                raise ParameterError(f"parameter {name!r} must be a whole number, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):  # an int may exceed float
                raise ParameterError(f"parameter {name!r} must be finite, got {value!r}")
            lo, hi = f.metadata.get("min"), f.metadata.get("max")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise ParameterError(
                    f"parameter {name!r} = {value!r} is outside its range [{lo}, {hi}]"
                )
            object.__setattr__(obj, f.name, expected(value))
        elif expected is str and not isinstance(value, str):
            raise ParameterError(f"parameter {name!r} must be text, got {value!r}")


@dataclass(frozen=True)
class LoadParams:
    """Reading photos."""

    max_pixels: int = _p(
        64_000_000, 1, 1_000_000_000,
        "refuse images with more pixels than this (decompression-bomb guard)",
    )
    min_side_px: int = _p(16, 1, 10_000, "refuse images whose shorter side is smaller")
    max_pixel_spacing_mismatch_fraction: float = _p(
        0.01, 0.0, 0.5,
        "DICOM PixelSpacing whose row and column spacings differ by more than this share "
        "is refused (non-square pixels), fraction",
    )

    def __post_init__(self) -> None:
        _validate(self, "load")


@dataclass(frozen=True)
class CalibrationParams:
    """Plausible pixel scales. Trichoscopy spans about 10x-150x optical
    magnification; global photographs are a few px/mm."""

    min_px_per_mm: float = _p(1.0, 1e-3, 1e5, "smallest plausible scale, px/mm")
    max_px_per_mm: float = _p(2000.0, 1e-3, 1e6, "largest plausible scale, px/mm")

    def __post_init__(self) -> None:
        _validate(self, "calibration")
        if self.min_px_per_mm >= self.max_px_per_mm:
            raise ParameterError("calibration.min_px_per_mm must be below max_px_per_mm")


@dataclass(frozen=True)
class NormalizeParams:
    """Colour and illumination normalisation (see ``normalize``)."""

    flat_field_sigma_mm: float = _p(
        1.5, 0.05, 100.0, "Gaussian scale of the illumination estimate, mm"
    )
    flat_field_sigma_fraction: float = _p(
        0.15, 0.01, 1.0,
        "upper limit (and value when uncalibrated) of the illumination scale, fraction of the shorter side",
    )
    mode_bins: int = _p(
        48, 8, 1024, "log-luminance histogram bins used to find the commonest (skin) shade, count"
    )
    mode_samples_per_tile: int = _p(
        1600, 16, 1_000_000, "pixels sampled per tile when finding the skin shade, px"
    )
    background_samples_per_sigma: float = _p(
        8.0, 1.0, 100.0, "the skin estimate samples the photo this many times per Gaussian scale, count"
    )
    skin_tolerance_log: float = _p(
        0.2, 0.01, 5.0, "pixels within this |log| ratio of the rough skin colour are skin, log units"
    )
    min_skin_weight_fraction: float = _p(
        0.02, 0.0, 1.0, "below this local share of skin pixels the rough estimate is used, fraction"
    )

    def __post_init__(self) -> None:
        _validate(self, "normalize")


SEGMENT_METHODS = ("contrast", "learned")
LONG_HAIR_TRACING = ("auto", "always", "never")


@dataclass(frozen=True)
class SegmentParams:
    """Hair/scalp separation (see ``segment`` and ``docs/methods.md``)."""

    method: str = _p(
        "learned", doc="hair detector: learned (per-pixel coverage model trained on phantoms, "
        "scalpmetrics.learned) or contrast (hysteresis on the contrast along the photo's hair "
        "colour; the seed, grow, core and second-colour parameters are its own): "
        "docs/methods.md",
    )
    learned_core_fraction: float = _p(
        0.85, 0.05, 1.0,
        "learned detector: a shaft's core is estimated at least this much covered; cores "
        "must pass the shape filters and are what the shafts are traced on, fraction",
    )
    learned_core_median_px: int = _p(
        3, 1, 9,
        "learned detector: the traced cores are those of the coverage's median over a square of "
        "this side (odd; 1: none), so that a noisy pixel neither breaks, notches nor bridges "
        "a core, working-copy px",
    )
    min_shaft_width_um: float = _p(
        15.0, 1.0, 200.0, "thinnest shaft looked for: sets the smoothing and the working resolution, um"
    )
    max_shaft_width_um: float = _p(
        200.0, 20.0, 1000.0, "widest shaft looked for: how far a shaft's boundary may lie from its core, um"
    )
    min_shaft_length_um: float = _p(
        80.0, 0.0, 10_000.0, "detected pieces shorter than this (bounding-box diagonal) are dropped, um"
    )
    max_blob_diameter_um: float = _p(
        350.0, 0.0, 10_000.0, "compact round pieces up to this size are openings or flakes, not hair, um"
    )
    blob_fill_fraction: float = _p(
        0.45, 0.0, 1.0, "a piece filling at least this share of its bounding box is compact, fraction"
    )
    blob_aspect_ratio: float = _p(
        2.0, 1.0, 100.0, "a piece whose bounding box is at most this elongated is compact, ratio"
    )
    reference_window_um: float = _p(
        600.0, 0.0, 100_000.0, "scale of the local skin colour the contrast is taken against (0: whole photo), um"
    )
    smoothing_widths: float = _p(
        0.35, 0.0, 2.0, "Gaussian smoothing before detection, in thinnest shaft widths"
    )
    min_smoothing_px: float = _p(0.7, 0.0, 10.0, "smallest detection smoothing, px")
    fraction_smoothing_px: float = _p(
        0.5, 0.0, 5.0, "Gaussian smoothing of the contrast before the hair fraction, px"
    )
    seed_threshold_sigma: float = _p(
        8.0, 1.0, 100.0, "a shaft needs pixels this far above the skin noise, in noise standard deviations"
    )
    grow_threshold_sigma: float = _p(
        3.0, 0.5, 100.0, "seeds grow through pixels this far above the skin noise, in noise standard deviations"
    )
    max_hair_chroma: float = _p(
        0.5, 0.0, 1.0,
        "normalised pixels whose largest minus smallest channel exceeds this are graphics "
        "(text, rulers, drawn lines), never hair, fraction of full scale",
    )
    blank_max_std: float = _p(
        0.0005, 0.0, 1.0,
        "areas whose luminance varies less than this are blank (a device band), fraction of full scale",
    )
    blank_window_px: int = _p(5, 3, 101, "window over which blankness is judged, px")
    blank_min_area_fraction: float = _p(
        0.005, 0.0, 1.0, "blank areas touching the border and at least this big are left out, fraction of the image"
    )
    blank_max_area_fraction: float = _p(
        0.5, 0.0, 1.0,
        "blank border areas (or coloured labels) bigger than this are the photo itself (empty, "
        "flat or colourful, which the quality flags report), not a device's band or label, and "
        "stay measured, fraction of the image",
    )
    graphic_line_min_px: int = _p(
        200, 10, 100000,
        "thin dark lines running straight along a row or column of the photo for at least this "
        "many pixels are burnt-in graphics (scale bars, rulers), painted over, px",
    )
    graphic_line_contrast: float = _p(
        0.1, 0.0, 1.0,
        "a graphic line pixel is darker than the pixels two rows (columns) to either side by at "
        "least this, fraction of full scale",
    )
    graphic_colour_min_chroma: float = _p(
        0.4, 0.0, 1.0,
        "a pixel of a line drawn in colour (a device's measuring circle or radius) has a largest "
        "minus smallest channel of at least this in the photo as loaded, fraction of full scale",
    )
    graphic_colour_min_ridge: float = _p(
        0.25, 0.0, 1.0,
        "a pixel of a line drawn in colour exceeds the chroma of both pixels "
        "graphic_colour_side_px away across it by at least this (a thin ridge of colour; a "
        "hair's edge has the hair on one side), fraction of full scale",
    )
    graphic_colour_side_px: int = _p(
        3, 1, 50,
        "how far to either side of a coloured line its sides are read; pieces of line closer "
        "than twice this are one line, which is a graphic when it spans graphic_line_min_px, px",
    )
    graphic_text_min_chroma: float = _p(
        0.6, 0.0, 1.0,
        "strokes of text have a chroma of at least this (pure colours), fraction of full scale",
    )
    graphic_text_gap_px: int = _p(
        40, 1, 1000,
        "coloured strokes that are not lines and lie closer than this are one block of text "
        "(the letters and lines of one label), px",
    )
    graphic_text_margin_px: int = _p(
        25, 0, 1000,
        "a block of at least graphic_line_min_px stroke pixels is text, and its bounding box grown "
        "by this (taking in a box drawn behind the text) is left out like the photo's edge, px",
    )
    core_percentile: float = _p(
        75.0, 50.0, 100.0, "a piece's core contrast is this percentile of its pixels' contrast, percent"
    )
    fill_hole_max_um2: float = _p(
        1600.0, 0.0, 1e6,
        "enclosed holes in the hair mask up to this area are hair (a shaft's light core); "
        "the traced cores keep them, um^2",
    )
    edge_fraction: float = _p(
        0.5, 0.05, 0.95, "a pixel is hair when at least this share of it is covered, fraction"
    )
    mask_closing_um: float = _p(
        10.0, 0.0, 100.0, "gaps inside the mask up to about twice this wide are closed, um"
    )
    skin_quantile: float = _p(
        0.25, 0.01, 0.99, "the least contrasted share of pixels used to learn the skin texture, fraction"
    )
    tail_fraction: float = _p(
        0.03, 0.001, 0.5, "the most contrasted share of pixels used to learn the hair colour, fraction"
    )
    second_hair_colour: bool = _p(
        False, None, None,
        "contrast detector: also look for hair of the other brightness (white or grey among "
        "pigmented hairs): "
        "truer density for greying hair, less steady across lights (docs/methods.md), flag",
    )
    second_colour_seed_sigma: float = _p(
        5.0, 1.0, 100.0, "seed threshold along the second hair colour, in noise standard deviations"
    )
    second_colour_min_elongation: float = _p(
        3.0, 1.0, 100.0,
        "pieces of the second hair colour must be at least this elongated (long over short axis), ratio",
    )
    second_colour_min_area_share: float = _p(
        0.1, 0.0, 100.0,
        "the second hair colour is kept only if its mask is at least this share of the first's, ratio",
    )
    noise_floor_log: float = _p(
        0.005, 1e-5, 1.0, "floor added to the skin texture spread per channel, log units"
    )
    statistics_sample_px: int = _p(
        200_000, 1000, 100_000_000, "pixels sampled for the colour statistics, px"
    )
    clipped_level_fraction: float = _p(
        0.995, 0.5, 1.0,
        "a pixel with a channel at least this share of full scale is clipped and left out of "
        "the colour statistics, fraction",
    )
    min_statistics_px: int = _p(
        1000, 1, 100_000_000,
        "unclipped sampled pixels needed to leave clipped ones out of the statistics, px",
    )
    min_shaft_width_px: float = _p(
        1.5, 1.0, 100.0,
        "photos are analysed on a copy reduced (by whole factors) while the thinnest shaft "
        "stays this wide (1.5 px: 100 px/mm, the scale the method is tuned at), px",
    )
    typical_shaft_width_um: float = _p(
        70.0, 5.0, 300.0,
        "assumed median shaft width when estimating an internal scale for uncalibrated photos, um",
    )
    uncalibrated_field_mm: float = _p(
        10.0, 0.1, 1000.0, "first-pass assumption of the image width for uncalibrated photos, mm"
    )
    min_pixels_for_scale: int = _p(
        200, 1, 10_000_000, "hair pixels needed to estimate the scale of an uncalibrated photo, px"
    )

    def __post_init__(self) -> None:
        _validate(self, "segment")
        if self.min_shaft_width_um >= self.max_shaft_width_um:
            raise ParameterError("segment.min_shaft_width_um must be below max_shaft_width_um")
        if self.method not in SEGMENT_METHODS:
            raise ParameterError(f"segment.method must be one of {', '.join(SEGMENT_METHODS)}, "
                                 f"got {self.method!r}")
        if self.grow_threshold_sigma > self.seed_threshold_sigma:
            raise ParameterError("segment.grow_threshold_sigma must not exceed seed_threshold_sigma")
        if self.learned_core_median_px % 2 == 0:
            raise ParameterError(f"segment.learned_core_median_px must be odd, "
                                 f"got {self.learned_core_median_px}")


@dataclass(frozen=True)
class TraceParams:
    """Splitting the mask into shafts and classifying them (see ``trace`` and ``docs/methods.md``)."""

    vellus_cutoff_um: float = _p(40.0, 1.0, 200.0, "shafts thinner than this are vellus, um")
    min_shaft_length_um: float = _p(
        200.0, 0.0, 10_000.0, "shorter visible shafts are not counted as hairs, um"
    )
    edge_guard_um: float = _p(
        200.0, 0.0, 10_000.0,
        "a hair emerging this close to the photo's edge may leave the field before it is long "
        "enough to count, so this strip is left out of every region (its hairs and its area); "
        "at most a quarter of the shorter side, um",
    )
    edge_guard_px: float = _p(20.0, 0.0, 10_000.0, "the same for uncalibrated photos, px")
    min_shaft_length_widths: float = _p(
        0.0, 0.0, 100.0, "shafts shorter than this many of their own widths are not counted, ratio"
    )
    follicular_unit_radius_um: float = _p(
        250.0, 0.0, 5000.0, "hairs emerging closer than this form one follicular unit, um"
    )
    typical_shaft_width_um: float = _p(
        60.0, 5.0, 300.0,
        "assumed median shaft width that sets length limits on uncalibrated photos, um",
    )
    max_bend_deg: float = _p(
        40.0, 0.0, 90.0, "largest bend of one shaft through a junction or corner, degrees"
    )
    simplify_rounds: int = _p(3, 0, 20, "rounds of junction merging and spur pruning, count")
    bridge_merge_widths: float = _p(
        1.5, 0.0, 10.0, "junctions joined by a centreline shorter than this merge, in shaft widths"
    )
    spur_prune_widths: float = _p(
        1.0, 0.0, 10.0, "free branches shorter than this off a junction are pruned, in shaft widths"
    )
    direction_skip_widths: float = _p(
        0.75, 0.0, 10.0, "an end's direction is measured from this far past a junction, in shaft widths"
    )
    direction_span_widths: float = _p(
        2.0, 0.5, 20.0, "an end's direction is measured over this length, in shaft widths"
    )
    min_corner_span_px: float = _p(
        4.0, 1.0, 100.0, "shortest arm over which a corner's turn is measured, px"
    )
    width_sample_step_px: float = _p(2.0, 0.5, 100.0, "spacing of width profiles along a shaft, px")
    profile_step_px: float = _p(0.5, 0.1, 2.0, "sample spacing along a width profile, px")
    profile_reach_widths: float = _p(
        1.0, 0.5, 5.0, "half-length of a width profile, in the widest shaft's widths"
    )
    profile_stop_fraction: float = _p(
        0.02, 0.0, 0.5, "a width profile ends where the hair fraction falls below this, fraction"
    )
    profile_rise_fraction: float = _p(
        0.2, 0.0, 1.0, "a width profile ends where the fraction rises this much again (a neighbour), fraction"
    )
    width_outlier_ratio: float = _p(
        1.3, 0.0, 10.0,
        "width profiles wider than this many times a shaft's median profile (a neighbour lying "
        "alongside, a crossing) are left out of its width (0: none; otherwise at least 1), ratio",
    )
    end_exclusion_widths: float = _p(
        1.0, 0.0, 10.0, "width profiles skip this much of each end, in shaft widths"
    )
    border_margin_widths: float = _p(
        0.75, 0.0, 10.0, "an end this close to the image edge is cut by the border, in shaft widths"
    )
    min_shaft_width_um: float = _p(
        8.0, 0.0, 200.0, "traced lines thinner than this are not hairs (drawn lines, scratches), um"
    )
    cue_length_um: float = _p(
        150.0, 1.0, 5000.0, "how far beyond a shaft end the skin is sampled for an opening, um"
    )
    cue_samples_along: int = _p(8, 2, 100, "samples along the axis beyond each end, count")
    fork_reach_um: float = _p(
        400.0, 0.0, 10_000.0,
        "a shaft stopping at a junction this close (along a shaft) to an opening left that opening, um",
    )
    fork_trunk_max_um: float = _p(
        1500.0, 0.0, 10_000.0,
        "hairs of one opening may run merged this far before they part (a fork), um",
    )
    fork_max_angle_deg: float = _p(
        35.0, 0.0, 90.0,
        "a shaft leaving a counted hair's junction within this angle of its onward direction "
        "parted from it (a fork), degrees",
    )
    cue_side_widths: float = _p(
        2.5, 1.0, 20.0, "the skin beside a shaft end is sampled this far from its axis, in shaft widths"
    )
    loose_cue_log: float = _p(
        0.3, -5.0, 5.0,
        "a shaft is never taken for a loose cut hair when the skin beyond one of its ends is "
        "this much darker than beside it (its opening seen), log units",
    )
    loose_min_angle_deg: float = _p(
        40.0, 0.0, 90.0,
        "a shaft with a free end lying across the local hair stream by more than this is a "
        "loose cut hair or a piece of one, degrees",
    )
    loose_min_coherence: float = _p(
        0.6, 0.0, 1.0,
        "the hair stream is judged only where the neighbours' directions agree at least this "
        "much (length of their mean direction on the doubled-angle circle), fraction",
    )
    stream_min_shafts: int = _p(
        3, 1, 1000,
        "the hair stream is judged only where at least this many other shafts lie within twice "
        "stream_radius_um, count",
    )
    stream_radius_um: float = _p(
        1600.0, 1.0, 100_000.0,
        "the hair stream at a shaft is the length-weighted mean direction of the other shafts, "
        "Gaussian-weighted with this standard deviation, um",
    )
    apex_cue_log: float = _p(
        0.2, -5.0, 5.0,
        "a V apex (two shafts meeting at a sharp corner) with the skin beyond it at least this much "
        "darker than beside the shafts shows their opening, log units",
    )
    flow_radius_um: float = _p(
        800.0, 0.0, 100_000.0, "neighbouring hairs within about this distance share the hair stream, um"
    )
    flow_weight: float = _p(
        1.0, 0.0, 100.0, "weight of the neighbours' emergence evidence against a shaft's own, ratio"
    )
    side_by_side_ratio: float = _p(
        0.0, 0.0, 100.0,
        "a counted shaft wider than this many times the photo's median shaft width is hairs lying "
        "side by side (0: never split), ratio",
    )
    max_side_by_side: int = _p(4, 1, 20, "most hairs one wide shaft is split into, count")
    side_by_side_percentile: float = _p(
        25.0, 0.0, 100.0,
        "a shaft's width for the side-by-side test is this percentile of its width profiles, percent",
    )
    min_reference_width_um: float = _p(
        60.0, 0.0, 1000.0,
        "the typical width wide shafts are compared with is at least this (uncalibrated photos: "
        "at the assumed typical_shaft_width_um scale), um",
    )
    min_shafts_for_reference: int = _p(
        5, 1, 10_000, "counted shafts needed before wide ones are split by the median width, count"
    )
    long_hair_tracing: str = _p(
        "auto", doc="long unclipped hair is traced again on its cores joined through the hair "
        "mask's interior (widths still read on the cores): auto (photos whose traced shafts are "
        "long, the long_hair flag of quality.max_shaft_length_mm), always or never: "
        "docs/methods.md",
    )

    def __post_init__(self) -> None:
        _validate(self, "trace")
        if self.long_hair_tracing not in LONG_HAIR_TRACING:
            raise ParameterError(f"trace.long_hair_tracing must be one of "
                                 f"{', '.join(LONG_HAIR_TRACING)}, got {self.long_hair_tracing!r}")
        if 0.0 < self.width_outlier_ratio < 1.0:
            raise ParameterError("trace.width_outlier_ratio must be 0 (off) or at least 1, "
                                 f"got {self.width_outlier_ratio}")


REGISTRATION_MODELS = ("similarity", "affine", "homography")


@dataclass(frozen=True)
class RegisterParams:
    """Aligning a follow-up photo to the baseline (see ``register`` and ``docs/compare.md``)."""

    model: str = _p("similarity", doc="transform model: similarity, affine or homography")
    feature_max_side_px: int = _p(
        1024, 200, 20_000, "matching runs on a copy reduced to this longer side, px"
    )
    max_features: int = _p(3000, 50, 100_000, "most keypoints kept per photo")
    feature_contrast_threshold: float = _p(
        0.005, 0.0, 1.0,
        "SIFT contrast threshold; low because skin texture is faint (the strongest are kept)",
    )
    match_ratio: float = _p(
        0.8, 0.3, 1.0, "a match must be this much closer than the second best (ratio test)"
    )
    ransac_threshold_px: float = _p(
        3.0, 0.1, 100.0, "a match within this distance of the fit is an inlier, full-resolution px"
    )
    hair_margin_px: int = _p(
        2, 0, 50, "hair masks are grown by this before hairs are painted out, reduced-copy px"
    )
    min_inliers: int = _p(20, 4, 100_000, "fewer inlier matches than this fails registration")
    min_inlier_ratio: float = _p(
        0.1, 0.0, 1.0, "a smaller share of inliers among matches fails registration, fraction"
    )
    max_scale_change_fraction: float = _p(
        0.25, 0.0, 10.0, "a larger |scale - 1| between the photos fails registration, fraction"
    )
    max_anisotropy_fraction: float = _p(
        0.05, 0.0, 10.0, "larger stretch or shear (singular-value ratio - 1) fails registration"
    )
    min_correlation: float = _p(
        0.3, -1.0, 1.0,
        "a lower correlation of the aligned hair-free images fails registration",
    )
    max_residual_px: float = _p(
        3.0, 0.01, 1000.0,
        "a larger median inlier residual fails registration, baseline px",
    )
    min_overlap_fraction: float = _p(
        0.25, 0.0, 1.0, "a smaller share of the baseline seen in the follow-up fails, fraction"
    )

    def __post_init__(self) -> None:
        _validate(self, "register")
        if self.model not in REGISTRATION_MODELS:
            raise ParameterError(
                f"parameter 'register.model' must be one of {', '.join(REGISTRATION_MODELS)}, "
                f"got {self.model!r}"
            )


@dataclass(frozen=True)
class CompareParams:
    """Changes between visits (see ``compare``, ``match`` and ``docs/compare.md``).

    The ``repeat_sem_*`` figures are the standard error of one capture,
    measured on phantom follow-ups without biological change (36 courses,
    seeds 600-635: hair regrown and re-clipped, camera rotated up to 7 deg,
    shifted up to 0.5 mm, zoomed up to 5 %, lighting, white balance and blur
    changed; 108 follow-ups through the whole pipeline, 184 hairs in the
    median common area) by
    ``python benchmarks/compare_accuracy.py --repeatability``, which
    re-measures them; set them from your own repeat captures when you have
    them.
    """

    common_margin_um: float = _p(
        150.0, 0.0, 10_000.0, "the common area keeps this far from every photo's edge, um"
    )
    common_margin_px: float = _p(
        10.0, 0.0, 10_000.0, "the same for uncalibrated photos, baseline px"
    )
    match_gate_um: float = _p(
        300.0, 1.0, 10_000.0,
        "counting points further apart than this along the shaft are not the same hair, um",
    )
    match_gate_px: float = _p(30.0, 0.1, 10_000.0, "the same for uncalibrated photos, baseline px")
    match_across_weight: float = _p(
        5.0, 1.0, 100.0,
        "offsets across the shaft count this many times (the gate across is gate / weight): "
        "hairs of one follicular unit sit side by side, detection errors run along the shaft",
    )
    cross_check: bool = _p(
        True, doc="an unpaired hair whose shaft the other photo shows is a detection miss, "
        "not a new or lost hair",
    )
    cross_check_min_fraction: float = _p(
        0.5, 0.0, 1.0, "share of the sampled shaft the other photo's hair mask must cover"
    )
    cross_check_span_start: float = _p(
        0.0, 0.0, 1.0, "the shaft is sampled from this fraction of its length (0 = emergence)"
    )
    cross_check_span_end: float = _p(1.0, 0.0, 1.0, "... to this fraction (1 = tip)")
    cross_check_samples: int = _p(12, 1, 1000, "points sampled along the shaft")
    cross_check_tolerance_um: float = _p(
        20.0, 0.0, 1_000.0, "the other photo's hair mask is grown by this first, um "
        "(rounded to whole px)"
    )
    cross_check_tolerance_px: int = _p(
        2, 0, 50, "the same for uncalibrated photos, px"
    )
    course_second_look: bool = _p(
        True, doc="a hair an earlier follow-up counted new, which this follow-up's hair mask "
        "shows but its detector did not count (merged with a unit mate), is new here too "
        "(with cross_check only)",
    )
    second_look_max_baseline_fraction: float = _p(
        0.2, 0.0, 1.0, "a hair of the second look (course_second_look) is new here only when "
        "the baseline's hair mask covers at most this share of its shaft (sampled as in the "
        "cross-check), fraction",
    )
    recall_correction: bool = _p(
        True, doc="percentage changes count each hair as 1 / (its photo's detector recall for "
        "its class), estimated from the hairs both visits hold (scalpmetrics.recall)",
    )
    recall_min_hairs: int = _p(
        20, 1, 1_000_000, "a class's own recall estimate needs this many hairs (else the "
        "pooled estimate, and below it again no correction), count",
    )
    recall_floor: float = _p(0.5, 0.01, 1.0, "smallest recall used, fraction")
    block_size_mm: float = _p(
        1.0, 0.05, 100.0, "side of the square blocks resampled by the bootstrap, mm"
    )
    block_size_px: float = _p(
        100.0, 4.0, 100_000.0, "the same for uncalibrated photos, baseline px"
    )
    bootstrap_samples: int = _p(1000, 50, 1_000_000, "block-bootstrap resamples")
    seed: int = _p(0, 0, 2**32 - 1, "seed of the bootstrap's random generator")
    scale_from_registration: bool = _p(
        True, doc="follow-up widths use the baseline scale times the registration scale"
    )
    repeat_reference_hair_count: int = _p(
        184, 1, 10_000_000,
        "hairs in the common area of the repeat captures the repeat_sem_* figures come from; "
        "they are scaled by sqrt(reference / baseline hairs) (counting statistics)",
    )
    repeat_sem_hair_count_pct: float = _p(
        0.67, 0.0, 100.0, "standard error of one capture's hair count, percent"
    )
    repeat_sem_terminal_count_pct: float = _p(
        0.61, 0.0, 100.0, "standard error of one capture's terminal count, percent"
    )
    repeat_sem_cumulative_thickness_pct: float = _p(
        1.71, 0.0, 100.0, "standard error of one capture's cumulative thickness, percent"
    )
    repeat_sem_coverage_points: float = _p(
        0.37, 0.0, 100.0, "standard error of one capture's coverage, percentage points"
    )

    def __post_init__(self) -> None:
        _validate(self, "compare")
        if self.cross_check_span_start >= self.cross_check_span_end:
            raise ParameterError(
                "compare.cross_check_span_start must be below cross_check_span_end"
            )


@dataclass(frozen=True)
class MarkerParams:
    """A square scale marker (ArUco or AprilTag) in view (see ``marker``)."""

    min_side_px: float = _p(20.0, 8.0, 100_000.0, "smallest marker side looked for, px")
    exclusion_margin_fraction: float = _p(
        0.25, 0.0, 10.0,
        "the marker's square grown by this share of its side, on every side, is left out "
        "of the hair analysis, fraction",
    )

    def __post_init__(self) -> None:
        _validate(self, "marker")


@dataclass(frozen=True)
class ChartParams:
    """A 24-patch ColorChecker in view (see ``colorchart``)."""

    detect: bool = _p(True, doc="look for a ColorChecker and correct colours with it when found")
    detect_max_side_px: int = _p(
        1600, 200, 100_000,
        "the chart is looked for on a copy reduced (by a whole factor) until its longer side "
        "is at most this, px",
    )
    max_fit_error_de00: float = _p(
        6.0, 0.1, 100.0,
        "a chart whose colour fit leaves a larger root-mean-square error is not used, "
        "CIEDE2000 units",
    )
    exclusion_margin_fraction: float = _p(
        0.05, 0.0, 1.0,
        "the chart's outline grown by this share of its shorter side is left out of the "
        "hair analysis, fraction",
    )
    max_patch_texture_ratio: float = _p(
        0.15, 0.0, 10.0,
        "a detection whose patches are textured is not a chart: the median spread of the "
        "luminance within a patch (its central 60 %, smoothed over patch_texture_sigma_px) over "
        "the spread between the patches' means must not exceed this, ratio",
    )
    patch_texture_sigma_px: float = _p(
        1.5, 0.0, 20.0,
        "Gaussian smoothing before a patch's texture is measured, so that sensor noise does "
        "not count as texture, px of the searched copy",
    )

    def __post_init__(self) -> None:
        _validate(self, "chart")


@dataclass(frozen=True)
class QualityParams:
    """Thresholds of the quality flags (see ``quality`` and ``docs/inputs.md``)."""

    max_blur_px: float = _p(
        2.5, 0.1, 100.0,
        "out_of_focus when the estimated edge blur (Gaussian sigma) exceeds this, px",
    )
    blur_max_pixels: int = _p(
        2_000_000, 100_000, 1_000_000_000,
        "a larger photo's blur is measured on tiles spread over it covering at most this "
        "many pixels, px",
    )
    max_blur_um: float = _p(
        15.0, 0.1, 1000.0,
        "when calibrated, the blur limit is the larger of max_blur_px and this, um",
    )
    clip_level_fraction: float = _p(
        0.98, 0.5, 1.0,
        "a pixel whose luminance is at or above this share of full scale is blown out, fraction",
    )
    max_overexposed_fraction: float = _p(
        0.05, 0.0, 1.0, "overexposed when more pixels than this are blown out, fraction"
    )
    dark_level_fraction: float = _p(
        0.02, 0.0, 0.5,
        "a pixel whose luminance is at or below this share of full scale is crushed black, fraction",
    )
    max_underexposed_fraction: float = _p(
        0.05, 0.0, 1.0, "underexposed when more pixels than this are crushed black, fraction"
    )
    glare_min_level_fraction: float = _p(
        0.9, 0.0, 1.0,
        "a glare pixel has a channel at or above this share of full scale, fraction",
    )
    glare_ratio: float = _p(
        1.25, 1.0, 100.0,
        "a glare pixel is at least this many times brighter than the local skin, ratio",
    )
    glare_max_saturation: float = _p(
        0.25, 0.0, 1.0,
        "a glare pixel is near white: (max - min) / max of its channels at most this, fraction",
    )
    glare_background_window_fraction: float = _p(
        0.25, 0.01, 1.0,
        "window of the local skin brightness, fraction of the shorter image side",
    )
    glare_min_blob_um: float = _p(
        150.0, 0.0, 10_000.0,
        "highlights narrower than this are on hair shafts and not counted as glare, um",
    )
    glare_min_blob_px: int = _p(
        9, 1, 1001,
        "the same in px, used when uncalibrated and as the smallest width, px",
    )
    max_glare_fraction: float = _p(
        0.02, 0.0, 1.0, "glare when more pixels than this are specular highlights, fraction"
    )
    min_contrast: float = _p(
        0.15, 0.0, 10.0,
        "low_contrast when the hair/scalp contrast (largest per-channel Weber contrast of "
        "the normalised medians) is below this, ratio",
    )
    min_contrast_hair_px: int = _p(
        50, 1, 1_000_000_000, "the contrast is measured only when at least this many hair pixels were found"
    )
    max_shaft_length_mm: float = _p(
        0.85, 0.01, 1000.0,
        "long_hair when the length-weighted mean visible length of the traced shafts exceeds "
        "this (clipped hair is about a millimetre long and slants into the skin), mm",
    )

    def __post_init__(self) -> None:
        _validate(self, "quality")


@dataclass(frozen=True)
class GlobalViewParams:
    """Global-view photographs: head finding, zone template, coverage (see ``globalview``)."""

    search_side_px: int = _p(
        360, 64, 4000, "the head is searched on a copy whose longer side is this, px"
    )
    work_head_radius_px: int = _p(
        200, 32, 4000,
        "coverage is measured on a copy reduced (area average in linear light) until the "
        "head's mean radius is at most this, px",
    )
    border_fraction: float = _p(
        0.03, 0.005, 0.25, "the backdrop is modelled from this outer band of the photo, fraction"
    )
    background_distance_sd: float = _p(
        5.0, 1.0, 100.0,
        "a pixel is subject when its colour is this many robust SDs from the backdrop model",
    )
    grabcut_iterations: int = _p(3, 0, 20, "GrabCut refinements of the subject mask (0 = none)")
    frame_band_top_v: float = _p(
        -0.92, -1.0, 0.0,
        "the head frame is fitted to the head's widths from this normalized height ...",
    )
    frame_band_bottom_v: float = _p(
        -0.3, -1.0, 0.0, "... down to this one (well above the ears and the shoulders)"
    )
    frame_max_misfit_fraction: float = _p(
        0.06, 0.0, 1.0,
        "the head is not found when the widths misfit the frame by more than this, "
        "root mean square, fraction of the head's half-width",
    )
    outline_refit_tolerance_fraction: float = _p(
        0.02, 0.0, 1.0,
        "the head frame refitted to the sub-pixel outline of the working copy is kept only when "
        "its centre and half-width are within this of the search copy's frame, fraction of the "
        "head radius (0 = never refit)",
    )
    shading_cell_fraction: float = _p(
        0.16, 0.02, 1.0,
        "hair and scalp levels are taken in grid cells of this size, fraction of the head "
        "diameter",
    )
    shading_min_cell_pixels: int = _p(
        12, 4, 1_000_000, "a class needs this many pixels in a cell to give a level there"
    )
    shading_iterations: int = _p(4, 1, 50, "alternations of classification and shading fit")
    shading_ridge: float = _p(
        0.002, 0.0, 100.0,
        "each shading coefficient is pulled towards zero with this share of the cells' total "
        "weight (hair and scalp cells rarely overlap: without it, a shading step between them "
        "can stand in for the hair-scalp contrast)",
    )
    hair_level_percentile: float = _p(
        10.0, 0.0, 100.0,
        "pure-hair level of a cell: the mode of its hair-class log luminances (averaged over "
        "level_smoothing_px), searched from this percentile of them",
    )
    level_smoothing_px: float = _p(
        1.0, 0.0, 50.0,
        "the pure-hair level of a cell is read from the luminance averaged with a Gaussian of "
        "this sigma over the head, px of the working copy (single pixels of dark hair in "
        "shadow are too noisy for an unbiased low quantile; 0 = no averaging)",
    )
    scalp_level_percentile: float = _p(
        90.0, 0.0, 100.0,
        "pure-scalp level of a cell: the mode of its skin-class log luminances, searched from "
        "this percentile of them",
    )
    scalp_offset_percentile: float = _p(
        90.0, 0.0, 100.0,
        "the pure-scalp level is the mode of the skin cells' levels about the fitted shading, "
        "searched from this percentile of them (hair in the gaps only darkens a cell: their "
        "mean would read the scalp too dark)",
    )
    pure_cell_share: float = _p(
        0.7, 0.0, 1.0,
        "a cell gives a hair (scalp) level only when that class is at least this share of "
        "its pixels (mixed cells bias both levels)",
    )
    min_scalp_cells: int = _p(
        3, 1, 10_000, "scalp counts as seen when at least this many cells show skin"
    )
    scalp_cells_ramp: int = _p(
        4, 1, 10_000,
        "the colour model with scalp seen gets full weight from min_scalp_cells + this - 1 "
        "skin cells; with fewer (down to min_scalp_cells) it is blended with the model "
        "without scalp, linearly in the cells (1 = a hard switch)",
    )
    seen_contrast_ramp_ratio: float = _p(
        1.5, 1.0, 100.0,
        "the colour model with scalp seen gets full weight when its scalp is at least "
        "min_seen_contrast_ratio times this brighter than pure hair; between the two it is "
        "blended with the model without scalp, linearly in the log of the contrast "
        "(1 = a hard switch)",
    )
    min_contrast_ratio: float = _p(
        1.5, 1.0, 100.0,
        "when no scalp is seen, it is taken at least this many times brighter than the hair",
    )
    min_seen_contrast_ratio: float = _p(
        2.0, 1.0, 100.0,
        "a light class whose pure level is less than this many times the pure hair's is lit "
        "hair, not scalp (the scalp is then taken as not seen)",
    )
    fallback_scalp_percentile: float = _p(
        99.5, 50.0, 100.0,
        "when no scalp is seen, its level is this percentile of the head's log luminance",
    )
    mixture_refine: bool = _p(
        True, doc="refine the pure-hair level by a mixture fit of all head pixels",
    )
    endmember_band_log: float = _p(
        0.12, 0.01, 2.0,
        "hair and scalp colours are the mean colours of pixels this close to each class "
        "level, log luminance",
    )
    rim_fraction: float = _p(
        0.94, 0.5, 1.0,
        "zones end at this normalized head radius (the outline itself is never measured)",
    )
    outline_margin_fraction: float = _p(
        0.02, 0.0, 0.2,
        "pixels this close to the subject's outline are not measured (they mix with the "
        "backdrop), fraction of the head radius",
    )
    fit_margin_fraction: float = _p(
        0.5, 0.0, 3.0,
        "the colour model is learnt from head pixels within this distance of the zones, "
        "fraction of the head radius",
    )
    min_zone_pixels: int = _p(
        40, 1, 10_000_000, "a zone with fewer measured pixels (working copy) is not measured"
    )
    thinning_window_fraction: float = _p(
        0.08, 0.005, 1.0,
        "local coverage for the thinning score: Gaussian sigma, fraction of the head radius",
    )
    thinning_full_coverage_fraction: float = _p(
        0.9, 0.0, 1.0, "local coverage at or above this adds nothing to the thinning score"
    )
    thinning_bare_coverage_fraction: float = _p(
        0.4, 0.0, 1.0, "local coverage at or below this counts fully towards the thinning score"
    )
    low_contrast_ratio: float = _p(
        2.5, 1.0, 100.0,
        "low_contrast flag when scalp and hair luminances differ by a smaller factor",
    )
    view_asymmetry_split: float = _p(
        0.6, 0.0, 1.0,
        "auto view: temporal when the colours of the lower left and right of the head differ "
        "from the top's by this relative margin (the temporal side's margin)",
    )
    view_low_hair_split: float = _p(
        0.45, 0.0, 1.0,
        "auto view: else vertex when the lower middle of the head has at least this hair "
        "fraction",
    )
    view_mid_hair_split: float = _p(
        0.35, 0.0, 1.0,
        "auto view: else midline when the middle of the head has at least this hair "
        "fraction, frontal otherwise",
    )
    view_min_margin: float = _p(
        0.2, 0.0, 1.0, "auto view: refuse to guess when a decision's relative margin is smaller"
    )
    view_flag_margin: float = _p(
        0.5, 0.0, 1.0, "auto view: flag view_uncertain when a decision's margin is smaller"
    )
    side_flag_margin: float = _p(
        0.3, 0.0, 1.0,
        "temporal view: flag side_uncertain when the face side's relative colour margin is "
        "smaller",
    )
    bootstrap_samples: int = _p(200, 10, 100_000, "block-bootstrap resamples of each zone")
    bootstrap_block_fraction: float = _p(
        0.12, 0.01, 1.0, "bootstrap block side, fraction of the head radius"
    )
    placement_sd_fraction: float = _p(
        0.02, 0.0, 0.5,
        "uncertainty of a zone's place between photos (pose, head fit), fraction of the "
        "head radius; the coverage it moves enters the zone's standard error",
    )
    repeat_sd_fraction: float = _p(
        0.005, 0.0, 1.0,
        "photo-to-photo SD of a zone's coverage that no single photo shows (pose, light, "
        "head fit), added to every change interval; set it from your own repeat photos",
    )
    interval_level: float = _p(0.95, 0.5, 0.9999, "confidence level of change intervals")
    share_visit_seen_weight: bool = _p(
        True,
        doc="compare: when the visits' blends of the colour models with and without scalp seen "
            "differ, every visit is analysed again with the mean of their weights (one head "
            "does not switch between the two models with a small change of pose or light)",
    )
    share_visit_contrast: bool = _p(
        True,
        doc="compare: the shading fits of the visits whose scalp is seen are pulled towards "
            "one scalp/hair contrast (the mean of their own, log), which steadies the "
            "shading's tilt",
    )
    visit_contrast_weight: float = _p(
        0.1, 0.0, 1000.0,
        "compare: weight of the shared contrast in each visit's shading fit, share of the "
        "cells' total weight (squared)",
    )
    contrast_mismatch_ratio: float = _p(
        2.0, 1.0, 1000.0,
        "flag contrast_mismatch when the scalp/hair contrasts of the visits of one head "
        "differ by more than this factor",
    )
    seed: int = _p(0, 0, 2**31 - 1, "seed of the robust fits and the bootstrap")

    def __post_init__(self) -> None:
        _validate(self, "globalview")
        if self.frame_band_top_v >= self.frame_band_bottom_v:
            raise ParameterError("globalview.frame_band_top_v must be above frame_band_bottom_v")
        if self.thinning_bare_coverage_fraction >= self.thinning_full_coverage_fraction:
            raise ParameterError(
                "globalview.thinning_bare_coverage_fraction must be below "
                "thinning_full_coverage_fraction"
            )


@dataclass(frozen=True)
class Params:
    """All parameters of an analysis. Immutable; build variants with
    :meth:`from_dict` or :func:`dataclasses.replace`."""

    load: LoadParams = field(default_factory=LoadParams)
    calibration: CalibrationParams = field(default_factory=CalibrationParams)
    normalize: NormalizeParams = field(default_factory=NormalizeParams)
    segment: SegmentParams = field(default_factory=SegmentParams)
    trace: TraceParams = field(default_factory=TraceParams)
    register: RegisterParams = field(default_factory=RegisterParams)
    compare: CompareParams = field(default_factory=CompareParams)
    marker: MarkerParams = field(default_factory=MarkerParams)
    chart: ChartParams = field(default_factory=ChartParams)
    quality: QualityParams = field(default_factory=QualityParams)
    globalview: GlobalViewParams = field(default_factory=GlobalViewParams)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Params":
        """Build from a nested mapping such as a parsed JSON config file.

        Raises
        ------
        ParameterError
            On an unknown group or key, a wrong type or a value out of range.
        """
        data = data or {}
        if not isinstance(data, dict):
            raise ParameterError("parameters must be a mapping of groups")
        groups = {f.name: f for f in dataclasses.fields(cls)}
        built: dict[str, Any] = {}
        for group, values in data.items():
            if group not in groups:
                raise ParameterError(f"unknown parameter group {group!r}")
            if not isinstance(values, dict):
                raise ParameterError(f"parameter group {group!r} must be a mapping")
            group_cls = get_type_hints(cls)[group]
            known = {f.name for f in dataclasses.fields(group_cls)}
            for key in values:
                if key not in known:
                    raise ParameterError(f"unknown parameter '{group}.{key}'")
            built[group] = group_cls(**values)
        return cls(**built)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain mapping of every parameter (the provenance record)."""
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` (first 16 hex digits)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def describe() -> list[tuple[str, Any, Any, Any, str]]:
    """Every parameter as ``(dotted_name, default, min, max, description)``,
    for documentation and ``scalpmetrics params``."""
    rows = []
    for group in dataclasses.fields(Params):
        group_cls = get_type_hints(Params)[group.name]
        for f in dataclasses.fields(group_cls):
            rows.append(
                (f"{group.name}.{f.name}", f.default, f.metadata["min"], f.metadata["max"],
                 f.metadata["doc"])
            )
    return rows
