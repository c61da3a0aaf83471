"""Accuracy of hair segmentation, counting and per-hair measurement.

Prints every figure with the seeds and the data split it was measured on.

Phantoms (``scalpmetrics.synthetic``, exact truth)
    One phantom per condition of :func:`scalpmetrics.synthetic.conditions`
    (6 skin types x 7 hair colours x clipped/unclipped = 84 photos,
    1280 x 1024 px at 100 px/mm). The method is tuned on the conditions' own
    seeds 0-83 (``--split tune``); figures are reported on seeds
    100000-100083 (``--split report``, the default), never used for tuning.
    Figures per photo: hair-mask Dice, hair-count relative error, mean shaft
    width error (um), vellus fraction error, coverage fraction error; the
    figures against the truth of the area the analysis measures (all but the
    edge strip, ``Phantom.truth_within``), the Dice over the whole photo.
    Targets: Dice median >= 0.92 and worst >= 0.80; count median |relative
    error| <= 5 %; mean |width error| <= 5 um; mean |vellus fraction error|
    <= 0.05; mean |coverage error| <= 0.01.
    Also printed, without a target: how many hairs are found where they
    emerge. Counted hairs are paired one to one with the true ones (least
    total distance) when their emergence points lie within
    ``LOCATE_RADIUS_UM``; *located recall* is the share of true hairs paired,
    *located precision* the share of counted hairs paired. A count can be
    right while its hairs are not: misses and false hairs cancel. And how
    many clipped and unclipped phantoms (and fdu photos, all of clipped
    hair) raise the ``long_hair`` flag. And, for the clipped phantoms, what
    became of their true hairs, terminal and vellus (``FATES``): counted
    alone, counted as one shaft with a unit mate or with another unit's
    hair (both hairs of such a shaft are counted here), traced and not
    counted, in the hair mask but not traced, not in the mask; and the
    vellus hairs the mask misses, by hair colour.

Loose cut hairs (``--part loose``, no target)
    Every second clipped condition of the split (every fourth with
    ``--quick``) is rendered again with ``LOOSE_HAIRS`` loose cut fragments
    strewn on the skin (same scalp, same hairs). Figure: counted hairs added
    per fragment (0 is right), with the default parameters and with the
    stream rule off (``trace.loose_min_angle_deg`` 90), for scale.

Real photos (``../shared/data``, skipped when absent)
    *trichoscopy-fdu*: 1280 x 1024 trichoscopy photos of clipped hair, boxes
    where each hair leaves the scalp. Assumed calibration 350 px/mm. The
    truth count is the number of boxes whose class is not ``abnormal`` centred
    in the area the analysis measures (all but the edge strip); figure: mean
    absolute error of the reported hair count (hairs/photo); target <= 2.0. Also
    printed: the counted shafts' median width in px, against the set's notes
    (terminal shafts about 25-30 px), a check of the widths on real photos;
    and the widths of the located shafts by the annotators' box classes
    (``undersize`` thin hairs against ``single`` / ``premium``): the share of
    each read vellus / terminal, and the probability that a thin-class shaft
    reads narrower than a thick-class one (scale-free); the located recall
    of each box class (``single``, ``premium`` hairs of a multi-hair unit,
    ``undersize``: which hairs the count misses) and, for the boxes centred
    in the measured area that were not located, what lies in them (unit
    mates traced as one shaft, a counted shaft across the box, an uncounted
    shaft, nothing traced); and the length of
    the capture device's 1.0 mm scale bar in the photos that carry one (a
    check of the assumed scale). Patients
    (the second field of ``<date>_<patient>_<n>``) are sorted; those at even
    positions are the tuning half, odd positions the report half.
    *scalp-patches*: 128 x 128 patches with painted hair masks, assumed
    90 px/mm; figure: mean Dice; target >= 0.85. No patient ids are given,
    so patches are split by index: even file numbers tune, odd report.

Run::

    python benchmarks/accuracy.py [--split report|tune] [--quick] [--part all|phantoms|loose|fdu|patches]

``--quick`` uses every fourth phantom condition, every fourth patient of
the half and every second patch of the half (for iterating; the full run
is the reference).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from scalpmetrics.analysis import analyze
from scalpmetrics.io import load_photo, photo_from_array
from scalpmetrics.match import assign_points, shaft_evidence
from scalpmetrics.measure import point_in_mask
from scalpmetrics.params import Params
from scalpmetrics.regions import guarded_area
from scalpmetrics.segment import thin_dark_runs
from scalpmetrics.synthetic import HairTruth, conditions, make_phantom
from scalpmetrics.types import Hair

from overrides import parse_overrides  # benchmarks/overrides.py

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REPORT_SEED_BASE = 100_000
#: Parameters of every analysis (default; ``--set group.name=value`` overrides, for tuning).
PARAMS = Params()
FDU_PX_PER_MM = 350.0
PATCH_PX_PER_MM = 90.0
#: A counted hair is located when it emerges this close to a true hair's emergence, um.
LOCATE_RADIUS_UM = 150.0
#: Loose cut fragments strewn on each phantom of the loose-hair check.
LOOSE_HAIRS = 10
#: What became of a true hair of a clipped phantom (see :func:`_hair_fates`).
FATES = ("counted alone", "counted as one with a unit mate", "counted as one with another unit's hair",
         "traced, not counted", "in the mask, not traced", "not in the mask")
#: A traced shaft runs along a true hair when the hair's midpoint lies within
#: half the hair's width plus this of the shaft's straight line, um ...
ALONG_REACH_UM = 40.0
#: ... and the two lie within this angle, degrees.
ALONG_MAX_DEG = 25.0
#: Points along a true hair sampled to tell whether the hair mask holds it.
FATE_SAMPLES = 32


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two boolean masks (1 when both are empty)."""
    inter = np.logical_and(a, b).sum()
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2.0 * inter / total)


