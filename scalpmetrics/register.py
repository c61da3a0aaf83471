"""Visit-to-visit alignment: map a follow-up photo onto the baseline.

Hairs change between visits, so they are painted out before anything is
matched: what remains (skin texture, follicular openings, a tattoo dot or a
marker) stays put. The steps, on copies reduced to
``RegisterParams.feature_max_side_px``:

1. log luminance flattened by the skin-only illumination estimate (a
   normalised Gaussian convolution that ignores hair pixels, so hairs leave
   no halo), hairs inpainted (Telea) from the segmentation masks;
2. SIFT keypoints on skin pixels, mutual nearest-neighbour matches that pass
   the ratio test, and a robust fit (RANSAC for a similarity or an affine
   transform, MAGSAC++ for a homography);
3. sub-pixel estimate: keypoints are localised to sub-pixel precision by SIFT
   and the transform is refined by Levenberg-Marquardt over all inliers
   (typically hundreds to thousands);
4. quality figures (inlier count and share, median inlier residual in px and
   µm, the correlation of the aligned hair-free images) and plausibility
   checks (scale, stretch, overlap, residual, correlation).

A registration that fails a check is returned with ``registered=False`` and a
one-line ``failure_reason``; :func:`scalpmetrics.compare.compare_visits` turns
that into an error or an explicit flag, never into a silent comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.measure import UM_PER_MM
from scalpmetrics.params import RegisterParams

#: Sigma of the illumination estimate removed before matching, fraction of the shorter side.
_FLATTEN_SIGMA_FRACTION = 0.03
#: The illumination blur samples its input at least this many times per sigma.
_SMOOTH_PX_PER_SAMPLE = 4.0
#: Contrast (in robust standard deviations) mapped to the full 8-bit range for SIFT.
_CONTRAST_SPAN_SD = 4.0
#: Samples per side of the grid on which overlap is evaluated.
_GRID_SAMPLES = 32
#: Robust-fit effort.
_MAX_ITERATIONS = 10_000
_CONFIDENCE = 0.999


@dataclass(frozen=True, eq=False)
class Registration:
    """How a follow-up photo maps onto the baseline.

    Attributes
    ----------
    registered : bool
        True when every quality check passed and ``followup_from_baseline`` can be used.
    model : str
        ``'similarity'``, ``'affine'`` or ``'homography'``.
    followup_from_baseline : ndarray, shape (3, 3), or None
        Homogeneous matrix taking a baseline pixel ``(x, y, 1)`` (x = column,
        pixel centres on integers) to the follow-up pixel showing the same spot;
        ``None`` when no fit was found.
    matches : int
        Feature matches that passed the ratio test.
    inliers : int
        Matches consistent with the fit.
    inlier_ratio : float
        ``inliers / matches`` (0 when there were no matches).
    median_residual_px : float or None
        Median distance between inlier matches under the fit, baseline px.
    median_residual_um : float or None
        The same in µm (``None`` when uncalibrated).
    correlation : float or None
        Correlation coefficient of the aligned hair-free images over shared skin pixels.
    scale : float or None
        Follow-up px per baseline px at the baseline's centre.
    rotation_deg : float or None
        Rotation of the follow-up content relative to the baseline, degrees,
        positive counter-clockwise as displayed (image y pointing down).
    translation_px : tuple of float or None
        Where the baseline's centre lands minus where it is, follow-up px.
    anisotropy_fraction : float or None
        Singular-value ratio of the local linear map minus one (0 for a similarity).
    overlap_fraction : float or None
        Share of the baseline that the follow-up shows.
    failure_reason : str or None
        Why the registration cannot be used, one line; ``None`` when registered.
    """

    registered: bool
    model: str
    followup_from_baseline: np.ndarray | None
    matches: int
    inliers: int
    inlier_ratio: float
    median_residual_px: float | None = None
    median_residual_um: float | None = None
    correlation: float | None = None
    scale: float | None = None
    rotation_deg: float | None = None
    translation_px: tuple[float, float] | None = None
    anisotropy_fraction: float | None = None
    overlap_fraction: float | None = None
    failure_reason: str | None = None

    def to_followup(self, points_xy: np.ndarray) -> np.ndarray:
        """Map baseline points into the follow-up photo.

        Parameters
        ----------
        points_xy : array_like, shape (N, 2)
            Baseline pixel coordinates (x = column, y = row).

        Returns
        -------
        ndarray, shape (N, 2), float64
        """
        return apply_homography(self._matrix(), points_xy)

    def to_baseline(self, points_xy: np.ndarray) -> np.ndarray:
        """Map follow-up points into the baseline photo (inverse of :meth:`to_followup`)."""
        return apply_homography(np.linalg.inv(self._matrix()), points_xy)

    def _matrix(self) -> np.ndarray:
        if self.followup_from_baseline is None:
            raise ValueError("this registration has no transform")
        return self.followup_from_baseline

    def to_dict(self) -> dict[str, Any]:
        m = self.followup_from_baseline
        return {
            "registered": self.registered,
            "model": self.model,
            "followup_from_baseline": None if m is None else m.tolist(),
            "matches": self.matches,
            "inliers": self.inliers,
            "inlier_ratio": self.inlier_ratio,
            "median_residual_px": self.median_residual_px,
            "median_residual_um": self.median_residual_um,
            "correlation": self.correlation,
            "scale": self.scale,
            "rotation_deg": self.rotation_deg,
            "translation_px": None if self.translation_px is None else list(self.translation_px),
            "anisotropy_fraction": self.anisotropy_fraction,
            "overlap_fraction": self.overlap_fraction,
            "failure_reason": self.failure_reason,
        }


def apply_homography(matrix: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    """Apply a 3x3 homogeneous transform to points.

    Parameters
    ----------
    matrix : ndarray, shape (3, 3)
    points_xy : array_like, shape (N, 2)

    Returns
    -------
    ndarray, shape (N, 2), float64

    Examples
    --------
    >>> apply_homography(np.diag([2.0, 2.0, 1.0]), [[1.0, 3.0]])
    array([[2., 6.]])
    """
    pts = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    h = np.hstack([pts, np.ones((len(pts), 1))]) @ np.asarray(matrix, np.float64).T
    return h[:, :2] / h[:, 2:3]


def register_pair(
    baseline: np.ndarray,
    followup: np.ndarray,
    *,
    baseline_hair_mask: np.ndarray | None = None,
    followup_hair_mask: np.ndarray | None = None,
    px_per_mm: float | None = None,
    params: RegisterParams = RegisterParams(),
) -> Registration:
    """Register a follow-up photo to the baseline photo.

    Parameters
    ----------
    baseline, followup : ndarray, shape (H, W, 3) or (H, W), uint8 or uint16
        RGB (or gray) photos of the same scalp site; sizes may differ.
    baseline_hair_mask, followup_hair_mask : ndarray of bool, shape (H, W), optional
        Hair masks of each photo (from segmentation). Masked pixels are painted
        out and ignored, so the alignment rests on what does not change.
    px_per_mm : float, optional
        Baseline scale, used only to report the residual in µm.
    params : RegisterParams

    Returns
    -------
    Registration
        Check ``registered`` before using the transform.

    Raises
    ------
    ImageArrayError
        An image or mask of the wrong shape or type.

    Examples
    --------
    >>> from scalpmetrics.synthetic import PhantomSpec, make_course
    >>> course = make_course(seed=5, n_visits=2, base=PhantomSpec(width_px=480, height_px=400))
    >>> base, follow = course.visits
    >>> reg = register_pair(base.image, follow.image, baseline_hair_mask=base.hair_mask,
    ...                     followup_hair_mask=follow.hair_mask, px_per_mm=100.0)
    >>> reg.registered
    True
    >>> true = course.scalp_to_image[1] @ np.linalg.inv(course.scalp_to_image[0])
    >>> corners = [[0, 0], [479, 0], [0, 399], [479, 399]]
    >>> bool(np.abs(reg.to_followup(corners) - apply_homography(true, corners)).max() < 0.5)
    True
    """
    return register_to_baseline(
        baseline, [followup],
        baseline_hair_mask=baseline_hair_mask,
        followup_hair_masks=[followup_hair_mask],
        px_per_mm=px_per_mm,
        params=params,
    )[0]


def register_to_baseline(
    baseline: np.ndarray,
    followups: Sequence[np.ndarray],
    *,
    baseline_hair_mask: np.ndarray | None = None,
    followup_hair_masks: Sequence[np.ndarray | None] | None = None,
    px_per_mm: float | None = None,
    params: RegisterParams = RegisterParams(),
) -> tuple[Registration, ...]:
    """Register several follow-up photos to one baseline (its features are found once).

    Parameters
    ----------
    baseline : ndarray, shape (H, W, 3) or (H, W), uint8 or uint16
    followups : sequence of ndarray
        Follow-up photos, each like ``baseline`` (sizes may differ).
    baseline_hair_mask : ndarray of bool, shape (H, W), optional
    followup_hair_masks : sequence of (ndarray of bool or None), optional
        One per follow-up.
    px_per_mm : float, optional
        Baseline scale, used only to report residuals in µm.
    params : RegisterParams

    Returns
    -------
    tuple of Registration
        One per follow-up, in order.
    """
    masks = list(followup_hair_masks) if followup_hair_masks is not None else []
    if masks and len(masks) != len(followups):
        raise ImageArrayError(
            f"{len(masks)} follow-up hair masks for {len(followups)} follow-up photos"
        )
    fixed = _prepare(baseline, baseline_hair_mask, "baseline", params)
    return tuple(
        _register(fixed, _prepare(img, masks[i] if masks else None, f"follow-up {i + 1}", params),
                  px_per_mm, params)
        for i, img in enumerate(followups)
    )


@dataclass(frozen=True, eq=False)
class _Prepared:
    """A photo ready for matching, at a reduced size."""

    gray: np.ndarray  # float32 (h, w): flattened log luminance, hairs painted out
    skin: np.ndarray  # bool (h, w): True where no hair is (grown by the margin)
    factor: float  # reduced size / full size
    full_shape: tuple[int, int]
    keypoints_xy: np.ndarray  # (N, 2) full-resolution px
    descriptors: np.ndarray | None  # (N, 128) float32


def _prepare(
    image: np.ndarray, hair_mask: np.ndarray | None, what: str, params: RegisterParams
) -> _Prepared:
    import cv2

    arr = np.asarray(image)
    if arr.dtype not in (np.uint8, np.uint16):
        raise ImageArrayError(f"{what} photo must be uint8 or uint16, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 3:
        rgb = arr.astype(np.float32)
        lum = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    elif arr.ndim == 2:
        lum = arr.astype(np.float32)
    else:
        raise ImageArrayError(f"{what} photo must have shape (H, W, 3) or (H, W), got {arr.shape}")
    hair = np.zeros(lum.shape, np.float32)
    if hair_mask is not None:
        hm = np.asarray(hair_mask)
        if hm.shape != lum.shape:
            raise ImageArrayError(
                f"{what} hair mask has shape {hm.shape} but the photo is {lum.shape}"
            )
        hair = hm.astype(np.float32)
    full_shape = (int(lum.shape[0]), int(lum.shape[1]))
    factor = min(1.0, params.feature_max_side_px / max(full_shape))
    if factor < 1.0:
        size = (max(1, round(full_shape[1] * factor)), max(1, round(full_shape[0] * factor)))
        lum = cv2.resize(lum, size, interpolation=cv2.INTER_AREA)
        hair = cv2.resize(hair, size, interpolation=cv2.INTER_AREA)
    hole = hair > 0
    if params.hair_margin_px > 0 and hole.any():
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * params.hair_margin_px + 1,) * 2)
        hole = cv2.dilate(hole.astype(np.uint8), k).astype(bool)
    skin = ~hole
    gray = _flatten(np.log1p(lum), skin)
    if hole.any():
        gray = _inpaint(gray, hole)
    img8 = np.clip(gray * (127.5 / _CONTRAST_SPAN_SD) + 127.5, 0, 255).astype(np.uint8)
    sift = cv2.SIFT_create(
        nfeatures=params.max_features, contrastThreshold=params.feature_contrast_threshold
    )
    kps, desc = sift.detectAndCompute(img8, skin.astype(np.uint8) * 255)
    xy = np.array([kp.pt for kp in kps], np.float64).reshape(-1, 2)
    return _Prepared(
        gray=gray, skin=skin, factor=factor, full_shape=full_shape,
        keypoints_xy=_to_full(xy, factor), descriptors=desc if kps else None,
    )


def _flatten(log: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Log luminance minus its skin-only illumination estimate, in robust SD units."""
    sigma = _FLATTEN_SIGMA_FRACTION * min(log.shape)
    weight = skin.astype(np.float32)
    light = _smooth(log * weight, sigma) / np.maximum(_smooth(weight, sigma), 1e-3)
    flat = np.where(skin, log - light, 0.0).astype(np.float32)
    spread = 1.4826 * float(np.median(np.abs(flat[skin]))) if skin.any() else 0.0
    return flat / spread if spread > 0 else flat


