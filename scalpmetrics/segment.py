"""Hair/scalp separation on a normalised photo.

Method (details and rationale in ``docs/methods.md``):

1. **Contrast to the skin.** Each channel's log ratio to the local skin colour
   (:func:`scalpmetrics.normalize.skin_background` at ``reference_window_um``)
   gives a 3-vector
   per pixel: zero on skin, dark hair negative in every channel, grey/white
   hair on dark skin positive, blonde and red hair mostly along colour
   directions.
2. **Best hair direction.** The 3-vectors are whitened by the covariance of
   the least contrasted pixels (the skin texture) and projected on the
   direction in which the most contrasted pixels of this photo differ most
   from skin: a signed contrast ``z`` in units of the skin's own noise,
   whatever the hair and skin colours. Pixels clipped in the photo
   (:func:`clipped_pixels`) are left out of these statistics.
3. **Detection.** Hysteresis on the lightly smoothed contrast (seeds
   ``seed_threshold_sigma`` above the skin noise, grown through pixels
   ``grow_threshold_sigma`` above it), both polarities at once; pixels of a
   saturated colour no hair has (``max_hair_chroma``: text and graphics
   burnt into the photo) and perfectly flat areas at the border (a capture
   device's grey band) are left out; pieces shorter
   than ``min_shaft_length_um`` and compact round blobs (openings, flakes,
   pigment dots) are dropped.
   Optionally (``second_hair_colour``, off by default) hair of the other
   brightness is looked for as well: white or grey hairs among pigmented
   ones lie along another colour direction than the dark hairs the first
   direction finds. The second direction is learned from the lighter (or
   darker) pixels the first detection left; its pieces must be elongated,
   and are kept only as a population at least ``second_colour_min_area_share``
   of the first mask (a few stray pieces are skin texture).
4. **Boundary and coverage.** Each kept piece's core contrast (a high
   percentile of its contrast) gives the hair fraction ``contrast / core``
   of the pixels near it; pixels at least ``edge_fraction`` covered are hair.
   Gaps narrower than about twice ``mask_closing_um`` inside the mask (a
   shaft's lighter highlight band) are closed. Inside the mask the fraction
   is 1; on its boundary and rim it is the sub-pixel share
   returned by :func:`hair_fraction` (its mean over a region is the region's
   coverage).

With ``method = "learned"`` (the default) steps 3 and 4 are replaced by a
per-pixel coverage model trained on phantoms (:mod:`scalpmetrics.learned`,
:func:`whitened_contrast`): the confidently covered cores of the shafts
pass the same length and blob filters, and the mask is the pixels at least
half covered connected to them. The cores are traced (``trace_mask``) after
a small median filter, so that single noisy pixels do not change their shape.

Holes in the learned mask enclosed by hair and of at most
``fill_hole_max_um2`` then become hair (fraction 1): a shaft whose colour
is close to the skin's shows a light core between darker edges, and a hair
is opaque (the contrast detector closes such bands in step 4). The traced
cores keep their holes (the tracing rules were set on them).

Without a pixel scale the widths needed above are taken from the image: a
first pass at the scale that makes the image ``uncalibrated_field_mm`` wide
finds the shafts, their median width (taken as ``typical_shaft_width_um``)
sets the scale of the second, final pass. Photos of a finer scale than needed
are processed on a copy reduced (:func:`working_factor`) until the thinnest
shaft is about ``min_shaft_width_px`` wide.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.learned import predict_fraction
from scalpmetrics.normalize import skin_background
from scalpmetrics.params import SegmentParams
from scalpmetrics.selection import quantile

__all__ = [
    "HairSegmentation",
    "clipped_pixels",
    "enlarge_mask",
    "hair_fraction",
    "joined_cores",
    "reduce_image",
    "reduce_mask",
    "segment_hair",
    "segment_hair_fraction",
    "skin_peak",
    "whitened_contrast",
    "working_factor",
]

_EPS = np.float32(1.0 / 255.0)
# The contrast is whitened by the skin texture's own covariance, so the skin's
# spread along it is at least about 1; a spread below this means a flat image
# (no texture at all), whose rounding noise must not be amplified into hairs.
_MIN_WHITENED_SPREAD = 0.5


@dataclass(frozen=True, eq=False)
class HairSegmentation:
    """A segmentation with the maps the tracing and measuring steps reuse.

    Attributes
    ----------
    mask : ndarray of bool, shape (H, W)
        Hair pixels.
    fraction : ndarray of float32, shape (H, W)
        Share of each pixel covered by hair, in [0, 1]: 1 inside the mask,
        sub-pixel on its rim, 0 elsewhere.
    scale_px_per_mm : float
        The pixel scale the detector worked at (the given one, or the one
        estimated from the shaft widths when uncalibrated).
    trace_mask : ndarray of bool, shape (H, W)
        The pixels the shafts are traced on: ``mask`` itself, or with the
        learned detector its pixels at least ``learned_core_fraction``
        covered (the shafts' cores, in the median over squares of
        ``learned_core_median_px``), which keeps unit mates and crossings
        apart.
    """

    mask: np.ndarray
    fraction: np.ndarray
    scale_px_per_mm: float
    trace_mask: np.ndarray


def _check_image(image: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageArrayError(f"expected an (H, W, 3) image, got shape {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise ImageArrayError(f"expected a normalised float image, got {image.dtype}")
    if min(image.shape[:2]) < 3:
        raise ImageArrayError(f"image {image.shape[:2]} is too small to segment")


def skin_peak(values: np.ndarray, *, bins: int = 256) -> tuple[float, float]:
    """Location and standard deviation of the skin peak of a channel sample.

    The peak is the histogram mode; its spread comes from the half width at
    half maximum on the narrower side (the side hair does not widen), so the
    estimate holds however much of the photo hair covers.

    Parameters
    ----------
    values : ndarray, shape (N,)
        Channel values (a sample of the photo's pixels).
    bins : int
        Histogram bins between the 1st and 99th percentiles.

    Returns
    -------
    centre, spread : float
        Skin value and its noise standard deviation, in the values' units.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> skin = rng.normal(0.0, 1.0, 6000)
    >>> hair = rng.normal(-8.0, 1.0, 4000)
    >>> c, s = skin_peak(np.concatenate([skin, hair]))
    >>> bool(abs(c) < 0.3 and 0.7 < s < 1.3)
    True
    """
    lo, hi = quantile(values, [0.01, 0.99])
    if not hi > lo:
        return float(lo), 1e-6
    hist, edges = np.histogram(values, bins=bins, range=(lo, hi))
    hist = np.convolve(hist, [0.25, 0.5, 0.25], mode="same")
    k = int(np.argmax(hist))
    half = hist[k] / 2.0
    left = k
    while left > 0 and hist[left] > half:
        left -= 1
    right = k
    while right < bins - 1 and hist[right] > half:
        right += 1
    width = float(edges[1] - edges[0])
    hwhm = min(k - left, right - k) * width
    centre = 0.5 * float(edges[k] + edges[k + 1])
    return centre, max(hwhm / 1.1774, width / 2.0, 1e-6)


def _rows_times(rows: np.ndarray, matrix: np.ndarray, block: int = 8192) -> np.ndarray:
    """``rows @ matrix`` for a tall float64 ``rows`` and a small ``matrix``, a
    block of rows at a time.

    Each row's product is computed as in one call (BLAS treats the rows
    alike), but the blocks are too small for BLAS to start threads, which
    cost more than they save on so little work (and much more when the
    cores are busy).
    """
    out = np.empty((rows.shape[0], matrix.shape[1]))
    for start in range(0, rows.shape[0], block):
        np.matmul(rows[start:start + block], matrix, out=out[start:start + block])
    return out


def _row_norms(rows: np.ndarray) -> np.ndarray:
    """``np.linalg.norm(rows, axis=1)`` of a C-ordered (N, 3) float array, in the
    same order (``(x*x + y*y) + z*z``) and so to the same bits, without the
    reduction along the short last axis."""
    x, y, z = rows[:, 0], rows[:, 1], rows[:, 2]
    return np.sqrt((x * x + y * y) + z * z)


def _sample_index(n_px: int, usable: np.ndarray | None, params: SegmentParams) -> np.ndarray:
    """Flat indices of the pixels the colour statistics are taken from: a
    regular sample of about ``statistics_sample_px``, usable pixels only
    (unless fewer than ``min_statistics_px`` of the sample are usable)."""
    step = max(1, n_px // params.statistics_sample_px)
    index = np.arange(0, n_px, step)
    if usable is not None:
        kept = index[usable.reshape(-1)[index]]
        if kept.size >= params.min_statistics_px:
            return kept
    return index


def _whitened_contrast(image: np.ndarray, window_px: float, params: SegmentParams,
                       index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log contrast to the skin and its whitening by the skin texture.

    Returns the (H, W, 3) log contrast ``d`` (skin peak at zero), the 3x3
    whitening matrix and the whitened contrast of the sampled pixels
    ``index`` (flat indices), one row each.
    """
    image = np.ascontiguousarray(image, dtype=np.float32)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The photo's log is taken alongside the skin estimate.
        log_image = pool.submit(cv2.log, image + _EPS)
        log_skin = (cv2.log(skin_background(image, sigma_px=window_px) + _EPS)
                    if window_px > 0 else None)
        d = log_image.result()
    if log_skin is not None:
        d -= log_skin
    sample = d.reshape(-1, 3)[index].astype(np.float64)
    centre = np.array([skin_peak(sample[:, c])[0] for c in range(3)])
    sample -= centre
    # OpenCV's per-channel scalar subtraction gives the same float32 differences
    # as NumPy's broadcast over the short last axis, several times sooner.
    cv2.subtract(d, (*centre.tolist(), 0.0), dst=d)
    norm = _row_norms(sample)
    skin = sample[norm <= quantile(norm, params.skin_quantile)]
    cov = np.cov(skin, rowvar=False) + np.eye(3) * params.noise_floor_log**2
    evals, evecs = np.linalg.eigh(cov)
    whiten = evecs @ np.diag(1.0 / np.sqrt(evals)) @ evecs.T
    return d, whiten, _rows_times(sample, whiten)