def _summary(name: str, values: list[float], unit: str = "", *, higher_better: bool = False) -> str:
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return f"  {name:34s} n=0"
    worst, best = (a.min(), a.max()) if higher_better else (a.max(), a.min())
    p90 = np.percentile(a, 10 if higher_better else 90)
    return (f"  {name:34s} n={a.size:3d}  mean {a.mean():8.4f}  median {np.median(a):8.4f}  "
            f"p90 {p90:8.4f}  worst {worst:8.4f}  best {best:8.4f} {unit}")


def _hair_fates(true_hairs: list[HairTruth], hairs: tuple[Hair, ...], mask: np.ndarray,
                px_per_mm: float) -> list[str]:
    """What became of each true hair of a clipped phantom (one of ``FATES``).

    A traced shaft runs along a true hair when the hair's midpoint lies
    close to the shaft's straight line (within half the hair's width plus
    ``ALONG_REACH_UM``) and the two lie within ``ALONG_MAX_DEG`` (clipped
    shafts are straight). A hair is counted alone when the nearest counted
    shaft along it runs along no other true hair, counted as one with
    another hair when it does (a unit mate or another unit's hair), traced
    and not counted when only uncounted shafts run along it; otherwise it is
    in the mask (at least half of ``FATE_SAMPLES`` points along it,
    :func:`scalpmetrics.match.shaft_evidence`) or not.
    """
    if not true_hairs:
        return []
    te = np.array([h.emergence_xy_px for h in true_hairs])
    tt = np.array([h.tip_xy_px for h in true_hairs])
    mid, t_dir = 0.5 * (te + tt), tt - te
    reach = np.array([0.5 * h.width_um + ALONG_REACH_UM for h in true_hairs]) * px_per_mm / 1000.0
    dist = np.full((len(true_hairs), max(len(hairs), 1)), np.inf)
    if hairs:
        se = np.array([h.emergence_xy_px for h in hairs])
        s_dir = np.array([h.tip_xy_px for h in hairs]) - se
        s_len2 = np.maximum((s_dir ** 2).sum(1), 1e-9)
        along = np.clip(((mid[:, None] - se[None]) * s_dir[None]).sum(2) / s_len2, 0.0, 1.0)
        dist = np.linalg.norm(mid[:, None] - (se[None] + along[..., None] * s_dir[None]), axis=2)
        cos = np.abs((t_dir[:, None] * s_dir[None]).sum(2)) / (
            np.linalg.norm(t_dir, axis=1)[:, None] * np.sqrt(s_len2)[None] + 1e-9)
        dist = np.where((dist <= reach[:, None]) & (cos >= np.cos(np.radians(ALONG_MAX_DEG))),
                        dist, np.inf)
    counted = np.array([h.counted for h in hairs] or [False])
    in_mask = shaft_evidence(te, tt, mask, np.eye(3), span=(0.0, 1.0), samples=FATE_SAMPLES,
                             tolerance_px=0) >= 0.5
    runs_along = np.isfinite(dist)
    owner = np.where(runs_along & counted[None], dist, np.inf).argmin(1)
    has_owner = (runs_along & counted[None]).any(1)
    fates = []
    for i, h in enumerate(true_hairs):
        if has_owner[i]:
            others = [j for j in np.nonzero(runs_along[:, owner[i]])[0] if j != i]
            if not others:
                fates.append(FATES[0])
            elif any(true_hairs[j].unit_id == h.unit_id for j in others):
                fates.append(FATES[1])
            else:
                fates.append(FATES[2])
        elif runs_along[i].any():
            fates.append(FATES[3])
        else:
            fates.append(FATES[4] if in_mask[i] else FATES[5])
    return fates


