"""Per-pixel hair fraction: two-colour unmixing under smooth shading.

In linear light a pixel is the area average of what it shows. A pixel of the
head where hair hides a share ``f`` of the scalp has the colour::

    I(x) = L(x) * (f * H + (1 - f) * S)

with ``H`` the hair colour, ``S`` the scalp colour (both as lit by the main
light's colour) and ``L`` a smooth shading field (the light falling off over
the curved head). Given ``H``, ``S`` and ``L``, ``f`` is the position of
``I / L`` on the segment from ``S`` to ``H``; it is not clipped to [0, 1], so
that a zone's mean of ``f`` is an unbiased coverage (noise and the spread of
hair shades average out instead of piling up at 0 and 1).

``L``, ``H`` and ``S`` come from the photo itself:

1. Pixels are split into a dark class (hair) and a light class (skin) by a
   threshold on shading-corrected log luminance (Otsu's at first).
2. In cells of a grid over the head where a class is the clear majority, the
   mode of that class's log luminance (mean shift started from a low quantile
   of the dark class, a high quantile of the light class: mixed pixels sit
   between the two) is taken as the level of *pure* hair or *pure* skin.
   The hair level is read from the luminance averaged over a pixel or so
   (``level_smoothing_px``, within the head only): dark hair in shadow is
   only a few times brighter than the sensor's noise, many of its single
   pixels read near black, and a low quantile or a mode of such pixels falls
   far below the hair's level, the more so the darker the cell, which bends
   the fitted shading down on the dark side of the head.
3. One smooth log-shading surface (see :func:`shading_basis`) and one
   offset per class are fitted to those levels by robust least squares,
   with a small ridge penalty on the surface (hair cells and skin cells
   rarely overlap, and an unpenalized surface can put a shading step where
   the contrast is); the threshold moves to the middle of the two offsets
   and the steps repeat. Hair in the gaps can only darken a skin cell, so
   the scalp offset is not the skin cells' mean level about the surface but
   their mode, searched from an upper quantile (``scalp_offset_percentile``):
   where the scalp shows only between locks, most skin cells read darker than
   bare scalp, and their mean would take the scalp for darker than it is;
   where bare scalp or forehead fills many cells, the mode is their level.
4. The colours ``H`` and ``S`` are the shading-corrected mean colours of the
   pixels near each class level.

When no skin is seen (a full head of hair) the scalp level is taken from the
brightest gaps; the coverage is then close to 1 and barely depends on it.
A light class less than ``min_seen_contrast_ratio`` times brighter than
pure hair is taken for lit hair (the two sides of a full head of hair under
a side light), and the scalp is then treated as not seen. Near either
decision (few skin cells, a contrast just above that ratio) the models with
and without scalp are blended (:func:`seen_weight`), so that a small change
of light moves the model a little instead of switching it.

Limits: the lighting must be of one colour (mixed daylight and flash is not
modelled); specular sheen on hair reads as scalp; hair whose luminance is
close to the scalp's (grey or blond hair on fair skin) leaves little contrast
and the error grows as the contrast falls (the ``low_contrast`` flag).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage.filters import threshold_otsu

from scalpmetrics.errors import HeadNotFoundError
from scalpmetrics.globalview.colour import LUMA_RGB, luminance
from scalpmetrics.globalview.geometry import HeadEllipse
from scalpmetrics.params import GlobalViewParams

__all__ = ["UnmixingModel", "fit_unmixing", "hair_fraction", "seen_weight"]

_EPS = 1e-4  # linear-light floor before logarithms
_MIN_DOMAIN_PIXELS = 100  # fewer head pixels cannot give two colours and a shading field


@dataclass(frozen=True, eq=False)
class UnmixingModel:
    """The colour model of one photo.

    Attributes
    ----------
    hair_rgb, scalp_rgb : ndarray, shape (3,)
        Linear RGB of pure hair and pure scalp under unit shading.
    shading_coefficients : ndarray, shape (K,)
        Coefficients of the log-shading basis (see :func:`shading_basis`).
    scalp_seen : bool
        False when no skin was found and the scalp level was estimated from the
        brightest gaps (more than half of the model is that of unseen scalp).
    contrast_ratio : float
        Luminance of pure scalp over that of pure hair (the final endmembers).
    scalp_seen_weight : float
        Weight of the model with scalp seen in a blend of the models with and
        without it (1 = scalp seen, 0 = not seen; see :func:`fit_unmixing`).
    scalp_cells : int
        Grid cells that showed skin (0 when the scalp was not seen).
    cell_log_contrast : float
        Log of the ratio of the skin and hair cells' levels in the shading fit
        (NaN when the scalp was not seen); the comparison of visits ties it
        across the visits of one head (see :func:`fit_unmixing`).
    """

    hair_rgb: np.ndarray
    scalp_rgb: np.ndarray
    shading_coefficients: np.ndarray
    scalp_seen: bool
    contrast_ratio: float
    scalp_seen_weight: float = 1.0
    scalp_cells: int = 0
    cell_log_contrast: float = float("nan")

    def to_dict(self) -> dict[str, object]:
        return {
            "hair_rgb_linear": [float(v) for v in self.hair_rgb],
            "scalp_rgb_linear": [float(v) for v in self.scalp_rgb],
            "scalp_seen": self.scalp_seen,
            "scalp_seen_weight": float(self.scalp_seen_weight),
            "contrast_ratio": float(self.contrast_ratio),
            "cell_log_contrast": float(self.cell_log_contrast)
            if np.isfinite(self.cell_log_contrast) else None,
        }


def shading_basis(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Log-shading basis without the constant term.

    A cubic in ``(u, v)`` plus the hemisphere term ``s = sqrt(1 - u^2 - v^2)``
    and ``u s``, ``v s`` (the first-order terms of a Lambertian light on a
    dome, which a polynomial follows badly near the outline).

    Returns
    -------
    ndarray, shape (..., 12), float64
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    s = np.sqrt(np.clip(1.0 - u * u - v * v, 0.0, 1.0))
    return np.stack(
        [u, v, u * u, u * v, v * v, u**3, u * u * v, u * v * v, v**3, s, u * s, v * s], axis=-1
    )


def log_shading(model: UnmixingModel, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Log of the shading field at normalized coordinates ``(u, v)``."""
    return shading_basis(u, v) @ model.shading_coefficients


