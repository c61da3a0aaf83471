"""Global-view phantoms: rendered head photographs with exact per-pixel and per-zone truth.

A phantom is a person (:class:`~scalpmetrics.globalview.phantom_head.HeadModel`),
a thinning pattern, a combing of the hair, and a capture (view, pose,
lighting, camera). The scene is ray-cast on a grid ``supersample`` times finer
than the photo (cranium, ears, neck, shoulders, backdrop), locks of hair are
drawn on the fine grid, and every photo pixel is the area average of its fine
samples in linear light, so the truth is exact:

* ``hair_fraction[y, x]``: share of the pixel's area where hair hides the head
  surface (cranium and face; ears excluded);
* ``head_fraction[y, x]``: share of the pixel's area that is head surface;
* per-zone coverage: ``sum(hair_fraction) / sum(head_fraction)`` over the
  zone's pixels, with the zone template fitted to the true head outline by
  the same fit the analysis uses.

Everything is drawn from seeded :class:`numpy.random.Generator` objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from scalpmetrics.errors import ParameterError
from scalpmetrics.globalview.geometry import HeadEllipse
from scalpmetrics.globalview.phantom_head import (
    HeadModel,
    Strands,
    Thinning,
    anatomical_angles,
    grow_strands,
    natural_hairline_deg,
    ovoid_value,
    radial_surface_point,
    random_head,
    random_thinning,
    surface_normal,
)
from scalpmetrics.globalview.zones import VIEWS, fit_outline_ellipse, zone_masks
from scalpmetrics.params import GlobalViewParams

__all__ = [
    "Capture",
    "GlobalPhantom",
    "random_capture",
    "render_global_phantom",
    "make_global_phantom",
    "global_phantom_course",
    "repeat_captures",
    "truth_zone_coverage",
]

#: Fractional bits of strand coordinates.
_SHIFT = 4
#: Subpixel labels.
BG, SCALP, FACE, EAR, NECK, CLOTHING = 0, 1, 2, 3, 4, 5
LABEL_NAMES = {BG: "background", SCALP: "scalp", FACE: "face", EAR: "ear", NECK: "neck",
               CLOTHING: "clothing"}
#: Clinic backdrops and gowns, linear RGB.
BACKDROPS = {
    "blue": (0.035, 0.10, 0.30),
    "grey": (0.16, 0.17, 0.18),
    "light_grey": (0.45, 0.46, 0.47),
    "green": (0.05, 0.18, 0.08),
}
GOWNS = {"teal": (0.03, 0.20, 0.20), "white": (0.70, 0.70, 0.68), "navy": (0.02, 0.03, 0.10),
         "burgundy": (0.20, 0.02, 0.04)}


@dataclass(frozen=True)
class Capture:
    """How one photo is taken.

    Attributes
    ----------
    view : {'vertex', 'midline', 'frontal', 'temporal'}
    side : {'left', 'right'}
        For the temporal view: which side of the head faces the camera.
    width_px, height_px : int
        Photo size.
    head_height_fraction : float
        Projected head height (top views: head length) over the photo height.
    center_offset_fraction : tuple of float
        Shift of the head from its nominal place, fraction of (width, height).
    yaw_deg, pitch_deg, roll_deg : float
        Head pose relative to the nominal view.
    key_light_deg : tuple of float
        Key light direction relative to the camera axis (right, up), degrees.
    key, ambient : float
        Strengths of the key light and of the ambient light.
    light_rgb : tuple of float
        Colour of the light (white balance).
    exposure : float
        Overall gain.
    vignetting : float
        Relative darkening at the photo corners.
    blur_px : float
        Gaussian blur sigma of the optics, px.
    noise : float
        Sensor noise: read-noise sigma in linear units (shot noise scales with it).
    backdrop, gown : str
        Names from :data:`BACKDROPS` and :data:`GOWNS`.
    seed : int
        Seed of the per-photo randomness (noise, backdrop texture).
    """

    view: str
    side: str = "left"
    width_px: int = 640
    height_px: int = 480
    head_height_fraction: float = 0.72
    center_offset_fraction: tuple[float, float] = (0.0, 0.0)
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    key_light_deg: tuple[float, float] = (0.0, 15.0)
    key: float = 0.8
    ambient: float = 0.35
    light_rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)
    exposure: float = 1.0
    vignetting: float = 0.1
    blur_px: float = 0.4
    noise: float = 0.004
    backdrop: str = "blue"
    gown: str = "teal"
    seed: int = 0


@dataclass(frozen=True, eq=False)
class GlobalPhantom:
    """A rendered global-view photo with its truth.

    Attributes
    ----------
    image : ndarray, shape (H, W, 3), uint8
        sRGB photo.
    hair_fraction : ndarray, shape (H, W), float32
        Exact share of each pixel where hair hides the head surface.
    head_fraction : ndarray, shape (H, W), float32
        Exact share of each pixel that is head surface (cranium and face).
    labels : ndarray, shape (H, W), uint8
        Majority label of each pixel (see :data:`LABEL_NAMES`).
    view, side : str
    true_ellipse : HeadEllipse
        The head ellipse fitted to the true head outline.
    zone_coverage : dict
        Zone name -> exact coverage fraction.
    zone_area_px : dict
        Zone name -> head-surface area in the zone, px.
    head, thinning, capture : the scene description
    combing_seed : int
    """

    image: np.ndarray
    hair_fraction: np.ndarray
    head_fraction: np.ndarray
    labels: np.ndarray
    view: str
    side: str
    true_ellipse: HeadEllipse
    zone_coverage: dict[str, float]
    zone_area_px: dict[str, float]
    head: HeadModel
    thinning: Thinning
    capture: Capture
    combing_seed: int
    info: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- camera


def _camera_basis(view: str, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image-right ``R``, image-up ``U`` and towards-camera ``c`` unit vectors, head frame."""
    if view == "vertex":  # above and behind, looking at the crown; forehead towards the top
        e = math.radians(72.0)
        c = np.array([0.0, -math.cos(e), math.sin(e)])
        up = np.array([0.0, 1.0, 0.0])
    elif view == "midline":  # above and in front, along the parting; forehead towards the bottom
        e = math.radians(62.0)
        c = np.array([0.0, math.cos(e), math.sin(e)])
        up = np.array([0.0, -1.0, 0.0])
    elif view == "frontal":
        e = math.radians(12.0)
        c = np.array([0.0, math.cos(e), math.sin(e)])
        up = np.array([0.0, 0.0, 1.0])
    elif view == "temporal":
        e = math.radians(6.0)
        sx = -1.0 if side == "left" else 1.0
        c = np.array([sx * math.cos(e), 0.0, math.sin(e)])
        up = np.array([0.0, 0.0, 1.0])
    else:
        raise ParameterError(f"unknown view {view!r}: expected one of {', '.join(VIEWS)}")
    up = up - (up @ c) * c
    up /= np.linalg.norm(up)
    right = np.cross(up, c)
    return right, up, c


