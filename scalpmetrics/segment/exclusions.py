"""Pixels left out of the statistics or the mask: those never hair (graphics,
blank border bands) and those clipped in the photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.params import SegmentParams
from scalpmetrics.segment.shortcuts import _channel_sum


def _blank_border_area(lum: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Perfectly flat areas joined to the image border (a capture device's
    grey band or frame), grown by the window: not scalp, never hair.

    Pixels whose luminance ``lum`` (float32, fraction of full scale, or the
    8-bit levels of a photo) varies by less than ``blank_max_std`` over a
    ``blank_window_px`` window are flat; flat pieces touching the border and
    covering at least ``blank_min_area_fraction`` of the image are kept.
    """
    k = params.blank_window_px
    flat = _flat(lum, k, params.blank_max_std)
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


def _flat(lum: np.ndarray, window_px: int, max_std: float) -> np.ndarray:
    """uint8 mask of the pixels whose luminance has a standard deviation below
    ``max_std`` (fraction of full scale) over a ``window_px`` square.

    On 8-bit levels the smallest standard deviation a window of ``n`` pixels
    can have without being flat is ``sqrt(n - 1) / n`` levels (one pixel one
    level off: 0.196 in a 5 x 5 window), so below that the window's range is
    tested instead: the same pixels, without a float copy.
    """
    k = (window_px, window_px)
    n = window_px * window_px
    if lum.dtype == np.uint8 and max_std * 255.0 < math.sqrt(n - 1) / n:
        kernel = np.ones(k, np.uint8)
        return (cv2.dilate(lum, kernel) == cv2.erode(lum, kernel)).astype(np.uint8)
    lum = lum.astype(np.float32) * np.float32(1.0 / 255.0) if lum.dtype == np.uint8 else lum
    mean = cv2.blur(lum, k)
    var = cv2.blur(lum * lum, k) - mean * mean
    return (var < np.float32(max_std) ** 2).astype(np.uint8)


def _with_rims(lines: np.ndarray) -> np.ndarray:
    """Drawn lines (uint8 or bool) grown by two pixels over their anti-aliased
    rims, which are painted over with them."""
    return cv2.dilate(lines.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)


def _graphic_lines(lum: np.ndarray, contrast_levels: float, params: SegmentParams) -> np.ndarray:
    """Thin dark straight lines along the rows or columns of the photo (scale
    bars, rulers, frames drawn by the capture device; see
    :func:`thin_dark_runs`), with their rims (:func:`_with_rims`)."""
    return _with_rims(thin_dark_runs(lum, contrast_levels, params.graphic_line_min_px))


def _chroma(rgb: np.ndarray) -> np.ndarray:
    """Largest minus smallest channel of each pixel, in ``rgb``'s own depth
    (uint8, uint16 or float32; contiguous)."""
    r, g, b = rgb[:, :, 0], rgb[:, :, 1], rgb[:, :, 2]
    return cv2.subtract(cv2.max(cv2.max(r, g), b), cv2.min(cv2.min(r, g), b))


def _colour_strokes(pixels: np.ndarray, full: float,
                    params: SegmentParams) -> tuple[np.ndarray, np.ndarray]:
    """uint8 mask of thin strokes of a saturated colour (what a device draws
    or writes over the photo), and every pixel's chroma in the photo's depth.

    A pixel is on a stroke when its chroma (largest minus smallest channel,
    in the photo as loaded) is at least ``graphic_colour_min_chroma`` of full
    scale and exceeds the chroma of both pixels ``graphic_colour_side_px``
    away along a row, a column or a diagonal by ``graphic_colour_min_ridge``:
    a ridge of colour with paler pixels on both sides, which a hair's edge
    (the hair's own colour on one side) is not.
    """
    # In the photo's own depth (saturating differences): no float copy.
    chroma = _chroma(np.ascontiguousarray(pixels if pixels.dtype in (np.uint8, np.uint16)
                                          else pixels.astype(np.float32)))
    coloured = chroma >= params.graphic_colour_min_chroma * full
    if not coloured.any():
        return np.zeros(chroma.shape, np.uint8), chroma
    d = params.graphic_colour_side_px
    h, w = chroma.shape
    padded = cv2.copyMakeBorder(chroma, d, d, d, d, cv2.BORDER_REPLICATE)
    ridge = np.zeros(chroma.shape, dtype=bool)
    for dy, dx in ((0, d), (d, 0), (d, d), (d, -d)):
        sides = cv2.max(padded[d + dy:d + dy + h, d + dx:d + dx + w],
                        padded[d - dy:d - dy + h, d - dx:d - dx + w])
        ridge |= cv2.subtract(chroma, sides) >= params.graphic_colour_min_ridge * full
    return (coloured & ridge).astype(np.uint8), chroma


