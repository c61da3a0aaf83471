"""Treatment courses and repeat captures: visits of one scalp patch with true changes.

Follow-up poses and lighting, the hair changes between visits, the common
area every visit shows, and the true changes over it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import cv2
import numpy as np

from scalpmetrics.synthetic.camera import _apply_h, _field_corners, _inside_field, pose_homography
from scalpmetrics.synthetic.render import _render
from scalpmetrics.synthetic.scalp import _make_scalp
from scalpmetrics.synthetic.spec import CourseSpec, PhantomSpec, _replace
from scalpmetrics.synthetic.streams import _S_CHANGE, _S_POSE, _rng
from scalpmetrics.synthetic.truth import Course

# --- treatment responses: per follow-up visit, fractions of the previous visit's hairs
#: (new / present, lost / present, thickened / vellus, miniaturised / terminal)
RESPONSE_FRACTIONS = {
    "strong": (0.06, 0.01, 0.10, 0.0),
    "mild": (0.03, 0.015, 0.05, 0.0),
    "none": (0.0, 0.0, 0.0, 0.0),
    "worsening": (0.01, 0.05, 0.0, 0.06),
}
_NEW_HAIR_TERMINAL_P = 0.5


def _next_state(rng: np.random.Generator, present: np.ndarray, terminal: np.ndarray,
                response: str) -> tuple[np.ndarray, np.ndarray]:
    """One follow-up step: lose, grow, thicken and miniaturise hairs (see
    :data:`RESPONSE_FRACTIONS`)."""
    f_new, f_lost, f_thick, f_mini = RESPONSE_FRACTIONS[response]
    present, terminal = present.copy(), terminal.copy()
    alive = np.nonzero(present)[0]
    n_alive = len(alive)
    lost = rng.choice(alive, int(round(f_lost * n_alive)), replace=False)
    absent = np.nonzero(~present)[0]
    new = rng.choice(absent, min(len(absent), int(round(f_new * n_alive))), replace=False)
    present[lost] = False
    survivors = np.nonzero(present)[0]
    vellus = survivors[~terminal[survivors]]
    thick = rng.choice(vellus, int(round(f_thick * len(vellus))), replace=False)
    terms = survivors[terminal[survivors]]
    mini = rng.choice(terms, int(round(f_mini * len(terms))), replace=False)
    terminal[thick] = True
    terminal[mini] = False
    present[new] = True
    terminal[new] = rng.random(len(new)) < _NEW_HAIR_TERMINAL_P
    return present, terminal


def _visit_specs(spec: CourseSpec) -> list[PhantomSpec]:
    rng = _rng(spec.seed, _S_POSE)
    base = dataclasses.replace(spec.base, seed=spec.seed)
    out = [base]
    for _ in range(1, spec.n_visits):
        rot = base.rotation_deg + rng.uniform(-1, 1) * spec.max_rotation_deg
        r, a = spec.max_shift_mm * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        shift = (base.shift_mm[0] + r * math.cos(a), base.shift_mm[1] + r * math.sin(a))
        scale = base.scale * (1 + rng.uniform(-1, 1) * spec.max_scale_change)
        changes: dict[str, Any] = dict(rotation_deg=float((rot + 180) % 360 - 180),
                                       shift_mm=shift, scale=float(np.clip(scale, 0.5, 2.0)))
        if spec.vary_lighting:
            changes.update(
                illumination_gradient=float(np.clip(
                    base.illumination_gradient + rng.uniform(-0.08, 0.08), 0, 0.8)),
                white_balance=tuple(float(np.clip(v * rng.uniform(0.94, 1.06), 0.5, 1.5))
                                    for v in base.white_balance),
                blur_sigma_px=float(np.clip(base.blur_sigma_px + rng.uniform(-0.3, 0.4),
                                            0, 10)),
            )
        out.append(dataclasses.replace(base, **changes))
    return out


def _in_all_fields(scalp_xy: np.ndarray, poses: tuple[np.ndarray, ...],
                   specs: list[PhantomSpec]) -> np.ndarray:
    ok = np.ones(scalp_xy.shape[:-1], bool)
    for h, s in zip(poses, specs):
        ok &= _inside_field(_apply_h(h, scalp_xy), s)
    return ok


def _field_polygon_area(poses: tuple[np.ndarray, ...], specs: list[PhantomSpec]) -> float:
    """Area (scalp px^2) of the intersection of every visit's field in scalp coords."""
    poly = _apply_h(np.linalg.inv(poses[0]), _field_corners(specs[0])).astype(np.float32)
    for h, s in zip(poses[1:], specs[1:]):
        other = _apply_h(np.linalg.inv(h), _field_corners(s)).astype(np.float32)
        area, inter = cv2.intersectConvexConvex(poly, other)
        if inter is None or area <= 0:
            return 0.0
        poly = inter.reshape(-1, 2)
    return float(abs(cv2.contourArea(poly)))