def _rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Head rotation: yaw about z, pitch about x, roll about y (degrees)."""
    y, p, r = (math.radians(v) for v in (yaw_deg, pitch_deg, roll_deg))
    rz = np.array([[math.cos(y), -math.sin(y), 0], [math.sin(y), math.cos(y), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(r), 0, math.sin(r)], [0, 1, 0], [-math.sin(r), 0, math.cos(r)]])
    return rz @ rx @ ry


# ----------------------------------------------------------------------------- ray casting


def _quadric_hit(
    X: np.ndarray,
    Y: np.ndarray,
    cam: tuple[np.ndarray, np.ndarray, np.ndarray],
    centre: np.ndarray,
    axes: np.ndarray,
    radii: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Front intersection of the camera rays with an ellipsoid (inf radius = cylinder).

    The ray through image-plane point ``(X, Y)`` (cm) is ``X R + Y U + z c``.

    Returns
    -------
    z : ndarray, shape (N,), float32
        Depth towards the camera, NaN on a miss.
    alpha, beta : ndarray, shape (3,)
        Local-coordinate coefficients, for :func:`_quadric_normal`.
    """
    r_h, u_h, c_h = cam
    w = np.where(np.isinf(radii), 0.0, 1.0 / np.where(np.isinf(radii), 1.0, radii) ** 2)
    al, be, ga, dl = r_h @ axes, u_h @ axes, -centre @ axes, c_h @ axes
    a = float(np.sum(dl * dl * w))
    b = X * np.float32(np.sum(al * dl * w)) + Y * np.float32(np.sum(be * dl * w)) + np.float32(
        np.sum(ga * dl * w)
    )
    cc = np.full(X.shape, -1.0, dtype=np.float32)
    for i in range(3):
        if w[i] > 0:
            li = X * np.float32(al[i]) + Y * np.float32(be[i]) + np.float32(ga[i])
            cc += np.float32(w[i]) * li * li
    disc = b * b - np.float32(a) * cc
    with np.errstate(invalid="ignore"):
        z = (-b + np.sqrt(disc)) / np.float32(a)
    return z, al, be