def _print_fates(fates: Counter[tuple[str, bool, str]]) -> None:
    """The fates of the clipped phantoms' true hairs, terminal and vellus, and
    the vellus hairs not in the mask by hair colour."""
    for terminal in (True, False):
        n = sum(v for (_, t, _), v in fates.items() if t == terminal)
        if n == 0:
            continue
        parts = ", ".join(
            f"{fate} {100 * sum(v for (f, t, _), v in fates.items() if f == fate and t == terminal) / n:.1f} %"
            for fate in FATES)
        print(f"  clipped phantoms, what became of the {n} true {'terminal' if terminal else 'vellus'} "
              f"hairs: {parts}")
    colours = sorted({c for _, _, c in fates})
    by_colour = ", ".join(
        f"{c} {sum(v for (f, t, cc), v in fates.items() if cc == c and not t and f == FATES[5])}/"
        f"{sum(v for (_, t, cc), v in fates.items() if cc == c and not t)}" for c in colours)
    print(f"  clipped phantoms, vellus hairs not in the mask by hair colour: {by_colour}")


def phantom_conditions(split: str, quick: bool) -> list[dict]:
    """The phantom conditions of a split (seeds changed for the report split)."""
    conds = conditions()
    if quick:
        conds = conds[::4]
    if split == "report":
        conds = [dict(c, seed=REPORT_SEED_BASE + c["seed"]) for c in conds]
    return conds


