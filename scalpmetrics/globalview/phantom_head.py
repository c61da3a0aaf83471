"""The person behind a global-view phantom: head shape, hair, density pattern, strands.

Head frame (centimetres): ``x`` towards the subject's right ear, ``y`` towards
the nose, ``z`` up; the origin is the centre of the cranium, at about the
level of the eyebrows. The cranium is an ovoid (an ellipsoid whose width
changes from front to back)::

    F(p) = (x / (a_x (1 + k y / a_y)))^2 + (y / a_y)^2 + (z / a_z)^2 - 1 = 0

Anatomical angles of a surface point come from its ellipsoid-normalized
direction ``g = (x/a_x, y/a_y, z/a_z) / |.|``: azimuth ``phi`` (0 = front,
+90 = subject's right, degrees) and elevation ``theta`` (degrees above the
eyebrow plane).

Hair is a set of locks (a few hairs combed together): each grows from a root
on the scalp along a combing flow (a parting at the midline in front of the
crown whorl, radiating from the whorl behind it) and lies flat on the surface.
Roots are a Poisson sample of a maximal density, each with a uniform *keep*
value; a root grows a lock when its keep value is below the local density
(relative to normal), so raising the density only adds locks (regrowth), and
the same head at two visits keeps its hairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from scalpmetrics.errors import ParameterError

__all__ = [
    "HeadModel",
    "Thinning",
    "Strands",
    "random_head",
    "random_thinning",
    "surface_normal",
    "radial_surface_point",
    "anatomical_angles",
    "natural_hairline_deg",
    "relative_density",
    "grow_strands",
]

#: Natural frontal/temporal hairline: (|azimuth| deg, elevation deg) control points.
_HAIRLINE = np.array(
    [[0, 30], [30, 27], [55, 22], [75, 12], [88, 6], [100, 4], [115, -4], [135, -18],
     [160, -38], [180, -45]],
    dtype=np.float64,
)
#: Hair colours, linear RGB albedo (name -> rgb).
HAIR_COLOURS: dict[str, tuple[float, float, float]] = {
    "black": (0.016, 0.015, 0.016),
    "dark_brown": (0.040, 0.027, 0.020),
    "brown": (0.085, 0.052, 0.032),
    "auburn": (0.15, 0.060, 0.030),
    "light_brown": (0.20, 0.13, 0.075),
    "blond": (0.40, 0.29, 0.16),
    "grey": (0.32, 0.31, 0.30),
}
#: Skin tones, linear RGB albedo of the scalp.
SKIN_TONES: dict[str, tuple[float, float, float]] = {
    "very_light": (0.70, 0.50, 0.42),
    "light": (0.60, 0.41, 0.32),
    "medium": (0.45, 0.29, 0.20),
    "olive": (0.36, 0.25, 0.16),
    "brown": (0.20, 0.12, 0.075),
    "dark": (0.095, 0.058, 0.040),
}
_LUMA = np.array([0.2126, 0.7152, 0.0722])


@dataclass(frozen=True)
class HeadModel:
    """One person: fixed across visits and photos.

    Attributes
    ----------
    semi_axes_cm : tuple of float
        Cranium semi-axes ``(a_x, a_y, a_z)``: half width, half length, half height.
    egg : float
        ``k`` of the ovoid: negative makes the forehead narrower than the back.
    hairline_shift_deg : float
        Shift of the natural hairline (positive = higher forehead).
    whorl_deg : tuple of float
        Crown whorl ``(azimuth, elevation)``.
    part_offset : float
        Lateral offset of the parting, in normalized ``g_x`` units.
    style : {'part', 'back'}
        Combing: a midline parting, or swept back with no parting.
    scalp_rgb, face_rgb, hair_rgb : tuple of float
        Linear RGB albedos.
    hair_colour, skin_tone : str
        Names of the colours (for reports).
    lock_width_cm : tuple of float
        Range of lock widths.
    lock_length_cm : float
        Mean lock length.
    density_per_cm2 : float
        Locks per cm² of scalp at normal (relative 1) density.
    seed : int
        Seed of the roots and of everything else fixed about this person.
    """

    semi_axes_cm: tuple[float, float, float]
    egg: float
    hairline_shift_deg: float
    whorl_deg: tuple[float, float]
    part_offset: float
    style: str
    scalp_rgb: tuple[float, float, float]
    face_rgb: tuple[float, float, float]
    hair_rgb: tuple[float, float, float]
    hair_colour: str
    skin_tone: str
    lock_width_cm: tuple[float, float]
    lock_length_cm: float
    density_per_cm2: float
    seed: int

    @property
    def contrast_ratio(self) -> float:
        """Scalp luminance over hair luminance (below 1 when hair is lighter)."""
        return float(_LUMA @ np.array(self.scalp_rgb) / (_LUMA @ np.array(self.hair_rgb)))


@dataclass(frozen=True)
class Thinning:
    """Where and how much the hair density is reduced (0 = none, 1 = complete).

    Attributes
    ----------
    vertex : float
        Loss at the crown whorl (androgenetic vertex thinning).
    vertex_radius_deg : float
        Angular radius of the vertex patch.
    frontal : float
        Frontal recession: 1 moves the temporal corners back by about 28 degrees
        and the mid-frontal hairline by about 12.
    part : float
        Diffuse loss along the midline parting, widest at the front (female pattern).
    part_width_deg : float
        Half width of the thinned parting band at the front.
    diffuse : float
        Uniform loss everywhere.
    """

    vertex: float = 0.0
    vertex_radius_deg: float = 28.0
    frontal: float = 0.0
    part: float = 0.0
    part_width_deg: float = 14.0
    diffuse: float = 0.0

    def regrown(self, fraction: float) -> "Thinning":
        """The pattern after regrowing ``fraction`` of every loss (negative = further loss)."""
        f = 1.0 - fraction
        return replace(
            self,
            vertex=float(np.clip(self.vertex * f, 0, 1)),
            frontal=float(np.clip(self.frontal * f, 0, 1)),
            part=float(np.clip(self.part * f, 0, 1)),
            diffuse=float(np.clip(self.diffuse * f, 0, 1)),
        )


def random_head(
    rng: np.random.Generator,
    *,
    hair_colours: tuple[str, ...] = ("black", "dark_brown", "brown", "auburn"),
    skin_tones: tuple[str, ...] = ("very_light", "light", "medium", "olive", "brown"),
    min_contrast_ratio: float = 3.0,
) -> HeadModel:
    """Draw a plausible person.

    Hair colour and skin tone are drawn from the given names until the scalp
    is at least ``min_contrast_ratio`` times brighter than the hair (pass 0 to
    allow any pair, including hair lighter than skin).
    """
    for _ in range(100):
        hair = str(rng.choice(hair_colours))
        skin = str(rng.choice(skin_tones))
        hair_rgb = np.array(HAIR_COLOURS[hair]) * rng.uniform(0.85, 1.15, 3)
        scalp_rgb = np.array(SKIN_TONES[skin]) * rng.uniform(0.9, 1.1) * rng.uniform(0.96, 1.04, 3)
        ratio = float(_LUMA @ scalp_rgb / (_LUMA @ hair_rgb))
        if ratio >= min_contrast_ratio or min_contrast_ratio <= 0:
            break
    else:  # pragma: no cover - the default lists always contain a valid pair
        raise ValueError("no hair colour and skin tone pair reaches the requested contrast")
    face_rgb = scalp_rgb * np.array([1.04, 0.97, 0.95]) * rng.uniform(0.92, 1.02)
    return HeadModel(
        semi_axes_cm=(
            float(rng.uniform(7.1, 8.0)), float(rng.uniform(9.2, 10.3)), float(rng.uniform(10.8, 12.0))
        ),
        egg=float(rng.uniform(-0.12, 0.0)),
        hairline_shift_deg=float(rng.uniform(-3.0, 3.0)),
        whorl_deg=(float(rng.uniform(160, 200)), float(rng.uniform(55, 68))),
        part_offset=float(rng.uniform(-0.04, 0.04)),
        style=str(rng.choice(["part", "part", "back"])),
        scalp_rgb=tuple(float(v) for v in scalp_rgb),
        face_rgb=tuple(float(v) for v in face_rgb),
        hair_rgb=tuple(float(v) for v in hair_rgb),
        hair_colour=hair,
        skin_tone=skin,
        lock_width_cm=(0.045, float(rng.uniform(0.07, 0.1))),
        lock_length_cm=float(rng.uniform(7.0, 13.0)),
        density_per_cm2=float(rng.uniform(10.0, 15.0)),
        seed=int(rng.integers(2**31)),
    )


def random_thinning(rng: np.random.Generator, *, pattern: str | None = None) -> Thinning:
    """Draw a thinning pattern: ``'vertex'``, ``'frontal'``, ``'part'``, ``'mixed'`` or ``'none'``."""
    pattern = pattern or str(rng.choice(["vertex", "frontal", "part", "mixed", "none"]))
    t = Thinning(
        vertex_radius_deg=float(rng.uniform(20, 34)),
        part_width_deg=float(rng.uniform(10, 18)),
        diffuse=float(rng.uniform(0.0, 0.25)),
    )
    if pattern == "vertex":
        return replace(t, vertex=float(rng.uniform(0.4, 0.95)))
    if pattern == "frontal":
        return replace(t, frontal=float(rng.uniform(0.3, 1.0)))
    if pattern == "part":
        return replace(t, part=float(rng.uniform(0.4, 0.9)))
    if pattern == "mixed":
        return replace(
            t, vertex=float(rng.uniform(0.2, 0.8)), frontal=float(rng.uniform(0.1, 0.7)),
            part=float(rng.uniform(0.0, 0.6)),
        )
    if pattern == "none":
        return replace(t, diffuse=float(rng.uniform(0.0, 0.1)))
    raise ParameterError(
        f"unknown thinning pattern {pattern!r}: expected vertex, frontal, part, mixed or none"
    )


# ----------------------------------------------------------------------------- surface


def ovoid_value(p: np.ndarray, head: HeadModel) -> np.ndarray:
    """``F(p)`` of the cranium; negative inside. ``p`` has shape (..., 3)."""
    ax, ay, az = head.semi_axes_cm
    wx = ax * (1.0 + head.egg * p[..., 1] / ay)
    return (p[..., 0] / wx) ** 2 + (p[..., 1] / ay) ** 2 + (p[..., 2] / az) ** 2 - 1.0


def surface_normal(p: np.ndarray, head: HeadModel) -> np.ndarray:
    """Unit outward normal of the cranium at surface points ``p``, shape (..., 3)."""
    ax, ay, az = head.semi_axes_cm
    k = head.egg
    wx = ax * (1.0 + k * p[..., 1] / ay)
    gx = 2 * p[..., 0] / wx**2
    gy = 2 * p[..., 1] / ay**2 - 2 * p[..., 0] ** 2 / wx**3 * ax * k / ay
    gz = 2 * p[..., 2] / az**2
    g = np.stack([gx, gy, gz], axis=-1)
    return g / np.linalg.norm(g, axis=-1, keepdims=True)


def radial_surface_point(d: np.ndarray, head: HeadModel) -> np.ndarray:
    """The cranium point in unit direction ``d`` from the centre, shape (..., 3)."""
    ax, ay, az = head.semi_axes_cm
    rho = 1.0 / np.sqrt((d[..., 0] / ax) ** 2 + (d[..., 1] / ay) ** 2 + (d[..., 2] / az) ** 2)
    for _ in range(6):
        wx = ax * (1.0 + head.egg * rho * d[..., 1] / ay)
        rho = 1.0 / np.sqrt((d[..., 0] / wx) ** 2 + (d[..., 1] / ay) ** 2 + (d[..., 2] / az) ** 2)
    return d * rho[..., None]


def anatomical_direction(p: np.ndarray, head: HeadModel) -> np.ndarray:
    """Ellipsoid-normalized unit direction ``g`` of points ``p``, shape (..., 3)."""
    q = p / np.array(head.semi_axes_cm)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def anatomical_angles(p: np.ndarray, head: HeadModel) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth and elevation (degrees) of points ``p``."""
    g = anatomical_direction(p, head)
    phi = np.degrees(np.arctan2(g[..., 0], g[..., 1]))
    theta = np.degrees(np.arcsin(np.clip(g[..., 2], -1, 1)))
    return phi, theta


