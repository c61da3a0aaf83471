"""Colour correction from a 24-patch ColorChecker in view.

When a Macbeth ColorChecker (24 patches) is in the photo, OpenCV's ``mcc``
module finds it and measures its patches; ``ccm`` fits a 3x3 colour
correction matrix (on gamma-2.2-linearised sRGB, CIEDE2000 loss) that maps the
measured patches onto their reference colours, and the matrix is applied to
the whole photo before the normalisation step. The fit is checked
independently: the corrected patches are compared with the references in
CIE Lab, and a chart whose root-mean-square CIEDE2000 error exceeds
``ChartParams.max_fit_error_de00`` is not used (flag ``color_chart_rejected``).

``mcc`` also "finds" charts where there are none, in dense long hair above
all, whose crossings make a grid of cells. Such a detection is dropped (no
chart in view) when its outline is not a convex quadrilateral inside the
photo, or when its patches are textured: a printed patch is uniform, so the
spread of the luminance within the patches (their central 60 %, smoothed
over ``ChartParams.patch_texture_sigma_px`` so that sensor noise does not
count) is small beside the spread between the patches; a median ratio above
``ChartParams.max_patch_texture_ratio`` is hair and skin, not a chart.

Without a chart, colour casts and uneven light are removed by the
normalisation alone (per-channel division by a smooth skin estimate: a local
gray-world balance and flat-field in one, see ``normalize``).

OpenCV 5 calling style, as used here: ``cv2.mcc.CCheckerDetector.create()``,
``setColorChartType(cv2.mcc.MCC24)``, ``process(bgr_image, n_charts)``, then
``getBestColorChecker().getChartsRGB(False)`` gives the patch means as
``(24, 1, 3)`` RGB in 0..255; ``cv2.ccm.ColorCorrectionModel(src,
cv2.ccm.COLORCHECKER_MACBETH)`` takes those as RGB in [0, 1], ``compute()``
fits and ``correctImage(rgb)`` applies the fit to an image of the same dtype.
The channel order is the trap: in this build RGB in gives correctly
corrected RGB out only after an explicit ``setRGB(False)``; without the call
the model behaves as with ``setRGB(True)`` and swaps red and blue. The
independent fit check above catches a wrong order (the error becomes large
and the chart is rejected), and the tests pin the behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.params import ChartParams

__all__ = ["ChartDetection", "find_color_chart", "correct_colors", "reference_patches_rgb",
           "patch_texture_ratio"]

_N_PATCHES = 24
#: Share of each patch (about its centre) whose texture is measured: the
#: rims may hold the gaps between patches.
_PATCH_CORE_SHARE = 0.6


@dataclass(frozen=True, eq=False)
class ChartDetection:
    """A ColorChecker found in the photo.

    Attributes
    ----------
    box_xy_px : ndarray, shape (4, 2), float64
        The chart's outline (x, y), in order around it.
    patches_rgb : ndarray, shape (24, 3), float64
        Measured mean colour of each patch, RGB in [0, 1], in the chart's
        reading order.
    fit_error_de00 : float
        Root-mean-square CIEDE2000 difference between the corrected patches
        and their reference colours.
    usable : bool
        ``fit_error_de00 <= ChartParams.max_fit_error_de00``: the correction
        is applied only then.
    """

    box_xy_px: np.ndarray
    patches_rgb: np.ndarray
    fit_error_de00: float
    usable: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "box_xy_px": [[float(x), float(y)] for x, y in self.box_xy_px],
            "fit_error_de00": float(self.fit_error_de00),
            "applied": self.usable,
        }


def _detector() -> Any:
    detector = cv2.mcc.CCheckerDetector.create()
    detector.setColorChartType(cv2.mcc.MCC24)
    return detector


def reference_patches_rgb() -> np.ndarray:
    """Reference sRGB colours of the 24 patches as OpenCV knows them.

    Returns
    -------
    ndarray, shape (24, 3), uint8
        RGB, in the chart's reading order (row by row from dark skin to black).
    """
    return _detector().getRefColors().reshape(_N_PATCHES, 3)[:, ::-1].astype(np.uint8)


def _check(pixels: np.ndarray) -> None:
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype not in (np.uint8, np.uint16):
        raise ImageArrayError(
            f"expected RGB pixels of shape (H, W, 3), uint8 or uint16, got {pixels.shape} {pixels.dtype}"
        )


def _convex_inside(box_xy: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether the quadrilateral ``box_xy`` (4, 2) is convex and inside an image of ``shape``."""
    convex = bool(cv2.isContourConvex(box_xy.astype(np.float32).reshape(-1, 1, 2)))
    h, w = shape[:2]
    inside = bool((box_xy >= -0.5).all() and (box_xy[:, 0] <= w - 0.5).all()
                  and (box_xy[:, 1] <= h - 0.5).all())
    return convex and inside