def run_phantoms(split: str, quick: bool, verbose: bool) -> None:
    conds = phantom_conditions(split, quick)
    seeds = [c["seed"] for c in conds]
    print(f"PHANTOMS  split={split}  n={len(conds)}  seeds {seeds[0]}..{seeds[-1]} "
          f"(conditions() order{', every 4th' if quick else ''})  1280x1024 px, 100 px/mm")
    rows = []
    fates: Counter[tuple[str, bool, str]] = Counter()  # (fate, terminal, hair colour)
    t0 = time.perf_counter()
    for c in conds:
        ph = make_phantom(**c)
        # The truth of the area the analysis measures (all but the edge strip).
        tr = ph.truth_within(guarded_area(ph.image.shape, ph.truth.px_per_mm, PARAMS.trace))
        a = analyze(photo_from_array(ph.image), px_per_mm=tr.px_per_mm, params=PARAMS)
        w = a.whole
        d = dice(a.hair_mask, ph.hair_mask)
        count_err = (w.hair_count - tr.hair_count) / max(tr.hair_count, 1)
        width_err = (w.mean_shaft_width_um or np.nan) - tr.mean_shaft_width_um
        vf_err = (w.vellus_fraction if w.vellus_fraction is not None else np.nan) - tr.vellus_fraction
        cov_err = w.coverage_fraction - tr.coverage_fraction
        true_xy = np.array([h.emergence_xy_px for h in tr.hairs if h.counted]).reshape(-1, 2)
        found_xy = np.array([h.emergence_xy_px for h in a.hairs
                             if h.counted and point_in_mask(h.emergence_xy_px, a.measured_area)])
        found_xy = found_xy.reshape(-1, 2)
        pairs, _ = assign_points(true_xy, found_xy,
                                 max_distance=LOCATE_RADIUS_UM * tr.px_per_mm / 1000.0)
        paired = len(pairs)
        if c["clipped"]:
            true_in = [h for h in tr.hairs if h.counted]
            for fate, h in zip(_hair_fates(true_in, a.hairs, a.hair_mask, tr.px_per_mm), true_in):
                fates[(fate, h.is_terminal, c["hair_colour"])] += 1
        rows.append(dict(cond=c, dice=d, count=w.hair_count, true_count=tr.hair_count,
                         count_err=count_err, width_err=width_err, vf_err=vf_err,
                         cov_err=cov_err, recall=paired / max(len(true_xy), 1),
                         precision=paired / max(len(found_xy), 1),
                         long_hair=any(f.name == "long_hair" for f in a.flags)))
        if verbose:
            print(f"    seed {c['seed']:6d} skin {c['skin_type']} {c['hair_colour']:10s} "
                  f"{'clipped  ' if c['clipped'] else 'unclipped'}  dice {d:.3f}  "
                  f"count {w.hair_count:4d}/{tr.hair_count:4d} ({100 * count_err:+6.1f} %)  "
                  f"width {width_err:+6.1f} um  vellus {vf_err:+.3f}  cover {cov_err:+.4f}  "
                  f"located {rows[-1]['recall']:.2f}/{rows[-1]['precision']:.2f}",
                  flush=True)
    elapsed = time.perf_counter() - t0
    col = lambda k: [r[k] for r in rows]  # noqa: E731
    print(_summary("hair mask Dice", col("dice"), higher_better=True))
    print(_summary("hair count |relative error|", np.abs(col("count_err")).tolist()))
    print(_summary("hair count relative error (signed)", col("count_err")))
    print(_summary("mean shaft width |error|", np.abs(col("width_err")).tolist(), "um"))
    print(_summary("mean shaft width error (signed)", col("width_err"), "um"))
    print(_summary("vellus fraction |error|", np.abs(col("vf_err")).tolist()))
    print(_summary("coverage fraction |error|", np.abs(col("cov_err")).tolist()))
    print(_summary("coverage fraction error (signed)", col("cov_err")))
    print(_summary(f"located recall ({LOCATE_RADIUS_UM:g} um)", col("recall"), higher_better=True))
    print(_summary(f"located precision ({LOCATE_RADIUS_UM:g} um)", col("precision"),
                   higher_better=True))
    _print_fates(fates)
    for clipped in (True, False):
        flagged = [r["long_hair"] for r in rows if r["cond"]["clipped"] == clipped]
        print(f"  long_hair flag raised on {sum(flagged)} of {len(flagged)} "
              f"{'clipped' if clipped else 'unclipped'} phantoms")
    print("  by condition group (median Dice / median |count err| / mean |width err| um"
          " / mean located recall, precision):")
    groups: dict[str, list[dict]] = {}
    for r in rows:
        c = r["cond"]
        for key in (f"skin {c['skin_type']}", f"hair {c['hair_colour']}",
                    "clipped" if c["clipped"] else "unclipped"):
            groups.setdefault(key, []).append(r)
    for key, rs in groups.items():
        print(f"    {key:16s} n={len(rs):2d}  {np.median([r['dice'] for r in rs]):.3f}  "
              f"{np.median([abs(r['count_err']) for r in rs]):.3f}  "
              f"{np.nanmean([abs(r['width_err']) for r in rs]):5.1f}  "
              f"{np.mean([r['recall'] for r in rs]):.2f} {np.mean([r['precision'] for r in rs]):.2f}")
    dices = np.array(col("dice"))
    ok = {
        "Dice median >= 0.92": np.median(dices) >= 0.92,
        "Dice worst >= 0.80": dices.min() >= 0.80,
        "count median |rel err| <= 0.05": np.median(np.abs(col("count_err"))) <= 0.05,
        "mean |width err| <= 5 um": np.nanmean(np.abs(col("width_err"))) <= 5.0,
        "mean |vellus fraction err| <= 0.05": np.nanmean(np.abs(col("vf_err"))) <= 0.05,
        "mean |coverage err| <= 0.01": np.mean(np.abs(col("cov_err"))) <= 0.01,
    }
    for k, v in ok.items():
        print(f"  target {k:36s} {'MET' if v else 'MISSED'}")
    print(f"  ({elapsed:.0f} s)\n", flush=True)


