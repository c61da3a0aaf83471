"""Specifications of phantoms and courses, and the checks of their arguments.

Holds the public vocabularies (hair colours, treatment responses, the vellus
cut-off), :class:`PhantomSpec` and :class:`CourseSpec` with their validation,
and :func:`conditions`, the benchmark grid of specification overrides.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scalpmetrics.errors import ParameterError

HAIR_COLOURS = ("black", "dark_brown", "brown", "red", "blonde", "grey", "white")
RESPONSES = ("strong", "mild", "none", "worsening")
#: Shafts at least this wide are terminal hairs (the usual clinical cut-off), um.
VELLUS_CUTOFF_UM = 40.0


def _fail(owner: str, name: str, message: str) -> None:
    raise ParameterError(f"{owner}.{name} {message}")


def _check_number(owner: str, name: str, value: Any, lo: float, hi: float,
                  integer: bool = False) -> None:
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        _fail(owner, name, f"must be {kind}, got {value!r}")
    if integer and not float(value).is_integer():
        _fail(owner, name, f"must be {kind}, got {value!r}")
    if not math.isfinite(value) or not lo <= value <= hi:
        _fail(owner, name, f"= {value!r} is outside its range [{lo}, {hi}]")


def _check_tuple(owner: str, obj: Any, name: str, length: int | None, lo: float,
                 hi: float) -> None:
    value = getattr(obj, name)
    if not isinstance(value, (tuple, list)) or (length is not None and len(value) != length):
        want = f"{length} numbers" if length else "a list of numbers"
        _fail(owner, name, f"must be {want}, got {value!r}")
    for v in value:
        _check_number(owner, name, v, lo, hi)
    object.__setattr__(obj, name, tuple(float(v) for v in value))


def _check_bool(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        _fail(owner, name, f"must be true or false, got {value!r}")


def _replace(obj: Any, overrides: dict[str, Any]) -> Any:
    known = {f.name for f in dataclasses.fields(obj)}
    for key in overrides:
        if key not in known:
            raise ParameterError(f"unknown {type(obj).__name__} field {key!r}")
    return dataclasses.replace(obj, **overrides)


@dataclass(frozen=True)
class PhantomSpec:
    """Everything that defines one phantom. Validated on construction.

    Attributes
    ----------
    seed : int
        Seed of every random choice (>= 0).
    width_px, height_px : int
        Image size, 32-8192 px.
    px_per_mm : float
        Nominal scale on the scalp (before the camera ``scale``), 40-400 px/mm.
    skin_type : int
        Fitzpatrick skin type 1 (very light) to 6 (very dark).
    hair_colour : str
        One of :data:`HAIR_COLOURS`. ``grey`` is a mixture of pigmented and
        white shafts, ``white`` mostly white shafts.
    clipped : bool
        Phototrichogram (hair clipped close to the skin) or unclipped hair.
    clip_length_mm : float
        Length of a clipped shaft above the skin (0.2-5 mm); the visible
        length is foreshortened by the exit angle and jittered by 15 %.
    unclipped_length_mm : tuple of float
        Range of terminal shaft lengths of unclipped hair (1-50 mm).
    density_per_cm2 : float
        Expected hairs per cm2 of scalp (0-600).
    vellus_fraction : float
        Probability that a hair is vellus at the first visit.
    terminal_width_um, vellus_width_um : tuple of float
        Uniform ranges of shaft widths; terminal >= 40 um > vellus.
    unit_size_probs : tuple of float
        P(1, 2, ... hairs per follicular unit); at most 4 entries, sum 1.
    empty_opening_fraction : float
        Extra follicular openings without hair, as a fraction of occupied ones.
    loose_hairs : int
        Number of loose cut hairs lying on the skin (never counted).
    tattoo_dot : bool
        Draw a dark marker dot at the centre of the patch (phototrichogram tattoo).
    rotation_deg, scale, shift_mm, perspective
        Camera pose: rotation about the image centre (counter-clockwise as
        displayed), scale about the centre (0.5-2), camera shift on the
        scalp (mm), and perspective tilt (relative scale change from the
        centre to the right / bottom edge, each within +-0.2).
    illumination_gradient : float
        Strength of the linear light fall-off plus vignetting (0-0.8).
    white_balance : tuple of float
        Per-channel RGB gain (0.5-1.5).
    blur_sigma_px, defocus_radius_px : float
        Gaussian blur and disc (defocus) blur of the optics, px.
    noise_sigma : float
        Sensor noise standard deviation, 8-bit levels.
    noise_seed : int or None
        Seed of the sensor noise alone (>= 0): another value is another
        photograph of the same scene, pose and light. ``None`` draws the
        noise with the rest of the camera from ``seed``.
    jpeg_quality : int or None
        JPEG round trip at this quality (1-100), or none.
    supersample : int
        Sub-pixels per pixel side for the exact hair coverage (1-8).
    scale_specks_per_mm2 : float
        Mean number of whitish scale and dandruff specks per mm2 of skin (0-50).
    sheen_factor : float
        Multiplies the skin type's glistening of the micro-relief (0-3).
    """

    seed: int = 0
    width_px: int = 1280
    height_px: int = 1024
    px_per_mm: float = 100.0
    skin_type: int = 2
    hair_colour: str = "black"
    clipped: bool = True
    clip_length_mm: float = 1.0
    unclipped_length_mm: tuple[float, float] = (2.0, 6.0)
    density_per_cm2: float = 180.0
    vellus_fraction: float = 0.15
    terminal_width_um: tuple[float, float] = (60.0, 100.0)
    vellus_width_um: tuple[float, float] = (15.0, 35.0)
    unit_size_probs: tuple[float, ...] = (0.35, 0.4, 0.2, 0.05)
    empty_opening_fraction: float = 0.15
    loose_hairs: int = 0
    tattoo_dot: bool = False
    rotation_deg: float = 0.0
    scale: float = 1.0
    shift_mm: tuple[float, float] = (0.0, 0.0)
    perspective: tuple[float, float] = (0.0, 0.0)
    illumination_gradient: float = 0.15
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    blur_sigma_px: float = 0.6
    defocus_radius_px: float = 0.0
    noise_sigma: float = 2.0
    noise_seed: int | None = None
    jpeg_quality: int | None = 92
    supersample: int = 4
    scale_specks_per_mm2: float = 0.35
    sheen_factor: float = 1.0

    def __post_init__(self) -> None:
        o = "PhantomSpec"
        for name, lo, hi, integer in (
            ("seed", 0, 2**63 - 1, True), ("width_px", 32, 8192, True),
            ("height_px", 32, 8192, True), ("px_per_mm", 40.0, 400.0, False),
            ("skin_type", 1, 6, True), ("clip_length_mm", 0.2, 5.0, False),
            ("density_per_cm2", 0.0, 600.0, False), ("vellus_fraction", 0.0, 1.0, False),
            ("empty_opening_fraction", 0.0, 2.0, False), ("loose_hairs", 0, 500, True),
            ("rotation_deg", -180.0, 180.0, False), ("scale", 0.5, 2.0, False),
            ("illumination_gradient", 0.0, 0.8, False), ("blur_sigma_px", 0.0, 10.0, False),
            ("defocus_radius_px", 0.0, 20.0, False), ("noise_sigma", 0.0, 50.0, False),
            ("supersample", 1, 8, True), ("scale_specks_per_mm2", 0.0, 50.0, False),
            ("sheen_factor", 0.0, 3.0, False),
        ):
            value = getattr(self, name)
            _check_number(o, name, value, lo, hi, integer)
            object.__setattr__(self, name, int(value) if integer else float(value))
        if self.hair_colour not in HAIR_COLOURS:
            _fail(o, "hair_colour", f"must be one of {', '.join(HAIR_COLOURS)}, "
                  f"got {self.hair_colour!r}")
        _check_bool(o, "clipped", self.clipped)
        _check_bool(o, "tattoo_dot", self.tattoo_dot)
        _check_tuple(o, self, "unclipped_length_mm", 2, 1.0, 50.0)
        _check_tuple(o, self, "terminal_width_um", 2, VELLUS_CUTOFF_UM, 250.0)
        _check_tuple(o, self, "vellus_width_um", 2, 5.0, VELLUS_CUTOFF_UM)
        for name in ("unclipped_length_mm", "terminal_width_um", "vellus_width_um"):
            lo, hi = getattr(self, name)
            if lo > hi:
                _fail(o, name, f"must be (low, high) with low <= high, got {(lo, hi)!r}")
        if self.vellus_width_um[1] >= VELLUS_CUTOFF_UM:
            _fail(o, "vellus_width_um", f"must stay below {VELLUS_CUTOFF_UM} um")
        _check_tuple(o, self, "unit_size_probs", None, 0.0, 1.0)
        if not 1 <= len(self.unit_size_probs) <= 4 or abs(sum(self.unit_size_probs) - 1) > 1e-6:
            _fail(o, "unit_size_probs", "must be 1 to 4 probabilities summing to 1")
        _check_tuple(o, self, "shift_mm", 2, -50.0, 50.0)
        _check_tuple(o, self, "perspective", 2, -0.2, 0.2)
        _check_tuple(o, self, "white_balance", 3, 0.5, 1.5)
        if self.jpeg_quality is not None:
            _check_number(o, "jpeg_quality", self.jpeg_quality, 1, 100, integer=True)
            object.__setattr__(self, "jpeg_quality", int(self.jpeg_quality))
        if self.noise_seed is not None:
            _check_number(o, "noise_seed", self.noise_seed, 0, 2**63 - 1, integer=True)
            object.__setattr__(self, "noise_seed", int(self.noise_seed))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PhantomSpec":
        """Rebuild from :meth:`to_dict` output; unknown keys are errors."""
        if not isinstance(data, dict):
            raise ParameterError("PhantomSpec must be built from a mapping")
        return _replace(cls(), data)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping of every field."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class CourseSpec:
    """A treatment course: visits of one scalp patch.

    Attributes
    ----------
    seed : int
        Seed of the course (scalp, poses, hair changes, rendering).
    n_visits : int
        Number of visits including the baseline (1-12).
    base : PhantomSpec
        The scalp, hair and camera of the baseline; its ``seed`` is ignored.
    response : str
        ``strong``, ``mild``, ``none`` or ``worsening``; the per-visit
        fractions are :data:`RESPONSE_FRACTIONS`.
    max_rotation_deg, max_shift_mm, max_scale_change : float
        Follow-up poses differ from the baseline by a rotation uniform in
        +-max_rotation_deg, a camera shift uniform in a disc of radius
        max_shift_mm and a relative scale change uniform in
        +-max_scale_change.
    vary_lighting : bool
        Follow-ups get their own illumination, white balance and blur.
    regrow : bool
        Between visits clipped hair is regrown and re-clipped (lengths and
        cut angles change) and unclipped hair is combed differently. False
        for repeat captures of the same moment.
    """

    seed: int = 0
    n_visits: int = 4
    base: PhantomSpec = PhantomSpec()
    response: str = "strong"
    max_rotation_deg: float = 7.0
    max_shift_mm: float = 0.5
    max_scale_change: float = 0.05
    vary_lighting: bool = True
    regrow: bool = True

    def __post_init__(self) -> None:
        o = "CourseSpec"
        for name, lo, hi, integer in (
            ("seed", 0, 2**63 - 1, True), ("n_visits", 1, 12, True),
            ("max_rotation_deg", 0.0, 45.0, False), ("max_shift_mm", 0.0, 10.0, False),
            ("max_scale_change", 0.0, 0.3, False),
        ):
            value = getattr(self, name)
            _check_number(o, name, value, lo, hi, integer)
            object.__setattr__(self, name, int(value) if integer else float(value))
        if not isinstance(self.base, PhantomSpec):
            _fail(o, "base", f"must be a PhantomSpec, got {type(self.base).__name__}")
        if self.response not in RESPONSES:
            _fail(o, "response", f"must be one of {', '.join(RESPONSES)}, got {self.response!r}")
        _check_bool(o, "vary_lighting", self.vary_lighting)
        _check_bool(o, "regrow", self.regrow)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["base"] = self.base.to_dict()
        return d


def conditions() -> list[dict[str, Any]]:
    """The benchmark grid: every skin type x hair colour x clipped/unclipped.

    Returns
    -------
    list of dict
        84 mappings of :class:`PhantomSpec` overrides (``skin_type``,
        ``hair_colour``, ``clipped``, ``seed``), in a fixed order with seeds
        0, 1, 2, ...; pass one as ``make_phantom(**condition)``.
    """
    grid = [(t, c, k) for k in (True, False) for t in range(1, 7) for c in HAIR_COLOURS]
    return [dict(skin_type=t, hair_colour=c, clipped=k, seed=i)
            for i, (t, c, k) in enumerate(grid)]
