"""Seeded synthetic trichoscopy phantoms with exact ground truth.

A phantom is a close-up photo of a patch of scalp (as taken with a
trichoscope or phototrichogram camera) together with the exact truth about
every hair in it. Everything is drawn from ``numpy.random.default_rng``
streams derived from the seed, so the same specification always gives the
same bytes.

Coordinates
-----------
Image coordinates are pixels, ``x`` = column and ``y`` = row, with pixel
centres on integers: pixel ``(row, col)`` covers ``[col - 0.5, col + 0.5) x
[row - 0.5, row + 0.5)``. The image field is therefore
``-0.5 <= x < width_px - 0.5`` and ``-0.5 <= y < height_px - 0.5``.

*Scalp coordinates* are the same kind of pixels on the skin itself, at the
nominal scale ``PhantomSpec.px_per_mm`` before the camera pose; at the
identity pose they coincide with image coordinates. A 3x3 homography
(``PhantomTruth.scalp_to_image``) maps scalp coordinates to image
coordinates; it is the pose of the camera: rotation about the image centre
(positive = counter-clockwise as displayed), scale, shift of the camera on
the scalp and a small perspective tilt.

What a hair looks like
----------------------
Each hair leaves the skin at its *emergence point*: the centre of the base
of the visible shaft, inside a follicular opening (a soft, slightly darker,
bluish-grey dot). Behind the emergence point (opposite to the visible
shaft) the part of the hair still under the skin shows as a bluish-grey
shadow that fades with depth, as in real trichoscopy. Hairs of one
follicular unit (1-4 hairs) leave the same opening side by side, about one
shaft width apart, and diverge by a few degrees. Follicular openings
without hair (empty openings) are drawn too, as darker or whitish dots.

* Clipped (phototrichogram) hair: short straight shafts from the emergence
  point to an obliquely cut tip; the visible length is the clip length
  foreshortened by the angle at which the hair leaves the skin.
* Unclipped hair: long, gently curved shafts that cross the field and each
  other; many emerge outside the field.
* Loose hairs: cut fragments lying on the skin, cut at both ends, with no
  follicular opening. They are hair pixels but are never counted.

Counting rule (the truth)
-------------------------
A hair **counts** if and only if its emergence point lies inside the image
field (see Coordinates) and it is not a loose hair. A hair whose shaft
crosses the image but which emerges outside it does not count; a counted
hair hidden under another one still counts. ``is_terminal`` is
``width_um >= 40``.

Hair coverage (exact)
---------------------
Shafts are polygons (a centreline offset by half the shaft width on each
side, with a square base at the emergence point and an oblique cut tip).
Each pixel is divided into ``supersample x supersample`` sub-pixels;
``hair_fraction`` is the fraction of sub-pixel centres inside the union of
all shaft polygons (exact point-in-polygon; every shaft in view counts as
hair, including loose hairs and hairs emerging outside the field), and the
image is composited from exactly that coverage, so partial pixels at shaft
edges carry the right mix of hair and skin. ``hair_mask`` is
``hair_fraction > 0.5`` and ``coverage_fraction`` the mean of
``hair_fraction`` over the image.

Treatment courses
-----------------
:func:`make_course` renders several visits of the same scalp patch: skin
texture, follicular openings and emergence points are fixed in scalp
coordinates; each visit has its own camera pose, lighting and hair state
(new, lost, thickened or miniaturised hairs; clipped hair regrown to
similar lengths, unclipped hair combed differently). Changes are reported
over the *common area*, the part of the scalp visible in every visit; see
:func:`make_course` for the exact definitions.

Examples
--------
>>> ph = make_phantom(seed=3, width_px=320, height_px=256, px_per_mm=80.0)
>>> ph.image.shape, ph.image.dtype
((256, 320, 3), dtype('uint8'))
>>> ph.truth.hair_count == sum(h.counted for h in ph.truth.hairs)
True
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from scalpmetrics.errors import ParameterError
from scalpmetrics.measure import point_in_mask

HAIR_COLOURS = ("black", "dark_brown", "brown", "red", "blonde", "grey", "white")
RESPONSES = ("strong", "mild", "none", "worsening")
#: Shafts at least this wide are terminal hairs (the usual clinical cut-off), um.
VELLUS_CUTOFF_UM = 40.0

# --- appearance tables (sRGB in [0, 1]) --------------------------------------------
#: Base skin tone per Fitzpatrick type as seen through a trichoscope.
_SKIN_RGB = {
    1: (0.93, 0.86, 0.84),
    2: (0.90, 0.81, 0.76),
    3: (0.83, 0.70, 0.60),
    4: (0.69, 0.51, 0.38),
    5: (0.51, 0.35, 0.25),
    6: (0.33, 0.22, 0.16),
}
#: Per skin type: (erythema, pigment-network strength, sheen strength, pores are white dots).
_SKIN_TRAITS = {
    1: (0.05, 0.00, 0.38, False),
    2: (0.04, 0.03, 0.38, False),
    3: (0.025, 0.07, 0.35, False),
    4: (0.015, 0.12, 0.26, True),
    5: (0.008, 0.18, 0.24, True),
    6: (0.005, 0.22, 0.22, True),
}
#: Pigmented shaft colour per hair colour name.
_HAIR_RGB = {
    "black": (0.10, 0.09, 0.11),
    "dark_brown": (0.21, 0.14, 0.10),
    "brown": (0.38, 0.25, 0.16),
    "red": (0.56, 0.27, 0.13),
    "blonde": (0.78, 0.66, 0.45),
    "white": (0.92, 0.91, 0.88),
}
#: "grey" and "white" are mixtures of pigmented and unpigmented shafts:
#: (pigmented base, P(fully white), P(partly pigmented)); the rest are pigmented.
_MIXED_HAIR = {"grey": ("dark_brown", 0.45, 0.15), "white": ("dark_brown", 0.85, 0.10)}
_UNPIGMENTED_RGB = (0.92, 0.91, 0.88)
#: Vellus hairs are hypopigmented: their colour moves this far towards _PALE_RGB.
_VELLUS_PALLOR = 0.35
_PALE_RGB = (0.88, 0.82, 0.74)
#: Shaft cross-section: edge darkening, body half-width, highlight offset/half-width/strength.
_EDGE_SHADE = 0.72
_BODY_HALF_WIDTH = 0.62
_HIGHLIGHT_OFFSET, _HIGHLIGHT_HALF_WIDTH, _HIGHLIGHT_STRENGTH = 0.25, 0.14, 0.16
#: Multiplicative tint of the follicular openings and of hair seen through the skin.
_OPENING_DARKEN_RGB = (0.26, 0.22, 0.13)
_SUBSURFACE_DARKEN_RGB = (0.60, 0.50, 0.30)

# --- hair geometry --------------------------------------------------------------------
_CLIPPED_COS_ELEVATION = (0.55, 0.9)  # foreshortening of a clipped shaft leaving the skin
_LENGTH_JITTER = 0.15  # per-visit relative jitter of clipped lengths
_CUT_ANGLE_DEG = 35.0  # obliqueness of cut tips
_UNIT_SPREAD_DEG = (4.0, 12.0)  # divergence per slot of a follicular unit
_UNIT_SPACING_WIDTHS = 0.9  # emergence spacing within a unit, in terminal widths
_SUBSURFACE_MM = (0.25, 0.6)  # length of the shaft visible under the skin
_CURVATURE_RADIUS_MM = (8.0, 40.0)  # unclipped shafts
_VELLUS_LENGTH_FACTOR = (0.25, 0.5)  # unclipped vellus hairs are shorter
_COMB_DEG = 20.0  # unclipped hair: per-visit change of combing direction
_LOOSE_LENGTH_MM = (0.3, 1.6)
_CURVE_STEP_PX = 6.0  # centreline sampling of curved shafts (scalp px)
_DIRECTION_FIELD = (0.35, 6.0, 15.0)  # amplitude (rad), wavelength range (mm)

# --- treatment responses: per follow-up visit, fractions of the previous visit's hairs
#: (new / present, lost / present, thickened / vellus, miniaturised / terminal)
RESPONSE_FRACTIONS = {
    "strong": (0.06, 0.01, 0.10, 0.0),
    "mild": (0.03, 0.015, 0.05, 0.0),
    "none": (0.0, 0.0, 0.0, 0.0),
    "worsening": (0.01, 0.05, 0.0, 0.06),
}
_NEW_HAIR_TERMINAL_P = 0.5

# --- random streams (default_rng([seed, stream, ...])) ---------------------------------
_S_SITES, _S_SKIN, _S_GEOMETRY, _S_LOOSE, _S_RENDER, _S_POSE, _S_CHANGE, _S_NOISE = range(8)

_FIX_BITS = 8  # fixed-point fraction bits for cv2 polygon drawing
_MIN_DEPTH = 0.1  # shafts are cut where the pose's homogeneous depth falls below this
_STRIP_SUBPIXELS = 1 << 21  # size of one rasterisation strip, sub-pixels


# =====================================================================================
# Specifications
# =====================================================================================


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
    """Exact figures of one phantom (see the module docstring for definitions).

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
        common area; keys are listed in :func:`make_course`.
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