def patch_texture_ratio(bgr: np.ndarray, patch_corners_xy: np.ndarray, sigma_px: float) -> float:
    """Median luminance spread within the patches over the spread between them.

    Parameters
    ----------
    bgr : ndarray, shape (H, W, 3), uint8
        The searched image.
    patch_corners_xy : ndarray, shape (24, 4, 2)
        Each patch's corners (x, y) in ``bgr``.
    sigma_px : float
        Gaussian smoothing of the luminance first (0: none), px.

    Returns
    -------
    float
        About 0 for a printed chart; about 1 for a grid of hair and skin
        (``inf`` when the patches do not differ or are too small to measure).
    """
    lum = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    if sigma_px > 0:
        lum = cv2.GaussianBlur(lum, (0, 0), sigma_px)
    # Each patch's core painted with its number (1..24), then its pixels' moments at once.
    labels = np.zeros(lum.shape, np.int32)
    for k, corners in enumerate(patch_corners_xy, start=1):
        centre = corners.mean(axis=0)
        cv2.fillConvexPoly(labels, np.round(centre + _PATCH_CORE_SHARE * (corners - centre))
                           .astype(np.int32), k)
    n = len(patch_corners_xy) + 1
    count = np.bincount(labels.ravel(), minlength=n)[1:]
    total = np.bincount(labels.ravel(), weights=lum.ravel(), minlength=n)[1:]
    squares = np.bincount(labels.ravel(), weights=lum.ravel().astype(np.float64) ** 2,
                          minlength=n)[1:]
    measured = count >= 4
    if measured.sum() < _N_PATCHES // 2:
        return float("inf")
    mean = total[measured] / count[measured]
    within = np.sqrt(np.maximum(squares[measured] / count[measured] - mean**2, 0.0))
    between = float(np.std(mean))
    return float(np.median(within)) / between if between > 0 else float("inf")


def _model(patches_rgb: np.ndarray) -> Any:
    src = np.ascontiguousarray(patches_rgb.reshape(_N_PATCHES, 1, 3), dtype=np.float64)
    model = cv2.ccm.ColorCorrectionModel(src, cv2.ccm.COLORCHECKER_MACBETH)
    model.setRGB(False)  # see the module notes: this is the setting that keeps RGB in, RGB out
    model.compute()
    return model


def _fit_error_de00(model: Any, patches_rgb: np.ndarray) -> float:
    from skimage.color import deltaE_ciede2000, rgb2lab

    measured = patches_rgb.reshape(1, _N_PATCHES, 3).astype(np.float32)
    corrected = np.clip(model.correctImage(measured), 0.0, 1.0)
    reference = reference_patches_rgb().reshape(1, _N_PATCHES, 3) / 255.0
    de = deltaE_ciede2000(rgb2lab(corrected), rgb2lab(reference))
    return float(np.sqrt(np.mean(de**2)))


def find_color_chart(
    pixels: np.ndarray, *, params: ChartParams = ChartParams()
) -> ChartDetection | None:
    """Look for a 24-patch ColorChecker and fit a colour correction to it.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8 or uint16
        RGB photo. Not modified.
    params : ChartParams
        The largest accepted fit error, and the size of the copy searched
        (a large photo is searched on a reduced copy; the outline is given in
        the photo's pixels, the patch colours are those of the copy).

    Returns
    -------
    ChartDetection or None
        ``None`` when no chart is in view (or what was found is not one: see
        the module notes).
    """
    _check(pixels)
    bgr = np.ascontiguousarray(pixels[:, :, ::-1])
    if bgr.dtype == np.uint16:
        bgr = (bgr.astype(np.float32) * (255.0 / 65535.0) + 0.5).astype(np.uint8)
    factor = -(-max(bgr.shape[:2]) // params.detect_max_side_px)
    if factor > 1:
        h, w = bgr.shape[:2]
        bgr = cv2.resize(bgr, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    detector = _detector()
    if not detector.process(bgr, 1):
        return None
    checker = detector.getBestColorChecker()
    box = np.asarray(checker.getBox(), dtype=np.float64).reshape(4, 2)
    corners = np.asarray(checker.getColorCharts(), dtype=np.float64).reshape(_N_PATCHES, 4, 2)
    if not _convex_inside(box, bgr.shape) or patch_texture_ratio(
            bgr, corners, params.patch_texture_sigma_px) > params.max_patch_texture_ratio:
        return None
    patches = np.asarray(checker.getChartsRGB(False), dtype=np.float64).reshape(_N_PATCHES, 3) / 255.0
    if factor > 1:
        # Pixel centres are on integers: reduced pixel x spans photo x s - 0.5 to (x + 1) s - 0.5.
        s = np.array([pixels.shape[1] / bgr.shape[1], pixels.shape[0] / bgr.shape[0]])
        box = (box + 0.5) * s - 0.5
    error = _fit_error_de00(_model(patches), patches)
    return ChartDetection(box, patches, error, error <= params.max_fit_error_de00)


def correct_colors(pixels: np.ndarray, chart: ChartDetection) -> np.ndarray:
    """Apply the chart's colour correction to the whole photo.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8 or uint16
        RGB photo. Not modified.
    chart : ChartDetection
        A chart found in this photo (or in one taken under the same light).

    Returns
    -------
    ndarray, same shape and dtype as ``pixels``
        Corrected RGB, clipped to the dtype's range.
    """
    _check(pixels)
    model = _model(chart.patches_rgb)
    return model.correctImage(np.ascontiguousarray(pixels))
