"""Head frame, zone templates and clinic regions of global views (no rendering)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from scalpmetrics.errors import HeadNotFoundError, RegionError
from scalpmetrics.globalview.clinic import ClinicRegions, clinic_masks, parse_polygon_regions
from scalpmetrics.globalview.geometry import HeadEllipse, fit_head_frame, transform_between
from scalpmetrics.globalview.zones import (
    TEMPLATE_ASPECT,
    VIEWS,
    fit_outline_ellipse,
    rim_mask,
    template_for,
    zone_masks,
)
from scalpmetrics.params import GlobalViewParams

SHAPE = (300, 340)  # non-square: catches row/column swaps
FRAME = HeadEllipse((180.0, 160.0), (100.0, 130.0), 0.0)


def _ellipse_mask(shape, e: HeadEllipse) -> np.ndarray:
    u, v = e.uv_grid(shape)
    return u * u + v * v <= 1.0


def test_normalized_coordinates_round_trip():
    e = HeadEllipse((120.0, 90.0), (60.0, 80.0), 12.0)
    uv = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.3, 0.7]])
    back = e.to_normalized(e.to_pixels(uv))
    assert np.allclose(back, uv)
    assert np.allclose(e.to_pixels([[0.0, 0.0]]), [[120.0, 90.0]])
    assert HeadEllipse.from_dict(e.to_dict()) == e


def test_uv_grid_agrees_with_to_normalized():
    e = HeadEllipse((50.0, 40.0), (30.0, 35.0), -8.0)
    u, v = e.uv_grid((70, 90))
    assert u.shape == (70, 90)
    assert np.allclose([u[10, 60], v[10, 60]], e.to_normalized([[60.0, 10.0]])[0], atol=1e-5)


def test_from_cv_puts_u_along_the_near_horizontal_axis():
    e = HeadEllipse.from_cv(((10.0, 20.0), (40.0, 80.0), 80.0))
    assert e.angle_deg == pytest.approx(-10.0)
    assert e.semi_axes_px == (40.0, 20.0)


def test_scaled_keeps_pixel_centres_aligned():
    e = HeadEllipse((9.5, 19.5), (10.0, 12.0), 0.0)
    half = e.scaled(0.5)
    assert half.center_xy_px == (4.5, 9.5) and half.semi_axes_px == (5.0, 6.0)


def test_transform_between_maps_the_same_head_point():
    a = HeadEllipse((100.0, 80.0), (50.0, 60.0), 5.0)
    b = HeadEllipse((140.0, 70.0), (75.0, 90.0), -3.0)
    m = transform_between(a, b)
    p = a.to_pixels([[0.4, -0.6]])[0]
    q = (m @ [p[0], p[1], 1.0])[:2]
    assert np.allclose(q, b.to_pixels([[0.4, -0.6]])[0])


@pytest.mark.parametrize("view", VIEWS)
def test_frame_fit_recovers_a_head_from_its_upper_outline(view):
    aspect = TEMPLATE_ASPECT[view]
    true = HeadEllipse((171.0, 170.0), (90.0, 90.0 * aspect), 0.0)
    mask = _ellipse_mask((360, 340), true)
    mask[250:] = False  # the lower outline is hidden (neck, shoulders): not used
    mask[250:, 120:220] = True  # a neck
    fit = fit_outline_ellipse(mask, view=view)
    assert fit.center_xy_px == pytest.approx(true.center_xy_px, abs=1.5)
    assert fit.semi_axes_px == pytest.approx(true.semi_axes_px, rel=0.02)


def test_frame_fit_refuses_shapes_that_are_not_heads():
    yy, xx = np.mgrid[0:300, 0:300]
    square = (yy > 40) & (np.abs(xx - 150) < 60)
    with pytest.raises(HeadNotFoundError, match="no head outline"):
        fit_outline_ellipse(square, view="vertex")
    wedge = np.abs(xx - 150) < 1.5 * (yy - 20)  # a pointed top: fits, but badly
    strict = GlobalViewParams(frame_max_misfit_fraction=0.03)
    with pytest.raises(HeadNotFoundError, match="not head-shaped"):
        fit_outline_ellipse(wedge, view="vertex", params=strict)
    assert fit_head_frame(np.zeros((50, 50), bool), aspect=1.3, band_v=(-0.9, -0.3)) is None


@pytest.mark.parametrize("view", VIEWS)
def test_zones_are_disjoint_and_inside_the_rim(view):
    masks = zone_masks(view, FRAME, SHAPE)
    stack = np.stack([m for _, m in masks])
    assert stack.sum(axis=0).max() == 1
    assert not (stack.any(axis=0) & ~rim_mask(FRAME, SHAPE, 0.94)).any()
    assert all(m.sum() > 200 for _, m in masks)
    assert [n for n, _ in masks] == [z.name for z in template_for(view)]


def test_vertex_template_follows_the_head():
    moved = HeadEllipse((140.0, 150.0), (80.0, 104.0), 0.0)
    a = dict(zone_masks("vertex", FRAME, SHAPE))
    b = dict(zone_masks("vertex", moved, SHAPE))
    # the crown zone scales with the head's area
    ratio = b["vertex"].sum() / a["vertex"].sum()
    assert ratio == pytest.approx(0.64, rel=0.05)
    # frontal is above the crown in the vertex view (forehead towards the top)
    assert np.nonzero(a["frontal"])[0].mean() < np.nonzero(a["vertex"])[0].mean()


def test_temporal_template_is_mirrored_for_the_right_side():
    left = dict(zone_masks("temporal", FRAME, SHAPE, side="left"))
    right = dict(zone_masks("temporal", FRAME, SHAPE, side="right"))
    assert "left_temporal" in left and "right_temporal" in right
    assert "occipital" in left and "occipital" in right
    xl = np.nonzero(left["left_temporal"])[1].mean()
    xr = np.nonzero(right["right_temporal"])[1].mean()
    assert xl < FRAME.center_xy_px[0] < xr
    with pytest.raises(RegionError, match="side"):
        template_for("temporal", side="top")
    with pytest.raises(RegionError, match="unknown view"):
        template_for("oblique")


def test_polygon_layouts_parse():
    flat = parse_polygon_regions({"crown": [[0, 0], [10, 0], [10, 10]]})
    assert flat.polygons[0][0] == "crown" and flat.reference_frame is None
    listed = parse_polygon_regions({
        "regions": [{"name": "a", "points": [[0, 0], [5, 0], [5, 5]]}],
        "head_frame": FRAME.to_dict(),
    })
    assert listed.reference_frame == FRAME


@pytest.mark.parametrize("data, fragment", [
    ([1, 2], "JSON object"),
    ({}, "no regions"),
    ({"a": [[0, 0], [1, 1]]}, "at least 3"),
    ({"a": [[0, 0], [1, "x"], [2, 2]]}, "pairs"),
    ({"a": [[0, 0], [1, float("nan")], [2, 2]]}, "finite"),
    ({"regions": [{"name": "a"}]}, "'points'"),
    ({"regions": "a"}, "must be a list"),
    ({"regions": [{"name": "a", "points": [[0, 0], [1, 0], [1, 1]]}], "head_frame": {"x": 1}},
     "head_frame"),
    ({"regions": [{"name": "a", "points": [[0, 0], [1, 0], [1, 1]]},
                  {"name": "a", "points": [[0, 0], [1, 0], [1, 1]]}]}, "unique"),
])
def test_bad_polygon_files_are_refused(data, fragment):
    with pytest.raises(RegionError, match=fragment):
        parse_polygon_regions(data)


def test_label_image_regions_are_named_by_label_and_follow_the_head():
    labels = np.zeros(SHAPE, dtype=np.uint16)
    labels[100:140, 150:210] = 3
    labels[160:200, 150:210] = 7
    regions = ClinicRegions(labels=labels)
    same = clinic_masks(regions, FRAME, SHAPE, photo_frame=FRAME, photo_shape=SHAPE)
    assert [(n, s, lab) for n, s, lab, _ in same] == [("label_3", "label_image", 3),
                                                       ("label_7", "label_image", 7)]
    assert same[0][3].sum() == 40 * 60
    # the same regions on a photo where the head is half the size and elsewhere
    other = HeadEllipse((90.0, 80.0), (50.0, 65.0), 0.0)
    moved = clinic_masks(regions.with_reference(FRAME), other, SHAPE,
                         photo_frame=other, photo_shape=SHAPE)
    m = moved[0][3]
    assert m.sum() == pytest.approx(40 * 60 / 4, rel=0.1)
    ys, xs = np.nonzero(m)
    centre = other.to_normalized([[xs.mean(), ys.mean()]])[0]
    assert np.allclose(centre, FRAME.to_normalized([[179.5, 119.5]])[0], atol=0.02)


def test_label_image_must_match_the_photo():
    with pytest.raises(RegionError, match="must match"):
        clinic_masks(ClinicRegions(labels=np.ones((10, 10), np.uint8)), FRAME, SHAPE,
                     photo_frame=FRAME, photo_shape=SHAPE)
    with pytest.raises(RegionError, match="no non-zero"):
        clinic_masks(ClinicRegions(labels=np.zeros(SHAPE, np.uint8)), FRAME, SHAPE,
                     photo_frame=FRAME, photo_shape=SHAPE)


def test_polygon_regions_rasterize_in_place():
    pts = np.array([[100.0, 100.0], [200.0, 100.0], [200.0, 150.0], [100.0, 150.0]])
    out = clinic_masks(ClinicRegions(polygons=(("box", pts),)), FRAME, SHAPE,
                       photo_frame=FRAME, photo_shape=SHAPE)
    name, source, label, m = out[0]
    assert (name, source, label) == ("box", "polygon", None)
    ref = np.zeros(SHAPE, np.uint8)
    cv2.fillPoly(ref, [pts.astype(np.int32)], 1)
    assert abs(int(m.sum()) - int(ref.sum())) <= 2 * (100 + 50)


def _rendered_head(e: HeadEllipse, shape, sub: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Linear photo of a dark head with a thin band of light skin at its outline on a grey
    backdrop, area-averaged from a finer grid, and its majority-label head mask."""
    h, w = shape
    fine = e.scaled(sub)
    u, v = fine.uv_grid((h * sub, w * sub))
    r = np.sqrt(u * u + v * v)
    img = np.empty((h * sub, w * sub, 3), np.float32)
    img[:] = (0.3, 0.32, 0.35)  # backdrop
    img[r <= 1.0] = (0.5, 0.3, 0.25)  # skin at the outline
    img[r <= 0.97] = (0.05, 0.03, 0.02)  # dark hair
    head = (r <= 1.0).astype(np.float32)
    lin = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    share = cv2.resize(head, (w, h), interpolation=cv2.INTER_AREA)
    return lin, share >= 0.5