def _quadric_normal(
    X: np.ndarray, Y: np.ndarray, z: np.ndarray, cam: tuple[np.ndarray, np.ndarray, np.ndarray],
    centre: np.ndarray, axes: np.ndarray, radii: np.ndarray,
) -> np.ndarray:
    """Unit normals of an ellipsoid at the ray hits ``z`` (all finite), shape (N, 3)."""
    r_h, u_h, c_h = cam
    w = np.where(np.isinf(radii), 0.0, 1.0 / np.where(np.isinf(radii), 1.0, radii) ** 2)
    al, be, ga, dl = r_h @ axes, u_h @ axes, -centre @ axes, c_h @ axes
    n = np.zeros((len(X), 3), dtype=np.float32)
    for i in range(3):
        if w[i] > 0:
            li = (X * np.float32(al[i]) + Y * np.float32(be[i]) + z * np.float32(dl[i])
                  + np.float32(ga[i])) * np.float32(w[i])
            n += li[:, None] * axes[:, i].astype(np.float32)[None, :]
    return n / np.sqrt(np.sum(n * n, axis=1, keepdims=True))


def _cranium_hit(
    X: np.ndarray, Y: np.ndarray, cam: tuple[np.ndarray, np.ndarray, np.ndarray], head: HeadModel
) -> np.ndarray:
    """Front intersection depth with the ovoid cranium (NaN on a miss), by bisection."""
    ax, ay, az = head.semi_axes_cm
    bound = np.array([ax * (1 + abs(head.egg)), ay, az])
    z_hi, _, _ = _quadric_hit(X, Y, cam, np.zeros(3), np.eye(3), bound)
    z = np.full(X.shape, np.nan, dtype=np.float32)
    hit = np.flatnonzero(np.isfinite(z_hi))
    if hit.size == 0:
        return z
    r_h, u_h, c_h = cam
    # middle of the chord through the bounding ellipsoid
    w = 1.0 / bound**2
    a = np.sum(c_h * c_h * w)
    o = X[hit, None] * r_h + Y[hit, None] * u_h
    z_lo = -(o @ (c_h * w)) / a
    hi = z_hi[hit].astype(np.float64)
    inside = ovoid_value(o + z_lo[:, None] * c_h, head) < 0
    hit, o, lo, hi = hit[inside], o[inside], z_lo[inside], hi[inside]
    for _ in range(16):
        mid = 0.5 * (lo + hi)
        neg = ovoid_value(o + mid[:, None] * c_h, head) < 0
        lo = np.where(neg, mid, lo)
        hi = np.where(neg, hi, mid)
    z[hit] = 0.5 * (lo + hi)
    return z