def natural_hairline_deg(phi_deg: np.ndarray, head: HeadModel) -> np.ndarray:
    """Elevation of the natural hairline at azimuth ``phi_deg``."""
    a = np.abs((np.asarray(phi_deg) + 180.0) % 360.0 - 180.0)
    return np.interp(a, _HAIRLINE[:, 0], _HAIRLINE[:, 1]) + head.hairline_shift_deg


def _direction(az_deg: float, el_deg: float) -> np.ndarray:
    az, el = math.radians(az_deg), math.radians(el_deg)
    return np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])


def relative_density(p: np.ndarray, head: HeadModel, thinning: Thinning) -> np.ndarray:
    """Hair density relative to normal (0..1) at surface points ``p``.

    Zero below the (possibly receded) hairline; reduced at the crown, along
    the parting and everywhere by the amounts of ``thinning``.
    """
    phi, theta = anatomical_angles(p, head)
    g = anatomical_direction(p, head)
    a = np.abs(phi)
    line = natural_hairline_deg(phi, head)
    # frontal recession: temporal corners (M shape) and a smaller mid-frontal recession
    corner = np.exp(-(((a - 38.0) / 20.0) ** 2)) * (a < 90)
    centre = np.exp(-((a / 30.0) ** 2))
    receded = line + thinning.frontal * (28.0 * corner + 12.0 * centre)
    ramp = 6.0  # degrees over which density rises behind the hairline (miniaturised hairs)
    d = np.clip((theta - line) / 2.0, 0, 1)  # natural hairline: short soft edge
    d = d * np.where(theta > receded + ramp, 1.0, np.clip((theta - receded) / ramp, 0, 1))
    # vertex thinning: a soft-edged patch around the whorl
    w = _direction(*head.whorl_deg)
    ang = np.degrees(np.arccos(np.clip(g @ w, -1, 1)))
    vert = 1.0 / (1.0 + np.exp((ang - thinning.vertex_radius_deg) / 4.0))
    d = d * (1.0 - thinning.vertex * vert)
    # parting thinning: band around the midline in front of the whorl, widest at the front
    lateral = np.degrees(np.arcsin(np.clip(g[..., 0] - head.part_offset, -1, 1)))
    front = np.clip((g[..., 1] - w[1]) / (1.0 - w[1]), 0, 1)  # 0 at the whorl, 1 at the front
    width = thinning.part_width_deg * (0.35 + 0.65 * front)
    keep_line = np.clip((theta - line) / 8.0, 0, 1)  # the frontal hairline itself is kept
    band = np.exp(-((lateral / np.maximum(width, 1e-3)) ** 2)) * (g[..., 1] > w[1] - 0.1)
    d = d * (1.0 - thinning.part * band * keep_line)
    return np.clip(d * (1.0 - thinning.diffuse), 0.0, 1.0)