def _change(states: list[tuple[np.ndarray, np.ndarray]], visit: int, in_common: np.ndarray,
            width_um: np.ndarray, area_mm2: float) -> dict[str, Any]:
    (p0, t0), (p1, t1) = states[0], states[visit]
    b, f = p0 & in_common, p1 & in_common
    both = b & f
    ids = lambda mask: [int(i) for i in np.nonzero(mask)[0]]  # noqa: E731
    w0 = np.where(t0, width_um[:, 1], width_um[:, 0])
    w1 = np.where(t1, width_um[:, 1], width_um[:, 0])
    nb, nf = int(b.sum()), int(f.sum())
    tb, tf = int((b & t0).sum()), int((f & t1).sum())
    pct = lambda new, old: 100.0 * (new - old) / old if old else None  # noqa: E731
    mean = lambda w, m: float(w[m].mean()) if m.any() else None  # noqa: E731
    cm2 = area_mm2 / 100.0
    change = {
        "visit": visit,
        "common_area_mm2": area_mm2,
        "baseline_hair_count": nb, "followup_hair_count": nf,
        "hair_count_change": nf - nb, "hair_count_change_pct": pct(nf, nb),
        "baseline_density_per_cm2": nb / cm2 if cm2 else None,
        "followup_density_per_cm2": nf / cm2 if cm2 else None,
        "new_hairs": int((f & ~b).sum()), "lost_hairs": int((b & ~f).sum()),
        "thickened_hairs": int((both & ~t0 & t1).sum()),
        "miniaturised_hairs": int((both & t0 & ~t1).sum()),
        "baseline_terminal_count": tb, "followup_terminal_count": tf,
        "terminal_count_change_pct": pct(tf, tb),
        "baseline_vellus_count": nb - tb, "followup_vellus_count": nf - tf,
        "baseline_mean_width_um": mean(w0, b), "followup_mean_width_um": mean(w1, f),
        "baseline_cumulative_thickness_mm_per_cm2": float(w0[b].sum()) / 1000 / cm2 if cm2
        else None,
        "followup_cumulative_thickness_mm_per_cm2": float(w1[f].sum()) / 1000 / cm2 if cm2
        else None,
        "new_hair_ids": ids(f & ~b), "lost_hair_ids": ids(b & ~f),
        "thickened_hair_ids": ids(both & ~t0 & t1),
        "miniaturised_hair_ids": ids(both & t0 & ~t1),
    }
    return change


