"""Scale from a square marker in view, seen frontally and tilted, with exact truth."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from scalpmetrics.analysis import analyze
from scalpmetrics.errors import CalibrationError, ParameterError
from scalpmetrics.io import photo_from_array
from scalpmetrics.marker import (
    MarkerSpec,
    fill_excluded,
    find_marker,
    local_scale,
    parse_marker_spec,
    quad_mask,
)
from scalpmetrics.params import Params
from scalpmetrics.regions import guarded_area
from scalpmetrics.report import to_json
from scalpmetrics.synthetic import make_phantom
from scalpmetrics_cli.main import main

TEX_PX_PER_MM = 40.0  # the scalp texture (a phantom) as drawn on the skin
OUT_PX_PER_MM = 25.0  # frontal scale of the rendered photo at the plane's centre
CAMERA_DISTANCE_MM = 150.0
OUT_W, OUT_H = 560, 440  # non-square
SUPERSAMPLE = 3


def camera_homography(tilt_deg: float, *, axis_deg: float = 30.0, spin_deg: float = 20.0) -> np.ndarray:
    """Pinhole camera looking at the scalp plane tilted by ``tilt_deg``.

    Maps plane mm (origin at the texture's centre) to output px. The plane is
    first spun in itself by ``spin_deg`` (so the marker is not axis-aligned), then
    tilted about an in-plane axis at ``axis_deg``.
    """
    f = OUT_PX_PER_MM * CAMERA_DISTANCE_MM
    k = np.array([[f, 0, OUT_W / 2], [0, f, OUT_H / 2], [0, 0, 1.0]])
    a, t, s = map(math.radians, (axis_deg, tilt_deg, spin_deg))
    u = np.array([math.cos(a), math.sin(a), 0.0])
    ux = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    tilt = np.eye(3) + math.sin(t) * ux + (1 - math.cos(t)) * ux @ ux
    spin = np.array([[math.cos(s), -math.sin(s), 0], [math.sin(s), math.cos(s), 0], [0, 0, 1]])
    r = tilt @ spin
    return k @ np.column_stack([r[:, 0], r[:, 1], [0.0, 0.0, CAMERA_DISTANCE_MM]])


def render(tilt_deg: float, *, dictionary: str = "DICT_4X4_50", marker_id: int = 7,
           side_mm: float = 4.0, centre_mm: tuple[float, float] = (-4.5, -3.0),
           others: tuple[int, ...] = (), seed: int = 3):
    """A phantom scalp with a printed marker (white quiet zone), photographed tilted.

    Returns the RGB photo, the homography plane mm -> px, and the marker centre (mm).
    """
    tex = make_phantom(seed=seed, width_px=960, height_px=800, px_per_mm=TEX_PX_PER_MM,
                       illumination_gradient=0.0, jpeg_quality=None).image.copy()
    th, tw = tex.shape[:2]
    dic = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary))

    def paste(mid: int, centre: tuple[float, float]) -> None:
        side_px = int(round(side_mm * TEX_PX_PER_MM))
        quiet = side_px // 5
        x0 = int(round(centre[0] * TEX_PX_PER_MM + tw / 2 - side_px / 2))
        y0 = int(round(centre[1] * TEX_PX_PER_MM + th / 2 - side_px / 2))
        tex[y0 - quiet:y0 + side_px + quiet, x0 - quiet:x0 + side_px + quiet] = 250
        tex[y0:y0 + side_px, x0:x0 + side_px] = cv2.aruco.generateImageMarker(dic, mid, side_px)[:, :, None]

    paste(marker_id, centre_mm)
    for i, mid in enumerate(others):
        paste(mid, (4.0 + 0.0 * i, 3.0))
    # texture px (pixel centres on integers) -> plane mm
    to_mm = np.array([[1 / TEX_PX_PER_MM, 0, -tw / 2 / TEX_PX_PER_MM + 0.5 / TEX_PX_PER_MM],
                      [0, 1 / TEX_PX_PER_MM, -th / 2 / TEX_PX_PER_MM + 0.5 / TEX_PX_PER_MM],
                      [0, 0, 1]])
    up = np.array([[SUPERSAMPLE, 0, (SUPERSAMPLE - 1) / 2], [0, SUPERSAMPLE, (SUPERSAMPLE - 1) / 2],
                   [0, 0, 1.0]])
    h = camera_homography(tilt_deg)
    big = cv2.warpPerspective(tex, up @ h @ to_mm, (OUT_W * SUPERSAMPLE, OUT_H * SUPERSAMPLE),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    photo = cv2.resize(big, (OUT_W, OUT_H), interpolation=cv2.INTER_AREA)
    # the pasted marker's exact centre in mm (its pixel grid is whole texture px)
    side_px = int(round(side_mm * TEX_PX_PER_MM))
    x0 = int(round(centre_mm[0] * TEX_PX_PER_MM + tw / 2 - side_px / 2))
    y0 = int(round(centre_mm[1] * TEX_PX_PER_MM + th / 2 - side_px / 2))
    centre = ((x0 + side_px / 2) / TEX_PX_PER_MM - tw / 2 / TEX_PX_PER_MM,
              (y0 + side_px / 2) / TEX_PX_PER_MM - th / 2 / TEX_PX_PER_MM)
    return photo, h, centre


# ----------------------------------------------------------------------------- spec


def test_parse_marker_spec():
    assert parse_marker_spec("DICT_4X4_50:7:5.0") == MarkerSpec("DICT_4X4_50", 7, 5.0)
    assert parse_marker_spec(" dict_apriltag_36h11:3:4 ") == MarkerSpec("DICT_APRILTAG_36H11", 3, 4.0)
    assert parse_marker_spec("DICT_4X4_50:7:5").text == "DICT_4X4_50:7:5"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("DICT_4X4_50:7", "DICT:ID:SIDE_MM"),
        ("DICT_NOPE:1:5", "unknown marker dictionary"),
        ("DICT_4X4_50:50:5", "outside DICT_4X4_50"),
        ("DICT_4X4_50:-1:5", "outside"),
        ("DICT_4X4_50:x:5", "whole number"),
        ("DICT_4X4_50:1:0", "positive"),
        ("DICT_4X4_50:1:nan", "positive"),
    ],
)
def test_parse_marker_spec_errors(text, fragment):
    with pytest.raises(ParameterError, match=fragment):
        parse_marker_spec(text)


# ----------------------------------------------------------------------------- geometry


def test_local_scale_of_a_known_homography():
    # 20 px/mm across, 10 px/mm down: area scale sqrt(200), anisotropy 0.5
    scale, aniso = local_scale(np.diag([20.0, 10.0, 1.0]), (3.0, 4.0))
    assert scale == pytest.approx(math.sqrt(200.0)) and aniso == pytest.approx(0.5)
    # a pure perspective term changes the scale with position, exactly as the formula says
    h = np.array([[10.0, 0, 0], [0, 10.0, 0], [0.01, 0, 1.0]])
    scale, _ = local_scale(h, (5.0, 0.0))
    assert scale == pytest.approx(10.0 / 1.05**1.5)


@pytest.mark.parametrize("tilt_deg", [0.0, 15.0, 30.0])
def test_marker_scale_within_one_percent_of_truth(tilt_deg):
    photo, h, centre = render(tilt_deg)
    truth, truth_aniso = local_scale(h, centre)
    search = find_marker(photo, spec=parse_marker_spec("DICT_4X4_50:7:4"))
    assert search.found and search.ids_seen == (7,)
    d = search.detection
    assert d.px_per_mm == pytest.approx(truth, rel=0.01)
    assert d.anisotropy == pytest.approx(truth_aniso, abs=0.02)
    assert d.tilt_deg == pytest.approx(tilt_deg, abs=4.0)


def test_tilt_biases_the_naive_side_length_but_not_the_homography():
    photo, h, centre = render(30.0)
    truth, _ = local_scale(h, centre)
    d = find_marker(photo, spec=parse_marker_spec("DICT_4X4_50:7:4")).detection
    c = d.corners_xy_px
    naive = np.mean(np.linalg.norm(c - np.roll(c, -1, axis=0), axis=1)) / 4.0
    assert abs(d.px_per_mm / truth - 1) < 0.005
    assert abs(naive / truth - 1) > abs(d.px_per_mm / truth - 1)


def test_apriltag():
    photo, h, centre = render(20.0, dictionary="DICT_APRILTAG_36h11", marker_id=3)
    d = find_marker(photo, spec=parse_marker_spec("DICT_APRILTAG_36h11:3:4")).detection
    assert d is not None and d.px_per_mm == pytest.approx(local_scale(h, centre)[0], rel=0.01)


def test_only_the_expected_id_is_accepted():
    photo, _, _ = render(10.0, marker_id=5)
    search = find_marker(photo, spec=parse_marker_spec("DICT_4X4_50:7:4"))
    assert not search.found and search.ids_seen == (5,)
    assert "not found" in search.summary and "5" in search.summary


def test_the_expected_marker_is_chosen_among_others():
    photo, h, centre = render(15.0, marker_id=7, others=(9,))
    search = find_marker(photo, spec=parse_marker_spec("DICT_4X4_50:7:4"))
    assert search.ids_seen == (7, 9)
    assert search.detection.px_per_mm == pytest.approx(local_scale(h, centre)[0], rel=0.01)


def test_no_marker():
    photo = make_phantom(seed=1, width_px=320, height_px=240, px_per_mm=40.0).image
    search = find_marker(photo, spec=parse_marker_spec("DICT_4X4_50:7:4"))
    assert not search.found and search.ids_seen == ()


def test_sixteen_bit_photo():
    photo, h, centre = render(0.0)
    d = find_marker(photo.astype(np.uint16) * 257, spec=parse_marker_spec("DICT_4X4_50:7:4")).detection
    assert d.px_per_mm == pytest.approx(local_scale(h, centre)[0], rel=0.01)


def test_quad_mask_grows_in_the_quad_plane():
    square = np.array([[100, 100], [200, 100], [200, 200], [100, 200]], float)
    assert quad_mask((300, 320), square, grow_fraction=0.0).sum() == pytest.approx(100 * 100, rel=0.03)
    grown = quad_mask((300, 320), square, grow_fraction=0.25)
    assert grown.sum() == pytest.approx(150 * 150, rel=0.03)
    assert grown[80, 80] and not grown[70, 70]


def test_fill_excluded_paints_the_surrounding_colour_and_copies():
    img = np.zeros((60, 80, 3), np.uint8)
    img[:] = (200, 150, 120)
    img[20:40, 30:50] = 0
    excluded = np.zeros((60, 80), bool)
    excluded[18:42, 28:52] = True
    out = fill_excluded(img, excluded)
    assert np.all(out[excluded] == (200, 150, 120))
    assert img[30, 40, 0] == 0  # input untouched


# ----------------------------------------------------------------------------- analysis


@pytest.fixture(scope="module")
def tilted_photo():
    return render(25.0)


def test_analysis_calibrates_on_the_marker_and_leaves_it_out(tilted_photo):
    photo, h, centre = tilted_photo
    result = analyze(photo_from_array(photo), marker="DICT_4X4_50:7:4")
    assert result.calibration.source == "marker"
    assert result.calibration.px_per_mm == pytest.approx(local_scale(h, centre)[0], rel=0.01)
    record = result.to_dict()
    assert record["calibration"]["source"] == "marker"
    assert record["provenance"]["calibration_source"] == "marker"
    assert record["provenance"]["marker"]["found"] is True
    excluded = quad_mask(photo.shape, result.provenance["marker"]["detection"]["corners_xy_px"],
                         grow_fraction=Params().marker.exclusion_margin_fraction)
    measured = guarded_area(photo.shape, result.calibration.px_per_mm) & ~excluded
    assert result.whole.area_px == measured.sum()
    assert not result.hair_mask[excluded].any()
    side_px = 4.0 * result.calibration.px_per_mm
    assert excluded.sum() > (1.5 * side_px) ** 2 * 0.8  # quad + margin
    assert "marker_not_found" not in [f.name for f in result.flags]


def test_argument_wins_over_the_marker_which_is_still_left_out(tilted_photo):
    photo, _, _ = tilted_photo
    result = analyze(photo_from_array(photo), px_per_mm=30.0, marker="DICT_4X4_50:7:4")
    assert result.calibration.source == "argument"
    assert result.whole.area_px < photo.shape[0] * photo.shape[1]


def test_wrong_id_flags_and_errors(tilted_photo, analysis_schema):
    import jsonschema

    photo, _, _ = tilted_photo
    with pytest.raises(CalibrationError, match="DICT_4X4_50:8:4 not found .*in view: 7"):
        analyze(photo_from_array(photo), marker="DICT_4X4_50:8:4")
    result = analyze(photo_from_array(photo), px_per_mm=30.0, marker="DICT_4X4_50:8:4")
    jsonschema.validate(json.loads(to_json(result.to_dict())), analysis_schema)
    assert "marker_not_found" in [f.name for f in result.flags]
    assert result.whole.area_px == guarded_area(photo.shape, 30.0).sum()


def test_cli_marker(tmp_path, tilted_photo, analysis_schema):
    import jsonschema

    photo, h, centre = tilted_photo
    path = tmp_path / "marker.png"
    cv2.imwrite(str(path), photo[:, :, ::-1])
    runner = CliRunner()
    ok = runner.invoke(main, ["analyze", str(path), "--marker", "DICT_4X4_50:7:4", "--json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    jsonschema.validate(data, analysis_schema)  # provenance.marker with its detection
    assert data["calibration"]["source"] == "marker"
    assert data["calibration"]["px_per_mm"] == pytest.approx(local_scale(h, centre)[0], rel=0.01)
    missing = runner.invoke(main, ["analyze", str(path), "--marker", "DICT_4X4_50:8:4", "--json"])
    assert missing.exit_code == 1
    assert missing.stdout == ""
    assert len(missing.stderr.strip().splitlines()) == 1 and "not found" in missing.stderr
    bad = runner.invoke(main, ["analyze", str(path), "--marker", "DICT_4X4_50:8"])
    assert bad.exit_code == 2
