"""Hair shafts of one visit: centrelines of follicle and loose hairs, and their outlines."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scalpmetrics.synthetic.camera import _apply_h
from scalpmetrics.synthetic.scalp import _LENGTH_JITTER, _LOOSE_LENGTH_MM, _Scalp, _slot_colours
from scalpmetrics.synthetic.spec import PhantomSpec

#: Vellus hairs are hypopigmented: their colour moves this far towards _PALE_RGB.
_VELLUS_PALLOR = 0.35
_PALE_RGB = (0.88, 0.82, 0.74)

_CUT_ANGLE_DEG = 35.0  # obliqueness of cut tips
_CURVATURE_RADIUS_MM = (8.0, 40.0)  # unclipped shafts
_COMB_DEG = 20.0  # unclipped hair: per-visit change of combing direction
_CURVE_STEP_PX = 6.0  # centreline sampling of curved shafts (scalp px)


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
