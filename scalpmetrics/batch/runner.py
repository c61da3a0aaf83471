"""A batch run: score the photos the journal lacks on an executor, then write the tables."""

from __future__ import annotations

import functools
import glob
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from scalpmetrics import __version__
from scalpmetrics.batch.changes import (
    SUBJECT_COLUMN,
    VISIT_COLUMN,
    change_table_columns,
    visit_changes,
)
from scalpmetrics.batch.journal import JOURNAL_FORMAT, JOURNAL_KIND, Journal, photo_key
from scalpmetrics.batch.rows import (
    RESULT_COLUMNS,
    STATUS_ERROR,
    error_row,
    file_sha256,
    score_photo,
)
from scalpmetrics.batch.tables import output_plan, table_names, write_table
from scalpmetrics.batch.types import (
    AnalysisOptions,
    BatchProgress,
    BatchSummary,
    OutputPlan,
    PhotoTask,
)
from scalpmetrics.executors import BatchExecutor, WorkerLost, make_executor
from scalpmetrics.manifest import (
    FIELD_WIDTH_COLUMN,
    PX_PER_MM_COLUMN,
    Manifest,
    ManifestRow,
    load_inputs,
)
from scalpmetrics.params import Params
from scalpmetrics.regions import parse_grid_spec
from scalpmetrics.types import Analysis


def analyze(photo: Any, **options: Any) -> Analysis:
    """The single-photo pipeline, :func:`scalpmetrics.analysis.analyze`.

    Imported on first use, so reading and validating manifests does not load
    the image-processing stack.
    """
    from scalpmetrics.analysis import analyze as analyze_photo

    return analyze_photo(photo, **options)


def run_batch(
    inputs: Manifest | str | os.PathLike[str],
    *,
    out_path: str | os.PathLike[str],
    workers: int | None = None,
    scheduler: Any = None,
    resume: bool = False,
    overwrite: bool = False,
    grid: str | None = None,
    px_per_mm: float | None = None,
    field_width_mm: float | None = None,
    params: Params = Params(),
    progress: Callable[[BatchProgress], None] | None = None,
) -> BatchSummary:
    """Score every photo of a manifest into one tidy table.

    Parameters
    ----------
    inputs : Manifest, or path of a manifest CSV or a ``SUBJECT/VISIT/photo`` folder
        The photos, in order.
    out_path : str or path-like
        The table, ``.csv`` or ``.parquet`` (Parquet needs the ``table``
        extra). Its folder must exist. Beside it go ``<out>.journal.jsonl``
        and, when the manifest has ``subject`` and ``visit`` columns, the
        change table ``<stem>.changes<suffix>``.
    workers : int, optional
        Local worker processes; default one per available core; ``0`` runs
        in this process.
    scheduler : str or distributed.Client, optional
        Run on a Dask cluster instead (``'tcp://host:8786'``); needs the
        ``dask`` extra and the photos at the same paths on every worker.
    resume : bool
        Continue the journal of an earlier, interrupted run: only photos it
        lacks are scored. The settings must be the same.
    overwrite : bool
        Discard an earlier run's journal and tables and start again. Without
        ``resume`` or ``overwrite`` an earlier run's files are an error.
    grid : str, optional
        ``'grid:RxC'``: also measure R x C equal cells of every photo.
    px_per_mm, field_width_mm : float, optional
        Calibration for rows whose ``px_per_mm`` and ``field_width_mm`` cells
        are empty (or absent); a row's own calibration wins.
    params : Params
        Analysis parameters.
    progress : callable, optional
        Called with a :class:`~scalpmetrics.batch.BatchProgress` before scoring starts and after
        every photo.

    Returns
    -------
    BatchSummary

    Raises
    ------
    ManifestError, BatchError, MissingExtraError, RegionError
        Before any photo is analysed: a bad manifest, output, executor or grid.
        A photo that fails does not raise: its row has ``status='error'``.

    Notes
    -----
    Output rows follow the manifest, then the regions of each photo; the
    figures do not depend on ``workers``. The process pool starts its workers
    with ``spawn``: a script calling this must guard its entry point with
    ``if __name__ == "__main__":``.
    """
    started = time.perf_counter()
    manifest = inputs if isinstance(inputs, Manifest) else load_inputs(inputs)
    plan = output_plan(out_path, resume=resume, overwrite=overwrite)
    if grid is not None:
        parse_grid_spec(grid)
    names = table_names(manifest.columns)
    options = AnalysisOptions(params=params, grid=grid, px_per_mm=px_per_mm,
                              field_width_mm=field_width_mm)
    header = {
        "kind": JOURNAL_KIND,
        "format": JOURNAL_FORMAT,
        "scalpmetrics_version": __version__,
        "parameters_digest": params.digest(),
        "grid": grid,
        "px_per_mm": px_per_mm,
        "field_width_mm": field_width_mm,
        "parameters": params.to_dict(),
        "inputs": str(manifest.source),
    }
    executor = make_executor(workers=workers, scheduler=scheduler)
    try:
        journal = Journal.open(plan.journal_path, header, resume=resume)
        try:
            _remove_partial_tables(plan)
            keys = [photo_key(row) for row in manifest.rows]
            pending = [i for i, key in enumerate(keys) if key not in journal.done]
            _score(manifest, keys, pending, journal, executor, options, progress)
        finally:
            journal.close()
    finally:
        executor.close()
    photos = [(row, journal.done[key]) for row, key in zip(manifest.rows, keys, strict=True)]
    table = [{**_carried(row, names), **r} for row, rows in photos for r in rows]
    columns = list(names.values()) + list(RESULT_COLUMNS)
    kinds = {**dict.fromkeys(names.values(), str), **RESULT_COLUMNS}
    write_table(plan.out_path, table, columns=columns, kinds=kinds)
    changes_path: Path | None = None
    if SUBJECT_COLUMN in names and VISIT_COLUMN in names:
        change_columns, change_kinds = change_table_columns(names)
        write_table(plan.changes_path, visit_changes(photos, names=names),
                    columns=change_columns, kinds=change_kinds)
        changes_path = plan.changes_path
    elif plan.changes_path.exists():
        plan.changes_path.unlink()  # an earlier run's, which this run's settings replace
    return BatchSummary(
        out_path=plan.out_path,
        journal_path=plan.journal_path,
        changes_path=changes_path,
        photos=len(manifest.rows),
        scored=len(pending),
        reused=len(manifest.rows) - len(pending),
        failed=sum(rows[0]["status"] == STATUS_ERROR for _, rows in photos),
        rows=len(table),
        journal_lines_ignored=journal.ignored_lines,
        executor=executor.description,
        elapsed_s=time.perf_counter() - started,
    )


