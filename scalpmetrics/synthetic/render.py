"""Rendering one visit of a scalp patch into a :class:`~scalpmetrics.synthetic.Phantom`,
and :func:`make_phantom`."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from scalpmetrics.synthetic.camera import (
    _apply_h,
    _camera,
    _clipped_lengths,
    _inside_field,
    pose_homography,
)
from scalpmetrics.synthetic.coverage import _hair_layer
from scalpmetrics.synthetic.noise import _smooth_noise
from scalpmetrics.synthetic.scalp import _Scalp, _make_scalp
from scalpmetrics.synthetic.shafts import _Shafts, _follicle_shafts, _loose_shafts, _outline
from scalpmetrics.synthetic.skin import _SUBSURFACE_DARKEN_RGB
from scalpmetrics.synthetic.spec import VELLUS_CUTOFF_UM, PhantomSpec, _replace
from scalpmetrics.synthetic.streams import _S_GEOMETRY, _S_LOOSE, _S_RENDER, _rng
from scalpmetrics.synthetic.truth import HairTruth, Phantom, _truth

#: Shaft cross-section: edge darkening, body half-width, highlight offset/half-width/strength.
_EDGE_SHADE = 0.72
_BODY_HALF_WIDTH = 0.62
_HIGHLIGHT_OFFSET, _HIGHLIGHT_HALF_WIDTH, _HIGHLIGHT_STRENGTH = 0.25, 0.14, 0.16
_MIN_DEPTH = 0.1  # shafts are cut where the pose's homogeneous depth falls below this


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


def make_phantom(spec: PhantomSpec | None = None, **overrides: Any) -> Phantom:
    """Render one phantom.

    Parameters
    ----------
    spec : PhantomSpec, optional
        The specification (default: ``PhantomSpec()``).
    **overrides
        Fields of :class:`~scalpmetrics.synthetic.PhantomSpec` replacing those of ``spec``.

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