# ----------------------------------------------------------------------------- strands


@dataclass(frozen=True, eq=False)
class Strands:
    """Locks of hair as polylines on the head surface.

    Attributes
    ----------
    points_cm : ndarray, shape (N, K, 3)
        ``K`` points along each of ``N`` locks, root first, head frame.
    width_cm : ndarray, shape (N,)
    shade : ndarray, shape (N,)
        Brightness factor of each lock (about 1).
    dither : ndarray, shape (N,)
        Uniform 0..1 of each lock, for rounding its drawn width without bias.
    """

    points_cm: np.ndarray
    width_cm: np.ndarray
    shade: np.ndarray
    dither: np.ndarray


def _flow(p: np.ndarray, head: HeadModel) -> np.ndarray:
    """Combing direction (not yet tangent) at surface points ``p``."""
    g = anatomical_direction(p, head)
    w = _direction(*head.whorl_deg)
    front_w = 1.0 / (1.0 + np.exp(-(g[..., 1] - w[1] - 0.05) / 0.08))
    if head.style == "part":
        lat = np.tanh((g[..., 0] - head.part_offset) / 0.03)
        front = np.stack([1.1 * lat, -0.8 * np.ones_like(lat), -0.25 * np.ones_like(lat)], -1)
    else:
        lat = np.tanh(g[..., 0] / 0.3)
        front = np.stack([0.3 * lat, -1.0 * np.ones_like(lat), -0.15 * np.ones_like(lat)], -1)
    away = g - w
    dist = np.linalg.norm(away, axis=-1, keepdims=True)
    n = surface_normal(p, head)
    swirl = np.cross(n, away) * np.exp(-dist / 0.25)
    back = away / np.maximum(dist, 1e-6) + 0.8 * swirl + np.array([0.0, 0.0, -0.4])
    return front_w[..., None] * front + (1.0 - front_w[..., None]) * back


