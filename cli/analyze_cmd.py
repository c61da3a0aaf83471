"""``scalpmetrics analyze``: measure one photo."""

from __future__ import annotations

from typing import Any

import click

from scalpmetrics_cli.options import build_params, calibration_options, params_options
from scalpmetrics_cli.global_view import VIEW_CHOICES, run_analyze


def _parse_marker(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """``DICT:ID:SIDE_MM`` -> MarkerSpec; a malformed value is a usage error."""
    if value is None:
        return None
    from scalpmetrics.errors import ParameterError
    from scalpmetrics.marker import parse_marker_spec

    try:
        return parse_marker_spec(value)
    except ParameterError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("analyze")
@click.argument("photo", type=click.Path(dir_okay=True, allow_dash=False))
@calibration_options
@click.option("--marker", default=None, metavar="DICT:ID:SIDE_MM", callback=_parse_marker,
              help="A square marker in view (for example DICT_4X4_50:7:5.0): its scale is "
                   "the calibration unless --px-per-mm/--field-width-mm is given; its area "
                   "is left out of the analysis.")
@click.option("--regions", "grid", default=None, metavar="grid:RxC",
              help="Also measure an R x C grid of equal cells.")
@click.option("--regions-mask", type=click.Path(), default=None, metavar="PNG",
              help="Label image: 0 = outside, 1..N = regions (named label_N).")
@click.option("--view", type=click.Choice(VIEW_CHOICES), default=None,
              help="A standardized global photo of this view: measure coverage per zone of "
                   "the head instead of hairs (see docs/global.md).")
@click.option("--regions-polygons", type=click.Path(), default=None, metavar="JSON",
              help="With --view: clinic regions as named polygons (see docs/global.md).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--mask-out", type=click.Path(dir_okay=False), default=None, metavar="PNG",
              help="Write the hair mask (255 = hair).")
@click.option("--overlay-out", type=click.Path(dir_okay=False), default=None, metavar="PNG",
              help="Write the photo with the mask and traced hairs drawn on it.")
@params_options
def analyze_command(
    photo: str,
    px_per_mm: float | None,
    field_width_mm: float | None,
    marker: Any,
    grid: str | None,
    regions_mask: str | None,
    view: str | None,
    regions_polygons: str | None,
    as_json: bool,
    mask_out: str | None,
    overlay_out: str | None,
    config_path: str | None,
    param_overrides: tuple[str, ...],
) -> None:
    """Measure hair density, width and coverage in PHOTO."""
    from scalpmetrics.analysis import analyze
    from scalpmetrics.io import load_photo, read_label_image
    from scalpmetrics.report import (
        check_output_path,
        format_summary,
        to_json,
        write_mask_png,
        write_overlay_png,
    )

    for out in (mask_out, overlay_out):  # fail before the analysis, and before writing either
        if out:
            check_output_path(out)
    params = build_params(config_path, param_overrides)
    if view is not None or regions_polygons is not None:
        if view is None:
            raise click.UsageError("--regions-polygons needs --view")
        if marker is not None or grid is not None:
            raise click.UsageError("--marker and --regions grid:RxC are not available with --view")
        run_analyze(
            photo, view=view, px_per_mm=px_per_mm, field_width_mm=field_width_mm,
            regions_mask=regions_mask, regions_polygons=regions_polygons, as_json=as_json,
            mask_out=mask_out, overlay_out=overlay_out, params=params,
        )
        return
    loaded = load_photo(photo, params=params.load)
    labels = read_label_image(regions_mask) if regions_mask else None
    result = analyze(
        loaded, px_per_mm=px_per_mm, field_width_mm=field_width_mm, marker=marker,
        grid=grid, region_labels=labels, params=params,
    )
    if mask_out:
        write_mask_png(mask_out, result.hair_mask)
    if overlay_out:
        write_overlay_png(overlay_out, loaded.pixels, result)
    if as_json:
        click.echo(to_json(result.to_dict()), nl=False)
    else:
        click.echo(format_summary(result), nl=False)