def _score(
    manifest: Manifest,
    keys: list[str],
    pending: list[int],
    journal: Journal,
    executor: BatchExecutor,
    options: AnalysisOptions,
    progress: Callable[[BatchProgress], None] | None,
) -> None:
    """Analyse the pending photos and journal each as it finishes."""
    tasks = [
        PhotoTask(
            str(manifest.rows[i].path),
            {c: manifest.rows[i].values[c] for c in (PX_PER_MM_COLUMN, FIELD_WIDTH_COLUMN)
             if c in manifest.rows[i].values},
        )
        for i in pending
    ]
    fn = functools.partial(score_photo, analyze_fn=analyze, options=options)
    started = time.perf_counter()
    failed = 0
    if progress:
        progress(BatchProgress(0, len(tasks), 0, 0.0))
    for done, (position, result) in enumerate(executor.map_unordered(fn, tasks), start=1):
        if isinstance(result, WorkerLost):
            result = [error_row(f"WorkerLost: {result.message}", params=options.params,
                                image_sha256=file_sha256(tasks[position].path))]
        index = pending[position]
        journal.append(keys[index], index, result)
        failed += result[0]["status"] == STATUS_ERROR
        if progress:
            progress(BatchProgress(done, len(tasks), failed, time.perf_counter() - started))


def _carried(row: ManifestRow, names: Mapping[str, str]) -> dict[str, str]:
    return {names[c]: v for c, v in row.values.items()}


def _remove_partial_tables(plan: OutputPlan) -> None:
    """Delete the temporary files an earlier run killed while writing its tables left
    (named as :func:`~scalpmetrics.report.atomic_write_bytes` names them)."""
    for table in (plan.out_path, plan.changes_path):
        for partial in table.parent.glob(f".{glob.escape(table.name)}.*.tmp"):
            partial.unlink(missing_ok=True)