def run_loose(split: str, quick: bool) -> None:
    """Loose cut hairs lying on the skin: how many are counted as hairs."""
    conds = [c for c in phantom_conditions(split, False) if c["clipped"]][::4 if quick else 2]
    print(f"LOOSE CUT HAIRS  split={split}  n={len(conds)}  clipped conditions, seeds "
          f"{conds[0]['seed']}..{conds[-1]['seed']}  {LOOSE_HAIRS} loose fragments added to each")
    rule_off = dataclasses.replace(
        PARAMS, trace=dataclasses.replace(PARAMS.trace, loose_min_angle_deg=90.0))
    added = {"default": [], "stream rule off": []}
    t0 = time.perf_counter()
    for c in conds:
        ph = make_phantom(**c)
        scale = ph.truth.px_per_mm
        plain = photo_from_array(ph.image)
        strewn = photo_from_array(make_phantom(**c, loose_hairs=LOOSE_HAIRS).image)
        for name, params in (("default", PARAMS), ("stream rule off", rule_off)):
            n0 = analyze(plain, px_per_mm=scale, params=params).whole.hair_count
            n1 = analyze(strewn, px_per_mm=scale, params=params).whole.hair_count
            added[name].append((n1 - n0) / LOOSE_HAIRS)
    for name, values in added.items():
        print(f"  counted hairs added per loose fragment, {name:16s} mean {np.mean(values):.2f}  "
              f"median {np.median(values):.2f}  worst {np.max(values):.2f}  (no target; 0 is right)")
    print(f"  ({time.perf_counter() - t0:.0f} s)\n", flush=True)


def _patient(stem: str) -> str:
    return stem.split("_")[1]


