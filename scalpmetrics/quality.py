"""The one registry of quality flags, and the checks that raise them.

Every flag has a name, a description and (where it is measured) the figure
and threshold that raised it. Clinic software may refuse photos on any flag.
The figures are measured on the pixels that are analysed (objects in view
such as a marker or a colour chart are left out); :func:`measure_quality`
returns them all, :func:`quality_flags` compares them with the thresholds of
:class:`~scalpmetrics.params.QualityParams`. ``docs/inputs.md`` explains each.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.floatops import magnitude
from scalpmetrics.params import QualityParams
from scalpmetrics.selection import median, quantile
from scalpmetrics.types import Calibration, Hair, QualityFlag

if TYPE_CHECKING:
    from scalpmetrics.colorchart import ChartDetection
    from scalpmetrics.marker import MarkerSearch

#: name -> description of every flag scalpmetrics can raise.
FLAGS: dict[str, str] = {
    "calibration_missing": (
        "No pixel scale is known: density, widths and areas are null; "
        "coverage is still reported."
    ),
    "out_of_focus": (
        "The edges in the photo are blurred: the figure is the estimated edge blur "
        "(Gaussian sigma, px); the threshold is quality.max_blur_px, or "
        "quality.max_blur_um converted to px when that is larger."
    ),
    "overexposed": (
        "Too many pixels are blown out (luminance clipped to white): the figure is their "
        "share; the threshold is quality.max_overexposed_fraction."
    ),
    "underexposed": (
        "Too many pixels are crushed black (luminance clipped to black): the figure is "
        "their share; the threshold is quality.max_underexposed_fraction."
    ),
    "glare": (
        "Specular highlights cover part of the photo and hide what lies under them: "
        "the figure is their share; the threshold is quality.max_glare_fraction."
    ),
    "low_contrast": (
        "Hair barely stands out from the scalp, so faint hairs may be missed: the "
        "figure is the hair/scalp contrast; the threshold is quality.min_contrast."
    ),
    "long_hair": (
        "The hair is long (not clipped): shafts overlap and hide where most hairs leave "
        "the scalp, so hair counts, density, widths and follicular units are estimates "
        "(clip the hair for counting, as for a phototrichogram); the shafts are traced on "
        "their cores joined through the hair mask (unless trace.long_hair_tracing is never; "
        "provenance.tracing says which); the figure is the length-weighted mean "
        "visible length of the shafts traced on the cores, mm; the threshold is "
        "quality.max_shaft_length_mm."
    ),
    "marker_not_found": (
        "A scale marker was asked for but the expected dictionary and id are not in "
        "view; the calibration comes from elsewhere (or is missing)."
    ),
    "color_chart_rejected": (
        "A colour chart was found but its colour fit is poor, so no chart correction "
        "was applied: the figure is the fit error (CIEDE2000, root mean square); the "
        "threshold is chart.max_fit_error_de00."
    ),
    "registration_failed": (
        "A follow-up photo could not be aligned to the baseline (see its registration "
        "record for the reason); it is left out of the common area and its changes "
        "are null."
    ),
}

#: Blur estimate: scale-space probe range (px, geometric steps per octave) and
#: the share of the strongest edges it is measured on.
_BLUR_MIN_SCALE_PX = 0.5
_BLUR_MAX_SCALE_PX = 8.0
_BLUR_STEPS_PER_OCTAVE = 3
_BLUR_EDGE_QUANTILE = 0.98
#: Steps smaller than this share of full scale are not edges (their peak
#: normalised response is step / (2 sqrt(pi))).
_BLUR_MIN_EDGE_STEP = 0.02
#: Scale at which the edges are located, px.
_BLUR_SELECT_SCALE_PX = 1.0
#: Side of the tiles a large photo's blur is measured on, px.
_BLUR_TILE_PX = 512
#: Rec. 709 luma weights of R, G, B.
_LUMA_RGB = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
#: Hair pixels within this distance of the mask are left out of the scalp sample, px.
_CONTRAST_GUARD_PX = 2


def _flag(name: str, value: float | None = None, threshold: float | None = None,
          detail: str = "") -> QualityFlag:
    message = FLAGS[name] if not detail else f"{detail}. {FLAGS[name]}"
    return QualityFlag(name, value=value, threshold=threshold, message=message)


def calibration_flags(calibration: Calibration) -> list[QualityFlag]:
    """``calibration_missing`` when the photo has no pixel scale."""
    if calibration.is_known:
        return []
    return [QualityFlag("calibration_missing", message=FLAGS["calibration_missing"])]


def marker_flags(search: MarkerSearch | None) -> list[QualityFlag]:
    """``marker_not_found`` when a marker was looked for and is not in view."""
    if search is None or search.found:
        return []
    return [_flag("marker_not_found", detail=search.summary)]


def chart_flags(chart: ChartDetection | None, *, max_fit_error_de00: float) -> list[QualityFlag]:
    """``color_chart_rejected`` when a chart was found but its fit is too poor to use."""
    if chart is None or chart.usable:
        return []
    return [_flag("color_chart_rejected", chart.fit_error_de00, max_fit_error_de00)]


def _unit_float(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ImageArrayError(f"expected RGB pixels of shape (H, W, 3), got {pixels.shape}")
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / np.float32(255.0)
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / np.float32(65535.0)
    raise ImageArrayError(f"expected uint8 or uint16 pixels, got {pixels.dtype}")


def _luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.transform(np.ascontiguousarray(rgb, dtype=np.float32), _LUMA_RGB[None, :])


def blur_threshold_px(px_per_mm: float | None, params: QualityParams = QualityParams()) -> float:
    """The ``out_of_focus`` limit in px: ``max_blur_px``, or ``max_blur_um`` in px if larger.

    Examples
    --------
    >>> blur_threshold_px(None)
    2.5
    >>> round(blur_threshold_px(350.0), 2)   # 15 um at 350 px/mm
    5.25
    """
    if px_per_mm is None:
        return params.max_blur_px
    return max(params.max_blur_px, params.max_blur_um * px_per_mm / 1000.0)


def edge_blur_px(luma: np.ndarray, *, valid: np.ndarray | None = None,
                 max_scale_px: float = _BLUR_MAX_SCALE_PX) -> float | None:
    """Blur of the strongest edges, by scale selection (Lindeberg).

    The scale-normalised gradient ``sqrt(s) * |grad(G_s * L)|`` of a step edge
    blurred by a Gaussian of ``sigma`` is largest at ``s = sigma``. The edges
    are the local maxima of the gradient at a fine scale, the strongest 2 %
    of them kept; at each, the response is evaluated over probe scales from
    0.5 px up, the best scale interpolated, and the median over the edges is
    the figure. Steps below 2 % of full scale are not edges. A perfectly
    sharp edge reads about 0.6 px (pixel sampling); shafts narrower than
    about 3 px read as sharper than they are (their two edges merge).

    Parameters
    ----------
    luma : ndarray, shape (H, W), float32
        Luminance in [0, 1].
    valid : ndarray of bool, shape (H, W), optional
        Pixels that may be used.
    max_scale_px : float
        Largest blur measured; larger blurs read as this.

    Returns
    -------
    float or None
        Estimated Gaussian sigma of the edge blur, px; ``None`` when there
        are no edges to measure.
    """
    whole = (slice(0, luma.shape[0]), slice(0, luma.shape[1]))
    return _windowed_edge_blur(lambda _: luma, [(whole, (0, 0, 0, 0))], valid, max_scale_px)


def photo_blur_px(pixels: np.ndarray, *, valid: np.ndarray | None = None,
                  max_scale_px: float = _BLUR_MAX_SCALE_PX,
                  max_pixels: int = 2_000_000) -> float | None:
    """:func:`edge_blur_px` of a photo's luminance, on at most ``max_pixels`` of it.

    A larger photo is measured on square tiles spread evenly over it, each
    edge away from the tile borders (so its response is the one of the whole
    photo), the strongest 2 % being those of the tiles' edges.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8 or uint16
        The photo as loaded.
    valid : ndarray of bool, shape (H, W), optional
        Pixels that may be used.
    max_scale_px : float
        Largest blur measured.
    max_pixels : int
        Largest area measured whole, px.

    Returns
    -------
    float or None
        See :func:`edge_blur_px`.
    """
    scales = _probe_scales(max_scale_px)
    guard = int(math.ceil(4 * scales[-1])) + 3  # Gaussian kernel radius, then the probe's reach
    windows = _blur_windows(pixels.shape[:2], max_pixels, guard)
    return _windowed_edge_blur(lambda w: _luma(_unit_float(pixels[w])), windows, valid,
                               max_scale_px)


def _probe_scales(max_scale_px: float) -> np.ndarray:
    n_octaves = math.log2(max(max_scale_px, 2 * _BLUR_MIN_SCALE_PX) / _BLUR_MIN_SCALE_PX)
    steps = np.arange(0, int(math.ceil(n_octaves * _BLUR_STEPS_PER_OCTAVE)) + 1)
    return _BLUR_MIN_SCALE_PX * 2.0 ** (steps / _BLUR_STEPS_PER_OCTAVE)


_Window = tuple[tuple[slice, slice], tuple[int, int, int, int]]


def _blur_windows(shape: tuple[int, int], max_pixels: int, guard: int) -> list[_Window]:
    """The whole image, or square tiles of ``_BLUR_TILE_PX`` spread evenly over
    it whose total area is at most ``max_pixels``; each with the margins
    (top, bottom, left, right) where edges are not taken: ``guard`` on a side
    inside the image, none on the image's own border."""
    h, w = shape
    if h * w <= max_pixels or min(h, w) < _BLUR_TILE_PX:
        return [((slice(0, h), slice(0, w)), (0, 0, 0, 0))]
    ny, nx = h // _BLUR_TILE_PX, w // _BLUR_TILE_PX
    count = max(1, min(ny * nx, max_pixels // _BLUR_TILE_PX**2))
    out = []
    for k in np.unique(np.linspace(0, ny * nx - 1, count).round().astype(int)):
        # Tiles on a grid that spans the image, from border to border.
        r0 = (k // nx) * (h - _BLUR_TILE_PX) // max(ny - 1, 1)
        c0 = (k % nx) * (w - _BLUR_TILE_PX) // max(nx - 1, 1)
        r1, c1 = r0 + _BLUR_TILE_PX, c0 + _BLUR_TILE_PX
        margins = (guard if r0 > 0 else 0, guard if r1 < h else 0,
                   guard if c0 > 0 else 0, guard if c1 < w else 0)
        out.append(((slice(r0, r1), slice(c0, c1)), margins))
    return out


def _edge_candidates(luma: np.ndarray, valid: np.ndarray | None, scales: np.ndarray,
                     margins: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Gradient magnitude at the fine scale and the edge candidates (its local
    maxima at least as strong as the weakest edge measured), away from the
    image border, the ``margins`` and the pixels that may not be used."""
    fine = cv2.GaussianBlur(luma, (0, 0), _BLUR_SELECT_SCALE_PX, borderType=cv2.BORDER_REFLECT)
    grad = magnitude(cv2.Sobel(fine, cv2.CV_32F, 1, 0, ksize=1, scale=0.5),
                     cv2.Sobel(fine, cv2.CV_32F, 0, 1, ksize=1, scale=0.5))
    # local maxima at least as strong as the weakest edge measured (2 % step, widest blur)
    weakest = _BLUR_MIN_EDGE_STEP / math.sqrt(2 * math.pi * (scales[-1] ** 2 + _BLUR_SELECT_SCALE_PX ** 2))
    candidates = (grad >= cv2.dilate(grad, np.ones((3, 3), np.uint8))) & (grad >= weakest)
    candidates[[0, -1], :] = False
    candidates[:, [0, -1]] = False
    top, bottom, left, right = margins
    candidates[:top] = candidates[candidates.shape[0] - bottom:] = False
    candidates[:, :left] = candidates[:, candidates.shape[1] - right:] = False
    if valid is not None and not valid.all():
        guard = int(math.ceil(2 * scales[-1]))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * guard + 1, 2 * guard + 1))
        candidates &= cv2.erode(valid.astype(np.uint8), kernel).astype(bool)
    return grad, candidates


def _windowed_edge_blur(luma_of: Callable[[tuple[slice, slice]], np.ndarray],
                        windows: list[_Window], valid: np.ndarray | None,
                        max_scale_px: float) -> float | None:
    """:func:`edge_blur_px` over the ``windows`` of an image whose luminance in
    a window is ``luma_of(window)``."""
    scales = _probe_scales(max_scale_px)
    lumas = [luma_of(w) for w, _ in windows]
    found = [_edge_candidates(luma, None if valid is None else valid[w], scales, margins)
             for luma, (w, margins) in zip(lumas, windows)]
    pool = np.concatenate([grad[candidates] for grad, candidates in found])
    if pool.size == 0:
        return None
    level = quantile(pool, _BLUR_EDGE_QUANTILE)
    response = np.concatenate([
        _scale_responses(luma, *np.nonzero(candidates & (grad >= level)), scales)
        for luma, (grad, candidates) in zip(lumas, found)
    ], axis=1)
    strong = response.max(axis=0) >= _BLUR_MIN_EDGE_STEP / (2.0 * math.sqrt(math.pi))
    if not strong.any():
        return None
    response = response[:, strong]
    idx = np.arange(response.shape[1])
    kk = np.clip(response.argmax(axis=0), 1, len(scales) - 2)
    y0, y1, y2 = response[kk - 1, idx], response[kk, idx], response[kk + 1, idx]
    curvature = y0 - 2 * y1 + y2
    shift = np.where(curvature < 0, 0.5 * (y0 - y2) / np.where(curvature < 0, curvature, -1.0), 0.0)
    log_scale = np.log2(scales[kk]) + np.clip(shift, -0.5, 0.5) / _BLUR_STEPS_PER_OCTAVE
    return float(2.0 ** np.median(log_scale))


def _scale_responses(luma: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                     scales: np.ndarray) -> np.ndarray:
    """Scale-normalised gradient magnitude at the points, (n_scales, n_points)."""
    response = np.empty((len(scales), rows.size), dtype=np.float32)
    for i, s in enumerate(scales):
        smooth = cv2.GaussianBlur(luma, (0, 0), float(s), borderType=cv2.BORDER_REFLECT)
        gx = smooth[rows, cols + 1] - smooth[rows, cols - 1]
        gy = smooth[rows + 1, cols] - smooth[rows - 1, cols]
        response[i] = 0.5 * np.sqrt(gx * gx + gy * gy) * np.float32(math.sqrt(s))
    return response


def _share(hit: np.ndarray, valid: np.ndarray | None) -> float:
    if valid is None:
        return float(hit.mean())
    return float(hit[valid].mean()) if valid.any() else 0.0


def blown_out_fraction(luma: np.ndarray, *, level: float, valid: np.ndarray | None = None) -> float:
    """Share of pixels whose luminance is at or above ``level`` (of full scale).

    Clipping of one channel alone (the red of very light skin, often) is not
    counted: dark hair stays visible on it.
    """
    return _share(luma >= level, valid)


def crushed_fraction(luma: np.ndarray, *, level: float, valid: np.ndarray | None = None) -> float:
    """Share of pixels whose luminance is at or below ``level`` (of full scale)."""
    return _share(luma <= level, valid)


def glare_blob_px(px_per_mm: float | None, params: QualityParams = QualityParams()) -> int:
    """Smallest width of a glare blob, px: ``glare_min_blob_um`` converted, at least
    ``glare_min_blob_px`` (which alone applies when uncalibrated)."""
    if px_per_mm is None:
        return params.glare_min_blob_px
    return max(params.glare_min_blob_px, int(round(params.glare_min_blob_um * px_per_mm / 1000.0)))


def glare_fraction(rgb: np.ndarray, *, px_per_mm: float | None, valid: np.ndarray | None = None,
                   params: QualityParams = QualityParams()) -> float:
    """Share of pixels that are specular highlights on the skin.

    A highlight pixel is bright (a channel at or above
    ``glare_min_level_fraction``), near white (``(max - min) / max`` at most
    ``glare_max_saturation``) and at least ``glare_ratio`` times brighter
    than the local skin (the median luminance over a window of
    ``glare_background_window_fraction`` of the shorter side). Highlights
    narrower than :func:`glare_blob_px` (a morphological opening removes
    them) are light shafts or shine along a shaft, not glare.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), float32
        RGB in [0, 1].
    px_per_mm : float or None
        Scale, for the smallest blob width.
    valid : ndarray of bool, shape (H, W), optional
        Pixels that count.
    params : QualityParams
        The glare settings.

    Returns
    -------
    float
    """
    luma = _luma(rgb)
    r, g, b = rgb[:, :, 0], rgb[:, :, 1], rgb[:, :, 2]
    top = np.maximum(np.maximum(r, g), b)  # faster than .max(axis=2) on interleaved channels
    saturation = (top - np.minimum(np.minimum(r, g), b)) / np.maximum(top, 1e-6)
    skin = _local_median(luma, params.glare_background_window_fraction)
    hit = (
        (top >= params.glare_min_level_fraction)
        & (saturation <= params.glare_max_saturation)
        & (luma >= params.glare_ratio * skin)
    ).astype(np.uint8)
    if not hit.any():
        return 0.0
    # Opening by a disc of the blob width, through two Euclidean distance transforms.
    radius = glare_blob_px(px_per_mm, params) / 2.0
    cores = cv2.distanceTransform(hit, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) >= radius
    if not cores.any():
        return 0.0
    to_core = cv2.distanceTransform((~cores).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    blobs = (to_core < radius) & hit.astype(bool)
    return _share(blobs, valid)


def _local_median(luma: np.ndarray, window_fraction: float) -> np.ndarray:
    """Median luminance over a window, computed on a copy reduced to about 64 px."""
    h, w = luma.shape
    factor = max(1.0, min(h, w) / 64.0)
    small = cv2.resize(luma, (max(3, round(w / factor)), max(3, round(h / factor))),
                       interpolation=cv2.INTER_AREA)
    k = max(3, int(round(window_fraction * min(small.shape))) | 1)
    k = min(k, (min(small.shape) - 1) | 1)
    u8 = np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8)
    med = cv2.medianBlur(u8, k).astype(np.float32) / 255.0
    return cv2.resize(med, (w, h), interpolation=cv2.INTER_LINEAR)


def hair_scalp_contrast(image: np.ndarray, hair_mask: np.ndarray, *,
                        valid: np.ndarray | None = None, min_hair_px: int = 1) -> float | None:
    """Hair/scalp contrast: the largest per-channel Weber contrast of the medians.

    ``max_c |median(scalp_c) - median(hair_c)| / median(scalp_c)`` on the
    normalised image, scalp being the pixels at least a few px away from the
    mask.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float
        The normalised photo (RGB in [0, 1]).
    hair_mask : ndarray of bool, shape (H, W)
        The segmented hair.
    valid : ndarray of bool, shape (H, W), optional
        Pixels that count.
    min_hair_px : int
        Fewer hair pixels than this: no figure.

    Returns
    -------
    float or None
        ``None`` when too little hair or scalp was found to compare.
    """
    ok = np.ones(hair_mask.shape, bool) if valid is None else valid
    hair = hair_mask & ok
    near = cv2.dilate(hair_mask.astype(np.uint8), np.ones((2 * _CONTRAST_GUARD_PX + 1,) * 2, np.uint8))
    scalp = ~near.astype(bool) & ok
    if hair.sum() < min_hair_px or scalp.sum() < min_hair_px:
        return None
    # Channel by channel: the same medians as np.median(image[hair], axis=0), sooner.
    channels = cv2.split(np.ascontiguousarray(image))
    hair_med = np.array([median(channel[hair]) for channel in channels])
    scalp_med = np.array([median(channel[scalp]) for channel in channels])
    weber = np.abs(scalp_med - hair_med) / np.maximum(scalp_med, 1e-6)
    return float(weber.max())


def blur_figures(
    pixels: np.ndarray,
    *,
    px_per_mm: float | None,
    valid: np.ndarray | None = None,
    params: QualityParams = QualityParams(),
) -> dict[str, float | None]:
    """The blur of a photo (:func:`photo_blur_px`, on at most
    ``blur_max_pixels`` of it) and its limit.

    Returns
    -------
    dict
        ``blur_px`` (``None`` when there are no edges), ``blur_limit_px``.
    """
    limit = blur_threshold_px(px_per_mm, params)
    return {
        "blur_px": photo_blur_px(pixels, valid=valid,
                                 max_scale_px=max(_BLUR_MAX_SCALE_PX, 2 * limit),
                                 max_pixels=params.blur_max_pixels),
        "blur_limit_px": limit,
    }


def light_figures(
    pixels: np.ndarray,
    *,
    px_per_mm: float | None,
    valid: np.ndarray | None = None,
    params: QualityParams = QualityParams(),
) -> dict[str, float | None]:
    """The exposure and glare figures of a photo.

    Returns
    -------
    dict
        ``overexposed_fraction``, ``underexposed_fraction``, ``glare_fraction``.
    """
    rgb = _unit_float(pixels)
    luma = _luma(rgb)
    return {
        "overexposed_fraction": blown_out_fraction(luma, level=params.clip_level_fraction, valid=valid),
        "underexposed_fraction": crushed_fraction(luma, level=params.dark_level_fraction, valid=valid),
        "glare_fraction": glare_fraction(rgb, px_per_mm=px_per_mm, valid=valid, params=params),
    }


def measure_quality(
    pixels: np.ndarray,
    *,
    normalized: np.ndarray,
    hair_mask: np.ndarray,
    px_per_mm: float | None,
    valid: np.ndarray | None = None,
    hairs: Sequence[Hair] = (),
    params: QualityParams = QualityParams(),
) -> dict[str, float | None]:
    """Every quality figure of one photo.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8 or uint16
        The photo as loaded (exposure and glare are judged on it).
    normalized : ndarray, shape (H, W, 3), float
        The normalised photo the hair was segmented on.
    hair_mask : ndarray of bool, shape (H, W)
        The segmented hair.
    px_per_mm : float or None
        Scale, for the blur limit.
    valid : ndarray of bool, shape (H, W), optional
        The analysed pixels (a marker or chart left out).
    hairs : sequence of Hair, optional
        The shafts traced on the photo (at ``px_per_mm``), for ``shaft_length_mm``.
    params : QualityParams
        Settings of the figures.

    Returns
    -------
    dict
        ``blur_px``, ``blur_limit_px`` (:func:`blur_figures`),
        ``overexposed_fraction``, ``underexposed_fraction``,
        ``glare_fraction`` (:func:`light_figures`), ``contrast``
        (:func:`hair_scalp_contrast`) and ``shaft_length_mm``
        (:func:`shaft_length_mm`); ``None`` where not measurable.
    """
    return {
        **blur_figures(pixels, px_per_mm=px_per_mm, valid=valid, params=params),
        **light_figures(pixels, px_per_mm=px_per_mm, valid=valid, params=params),
        "contrast": hair_scalp_contrast(
            normalized, hair_mask, valid=valid, min_hair_px=params.min_contrast_hair_px
        ),
        "shaft_length_mm": shaft_length_mm(hairs, px_per_mm=px_per_mm),
    }


def shaft_length_mm(hairs: Sequence[Hair], *, px_per_mm: float | None) -> float | None:
    """Length-weighted mean visible length of the traced shafts, mm.

    ``sum(L**2) / sum(L)`` over every traced shaft, counted or not: the mean
    length of the shaft a point of traced hair lies on, so the many short
    pieces of a crossing or a scale speck weigh little. Clipped hair is
    about a millimetre long and slants into the skin, so its visible shafts
    are shorter; long hair lies across the field.

    Parameters
    ----------
    hairs : sequence of Hair
        Traced shafts (``length_px`` in the pixels of ``px_per_mm``).
    px_per_mm : float or None
        Pixel scale.

    Returns
    -------
    float or None
        ``None`` when uncalibrated or when no shaft was traced.

    Examples
    --------
    >>> from scalpmetrics.types import Hair
    >>> def shaft(length_px):
    ...     return Hair(0, (0.0, 0.0), (length_px, 0.0), length_px, 5.0, 50.0, True, True, 0)
    >>> shaft_length_mm([shaft(100.0), shaft(300.0)], px_per_mm=100.0)
    2.5
    """
    lengths_mm = np.array([h.length_px for h in hairs], dtype=float)
    if px_per_mm is None or lengths_mm.size == 0 or lengths_mm.sum() <= 0:
        return None
    lengths_mm /= px_per_mm
    return float((lengths_mm ** 2).sum() / lengths_mm.sum())


def quality_flags(figures: dict[str, float | None], *,
                  params: QualityParams = QualityParams()) -> list[QualityFlag]:
    """The flags raised by the figures of :func:`measure_quality`."""
    flags = []
    blur, limit = figures["blur_px"], figures["blur_limit_px"]
    if blur is not None and limit is not None and blur > limit:
        flags.append(_flag("out_of_focus", blur, limit))
    checks = (
        ("overexposed", "overexposed_fraction", params.max_overexposed_fraction),
        ("underexposed", "underexposed_fraction", params.max_underexposed_fraction),
        ("glare", "glare_fraction", params.max_glare_fraction),
    )
    for name, key, threshold in checks:
        value = figures[key]
        if value is not None and value > threshold:
            flags.append(_flag(name, value, threshold))
    contrast = figures["contrast"]
    if contrast is not None and contrast < params.min_contrast:
        flags.append(_flag("low_contrast", contrast, params.min_contrast))
    length = figures.get("shaft_length_mm")  # absent from figures of schema 1.0
    if length is not None and length > params.max_shaft_length_mm:
        flags.append(_flag("long_hair", length, params.max_shaft_length_mm))
    return flags