def make_course(spec: CourseSpec | None = None, **overrides: Any) -> Course:
    """Render a treatment course: visits of the same scalp patch.

    Hair changes per follow-up visit (drawn over the whole patch, relative to
    the previous visit, see :data:`RESPONSE_FRACTIONS`): ``round(f_new * n)``
    new hairs at empty slots of existing or empty openings (half of them
    terminal), ``round(f_lost * n)`` hairs lost, ``round(f_thick * vellus)``
    surviving vellus hairs become terminal and ``round(f_mini * terminal)``
    surviving terminal hairs become vellus; ``n`` is the number of hairs
    present at the previous visit.

    ``true_change[k]`` compares visit ``k + 1`` with the baseline over the
    *common area*: the hairs whose emergence point lies inside the image
    field of every visit. With ``B`` / ``F`` the sets of hair ids present in
    the common area at baseline / follow-up:

    - ``baseline_hair_count`` = |B|, ``followup_hair_count`` = |F|,
      ``hair_count_change`` = |F| - |B| = ``new_hairs`` - ``lost_hairs``,
      ``hair_count_change_pct`` = 100 (|F| - |B|) / |B|;
    - ``new_hairs`` = |F - B|, ``lost_hairs`` = |B - F| (ids in ``new_hair_ids`` ...);
    - ``thickened_hairs``: in both, vellus at baseline and terminal at follow-up;
      ``miniaturised_hairs`` the reverse;
    - terminal / vellus counts, ``terminal_count_change_pct``, mean widths (um),
      cumulative thickness and densities per cm2 of common area;
    - ``common_area_mm2``: area of the intersection of all visits' fields.

    Percentages are ``None`` when the baseline count is zero.

    Parameters
    ----------
    spec : CourseSpec, optional
    **overrides
        Fields of :class:`~scalpmetrics.synthetic.CourseSpec` replacing those of ``spec``.

    Returns
    -------
    Course
    """
    spec = _replace(spec or CourseSpec(), overrides)
    specs = _visit_specs(spec)
    poses = tuple(pose_homography(s) for s in specs)
    scalp = _make_scalp(specs[0], spec.seed, specs, list(poses))
    change_rng = _rng(spec.seed, _S_CHANGE)
    states = [(scalp.base_present, scalp.base_terminal)]
    for _ in range(1, spec.n_visits):
        states.append(_next_state(change_rng, *states[-1], spec.response))
    visits = tuple(
        _render(scalp, p, t, s, h, spec.seed, v, v if spec.regrow else 0,
                h if spec.regrow else poses[0])
        for v, ((p, t), s, h) in enumerate(zip(states, specs, poses))
    )
    in_common = _in_all_fields(scalp.slot_xy, poses, specs)
    area_mm2 = _field_polygon_area(poses, specs) / specs[0].px_per_mm**2
    changes = tuple(_change(states, v, in_common, scalp.slot_width_um, area_mm2)
                    for v in range(1, spec.n_visits))
    return Course(visits=visits, scalp_to_image=poses, true_change=changes,
                  common_area_mm2=area_mm2, spec=spec)


def repeat_capture(base: PhantomSpec | None = None, *, n_captures: int = 2, seed: int = 0,
                   max_rotation_deg: float = 7.0, max_shift_mm: float = 0.5,
                   max_scale_change: float = 0.05, vary_lighting: bool = True) -> Course:
    """Repeated captures of the same scalp at the same moment: new camera pose and
    lighting, identical hair (no biological change, no regrowth).

    Parameters
    ----------
    base : PhantomSpec, optional
        Scalp, hair and camera of the first capture.
    n_captures : int
        Number of captures (1-12).
    seed : int
    max_rotation_deg, max_shift_mm, max_scale_change, vary_lighting
        As in :class:`~scalpmetrics.synthetic.CourseSpec`.

    Returns
    -------
    Course
        ``true_change`` shows no change; use it to measure repeatability.
    """
    return make_course(CourseSpec(
        seed=seed, n_visits=n_captures, base=base or PhantomSpec(), response="none",
        max_rotation_deg=max_rotation_deg, max_shift_mm=max_shift_mm,
        max_scale_change=max_scale_change, vary_lighting=vary_lighting, regrow=False))


def common_area_masks(course: Course) -> tuple[np.ndarray, ...]:
    """Per visit, the pixels showing scalp that every visit shows.

    Parameters
    ----------
    course : Course

    Returns
    -------
    tuple of ndarray, each shape (H, W), bool
        ``True`` where the pixel centre, mapped to scalp coordinates and on
        into every other visit, lands inside that visit's image field.
    """
    specs = [v.truth.spec for v in course.visits]
    masks = []
    for h, s in zip(course.scalp_to_image, specs):
        yy, xx = np.mgrid[0:s.height_px, 0:s.width_px].astype(np.float64)
        scalp_xy = _apply_h(np.linalg.inv(h), np.stack([xx, yy], -1))
        masks.append(_in_all_fields(scalp_xy, course.scalp_to_image, specs))
    return tuple(masks)
