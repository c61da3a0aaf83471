"""Accuracy of global-view coverage on phantoms with exact per-zone truth.

Prints, for phantoms drawn from seeds that were not used to tune anything
(``--seeds report``, the default; ``--seeds holdout``, kept aside until the
method was frozen) or from the tuning seeds (``--seeds tuning``):

1. per-zone coverage error of single photos (target: 0.03);
2. coverage-change error of courses with known regrowth (target: 1.5 points per zone);
3. measured change of courses with no change, against the change of the rendered truth
   (target: 1 point in every zone);
4. the same hair photographed twice with pose and lighting changes: measured difference
   against the difference of the rendered truth (target: 1 point);
5. how often the change intervals hold the true change;
6. automatic view detection;
7. a low-contrast stress set (grey and blond hair on fair skin), outside the targets;
8. resolution independence (the same scene at twice the resolution): measured difference,
   and against the difference of the rendered truth.

Run: ``python benchmarks/global_accuracy.py [--seeds report|holdout|tuning] [--per-view N]
[--verbose]``. Rendering dominates the run time (a few seconds per phantom).

``--verbose`` adds, after sections 1-4, the error per view and zone and the worst zones, each
split into its *placement* part (the rendered truth of the zones placed from the measured head
frame minus the truth of the zones of the true outline: where the head fit puts the zones) and
its *colour* part (the rest: the measured coverage minus the rendered truth of the same zones),
with the hair and skin colours, the key light (right, up, degrees), the ambient light and the
colour model found (scalp seen, scalp/hair contrast).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from scalpmetrics.errors import ScalpmetricsError, ViewDetectionError
from scalpmetrics.globalview import analyze_global, compare_global
from scalpmetrics.globalview.phantom import (
    global_phantom_course,
    make_global_phantom,
    render_global_phantom,
    repeat_captures,
    truth_zone_coverage,
)
from scalpmetrics.io import photo_from_array
from scalpmetrics.params import Params

VIEWS = ("vertex", "midline", "frontal", "temporal")
#: Seeds the method was developed and tuned on, seeds kept for reporting, and seeds kept
#: aside until the method was frozen (no failure on them was ever looked at).
SEED_BASE = {"tuning": 0, "report": 100_000, "holdout": 200_000}
TARGETS = {"coverage": 0.03, "change": 1.5, "no_change": 1.0, "repeat": 1.0}


def _photo(ph):  # type: ignore[no-untyped-def]
    return photo_from_array(ph.image)


#: Per-zone records of the verbose breakdown (None: not collected).
_NOTES: list[dict[str, object]] | None = None


def _placed(result, ph) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Rendered truth of the zones placed from the measured head frame."""
    return truth_zone_coverage(ph.hair_fraction, ph.head_fraction, result.head_frame,
                               view=ph.view, side=result.side or ph.side)[0]


def _scene(result, ph) -> str:  # type: ignore[no-untyped-def]
    c, cm = ph.capture, result.colour_model
    return (f"{ph.head.hair_colour}/{ph.head.skin_tone} key ({c.key_light_deg[0]:+.0f},"
            f"{c.key_light_deg[1]:+.0f}) amb {c.ambient:.2f} "
            f"{'scalp seen' if cm['scalp_seen'] else 'scalp NOT seen'} contrast {cm['contrast_ratio']:.1f}")


def _note(section: str, view: str, seed: int, results, phantoms, scale: float) -> None:  # type: ignore[no-untyped-def]
    """Record every zone's error of one photo (or one pair: follow-up minus baseline)."""
    if _NOTES is None:
        return
    placed = [_placed(r, ph) for r, ph in zip(results, phantoms)]
    sign = [1.0] if len(results) == 1 else [-1.0, 1.0]
    for z in results[-1].regions:
        if any(r.region(z.name).coverage_fraction is None for r in results):
            continue
        err = scale * sum(g * (r.region(z.name).coverage_fraction - ph.zone_coverage[z.name])
                          for g, r, ph in zip(sign, results, phantoms))
        place = scale * sum(g * (pl[z.name] - ph.zone_coverage[z.name])
                            for g, pl, ph in zip(sign, placed, phantoms))
        _NOTES.append({"section": section, "view": view, "zone": z.name, "seed": seed,
                       "error": err, "placement": place,
                       "scene": " -> ".join(_scene(r, ph) for r, ph in zip(results, phantoms))})