def _boxes(xml_path: Path) -> list[tuple[str, float, float, float, float]]:
    out = []
    for obj in ET.parse(xml_path).getroot().iter("object"):
        cls = (obj.findtext("class") or obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        x = sorted(float(bb.findtext(k)) for k in ("xmin", "xmax"))
        y = sorted(float(bb.findtext(k)) for k in ("ymin", "ymax"))
        out.append((cls, x[0], y[0], x[1], y[1]))
    return out


def _longest_line_px(line: np.ndarray) -> int:
    """Longest run of True along the rows of ``line``, px."""
    padded = np.pad(line.astype(np.int8), ((0, 0), (1, 1)))
    steps = np.diff(padded, axis=1)
    starts, ends = np.nonzero(steps == 1), np.nonzero(steps == -1)
    return int((ends[1] - starts[1]).max()) if starts[1].size else 0


def scale_bar_px(pixels: np.ndarray) -> int:
    """Length of the longest thin dark line straight along a row or column of
    an 8-bit RGB photo, px, found by the rule the analysis paints such lines
    over with (:func:`scalpmetrics.segment.thin_dark_runs`): the capture
    device's 1.0 mm scale bar where it is burnt in, 0 otherwise."""
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    segment = PARAMS.segment
    runs = thin_dark_runs(grey, segment.graphic_line_contrast * 255.0,
                          segment.graphic_line_min_px).astype(bool)
    return max(_longest_line_px(runs), _longest_line_px(runs.T))


def _print_scale_bars(bars_px: list[int], n_photos: int) -> None:
    """The assumed scale against the scale bars burnt into some photos."""
    bars = np.array([b for b in bars_px if b > 0])
    if bars.size == 0:
        print(f"  scale bars: none found in {n_photos} photos")
        return
    print(f"  scale bars (thin dark straight lines >= {PARAMS.segment.graphic_line_min_px} px; the device's "
          f"1.0 mm bar): {bars.size} of {n_photos} photos, median {np.median(bars):.0f} px "
          f"(range {bars.min()}-{bars.max()}; shorter ones are bars crossed by a "
          f"hair), against the assumed {FDU_PX_PER_MM:.0f} px/mm")


#: What lies in a box that no counted shaft's midpoint was paired with.
MISS_KINDS = ("traced as one with a neighbour", "a counted shaft across it", "an uncounted shaft",
              "nothing traced")


#: A box is grown by this before a point is tested against it, px.
BOX_PAD_PX = 10.0


def _in_box(x: float, y: float, box: tuple[str, float, float, float, float]) -> bool:
    """Whether ``(x, y)`` lies in the box grown by ``BOX_PAD_PX``."""
    _, x0, y0, x1, y1 = box
    return x0 - BOX_PAD_PX <= x <= x1 + BOX_PAD_PX and y0 - BOX_PAD_PX <= y <= y1 + BOX_PAD_PX


def _passes_through(hair: Hair, box: tuple[str, float, float, float, float]) -> bool:
    """Whether the straight line from a hair's emergence point to its tip
    crosses the grown box (sampled at 21 points)."""
    (ex, ey), (tx, ty) = hair.emergence_xy_px, hair.tip_xy_px
    return any(_in_box(ex + f * (tx - ex), ey + f * (ty - ey), box) for f in np.linspace(0.0, 1.0, 21))


def _missed_box_kind(box: tuple[str, float, float, float, float], pts: list[tuple[float, float]],
                     counted: list[Hair], hairs: tuple[Hair, ...]) -> str:
    """Why a box was not located (one of ``MISS_KINDS``): a counted shaft's
    midpoint lies in it but was paired with another box (unit mates traced
    as one shaft), a counted shaft crosses it, only an uncounted shaft does
    (too short, a loose hair, in the edge strip), or no traced shaft does."""
    if any(_in_box(x, y, box) for x, y in pts):
        return MISS_KINDS[0]
    if any(_passes_through(hair, box) for hair in counted):
        return MISS_KINDS[1]
    if any(_passes_through(hair, box) for hair in hairs if not hair.counted):
        return MISS_KINDS[2]
    return MISS_KINDS[3]


def _print_width_classes(located: list[tuple[str, float, bool]]) -> None:
    """Widths of the located shafts against the annotators' classes: a shaft in
    an ``undersize`` (thin hair) box should read narrower than one in a
    ``single`` or ``premium`` box. The rank figure (the probability that a
    thin-class shaft reads narrower than a thick-class one, ties half) does
    not depend on the assumed scale; the vellus / terminal shares do."""
    thin = np.array([w for c, w, _ in located if c == "undersize"])
    thick = np.array([w for c, w, _ in located if c in ("single", "premium")])
    if thin.size == 0 or thick.size == 0:
        return
    rank = float(np.mean(thin[:, None] < thick[None, :])
                 + 0.5 * np.mean(thin[:, None] == thick[None, :]))
    thin_vellus = np.mean([not t for c, _, t in located if c == "undersize"])
    thick_terminal = np.mean([t for c, _, t in located if c in ("single", "premium")])
    print(f"  widths by the annotators' class (located shafts): undersize n={thin.size} median "
          f"{np.median(thin):.1f} px, read vellus {100 * thin_vellus:.0f} %; single/premium "
          f"n={thick.size} median {np.median(thick):.1f} px, read terminal "
          f"{100 * thick_terminal:.0f} %; P(undersize narrower) {rank:.3f}")


def run_fdu(split: str, quick: bool, verbose: bool) -> None:
    root = DATA / "trichoscopy-fdu"
    if not root.is_dir():
        print(f"TRICHOSCOPY-FDU  skipped: {root} not found\n")
        return
    stems = sorted(p.stem for p in (root / "annotations").glob("*.xml"))
    patients = sorted({_patient(s) for s in stems})
    half = patients[0::2] if split == "tune" else patients[1::2]
    if quick:
        half = half[::4]
    chosen = set(half)
    stems = [s for s in stems if _patient(s) in chosen]
    print(f"TRICHOSCOPY-FDU  split={split} (sorted patient ids, "
          f"{'even' if split == 'tune' else 'odd'} positions{', every 4th' if quick else ''})  "
          f"patients={len(half)}  photos={len(stems)}  assumed {FDU_PX_PER_MM:.0f} px/mm")
    errs, recalls, precisions, widths_px = [], [], [], []
    located: list[tuple[str, float, bool]] = []  # (box class, width px, is_terminal)
    boxes_found: list[tuple[str, bool]] = []  # (box class, located)
    misses: Counter[tuple[str, str]] = Counter()  # (box class, what lies there)
    long_hair = 0
    bars_px: list[int] = []
    t0 = time.perf_counter()
    for s in stems:
        boxes = [b for b in _boxes(root / "annotations" / f"{s}.xml") if b[0] != "abnormal"]
        photo = load_photo(root / "images" / f"{s}.jpg")
        bars_px.append(scale_bar_px(photo.pixels))
        a = analyze(photo, px_per_mm=FDU_PX_PER_MM, params=PARAMS)
        counted = [h for h in a.hairs if h.counted]
        widths_px += [h.width_px for h in counted]
        # A counted hair is located by the midpoint of its visible shaft.
        pts = [((h.emergence_xy_px[0] + h.tip_xy_px[0]) / 2, (h.emergence_xy_px[1] + h.tip_xy_px[1]) / 2)
               for h in counted]
        # The count is the photo's reported hair count; the truth, the boxes
        # centred in the area it covers (all but the edge strip and the
        # device's grey band with a strip along it).
        area = a.measured_area
        h, w = area.shape
        centred = [bool(area[min(int((y0 + y1) / 2), h - 1), min(int((x0 + x1) / 2), w - 1)])
                   for _, x0, y0, x1, y1 in boxes]
        inside = sum(centred)
        err = a.whole.hair_count - inside
        errs.append(err)
        long_hair += any(f.name == "long_hair" for f in a.flags)
        # Location check: a box is found when a counted shaft's midpoint lies in it
        # (grown by BOX_PAD_PX), each shaft used once.
        used = set()
        found = 0
        for box, in_area in zip(boxes, centred):
            cls = box[0]
            hit = False
            for i, (x, y) in enumerate(pts):
                if i not in used and _in_box(x, y, box):
                    used.add(i)
                    found += 1
                    located.append((cls, counted[i].width_px, bool(counted[i].is_terminal)))
                    hit = True
                    break
            boxes_found.append((cls, hit))
            if in_area and not hit:
                misses[(cls, _missed_box_kind(box, pts, counted, a.hairs))] += 1
        recalls.append(found / max(len(boxes), 1))
        precisions.append(found / max(len(pts), 1) if pts else 1.0)
        if verbose:
            print(f"    {s:22s} count {a.whole.hair_count:3d} truth {inside:3d} err {err:+3d}  "
                  f"located {found}", flush=True)
    e = np.asarray(errs, dtype=float)
    print(f"  count MAE {np.abs(e).mean():.2f} hairs/photo  (mean signed {e.mean():+.2f}, "
          f"median |err| {np.median(np.abs(e)):.1f}, worst {np.abs(e).max():.0f})  "
          f"target <= 2.0 {'MET' if np.abs(e).mean() <= 2.0 else 'MISSED'}")
    print(f"  located: recall {np.mean(recalls):.3f}  precision {np.mean(precisions):.3f} "
          f"(counted shaft's midpoint inside a non-abnormal box)")
    by_class = ", ".join(
        f"{cls} {sum(hit for c, hit in boxes_found if c == cls)}/{n} "
        f"({sum(hit for c, hit in boxes_found if c == cls) / n:.2f})"
        for cls, n in sorted(Counter(c for c, _ in boxes_found).items()))
    print(f"  located recall by the annotators' class: {by_class}")
    for cls in sorted({c for c, _ in misses}):
        kinds = ", ".join(f"{kind} {misses[(cls, kind)]}" for kind in MISS_KINDS if misses[(cls, kind)])
        print(f"  {cls} boxes in the measured area not located, by what lies there: {kinds}")
    q1, q2, q3 = np.percentile(widths_px, [25, 50, 75])
    print(f"  counted shafts' width: median {q2:.1f} px (quartiles {q1:.1f}, {q3:.1f}), "
          f"{q2 * 1000 / FDU_PX_PER_MM:.1f} um at the assumed scale; the set's notes give "
          f"25-30 px for terminal shafts")
    _print_width_classes(located)
    _print_scale_bars(bars_px, len(stems))
    print(f"  long_hair flag raised on {long_hair} of {len(stems)} photos (all of clipped hair)")
    print(f"  ({time.perf_counter() - t0:.0f} s)\n", flush=True)


def run_patches(split: str, quick: bool, verbose: bool) -> None:
    root = DATA / "scalp-patches"
    if not root.is_dir():
        print(f"SCALP-PATCHES  skipped: {root} not found\n")
        return
    names = sorted(p.name for p in (root / "masks").glob("*.png"))
    names = [n for n in names if int(Path(n).stem) % 2 == (0 if split == "tune" else 1)]
    if quick:
        names = names[::2]
    print(f"SCALP-PATCHES  split={split} ({'even' if split == 'tune' else 'odd'} file numbers"
          f"{', every 2nd' if quick else ''})  n={len(names)}  assumed {PATCH_PX_PER_MM:.0f} px/mm")
    scores = []
    for n in names:
        truth = cv2.imread(str(root / "masks" / n), cv2.IMREAD_GRAYSCALE) > 127
        a = analyze(load_photo(root / "images" / n), px_per_mm=PATCH_PX_PER_MM, params=PARAMS)
        scores.append(dice(a.hair_mask, truth))
        if verbose:
            print(f"    {n} dice {scores[-1]:.3f}", flush=True)
    s = np.asarray(scores)
    print(f"  mean Dice {s.mean():.3f}  median {np.median(s):.3f}  worst {s.min():.3f}  "
          f"target mean >= 0.85 {'MET' if s.mean() >= 0.85 else 'MISSED'}\n", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("report", "tune"), default="report")
    ap.add_argument("--quick", action="store_true", help="subsets, for iterating")
    ap.add_argument("--part", choices=("all", "phantoms", "loose", "fdu", "patches"), default="all")
    ap.add_argument("--verbose", action="store_true", help="one line per photo")
    ap.add_argument("--set", action="append", default=[], metavar="GROUP.NAME=VALUE",
                    help="override a parameter, VALUE in JSON (true, 0.5); figures then are of the overrides")
    args = ap.parse_args()
    global PARAMS
    overrides = parse_overrides(args.set)
    if overrides:
        PARAMS = Params.from_dict(overrides)
        print(f"PARAMETER OVERRIDES {overrides}\n")
    if args.part in ("all", "phantoms"):
        run_phantoms(args.split, args.quick, args.verbose)
    if args.part in ("all", "loose"):
        run_loose(args.split, args.quick)
    if args.part in ("all", "fdu"):
        run_fdu(args.split, args.quick, args.verbose)
    if args.part in ("all", "patches"):
        run_patches(args.split, args.quick, args.verbose)


if __name__ == "__main__":
    main()
