"""``scalpmetrics compare``: changes between a baseline photo and follow-up photos."""

from __future__ import annotations

from typing import Any

import click

from scalpmetrics_cli.options import build_params, params_options
from scalpmetrics_cli.global_view import VIEW_CHOICES, run_compare


@click.command("compare")
@click.argument("photos", nargs=-1, required=True, type=click.Path(dir_okay=True, allow_dash=False),
                metavar="BASELINE FOLLOWUP [FOLLOWUP ...]")
@click.option("--px-per-mm", type=float, default=None,
              help="Scale of every photo: pixels per millimetre on the scalp.")
@click.option("--dates", default=None, metavar="DATE,DATE,...",
              help="Capture date of each photo (ISO, comma-separated, baseline first); "
                   "default: the EXIF capture times.")
@click.option("--regions", "grid", default=None, metavar="grid:RxC",
              help="Also report an R x C grid of the baseline photo, cut to the common area.")
@click.option("--view", type=click.Choice(VIEW_CHOICES), default=None,
              help="Standardized global photos of this view: compare coverage per zone of "
                   "the head (see docs/global.md).")
@click.option("--regions-mask", type=click.Path(), default=None, metavar="PNG",
              help="With --view: clinic label image drawn on the baseline (0 = outside).")
@click.option("--regions-polygons", type=click.Path(), default=None, metavar="JSON",
              help="With --view: clinic polygons drawn on the baseline.")
@click.option("--allow-unregistered", is_flag=True,
              help="Flag a follow-up that cannot be aligned (null changes) instead of failing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--report-out", type=click.Path(dir_okay=False), default=None, metavar="HTML",
              help="Write a self-contained HTML report.")
@params_options
def compare_command(
    photos: tuple[str, ...],
    px_per_mm: float | None,
    dates: str | None,
    grid: str | None,
    view: str | None,
    regions_mask: str | None,
    regions_polygons: str | None,
    allow_unregistered: bool,
    as_json: bool,
    report_out: str | None,
    config_path: str | None,
    param_overrides: tuple[str, ...],
) -> None:
    """Compare FOLLOWUP photos of one scalp site with the BASELINE photo.

    Each follow-up is aligned to the baseline; every visit is measured on the
    area all photos share; hairs are matched one by one. Exits with status 1
    when a follow-up cannot be aligned, unless --allow-unregistered.
    """
    from scalpmetrics.compare import compare_visits
    from scalpmetrics.report import check_output_path, to_json

    if len(photos) < 2:
        raise click.UsageError("give a baseline photo and at least one follow-up photo")
    if report_out:  # fail before the analysis, not after it
        from scalpmetrics.report_html import require_report_extra

        check_output_path(report_out)
        require_report_extra()
    params = build_params(config_path, param_overrides)
    date_list = None if dates is None else [d.strip() or None for d in dates.split(",")]
    if view is not None or regions_mask is not None or regions_polygons is not None:
        if view is None:
            raise click.UsageError("--regions-mask and --regions-polygons need --view")
        if grid is not None:
            raise click.UsageError("--regions grid:RxC is not available with --view")
        run_compare(
            photos, view=view, dates=date_list, regions_mask=regions_mask,
            regions_polygons=regions_polygons, as_json=as_json, report_out=report_out,
            params=params,
        )
        return
    result = compare_visits(
        photos, px_per_mm=px_per_mm, dates=date_list, grid=grid, params=params,
        allow_unregistered=allow_unregistered,
    )
    for flag in result.flags:
        click.echo(f"warning: {flag.message}", err=True)
    if report_out:
        from scalpmetrics.report_html import write_compare_report

        write_compare_report(report_out, result)
    if as_json:
        click.echo(to_json(result.to_dict()), nl=False)
    else:
        click.echo(_summary(result.to_dict()), nl=False)


def _fmt(value: Any, digits: int = 1, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _summary(record: dict[str, Any]) -> str:
    """A short table of the changes (the human-readable output)."""
    area = record["common_area"]
    lines = [
        f"baseline   {record['visits'][0]['image']['path'] or '(array)'}",
        f"common     {_fmt(area['area_cm2'], 3)} cm2 "
        f"({100 * area['fraction_of_baseline']:.0f} % of the baseline photo)",
        "",
    ]
    cols = ("visit", "hairs", "count %", "95 % interval", "terminal %", "thickness %",
            "coverage pts", "new", "lost", "thickened", "beyond MDC")
    rows: list[tuple[str, ...]] = [cols]
    for c in record["changes"]:
        if c["status"] != "ok":
            rows.append((str(c["visit"]), "registration failed") + ("",) * (len(cols) - 2))
            continue
        ci = c["ci95"]["hair_count_change_pct"]
        rows.append((
            str(c["visit"]),
            f"{c['baseline']['hair_count']} -> {c['followup']['hair_count']}",
            _fmt(c["hair_count_change_pct"], signed=True),
            "-" if ci is None else f"{ci[0]:+.1f} to {ci[1]:+.1f}",
            _fmt(c["terminal_count_change_pct"], signed=True),
            _fmt(c["cumulative_thickness_change_pct"], signed=True),
            _fmt(c["coverage_change_points"], 2, signed=True),
            str(c["new_hairs"]), str(c["lost_hairs"]), str(c["thickened_hairs"]),
            "-" if c["beyond_mdc"] is None else ("yes" if c["beyond_mdc"] else "no"),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    lines += ["  ".join(cell.rjust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    if any(c.get("detection_recall") for c in record["changes"]):
        lines += ["", "percent changes count each hair found as 1 / (its photo's detector recall "
                  "for its class): docs/compare.md, 'Detection recall'"]
    trend = record["trend"]
    if trend is not None:
        lines += ["", "trend      hair count "
                  f"{_fmt(trend['per_month']['hair_count_change_pct'], 2, signed=True)} % per month"]
    return "\n".join(lines) + "\n"