def _breakdown(section: str, worst: int = 6) -> None:
    """Print the error per view and zone, and the worst zones, of one section."""
    if _NOTES is None:
        return
    rows = [n for n in _NOTES if n["section"] == section]
    if not rows:
        return
    for part, values in (("error", [float(n["error"]) for n in rows]),  # type: ignore[arg-type]
                         ("colour part", [float(n["error"]) - float(n["placement"])  # type: ignore[arg-type]
                                          for n in rows]),
                         ("placement part", [float(n["placement"]) for n in rows])):  # type: ignore[arg-type]
        print(f"   {part:15s} {_stats(values)}")
    print("   by view and zone (|error|: median, worst; |placement part| median):")
    for key in sorted({(str(n["view"]), str(n["zone"])) for n in rows}):
        sel = [n for n in rows if (n["view"], n["zone"]) == key]
        e = np.abs([float(n["error"]) for n in sel])  # type: ignore[arg-type]
        pl = np.abs([float(n["placement"]) for n in sel])  # type: ignore[arg-type]
        print(f"     {key[0]:9s} {key[1]:15s} n={e.size:2d}  median {np.median(e):6.3f}  worst "
              f"{e.max():6.3f}  placement {np.median(pl):6.3f}")
    print(f"   worst {worst} zones (error = placement + colour):")
    for n in sorted(rows, key=lambda n: -abs(float(n["error"])))[:worst]:  # type: ignore[arg-type]
        err, place = float(n["error"]), float(n["placement"])  # type: ignore[arg-type]
        print(f"     {n['view']:9s} {n['zone']:15s} seed {n['seed']}: {err:+7.3f} = placement "
              f"{place:+7.3f} + colour {err - place:+7.3f}; {n['scene']}")


def _stats(values: list[float]) -> str:
    a = np.abs(np.asarray(values, dtype=float))
    if a.size == 0:
        return "n=0"
    return (f"n={a.size:3d}  median {np.median(a):6.3f}  p90 {np.percentile(a, 90):6.3f}  "
            f"worst {a.max():6.3f}")


def _verdict(values: list[float], target: float, *, every: bool) -> str:
    a = np.abs(np.asarray(values, dtype=float))
    if a.size == 0:
        return ""
    share = float(np.mean(a <= target))
    worst = float(a.max())
    if every:
        ok = worst <= target
        return (f"target {target:g} in every zone: {'MET' if ok else 'NOT MET'} "
                f"({100 * share:.0f} % of zones within; worst exceeds by {max(0.0, worst - target):.3g})")
    ok = float(np.median(a)) <= target
    return (f"target {target:g}: median {'MET' if ok else 'NOT MET'}; {100 * share:.0f} % of zones "
            f"within; worst exceeds by {max(0.0, worst - target):.3g}")


def _coverage_errors(result, ph) -> list[float] | None:  # type: ignore[no-untyped-def]
    """Measured minus true coverage per zone; None when a temporal side was misread."""
    if result.side is not None and result.side != ph.side:
        return None
    return [z.coverage_fraction - ph.zone_coverage[z.name] for z in result.regions
            if z.coverage_fraction is not None]


def single_photos(base: int, per_view: int, params: Params) -> None:
    print("\n1. Per-zone coverage error, single photos (fraction)")
    allerr: list[float] = []
    wrong_side = 0
    for v, view in enumerate(VIEWS):
        errs = []
        for k in range(per_view):
            seed = base + 1000 * v + k
            ph = make_global_phantom(seed, view)
            r = analyze_global(_photo(ph), view=view, params=params)
            got = _coverage_errors(r, ph)
            if got is None:
                wrong_side += 1
                continue
            errs += got
            _note("1", view, seed, [r], [ph], 1.0)
        allerr += errs
        print(f"   {view:9s} {_stats(errs)}  bias {np.mean(errs):+.3f}")
    print(f"   all       {_stats(allerr)}")
    print(f"   temporal photos whose side was misread (not scored): {wrong_side}")
    print(f"   {_verdict(allerr, TARGETS['coverage'], every=False)}")
    _breakdown("1")


