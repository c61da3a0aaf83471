"""``scalpmetrics batch``: score many photos into one tidy table."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import Any

import click

from scalpmetrics_cli.options import build_params, calibration_options, params_options


@click.command("batch")
@click.argument("inputs", metavar="INPUT", type=click.Path())
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              metavar="TABLE", help="Output table: results.csv or results.parquet.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Local worker processes (default: all cores; 0: run in this process).")
@click.option("--scheduler", envvar="DASK_SCHEDULER_ADDRESS", default=None, metavar="ADDRESS",
              help="Run on a Dask cluster (tcp://host:8786); default $DASK_SCHEDULER_ADDRESS.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run: score only photos missing from its journal.")
@click.option("--overwrite", is_flag=True,
              help="Discard an earlier run's journal and tables and start again.")
@click.option("--validate", is_flag=True,
              help="Only check every path, format and calibration, list the problems, "
                   "and score nothing.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@click.option("--regions", "grid", default=None, metavar="grid:RxC",
              help="Also measure an R x C grid of equal cells in every photo.")
@calibration_options
@params_options
@click.pass_context
def batch_command(
    ctx: click.Context,
    inputs: str,
    out_path: str,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    overwrite: bool,
    validate: bool,
    no_progress: bool,
    grid: str | None,
    px_per_mm: float | None,
    field_width_mm: float | None,
    config_path: str | None,
    param_overrides: tuple[str, ...],
) -> None:
    """Score every photo of INPUT into one table: a row per (photo, region).

    INPUT is a manifest CSV (a `path` column, optional `px_per_mm` or
    `field_width_mm`, any other columns carried through) or a folder laid out
    as SUBJECT/VISIT/photo. Nothing is printed on stdout; progress and the
    summary go to stderr. See docs/batch.md.
    """
    from scalpmetrics.manifest import load_inputs

    if scheduler is not None and workers is not None:
        if ctx.get_parameter_source("scheduler") is click.core.ParameterSource.ENVIRONMENT:
            scheduler = None  # an explicit --workers wins over the environment
        else:
            raise click.UsageError("give --workers or --scheduler, not both")
    params = build_params(config_path, param_overrides)
    manifest = load_inputs(inputs)
    if validate:
        _validate(manifest, out_path, resume, overwrite, grid, px_per_mm, field_width_mm, params)
        return
    from scalpmetrics.batch import run_batch

    with _Progress(enabled=not no_progress) as progress:
        summary = run_batch(
            manifest, out_path=out_path, workers=workers, scheduler=scheduler,
            resume=resume, overwrite=overwrite, grid=grid, px_per_mm=px_per_mm,
            field_width_mm=field_width_mm, params=params, progress=progress,
        )
    _say(
        f"{summary.photos} photos: {summary.scored} scored now, {summary.reused} from the "
        f"journal, {summary.failed} failed ({summary.executor}, {summary.elapsed_s:.1f} s)"
    )
    if summary.journal_lines_ignored:
        _say(f"{summary.journal_lines_ignored} unreadable journal line(s) ignored; "
             "their photos were scored again")
    written = [str(p) for p in (summary.out_path, summary.changes_path) if p is not None]
    _say(f"wrote {' and '.join(written)} ({summary.rows} rows)")
    if summary.failed:
        _say("failed photos have status 'error' and the reason in the 'error' column")


def _validate(manifest: Any, out_path: str, resume: bool, overwrite: bool, grid: str | None,
              px_per_mm: float | None, field_width_mm: float | None, params: Any) -> None:
    """Check inputs and output; exit 1 listing the problems, or 0 when all is well."""
    from scalpmetrics.batch import output_plan, table_names
    from scalpmetrics.errors import ScalpmetricsError
    from scalpmetrics.manifest import validate_inputs
    from scalpmetrics.regions import parse_grid_spec
    from scalpmetrics_cli.main import EXIT_INPUT

    general = []
    checks = [lambda: output_plan(out_path, resume=resume, overwrite=overwrite),
              lambda: table_names(manifest.columns)]
    if grid is not None:
        checks.append(lambda: parse_grid_spec(grid))
    for check in checks:
        try:
            check()
        except ScalpmetricsError as exc:
            general.append(str(exc))
    problems = validate_inputs(manifest, px_per_mm=px_per_mm, field_width_mm=field_width_mm,
                               params=params)
    for line in general + [str(p) for p in problems]:
        _say(f"problem: {line}")
    photos = len({p.index for p in problems})
    if general or problems:
        _say(f"{len(general) + len(problems)} problem(s); {photos} of "
             f"{len(manifest.rows)} photos affected")
        sys.exit(EXIT_INPUT)
    _say(f"{len(manifest.rows)} photos checked: no problems found")


def _say(text: str) -> None:
    click.echo(text, err=True)


class _Progress:
    """A progress bar on stderr with rate and time left, fed by run_batch's callback."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._stack = ExitStack()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def __call__(self, event: Any) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            self._bar = self._stack.enter_context(click.progressbar(
                length=event.total, label="scoring", show_eta=True, show_pos=True,
                item_show_func=_describe, file=sys.stderr,
            ))
        if event.done:
            self._bar.update(event.done - self._bar.pos, event)


def _describe(event: Any) -> str | None:
    if event is None or event.rate_per_s is None:
        return None
    return f"{event.rate_per_s:.2f} photos/s, {event.failed} failed"
