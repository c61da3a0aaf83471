"""The ``--view`` route of ``analyze`` and ``compare``: standardized global photographs."""

from __future__ import annotations

import json
from typing import Any

import click

from scalpmetrics.params import Params

#: Accepted values of ``--view``.
VIEW_CHOICES = ("vertex", "midline", "frontal", "temporal", "auto")


def read_clinic_regions(regions_mask: str | None, regions_polygons: str | None) -> Any:
    """ClinicRegions from a label image and/or a polygon JSON file (None when neither)."""
    from scalpmetrics.errors import RegionError
    from scalpmetrics.globalview.clinic import ClinicRegions, parse_polygon_regions
    from scalpmetrics.io import read_file_bytes, read_label_image

    if regions_mask is None and regions_polygons is None:
        return None
    labels = read_label_image(regions_mask) if regions_mask else None
    polygons: tuple[Any, ...] = ()
    frame = None
    if regions_polygons:
        try:
            data = json.loads(read_file_bytes(regions_polygons).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise RegionError(f"{regions_polygons}: not valid JSON ({exc})") from None
        parsed = parse_polygon_regions(data)
        polygons, frame = parsed.polygons, parsed.reference_frame
    if labels is not None and frame is not None:
        raise RegionError(
            "a polygon file with a head_frame cannot be combined with a label image "
            "(they may come from different photos)"
        )
    return ClinicRegions(labels, polygons, frame)


def run_analyze(
    photo: str,
    *,
    view: str,
    px_per_mm: float | None,
    field_width_mm: float | None,
    regions_mask: str | None,
    regions_polygons: str | None,
    as_json: bool,
    mask_out: str | None,
    overlay_out: str | None,
    params: Params,
) -> None:
    """Analyse one global photo and print (and write) the result."""
    from scalpmetrics.globalview import analyze_global
    from scalpmetrics.globalview.present import format_global_summary, render_global_overlay
    from scalpmetrics.io import load_photo
    from scalpmetrics.report import atomic_write_bytes, check_output_path, encode_png, to_json

    for out in (mask_out, overlay_out):  # fail before the analysis
        if out:
            check_output_path(out)
    loaded = load_photo(photo, params=params.load)
    regions = read_clinic_regions(regions_mask, regions_polygons)
    result = analyze_global(
        loaded, view=view, regions=regions, px_per_mm=px_per_mm,
        field_width_mm=field_width_mm, params=params,
    )
    if mask_out:
        fraction = (result.hair_fraction.clip(0.0, 1.0) * 255.0).round().astype("uint8")
        atomic_write_bytes(mask_out, encode_png(fraction))
    if overlay_out:
        atomic_write_bytes(overlay_out, encode_png(render_global_overlay(loaded.pixels, result)))
    if as_json:
        click.echo(to_json(result.to_dict()), nl=False)
    else:
        click.echo(format_global_summary(result), nl=False)


def run_compare(
    photos: tuple[str, ...],
    *,
    view: str,
    dates: list[str | None] | None,
    regions_mask: str | None,
    regions_polygons: str | None,
    as_json: bool,
    report_out: str | None,
    params: Params,
) -> None:
    """Compare global photos; print the result and write the HTML report if asked."""
    from scalpmetrics.globalview import compare_global
    from scalpmetrics.globalview.present import format_global_comparison
    from scalpmetrics.report import check_output_path, to_json

    if report_out:
        check_output_path(report_out)  # fail before the analysis
    regions = read_clinic_regions(regions_mask, regions_polygons)
    result = compare_global(photos, view=view, regions=regions, dates=dates, params=params)
    if report_out:
        from scalpmetrics.globalview.report_html import write_global_report

        write_global_report(report_out, result)
    for flag in result.flags:
        click.echo(f"warning: {flag.message}", err=True)
    record = result.to_dict()
    if as_json:
        click.echo(to_json(record), nl=False)
    else:
        click.echo(format_global_comparison(record), nl=False)
