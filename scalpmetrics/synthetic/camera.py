"""The camera: its pose on the scalp, its image field, and how it takes the photo.

The pose is a scalp-to-image homography; the field helpers test and clip
against the image field; :func:`_camera` applies lighting, white balance,
optics blur, sensor noise, 8-bit quantisation and JPEG.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from scalpmetrics.synthetic.spec import PhantomSpec
from scalpmetrics.synthetic.streams import _S_NOISE, _rng


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