def _ear_frames(head: HeadModel) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(centre, axes as columns, radii) of the two ears."""
    out = []
    for sign in (1.0, -1.0):
        az, el = math.radians(sign * 97.0), math.radians(-14.0)
        d = np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])
        p = radial_surface_point(d, head)
        n = surface_normal(p, head)
        up = np.array([0.0, 0.0, 1.0]) - n[2] * n
        up /= np.linalg.norm(up)
        tilt = math.radians(15.0)
        fwd = np.cross(n, up) * sign
        up_t = math.cos(tilt) * up - math.sin(tilt) * fwd * sign
        fwd_t = np.cross(n, up_t) * sign
        axes = np.stack([n, fwd_t, up_t], axis=1)
        out.append((p + 0.55 * n, axes, np.array([0.75, 1.7, 3.0])))
    return out


# ----------------------------------------------------------------------------- rendering


def _smooth_field(g: np.ndarray, rng: np.random.Generator, n: int = 6, freq: float = 6.0) -> np.ndarray:
    """A smooth random field on unit directions ``g`` with values of order 1."""
    out = np.zeros(g.shape[0])
    for _ in range(n):
        k = rng.normal(size=3)
        k *= freq / np.linalg.norm(k)
        out += np.sin(g @ k + rng.uniform(0, 2 * math.pi))
    return out / math.sqrt(n / 2)


def _face_albedo(phi: np.ndarray, theta: np.ndarray, head: HeadModel, base: np.ndarray) -> np.ndarray:
    """Face skin with eyebrows, eyes and lips painted on (linear RGB, shape (N, 3))."""
    alb = base.copy()
    a = np.abs(phi)
    brow = (np.abs(theta - 4.0 - 0.04 * (a - 24)) < 1.6) & (a > 7) & (a < 38)
    alb[brow] = 0.35 * alb[brow] + 0.65 * np.array(head.hair_rgb) * 1.2
    eye = ((a - 21.0) / 8.0) ** 2 + ((theta + 3.0) / 2.8) ** 2 < 1
    alb[eye] = np.array([0.05, 0.045, 0.045])
    lips = (a < 12) & (np.abs(theta + 42.0) < 2.5)
    alb[lips] = alb[lips] * np.array([1.05, 0.55, 0.55])
    return alb


def _dithered_thickness(width_px: np.ndarray, dither: np.ndarray) -> np.ndarray:
    """OpenCV ``thickness`` arguments whose drawn widths average to ``width_px``.

    OpenCV draws 8-connected lines 1 pixel wide for thickness 1 and ``2k + 1``
    pixels wide for thickness ``2k - 1`` or ``2k``: only odd widths exist. Each
    lock gets one of the two odd widths around its width, the wider one with
    the probability that makes the expected width exact (``dither`` is the
    lock's own uniform draw), so the hair's area does not depend on the scale.
    """
    x = np.maximum(width_px, 1.0)
    lo = 2 * np.floor((x - 1.0) / 2.0) + 1.0  # odd width at or below x
    wide = dither < (x - lo) / 2.0
    drawn = (lo + 2.0 * wide).astype(int)
    return np.where(drawn == 1, 1, drawn - 1)


def _draw_strands(
    strands: Strands,
    to_px: Any,
    c_head: np.ndarray,
    head: HeadModel,
    shape: tuple[int, int],
    px_per_cm_sub: float,
) -> np.ndarray:
    """Rasterize visible locks on the fine grid; returns shade-bin index + 1 (0 = no hair)."""
    canvas = np.zeros(shape, dtype=np.uint8)
    pts = strands.points_cm
    n, k, _ = pts.shape
    flat = pts.reshape(-1, 3)
    visible = (surface_normal(flat, head) @ c_head > 0.02).reshape(n, k)
    xy = to_px(flat).reshape(n, k, 2)
    thick = _dithered_thickness(strands.width_cm * px_per_cm_sub, strands.dither)
    bins = np.clip(((strands.shade - 0.75) / 0.5 * 8).astype(int), 0, 7)
    groups: dict[tuple[int, int], list[np.ndarray]] = {}
    xy_int = np.round(xy * (1 << _SHIFT)).astype(np.int32)
    whole = visible.all(axis=1)
    for i in np.flatnonzero(whole):
        groups.setdefault((int(thick[i]), int(bins[i])), []).append(xy_int[i])
    for i in np.flatnonzero(visible.any(axis=1) & ~whole):
        # split the polyline into runs of visible points
        edges = np.flatnonzero(np.diff(np.concatenate([[0], visible[i].astype(np.int8), [0]])))
        for s, e in zip(edges[::2], edges[1::2]):
            if e - s >= 2:
                groups.setdefault((int(thick[i]), int(bins[i])), []).append(xy_int[i, s:e])
    for (t, b), lines in sorted(groups.items()):
        cv2.polylines(canvas, lines, False, int(b + 1), thickness=t, lineType=cv2.LINE_8,
                      shift=_SHIFT)
    return canvas


def _block_mean(a: np.ndarray, s: int) -> np.ndarray:
    h, w = a.shape[0] // s, a.shape[1] // s
    return a.reshape(h, s, w, s, *a.shape[2:]).mean(axis=(1, 3))


def _srgb_encode(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.power(lin, 1 / 2.4) - 0.055)


def render_global_phantom(
    head: HeadModel,
    thinning: Thinning,
    capture: Capture,
    *,
    combing_seed: int = 0,
    supersample: int = 3,
    strands: Strands | None = None,
    params: GlobalViewParams = GlobalViewParams(),
) -> GlobalPhantom:
    """Render one global-view photo of ``head`` with exact truth.

    Parameters
    ----------
    head : HeadModel
    thinning : Thinning
    capture : Capture
    combing_seed : int
        How the hair lies that day (see :func:`grow_strands`).
    supersample : int
        Fine samples per pixel side; raised when needed so that the thinnest
        lock is at least one fine sample wide (the truth then does not depend
        on the photo's resolution).
    strands : Strands, optional
        Pre-grown locks (to photograph the same hair twice without regrowing it).
    params : GlobalViewParams
        Used for the zone template of the truth.

    Returns
    -------
    GlobalPhantom
    """
    if capture.view not in VIEWS:
        raise ParameterError(f"unknown view {capture.view!r}: expected one of {', '.join(VIEWS)}")
    rng = np.random.default_rng(capture.seed)
    if strands is None:
        strands = grow_strands(head, thinning, combing_seed=combing_seed)

    right, up, c = _camera_basis(capture.view, capture.side)
    rot = _rotation(capture.yaw_deg, capture.pitch_deg, capture.roll_deg)
    # camera axes in the head frame (the head turned by ``rot`` in the world)
    r_h, u_h, c_h = rot.T @ right, rot.T @ up, rot.T @ c
    ax, ay, az = head.semi_axes_cm
    extent_cm = 2.0 * (max(ay, 0.9 * az) if capture.view in ("vertex", "midline") else az * 1.05)
    px_per_cm = capture.head_height_fraction * capture.height_px / extent_cm
    # the thinnest lock must be at least one fine sample wide: a thinner one would be drawn
    # one sample wide, and the hair's area would grow as the photo shrinks
    thinnest_cm = float(strands.width_cm.min()) if strands.width_cm.size else 1.0
    s = max(int(supersample), math.ceil(1.0 / (thinnest_cm * px_per_cm)))
    hh, ww = capture.height_px * s, capture.width_px * s
    nominal_cy = 0.5 if capture.view in ("vertex", "midline") else 0.44
    cx = capture.width_px * (0.5 + capture.center_offset_fraction[0])
    cy = capture.height_px * (nominal_cy + capture.center_offset_fraction[1])

    cols = (np.arange(ww, dtype=np.float32) + 0.5) / s
    rows = (np.arange(hh, dtype=np.float32) + 0.5) / s
    X = np.broadcast_to(((cols - cx) / px_per_cm)[None, :], (hh, ww)).ravel()
    Y = np.broadcast_to(((cy - rows) / px_per_cm)[:, None], (hh, ww)).ravel()
    cam = (r_h, u_h, c_h)

    label = np.zeros(hh * ww, dtype=np.uint8)
    depth = np.full(hh * ww, -np.inf, dtype=np.float32)
    normal = np.empty((hh * ww, 3), dtype=np.float32)
    normal[:] = c_h

    def cast(centre: np.ndarray, axes: np.ndarray, radii: np.ndarray, lab: int,
             max_height_cm: float | None = None) -> None:
        z, _, _ = _quadric_hit(X, Y, cam, centre, axes, radii)
        with np.errstate(invalid="ignore"):
            ok = z > depth
        idx = np.flatnonzero(ok)
        if max_height_cm is not None:
            pz = X[idx] * r_h[2] + Y[idx] * u_h[2] + z[idx] * c_h[2]
            idx = idx[pz < max_height_cm]
        depth[idx] = z[idx]
        label[idx] = lab
        normal[idx] = _quadric_normal(X[idx], Y[idx], z[idx], cam, centre, axes, radii)

    # shoulders and neck behind the head, then the ears
    cast(np.array([0.0, -2.0, -az - 13.0]), np.eye(3), np.array([19.0, 12.0, 9.5]), CLOTHING)
    cast(np.array([0.0, -1.5, 0.0]), np.eye(3), np.array([5.0, 5.6, np.inf]), NECK, -0.3 * az)
    for centre, axes, radii in _ear_frames(head):
        cast(centre, axes, radii, EAR)
    zc = _cranium_hit(X, Y, cam, head)
    with np.errstate(invalid="ignore"):
        hit = np.flatnonzero(zc > depth)
    p = X[hit, None] * r_h + Y[hit, None] * u_h + zc[hit, None] * c_h
    depth[hit] = zc[hit]
    normal[hit] = surface_normal(p, head)
    phi, theta = anatomical_angles(p, head)
    line = natural_hairline_deg(phi, head)
    label[hit] = np.where(theta >= line, SCALP, FACE)

    # albedo
    hrng = np.random.default_rng(head.seed + 1)
    albedo = np.empty((hh * ww, 3), dtype=np.float32)
    bg = label == BG
    grad = 1.0 + 0.15 * ((X[bg] / (ww / s / px_per_cm)) - 0.3 * (Y[bg] / (hh / s / px_per_cm)))
    albedo[bg] = np.array(BACKDROPS[capture.backdrop]) * grad[:, None]
    albedo[label == CLOTHING] = GOWNS[capture.gown]
    albedo[(label == NECK) | (label == EAR)] = np.array(head.face_rgb) * 0.97
    g = p / np.linalg.norm(p, axis=1, keepdims=True)
    mottle = 1.0 + 0.035 * _smooth_field(g, hrng)
    t = np.clip((theta - line) / 2.0 + 0.5, 0, 1)[:, None]
    skin = t * np.array(head.scalp_rgb) + (1 - t) * np.array(head.face_rgb)
    skin = _face_albedo(phi, theta, head, skin) * mottle[:, None]
    albedo[hit] = skin

    # hair
    def to_px(pts: np.ndarray) -> np.ndarray:
        xs = (pts @ r_h) * px_per_cm * s + cx * s - 0.5
        ys = (cy - pts @ u_h * px_per_cm) * s - 0.5
        return np.stack([xs, ys], axis=-1)

    canvas = _draw_strands(strands, to_px, c_h, head, (hh, ww), px_per_cm * s).ravel()
    head_surface = (label == SCALP) | (label == FACE)
    hair = (canvas > 0) & head_surface
    shade_levels = 0.75 + (np.arange(8) + 0.5) / 8 * 0.5
    albedo[hair] = np.array(head.hair_rgb) * shade_levels[canvas[hair] - 1][:, None]

    # lighting
    kx, ky = (math.tan(math.radians(v)) for v in capture.key_light_deg)
    light = c_h + kx * r_h + ky * u_h
    light /= np.linalg.norm(light)
    lam = capture.ambient + capture.key * np.maximum(0.0, normal @ light.astype(np.float32))
    lam[bg] = capture.ambient + capture.key * 0.6
    shading = _block_mean(lam.reshape(hh, ww), s)
    albedo *= lam[:, None]
    albedo *= (np.array(capture.light_rgb) * capture.exposure).astype(np.float32)
    radiance = albedo.reshape(hh, ww, 3)
    lin = _block_mean(radiance, s)
    yy, xx = np.mgrid[0 : capture.height_px, 0 : capture.width_px]
    r2 = ((xx - capture.width_px / 2) ** 2 + (yy - capture.height_px / 2) ** 2) / (
        (capture.width_px / 2) ** 2 + (capture.height_px / 2) ** 2
    )
    lin = lin * (1.0 - capture.vignetting * r2)[:, :, None]
    if capture.blur_px > 0:
        lin = cv2.GaussianBlur(lin.astype(np.float32), (0, 0), capture.blur_px).astype(np.float64)
    sd = np.sqrt(capture.noise**2 + 0.5 * capture.noise * np.maximum(lin, 0))
    lin = lin + rng.normal(size=lin.shape) * sd
    image = np.round(_srgb_encode(lin) * 255.0).astype(np.uint8)

    hair_fraction = _block_mean(hair.reshape(hh, ww).astype(np.float32), s)
    head_fraction = _block_mean(head_surface.reshape(hh, ww).astype(np.float32), s)
    onehot = np.stack([(label == k).reshape(hh, ww) for k in range(6)], axis=-1).astype(np.float32)
    labels = _block_mean(onehot, s).argmax(axis=-1).astype(np.uint8)

    # the head ellipse of the truth: the analysis's own fit, on the exact head outline
    # (cranium, face, ears, neck: everything but clothing and backdrop)
    outline = (labels != BG) & (labels != CLOTHING)
    ellipse = fit_outline_ellipse(outline, view=capture.view, params=params)
    coverage, area = truth_zone_coverage(
        hair_fraction, head_fraction, ellipse, view=capture.view, side=capture.side, params=params
    )
    return GlobalPhantom(
        image=image,
        hair_fraction=hair_fraction,
        head_fraction=head_fraction,
        labels=labels,
        view=capture.view,
        side=capture.side,
        true_ellipse=ellipse,
        zone_coverage=coverage,
        zone_area_px=area,
        head=head,
        thinning=thinning,
        capture=capture,
        combing_seed=combing_seed,
        info={"px_per_cm": px_per_cm, "supersample": s, "locks": int(len(strands.width_cm)),
              "shading": shading},
    )


def truth_zone_coverage(
    hair_fraction: np.ndarray,
    head_fraction: np.ndarray,
    ellipse: HeadEllipse,
    *,
    view: str,
    side: str,
    params: GlobalViewParams = GlobalViewParams(),
) -> tuple[dict[str, float], dict[str, float]]:
    """Exact area-weighted coverage of each template zone: ``sum(hair) / sum(head surface)``."""
    coverage: dict[str, float] = {}
    area: dict[str, float] = {}
    for name, mask in zone_masks(view, ellipse, hair_fraction.shape, side=side, params=params):
        w = float(head_fraction[mask].sum())
        area[name] = w
        coverage[name] = float(hair_fraction[mask].sum() / w) if w > 0 else float("nan")
    return coverage, area


# ----------------------------------------------------------------------------- scenarios


def random_capture(
    rng: np.random.Generator,
    view: str,
    *,
    side: str | None = None,
    width_px: int = 640,
    height_px: int = 480,
    pose_sd_deg: float = 3.0,
    lighting: bool = True,
) -> Capture:
    """A plausible standardized capture with random pose, lighting and camera."""
    return Capture(
        view=view,
        side=side or str(rng.choice(["left", "right"])),
        width_px=width_px,
        height_px=height_px,
        head_height_fraction=float(rng.uniform(0.62, 0.78)) if view in ("vertex", "midline")
        else float(rng.uniform(0.5, 0.6)),
        center_offset_fraction=(float(rng.uniform(-0.05, 0.05)), float(rng.uniform(-0.04, 0.04))),
        yaw_deg=float(rng.normal(0, pose_sd_deg)),
        pitch_deg=float(rng.normal(0, pose_sd_deg)),
        roll_deg=float(rng.normal(0, pose_sd_deg)),
        key_light_deg=(float(rng.uniform(-25, 25)), float(rng.uniform(-5, 30))) if lighting
        else (0.0, 15.0),
        key=float(rng.uniform(0.6, 0.95)) if lighting else 0.8,
        ambient=float(rng.uniform(0.2, 0.45)) if lighting else 0.35,
        light_rgb=tuple(float(v) for v in rng.uniform(0.93, 1.07, 3)) if lighting else (1.0, 1.0, 1.0),
        exposure=float(rng.uniform(0.8, 1.2)) if lighting else 1.0,
        vignetting=float(rng.uniform(0.0, 0.2)),
        blur_px=float(rng.uniform(0.3, 0.7)),
        noise=float(rng.uniform(0.002, 0.006)),
        backdrop=str(rng.choice(list(BACKDROPS))),
        gown=str(rng.choice(list(GOWNS))),
        seed=int(rng.integers(2**31)),
    )


def make_global_phantom(
    seed: int,
    view: str,
    *,
    pattern: str | None = None,
    width_px: int = 640,
    height_px: int = 480,
    min_contrast_ratio: float = 3.0,
    supersample: int = 3,
) -> GlobalPhantom:
    """One random phantom of ``view``, fully determined by ``seed``."""
    rng = np.random.default_rng(seed)
    head = random_head(rng, min_contrast_ratio=min_contrast_ratio, **_colour_sets(min_contrast_ratio))
    thinning = random_thinning(rng, pattern=pattern)
    capture = random_capture(rng, view, width_px=width_px, height_px=height_px)
    return render_global_phantom(
        head, thinning, capture, combing_seed=int(rng.integers(2**31)), supersample=supersample
    )


def _colour_sets(min_contrast_ratio: float) -> dict[str, tuple[str, ...]]:
    if min_contrast_ratio > 0:
        return {}
    return {"hair_colours": ("light_brown", "blond", "grey", "auburn"),
            "skin_tones": ("very_light", "light", "medium")}


def global_phantom_course(
    seed: int,
    view: str,
    *,
    regrowth: tuple[float, ...] = (0.0, 0.4),
    restyle: float = 0.0,
    pose_sd_deg: float = 1.0,
    pattern: str | None = None,
    width_px: int = 640,
    height_px: int = 480,
    min_contrast_ratio: float = 3.0,
    supersample: int = 3,
) -> list[GlobalPhantom]:
    """One person photographed at several visits.

    Visit ``i`` regrows ``regrowth[i]`` of every thinning loss of the baseline
    (0 = unchanged, negative = further loss). Each visit has its own pose,
    lighting and camera (head pose drawn with ``pose_sd_deg``: standardized
    global photography holds the head within a degree or two). The hair is
    restyled by ``restyle``: 0 (the default) lays every lock as before, as
    when a trial standardizes the styling, so that a visit with no regrowth
    has exactly the baseline's hair and only the photograph differs; 1 combs
    it anew (a stress test: restyling moves hair between zones, which the
    rendered truth of each visit follows). Roots, hair colour and head are the
    person's. The truth per zone comes from each render.
    """
    rng = np.random.default_rng(seed)
    head = random_head(rng, min_contrast_ratio=min_contrast_ratio, **_colour_sets(min_contrast_ratio))
    base = random_thinning(rng, pattern=pattern or str(rng.choice(["vertex", "frontal", "part", "mixed"])))
    side = str(rng.choice(["left", "right"]))
    combing = int(rng.integers(2**31))
    out = []
    for fraction in regrowth:
        capture = random_capture(rng, view, side=side, width_px=width_px, height_px=height_px,
                                 pose_sd_deg=pose_sd_deg)
        strands = grow_strands(head, base.regrown(fraction), combing_seed=combing,
                               restyle_seed=int(rng.integers(2**31)), restyle=restyle)
        out.append(
            render_global_phantom(
                head, base.regrown(fraction), capture, combing_seed=combing,
                supersample=supersample, strands=strands,
            )
        )
    return out


def repeat_captures(
    phantom: GlobalPhantom, seed: int, *, pose_sd_deg: float = 1.0, supersample: int = 3
) -> GlobalPhantom:
    """The same hair (every lock as it lay) photographed again: new pose, lighting and camera.

    The backdrop and gown stay; the head turns from its first pose by
    ``pose_sd_deg`` (standard deviation per axis); lighting, framing and
    camera are drawn anew.
    """
    rng = np.random.default_rng(seed)
    c0 = phantom.capture
    capture = random_capture(rng, c0.view, side=c0.side, width_px=c0.width_px,
                             height_px=c0.height_px, pose_sd_deg=pose_sd_deg)
    capture = replace(
        capture, backdrop=c0.backdrop, gown=c0.gown,
        yaw_deg=c0.yaw_deg + capture.yaw_deg, pitch_deg=c0.pitch_deg + capture.pitch_deg,
        roll_deg=c0.roll_deg + capture.roll_deg,
    )
    return render_global_phantom(
        phantom.head, phantom.thinning, capture, combing_seed=phantom.combing_seed,
        supersample=supersample,
    )