def _smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of scale ``sigma`` px, computed on a reduced copy when that is large."""
    import cv2

    step = max(1, int(sigma // _SMOOTH_PX_PER_SAMPLE))
    if step == 1:
        return cv2.GaussianBlur(values, (0, 0), sigma)
    h, w = values.shape
    small = cv2.resize(values, (max(1, w // step), max(1, h // step)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / step)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _inpaint(values: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill ``hole`` pixels of a float image from their surroundings (Telea)."""
    import cv2

    lo, hi = np.percentile(values[~hole], [0.5, 99.5]) if (~hole).any() else (0.0, 1.0)
    span = max(float(hi - lo), 1e-6)
    img8 = np.clip((values - lo) / span * 255, 0, 255).astype(np.uint8)
    filled = cv2.inpaint(img8, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    out = values.copy()
    out[hole] = filled[hole].astype(np.float32) / 255 * span + lo
    return out


def _to_full(xy: np.ndarray, factor: float) -> np.ndarray:
    """Reduced-copy pixel coordinates to full resolution (pixel centres on integers)."""
    return (xy + 0.5) / factor - 0.5


def _register(
    fixed: _Prepared, moving: _Prepared, px_per_mm: float | None, params: RegisterParams
) -> Registration:
    model = params.model
    src, dst = _match(fixed, moving, params.match_ratio)
    n_matches = len(src)

    def fail(n_inliers: int, matrix: np.ndarray | None, reason: str) -> Registration:
        return Registration(
            registered=False, model=model, followup_from_baseline=matrix, matches=n_matches,
            inliers=n_inliers, inlier_ratio=n_inliers / n_matches if n_matches else 0.0,
            failure_reason=reason,
        )

    if n_matches < max(params.min_inliers, 4):
        return fail(0, None, f"only {n_matches} feature matches (need {params.min_inliers})")
    matrix, inlier = _robust_fit(src, dst, model, params.ransac_threshold_px)
    if matrix is None:
        return fail(0, None, "no transform fits the feature matches")
    n_inliers = int(inlier.sum())
    if n_inliers < params.min_inliers:
        return fail(n_inliers, matrix, f"only {n_inliers} inlier matches (need {params.min_inliers})")
    ratio = n_inliers / n_matches
    if ratio < params.min_inlier_ratio:
        return fail(
            n_inliers, matrix,
            f"only {ratio:.0%} of feature matches are inliers (need {params.min_inlier_ratio:.0%})",
        )
    geo = _geometry(matrix, fixed.full_shape)
    resid = np.linalg.norm(apply_homography(matrix, src[inlier]) - dst[inlier], axis=1)
    resid_px = float(np.median(resid) / geo["scale"])
    overlap = _overlap_fraction(matrix, fixed.full_shape, moving.full_shape)
    corr = _correlation(fixed, moving, matrix)
    reason = _implausible(geo, overlap, resid_px, corr, params)
    return Registration(
        registered=reason is None,
        model=model,
        followup_from_baseline=matrix,
        matches=n_matches,
        inliers=n_inliers,
        inlier_ratio=ratio,
        median_residual_px=resid_px,
        median_residual_um=None if px_per_mm is None else resid_px / px_per_mm * UM_PER_MM,
        correlation=corr,
        overlap_fraction=overlap,
        failure_reason=reason,
        **geo,
    )


def _match(fixed: _Prepared, moving: _Prepared, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Mutual ratio-test matches as (baseline xy, follow-up xy), each shape (M, 2)."""
    import cv2

    empty = (np.zeros((0, 2)), np.zeros((0, 2)))
    db, df = fixed.descriptors, moving.descriptors
    if db is None or df is None or len(db) < 2 or len(df) < 2:
        return empty
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    back = {m.queryIdx: m.trainIdx for m in matcher.match(df, db)}
    pairs = [
        (m.queryIdx, m.trainIdx)
        for m, n in (p for p in matcher.knnMatch(db, df, k=2) if len(p) == 2)
        if m.distance < ratio * n.distance and back.get(m.trainIdx) == m.queryIdx
    ]
    if not pairs:
        return empty
    idx = np.array(pairs)
    return fixed.keypoints_xy[idx[:, 0]], moving.keypoints_xy[idx[:, 1]]


def _robust_fit(
    src: np.ndarray, dst: np.ndarray, model: str, threshold_px: float
) -> tuple[np.ndarray | None, np.ndarray]:
    """Fit ``dst ~ M src`` robustly; the 3x3 matrix (or None) and the inlier flags."""
    import cv2

    a, b = src.astype(np.float32), dst.astype(np.float32)
    if model == "homography":
        m, inl = cv2.findHomography(a, b, cv2.USAC_MAGSAC, threshold_px,
                                    maxIters=_MAX_ITERATIONS, confidence=_CONFIDENCE)
    else:
        fit = cv2.estimateAffine2D if model == "affine" else cv2.estimateAffinePartial2D
        m, inl = fit(a, b, method=cv2.RANSAC, ransacReprojThreshold=threshold_px,
                     maxIters=_MAX_ITERATIONS, confidence=_CONFIDENCE)
    if m is None or inl is None or not np.all(np.isfinite(m)):
        return None, np.zeros(len(src), bool)
    matrix = np.vstack([m, [0.0, 0.0, 1.0]]) if m.shape == (2, 3) else m.astype(np.float64)
    return matrix / matrix[2, 2], inl.ravel().astype(bool)


def _reduced(matrix: np.ndarray, f_fixed: float, f_moving: float) -> np.ndarray:
    """A full-resolution transform expressed between copies reduced by the given factors."""
    s_f = np.array([[f_fixed, 0, 0.5 * f_fixed - 0.5], [0, f_fixed, 0.5 * f_fixed - 0.5], [0, 0, 1]])
    s_m = np.array([[f_moving, 0, 0.5 * f_moving - 0.5], [0, f_moving, 0.5 * f_moving - 0.5],
                    [0, 0, 1]])
    return s_m @ matrix @ np.linalg.inv(s_f)


def _correlation(fixed: _Prepared, moving: _Prepared, matrix: np.ndarray) -> float | None:
    """Correlation of the hair-free images over skin that both show, after alignment."""
    import cv2

    m = _reduced(matrix, fixed.factor, moving.factor)
    size = (fixed.gray.shape[1], fixed.gray.shape[0])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpPerspective(moving.gray, m, size, flags=flags)
    valid = cv2.warpPerspective(moving.skin.astype(np.uint8), m, size,
                                flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    ok = fixed.skin & valid.astype(bool)
    if ok.sum() < 2:
        return None
    a, b = fixed.gray[ok].astype(np.float64), warped[ok].astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    denom = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b / denom) if denom > 0 else None


def _grid(shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape[:2]
    xs = np.linspace(0, w - 1, _GRID_SAMPLES)
    ys = np.linspace(0, h - 1, _GRID_SAMPLES)
    return np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)


def _geometry(matrix: np.ndarray, shape: tuple[int, ...]) -> dict[str, Any]:
    """Scale, rotation, translation and anisotropy of ``matrix`` at the baseline's centre."""
    h, w = shape[:2]
    c = np.array([[(w - 1) / 2, (h - 1) / 2]])
    p0 = apply_homography(matrix, c)[0]
    jac = np.column_stack([
        apply_homography(matrix, c + [1.0, 0.0])[0] - p0,
        apply_homography(matrix, c + [0.0, 1.0])[0] - p0,
    ])
    sv = np.linalg.svd(jac, compute_uv=False)
    return {
        "scale": float(math.sqrt(abs(np.linalg.det(jac)))),
        "rotation_deg": float(math.degrees(math.atan2(jac[0, 1] - jac[1, 0], jac[0, 0] + jac[1, 1]))),
        "translation_px": (float(p0[0] - c[0, 0]), float(p0[1] - c[0, 1])),
        "anisotropy_fraction": float(sv[0] / sv[1] - 1.0) if sv[1] > 0 else math.inf,
    }


def _overlap_fraction(
    matrix: np.ndarray, fixed_shape: tuple[int, ...], moving_shape: tuple[int, ...]
) -> float:
    """Share of the baseline's sample grid that lands inside the follow-up."""
    pts = apply_homography(matrix, _grid(fixed_shape))
    h, w = moving_shape[:2]
    inside = (pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= h - 1)
    return float(inside.mean())


def _implausible(
    geo: dict[str, Any], overlap: float, resid_px: float, corr: float | None,
    params: RegisterParams,
) -> str | None:
    """The first failed plausibility check as one line, or None."""
    if abs(geo["scale"] - 1.0) > params.max_scale_change_fraction:
        return (f"implausible scale change {geo['scale']:.3f} "
                f"(limit +-{params.max_scale_change_fraction:.0%})")
    if geo["anisotropy_fraction"] > params.max_anisotropy_fraction:
        return (f"implausible stretch or shear {geo['anisotropy_fraction']:.3f} "
                f"(limit {params.max_anisotropy_fraction:g})")
    if overlap < params.min_overlap_fraction:
        return (f"the photos share only {overlap:.0%} of the baseline "
                f"(need {params.min_overlap_fraction:.0%})")
    if resid_px > params.max_residual_px:
        return f"median residual {resid_px:.2f} px exceeds {params.max_residual_px:g} px"
    if corr is None or corr < params.min_correlation:
        shown = "undefined" if corr is None else f"{corr:.2f}"
        return (f"aligned photos correlate poorly ({shown}, "
                f"need {params.min_correlation:g}): not the same site?")
    return None