def _hair_direction(whitened: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Unit direction (whitened space) in which the most contrasted of the
    ``whitened`` rows differ most from skin."""
    wn = _row_norms(whitened)
    tail = whitened[wn >= quantile(wn, 1.0 - params.tail_fraction)]
    _, vecs = np.linalg.eigh(tail.T @ tail)
    return vecs[:, -1]


def _projected_contrast(d: np.ndarray, whiten: np.ndarray, u: np.ndarray,
                        index: np.ndarray) -> np.ndarray:
    """Signed contrast along whitened direction ``u`` in skin-noise units
    (positive = darker than skin), its skin peak found on the pixels ``index``."""
    # Orient so that darker-than-skin (negative mean log) projects positive.
    if (whiten @ u).sum() > 0:
        u = -u
    z = cv2.transform(d, (whiten @ u)[None, :].astype(np.float32))
    zc, zs = skin_peak(z.reshape(-1)[index])
    return (z - np.float32(zc)) / np.float32(max(zs, _MIN_WHITENED_SPREAD))


def _channel_sum(image: np.ndarray) -> np.ndarray:
    """``image.sum(axis=2)`` of an (H, W, 3) float32 image, in the same order
    (``(r + g) + b``) and so to the same bits, without the strided reduction."""
    return (image[:, :, 0] + image[:, :, 1]) + image[:, :, 2]


def _sortable_bits(values: np.ndarray) -> np.ndarray:
    """float32 values as uint32 codes of the same order (no NaN)."""
    bits = values.astype(np.float32).view(np.uint32)
    return np.where(bits >> 31, ~bits, bits | np.uint32(1 << 31))


def _float_from_bits(codes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_sortable_bits`."""
    codes = codes.astype(np.uint32)
    return np.where(codes >> 31, codes & np.uint32(0x7FFFFFFF), ~codes).view(np.float32)


def _label_percentiles(labels: np.ndarray, values: np.ndarray, n: int,
                       percentile: float) -> np.ndarray:
    """Per label ``0..n-1``: the value of rank ``floor((count - 1) * percentile / 100)``
    among its ``values`` (float32; 0 for a label without values).

    One sort of 64-bit keys (label in the high half, the value's order-preserving
    bits in the low half, both written as halves of the key) ranks every
    label's values at once; each label's run in the sorted keys starts after
    the values of the labels below it.
    """
    keys = np.empty(labels.size, dtype="<u8")
    halves = keys.view("<u4").reshape(-1, 2)  # (low, high) half of each key
    halves[:, 0] = _sortable_bits(values)
    halves[:, 1] = labels
    keys.sort()
    counts = np.bincount(labels, minlength=n)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    pos = starts + np.floor((counts - 1) * percentile / 100.0).astype(int)
    out = np.zeros(n, dtype=np.float32)
    out[has] = _float_from_bits(halves[pos[has], 0])
    return out


def _nearby_piece(labels: np.ndarray, keep: np.ndarray,
                  reach: int) -> tuple[np.ndarray, np.ndarray]:
    """The highest label of a kept piece within ``reach`` px (elliptic
    neighbourhood) of each pixel, as a rank map (0 where none) and the label
    of each rank: ``label = kept[rank]``.

    The kept labels are renumbered in order (so the highest stays the
    highest) to the smallest integer type that holds them: the dilation is
    cheaper on small integers than on the float labels it stands for, and
    only the pixels near a piece need their label back.
    """
    rank = np.cumsum(keep) * keep
    n_kept = int(rank[-1]) if rank.size else 0
    dtype = np.uint8 if n_kept < 2**8 else np.uint16 if n_kept < 2**16 else np.float32
    support = rank.astype(dtype)[labels]
    if reach > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        support = cv2.dilate(support, kernel)
    return support, np.concatenate([[0], np.nonzero(keep)[0]])


def _blob_filter(stats: np.ndarray, min_length_px: float, max_blob_px: float,
                 params: SegmentParams) -> np.ndarray:
    """Which detected pieces can be shafts: long enough and not a compact blob."""
    w = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    h = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    diag = np.hypot(w, h)
    fill = area / np.maximum(w * h, 1.0)
    compact = (diag <= max_blob_px) & (fill >= params.blob_fill_fraction) & (
        np.maximum(w, h) <= params.blob_aspect_ratio * np.minimum(w, h))
    keep = (diag >= min_length_px) & ~compact
    keep[0] = False
    return keep


def _elongation(labels: np.ndarray, n: int) -> np.ndarray:
    """Per label ``0..n-1``: the ratio of the long to the short axis of its
    pixels' spread (1 for a round piece, about length / width for a shaft)."""
    h, w = labels.shape
    lab = labels.ravel()
    y, x = np.divmod(np.arange(lab.size, dtype=np.float64), w)
    count = np.maximum(np.bincount(lab, minlength=n), 1)
    mx = np.bincount(lab, weights=x, minlength=n) / count
    my = np.bincount(lab, weights=y, minlength=n) / count
    sxx = np.bincount(lab, weights=x * x, minlength=n) / count - mx * mx + 1.0 / 12.0
    syy = np.bincount(lab, weights=y * y, minlength=n) / count - my * my + 1.0 / 12.0
    sxy = np.bincount(lab, weights=x * y, minlength=n) / count - mx * my
    half_diff = np.sqrt(((sxx - syy) / 2.0) ** 2 + sxy**2)
    mean = (sxx + syy) / 2.0
    return np.sqrt((mean + half_diff) / np.maximum(mean - half_diff, 1e-12))


def _blank_border_area(image: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Perfectly flat areas joined to the image border (a capture device's
    grey band or frame), grown by the window: not scalp, never hair.

    Pixels whose luminance varies by less than ``blank_max_std`` over a
    ``blank_window_px`` window are flat; flat pieces touching the border and
    covering at least ``blank_min_area_fraction`` of the image are kept.
    """
    k = params.blank_window_px
    lum = _channel_sum(image) / np.float32(3.0)
    mean = cv2.blur(lum, (k, k))
    var = cv2.blur(lum * lum, (k, k)) - mean * mean
    flat = (var < np.float32(params.blank_max_std) ** 2).astype(np.uint8)
    h, w = lum.shape
    min_area_px = params.blank_min_area_fraction * h * w
    if np.count_nonzero(flat) < min_area_px:
        return np.zeros(lum.shape, dtype=bool)  # too few flat pixels for any piece
    n, labels, stats, _ = cv2.connectedComponentsWithStats(flat, connectivity=8)
    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    x1 = x0 + stats[:, cv2.CC_STAT_WIDTH]
    y1 = y0 + stats[:, cv2.CC_STAT_HEIGHT]
    border = (x0 == 0) | (y0 == 0) | (x1 >= w) | (y1 >= h)
    big = stats[:, cv2.CC_STAT_AREA] >= min_area_px
    keep = border & big
    keep[0] = False
    if not keep.any():
        return np.zeros(lum.shape, dtype=bool)
    return cv2.dilate(keep[labels].astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)


def _never_hair(image: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Pixels that are never hair: saturated colours no hair has (graphics
    burnt into the photo: text, rulers, drawn circles) with their
    anti-aliased rims, and blank areas at the border (:func:`_blank_border_area`)."""
    r, g, b = image[:, :, 0], image[:, :, 1], image[:, :, 2]
    chroma = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    graphic = cv2.dilate((chroma > params.max_hair_chroma).astype(np.uint8),
                         np.ones((3, 3), np.uint8)).astype(bool)
    return graphic | _blank_border_area(image, params)


def _segment_at_scale(image: np.ndarray, scale_px_per_mm: float, params: SegmentParams,
                      clipped: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Fraction map and mask of a photo already at working resolution."""
    um = scale_px_per_mm / 1000.0  # px per um
    index = _sample_index(image.shape[0] * image.shape[1],
                          None if clipped is None else ~clipped, params)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The pixels that are never hair are found alongside the contrast.
        never_hair = pool.submit(_never_hair, image, params)
        d, whiten, whitened = _whitened_contrast(image, params.reference_window_um * um, params,
                                                 index)
        if params.method == "learned":
            return _detect_learned(_learned_input(d, whiten, whitened, index, params), um,
                                   params, never_hair.result())
        u = _hair_direction(whitened, params)
        z = _projected_contrast(d, whiten, u, index)
        excluded = never_hair.result()
    fraction, mask, (labels, detected) = _detect(z, um, params, index, excluded)
    if params.second_hair_colour:
        # A second hair colour of the other brightness (white or grey hairs
        # among dark ones, or dark among light) is looked for along the
        # direction in which the other-brightness pixels the first colour
        # left differ most from skin.
        luminance = _channel_sum(d)
        lighter = not (mask.any() and float(luminance[mask].sum()) > 0)
        reach = int(round(params.max_shaft_width_um * um / 2.0))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        found = detected[labels].astype(np.uint8)
        left = ~cv2.dilate(found, kernel).astype(bool).reshape(-1)[index]
        left &= (luminance.reshape(-1)[index] > 0) == lighter
        if left.sum() >= params.min_statistics_px:
            u2 = _hair_direction(whitened[left], params)
            z2 = _projected_contrast(d, whiten, u2, index)
            fraction2, mask2, _ = _detect(z2, um, params, index, excluded | mask,
                                          seed_sigma=params.second_colour_seed_sigma,
                                          luminance=luminance, lighter=lighter)
            # A few stray pieces are skin texture, not a second population.
            if mask2.sum() >= params.second_colour_min_area_share * mask.sum():
                fraction = np.maximum(fraction, fraction2)
                mask |= mask2
    return fraction, mask


def whitened_contrast(image: np.ndarray, *, px_per_mm: float,
                      params: SegmentParams = SegmentParams(),
                      clipped: np.ndarray | None = None) -> np.ndarray:
    """The whitened log contrast to the skin the learned detector works on.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        Normalised RGB at the working resolution (see :func:`working_factor`).
    px_per_mm : float
        Pixel scale of ``image``.
    params : SegmentParams
        Segmentation parameters.
    clipped : ndarray of bool, shape (H, W), optional
        Pixels clipped in the photo, left out of the skin statistics.

    Returns
    -------
    ndarray, shape (H, W, 4), float32
        Each colour channel's log ratio to the local skin colour, whitened by
        the skin texture's covariance, and the contrast along the photo's
        hair colour (positive = darker than skin); skin-noise units.
    """
    um = px_per_mm / 1000.0
    index = _sample_index(image.shape[0] * image.shape[1],
                          None if clipped is None else ~clipped, params)
    d, whiten, whitened = _whitened_contrast(image, params.reference_window_um * um, params, index)
    return _learned_input(d, whiten, whitened, index, params)


def _learned_input(d: np.ndarray, whiten: np.ndarray, whitened: np.ndarray, index: np.ndarray,
                   params: SegmentParams) -> np.ndarray:
    """Whitened contrast channels plus the contrast along the photo's hair colour."""
    u = _hair_direction(whitened, params)
    z = _projected_contrast(d, whiten, u, index)
    return np.concatenate([cv2.transform(d, whiten.astype(np.float32)), z[:, :, None]], axis=2)


def _detect_learned(whitened: np.ndarray, um: float, params: SegmentParams,
                    excluded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hair from the learned per-pixel coverage (:mod:`scalpmetrics.learned`).

    The cores (pixels estimated at least ``learned_core_fraction`` covered)
    must pass the shape filters (length, compact blobs); the hair mask is
    the pixels at least ``edge_fraction`` covered connected to a kept core.
    The fraction map is the estimated coverage on the mask and its one-pixel
    rim, 0 elsewhere.
    """
    cover = predict_fraction(whitened, um)
    cover[excluded] = 0.0
    core = (cover >= params.learned_core_fraction).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
    kept_core = _blob_filter(stats, params.min_shaft_length_um * um,
                             params.max_blob_diameter_um * um, params)[labels]
    n, labels = cv2.connectedComponents((cover >= params.edge_fraction).astype(np.uint8),
                                        connectivity=8)
    reached = np.zeros(n, dtype=bool)
    reached[labels[kept_core]] = True
    reached[0] = False
    mask = reached[labels]
    near = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    cover[~near] = 0.0
    return cover, mask


def _learned_cores(fraction: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Pixels whose median coverage over a ``learned_core_median_px`` square is at
    least ``learned_core_fraction`` (the median of the thresholded map: the same)."""
    core = (fraction >= np.float32(params.learned_core_fraction)).astype(np.uint8)
    if params.learned_core_median_px > 1:
        core = cv2.medianBlur(core, params.learned_core_median_px)
    return core.astype(bool)


def joined_cores(seg: HairSegmentation) -> np.ndarray:
    """The traced cores joined through the interior of the hair mask.

    The interior is the mask less its one-pixel rim (the pixels whose four
    neighbours are all hair). On long unclipped hair, light or close to the
    skin's colour, the cores break along the shafts and at every crossing,
    and each piece would be counted as a hair; traced on this mask the shafts
    stay whole (``trace.long_hair_tracing``, ``docs/methods.md``). Unit mates
    that run merged in the mask are joined too, which is why clipped hair is
    traced on the cores alone.

    Parameters
    ----------
    seg : HairSegmentation

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    return seg.trace_mask | cv2.erode(seg.mask.astype(np.uint8), cross).astype(bool)


def _small_holes(mask: np.ndarray, um: float, params: SegmentParams) -> np.ndarray:
    """The holes of ``mask`` of at most ``fill_hole_max_um2`` (``um`` px per um):
    4-connected non-mask pieces that do not touch the image border."""
    if params.fill_hole_max_um2 <= 0:
        return np.zeros(mask.shape, dtype=bool)
    _, labels, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8), connectivity=4)
    h, w = mask.shape
    x, y, bw, bh, area = stats.T
    inside = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    small = (area <= params.fill_hole_max_um2 * um * um) & inside
    small[0] = False  # label 0: the mask itself
    return small[labels] & ~mask


def _detect(z: np.ndarray, um: float, params: SegmentParams, index: np.ndarray,
            excluded: np.ndarray, seed_sigma: float | None = None,
            luminance: np.ndarray | None = None, lighter: bool | None = None,
            ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Hair along one contrast map ``z``.

    Returns the fraction map, the mask, and the pieces detected before the
    shape filters as their label image and which labels were detected (the
    pixels this hair colour explains are ``detected[labels]``). With ``lighter``
    given, only elongated pieces (``second_colour_min_elongation``) whose
    mean ``luminance`` contrast is of that sign are kept, and seeds need
    ``seed_sigma`` instead of ``seed_threshold_sigma``.
    """
    sigma = max(params.min_smoothing_px, params.smoothing_widths * params.min_shaft_width_um * um)
    zs = cv2.GaussianBlur(z, (0, 0), sigma)
    zc, zspread = skin_peak(zs.reshape(-1)[index])
    # Smoothing white noise of unit spread leaves 1 / (2 sqrt(pi) sigma) of it.
    zspread = max(zspread, _MIN_WHITENED_SPREAD / (2.0 * np.sqrt(np.pi) * sigma))
    stat = np.abs(zs - np.float32(zc)) / np.float32(zspread)
    stat[excluded] = 0.0
    seed_sigma = params.seed_threshold_sigma if seed_sigma is None else seed_sigma
    seeds = (stat >= seed_sigma).astype(np.uint8)
    grow = (stat >= params.grow_threshold_sigma).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grow, connectivity=8)
    has_seed = np.zeros(n, dtype=bool)
    has_seed[labels[seeds > 0]] = True
    has_seed[0] = False
    found = (labels, has_seed)
    keep = has_seed & _blob_filter(stats, params.min_shaft_length_um * um,
                                   params.max_blob_diameter_um * um, params)
    if lighter is not None:
        # Only elongated pieces lighter (or only darker) than the skin on average.
        brightness = np.bincount(labels.ravel(), weights=luminance.ravel(), minlength=n)
        keep &= (brightness > 0) == lighter
        keep &= _elongation(labels, n) >= params.second_colour_min_elongation
    fraction = np.zeros(z.shape, dtype=np.float32)
    if not keep.any():
        return fraction, np.zeros(z.shape, dtype=bool), found
    # Per piece: polarity (darker or lighter than skin) and core contrast.
    fsig = params.fraction_smoothing_px
    zf = cv2.GaussianBlur(z, (0, 0), fsig) if fsig > 0 else z
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Pixels within half a widest shaft of a kept piece take its fraction
        # (found alongside the pieces' polarity and core contrast).
        nearby = pool.submit(_nearby_piece, labels, keep,
                             int(round(params.max_shaft_width_um * um / 2.0)))
        lab = labels.ravel()
        sel = keep[lab]
        ll = lab[sel]
        zl = zf.ravel()[sel]
        signed = np.bincount(ll, weights=zl, minlength=n)
        polarity = np.where(signed >= 0, 1.0, -1.0).astype(np.float32)
        value = zl * polarity[ll]
        core = _label_percentiles(ll, value, n, params.core_percentile)
        core = np.maximum(core, np.float32(params.grow_threshold_sigma))
        near, kept = nearby.result()
    inside = near > 0
    rank = near[inside].astype(np.int64)
    fraction[inside] = np.clip(zf[inside] * polarity[kept][rank] / core[kept][rank], 0.0, 1.0)
    mask = fraction >= params.edge_fraction
    # Close narrow gaps inside shafts (a shaft's lighter highlight band).
    close_px = int(round(params.mask_closing_um * um))
    if close_px > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * close_px + 1, 2 * close_px + 1))
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
        mask &= inside
    # Keep only mask pieces that hold a seed of a kept piece.
    n2, lab2 = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    hit = np.zeros(n2, dtype=bool)
    hit[lab2[(seeds > 0) & sel.reshape(mask.shape) & mask]] = True
    hit[0] = False
    mask = hit[lab2]
    # Coverage: full inside the mask, the sub-pixel share on a one-pixel rim.
    ones = np.ones((3, 3), np.uint8)
    m8 = mask.astype(np.uint8)
    rim = cv2.dilate(m8, ones).astype(bool) & ~mask
    fraction[cv2.erode(m8, ones).astype(bool)] = 1.0
    fraction[~(mask | rim)] = 0.0
    return fraction, mask, found


def working_factor(px_per_mm: float, params: SegmentParams = SegmentParams()) -> int:
    """Whole reduction that keeps the thinnest shaft ``min_shaft_width_px`` wide.

    Parameters
    ----------
    px_per_mm : float
        Pixel scale of the photo.
    params : SegmentParams
        Uses ``min_shaft_width_um`` and ``min_shaft_width_px``.

    Returns
    -------
    int
        1 (no reduction) or more.

    Examples
    --------
    >>> working_factor(100.0), working_factor(300.0)
    (1, 3)
    """
    width_px = params.min_shaft_width_um * px_per_mm / 1000.0
    return max(1, int(width_px / params.min_shaft_width_px))


def reduce_image(image: np.ndarray, factor: int) -> np.ndarray:
    """Area-averaged copy of ``image`` reduced ``factor`` times (each side
    ``side // factor``, at least 3 px); the image itself when ``factor`` is 1."""
    if factor == 1:
        return image
    h, w = image.shape[:2]
    return cv2.resize(image, (max(3, w // factor), max(3, h // factor)),
                      interpolation=cv2.INTER_AREA)


def reduce_mask(mask: np.ndarray, factor: int) -> np.ndarray:
    """A boolean mask reduced like :func:`reduce_image`: a reduced pixel is set
    when any of its pixels is; the mask itself when ``factor`` is 1."""
    if factor == 1:
        return mask
    if not mask.any():
        h, w = mask.shape[:2]
        return np.zeros((max(3, h // factor), max(3, w // factor)), dtype=bool)
    return reduce_image(mask.astype(np.float32), factor) > 0


def enlarge_mask(fraction: np.ndarray, shape: tuple[int, ...],
                 params: SegmentParams = SegmentParams()) -> np.ndarray:
    """Hair mask at full size from the coverage map of a reduced copy: the
    pixels at least ``edge_fraction`` covered after linear interpolation (the
    mask boundary at the interpolated level).

    Parameters
    ----------
    fraction : ndarray of float32, shape (h, w)
        Hair coverage of the reduced copy.
    shape : tuple
        The full-size shape; ``(H, W)`` is used.
    params : SegmentParams
        Uses ``edge_fraction``.

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    return _enlarge(fraction, shape) >= params.edge_fraction


def _enlarge(fraction: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape[:2]
    return cv2.resize(fraction, (w, h), interpolation=cv2.INTER_LINEAR)


def _segment(image: np.ndarray, scale_px_per_mm: float, params: SegmentParams,
             clipped: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    factor = working_factor(scale_px_per_mm, params)
    if factor == 1:
        return _segment_at_scale(image, scale_px_per_mm, params, clipped)
    small = reduce_image(image, factor)
    if clipped is not None:
        clipped = reduce_mask(clipped, factor)
    frac_small, _ = _segment_at_scale(
        small, scale_px_per_mm * small.shape[1] / image.shape[1], params, clipped)
    frac = _enlarge(frac_small, image.shape)
    mask = frac >= params.edge_fraction
    return np.where(mask, np.float32(1.0), frac * (frac > 0.05)).astype(np.float32), mask


def _estimate_scale(image: np.ndarray, params: SegmentParams,
                    clipped: np.ndarray | None) -> float:
    """Pixel scale implied by the median shaft width of a first pass."""
    first = image.shape[1] / params.uncalibrated_field_mm
    _, mask = _segment(image, first, params, clipped)
    if mask.sum() < params.min_pixels_for_scale:
        return first
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    ridge = (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))) & mask
    width_px = 2.0 * float(np.median(dist[ridge]))
    return max(width_px, 1.0) * 1000.0 / params.typical_shaft_width_um


def clipped_pixels(pixels: np.ndarray, *, params: SegmentParams = SegmentParams()) -> np.ndarray:
    """Pixels with a channel at the top of its range in the photo.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8, uint16 or float in [0, 1]
        The photo as loaded (before normalisation).
    params : SegmentParams
        Uses ``clipped_level_fraction``.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True where some channel is at least ``clipped_level_fraction`` of full scale.

    Examples
    --------
    >>> px = np.array([[[255, 10, 10], [200, 200, 200]]], np.uint8)
    >>> clipped_pixels(px).tolist()
    [[True, False]]
    """
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ImageArrayError(f"expected RGB pixels of shape (H, W, 3), got {pixels.shape}")
    full = float(np.iinfo(pixels.dtype).max) if np.issubdtype(pixels.dtype, np.integer) else 1.0
    # The channels' maximum pairwise: a reduction along the short last axis is far slower.
    top = np.maximum(np.maximum(pixels[:, :, 0], pixels[:, :, 1]), pixels[:, :, 2])
    return top >= params.clipped_level_fraction * full


def segment_hair_fraction(image: np.ndarray, *, px_per_mm: float | None,
                          params: SegmentParams = SegmentParams(),
                          clipped: np.ndarray | None = None) -> HairSegmentation:
    """Segment hair; return the mask with its sub-pixel coverage map.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        Normalised RGB in [0, 1] (see :func:`scalpmetrics.normalize.normalize_photo`).
        Not modified.
    px_per_mm : float or None
        Pixel scale; when ``None`` it is estimated from the shaft widths for
        internal use only (see the module notes).
    params : SegmentParams
        Segmentation parameters.
    clipped : ndarray of bool, shape (H, W), optional
        Pixels clipped in the photo (see :func:`clipped_pixels`). They are
        left out of the skin statistics: clipping flattens the skin texture
        the noise level is learned from.

    Returns
    -------
    HairSegmentation
    """
    _check_image(image)
    if clipped is not None and clipped.shape != image.shape[:2]:
        raise ImageArrayError(f"clipped {clipped.shape} and image {image.shape[:2]} differ in size")
    if clipped is not None:
        clipped = clipped.astype(bool)
    scale = px_per_mm if px_per_mm is not None else _estimate_scale(image, params, clipped)
    fraction, mask = _segment(image, scale, params, clipped)
    trace_mask = mask
    if params.method == "learned":
        trace_mask = mask & _learned_cores(fraction, params)
        holes = _small_holes(mask, scale / 1000.0, params)
        mask = mask | holes
        fraction = np.where(holes, np.float32(1.0), fraction)
    return HairSegmentation(mask=mask, fraction=fraction, scale_px_per_mm=float(scale),
                            trace_mask=trace_mask)


def segment_hair(image: np.ndarray, *, px_per_mm: float | None,
                 params: SegmentParams = SegmentParams(),
                 clipped: np.ndarray | None = None) -> np.ndarray:
    """Hair mask of a normalised photo.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        Normalised RGB in [0, 1]. Not modified.
    px_per_mm : float or None
        Pixel scale. When ``None`` the detector's scales are estimated from
        the image (see the module notes).
    params : SegmentParams
        Segmentation parameters.
    clipped : ndarray of bool, shape (H, W), optional
        As for :func:`segment_hair_fraction`.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True on hair, dark or light.
    """
    return segment_hair_fraction(image, px_per_mm=px_per_mm, params=params, clipped=clipped).mask


def hair_fraction(image: np.ndarray, *, px_per_mm: float | None,
                  params: SegmentParams = SegmentParams()) -> np.ndarray:
    """Sub-pixel hair coverage of a normalised photo.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32
        Normalised RGB in [0, 1]. Not modified.
    px_per_mm : float or None
        Pixel scale, as for :func:`segment_hair`.
    params : SegmentParams
        Segmentation parameters.

    Returns
    -------
    ndarray of float32, shape (H, W)
        Share of each pixel covered by hair, in [0, 1]; its mean over a
        region is the region's coverage fraction.
    """
    return segment_hair_fraction(image, px_per_mm=px_per_mm, params=params).fraction