def _mode(x: np.ndarray, start: float, band: float, iterations: int = 8) -> float:
    """Mean-shift mode of ``x`` within ``band`` of the estimate, started at ``start``."""
    level = float(start)
    for _ in range(iterations):
        near = np.abs(x - level) < band
        if not near.any():
            break
        level = float(x[near].mean())
    return level


def _robust_lstsq(
    design: np.ndarray, target: np.ndarray, weight: np.ndarray, ridge: np.ndarray
) -> np.ndarray:
    """Weighted least squares with Huber reweighting (scale from the median residual).

    ``ridge`` (one value per column) pulls each coefficient towards zero with
    the weight of that share of the total weight of the data.
    """
    robust = np.ones_like(weight)
    sol = np.zeros(design.shape[1])
    for _ in range(4):
        w = weight * robust
        prior = np.diag(np.sqrt(ridge * float(np.sum(w * w))))
        a = np.concatenate([design * w[:, None], prior])
        b = np.concatenate([target * w, np.zeros(design.shape[1])])
        sol = np.linalg.lstsq(a, b, rcond=None)[0]
        r = target - design @ sol
        scale = max(1.4826 * float(np.median(np.abs(r))), 0.02)
        robust = np.minimum(1.0, 1.5 * scale / np.maximum(np.abs(r), 1e-12))
    return sol