def courses(base: int, per_view: int, params: Params, *, regrowth: float, label: str,
            target: float) -> tuple[list[float], list[bool]]:
    print(f"\n{label}")
    allerr: list[float] = []
    measured_all: list[float] = []
    truth_all: list[float] = []
    inside: list[bool] = []
    for v, view in enumerate(VIEWS):
        errs, measured = [], []
        for k in range(per_view):
            seed = base + 1000 * v + 500 + k
            course = global_phantom_course(seed, view, regrowth=(0.0, regrowth))
            comp = compare_global([_photo(p) for p in course], view=view, params=params)
            if comp.side is not None and comp.side != course[0].side:
                print(f"   {view} course {seed}: side misread, not scored")
                continue
            _note(label[:1], view, seed, list(comp.visits), course, 100.0)
            for z in comp.changes[0].regions:
                if z.coverage_change_points is None:
                    continue
                truth = 100 * (course[1].zone_coverage[z.name] - course[0].zone_coverage[z.name])
                errs.append(z.coverage_change_points - truth)
                measured.append(z.coverage_change_points)
                truth_all.append(truth)
                inside.append(z.ci[0] <= truth <= z.ci[1])
        allerr += errs
        measured_all += measured
        if regrowth == 0.0:
            print(f"   {view:9s} measured change {_stats(measured)}   vs rendered truth {_stats(errs)}")
        else:
            print(f"   {view:9s} change error {_stats(errs)}")
    if regrowth == 0.0:
        print(f"   all       measured change {_stats(measured_all)}   vs rendered truth {_stats(allerr)}")
        print(f"   rendered truth change itself {_stats(truth_all)} (pose moves the zones over the "
              "anatomy)")
        print(f"   measured change against the rendered truth change: {_verdict(allerr, target, every=True)}")
    else:
        print(f"   all       change error {_stats(allerr)}")
        print(f"   {_verdict(allerr, target, every=True)}")
    _breakdown(label[:1])
    return allerr, inside


def repeat_photos(base: int, per_view: int, params: Params, pose_sd_deg: float) -> list[float]:
    diffs, truth_diffs = [], []
    for v, view in enumerate(VIEWS):
        for k in range(per_view):
            seed = base + 1000 * v + 800 + k
            ph = make_global_phantom(seed, view)
            again = repeat_captures(ph, seed + 7, pose_sd_deg=pose_sd_deg)
            a = analyze_global(_photo(ph), view=view, params=params)
            if a.side is not None and a.side != ph.side:
                print(f"   {view} photo {seed}: side misread, not scored")
                continue
            b = analyze_global(_photo(again), view=view, side=a.side, params=params)
            _note(f"4 pose sd {pose_sd_deg:g}", view, seed, [a, b], [ph, again], 100.0)
            for z in a.regions:
                zb = b.region(z.name)
                if z.coverage_fraction is None or zb.coverage_fraction is None:
                    continue
                diffs.append(100 * (zb.coverage_fraction - z.coverage_fraction))
                truth_diffs.append(100 * (again.zone_coverage[z.name] - ph.zone_coverage[z.name]))
    errs = [d - t for d, t in zip(diffs, truth_diffs)]
    print(f"   pose sd {pose_sd_deg:g} deg: measured difference {_stats(diffs)} points")
    print(f"                  rendered truth difference {_stats(truth_diffs)} points")
    print(f"                  measured minus rendered difference {_stats(errs)} points")
    print(f"   {_verdict(errs, TARGETS['repeat'], every=True)}")
    _breakdown(f"4 pose sd {pose_sd_deg:g}")
    return errs


def auto_view(base: int, per_view: int, params: Params) -> None:
    print("\n6. Automatic view detection")
    right = wrong = refused = 0
    for v, view in enumerate(VIEWS):
        for k in range(per_view):
            ph = make_global_phantom(base + 1000 * v + k, view)
            try:
                r = analyze_global(_photo(ph), view="auto", params=params)
            except ViewDetectionError:
                refused += 1
                continue
            ok = r.view == view and (view != "temporal" or r.side == ph.side)
            right += ok
            wrong += not ok
    n = right + wrong + refused
    print(f"   correct {right}/{n}, wrong {wrong}/{n}, refused (asks for --view) {refused}/{n}")


