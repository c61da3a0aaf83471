"""Find the subject and the head in a global-view photo (classical methods, no learned model).

1. The backdrop is modelled from the photo's outer band: the band's dominant
   colour cluster, with a planar trend per feature (log luminance and two
   log-chromaticities) for an evenly lit but not perfectly flat backdrop.
2. A pixel is *subject* (head, ears, neck, shoulders) when its colour is far
   from that model, in robust standard deviations of the band; the mask is
   cleaned (largest blob, holes filled) and refined by GrabCut.
3. The head ellipse is fitted robustly to the subject's outline
   (:func:`~scalpmetrics.globalview.zones.fit_outline_ellipse`); ears, neck and
   shoulders are outliers of that fit.
4. The fit is repeated on a sub-pixel outline of the working copy
   (:func:`refine_frame`): near the outline, every pixel's share of head is
   read from its colour between the local backdrop and the head just inside.
   The refit is kept only when it agrees with the first fit.

Limits: the backdrop must fill the photo's border and differ in colour or
brightness from the hair (black hair on a black backdrop has no outline);
hair standing far off the scalp widens the head ellipse.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from scalpmetrics.errors import HeadNotFoundError
from scalpmetrics.globalview.colour import area_resize, luminance
from scalpmetrics.globalview.geometry import HeadEllipse, fit_head_frame
from scalpmetrics.globalview.zones import TEMPLATE_ASPECT, fit_outline_ellipse
from scalpmetrics.params import GlobalViewParams

__all__ = [
    "HeadFit",
    "Silhouette",
    "segment_subject",
    "fit_head",
    "find_head",
    "refine_frame",
    "subpixel_head",
    "colour_features",
    "backdrop_distance",
]

_EPS = 0.004  # linear-light floor of the log features
_MIN_SD = 0.02  # floor of the backdrop's robust SD per feature (log units)
_CLOTHING_MIN_CHROMA = 0.08  # clothing: log-chromaticity this close to the gown's (or ...)
_CLOTHING_SPREAD = 4.0  # ... this many robust SDs of the gown's own chromaticity
_HEAD_TOP_SHARE = 0.15  # the top share of a seated subject's height is always head
_INWARD_PX = 2  # a pixel of the outline is mixed with the head colour this far inside it
_SEEN_NOISE = 4.0  # a colour this many times the backdrop's noise from the backdrop is head


@dataclass(frozen=True, eq=False)
class HeadFit:
    """The head found in a photo.

    Attributes
    ----------
    ellipse : HeadEllipse
        Head ellipse, in pixels of the photo it was found in.
    head_mask : ndarray of bool, shape (H, W)
        The subject without its clothing (head, ears, neck), in the photo's pixels.
    backdrop_contrast : float
        Median colour distance of the head's upper outline from the backdrop,
        in backdrop SDs (low values mean a doubtful outline).
    """

    ellipse: HeadEllipse
    head_mask: np.ndarray
    backdrop_contrast: float


def colour_features(linear: np.ndarray) -> np.ndarray:
    """Log luminance and two log-chromaticities, shape (H, W, 3), float32."""
    y = luminance(linear) + _EPS
    r, g, b = (linear[:, :, k] + _EPS for k in range(3))
    return np.stack([np.log(y), np.log(r / g), np.log(b / g)], axis=-1).astype(np.float32)


def _border(shape: tuple[int, ...], fraction: float) -> np.ndarray:
    h, w = shape[:2]
    k = max(2, round(fraction * min(h, w)))
    m = np.zeros((h, w), dtype=bool)
    m[:k] = m[-k:] = True
    m[:, :k] = m[:, -k:] = True
    return m


def backdrop_distance(linear: np.ndarray, *, params: GlobalViewParams) -> np.ndarray:
    """Colour distance of every pixel from the backdrop model, in backdrop SDs.

    Parameters
    ----------
    linear : ndarray, shape (H, W, 3), float32
        Linear RGB photo (a reduced copy).
    params : GlobalViewParams

    Returns
    -------
    ndarray, shape (H, W), float32
    """
    feats = colour_features(linear)
    h, w = feats.shape[:2]
    band = _border(feats.shape, params.border_fraction)
    ys, xs = np.nonzero(band)
    f = feats[band].astype(np.float64)
    # the dominant cluster of the band: points near the band's median colour
    med = np.median(f, axis=0)
    dev = np.abs(f - med)
    sd = np.maximum(1.4826 * np.median(dev, axis=0), _MIN_SD)
    keep = np.all(dev < 3.0 * sd, axis=1)
    if keep.sum() < 16:
        keep = np.ones(len(f), dtype=bool)
    xn, yn = xs / max(w - 1, 1) - 0.5, ys / max(h - 1, 1) - 0.5
    design = np.stack([np.ones_like(xn), xn, yn], axis=1)
    coef = np.zeros((3, 3))
    for _ in range(3):  # planar trend, refitted on the points it explains
        coef = np.linalg.lstsq(design[keep], f[keep], rcond=None)[0]
        resid = f - design @ coef
        sd = np.maximum(1.4826 * np.median(np.abs(resid[keep]), axis=0), _MIN_SD)
        keep = np.all(np.abs(resid) < 3.0 * sd, axis=1)
        if keep.sum() < 16:
            keep = np.ones(len(f), dtype=bool)
    gx, gy = np.meshgrid(np.arange(w) / max(w - 1, 1) - 0.5, np.arange(h) / max(h - 1, 1) - 0.5)
    model = coef[0][None, None, :] + gx[:, :, None] * coef[1] + gy[:, :, None] * coef[2]
    z = (feats - model) / sd
    return np.sqrt(np.sum(z * z, axis=-1)).astype(np.float32)


def _clean(mask: np.ndarray, radius_px: int) -> np.ndarray:
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius_px + 1, 2 * radius_px + 1))
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, k)
    lab, n = ndimage.label(m)
    if n == 0:
        return np.zeros_like(mask, dtype=bool)
    sizes = ndimage.sum(m, lab, index=np.arange(1, n + 1))
    m = lab == (1 + int(np.argmax(sizes)))
    return ndimage.binary_fill_holes(m)


def _grabcut(rgb8: np.ndarray, seed: np.ndarray, iterations: int, rng_seed: int) -> np.ndarray:
    """GrabCut from a seed mask of GC_* labels; returns the (probable) foreground.

    GrabCut starts its colour models with OpenCV's k-means, which draws from
    OpenCV's own generator: it is reseeded first so that the result does not
    depend on what ran before.
    """
    if not (seed == cv2.GC_FGD).any() or not (seed == cv2.GC_BGD).any():
        return (seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD)
    seed = seed.copy()
    cv2.setRNGSeed(rng_seed)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(rgb8[:, :, ::-1].copy(), seed, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return (seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD)


def _subject(
    rgb8: np.ndarray, dist: np.ndarray, threshold: float, iterations: int, seed: int
) -> np.ndarray:
    """Subject (everything that is not backdrop), seeded from the backdrop distance."""
    seed_mask = np.full(dist.shape, cv2.GC_PR_BGD, dtype=np.uint8)
    seed_mask[dist >= threshold] = cv2.GC_PR_FGD
    core = cv2.erode((dist >= 2 * threshold).astype(np.uint8), np.ones((5, 5), np.uint8))
    seed_mask[core > 0] = cv2.GC_FGD
    seed_mask[dist < 0.5 * threshold] = cv2.GC_BGD
    if iterations == 0:
        return dist >= threshold
    return _grabcut(rgb8, seed_mask, iterations, seed)


def _head_part(linear: np.ndarray, subject: np.ndarray) -> np.ndarray:
    """The subject without its clothing.

    Clothing is what the subject shows where it meets the photo's bottom edge
    (a seated subject's shoulders), grown upwards over connected pixels of the
    same chromaticity (which shading does not change). When nothing meets the
    bottom edge the subject is all head.
    """
    h, w = subject.shape
    low = subject.copy()
    low[: h - max(2, round(0.04 * h))] = False
    if low.sum() < 16:
        return subject
    chroma = colour_features(linear)[:, :, 1:]
    ref = np.median(chroma[low], axis=0)
    spread = 1.4826 * np.median(np.abs(chroma[low] - ref), axis=0)
    tol = np.maximum(_CLOTHING_MIN_CHROMA, _CLOTHING_SPREAD * spread)
    like = subject & np.all(np.abs(chroma - ref) < tol, axis=-1)
    lab_cc, _ = ndimage.label(like)
    touching = np.unique(lab_cc[low & like])
    clothing = np.isin(lab_cc, touching[touching > 0])
    rows = np.flatnonzero(subject.any(axis=1))
    top_band = rows[0] + max(1, round(_HEAD_TOP_SHARE * (rows[-1] - rows[0] + 1)))
    if clothing[:top_band].any():  # it reaches the top of the subject: it is the head itself
        return subject
    return subject & ~clothing


@dataclass(frozen=True, eq=False)
class Silhouette:
    """The subject and its head, on the reduced copy the search ran on.

    Attributes
    ----------
    subject : ndarray of bool, shape (h, w)
        Everything that is not backdrop.
    head : ndarray of bool, shape (h, w)
        The subject without its clothing (head, ears, neck), holes filled.
    backdrop_distance : ndarray, shape (h, w), float32
        Colour distance from the backdrop model, in backdrop SDs.
    scale : float
        Pixels of the reduced copy per pixel of the photo.
    photo_shape : tuple of int
        ``(H, W)`` of the photo.
    """

    subject: np.ndarray
    head: np.ndarray
    backdrop_distance: np.ndarray
    scale: float
    photo_shape: tuple[int, int]


def segment_subject(linear: np.ndarray, *, params: GlobalViewParams = GlobalViewParams()) -> Silhouette:
    """Separate the subject from the backdrop and the head from the clothing.

    Parameters
    ----------
    linear : ndarray, shape (H, W, 3), float32
        Linear RGB photo (see :func:`~scalpmetrics.globalview.colour.to_linear`).
    params : GlobalViewParams

    Returns
    -------
    Silhouette

    Raises
    ------
    HeadNotFoundError
        No subject stands out from the backdrop, or it fills the photo.
    """
    h, w = linear.shape[:2]
    factor = min(1.0, params.search_side_px / max(h, w))
    small = area_resize(linear, factor)
    dist = backdrop_distance(small, params=params)
    rgb8 = np.round(np.clip(small, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)
    radius = max(1, round(0.004 * max(small.shape[:2])))
    subject = _clean(
        _subject(rgb8, dist, params.background_distance_sd, params.grabcut_iterations, params.seed),
        radius,
    )
    if subject.sum() < 0.01 * subject.size:
        raise HeadNotFoundError("no subject stands out from the backdrop")
    if subject.mean() > 0.95:
        raise HeadNotFoundError("the subject fills the whole photo: the backdrop must show around the head")
    head = _clean(_head_part(small, subject), radius)
    if head.sum() < 0.005 * head.size:
        raise HeadNotFoundError("no head found on the subject")
    return Silhouette(subject, head, dist, small.shape[1] / w, (h, w))


def fit_head(sil: Silhouette, *, view: str, params: GlobalViewParams = GlobalViewParams()) -> HeadFit:
    """Fit the head frame of ``view`` to a silhouette.

    Returns
    -------
    HeadFit
        In the pixels of the photo.

    Raises
    ------
    HeadNotFoundError
        The head's upper outline is not head-like.
    """
    ellipse_small = fit_outline_ellipse(sil.head, view=view, params=params)
    ring = cv2.morphologyEx(sil.head.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    u, v = ellipse_small.uv_grid(sil.head.shape)
    r = np.sqrt(u * u + v * v)
    near = ring & sil.head & (np.abs(r - 1.0) < 0.1) & (v < 0)
    contrast = float(np.median(sil.backdrop_distance[near])) if near.any() else 0.0
    h, w = sil.photo_shape
    soft = cv2.resize(sil.head.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return HeadFit(ellipse_small.scaled(1.0 / sil.scale), soft >= 0.5, contrast)


def find_head(linear: np.ndarray, *, view: str, params: GlobalViewParams = GlobalViewParams()) -> HeadFit:
    """:func:`segment_subject` then :func:`fit_head`."""
    return fit_head(segment_subject(linear, params=params), view=view, params=params)


def _local_mean(image: np.ndarray, support: np.ndarray, sigma_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-weighted mean of ``image`` over ``support`` pixels, and the weight found."""
    w = support.astype(np.float32)
    den = cv2.GaussianBlur(w, (0, 0), sigma_px)
    num = cv2.GaussianBlur(image.astype(np.float32) * w[:, :, None], (0, 0), sigma_px)
    return num / np.maximum(den, 1e-6)[:, :, None], den


def subpixel_head(
    linear: np.ndarray, mask: np.ndarray, frame: HeadEllipse, band_px: float
) -> np.ndarray:
    """Share of every pixel that the head covers, along the rows of the upper outline.

    In linear light a pixel on the outline is the area mix of head and
    backdrop. Along each row of the upper half of ``frame``, at each end of
    ``mask``, every pixel within ``band_px`` of the end gets the position of
    its colour between the local backdrop colour (pixels beyond the band,
    averaged) and the colour of the pixel ``_INWARD_PX`` further inside (the
    head just inside: forehead skin, hair or lit hair, whatever lies at the
    outline there), clipped to 0..1; a pixel whose reference is within
    ``_SEEN_NOISE`` times the backdrop's noise of the backdrop is itself
    backdrop. Scanning inwards, the head is taken as whole after the first
    pixel past half a share, so neither the texture of the hair inside nor a
    thin band of skin at the outline (whose reference may lie in the hair
    beyond it) counts as backdrop. Pixels elsewhere keep ``mask``; a row end
    is kept as it is when no pixel of its band passes half a share or no
    backdrop is found beyond it.

    Parameters
    ----------
    linear : ndarray, shape (H, W, 3), float32
        Linear RGB photo.
    mask : ndarray of bool, shape (H, W)
        Head mask of the same pixels (a coarse outline, within ``band_px``).
    frame : HeadEllipse
        Head frame fitted to ``mask``.
    band_px : float
        Half-width of the band about the outline that is refined, px.

    Returns
    -------
    ndarray, shape (H, W), float32
    """
    from scipy.ndimage import distance_transform_edt

    h, w = mask.shape
    k = int(np.ceil(band_px))
    ring = 3.0  # width of the backdrop ring beyond the band, px
    d_out = distance_transform_edt(~mask)
    outer = ~mask & (d_out > band_px) & (d_out <= band_px + ring)
    back_rgb, w_out = _local_mean(linear, outer, band_px + ring)
    # squared colour distance of the backdrop's own noise about its local mean
    floor = _SEEN_NOISE**2 * float(np.median(np.sum((linear[outer] - back_rgb[outer]) ** 2, axis=1)))
    soft = mask.astype(np.float32)
    y_mid = min(h, int(np.floor(frame.center_xy_px[1])))
    for y in range(y_mid):
        cols = np.flatnonzero(mask[y])
        if cols.size == 0:
            continue
        for end, step in ((int(cols[0]), 1), (int(cols[-1]), -1)):
            outside = end - step * (k + 1)  # where the backdrop is read
            xs = end + step * np.arange(-k, k + 1)  # from outside inwards
            inner = xs + step * _INWARD_PX
            if not (0 <= outside < w and (xs >= 0).all() and (xs < w).all()
                    and (inner >= 0).all() and (inner < w).all()) or w_out[y, outside] < 0.05:
                continue
            b = back_rgb[y, outside]
            d = linear[y, inner] - b
            d2 = np.sum(d * d, axis=1)
            alpha = np.sum((linear[y, xs] - b) * d, axis=1) / np.maximum(d2, 1e-12)
            # a reference that is itself backdrop: the pixel is further out
            alpha = np.where(d2 >= floor, np.clip(alpha, 0.0, 1.0), 0.0)
            past = np.flatnonzero(alpha >= 0.5)
            if past.size == 0:
                continue
            alpha[past[0] + 1 :] = 1.0
            soft[y, xs] = alpha
    return soft


def refine_frame(
    linear: np.ndarray,
    mask: np.ndarray,
    coarse: HeadEllipse,
    *,
    view: str,
    band_px: float,
    params: GlobalViewParams = GlobalViewParams(),
) -> HeadEllipse:
    """The head frame refitted to a sub-pixel outline (see :func:`subpixel_head`).

    The frame found on the reduced search copy is off by up to a pixel of
    the photo, and thin zones across a hairline move by points for a pixel.
    The same fit (:func:`~scalpmetrics.globalview.geometry.fit_head_frame`) is
    repeated on the head's share of every pixel of ``linear``. The refit is
    kept only when its centre and half-width agree with ``coarse`` within
    ``outline_refit_tolerance_fraction`` of the head radius and its misfit is
    within ``frame_max_misfit_fraction``; otherwise ``coarse`` is returned.

    Parameters
    ----------
    linear : ndarray, shape (H, W, 3), float32
        Linear RGB photo (the working copy).
    mask : ndarray of bool, shape (H, W)
        Head mask in the same pixels (the search copy's, enlarged).
    coarse : HeadEllipse
        Head frame found on the search copy, in the same pixels.
    view : str
        The view (sets the frame's aspect).
    band_px : float
        Half-width of the refined band about the outline, px (a little
        more than a pixel of the search copy).
    params : GlobalViewParams

    Returns
    -------
    HeadEllipse
    """
    soft = subpixel_head(linear, mask, coarse, band_px)
    fit = fit_head_frame(
        soft, aspect=TEMPLATE_ASPECT[view], band_v=(params.frame_band_top_v, params.frame_band_bottom_v)
    )
    if fit is None or fit.rms_residual_fraction > params.frame_max_misfit_fraction:
        return coarse
    tol = params.outline_refit_tolerance_fraction * coarse.mean_radius_px
    (cx0, cy0), (a0, _) = coarse.center_xy_px, coarse.semi_axes_px
    (cx, cy), (a, _) = fit.ellipse.center_xy_px, fit.ellipse.semi_axes_px
    if max(abs(cx - cx0), abs(cy - cy0), abs(a - a0)) > tol:
        return coarse
    return fit.ellipse