def test_subpixel_refit_recovers_the_frame_of_the_exact_outline():
    # The frame found on a half-size copy is off by about a pixel; refitted to the
    # sub-pixel outline it agrees with the frame of the exact (majority-label) outline.
    from scalpmetrics.globalview.head import refine_frame

    shape = (320, 300)
    lin, exact = _rendered_head(HeadEllipse((151.3, 170.6), (100.4, 130.52), 0.0), shape)
    truth = fit_outline_ellipse(exact, view="vertex")
    small = cv2.resize(exact.astype(np.float32), (150, 160), interpolation=cv2.INTER_AREA) >= 0.5
    coarse_small = fit_outline_ellipse(small, view="vertex")
    coarse = coarse_small.scaled(2.0)
    mask = cv2.resize(small.astype(np.uint8), (300, 320), interpolation=cv2.INTER_NEAREST) > 0
    refit = refine_frame(lin, mask, coarse, view="vertex", band_px=4.0)

    def err(e: HeadEllipse) -> float:
        return max(abs(e.center_xy_px[0] - truth.center_xy_px[0]),
                   abs(e.center_xy_px[1] - truth.center_xy_px[1]),
                   abs(e.semi_axes_px[0] - truth.semi_axes_px[0]))

    assert refit != coarse
    assert err(refit) < 0.3
    assert err(refit) < err(coarse)
    # a refit that disagrees with the first frame is not taken
    never = GlobalViewParams(outline_refit_tolerance_fraction=0.0)
    assert refine_frame(lin, mask, coarse, view="vertex", band_px=4.0, params=never) == coarse