# =====================================================================================
# Small geometry helpers
# =====================================================================================


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


def _apply_h(h: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Map points ``(..., 2)`` through homography ``h``."""
    x, y = xy[..., 0], xy[..., 1]
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    return np.stack([(h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w,
                     (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w], axis=-1)


def _translate(tx: float, ty: float) -> np.ndarray:
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def pose_homography(spec: PhantomSpec) -> np.ndarray:
    """The scalp-to-image homography of a specification's camera pose.

    Parameters
    ----------
    spec : PhantomSpec

    Returns
    -------
    ndarray, shape (3, 3)
        ``image_xy ~ H @ (scalp_x, scalp_y, 1)``.
    """
    w, h = spec.width_px, spec.height_px
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    th = math.radians(spec.rotation_deg)
    c, s = math.cos(th) * spec.scale, math.sin(th) * spec.scale
    rs = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    sx, sy = (v * spec.px_per_mm for v in spec.shift_mm)
    affine = _translate(cx, cy) @ rs @ _translate(-cx - sx, -cy - sy)
    px, py = spec.perspective
    tilt = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [px / (w / 2.0), py / (h / 2.0), 1.0]])
    return _translate(cx, cy) @ tilt @ _translate(-cx, -cy) @ affine


def _field_corners(spec: PhantomSpec) -> np.ndarray:
    w, h = spec.width_px, spec.height_px
    return np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])


def _inside_field(xy: np.ndarray, spec: PhantomSpec) -> np.ndarray:
    x, y = xy[..., 0], xy[..., 1]
    return (x >= -0.5) & (x < spec.width_px - 0.5) & (y >= -0.5) & (y < spec.height_px - 0.5)


def _clipped_lengths(p0: np.ndarray, p1: np.ndarray, spec: PhantomSpec) -> np.ndarray:
    """Length of each segment ``p0 -> p1`` (arrays ``(..., 2)``) inside the image field
    (Liang-Barsky clipping)."""
    d = p1 - p0
    lo = np.array([-0.5, -0.5])
    hi = np.array([spec.width_px - 0.5, spec.height_px - 0.5])
    t0 = np.zeros(d.shape[:-1])
    t1 = np.ones(d.shape[:-1])
    ok = np.ones(d.shape[:-1], bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(2):
            for p, q in ((-d[..., k], p0[..., k] - lo[k]), (d[..., k], hi[k] - p0[..., k])):
                r = q / p
                ok &= ~((p == 0) & (q < 0))
                t0 = np.where(p < 0, np.maximum(t0, r), t0)
                t1 = np.where(p > 0, np.minimum(t1, r), t1)
    frac = np.where(ok, np.clip(t1 - t0, 0.0, 1.0), 0.0)
    return frac * np.hypot(d[..., 0], d[..., 1])


# =====================================================================================
# Noise fields
# =====================================================================================


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell_x: float,
                  cell_y: float | None = None, angle: float = 0.0) -> np.ndarray:
    """Zero-mean, unit-variance smooth random field, float32 ``shape``.

    ``cell_x`` / ``cell_y`` are the feature sizes in px along / across the
    direction ``angle`` (radians)."""
    h, w = shape
    cell_y = cell_x if cell_y is None else cell_y
    side = int(math.ceil(math.hypot(h, w))) + 4 if angle else None
    gh_px, gw_px = (side, side) if side else (h, w)
    gw = max(2, int(math.ceil(gw_px / max(cell_x, 1.0))) + 3)
    gh = max(2, int(math.ceil(gh_px / max(cell_y, 1.0))) + 3)
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    fx, fy = max(cell_x, 1.0), max(cell_y, 1.0)
    up = cv2.resize(grid, (int(gw * fx), int(gh * fy)), interpolation=cv2.INTER_CUBIC)
    if side:
        ucx, ucy = up.shape[1] / 2.0, up.shape[0] / 2.0
        rot = cv2.getRotationMatrix2D((ucx, ucy), math.degrees(angle), 1.0)
        rot[0, 2] -= ucx - w / 2.0
        rot[1, 2] -= ucy - h / 2.0
        field = cv2.warpAffine(up, rot, (w, h), flags=cv2.INTER_LINEAR)
    else:
        ox, oy = int(fx), int(fy)
        field = up[oy:oy + h, ox:ox + w]
    if cell_x < 1.5:
        field = cv2.GaussianBlur(field, (0, 0), max(cell_x, 0.5) * 0.5)
    mean, std = cv2.meanStdDev(field)
    field = field - np.float32(mean[0, 0])
    field *= np.float32(1.0 / (std[0, 0] + 1e-6))
    return field


def _cell_network(rng: np.random.Generator, shape: tuple[int, int], cell_px: float,
                  line_px: float) -> np.ndarray:
    """Honeycomb network (pigment network), float32 in [0, 1], 1 on the cell walls."""
    h, w = shape
    n = max(1, int(h * w / cell_px**2))
    seeds = np.ones((h, w), np.uint8)
    seeds[rng.integers(0, h, n), rng.integers(0, w, n)] = 0
    _, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    walls = np.zeros((h, w), np.float32)
    walls[:, 1:] += labels[:, 1:] != labels[:, :-1]
    walls[1:, :] += labels[1:, :] != labels[:-1, :]
    walls = cv2.GaussianBlur(np.minimum(walls, 1.0), (0, 0), max(line_px, 0.5))
    return walls / (walls.max() + 1e-6)


def _dots(layer: np.ndarray, xy: np.ndarray, radius_px: np.ndarray,
          value: np.ndarray | float = 1.0, axes_ratio: np.ndarray | None = None,
          angle_deg: np.ndarray | None = None) -> None:
    """Draw filled anti-aliased discs (or ellipses) into a float32 layer in place."""
    f = 1 << 4
    vals = np.broadcast_to(np.asarray(value, np.float64), (len(xy),))
    for i, ((x, y), r) in enumerate(zip(xy, radius_px)):
        centre = (int(round(x * f)), int(round(y * f)))
        if axes_ratio is None:
            cv2.circle(layer, centre, max(1, int(round(r * f))), float(vals[i]), -1,
                       cv2.LINE_AA, 4)
        else:
            axes = (max(1, int(round(r * f))), max(1, int(round(r * axes_ratio[i] * f))))
            ang = float(angle_deg[i]) if angle_deg is not None else 0.0
            cv2.ellipse(layer, centre, axes, ang, 0, 360, float(vals[i]), -1, cv2.LINE_AA, 4)


# =====================================================================================
# The scalp patch: follicle sites, slots and skin texture in scalp coordinates
# =====================================================================================


@dataclass(frozen=True, eq=False)
class _Scalp:
    """A patch of scalp. Slots are flattened ``site * unit_max + k``."""

    px_per_mm: float
    unit_max: int
    site_xy: np.ndarray  # (n, 2) scalp px
    slot_xy: np.ndarray  # (m, 2) emergence points
    slot_angle: np.ndarray  # (m,) radians, direction of the visible shaft
    slot_cos_elev: np.ndarray  # (m,)
    slot_width_um: np.ndarray  # (m, 2): vellus, terminal
    slot_rgb: np.ndarray  # (m, 3) pigmented colour of the terminal shaft
    slot_sub_px: np.ndarray  # (m,) subsurface length
    slot_length_px: np.ndarray  # (m, 2) unclipped lengths: vellus, terminal
    base_present: np.ndarray  # (m,) bool
    base_terminal: np.ndarray  # (m,) bool
    raster: np.ndarray  # (h, w, 3) float32 skin colour
    raster_to_scalp: np.ndarray  # 3x3
    raster_px_per_mm: float


def _hex_sites(rng: np.random.Generator, extent: tuple[float, float, float, float],
               sites_per_px2: float) -> np.ndarray:
    """Jittered hexagonal lattice of follicle sites inside ``extent`` (x0, y0, x1, y1)."""
    if sites_per_px2 <= 0:
        return np.zeros((0, 2))
    x0, y0, x1, y1 = extent
    a = math.sqrt(2.0 / (math.sqrt(3.0) * sites_per_px2))
    radius = math.hypot(x1 - x0, y1 - y0) / 2.0 + 2 * a
    ni, nj = int(2 * radius / a) + 2, int(2 * radius / (a * math.sqrt(3) / 2)) + 2
    j, i = np.mgrid[0:nj, 0:ni]
    px = (i - ni / 2.0) * a + (j % 2) * a / 2.0
    py = (j - nj / 2.0) * a * math.sqrt(3) / 2.0
    th = rng.uniform(0, 2 * math.pi)
    cx = (x0 + x1) / 2.0 + rng.uniform(0, a)
    cy = (y0 + y1) / 2.0 + rng.uniform(0, a)
    pts = np.stack([cx + px * math.cos(th) - py * math.sin(th),
                    cy + px * math.sin(th) + py * math.cos(th)], -1).reshape(-1, 2)
    r = 0.38 * a * np.sqrt(rng.random(len(pts)))
    phi = rng.uniform(0, 2 * math.pi, len(pts))
    pts = pts + np.stack([r * np.cos(phi), r * np.sin(phi)], -1)
    keep = (pts[:, 0] >= x0) & (pts[:, 0] < x1) & (pts[:, 1] >= y0) & (pts[:, 1] < y1)
    return pts[keep]


def _slot_colours(rng: np.random.Generator, name: str, n: int) -> np.ndarray:
    """Pigmented shaft colour per slot, (n, 3) in [0, 1]."""
    if name in _MIXED_HAIR:
        base_name, p_white, p_partial = _MIXED_HAIR[name]
        base = np.array(_HAIR_RGB[base_name])
        u = rng.random(n)
        whiteness = np.where(u < p_white, 1.0,
                             np.where(u < p_white + p_partial, rng.uniform(0.3, 0.8, n), 0.0))
        dark = rng.random(n) < 0.5
        base = np.where(dark[:, None], np.array(_HAIR_RGB["black"]), base)
        rgb = base * (1 - whiteness[:, None]) + np.array(_UNPIGMENTED_RGB) * whiteness[:, None]
    else:
        rgb = np.tile(np.array(_HAIR_RGB[name]), (n, 1))
    rgb = rgb * rng.uniform(0.88, 1.12, (n, 1)) * rng.uniform(0.96, 1.04, (n, 3))
    return np.clip(rgb, 0.0, 1.0)


@dataclass(eq=False)
class _SkinLayers:
    """Skin appearance as single-channel layers, composed once into RGB."""

    tone: np.ndarray  # (3,) base colour
    lum: np.ndarray  # (h, w) brightness multiplier
    whiten: np.ndarray  # (h, w) blend towards white
    darken: list[tuple[np.ndarray, tuple[float, float, float]]]  # (layer, per-channel)

    def compose(self) -> np.ndarray:
        """RGB raster (h, w, 3) float32."""
        h, w = self.lum.shape
        dark = np.zeros((h, w, 3), np.float32)
        for i in range(0, len(self.darken), 4):  # cv2.transform mixes up to 4 channels
            chunk = self.darken[i:i + 4]
            stack = cv2.merge([layer for layer, _ in chunk])
            tints = np.array([t for _, t in chunk], np.float32).T
            dark += cv2.transform(stack, tints).reshape(h, w, 3)
        rgb = 1 - dark
        rgb *= self.lum[..., None]
        rgb *= self.tone.astype(np.float32)
        alpha = np.clip(self.whiten, 0, 1)[..., None]
        rgb += (np.float32(0.96) - rgb) * alpha
        return rgb


def _blurred_dots(shape: tuple[int, int], sigma_px: float, xy: np.ndarray,
                  radius_px: np.ndarray, value: np.ndarray | float = 1.0,
                  axes_ratio: np.ndarray | None = None,
                  angle_deg: np.ndarray | None = None) -> np.ndarray:
    layer = np.zeros(shape, np.float32)
    _dots(layer, xy, radius_px, value, axes_ratio, angle_deg)
    return cv2.GaussianBlur(layer, (0, 0), sigma_px)


def _skin_texture(rng: np.random.Generator, shape: tuple[int, int], ppm: float,
                  skin_type: int, specks_per_mm2: float, sheen_factor: float) -> _SkinLayers:
    """Skin of one Fitzpatrick type: tone, mottling, erythema, pigment network,
    micro-relief with glistening ridges, pores, scale specks, vessels and pigment dots."""
    h, w = shape
    erythema, network, sheen, white_pores = _SKIN_TRAITS[skin_type]
    sheen *= sheen_factor
    tone = np.array(_SKIN_RGB[skin_type]) * rng.uniform(0.96, 1.04, 3)
    lum = (1 + 0.045 * _smooth_noise(rng, shape, 1.5 * ppm)
           + 0.03 * _smooth_noise(rng, shape, 0.35 * ppm)
           + 0.035 * _smooth_noise(rng, shape, 0.09 * ppm))
    red = erythema * np.clip(1 + _smooth_noise(rng, shape, 2.0 * ppm), 0, 3)
    darken = [(red, (0.0, 0.6, 0.45))]
    if network > 0:
        lum *= 1 - network * _cell_network(rng, shape, 0.22 * ppm, 0.02 * ppm)
    # micro-relief: a height field of anisotropic wrinkles and skin-line furrows, lit
    # from one side; its slopes facing the light glisten (whitish scale, sebum)
    angle = rng.uniform(0, math.pi)
    height = (_smooth_noise(rng, shape, 0.5 * ppm, 0.15 * ppm, angle)
              + 0.6 * _smooth_noise(rng, shape, 0.2 * ppm, 0.06 * ppm, angle + 0.4)
              + 0.3 * _smooth_noise(rng, shape, 0.04 * ppm))
    lines = _smooth_noise(rng, shape, 1.2 * ppm, 0.35 * ppm, angle + rng.uniform(0.5, 1.2))
    height -= 1.2 * np.exp(-(lines / 0.12) ** 2)
    light = rng.uniform(0, 2 * math.pi)
    slope = (math.cos(light) * cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3)
             + math.sin(light) * cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3))
    slope /= float(cv2.meanStdDev(slope)[1][0, 0]) + 1e-6
    lum *= 1 + 0.05 * np.clip(slope, -3, 3)
    patch = np.clip(0.45 + 0.6 * _smooth_noise(rng, shape, 0.6 * ppm), 0, 1)
    whiten = sheen * patch * np.clip(slope - 0.8, 0, 2.5) ** 1.5 / np.float32(2.5**1.5)
    area_mm2 = h * w / ppm**2
    # pores: pinpoint dots, darker on light skin, white on dark skin
    n = rng.poisson(3.0 * area_mm2)
    pores = _blurred_dots(shape, 0.008 * ppm + 0.3, rng.uniform((0, 0), (w, h), (n, 2)),
                          rng.uniform(0.012, 0.028, n) * ppm, rng.uniform(0.5, 1.0, n))
    if white_pores:
        whiten += 0.45 * pores
    else:
        lum *= 1 - 0.16 * pores
    # scale and dandruff specks
    n = rng.poisson(specks_per_mm2 * area_mm2)
    whiten += 0.55 * _blurred_dots(
        shape, 0.01 * ppm + 0.3, rng.uniform((0, 0), (w, h), (n, 2)),
        rng.uniform(0.02, 0.12, n) * ppm, rng.uniform(0.4, 1.0, n),
        rng.uniform(0.3, 0.9, n), rng.uniform(0, 180, n))
    # small vessels (red dots and commas) and pigment dots
    n = rng.poisson(0.06 * area_mm2)
    darken.append((_blurred_dots(
        shape, 0.01 * ppm + 0.3, rng.uniform((0, 0), (w, h), (n, 2)),
        rng.uniform(0.02, 0.06, n) * ppm, rng.uniform(0.5, 1.0, n),
        rng.uniform(0.25, 1.0, n), rng.uniform(0, 180, n)), (0.05, 0.45, 0.40)))
    n = rng.poisson(0.05 * area_mm2)
    darken.append((_blurred_dots(
        shape, 0.008 * ppm + 0.3, rng.uniform((0, 0), (w, h), (n, 2)),
        rng.uniform(0.015, 0.04, n) * ppm, rng.uniform(0.4, 0.9, n)), (0.40, 0.48, 0.52)))
    return _SkinLayers(tone=tone, lum=lum, whiten=whiten, darken=darken)


def _make_scalp(spec: PhantomSpec, seed: int, specs: list[PhantomSpec],
                poses: list[np.ndarray]) -> _Scalp:
    """Follicle sites, slots with fixed attributes, and the skin raster covering every
    visit's field."""
    ppm = spec.px_per_mm
    corners = np.concatenate([_apply_h(np.linalg.inv(h), _field_corners(s))
                              for h, s in zip(poses, specs)])
    fx0, fy0 = corners.min(0) - 4.0
    fx1, fy1 = corners.max(0) + 4.0
    reach = (spec.clip_length_mm * (1 + _LENGTH_JITTER) if spec.clipped
             else spec.unclipped_length_mm[1]) * ppm
    reach = max(reach, _LOOSE_LENGTH_MM[1] * ppm, _SUBSURFACE_MM[1] * ppm) + 4.0
    rng = _rng(seed, _S_SITES)
    probs = np.array(spec.unit_size_probs)
    unit_max = len(probs)
    mean_unit = float((np.arange(1, unit_max + 1) * probs).sum())
    site_density = spec.density_per_cm2 / mean_unit * (1 + spec.empty_opening_fraction)
    sites = _hex_sites(rng, (fx0 - reach, fy0 - reach, fx1 + reach, fy1 + reach),
                       site_density / (100.0 * ppm**2))
    n = len(sites)
    occupied = rng.random(n) >= spec.empty_opening_fraction / (1 + spec.empty_opening_fraction)
    size = np.where(occupied, 1 + rng.choice(unit_max, n, p=probs), 0)
    # smooth hair-stream direction field plus per-unit scatter
    base_angle = rng.uniform(0, 2 * math.pi)
    amp, lam0, lam1 = _DIRECTION_FIELD
    site_angle = base_angle + rng.normal(0, math.radians(12), n)
    for _ in range(2):
        k_dir = rng.uniform(0, 2 * math.pi)
        k = 2 * math.pi / (rng.uniform(lam0, lam1) * ppm)
        site_angle += amp / 2 * np.sin(k * (sites[:, 0] * math.cos(k_dir)
                                            + sites[:, 1] * math.sin(k_dir))
                                       + rng.uniform(0, 2 * math.pi))
    m = n * unit_max
    k_idx = np.tile(np.arange(unit_max), n)
    site_of = np.repeat(np.arange(n), unit_max)
    w_term = rng.uniform(*spec.terminal_width_um, m)
    w_vell = rng.uniform(*spec.vellus_width_um, m)
    # emergence points: side by side across the site direction, about one width apart
    order = np.array([0, 1, -1, 2])[k_idx]
    spacing = _UNIT_SPACING_WIDTHS * np.repeat(
        w_term.reshape(n, unit_max).max(1), unit_max) * ppm / 1000.0
    ang = site_angle[site_of]
    normal = np.stack([-np.sin(ang), np.cos(ang)], -1)
    along = np.stack([np.cos(ang), np.sin(ang)], -1)
    slot_xy = (sites[site_of] + normal * (order * spacing)[:, None]
               + along * (rng.uniform(-0.3, 0.3, m) * spacing)[:, None])
    spread = np.sign(order) * rng.uniform(*np.radians(_UNIT_SPREAD_DEG), m)
    slot_angle = ang + spread + rng.normal(0, math.radians(1.5), m)
    lengths = rng.uniform(*spec.unclipped_length_mm, m) * ppm
    slot_length = np.stack([lengths * rng.uniform(*_VELLUS_LENGTH_FACTOR, m), lengths], -1)
    present = k_idx < size[site_of]
    terminal = rng.random(m) >= spec.vellus_fraction
    scalp_kw = dict(
        px_per_mm=ppm, unit_max=unit_max, site_xy=sites, slot_xy=slot_xy,
        slot_angle=slot_angle, slot_cos_elev=rng.uniform(*_CLIPPED_COS_ELEVATION, m),
        slot_width_um=np.stack([w_vell, w_term], -1),
        slot_rgb=_slot_colours(rng, spec.hair_colour, m),
        slot_sub_px=rng.uniform(*_SUBSURFACE_MM, m) * ppm, slot_length_px=slot_length,
        base_present=present, base_terminal=terminal,
    )
    # skin raster at the finest visit scale, covering every visit's field
    rho = max(s.scale for s in specs)
    rw, rh = int(math.ceil((fx1 - fx0) * rho)) + 1, int(math.ceil((fy1 - fy0) * rho)) + 1
    raster_to_scalp = np.array([[1 / rho, 0, fx0], [0, 1 / rho, fy0], [0, 0, 1.0]])
    skin_rng = _rng(seed, _S_SKIN)
    skin = _skin_texture(skin_rng, (rh, rw), ppm * rho, spec.skin_type,
                         spec.scale_specks_per_mm2, spec.sheen_factor)
    tattoo = (np.array([(spec.width_px - 1) / 2.0, (spec.height_px - 1) / 2.0])
              if spec.tattoo_dot else None)
    _add_openings(skin, skin_rng, sites, size, w_term.reshape(n, unit_max).max(1, initial=0.0),
                  raster_to_scalp, ppm * rho, tattoo)
    raster = skin.compose()
    return _Scalp(raster=raster, raster_to_scalp=raster_to_scalp, raster_px_per_mm=ppm * rho,
                  **scalp_kw)


def _add_openings(skin: _SkinLayers, rng: np.random.Generator, sites: np.ndarray,
                  size: np.ndarray, widest_um: np.ndarray, raster_to_scalp: np.ndarray,
                  rppm: float, tattoo_xy: np.ndarray | None) -> None:
    """Add the follicular openings (fixed per site; empty ones darker or whitish),
    peripilar scale and the optional tattoo dot (scalp coordinates) to the layers."""
    shape = skin.lum.shape
    to_raster = np.linalg.inv(raster_to_scalp)
    xy = _apply_h(to_raster, sites) if len(sites) else np.zeros((0, 2))
    n = len(xy)
    radius = (rng.uniform(0.035, 0.06, n) + 0.9 * widest_um / 1000.0) * rppm
    light = (size == 0) & (rng.random(n) < 0.4)
    strength = rng.uniform(0.45, 0.9, n)
    sigma = (0.25 * float(np.median(radius)) if n else 1.0) + 0.3
    skin.darken.append((_blurred_dots(shape, sigma, xy[~light], radius[~light],
                                      strength[~light]), _OPENING_DARKEN_RGB))
    skin.whiten += 0.3 * _blurred_dots(shape, sigma, xy[light], 0.8 * radius[light],
                                       strength[light])
    # whitish peripilar scale around a third of the occupied openings
    scaly = np.nonzero((size > 0) & (rng.random(n) < 0.35))[0]
    k = 3 * len(scaly)
    centres = (np.repeat(xy[scaly], 3, 0)
               + rng.normal(0, 1, (k, 2)) * 1.5 * np.repeat(radius[scaly], 3)[:, None])
    skin.whiten += 0.5 * _blurred_dots(
        shape, 0.012 * rppm + 0.3, centres, rng.uniform(0.02, 0.07, k) * rppm,
        rng.uniform(0.3, 0.8, k), rng.uniform(0.3, 0.8, k), rng.uniform(0, 180, k))
    if tattoo_xy is not None:
        skin.darken.append((_blurred_dots(shape, 0.04 * rppm, _apply_h(to_raster, tattoo_xy)[None],
                                          np.array([0.22 * rppm]), 0.85), (0.85, 0.8, 0.6)))


# =====================================================================================
# Hair state changes
# =====================================================================================


def _next_state(rng: np.random.Generator, present: np.ndarray, terminal: np.ndarray,
                response: str) -> tuple[np.ndarray, np.ndarray]:
    """One follow-up step: lose, grow, thicken and miniaturise hairs (see
    :data:`RESPONSE_FRACTIONS`)."""
    f_new, f_lost, f_thick, f_mini = RESPONSE_FRACTIONS[response]
    present, terminal = present.copy(), terminal.copy()
    alive = np.nonzero(present)[0]
    n_alive = len(alive)
    lost = rng.choice(alive, int(round(f_lost * n_alive)), replace=False)
    absent = np.nonzero(~present)[0]
    new = rng.choice(absent, min(len(absent), int(round(f_new * n_alive))), replace=False)
    present[lost] = False
    survivors = np.nonzero(present)[0]
    vellus = survivors[~terminal[survivors]]
    thick = rng.choice(vellus, int(round(f_thick * len(vellus))), replace=False)
    terms = survivors[terminal[survivors]]
    mini = rng.choice(terms, int(round(f_mini * len(terms))), replace=False)
    terminal[thick] = True
    terminal[mini] = False
    present[new] = True
    terminal[new] = rng.random(len(new)) < _NEW_HAIR_TERMINAL_P
    return present, terminal


# =====================================================================================
# Rendering one visit
# =====================================================================================


@dataclass(frozen=True, eq=False)
class _Shafts:
    """Centrelines of the hairs drawn in one visit (scalp coordinates)."""

    lines: list[np.ndarray]  # per hair (k, 2)
    width_um: np.ndarray
    rgb: np.ndarray  # (n, 3) base colour
    cut_start: np.ndarray  # radians; 0 = square end
    cut_tip: np.ndarray
    hair_id: np.ndarray
    unit_id: np.ndarray
    loose: np.ndarray
    emergence: np.ndarray  # (n, 2) scalp coords


def _follicle_shafts(scalp: _Scalp, present: np.ndarray, terminal: np.ndarray,
                     spec: PhantomSpec, rng: np.random.Generator) -> _Shafts:
    m = len(present)
    # draws for every slot, so a slot's geometry does not depend on the others' state
    length_jitter = rng.uniform(1 - _LENGTH_JITTER, 1 + _LENGTH_JITTER, m)
    angle_jitter = rng.normal(0, math.radians(2.0), m)
    cut = rng.uniform(-1, 1, m) * math.radians(_CUT_ANGLE_DEG)
    comb = rng.uniform(-1, 1) * math.radians(_COMB_DEG) + rng.normal(0, math.radians(6), m)
    radius = rng.uniform(*_CURVATURE_RADIUS_MM, m) * scalp.px_per_mm
    kappa0 = rng.choice([-1.0, 1.0], m) / radius
    kappa1 = rng.normal(0, 0.3, m) * kappa0 / (scalp.slot_length_px[:, 1] + 1.0)
    idx = np.nonzero(present)[0]
    tsel = terminal[idx].astype(int)
    width = scalp.slot_width_um[idx, tsel]
    rgb = scalp.slot_rgb[idx]
    rgb = np.where(tsel[:, None] == 1, rgb,
                   rgb * (1 - _VELLUS_PALLOR) + np.array(_PALE_RGB) * _VELLUS_PALLOR)
    e = scalp.slot_xy[idx]
    if spec.clipped:
        ang = scalp.slot_angle[idx] + angle_jitter[idx]
        length = (spec.clip_length_mm * scalp.px_per_mm * scalp.slot_cos_elev[idx]
                  * length_jitter[idx])
        tip = e + np.stack([np.cos(ang), np.sin(ang)], -1) * length[:, None]
        lines = [np.stack([a, b]) for a, b in zip(e, tip)]
    else:
        ang = scalp.slot_angle[idx] + comb[idx]
        length = scalp.slot_length_px[idx, tsel]
        k = max(2, int(math.ceil(float(length.max(initial=0)) / _CURVE_STEP_PX)) + 1)
        t = np.linspace(0, 1, k)[None, :] * length[:, None]
        theta = ang[:, None] + kappa0[idx, None] * t + 0.5 * kappa1[idx, None] * t**2
        step = np.diff(t, axis=1)
        mid = 0.5 * (theta[:, 1:] + theta[:, :-1])
        dx = np.concatenate([np.zeros((len(idx), 1)), np.cumsum(np.cos(mid) * step, 1)], 1)
        dy = np.concatenate([np.zeros((len(idx), 1)), np.cumsum(np.sin(mid) * step, 1)], 1)
        pts = np.stack([e[:, 0, None] + dx, e[:, 1, None] + dy], -1)
        lines = list(pts)
    return _Shafts(lines=lines, width_um=width, rgb=rgb, cut_start=np.zeros(len(idx)),
                   cut_tip=cut[idx] if spec.clipped else np.zeros(len(idx)),
                   hair_id=idx, unit_id=idx // scalp.unit_max,
                   loose=np.zeros(len(idx), bool), emergence=e)


def _loose_shafts(scalp: _Scalp, spec: PhantomSpec, h_pose: np.ndarray,
                  rng: np.random.Generator) -> _Shafts:
    """Loose cut fragments centred uniformly in the field seen through ``h_pose``."""
    n = spec.loose_hairs
    centre_img = rng.uniform((-0.5, -0.5), (spec.width_px - 0.5, spec.height_px - 0.5), (n, 2))
    centre = _apply_h(np.linalg.inv(h_pose), centre_img) if n else np.zeros((0, 2))
    ang = rng.uniform(0, 2 * math.pi, n)
    half = 0.5 * rng.uniform(*_LOOSE_LENGTH_MM, n) * scalp.px_per_mm
    d = np.stack([np.cos(ang), np.sin(ang)], -1) * half[:, None]
    lines = [np.stack([c - v, c + v]) for c, v in zip(centre, d)]
    cuts = rng.uniform(-1, 1, (2, n)) * math.radians(_CUT_ANGLE_DEG)
    return _Shafts(lines=lines, width_um=rng.uniform(*spec.terminal_width_um, n),
                   rgb=_slot_colours(rng, spec.hair_colour, n), cut_start=cuts[0],
                   cut_tip=cuts[1], hair_id=len(scalp.slot_xy) + np.arange(n),
                   unit_id=np.full(n, -1), loose=np.ones(n, bool), emergence=centre)


def _outline(line: np.ndarray, half_px: float, offset_px: float, cut_start: float,
             cut_tip: float) -> np.ndarray:
    """Closed outline ``(2k, 2)`` of a band of half-width ``half_px`` whose centre is the
    centreline shifted by ``offset_px`` along its left normal; ends cut at the given
    angles (0 = square)."""
    tang = np.gradient(line, axis=0) if len(line) > 2 else np.repeat(
        (line[1:] - line[:1]), len(line), 0)
    tang = tang / np.linalg.norm(tang, axis=1, keepdims=True)
    normal = np.stack([-tang[:, 1], tang[:, 0]], -1)
    centre = line + normal * offset_px
    left = centre + normal * half_px
    right = centre - normal * half_px
    for end, cut in ((0, cut_start), (-1, cut_tip)):  # the cut line passes the centreline end
        left[end] += tang[end] * ((offset_px + half_px) * math.tan(cut))
        right[end] += tang[end] * ((offset_px - half_px) * math.tan(cut))
    return np.concatenate([left, right[::-1]])


def _coverage_strip(edges: np.ndarray, row0: int, row1: int, wsub: int) -> np.ndarray:
    """Exact sub-pixel coverage of the union of polygons in sub-rows [row0, row1).

    ``edges`` is ``(E, 5)``: x0, y0, x1, y1 (sub-pixel units, centres on
    integers) and the sign of the polygon's shoelace area, so that every
    polygon's inside has winding number +1. Each edge crossing a sub-row adds
    its direction to the winding number of every sub-pixel centre to its
    right; a centre is covered when the summed winding number is positive."""
    out = np.zeros((row1 - row0, wsub), bool)
    if not len(edges):
        return out
    x0, y0, x1, y1, sign = edges.T
    ylo, yhi = np.minimum(y0, y1), np.maximum(y0, y1)
    r_start = np.maximum(np.ceil(ylo), row0).astype(np.int64)
    r_stop = np.minimum(np.ceil(yhi), row1).astype(np.int64)
    n = np.maximum(r_stop - r_start, 0)
    keep = n > 0
    if not keep.any():
        return out
    n, r_start = n[keep], r_start[keep]
    x0, y0, x1, y1, sign = x0[keep], y0[keep], x1[keep], y1[keep], sign[keep]
    e = np.repeat(np.arange(len(n)), n)
    first = np.cumsum(n) - n
    rows = r_start[e] + (np.arange(int(n.sum())) - first[e])
    x = x0[e] + (rows - y0[e]) * ((x1 - x0) / (y1 - y0))[e]
    cols = np.clip(np.ceil(x), 0, wsub).astype(np.int64)
    d = np.where(y1 > y0, -1, 1)[e] * sign[e].astype(np.int64)
    flat = (rows - row0) * (wsub + 1) + cols
    diff = np.zeros((row1 - row0) * (wsub + 1), np.int32)
    np.add.at(diff, flat, d.astype(np.int32))
    winding = np.cumsum(diff.reshape(row1 - row0, wsub + 1), axis=1, dtype=np.int32)
    return winding[:, :wsub] > 0


def _hair_layer(polys: list[np.ndarray], bands: list[list[tuple[np.ndarray, tuple]]],
                spec: PhantomSpec) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise shafts: exact coverage counts (H, W) float32 in [0, 1] and premultiplied
    colour (H, W, 3) float32.

    ``polys`` are the true shaft outlines in image px (coverage); ``bands`` the
    coloured cross-section bands per shaft in drawing order (appearance)."""
    s, w_img, h_img = spec.supersample, spec.width_px, spec.height_px
    wsub = w_img * s
    to_sub = lambda p: (p + 0.5) * s - 0.5  # noqa: E731 - image px -> sub-pixel centres
    edge_list, y_lo, y_hi = [], [], []
    for p in polys:
        q = to_sub(p)
        nxt = np.roll(q, -1, axis=0)
        area2 = float(np.sum(q[:, 0] * nxt[:, 1] - nxt[:, 0] * q[:, 1]))
        edge_list.append(np.column_stack([q, nxt, np.full(len(q), 1.0 if area2 > 0 else -1.0)]))
        y_lo.append(q[:, 1].min())
        y_hi.append(q[:, 1].max())
    edges = np.concatenate(edge_list) if edge_list else np.zeros((0, 5))
    fixed = [[(np.round(to_sub(b) * (1 << _FIX_BITS)).astype(np.int32), c) for b, c in hb]
             for hb in bands]
    y_lo_a, y_hi_a = np.array(y_lo), np.array(y_hi)
    rows_per_strip = max(1, _STRIP_SUBPIXELS // wsub // s)
    coverage = np.zeros((h_img, w_img), np.float32)
    premult = np.zeros((h_img, w_img, 3), np.float32)
    for r0 in range(0, h_img, rows_per_strip):
        r1 = min(h_img, r0 + rows_per_strip)
        a, b = r0 * s, r1 * s
        cov = _coverage_strip(edges, a, b, wsub)
        if not cov.any():
            continue
        canvas = np.zeros((b - a, wsub, 3), np.uint8)
        shift = np.array([0, a << _FIX_BITS], np.int32)
        for k in np.nonzero((y_hi_a >= a - 2) & (y_lo_a <= b + 2))[0]:
            for pts, colour in fixed[k]:
                cv2.fillPoly(canvas, [pts - shift], colour, cv2.LINE_8, _FIX_BITS)
        # every sub-pixel weighs s*s, so the box mean is the exact integer count
        cov8 = cov.view(np.uint8) * np.uint8(s * s)
        counts = cv2.resize(cov8, (w_img, r1 - r0), interpolation=cv2.INTER_AREA)
        coverage[r0:r1] = counts.astype(np.float32) / np.float32(s * s)
        masked = cv2.bitwise_and(canvas, canvas, mask=cov.view(np.uint8))
        premult[r0:r1] = cv2.resize(masked, (w_img, r1 - r0),
                                    interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return coverage, premult


def _band_colours(rgb: np.ndarray) -> tuple[tuple, tuple, tuple]:
    body = np.clip(rgb, 0, 1)
    edge = body * _EDGE_SHADE
    light = body + (1 - body) * _HIGHLIGHT_STRENGTH
    return tuple(tuple(float(v) * 255 for v in c) for c in (edge, body, light))  # type: ignore


def _render(scalp: _Scalp, present: np.ndarray, terminal: np.ndarray, spec: PhantomSpec,
            h_pose: np.ndarray, seed: int, visit: int, geom_visit: int,
            geom_pose: np.ndarray) -> Phantom:
    """Render one visit. Hair geometry (lengths, cut angles, combing, loose hairs,
    stacking order) comes from visit ``geom_visit`` (whose pose is ``geom_pose``), so
    repeat captures of one moment share it; lighting and noise come from ``visit``."""
    render_rng = _rng(seed, _S_RENDER, visit)
    follicle = _follicle_shafts(scalp, present, terminal, spec,
                                _rng(seed, _S_GEOMETRY, geom_visit))
    loose = _loose_shafts(scalp, spec, geom_pose, _rng(seed, _S_LOOSE, geom_visit))
    hairs = [(follicle, i) for i in range(len(follicle.lines))]
    hairs += [(loose, i) for i in range(len(loose.lines))]
    w_img, h_img = spec.width_px, spec.height_px
    # z-order: loose fragments lie under the standing / combed shafts
    order = list(_rng(seed, _S_GEOMETRY, geom_visit, 1).permutation(len(follicle.lines)))
    order = list(range(len(follicle.lines), len(hairs))) + order
    polys, bands, truths = [], [], []
    dilate_px = 1.0 / (spec.supersample * spec.scale)
    margin = 2.0 + float(np.max(spec.terminal_width_um)) * scalp.px_per_mm / 2000.0 * 2.0
    for j in order:
        group, i = hairs[j]
        line = group.lines[i]
        # a strong tilt maps very distant scalp behind the camera: keep the shaft up to there
        depth = line @ h_pose[2, :2] + h_pose[2, 2]
        if depth.min() < _MIN_DEPTH:
            keep = int(np.argmax(depth < _MIN_DEPTH))
            if keep < 2:
                continue
            line = line[:keep]
        img_line = _apply_h(h_pose, line)
        emergence_img = _apply_h(h_pose, group.emergence[i])
        in_field = bool(_inside_field(emergence_img, spec)) and not group.loose[i]
        lo, hi = img_line.min(0) - margin * spec.scale, img_line.max(0) + margin * spec.scale
        if not in_field and (hi[0] < -1 or hi[1] < -1 or lo[0] > w_img or lo[1] > h_img):
            continue
        visible = float(_clipped_lengths(img_line[:-1], img_line[1:], spec).sum())
        half = group.width_um[i] * scalp.px_per_mm / 2000.0
        cs, ct = float(group.cut_start[i]), float(group.cut_tip[i])
        edge, body, light = _band_colours(group.rgb[i])
        polys.append(_apply_h(h_pose, _outline(line, half, 0.0, cs, ct)))
        bands.append([
            (_apply_h(h_pose, _outline(line, half + dilate_px, 0.0, cs, ct)), edge),
            (_apply_h(h_pose, _outline(line, half * _BODY_HALF_WIDTH, 0.0, cs, ct)), body),
            (_apply_h(h_pose, _outline(line, half * _HIGHLIGHT_HALF_WIDTH,
                                       half * _HIGHLIGHT_OFFSET, cs, ct)), light),
        ])
        if visible > 0 or in_field:
            tip_img = img_line[-1]
            truths.append(HairTruth(
                hair_id=int(group.hair_id[i]), unit_id=int(group.unit_id[i]),
                emergence_xy_px=(float(emergence_img[0]), float(emergence_img[1])),
                emergence_scalp_xy_px=(float(group.emergence[i][0]),
                                       float(group.emergence[i][1])),
                tip_xy_px=(float(tip_img[0]), float(tip_img[1])),
                emerges_in_field=bool(_inside_field(emergence_img, spec)),
                loose=bool(group.loose[i]), width_um=float(group.width_um[i]),
                visible_length_px=visible,
                is_terminal=bool(group.width_um[i] >= VELLUS_CUTOFF_UM),
                colour_rgb=tuple(int(round(v * 255)) for v in group.rgb[i]),  # type: ignore
            ))
    coverage, premult = _hair_layer(polys, bands, spec)
    skin = _visit_skin(scalp, follicle, spec, h_pose)
    ppm = spec.px_per_mm * spec.scale
    along = 1 + 0.08 * _smooth_noise(render_rng, (h_img, w_img), 0.5 * ppm)
    img = skin * (1 - coverage[..., None]) + np.clip(premult * along[..., None], 0, 1)
    image = _camera(img, spec, render_rng)
    truth = _truth(truths, coverage, spec, h_pose)
    return Phantom(image=image, hair_mask=coverage > 0.5, hair_fraction=coverage, truth=truth)


def _visit_skin(scalp: _Scalp, follicle: _Shafts, spec: PhantomSpec,
                h_pose: np.ndarray) -> np.ndarray:
    """Skin of this visit in image px: the fixed raster plus the shafts seen through
    the skin behind each emergence point, warped through the pose."""
    raster = scalp.raster.copy()
    to_raster = np.linalg.inv(scalp.raster_to_scalp)
    sub = np.zeros(raster.shape[:2], np.float32)
    f = 1 << 4
    n = len(follicle.lines)
    if n:
        start = follicle.emergence
        direction = np.stack([l[1] - l[0] for l in follicle.lines])
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        depth = scalp.slot_sub_px[follicle.hair_id]
        lum = follicle.rgb @ np.array([0.299, 0.587, 0.114])
        strength = 0.8 * (1 - lum) ** 1.5
        width_r = follicle.width_um * scalp.raster_px_per_mm / 1000.0
        pieces = 6
        for p in range(pieces, 0, -1):  # faint (deep) first, strong (shallow) last
            a = _apply_h(to_raster, start - direction * (depth * p / pieces)[:, None])
            b = _apply_h(to_raster, start - direction * (depth * (p - 1) / pieces)[:, None])
            fade = 1 - (p - 1) / pieces
            for i in range(n):
                cv2.line(sub, (int(a[i, 0] * f), int(a[i, 1] * f)),
                         (int(b[i, 0] * f), int(b[i, 1] * f)), float(strength[i] * fade),
                         max(1, int(round(1.2 * width_r[i]))), cv2.LINE_AA, 4)
        sub = cv2.GaussianBlur(sub, (0, 0), 0.012 * scalp.raster_px_per_mm + 0.4)
        raster *= 1 - sub[..., None] * np.array(_SUBSURFACE_DARKEN_RGB, np.float32)
    m = h_pose @ scalp.raster_to_scalp
    return cv2.warpPerspective(raster, m, (spec.width_px, spec.height_px),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _camera(img: np.ndarray, spec: PhantomSpec, rng: np.random.Generator) -> np.ndarray:
    """Lighting, white balance, optics blur, sensor noise, 8-bit quantisation and JPEG."""
    h, w = img.shape[:2]
    # the light field is smooth: evaluate it on a coarse grid and interpolate
    step = 8
    yy, xx = np.mgrid[0:h + step:step, 0:w + step:step].astype(np.float32)
    cx, cy, half_diag = (w - 1) / 2.0, (h - 1) / 2.0, math.hypot(w, h) / 2.0
    th = rng.uniform(0, 2 * math.pi)
    ramp = ((xx - cx) * math.cos(th) + (yy - cy) * math.sin(th)) / half_diag
    r2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / half_diag**2
    g = spec.illumination_gradient
    coarse = (1 + g * ramp) * (1 - 0.6 * g * r2)
    light = cv2.resize(coarse, (coarse.shape[1] * step, coarse.shape[0] * step),
                       interpolation=cv2.INTER_LINEAR)[:h, :w]
    gain = np.array(spec.white_balance, np.float32) * np.float32(255.0)
    out = img.astype(np.float32) * (light[..., None] * gain)
    if spec.defocus_radius_px > 0:
        r = spec.defocus_radius_px
        k = int(math.ceil(r))
        yk, xk = np.mgrid[-k:k + 1, -k:k + 1]
        disc = np.clip(r + 0.5 - np.hypot(xk, yk), 0, 1).astype(np.float32)
        out = cv2.filter2D(out, -1, disc / disc.sum(), borderType=cv2.BORDER_REFLECT)
    if spec.blur_sigma_px > 0:
        out = cv2.GaussianBlur(out, (0, 0), spec.blur_sigma_px)
    if spec.noise_sigma > 0:
        noise_rng = rng if spec.noise_seed is None else _rng(spec.seed, _S_NOISE, spec.noise_seed)
        out += noise_rng.standard_normal(out.shape, np.float32) * np.float32(spec.noise_sigma)
    image = np.clip(np.round(out), 0, 255).astype(np.uint8)
    if spec.jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, spec.jpeg_quality])
        image = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return image


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


# =====================================================================================
# Public entry points
# =====================================================================================


def make_phantom(spec: PhantomSpec | None = None, **overrides: Any) -> Phantom:
    """Render one phantom.

    Parameters
    ----------
    spec : PhantomSpec, optional
        The specification (default: ``PhantomSpec()``).
    **overrides
        Fields of :class:`PhantomSpec` replacing those of ``spec``.

    Returns
    -------
    Phantom
        Image, exact hair coverage and truth. The same specification always
        gives identical bytes.

    Raises
    ------
    ParameterError
        On an unknown field or a value out of range.
    """
    spec = _replace(spec or PhantomSpec(), overrides)
    h_pose = pose_homography(spec)
    scalp = _make_scalp(spec, spec.seed, [spec], [h_pose])
    return _render(scalp, scalp.base_present, scalp.base_terminal, spec, h_pose,
                   spec.seed, 0, 0, h_pose)


def _visit_specs(spec: CourseSpec) -> list[PhantomSpec]:
    rng = _rng(spec.seed, _S_POSE)
    base = dataclasses.replace(spec.base, seed=spec.seed)
    out = [base]
    for _ in range(1, spec.n_visits):
        rot = base.rotation_deg + rng.uniform(-1, 1) * spec.max_rotation_deg
        r, a = spec.max_shift_mm * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        shift = (base.shift_mm[0] + r * math.cos(a), base.shift_mm[1] + r * math.sin(a))
        scale = base.scale * (1 + rng.uniform(-1, 1) * spec.max_scale_change)
        changes: dict[str, Any] = dict(rotation_deg=float((rot + 180) % 360 - 180),
                                       shift_mm=shift, scale=float(np.clip(scale, 0.5, 2.0)))
        if spec.vary_lighting:
            changes.update(
                illumination_gradient=float(np.clip(
                    base.illumination_gradient + rng.uniform(-0.08, 0.08), 0, 0.8)),
                white_balance=tuple(float(np.clip(v * rng.uniform(0.94, 1.06), 0.5, 1.5))
                                    for v in base.white_balance),
                blur_sigma_px=float(np.clip(base.blur_sigma_px + rng.uniform(-0.3, 0.4),
                                            0, 10)),
            )
        out.append(dataclasses.replace(base, **changes))
    return out


def _in_all_fields(scalp_xy: np.ndarray, poses: tuple[np.ndarray, ...],
                   specs: list[PhantomSpec]) -> np.ndarray:
    ok = np.ones(scalp_xy.shape[:-1], bool)
    for h, s in zip(poses, specs):
        ok &= _inside_field(_apply_h(h, scalp_xy), s)
    return ok


def _field_polygon_area(poses: tuple[np.ndarray, ...], specs: list[PhantomSpec]) -> float:
    """Area (scalp px^2) of the intersection of every visit's field in scalp coords."""
    poly = _apply_h(np.linalg.inv(poses[0]), _field_corners(specs[0])).astype(np.float32)
    for h, s in zip(poses[1:], specs[1:]):
        other = _apply_h(np.linalg.inv(h), _field_corners(s)).astype(np.float32)
        area, inter = cv2.intersectConvexConvex(poly, other)
        if inter is None or area <= 0:
            return 0.0
        poly = inter.reshape(-1, 2)
    return float(abs(cv2.contourArea(poly)))


def _change(states: list[tuple[np.ndarray, np.ndarray]], visit: int, in_common: np.ndarray,
            width_um: np.ndarray, area_mm2: float) -> dict[str, Any]:
    (p0, t0), (p1, t1) = states[0], states[visit]
    b, f = p0 & in_common, p1 & in_common
    both = b & f
    ids = lambda mask: [int(i) for i in np.nonzero(mask)[0]]  # noqa: E731
    w0 = np.where(t0, width_um[:, 1], width_um[:, 0])
    w1 = np.where(t1, width_um[:, 1], width_um[:, 0])
    nb, nf = int(b.sum()), int(f.sum())
    tb, tf = int((b & t0).sum()), int((f & t1).sum())
    pct = lambda new, old: 100.0 * (new - old) / old if old else None  # noqa: E731
    mean = lambda w, m: float(w[m].mean()) if m.any() else None  # noqa: E731
    cm2 = area_mm2 / 100.0
    change = {
        "visit": visit,
        "common_area_mm2": area_mm2,
        "baseline_hair_count": nb, "followup_hair_count": nf,
        "hair_count_change": nf - nb, "hair_count_change_pct": pct(nf, nb),
        "baseline_density_per_cm2": nb / cm2 if cm2 else None,
        "followup_density_per_cm2": nf / cm2 if cm2 else None,
        "new_hairs": int((f & ~b).sum()), "lost_hairs": int((b & ~f).sum()),
        "thickened_hairs": int((both & ~t0 & t1).sum()),
        "miniaturised_hairs": int((both & t0 & ~t1).sum()),
        "baseline_terminal_count": tb, "followup_terminal_count": tf,
        "terminal_count_change_pct": pct(tf, tb),
        "baseline_vellus_count": nb - tb, "followup_vellus_count": nf - tf,
        "baseline_mean_width_um": mean(w0, b), "followup_mean_width_um": mean(w1, f),
        "baseline_cumulative_thickness_mm_per_cm2": float(w0[b].sum()) / 1000 / cm2 if cm2
        else None,
        "followup_cumulative_thickness_mm_per_cm2": float(w1[f].sum()) / 1000 / cm2 if cm2
        else None,
        "new_hair_ids": ids(f & ~b), "lost_hair_ids": ids(b & ~f),
        "thickened_hair_ids": ids(both & ~t0 & t1),
        "miniaturised_hair_ids": ids(both & t0 & ~t1),
    }
    return change


def make_course(spec: CourseSpec | None = None, **overrides: Any) -> Course:
    """Render a treatment course: visits of the same scalp patch.

    Hair changes per follow-up visit (drawn over the whole patch, relative to
    the previous visit, see :data:`RESPONSE_FRACTIONS`): ``round(f_new * n)``
    new hairs at empty slots of existing or empty openings (half of them
    terminal), ``round(f_lost * n)`` hairs lost, ``round(f_thick * vellus)``
    surviving vellus hairs become terminal and ``round(f_mini * terminal)``
    surviving terminal hairs become vellus; ``n`` is the number of hairs
    present at the previous visit.

    ``true_change[k]`` compares visit ``k + 1`` with the baseline over the
    *common area*: the hairs whose emergence point lies inside the image
    field of every visit. With ``B`` / ``F`` the sets of hair ids present in
    the common area at baseline / follow-up:

    - ``baseline_hair_count`` = |B|, ``followup_hair_count`` = |F|,
      ``hair_count_change`` = |F| - |B| = ``new_hairs`` - ``lost_hairs``,
      ``hair_count_change_pct`` = 100 (|F| - |B|) / |B|;
    - ``new_hairs`` = |F - B|, ``lost_hairs`` = |B - F| (ids in ``new_hair_ids`` ...);
    - ``thickened_hairs``: in both, vellus at baseline and terminal at follow-up;
      ``miniaturised_hairs`` the reverse;
    - terminal / vellus counts, ``terminal_count_change_pct``, mean widths (um),
      cumulative thickness and densities per cm2 of common area;
    - ``common_area_mm2``: area of the intersection of all visits' fields.

    Percentages are ``None`` when the baseline count is zero.

    Parameters
    ----------
    spec : CourseSpec, optional
    **overrides
        Fields of :class:`CourseSpec` replacing those of ``spec``.

    Returns
    -------
    Course
    """
    spec = _replace(spec or CourseSpec(), overrides)
    specs = _visit_specs(spec)
    poses = tuple(pose_homography(s) for s in specs)
    scalp = _make_scalp(specs[0], spec.seed, specs, list(poses))
    change_rng = _rng(spec.seed, _S_CHANGE)
    states = [(scalp.base_present, scalp.base_terminal)]
    for _ in range(1, spec.n_visits):
        states.append(_next_state(change_rng, *states[-1], spec.response))
    visits = tuple(
        _render(scalp, p, t, s, h, spec.seed, v, v if spec.regrow else 0,
                h if spec.regrow else poses[0])
        for v, ((p, t), s, h) in enumerate(zip(states, specs, poses))
    )
    in_common = _in_all_fields(scalp.slot_xy, poses, specs)
    area_mm2 = _field_polygon_area(poses, specs) / specs[0].px_per_mm**2
    changes = tuple(_change(states, v, in_common, scalp.slot_width_um, area_mm2)
                    for v in range(1, spec.n_visits))
    return Course(visits=visits, scalp_to_image=poses, true_change=changes,
                  common_area_mm2=area_mm2, spec=spec)


def repeat_capture(base: PhantomSpec | None = None, *, n_captures: int = 2, seed: int = 0,
                   max_rotation_deg: float = 7.0, max_shift_mm: float = 0.5,
                   max_scale_change: float = 0.05, vary_lighting: bool = True) -> Course:
    """Repeated captures of the same scalp at the same moment: new camera pose and
    lighting, identical hair (no biological change, no regrowth).

    Parameters
    ----------
    base : PhantomSpec, optional
        Scalp, hair and camera of the first capture.
    n_captures : int
        Number of captures (1-12).
    seed : int
    max_rotation_deg, max_shift_mm, max_scale_change, vary_lighting
        As in :class:`CourseSpec`.

    Returns
    -------
    Course
        ``true_change`` shows no change; use it to measure repeatability.
    """
    return make_course(CourseSpec(
        seed=seed, n_visits=n_captures, base=base or PhantomSpec(), response="none",
        max_rotation_deg=max_rotation_deg, max_shift_mm=max_shift_mm,
        max_scale_change=max_scale_change, vary_lighting=vary_lighting, regrow=False))


def common_area_masks(course: Course) -> tuple[np.ndarray, ...]:
    """Per visit, the pixels showing scalp that every visit shows.

    Parameters
    ----------
    course : Course

    Returns
    -------
    tuple of ndarray, each shape (H, W), bool
        ``True`` where the pixel centre, mapped to scalp coordinates and on
        into every other visit, lands inside that visit's image field.
    """
    specs = [v.truth.spec for v in course.visits]
    masks = []
    for h, s in zip(course.scalp_to_image, specs):
        yy, xx = np.mgrid[0:s.height_px, 0:s.width_px].astype(np.float64)
        scalp_xy = _apply_h(np.linalg.inv(h), np.stack([xx, yy], -1))
        masks.append(_in_all_fields(scalp_xy, course.scalp_to_image, specs))
    return tuple(masks)


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