def _roots(head: HeadModel, rng: np.random.Generator) -> np.ndarray:
    """Poisson sample of root points at ``head.density_per_cm2`` over the whole scalp."""
    n_probe = 20000
    d = rng.normal(size=(n_probe, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    p = radial_surface_point(d, head)
    n = surface_normal(p, head)
    area_w = np.sum(p * p, axis=1) / np.sum(n * d, axis=1)  # dA/dOmega
    total_area = 4 * math.pi * float(area_w.mean())
    count = int(rng.poisson(head.density_per_cm2 * total_area))
    out = []
    w_max = float(area_w.max()) * 1.05
    while sum(len(o) for o in out) < count:
        d = rng.normal(size=(2 * count, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        p = radial_surface_point(d, head)
        n = surface_normal(p, head)
        a = np.sum(p * p, axis=1) / np.sum(n * d, axis=1)
        out.append(p[rng.uniform(0, w_max, len(p)) < a])
    return np.concatenate(out)[:count]


def grow_strands(
    head: HeadModel,
    thinning: Thinning,
    *,
    combing_seed: int,
    restyle_seed: int | None = None,
    restyle: float = 0.0,
    steps: int = 16,
) -> Strands:
    """The locks on the head for a given thinning pattern.

    Roots, keep values and widths depend only on ``head.seed``; the paths
    (curl, length, direction noise) on ``combing_seed``, the person's way of
    combing. ``restyle`` (0..1) mixes in a fresh draw from ``restyle_seed``:
    0 lays every lock exactly as before (hair styled identically), 1 combs
    the hair anew. Per-lock draws are made for every root, alive or not, so a
    regrown lock does not move the others.

    Parameters
    ----------
    head : HeadModel
    thinning : Thinning
    combing_seed : int
    restyle_seed : int, optional
    restyle : float
    steps : int
        Segments per lock.

    Returns
    -------
    Strands
    """
    rng = np.random.default_rng(head.seed)
    roots = _roots(head, rng)
    m = len(roots)
    keep = rng.uniform(0, 1, m)
    width = rng.uniform(*head.lock_width_cm, m)
    dither = rng.uniform(0, 1, m)
    shade = rng.uniform(0.75, 1.25, m)
    base_len = rng.uniform(0.6, 1.4, m) * head.lock_length_cm
    phi, theta = anatomical_angles(roots, head)
    in_scalp = theta >= natural_hairline_deg(phi, head)
    alive = in_scalp & (keep < relative_density(roots, head, thinning))

    def draws(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        comb = np.random.default_rng(seed)
        return comb.normal(0, 1, m), comb.normal(0, 1, m), comb.normal(0, 1, (m, 3))

    z_len, z_curl, z_jit = draws(combing_seed)
    if restyle > 0 and restyle_seed is not None:
        a, b = np.sqrt(1.0 - restyle**2), restyle
        n_len, n_curl, n_jit = draws(restyle_seed)
        z_len, z_curl, z_jit = a * z_len + b * n_len, a * z_curl + b * n_curl, a * z_jit + b * n_jit
    roots, width, shade, dither = roots[alive], width[alive], shade[alive], dither[alive]
    length = base_len[alive] * (1.0 + 0.06 * z_len[alive])
    curl = 0.06 * z_curl[alive]  # radians per cm
    jitter = 0.35 * z_jit[alive]
    n = len(roots)
    pts = np.empty((n, steps + 1, 3))
    pts[:, 0] = roots
    p = roots.copy()
    step = (length / steps)[:, None]
    heading = None
    for k in range(steps):
        nrm = surface_normal(p, head)
        v = _flow(p, head) + jitter * (0.5 if k == 0 else 0.15)
        if heading is not None:
            v = 0.6 * v / np.linalg.norm(v, axis=1, keepdims=True) + heading
        t = v - np.sum(v * nrm, axis=1, keepdims=True) * nrm
        t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
        # curl: rotate the heading about the normal
        ang = (curl * step[:, 0])[:, None]
        t = t * np.cos(ang) + np.cross(nrm, t) * np.sin(ang)
        heading = t
        q = p + step * t
        p = radial_surface_point(q / np.linalg.norm(q, axis=1, keepdims=True), head)
        pts[:, k + 1] = p
    return Strands(points_cm=pts, width_cm=width, shade=shade, dither=dither)