def _colour_lines_and_text(strokes: np.ndarray, chroma: np.ndarray, full: float,
                           params: SegmentParams) -> tuple[np.ndarray, np.ndarray]:
    """The device's coloured lines (measuring circles, radii) and text blocks
    among the ``strokes`` (with the ``chroma`` of full scale ``full``, from
    :func:`_colour_strokes`).

    Strokes less than twice ``graphic_colour_side_px`` apart are one piece (a
    line is broken where it crosses a hair); a piece spanning at least
    ``graphic_line_min_px`` along a row or a column is a line, kept with its
    rims (:func:`_with_rims`; painted over). The other strokes of the purer colours
    of text (chroma at least ``graphic_text_min_chroma``: thin gaps of saturated skin between dark
    hairs are strokes too) less than ``graphic_text_gap_px`` apart are one
    block (the letters and lines of a label); a block holding at least
    ``graphic_line_min_px`` stroke pixels is text, and its bounding box grown
    by ``graphic_text_margin_px`` (which takes in a box drawn behind the
    text) is left out.

    Returns
    -------
    lines, text : ndarray of bool, shape (H, W)
    """
    lines = np.zeros(strokes.shape, dtype=bool)
    text = np.zeros(strokes.shape, dtype=bool)
    if not strokes.any():
        return lines, text
    d = params.graphic_colour_side_px
    _, labels, stats, _ = cv2.connectedComponentsWithStats(
        cv2.dilate(strokes, np.ones((2 * d + 1, 2 * d + 1), np.uint8)), connectivity=8)
    span = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    long = span >= params.graphic_line_min_px
    long[0] = False
    on_line = long[labels] & strokes.astype(bool)
    lines = _with_rims(on_line)
    rest = (strokes.astype(bool) & ~on_line
            & (chroma >= params.graphic_text_min_chroma * full)).astype(np.uint8)
    gap = params.graphic_text_gap_px
    _, labels, stats, _ = cv2.connectedComponentsWithStats(
        cv2.dilate(rest, np.ones((gap, gap), np.uint8)), connectivity=8)
    stroke_px = np.bincount(labels[rest.astype(bool)], minlength=stats.shape[0])
    stroke_px[0] = 0  # the background
    h, w = strokes.shape
    m = params.graphic_text_margin_px
    for k in np.flatnonzero(stroke_px >= params.graphic_line_min_px):
        x, y = stats[k, cv2.CC_STAT_LEFT], stats[k, cv2.CC_STAT_TOP]
        bw, bh = stats[k, cv2.CC_STAT_WIDTH], stats[k, cv2.CC_STAT_HEIGHT]
        text[max(y - m, 0):min(y + bh + m, h), max(x - m, 0):min(x + bw + m, w)] = True
    return lines, text