def _cell_levels(
    logy: np.ndarray,
    logy_smooth: np.ndarray,
    dark: np.ndarray,
    cells: np.ndarray,
    n_cells: int,
    *,
    q_dark: float,
    q_light: float,
    min_pixels: int,
    min_share: float,
    band: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per cell: dark and light levels (NaN where a class is too rare) and their pixel counts.

    The classes are those of the pixels; the dark level is read from
    ``logy_smooth`` (the neighbourhood average), the light level from ``logy``.
    """
    order = np.argsort(cells, kind="stable")
    bounds = np.searchsorted(cells[order], np.arange(n_cells + 1))
    dark_lv = np.full(n_cells, np.nan)
    light_lv = np.full(n_cells, np.nan)
    n_dark = np.zeros(n_cells)
    n_light = np.zeros(n_cells)
    for c in range(n_cells):
        idx = order[bounds[c] : bounds[c + 1]]
        if idx.size == 0:
            continue
        d = dark[idx]
        share = d.mean()
        if d.sum() >= min_pixels and share >= min_share:
            ds = logy_smooth[idx][d]
            dark_lv[c] = _mode(ds, np.percentile(ds, q_dark), band)
            n_dark[c] = d.sum()
        if (~d).sum() >= min_pixels and 1.0 - share >= min_share:
            light_lv[c] = _mode(logy[idx][~d], np.percentile(logy[idx][~d], q_light), band)
            n_light[c] = (~d).sum()
    return dark_lv, light_lv, n_dark, n_light


def _smoothed_luminance(linear: np.ndarray, domain: np.ndarray, sigma_px: float) -> np.ndarray:
    """Luminance averaged with a Gaussian of ``sigma_px`` over ``domain`` pixels only.

    The average is taken in linear light (so noise averages out without bias)
    and within the domain (so the backdrop does not leak in at its edge).
    """
    y = luminance(linear).astype(np.float64)
    if sigma_px <= 0:
        return y
    w = domain.astype(np.float64)
    num = cv2.GaussianBlur(y * w, (0, 0), sigma_px)
    den = cv2.GaussianBlur(w, (0, 0), sigma_px)
    return np.divide(num, den, out=y, where=den > 0)


def fit_unmixing(
    linear: np.ndarray,
    ellipse: HeadEllipse,
    domain: np.ndarray,
    *,
    cell_log_contrast: float | None = None,
    scalp_seen_weight: float | None = None,
    params: GlobalViewParams = GlobalViewParams(),
) -> UnmixingModel:
    """Estimate hair colour, scalp colour and shading from the head's own pixels.

    Parameters
    ----------
    linear : ndarray, shape (H, W, 3), float32
        Linear RGB photo (working resolution).
    ellipse : HeadEllipse
        Head frame in the same pixels.
    domain : ndarray of bool, shape (H, W)
        Head pixels to learn from (scalp and, when visible, the face).
    cell_log_contrast : float, optional
        Pull the skin cells' level towards the hair cells' level plus this
        (log) in the shading fit (one more row, with ``visit_contrast_weight``
        of the cells' total weight): with hair and bare skin in separate parts
        of the head a tilt of the shading trades against the contrast, and a
        contrast shared by the visits of one head (the person's colours)
        steadies it. Applies when the scalp is seen.
    scalp_seen_weight : float, optional
        Weight of the model with scalp seen in the blend with the model
        without it, in 0..1, instead of the photo's own (:func:`seen_weight`):
        the comparison of visits gives the visits of one head one weight.
    params : GlobalViewParams

    Returns
    -------
    UnmixingModel
    """
    ys, xs = np.nonzero(domain)
    if ys.size < _MIN_DOMAIN_PIXELS:
        raise HeadNotFoundError(
            f"only {ys.size} head pixels to learn hair and scalp colours from: is the head in view?"
        )
    rgb = linear[ys, xs].astype(np.float64)
    y = rgb @ LUMA_RGB.astype(np.float64)
    logy = np.log(np.maximum(y, _EPS))
    smooth = _smoothed_luminance(linear, domain, params.level_smoothing_px)[ys, xs]
    lum = (logy, np.log(np.maximum(smooth, _EPS)))
    uv = ellipse.to_normalized(np.stack([xs, ys], axis=1).astype(np.float64))
    basis = shading_basis(uv[:, 0], uv[:, 1])
    # grid cells in head coordinates
    n_side = max(2, int(round(2.0 / params.shading_cell_fraction)))
    ci = np.clip(((uv[:, 0] + 1.0) / 2.0 * n_side).astype(int), 0, n_side - 1)
    cj = np.clip(((uv[:, 1] + 1.0) / 2.0 * n_side).astype(int), 0, n_side - 1)
    cells = cj * n_side + ci
    n_cells = n_side * n_side
    cell_u = (np.arange(n_cells) % n_side + 0.5) / n_side * 2.0 - 1.0
    cell_v = (np.arange(n_cells) // n_side + 0.5) / n_side * 2.0 - 1.0
    cell_basis = shading_basis(cell_u, cell_v)
    grid = (cells, n_cells, cell_basis)
    seen = _levels_and_colours(rgb, lum, basis, grid, params, scalp_allowed=True,
                               tied_log_contrast=cell_log_contrast)
    if scalp_seen_weight is not None:
        weight = float(np.clip(scalp_seen_weight, 0.0, 1.0))
    elif seen.scalp_seen:
        weight = seen_weight(seen.scalp_cells, seen.contrast_ratio, params)
    else:
        weight = 0.0
    if weight >= 1.0:
        return seen
    unseen = _levels_and_colours(rgb, lum, basis, grid, params, scalp_allowed=False)
    if weight <= 0.0:
        return unseen
    return _blend(seen, unseen, weight)


def seen_weight(cells: int, contrast_ratio: float, params: GlobalViewParams) -> float:
    """Weight of the colour model with scalp seen against the model without it.

    The scalp counts as seen, fully, when at least ``min_scalp_cells +
    scalp_cells_ramp - 1`` cells show skin and the light class is at least
    ``min_seen_contrast_ratio * seen_contrast_ramp_ratio`` times brighter than
    pure hair; not at all with fewer than ``min_scalp_cells`` cells or a
    contrast below ``min_seen_contrast_ratio`` (lit hair, not scalp); in
    between, the weight rises linearly with the cells and with the log of the
    contrast (the product of the two). A photo near the decision then
    changes its model a little with the light, not all at once.

    Parameters
    ----------
    cells : int
        Grid cells that showed skin.
    contrast_ratio : float
        Pure scalp over pure hair luminance of the model with scalp seen.
    params : GlobalViewParams

    Returns
    -------
    float
        In 0..1.

    Examples
    --------
    >>> from scalpmetrics.params import GlobalViewParams
    >>> p = GlobalViewParams(min_scalp_cells=3, scalp_cells_ramp=2, min_seen_contrast_ratio=2.0,
    ...                      seen_contrast_ramp_ratio=1.5)
    >>> seen_weight(2, 5.0, p), seen_weight(3, 5.0, p), seen_weight(9, 5.0, p), seen_weight(9, 1.9, p)
    (0.0, 0.5, 1.0, 0.0)
    """
    by_cells = (cells - params.min_scalp_cells + 1) / max(params.scalp_cells_ramp, 1)
    ramp = np.log(params.seen_contrast_ramp_ratio)
    by_contrast = (
        np.log(contrast_ratio / params.min_seen_contrast_ratio) / ramp if ramp > 0
        else float(contrast_ratio >= params.min_seen_contrast_ratio)
    )
    return float(np.clip(by_cells, 0.0, 1.0) * np.clip(by_contrast, 0.0, 1.0))


def _blend(seen: UnmixingModel, unseen: UnmixingModel, weight: float) -> UnmixingModel:
    """The two colour models mixed with ``weight`` on ``seen``: log-shading and log-colours linearly."""
    def mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(weight * np.log(np.maximum(a, _EPS)) + (1.0 - weight) * np.log(np.maximum(b, _EPS)))

    hair, scalp = mix(seen.hair_rgb, unseen.hair_rgb), mix(seen.scalp_rgb, unseen.scalp_rgb)
    return UnmixingModel(
        hair_rgb=hair,
        scalp_rgb=scalp,
        shading_coefficients=weight * seen.shading_coefficients
        + (1.0 - weight) * unseen.shading_coefficients,
        scalp_seen=weight >= 0.5,
        contrast_ratio=float((scalp @ LUMA_RGB) / (hair @ LUMA_RGB)),
        scalp_seen_weight=weight,
        scalp_cells=seen.scalp_cells,
        cell_log_contrast=seen.cell_log_contrast,
    )


def _levels_and_colours(
    rgb: np.ndarray,
    lum: tuple[np.ndarray, np.ndarray],
    basis: np.ndarray,
    grid: tuple[np.ndarray, int, np.ndarray],
    params: GlobalViewParams,
    *,
    scalp_allowed: bool,
    tied_log_contrast: float | None = None,
) -> UnmixingModel:
    """Alternate classification and shading fit, then take the two colours.

    ``scalp_allowed=False`` fits the hair class only and takes the scalp level
    from the brightest pixels (see the module notes). ``lum`` holds the log
    luminance of every domain pixel and of its neighbourhood average.
    ``tied_log_contrast`` pulls the skin cells' offset towards the hair
    cells' plus it in the shading fit (see :func:`fit_unmixing`).
    """
    logy, logy_smooth = lum
    cells, n_cells, cell_basis = grid
    min_px = max(4, int(params.shading_min_cell_pixels))
    coef = np.zeros(basis.shape[1])
    corrected = logy.copy()
    threshold = float(threshold_otsu(corrected)) if np.ptp(corrected) > 0 else float(corrected[0])
    c_dark = c_light = 0.0
    scalp_seen = scalp_allowed
    n_scalp_cells = 0
    cell_contrast = float("nan")
    for _ in range(params.shading_iterations):
        dark = corrected < threshold
        shade_cell = cell_basis @ coef
        dark_lv, light_lv, n_dark, n_light = _cell_levels(
            corrected, logy_smooth - basis @ coef, dark, cells, n_cells,
            q_dark=params.hair_level_percentile, q_light=params.scalp_level_percentile,
            min_pixels=min_px, min_share=params.pure_cell_share,
            band=params.endmember_band_log,
        )
        has_d, has_l = np.isfinite(dark_lv), np.isfinite(light_lv)
        n_scalp_cells = int(has_l.sum())
        scalp_seen = scalp_allowed and n_scalp_cells >= params.min_scalp_cells
        rows, target, weight, cls = [], [], [], []
        for has, lv, n, k in ((has_d, dark_lv, n_dark, 0), (has_l, light_lv, n_light, 1)):
            if k == 1 and not scalp_seen:
                continue
            rows.append(cell_basis[has])
            target.append(lv[has] + shade_cell[has])  # back to uncorrected log levels
            weight.append(np.sqrt(n[has]))
            cls.append(np.full(int(has.sum()), k))
        design = np.concatenate(rows)
        t = np.concatenate(target)
        wts = np.concatenate(weight)
        cl = np.concatenate(cls)
        offsets = np.stack([(cl == 0), (cl == 1)], axis=1).astype(np.float64)
        if not scalp_seen:
            offsets = offsets[:, :1]
        full = np.concatenate([design, offsets], axis=1)
        ridge = np.zeros(full.shape[1])
        ridge[: design.shape[1]] = params.shading_ridge
        tied = scalp_seen and tied_log_contrast is not None
        if tied:  # one more row: the two offsets differ by the tied contrast
            tie = np.zeros((1, full.shape[1]))
            tie[0, -2:] = (-1.0, 1.0)
            strength = np.sqrt(params.visit_contrast_weight * float(np.sum(wts * wts)))
            sol = _robust_lstsq(np.concatenate([full, tie]), np.append(t, tied_log_contrast),
                                np.append(wts, strength), ridge)
        else:
            sol = _robust_lstsq(full, t, wts, ridge)
        coef = sol[: design.shape[1]]
        corrected = logy - basis @ coef
        c_dark = float(sol[design.shape[1]])
        if scalp_seen:
            cell_contrast = float(sol[design.shape[1] + 1]) - c_dark
        if scalp_seen:
            skin = cl == 1
            about = t[skin] - design[skin] @ coef
            c_light = _mode(about, float(np.percentile(about, params.scalp_offset_percentile)),
                            params.endmember_band_log)
        else:
            c_light = max(
                c_dark + np.log(params.min_contrast_ratio),
                float(np.percentile(corrected, params.fallback_scalp_percentile)),
            )
        threshold = 0.5 * (c_dark + c_light)
    shade = np.exp(basis @ coef)[:, None]
    norm = rgb / shade
    level_dark, level_light = np.exp(c_dark), np.exp(c_light)
    if params.mixture_refine:
        level_dark, level_light = _mixture_levels(
            np.exp(corrected), level_dark, level_light, fix_light=True
        )
    band = params.endmember_band_log
    near_dark = np.abs(corrected - np.log(level_dark)) < band
    near_light = np.abs(corrected - np.log(level_light)) < band
    dark_rgb = _endmember(norm, near_dark, level_dark)
    light_rgb = _endmember(norm, near_light, level_light)
    return UnmixingModel(
        hair_rgb=dark_rgb,
        scalp_rgb=light_rgb,
        shading_coefficients=coef,
        scalp_seen=scalp_seen,
        contrast_ratio=float(level_light / level_dark),
        scalp_seen_weight=float(scalp_seen),
        scalp_cells=n_scalp_cells if scalp_seen else 0,
        cell_log_contrast=cell_contrast if scalp_seen else float("nan"),
    )


def _mixture_levels(
    y: np.ndarray, dark: float, light: float, *, fix_light: bool
) -> tuple[float, float]:
    """Pure-hair and pure-scalp luminances by maximum likelihood.

    The shading-corrected luminances are modelled as a mixture of pure hair
    (normal about ``dark``: the hair's own shade varies), pure scalp (normal
    about ``light``) and mixed pixels spread evenly between the two (blurred
    by the same spreads). Unlike a quantile or a mode, the fitted centres do
    not move with the share of mixed pixels.
    """
    from scipy.optimize import minimize
    from scipy.special import erf

    lo, hi = np.percentile(y, [0.2, 99.8])
    if not hi > lo:
        return dark, light
    counts, edges = np.histogram(y, bins=240, range=(lo, hi))
    x = 0.5 * (edges[1:] + edges[:-1])
    span = hi - lo

    def density(theta: np.ndarray) -> np.ndarray:
        d, l_, log_sd, log_sl, a1, a2 = theta
        if fix_light:
            l_ = light
        sd, sl = np.exp(log_sd) * span, np.exp(log_sl) * span
        w = np.exp(np.array([0.0, a1, a2]))
        w /= w.sum()
        g_d = np.exp(-0.5 * ((x - d) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
        g_l = np.exp(-0.5 * ((x - l_) / sl) ** 2) / (sl * np.sqrt(2 * np.pi))
        s_mid = 0.5 * (sd + sl)
        width = max(abs(l_ - d), 1e-9)
        box = (erf((x - min(d, l_)) / (np.sqrt(2) * s_mid))
               - erf((x - max(d, l_)) / (np.sqrt(2) * s_mid))) / (2 * width)
        return w[0] * g_d + w[1] * g_l + w[2] * box + 1e-12

    def nll(theta: np.ndarray) -> float:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            value = -float(np.sum(counts * np.log(density(theta))))
        return value if np.isfinite(value) else float("inf")

    start = np.array([dark, light, np.log(0.05 * dark / span + 1e-3),
                      np.log(0.05 * light / span + 1e-3), 0.0, 0.0])
    sol = minimize(nll, start, method="Nelder-Mead",
                   options={"maxiter": 3000, "xatol": 1e-6, "fatol": 1e-6})
    d, l_ = float(sol.x[0]), float(sol.x[1])
    if fix_light:
        l_ = light
    if not (lo <= d < l_ <= hi) or not sol.success:
        return dark, light
    return d, l_


def _endmember(norm_rgb: np.ndarray, near: np.ndarray, level: float) -> np.ndarray:
    """Mean colour of the pixels near a class level, scaled to that luminance level."""
    colour = norm_rgb[near].mean(axis=0) if near.sum() >= 4 else np.ones(3)
    lum = float(colour @ LUMA_RGB)
    return colour * (level / lum) if lum > 0 else np.full(3, level)


def hair_fraction(
    linear: np.ndarray, ellipse: HeadEllipse, model: UnmixingModel
) -> np.ndarray:
    """Per-pixel hair fraction, unclipped.

    Parameters
    ----------
    linear : ndarray, shape (H, W, 3), float32
        Linear RGB photo (the pixels the model was fitted on).
    ellipse : HeadEllipse
        Head frame in the same pixels.
    model : UnmixingModel

    Returns
    -------
    ndarray, shape (H, W), float32
        ``f`` such that ``I / L = f H + (1 - f) S`` in the least-squares
        sense; about 0 on bare scalp, 1 on full hair, not clipped.
    """
    u, v = ellipse.uv_grid(linear.shape)
    r = np.maximum(np.hypot(u, v), 1.0)  # the model holds on the head: no extrapolation
    shade = np.exp(log_shading(model, u / r, v / r)).astype(np.float32)
    d = (model.scalp_rgb - model.hair_rgb).astype(np.float32)
    proj = (model.scalp_rgb.astype(np.float32)[None, None, :] - linear / shade[:, :, None]) @ d
    return (proj / float(d @ d)).astype(np.float32)
