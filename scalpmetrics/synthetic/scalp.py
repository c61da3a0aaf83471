"""The scalp patch: follicle sites and hair slots with fixed attributes, and its skin.

Everything here is in scalp coordinates and fixed for every visit of a
course: emergence points, directions, widths, colours and lengths of the
hair slots, the hair present at baseline, and the skin raster covering every
visit's field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scalpmetrics.synthetic.camera import _apply_h, _field_corners
from scalpmetrics.synthetic.skin import _add_openings, _skin_texture
from scalpmetrics.synthetic.spec import PhantomSpec
from scalpmetrics.synthetic.streams import _S_SITES, _S_SKIN, _rng

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

# --- hair geometry --------------------------------------------------------------------
_CLIPPED_COS_ELEVATION = (0.55, 0.9)  # foreshortening of a clipped shaft leaving the skin
_LENGTH_JITTER = 0.15  # per-visit relative jitter of clipped lengths
_UNIT_SPREAD_DEG = (4.0, 12.0)  # divergence per slot of a follicular unit
_UNIT_SPACING_WIDTHS = 0.9  # emergence spacing within a unit, in terminal widths
_SUBSURFACE_MM = (0.25, 0.6)  # length of the shaft visible under the skin
_VELLUS_LENGTH_FACTOR = (0.25, 0.5)  # unclipped vellus hairs are shorter
_LOOSE_LENGTH_MM = (0.3, 1.6)
_DIRECTION_FIELD = (0.35, 6.0, 15.0)  # amplitude (rad), wavelength range (mm)


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
