"""Tests of shaft tracing, counting and per-hair measurement."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from skimage.morphology import skeletonize

from scalpmetrics.errors import ImageArrayError
from scalpmetrics.normalize import normalize_photo
from scalpmetrics.params import TraceParams
from scalpmetrics.segment import segment_hair_fraction
from scalpmetrics.synthetic import make_phantom
from scalpmetrics.trace import trace_hairs
from scalpmetrics.trace.chains import _Chain
from scalpmetrics.trace.ends import _emergence
from scalpmetrics.trace.primitives import _arc_lengths
from scalpmetrics.trace.skeleton import _thin
from scalpmetrics.trace.widths import _profile_widths

PPM = 100.0


def _image(mask: np.ndarray) -> np.ndarray:
    """A normalised photo of dark hair on the mask over grey skin."""
    image = np.where(mask[..., None], np.float32(0.1), np.float32(0.7))
    return np.repeat(image, 3, axis=2).astype(np.float32)


def _bands(bands: list[tuple[int, int, int, int]], shape: tuple[int, int] = (200, 260)
           ) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal shafts (row, col0, col1, width px) of exact width, each
    leaving the skin at its left end through a darker opening."""
    mask = np.zeros(shape, bool)
    for row, c0, c1, w in bands:
        mask[row - w // 2:row - w // 2 + w, c0:c1] = True
    image = _image(mask)
    for row, c0, _, w in bands:
        cv2.circle(image, (c0 - 4, row), max(3, w // 2), (0.45, 0.45, 0.45), -1)
    image[mask] = 0.1
    return mask, image


def _lines(lines: list[tuple[tuple[int, int], tuple[int, int], int]],
           shape: tuple[int, int] = (200, 260)) -> tuple[np.ndarray, np.ndarray]:
    """Straight shafts ((x0, y0), (x1, y1), cv2 thickness)."""
    mask = np.zeros(shape, np.uint8)
    for p0, p1, t in lines:
        cv2.line(mask, p0, p1, 1, t)
    return mask.astype(bool), _image(mask.astype(bool))


def _phantom_hairs(trace_params: TraceParams = TraceParams(), **kw):  # type: ignore[no-untyped-def]
    ph = make_phantom(width_px=400, height_px=302, px_per_mm=80.0, **kw)
    ppm = ph.truth.px_per_mm
    img = normalize_photo(ph.image, px_per_mm=ppm)
    seg = segment_hair_fraction(img, px_per_mm=ppm)
    return ph, trace_hairs(seg.mask, img, px_per_mm=ppm, fraction=seg.fraction, params=trace_params)


def test_single_straight_shaft_length_and_width():
    mask, img = _bands([(100, 40, 200, 9)])
    hairs = trace_hairs(mask, img, px_per_mm=PPM)
    assert len(hairs) == 1
    h = hairs[0]
    assert h.width_px == pytest.approx(9.0, abs=0.5)
    assert h.width_um == pytest.approx(90.0, abs=5.0) and h.is_terminal
    assert h.length_px == pytest.approx(160.0, abs=6.0)


@pytest.mark.parametrize("wide_px", [9, 11, 13, 15])
def test_a_thin_sloping_shaft_has_its_width_whatever_the_widest_shaft(wide_px):
    # A 2 px shaft whose thinned centreline steps down a row every 20 px,
    # beside a shaft whose width sets how far every profile reaches.
    mask = np.zeros((200, 260), bool)
    for col in range(30, 230):
        row = 150 + (col - 30) // 20
        mask[row:row + 2, col] = True
    mask[60 - wide_px // 2:60 - wide_px // 2 + wide_px, 40:200] = True
    hairs = trace_hairs(mask, _image(mask), px_per_mm=PPM)
    thin = [h for h in hairs if h.emergence_xy_px[1] > 100]
    assert len(thin) == 1
    assert thin[0].width_px == pytest.approx(2.0, abs=0.3)
    assert thin[0].counted


def test_crossing_shafts_are_split_not_merged():
    single_mask, single_img = _lines([((30, 30), (230, 170), 5)])
    (single,) = trace_hairs(single_mask, single_img, px_per_mm=PPM)
    mask, img = _lines([((30, 30), (230, 170), 5), ((30, 170), (230, 30), 5)])
    hairs = trace_hairs(mask, img, px_per_mm=PPM)
    assert len(hairs) == 2
    for h in hairs:
        assert h.width_px == pytest.approx(single.width_px, abs=0.75)
        assert h.length_px > 0.9 * single.length_px


def test_vellus_cutoff_is_a_parameter():
    mask, img = _bands([(60, 30, 200, 3), (140, 30, 200, 8)])
    hairs = sorted(trace_hairs(mask, img, px_per_mm=PPM), key=lambda h: h.emergence_xy_px[1])
    assert [h.is_terminal for h in hairs] == [False, True]
    assert hairs[0].width_um == pytest.approx(30.0, abs=5.0)
    thin = TraceParams(vellus_cutoff_um=20.0)
    hairs = trace_hairs(mask, img, px_per_mm=PPM, params=thin)
    assert all(h.is_terminal for h in hairs)


def test_hairs_side_by_side_are_split_by_width_when_asked():
    # Six single shafts 8 px wide and one shaft of two hairs side by side (16 px).
    bands = [(15 + 25 * k, 30, 200, 8) for k in range(6)] + [(175, 30, 200, 16)]
    mask, img = _bands(bands, shape=(200, 230))
    plain = trace_hairs(mask, img, px_per_mm=PPM)
    split = trace_hairs(mask, img, px_per_mm=PPM, params=TraceParams(side_by_side_ratio=1.6))
    assert len(plain) == 7 and len(split) == 8
    wide = [h for h in split if h.emergence_xy_px[1] > 160]
    assert len(wide) == 2 and all(h.width_px == pytest.approx(8.0, abs=0.75) for h in wide)
    assert wide[0].unit_id == wide[1].unit_id


def _fan(n: int, spread_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """``n`` shafts 7 px wide leaving one opening at (60, 100), ``spread_deg`` apart."""
    mask = np.zeros((200, 260), np.uint8)
    for i in range(n):
        a = np.radians((i - (n - 1) / 2) * spread_deg)
        cv2.line(mask, (60, 100), (int(60 + 100 * np.cos(a)), int(100 + 100 * np.sin(a))), 1, 7)
    image = _image(mask.astype(bool))
    cv2.circle(image, (55, 100), 5, (0.45, 0.45, 0.45), -1)
    image[mask.astype(bool)] = 0.1
    return mask.astype(bool), image


@pytest.mark.parametrize("n, spread_deg", [(3, 8.0), (4, 10.0), (3, 15.0)])
def test_hairs_forking_from_one_opening_all_count_there(n, spread_deg):
    mask, img = _fan(n, spread_deg)
    counted = [h for h in trace_hairs(mask, img, px_per_mm=PPM) if h.counted]
    assert len(counted) == n
    for h in counted:  # they share the opening, so one follicular unit
        assert np.hypot(h.emergence_xy_px[0] - 60, h.emergence_xy_px[1] - 100) <= 6
    assert len({h.unit_id for h in counted}) == 1


def test_a_short_branch_parting_from_a_hair_is_as_long_as_its_trunk_and_branch():
    # Two hairs leave one opening at (60, 100) merged; one parts at about
    # x = 114 and ends 30 px further on. Its own branch is shorter than the
    # counting minimum (400 um = 40 px), its visible hair is not.
    mask = np.zeros((200, 260), np.uint8)
    cv2.line(mask, (60, 100), (220, 100), 1, 7)
    bend = np.radians(25.0)
    cv2.line(mask, (110, 100), (int(110 + 30 * np.cos(bend)), int(100 + 30 * np.sin(bend))), 1, 7)
    mask = mask.astype(bool)
    img = _image(mask)
    cv2.circle(img, (55, 100), 5, (0.45, 0.45, 0.45), -1)
    img[mask] = 0.1
    hairs = trace_hairs(mask, img, px_per_mm=PPM, params=TraceParams(min_shaft_length_um=400.0))
    assert len(hairs) == 2 and all(h.counted for h in hairs)
    branch = min(hairs, key=lambda h: h.length_px)
    assert branch.emergence_xy_px == pytest.approx((60.0, 100.0), abs=2.0)
    # From the opening to its tip (137, 112), along the trunk and the branch.
    assert branch.length_px == pytest.approx(54.0 + 30.0, abs=5.0)


def test_hair_emerging_against_a_neighbour_counts_at_the_junction():
    # A shaft leaves the skin right beside another one lying over its opening:
    # the mask joins them in a T, the short shaft ending in a free cut tip.
    mask, img = _lines([((40, 120), (220, 120), 7), ((130, 120), (150, 40), 7)])
    cv2.circle(img, (35, 120), 5, (0.45, 0.45, 0.45), -1)
    img[mask] = 0.1
    counted = [h for h in trace_hairs(mask, img, px_per_mm=PPM) if h.counted]
    assert len(counted) == 2
    short = min(counted, key=lambda h: h.length_px)
    assert np.hypot(short.emergence_xy_px[0] - 131, short.emergence_xy_px[1] - 117) <= 6


def _arm(start_rc: tuple[float, float], end_rc: tuple[float, float]) -> _Chain:
    """A straight shaft from a V apex (its end 0, a corner) to the image's top edge."""
    rc = np.linspace(start_rc, end_rc, 60)
    return _Chain(rc=rc, end_kinds=["corner", "free"], width_hint_px=5.0,
                  node_ends=np.zeros(len(rc), bool), end_nodes=[-1, -1], passes=[])


@pytest.mark.parametrize(("apex_cue", "counted"), [(0.5, True), (0.05, False)])
def test_v_apex_counts_where_its_opening_is_seen(apex_cue, counted):
    # Two hairs leave one opening in a sharp V and run out of the image: their
    # only evidence is the apex, which counts when the skin beyond it is darker.
    arms = [_arm((150.0, 130.0), (2.0, 60.0)), _arm((150.0, 130.0), (2.0, 200.0))]
    cues = np.array([[apex_cue, 0.0], [apex_cue, 0.0]])
    arcs = _arc_lengths([a.rc for a in arms])
    decisions = _emergence(arms, arcs, cues, (200, 260), 10.0, TraceParams())
    assert [e for e, _, _ in decisions] == [0, 0]
    assert [c for _, c, _ in decisions] == [counted, counted]


def test_width_leaves_out_profiles_across_a_neighbour_alongside():
    # A shaft 5, 7 or 9 px wide in turn (mean 7) along row 100, with a
    # neighbour touching it along 40 % of its length: the profiles there
    # read the pair, and the plain median would be pulled up to 9.
    frac = np.zeros((200, 260), np.float32)
    for c0 in range(20, 240, 10):
        w = (5, 7, 9)[(c0 // 10) % 3]
        frac[100 - w // 2:100 - w // 2 + w, c0:c0 + 10] = 1.0
    frac[103:110, 20:110] = 1.0
    rc = np.stack([np.full(221, 100.0), np.arange(20, 241, dtype=float)], axis=1)
    chain = _Chain(rc=rc, end_kinds=["free", "free"], width_hint_px=7.0,
                   node_ends=np.zeros(len(rc), bool), end_nodes=[-1, -1], passes=[])
    arcs = _arc_lengths([rc])
    widths = {r: _profile_widths([chain], arcs, frac, frac.shape,
                                 TraceParams(width_outlier_ratio=r))[0][0]
              for r in (0.0, 1.3)}
    assert widths[0.0] == pytest.approx(9.0, abs=0.5)
    assert widths[1.3] == pytest.approx(7.0, abs=0.5)


def test_uncalibrated_has_no_micrometres():
    mask, img = _bands([(100, 40, 200, 9)])
    (h,) = trace_hairs(mask, img, px_per_mm=None)
    assert h.width_um is None and h.is_terminal is None and h.width_px > 0


@pytest.mark.parametrize("across_deg, counted", [(90.0, False), (60.0, False), (15.0, True)])
def test_a_shaft_lying_across_the_hair_stream_is_a_loose_hair(across_deg, counted):
    # Eight parallel shafts make the stream; a ninth, apart from them and with
    # two free ends, lies ``across_deg`` away from it.
    a = np.radians(across_deg)
    dx, dy = int(round(30 * np.sin(a))), int(round(30 * np.cos(a)))
    stream = [((x, 20), (x, 80), 7) for x in range(20, 200, 25)]
    mask, img = _lines(stream + [((130 - dx, 150 - dy), (130 + dx, 150 + dy), 7)])
    hairs = [h for h in trace_hairs(mask, img, px_per_mm=PPM) if h.counted]
    odd = [h for h in hairs if h.emergence_xy_px[1] > 100 or h.tip_xy_px[1] > 100]
    assert len(hairs) - len(odd) == 8
    assert len(odd) == int(counted)


def test_a_piece_ending_on_a_hair_across_the_stream_is_not_counted():
    # A loose fragment lying across the stream that ends on a hair of it (a T)
    # is a piece of a loose hair; the hair it touches still counts.
    stream = [((x, 20), (x, 80), 7) for x in range(20, 200, 25)]
    mask, img = _lines(stream + [((130, 120), (130, 190), 7), ((60, 150), (127, 150), 7)])
    hairs = [h for h in trace_hairs(mask, img, px_per_mm=PPM) if h.counted]
    low = [h for h in hairs if h.emergence_xy_px[1] > 100 or h.tip_xy_px[1] > 100]
    assert len(hairs) - len(low) == 8
    assert len(low) == 1
    assert abs(low[0].emergence_xy_px[0] - low[0].tip_xy_px[0]) < 10  # the vertical hair


def test_loose_hairs_across_the_stream_of_a_phantom_are_not_counted():
    # Loose cut fragments lie at any angle; those across the hair stream are dropped,
    # and the rule drops no hair of a photo without loose ones.
    never = TraceParams(loose_min_angle_deg=90.0)
    for loose, fewer in ((12, True), (0, False)):
        _, hairs = _phantom_hairs(seed=21, loose_hairs=loose, clipped=True)
        _, without_rule = _phantom_hairs(seed=21, loose_hairs=loose, clipped=True,
                                         trace_params=never)
        n, n_without = sum(h.counted for h in hairs), sum(h.counted for h in without_rule)
        assert (n < n_without) if fewer else (n == n_without)


@pytest.mark.parametrize("kw", [
    dict(seed=22, skin_type=2, hair_colour="black"),
    dict(seed=25, skin_type=4, hair_colour="dark_brown"),
])
def test_clipped_phantom_count_and_width(kw):
    ph, hairs = _phantom_hairs(**kw)
    counted = [h for h in hairs if h.counted]
    truth = ph.truth
    assert abs(len(counted) - truth.hair_count) <= 0.3 * truth.hair_count
    width = np.mean([h.width_um for h in counted])
    assert abs(width - truth.mean_shaft_width_um) <= 25.0


def test_follicular_units_group_nearby_emergence_points():
    ph, hairs = _phantom_hairs(seed=24, unit_size_probs=(0.0, 0.0, 1.0))
    counted = [h for h in hairs if h.counted]
    units = {h.unit_id for h in counted}
    assert all(h.unit_id >= 0 for h in counted)
    assert len(counted) / len(units) > 1.5


def test_inputs_untouched_deterministic_and_empty():
    mask, img = _lines([((30, 30), (230, 170), 7), ((30, 170), (230, 30), 7)])
    before = mask.copy()
    a = trace_hairs(mask, img, px_per_mm=PPM)
    b = trace_hairs(mask, img, px_per_mm=PPM)
    assert a == b
    np.testing.assert_array_equal(mask, before)
    assert trace_hairs(np.zeros_like(mask), img, px_per_mm=PPM) == ()


def test_bad_shapes_are_refused():
    mask, img = _bands([(100, 40, 200, 9)])
    with pytest.raises(ImageArrayError):
        trace_hairs(mask[:-1], img, px_per_mm=PPM)
    with pytest.raises(ImageArrayError):
        trace_hairs(mask, img, px_per_mm=PPM, fraction=np.zeros((3, 3), np.float32))


@pytest.mark.parametrize("seed", [0, 1])
def test_thinning_in_halves_gives_the_whole_masks_skeleton(seed):
    rng = np.random.default_rng(seed)
    mask = np.zeros((480, 360), np.uint8)
    for _ in range(40):  # crossing shafts 2-15 px wide, many across the middle rows
        (x0, x1), (y0, y1) = rng.integers(0, 360, 2), rng.integers(0, 480, 2)
        cv2.line(mask, (int(x0), int(y0)), (int(x1), int(y1)), 1, int(rng.integers(2, 16)))
    mask = mask.astype(bool)
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    with ThreadPoolExecutor(max_workers=1) as pool:
        halves = _thin(mask, dist, pool)
    assert mask.shape[0] // 2 > 2 * (4 * int(np.ceil(dist.max())) + 16)  # split, not whole
    np.testing.assert_array_equal(halves, skeletonize(mask))
