"""Pixel scale from a square marker in view (ArUco or AprilTag), and the
pixels of objects in view that are not scalp.

A marker of known side length lying on the scalp gives the scale where it
lies. Its four outer corners are found by OpenCV's ArUco detector, then
refined to a fraction of a pixel by fitting a straight line to each outer
edge (sub-pixel crossings of the dark border's edge, robust to hairs across
it) and intersecting neighbouring lines. The homography ``H`` from the
marker's square (in mm) to those corners describes the marker plane's
perspective. The scale is taken **at the marker's centre** as

    px_per_mm = sqrt(|det J|),  J = d(image xy) / d(marker mm) at the centre,

the local *area* scale: one mm² of scalp around the marker covers
``px_per_mm²`` pixels, whatever the tilt. That is what densities need. A tilt
does not bias it, unlike the mean side length, which mixes the short
foreshortened sides with the long ones and is pulled by perspective. The
ratio of J's singular values (``anisotropy``, 1 for a frontal view) and the
tilt it implies under weak perspective, ``arccos(anisotropy)``, are kept with
the detection: a tilted view makes widths across and along the tilt differ
by that ratio, and the scale is exact only near the marker.

Only the expected id of the expected dictionary is accepted; other markers
are reported but never used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from scalpmetrics.errors import ImageArrayError, ParameterError
from scalpmetrics.params import MarkerParams

__all__ = [
    "MarkerSpec",
    "MarkerDetection",
    "MarkerSearch",
    "parse_marker_spec",
    "find_marker",
    "marker_homography",
    "local_scale",
    "refine_corners",
    "quad_mask",
    "fill_excluded",
]

#: ArUco markers are drawn with a one-module black border around their bits.
_BORDER_MODULES = 1
#: Edge refinement: pre-smoothing, profile sampling step, search half-width
#: (in modules, clamped to a px range), and the part of each side used
#: (its ends are left out: the corners round off).
_EDGE_SMOOTH_SIGMA_PX = 0.7
_EDGE_STEP_PX = 0.25
_EDGE_SEARCH_MODULES = 0.45
_EDGE_SEARCH_MIN_PX, _EDGE_SEARCH_MAX_PX = 1.5, 6.0
_EDGE_SPAN = (0.15, 0.85)
_EDGE_MIN_POINTS = 5
_EDGE_OUTLIER_MAD = 3.0
_EDGE_OUTLIER_MIN_PX = 0.5
#: Ring around an excluded area whose median colour fills it, share of the
#: area's square-root size (at least a few pixels).
_FILL_RING_FRACTION = 0.1
_FILL_RING_MIN_PX = 3


@dataclass(frozen=True)
class MarkerSpec:
    """Which marker to look for.

    Attributes
    ----------
    dictionary : str
        OpenCV ArUco dictionary name, for example ``'DICT_4X4_50'`` or
        ``'DICT_APRILTAG_36H11'`` (upper case).
    marker_id : int
        The one id accepted.
    side_mm : float
        Outer side of the marker's black square, mm.
    """

    dictionary: str
    marker_id: int
    side_mm: float

    @property
    def text(self) -> str:
        """The ``DICT:ID:SIDE_MM`` form."""
        return f"{self.dictionary}:{self.marker_id}:{self.side_mm:g}"


@dataclass(frozen=True, eq=False)
class MarkerDetection:
    """The expected marker, found.

    Attributes
    ----------
    marker_id : int
        Its id.
    corners_xy_px : ndarray, shape (4, 2), float64
        Outer corners (x = column, y = row), clockwise from the marker's own
        top-left corner.
    homography : ndarray, shape (3, 3), float64
        Maps marker-plane mm (origin at the top-left corner) to image px.
    px_per_mm : float
        Area scale at the marker's centre (see the module notes).
    anisotropy : float
        Smaller over larger singular value of the local Jacobian, in (0, 1].
    """

    marker_id: int
    corners_xy_px: np.ndarray
    homography: np.ndarray
    px_per_mm: float
    anisotropy: float

    @property
    def tilt_deg(self) -> float:
        """View tilt implied by the anisotropy under weak perspective, degrees."""
        return math.degrees(math.acos(min(1.0, self.anisotropy)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "marker_id": self.marker_id,
            "corners_xy_px": [[float(x), float(y)] for x, y in self.corners_xy_px],
            "px_per_mm": float(self.px_per_mm),
            "anisotropy": float(self.anisotropy),
            "tilt_deg": float(self.tilt_deg),
        }


@dataclass(frozen=True)
class MarkerSearch:
    """The outcome of looking for a marker.

    Attributes
    ----------
    spec : MarkerSpec
        What was looked for.
    detection : MarkerDetection or None
        The expected marker, or ``None`` when it is not in view.
    ids_seen : tuple of int
        Every id of the dictionary that was found (sorted), expected or not.
    """

    spec: MarkerSpec
    detection: MarkerDetection | None
    ids_seen: tuple[int, ...]

    @property
    def found(self) -> bool:
        return self.detection is not None

    @property
    def summary(self) -> str:
        """One line: what was looked for and what was seen."""
        if self.detection is not None:
            return f"marker {self.spec.text} found: {self.detection.px_per_mm:.4g} px/mm"
        seen = ", ".join(str(i) for i in self.ids_seen) or "none"
        return f"marker {self.spec.text} not found (ids of {self.spec.dictionary} in view: {seen})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.text,
            "found": self.found,
            "ids_seen": list(self.ids_seen),
            **({"detection": self.detection.to_dict()} if self.detection else {}),
        }


def _dictionary(name: str) -> Any:
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))


def parse_marker_spec(text: str) -> MarkerSpec:
    """Parse ``'DICT:ID:SIDE_MM'``.

    Parameters
    ----------
    text : str
        For example ``'DICT_4X4_50:7:5.0'`` or ``'DICT_APRILTAG_36h11:3:4'``;
        the dictionary name is case-insensitive.

    Returns
    -------
    MarkerSpec

    Raises
    ------
    ParameterError
        Malformed text, an unknown dictionary, an id outside the dictionary,
        or a side that is not a positive finite number.

    Examples
    --------
    >>> parse_marker_spec("DICT_4X4_50:7:5.0")
    MarkerSpec(dictionary='DICT_4X4_50', marker_id=7, side_mm=5.0)
    >>> parse_marker_spec("DICT_4X4_50:77:5")
    Traceback (most recent call last):
    ...
    scalpmetrics.errors.ParameterError: marker id 77 is outside DICT_4X4_50 (ids 0 to 49)
    """
    parts = str(text).strip().split(":")
    if len(parts) != 3:
        raise ParameterError(
            f"marker {text!r} must look like DICT:ID:SIDE_MM, for example DICT_4X4_50:7:5.0"
        )
    name = parts[0].strip().upper()
    if not name.startswith("DICT_") or not hasattr(cv2.aruco, name):
        known = ", ".join(sorted({n.upper() for n in dir(cv2.aruco) if n.startswith("DICT_")}))
        raise ParameterError(f"unknown marker dictionary {parts[0]!r} (known: {known})")
    try:
        marker_id = int(parts[1])
        side_mm = float(parts[2])
    except ValueError:
        raise ParameterError(
            f"marker {text!r}: ID must be a whole number and SIDE_MM a number"
        ) from None
    size = int(_dictionary(name).bytesList.shape[0])
    if not 0 <= marker_id < size:
        raise ParameterError(f"marker id {marker_id} is outside {name} (ids 0 to {size - 1})")
    if not math.isfinite(side_mm) or side_mm <= 0:
        raise ParameterError(f"marker side must be a positive number of mm, got {parts[2]!r}")
    return MarkerSpec(name, marker_id, side_mm)


def _gray8(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype not in (np.uint8, np.uint16):
        raise ImageArrayError(
            f"expected RGB pixels of shape (H, W, 3), uint8 or uint16, got {pixels.shape} {pixels.dtype}"
        )
    gray = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
    if gray.dtype == np.uint16:
        gray = (gray.astype(np.float32) * (255.0 / 65535.0) + 0.5).astype(np.uint8)
    return gray


def find_marker(
    pixels: np.ndarray, *, spec: MarkerSpec, params: MarkerParams = MarkerParams()
) -> MarkerSearch:
    """Look for the expected marker and measure the scale at it.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8 or uint16
        Upright RGB photo. Not modified.
    spec : MarkerSpec
        Dictionary, the accepted id and the side length.
    params : MarkerParams
        Smallest marker side looked for.

    Returns
    -------
    MarkerSearch
        ``detection`` is ``None`` when the expected id is not in view (other
        ids of the dictionary are listed in ``ids_seen``). When the id occurs
        several times the largest is used.
    """
    gray = _gray8(pixels)
    dictionary = _dictionary(spec.dictionary)
    det_params = cv2.aruco.DetectorParameters()
    det_params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_NONE
    det_params.minMarkerPerimeterRate = min(
        1.0, 4.0 * params.min_side_px / max(gray.shape)
    )
    detector = cv2.aruco.ArucoDetector(dictionary, det_params)
    corners, ids, _ = detector.detectMarkers(gray)
    if ids is None or len(ids) == 0:
        return MarkerSearch(spec, None, ())
    ids_flat = [int(i) for i in np.asarray(ids).ravel()]
    quads = [np.asarray(c, dtype=np.float64).reshape(4, 2) for c in corners]
    matches = [q for q, i in zip(quads, ids_flat) if i == spec.marker_id]
    seen = tuple(sorted(set(ids_flat)))
    if not matches:
        return MarkerSearch(spec, None, seen)
    quad = max(matches, key=lambda q: abs(cv2.contourArea(q.astype(np.float32))))
    modules = int(dictionary.markerSize) + 2 * _BORDER_MODULES
    side_px = float(np.mean(np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)))
    refined = refine_corners(gray, quad, module_px=side_px / modules)
    homography = marker_homography(refined, side_mm=spec.side_mm)
    centre = (spec.side_mm / 2.0, spec.side_mm / 2.0)
    scale, anisotropy = local_scale(homography, centre)
    detection = MarkerDetection(spec.marker_id, refined, homography, scale, anisotropy)
    return MarkerSearch(spec, detection, seen)


def marker_homography(corners_xy_px: np.ndarray, *, side_mm: float) -> np.ndarray:
    """Homography from the marker's square (mm, origin at its first corner) to image px.

    Parameters
    ----------
    corners_xy_px : ndarray, shape (4, 2)
        Image corners in ArUco order (clockwise from the marker's top-left).
    side_mm : float
        Side of the square.

    Returns
    -------
    ndarray, shape (3, 3), float64
    """
    square = np.array(
        [[0.0, 0.0], [side_mm, 0.0], [side_mm, side_mm], [0.0, side_mm]], dtype=np.float64
    )
    return cv2.getPerspectiveTransform(
        square.astype(np.float32), np.asarray(corners_xy_px, dtype=np.float32)
    ).astype(np.float64)


def local_scale(homography: np.ndarray, point_mm: tuple[float, float]) -> tuple[float, float]:
    """Area scale and anisotropy of a plane-to-image homography at a plane point.

    Parameters
    ----------
    homography : ndarray, shape (3, 3)
        Maps plane coordinates (mm) to image px.
    point_mm : tuple of float
        ``(x, y)`` on the plane, mm.

    Returns
    -------
    px_per_mm : float
        ``sqrt(|det J|)`` of the Jacobian ``J`` (px per mm) at the point.
    anisotropy : float
        Smaller over larger singular value of ``J``.

    Examples
    --------
    >>> H = np.diag([20.0, 10.0, 1.0])   # 20 px/mm across, 10 px/mm down
    >>> [round(v, 4) for v in local_scale(H, (1.0, 1.0))]
    [14.1421, 0.5]
    """
    h = np.asarray(homography, dtype=np.float64)
    p = h @ np.array([point_mm[0], point_mm[1], 1.0])
    w = p[2]
    jac = (h[:2, :2] * w - np.outer(p[:2], h[2, :2])) / (w * w)
    singular = np.linalg.svd(jac, compute_uv=False)
    return math.sqrt(abs(float(np.linalg.det(jac)))), float(singular[1] / singular[0])


def refine_corners(gray: np.ndarray, quad: np.ndarray, *, module_px: float) -> np.ndarray:
    """Sub-pixel outer corners: a line fitted to each outer edge, lines intersected.

    Parameters
    ----------
    gray : ndarray, shape (H, W), uint8
        The photo's gray levels.
    quad : ndarray, shape (4, 2)
        Approximate corners (x, y), in order around the marker.
    module_px : float
        Approximate size of one marker module (bit cell), px; bounds the
        search across each edge so the inner bits are not mistaken for it.

    Returns
    -------
    ndarray, shape (4, 2), float64
        Refined corners, or ``quad`` unchanged when an edge has too few
        usable points (for example a marker cut by the image border).
    """
    smooth = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), _EDGE_SMOOTH_SIGMA_PX)
    reach = float(np.clip(_EDGE_SEARCH_MODULES * module_px, _EDGE_SEARCH_MIN_PX, _EDGE_SEARCH_MAX_PX))
    offsets = np.arange(-reach, reach + 1e-9, _EDGE_STEP_PX)
    centroid = quad.mean(axis=0)
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        length = float(np.linalg.norm(b - a))
        along = (b - a) / length
        normal = np.array([-along[1], along[0]])
        if np.dot(normal, (a + b) / 2.0 - centroid) < 0:
            normal = -normal  # outward
        t = np.linspace(*_EDGE_SPAN, max(_EDGE_MIN_POINTS, int(length * (_EDGE_SPAN[1] - _EDGE_SPAN[0]))))
        base = a[None, :] + (t * length)[:, None] * along[None, :]
        map_x = (base[:, None, 0] + offsets[None, :] * normal[0]).astype(np.float32)
        map_y = (base[:, None, 1] + offsets[None, :] * normal[1]).astype(np.float32)
        profile = cv2.remap(smooth, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        points = _edge_points(profile, base, offsets, normal)
        if len(points) < _EDGE_MIN_POINTS:
            return np.asarray(quad, dtype=np.float64)
        lines.append(_fit_line(points))
    out = []
    for i in range(4):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        t = np.linalg.solve(np.column_stack([d1, -d2]), p2 - p1)
        out.append(p1 + t[0] * d1)
    return np.array(out, dtype=np.float64)


def _edge_points(profile: np.ndarray, base: np.ndarray, offsets: np.ndarray,
                 normal: np.ndarray) -> np.ndarray:
    """Where each inside-dark / outside-bright profile crosses its mid level."""
    ends = 3
    dark = profile[:, :ends].mean(axis=1)
    bright = profile[:, -ends:].mean(axis=1)
    step = bright - dark
    mid = (dark + bright) / 2.0
    above = profile >= mid[:, None]
    k = np.argmax(above, axis=1)
    ok = (step > 0.25 * max(float(np.median(step)), 1e-6)) & (k > 0)
    rows = np.nonzero(ok)[0]
    k = k[ok]
    lo, hi = profile[rows, k - 1], profile[rows, k]
    frac = (mid[rows] - lo) / np.maximum(hi - lo, 1e-6)
    where = offsets[k - 1] + (offsets[1] - offsets[0]) * frac
    return base[rows] + where[:, None] * normal[None, :]


def _fit_line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total-least-squares line (point, unit direction), with outliers dropped twice."""
    for _ in range(2):
        centre = points.mean(axis=0)
        direction = np.linalg.svd(points - centre)[2][0]
        residual = np.abs((points - centre) @ np.array([-direction[1], direction[0]]))
        limit = max(_EDGE_OUTLIER_MIN_PX, _EDGE_OUTLIER_MAD * 1.4826 * float(np.median(residual)))
        if np.count_nonzero(residual <= limit) >= _EDGE_MIN_POINTS:
            points = points[residual <= limit]
    centre = points.mean(axis=0)
    return centre, np.linalg.svd(points - centre)[2][0]


def quad_mask(shape: tuple[int, ...], corners_xy_px: np.ndarray, *, grow_fraction: float) -> np.ndarray:
    """Pixels of a (perspective) quadrilateral grown by a share of its sides.

    The quad is grown in its own plane: its corners are those of the unit
    square ``[-g, 1 + g]²`` mapped through the homography that takes the unit
    square to the quad, so the margin follows the perspective.

    Parameters
    ----------
    shape : tuple
        The photo's shape; ``(H, W)`` is used.
    corners_xy_px : ndarray, shape (4, 2)
        Corners (x, y) in order around the quad.
    grow_fraction : float
        Margin on every side, as a share of that side's length (``g``).

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    to_image = cv2.getPerspectiveTransform(unit, np.asarray(corners_xy_px, dtype=np.float32))
    g = float(grow_fraction)
    grown = np.array([[-g, -g], [1 + g, -g], [1 + g, 1 + g], [-g, 1 + g]], dtype=np.float64)
    poly = cv2.perspectiveTransform(grown[None], to_image.astype(np.float64))[0]
    mask = np.zeros(shape[:2], dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def fill_excluded(pixels: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """A copy of ``pixels`` with each excluded area painted in the median colour around it.

    Objects in view that are not scalp (a marker, a colour chart) would
    otherwise pull the skin estimate of the normalisation and look like hair.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3)
        The photo. Not modified.
    excluded : ndarray of bool, shape (H, W)
        Pixels to paint over; each connected area gets the per-channel median
        of a ring of pixels just outside it.

    Returns
    -------
    ndarray, same shape and dtype as ``pixels``
    """
    out = pixels.copy()
    if not excluded.any():
        return out
    count, labels = cv2.connectedComponents(excluded.astype(np.uint8), connectivity=8)
    for label in range(1, count):
        area = labels == label
        ring_px = max(_FILL_RING_MIN_PX, round(_FILL_RING_FRACTION * math.sqrt(area.sum())))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring_px + 1, 2 * ring_px + 1))
        ring = cv2.dilate(area.astype(np.uint8), kernel).astype(bool) & ~excluded
        if ring.any():
            out[area] = np.median(pixels[ring], axis=0).astype(pixels.dtype)
    return out