def low_contrast(base: int, per_view: int, params: Params) -> None:
    print("\n7. Low-contrast stress set: grey, blond, light-brown hair on fair skin (no target)")
    errs: list[float] = []
    ratios: list[float] = []
    refused: list[str] = []
    for v, view in enumerate(VIEWS):
        for k in range(per_view):
            ph = make_global_phantom(base + 1000 * v + 900 + k, view, min_contrast_ratio=0)
            ratios.append(ph.head.contrast_ratio)
            try:
                r = analyze_global(_photo(ph), view=view, params=params)
            except ScalpmetricsError as exc:
                refused.append(f"{view} {exc}")
                continue
            got = _coverage_errors(r, ph)
            if got is None:
                refused.append(f"{view}: side misread")
                continue
            errs += got
    print(f"   scalp/hair luminance ratios {np.round(sorted(ratios), 2).tolist()}")
    print(f"   coverage error {_stats(errs)}  bias {np.mean(errs):+.3f}")
    print(f"   refused or side misread {len(refused)}: {'; '.join(refused) or '-'}")


def resolution(base: int, params: Params) -> None:
    print("\n8. Resolution independence: the same scene at 640x480 and 1280x960")
    diffs, truth_diffs = [], []
    for v, view in enumerate(VIEWS):
        ph = make_global_phantom(base + 1000 * v + 950, view)
        cap = dataclasses.replace(ph.capture, width_px=2 * ph.capture.width_px,
                                  height_px=2 * ph.capture.height_px)
        big = render_global_phantom(ph.head, ph.thinning, cap, combing_seed=ph.combing_seed)
        a = analyze_global(_photo(ph), view=view, params=params)
        b = analyze_global(_photo(big), view=view, params=params)
        for z in a.regions:
            if z.coverage_fraction is None or b.region(z.name).coverage_fraction is None:
                continue
            diffs.append(100 * (b.region(z.name).coverage_fraction - z.coverage_fraction))
            truth_diffs.append(100 * (big.zone_coverage[z.name] - ph.zone_coverage[z.name]))
    errs = [d - t for d, t in zip(diffs, truth_diffs)]
    # The renderer draws each lock with one of the two odd pixel widths around
    # its width (chosen per lock), so the rendered truth itself moves with the
    # resolution; the method's own part is the difference beyond it.
    print(f"   measured difference {_stats(diffs)} points")
    print(f"   rendered truth difference {_stats(truth_diffs)} points")
    print(f"   measured minus rendered difference {_stats(errs)} points")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", choices=sorted(SEED_BASE), default="report")
    ap.add_argument("--per-view", type=int, default=4, help="phantoms per view and section")
    ap.add_argument("--verbose", action="store_true",
                    help="per view and zone errors and the worst zones, split into placement "
                         "and colour parts (sections 1-4)")
    args = ap.parse_args()
    global _NOTES
    _NOTES = [] if args.verbose else None
    base = SEED_BASE[args.seeds]
    params = Params()
    t0 = time.time()
    print(f"global-view accuracy on {args.seeds} seeds (base {base}); {args.per_view} per view "
          f"and section; default parameters (digest {params.digest()})")
    single_photos(base, args.per_view, params)
    _, inside = courses(base, args.per_view, params, regrowth=0.5, target=TARGETS["change"],
                        label="2. Coverage change error, courses regrowing half of every loss (points)")
    courses(base + 50_000, args.per_view, params, regrowth=0.0, target=TARGETS["no_change"],
            label="3. Courses with no change: measured change, and its error against the rendered "
                  "truth change (points)")
    print("\n4. Same hair photographed twice, new pose and lighting (points)")
    repeat_photos(base, args.per_view, params, pose_sd_deg=1.0)
    repeat_photos(base, args.per_view, params, pose_sd_deg=0.0)
    print("\n5. Change intervals")
    level = params.globalview.interval_level
    print(f"   {100 * np.mean(inside):.0f} % of the {100 * level:.0f} % intervals of section 2 "
          "hold the rendered change")
    auto_view(base, args.per_view, params)
    low_contrast(base, max(1, args.per_view // 2), params)
    resolution(base, params)
    print(f"\ntotal {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