def thin_dark_runs(lum: np.ndarray, contrast_levels: float, run_px: int) -> np.ndarray:
    """Pixels of thin dark lines running straight along a row or a column.

    A pixel is on a line along a row when it is darker than the pixels two
    rows above and below it by ``contrast_levels`` (in ``lum``'s levels), i.e.
    the line is at most three pixels thick. (Light lines are not looked for:
    the skin between two hairs of a unit is one.) Unbroken runs of such
    pixels at least ``run_px`` long are kept. Columns likewise. A hair would
    have to lie within ``1 / run_px`` radians of a row (a third of a degree at
    200 px) over that length and be no more than three pixels wide to pass.
    Where a line crosses a hair as dark as itself the test fails there, and a
    piece shorter than the run is missed. (Bridging such gaps was tried: on
    unclipped phantoms it joined the crossings of thin hairs along a row into
    lines.)

    Parameters
    ----------
    lum : ndarray, shape (H, W), uint8, uint16 or float32
        Luminance of the photo as loaded.
    contrast_levels : float
        How much darker than both sides, in ``lum``'s levels.
    run_px : int
        Shortest run kept, px.

    Returns
    -------
    ndarray of uint8, shape (H, W)
        1 on the lines.
    """
    lines = np.zeros(lum.shape, np.uint8)
    if min(lum.shape) <= 4:
        return lines
    along = _darker_than_both(lum[2:-2], lum[:-4], lum[4:], contrast_levels)
    lines[2:-2] = _runs_along_rows(along, run_px)
    across = _darker_than_both(lum[:, 2:-2], lum[:, :-4], lum[:, 4:], contrast_levels)
    lines[:, 2:-2] |= _runs_along_rows(np.ascontiguousarray(across.T), run_px).T
    return lines


def _darker_than_both(mid: np.ndarray, before: np.ndarray, after: np.ndarray,
                      step: float) -> np.ndarray:
    """uint8 mask of ``mid < before - step`` and ``mid < after - step``."""
    if np.issubdtype(mid.dtype, np.integer):
        # Saturating differences in the photo's own depth: no float copy.
        darker = (cv2.subtract(before, mid) > step) & (cv2.subtract(after, mid) > step)
    else:
        darker = (mid < before - step) & (mid < after - step)
    return darker.astype(np.uint8)


def _runs_along_rows(mask: np.ndarray, run: int) -> np.ndarray:
    """The pixels of ``mask`` (uint8, 0 or 1) in unbroken runs of at least
    ``run`` along a row: an opening by a one-row kernel, on the rows that
    hold enough pixels for one."""
    kept = np.zeros_like(mask)
    rows = np.flatnonzero(np.count_nonzero(mask, axis=1) >= run)
    if rows.size:
        kept[rows] = cv2.morphologyEx(np.ascontiguousarray(mask[rows]), cv2.MORPH_OPEN,
                                      np.ones((1, run), np.uint8))
    return kept


def _photo_luminance(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """Luminance of the photo as loaded, in its own depth for 8- and 16-bit
    photos (float32 for float photos in [0, 1]), and that depth's full scale."""
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ImageArrayError(f"expected RGB pixels of shape (H, W, 3), got {pixels.shape}")
    if pixels.dtype in (np.uint8, np.uint16):
        full, rgb = float(np.iinfo(pixels.dtype).max), pixels
    else:
        full, rgb = 1.0, pixels.astype(np.float32)
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY), full


@dataclass(frozen=True)
class DeviceGraphics:
    """What a capture device drew on a photo (see :func:`device_graphics`).

    Attributes
    ----------
    blank_band : ndarray of bool, shape (H, W)
        Blank areas at the border (a grey band or frame), grown by
        ``blank_window_px``: not scalp, left out like the photo's edge.
    lines : ndarray of bool, shape (H, W)
        Thin dark straight lines along the rows or columns (scale bars,
        rulers) and thin lines drawn in a saturated colour (measuring
        circles and radii), with their rims: painted over.
    text : ndarray of bool, shape (H, W)
        Boxes round text written in a saturated colour (a measurement's
        label, with the box drawn behind it): left out like the photo's edge.
    """

    blank_band: np.ndarray
    lines: np.ndarray
    text: np.ndarray

    @property
    def left_out(self) -> np.ndarray:
        """The blank band and the text: not scalp, left out like the photo's edge."""
        return self.blank_band | self.text


def device_graphics(pixels: np.ndarray, *, params: SegmentParams = SegmentParams()) -> DeviceGraphics:
    """Find what a capture device drew on a photo: a blank band at its border,
    thin dark straight lines along its rows or columns, and lines and text
    drawn in a saturated colour.

    All are judged on the photo as loaded: the normalisation would make a
    blank band uneven, and the working copy of a fine photo blends a thin
    coloured line into the skin. A blank area covering more than
    ``blank_max_area_fraction`` of the photo is the photo itself (empty or
    flat, which the quality flags report), not a band: none is returned;
    likewise labels covering more than that share (strokes everywhere).
    See :func:`_blank_border_area`, :func:`thin_dark_runs` and
    :func:`_colour_lines_and_text` for the rules.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8, uint16 or float in [0, 1]
        The photo as loaded.
    params : SegmentParams
        Uses the ``blank_*``, ``graphic_line_*``, ``graphic_colour_*`` and
        ``graphic_text_*`` parameters.

    Returns
    -------
    DeviceGraphics

    Examples
    --------
    >>> px = np.random.default_rng(0).integers(90, 150, (60, 260, 3)).astype(np.uint8)
    >>> px[50:] = 220  # a flat grey band along the bottom
    >>> px[20, 10:250] = 10  # a one-pixel dark line, 240 px long
    >>> found = device_graphics(px)
    >>> bool(found.blank_band[55, 40]), bool(found.blank_band[20, 40])
    (True, False)
    >>> bool(found.lines[20, 80]), bool(found.lines[5, 80])
    (True, False)
    """
    lum, full = _photo_luminance(pixels)
    band = _blank_border_area(lum if lum.dtype == np.uint8 else lum.astype(np.float32) / np.float32(full),
                              params)
    if np.count_nonzero(band) > params.blank_max_area_fraction * band.size:
        band = np.zeros(band.shape, dtype=bool)
    strokes, chroma = _colour_strokes(pixels, full, params)
    colour_lines, text = _colour_lines_and_text(strokes, chroma, full, params)
    if np.count_nonzero(text) > params.blank_max_area_fraction * text.size:
        text = np.zeros(text.shape, dtype=bool)  # strokes everywhere: a colourful photo, not a label
    lines = _graphic_lines(lum, params.graphic_line_contrast * full, params) | colour_lines
    return DeviceGraphics(band, lines, text)


def paint_over_lines(pixels: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """A copy of ``pixels`` with the ``lines`` inpainted from the pixels around
    them (OpenCV's Telea method, radius 3 px): skin continues as skin and a
    hair crossing a line stays one hair.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), uint8, uint16 or float
        The photo. Not modified.
    lines : ndarray of bool, shape (H, W)
        Pixels to paint over (:attr:`DeviceGraphics.lines`).

    Returns
    -------
    ndarray, same shape and dtype as ``pixels``
    """
    if not lines.any():
        return pixels.copy()
    mask = lines.astype(np.uint8)
    if pixels.dtype == np.uint8:
        return cv2.inpaint(np.ascontiguousarray(pixels), mask, 3, cv2.INPAINT_TELEA)
    # Other depths are inpainted one channel at a time (OpenCV's limit).
    depth = np.uint16 if pixels.dtype == np.uint16 else np.float32
    channels = [cv2.inpaint(np.ascontiguousarray(pixels[:, :, k], dtype=depth), mask, 3,
                            cv2.INPAINT_TELEA) for k in range(3)]
    return np.stack(channels, axis=2).astype(pixels.dtype)


def _never_hair(image: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Pixels that are never hair: saturated colours no hair has (graphics
    burnt into the photo: text, rulers, drawn circles) with their
    anti-aliased rims, and blank areas at the border (:func:`_blank_border_area`)."""
    chroma = _chroma(np.ascontiguousarray(image, dtype=np.float32))
    graphic = cv2.dilate((chroma > params.max_hair_chroma).astype(np.uint8),
                         np.ones((3, 3), np.uint8)).astype(bool)
    return graphic | _blank_border_area(_channel_sum(image) / np.float32(3.0), params)


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
