"""Many photos -> one tidy table, resumable, on a local process pool or a Dask cluster.

A run (:func:`run_batch`) goes:

1. The inputs become a :class:`~scalpmetrics.manifest.Manifest` (a CSV or a
   ``SUBJECT/VISIT/photo`` folder).
2. A journal ``OUT.journal.jsonl`` beside the output records every finished
   photo as one JSON line, appended with a single ``os.write`` and flushed
   with ``fsync``. A line cut short by a crash is detected and dropped.
3. Photos whose result is not in the journal are analysed by an executor
   (:mod:`scalpmetrics.executors`); each photo's rows reach the journal as
   soon as it finishes. A photo that fails yields one row saying why.
4. The table is written atomically from the journal, in manifest order and
   then region order, whatever the number of workers; so is the table of
   per-subject changes across visits.

After a crash or ``kill -9``, a run with ``resume=True`` scores only the photos
missing from the journal; the final table equals that of an uninterrupted run.
A photo is found in the journal by its manifest row (every column), its
absolute path and its file's size and modification time: a photo whose file
or row changed is scored again.

The journal is kept after the run: it is the record a later ``resume=True``
rerun (for example with more rows in the manifest) continues from.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import glob
import hashlib
import io
import json
import os
import statistics
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scalpmetrics import __version__
from scalpmetrics.errors import (
    BatchError,
    ManifestError,
    MissingExtraError,
    OutputFileError,
    ScalpmetricsError,
)
from scalpmetrics.executors import BatchExecutor, WorkerLost, make_executor
from scalpmetrics.manifest import (
    FIELD_WIDTH_COLUMN,
    PX_PER_MM_COLUMN,
    Manifest,
    ManifestRow,
    load_inputs,
    natural_sort_key,
    row_calibration,
)
from scalpmetrics.params import Params
from scalpmetrics.regions import parse_grid_spec
from scalpmetrics.report import atomic_write_bytes, check_output_path
from scalpmetrics.types import Analysis, RegionMetrics

try:
    import fcntl
except ImportError:  # Windows: runs are not protected against a concurrent second run
    fcntl = None  # type: ignore[assignment]

#: Output table formats by file name ending.
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet"}
JOURNAL_SUFFIX = ".journal.jsonl"
CHANGES_INFIX = ".changes"
JOURNAL_KIND = "scalpmetrics-batch-journal"
JOURNAL_FORMAT = 1
#: Run settings that must match for a journal to be resumed.
RESUME_SETTINGS = ("scalpmetrics_version", "parameters_digest", "grid", "px_per_mm",
                   "field_width_mm")
STATUS_OK = "ok"
STATUS_ERROR = "error"
#: Longest ``error`` cell, characters.
MAX_ERROR_CHARS = 300
#: Prefix given to manifest columns whose names the table itself uses.
MANIFEST_PREFIX = "manifest_"
_HASH_CHUNK_BYTES = 1 << 20


def _column_kind(hint: Any) -> type:
    """``int``, ``float`` or ``str`` from a field's type hint (``None`` allowed)."""
    args = typing.get_args(hint) or (hint,)
    for kind in (int, float, str):
        if kind in args:
            return kind
    raise TypeError(f"no table column type for {hint!r}")


#: The figures of a region, named as in :class:`~scalpmetrics.types.RegionMetrics`.
METRIC_COLUMNS: dict[str, type] = {
    name: _column_kind(hint)
    for name, hint in typing.get_type_hints(RegionMetrics).items()
    if name != "name"
}
#: Every column the batch adds after the manifest's, with its type.
RESULT_COLUMNS: dict[str, type] = {
    "status": str,
    "error": str,
    "region": str,
    **METRIC_COLUMNS,
    "image_sha256": str,
    "width_px": int,
    "height_px": int,
    "px_per_mm": float,
    "calibration_source": str,
    "flags": str,
    "scalpmetrics_version": str,
    "parameters_digest": str,
}

# Per-subject change table.
SUBJECT_COLUMN = "subject"
VISIT_COLUMN = "visit"
DATE_COLUMN = "date"
#: Manifest columns that name the photographed spot; photos of one subject are
#: compared across visits only within the same spot.
SPOT_COLUMNS = ("view", "site", "region")
#: Per-photo figure -> (its change, its change in percent), named as in
#: :class:`scalpmetrics.compare.VisitChange`. Coverage changes in percentage points.
CHANGE_METRICS: dict[str, tuple[str, str | None]] = {
    "hair_count": ("hair_count_change", "hair_count_change_pct"),
    "density_per_cm2": ("density_change_per_cm2", "density_change_pct"),
    "coverage_fraction": ("coverage_change_points", None),
}
PERCENT = 100.0
#: How the change table is computed (a column of it): differences of the
#: per-photo figures, averaged over the photos of a visit.
CHANGE_METHOD = "table_difference"


def analyze(photo: Any, **options: Any) -> Analysis:
    """The single-photo pipeline, :func:`scalpmetrics.analysis.analyze`.

    Imported on first use, so reading and validating manifests does not load
    the image-processing stack.
    """
    from scalpmetrics.analysis import analyze as analyze_photo

    return analyze_photo(photo, **options)


@dataclass(frozen=True)
class AnalysisOptions:
    """What every photo of a run is analysed with."""

    params: Params = field(default_factory=Params)
    grid: str | None = None
    px_per_mm: float | None = None
    field_width_mm: float | None = None


@dataclass(frozen=True)
class PhotoTask:
    """One photo to analyse: its path and the calibration cells of its manifest row."""

    path: str
    calibration_cells: Mapping[str, str]


@dataclass(frozen=True)
class BatchProgress:
    """Progress of the scoring part of a run (photos taken from the journal excluded)."""

    done: int
    total: int
    failed: int
    elapsed_s: float

    @property
    def rate_per_s(self) -> float | None:
        """Photos scored per second so far."""
        return self.done / self.elapsed_s if self.done and self.elapsed_s > 0 else None

    @property
    def eta_s(self) -> float | None:
        """Estimated seconds to finish."""
        rate = self.rate_per_s
        return None if rate is None else (self.total - self.done) / rate


@dataclass(frozen=True)
class BatchSummary:
    """What a run did.

    Attributes
    ----------
    out_path, journal_path : Path
        The table and its journal.
    changes_path : Path or None
        The per-subject change table; ``None`` when the manifest has no
        ``subject`` and ``visit`` columns.
    photos : int
        Manifest rows.
    scored : int
        Photos analysed by this run.
    reused : int
        Photos whose result came from the journal of an earlier run.
    failed : int
        Photos with ``status == 'error'`` in the table.
    rows : int
        Rows of the table.
    journal_lines_ignored : int
        Journal lines that could not be read (a line cut short by a crash);
        their photos were scored again.
    executor : str
        Where the photos were analysed.
    elapsed_s : float
        Wall time of the run.
    """

    out_path: Path
    journal_path: Path
    changes_path: Path | None
    photos: int
    scored: int
    reused: int
    failed: int
    rows: int
    journal_lines_ignored: int
    executor: str
    elapsed_s: float


@dataclass(frozen=True)
class OutputPlan:
    """The files of a run: table, change table and journal, and the table format."""

    out_path: Path
    changes_path: Path
    journal_path: Path
    format: str


# --------------------------------------------------------------------------- one photo


def score_photo(
    task: PhotoTask,
    *,
    analyze_fn: Callable[..., Analysis],
    options: AnalysisOptions,
) -> list[dict[str, Any]]:
    """Analyse one photo and return its table rows (without the manifest columns).

    Never raises for a photo's sake: any failure becomes one row with
    ``status='error'`` and a one-line ``error``.

    Returns
    -------
    list of dict
        One row per region (``status='ok'``), or one error row.
    """
    try:
        px_per_mm, field_width_mm = row_calibration(
            task.calibration_cells,
            px_per_mm=options.px_per_mm,
            field_width_mm=options.field_width_mm,
        )
        result = analyze_fn(
            task.path, px_per_mm=px_per_mm, field_width_mm=field_width_mm,
            grid=options.grid, params=options.params,
        )
        return analysis_rows(result)
    except Exception as exc:  # a failing photo never stops the batch
        return [error_row(describe_error(exc, path=task.path), params=options.params,
                          image_sha256=file_sha256(task.path))]


def analysis_rows(analysis: Analysis) -> list[dict[str, Any]]:
    """Table rows of one analysis: one per region, whole photo first."""
    shared = {
        "image_sha256": analysis.image.sha256,
        "width_px": analysis.image.width_px,
        "height_px": analysis.image.height_px,
        "px_per_mm": analysis.calibration.px_per_mm,
        "calibration_source": analysis.calibration.source,
        "flags": ";".join(flag.name for flag in analysis.flags),
        "scalpmetrics_version": analysis.provenance["scalpmetrics_version"],
        "parameters_digest": analysis.provenance["parameters_digest"],
    }
    return [
        _typed({
            "status": STATUS_OK,
            "error": None,
            "region": metrics.name,
            **{name: getattr(metrics, name) for name in METRIC_COLUMNS},
            **shared,
        })
        for metrics in analysis.regions
    ]


def error_row(message: str, *, params: Params, image_sha256: str | None = None) -> dict[str, Any]:
    """The one row of a photo that could not be analysed: figures empty."""
    row: dict[str, Any] = dict.fromkeys(RESULT_COLUMNS)
    row.update(status=STATUS_ERROR, error=message, image_sha256=image_sha256,
               scalpmetrics_version=__version__, parameters_digest=params.digest())
    return row


def describe_error(exc: BaseException, *, path: str | None = None) -> str:
    """One line: the error class and message, without the photo's path.

    Errors that are not :class:`~scalpmetrics.errors.ScalpmetricsError` are bugs
    and say ``internal error``.

    Examples
    --------
    >>> from scalpmetrics.errors import ImageDecodeError
    >>> describe_error(ImageDecodeError("/p/a.jpg: file is empty"), path="/p/a.jpg")
    'ImageDecodeError: file is empty'
    """
    text = " ".join(str(exc).split())
    if path and text.startswith(f"{path}: "):
        text = text[len(path) + 2:]
    name = type(exc).__name__
    prefix = name if isinstance(exc, ScalpmetricsError) else f"internal error {name}"
    line = f"{prefix}: {text}".rstrip(": ")
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 3] + "..."


def file_sha256(path: str | os.PathLike[str]) -> str | None:
    """SHA-256 of a file's bytes, or ``None`` when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_HASH_CHUNK_BYTES):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """Plain ``int``/``float``/``str`` values (NumPy scalars converted), ``None`` kept."""
    return {k: None if v is None else RESULT_COLUMNS[k](v) for k, v in row.items()}


# --------------------------------------------------------------------------- journal


class Journal:
    """The append-only record of finished photos.

    The first line is a header naming the run's settings; every other line is
    ``{"index": manifest index, "key": photo key, "rows": [...]}``. The file is
    locked while a run holds it, so that two runs cannot write one journal.
    """

    def __init__(self, path: Path, fd: int, done: dict[str, list[dict[str, Any]]],
                 ignored_lines: int) -> None:
        self.path = path
        self.done = done
        self.ignored_lines = ignored_lines
        self._fd = fd

    @classmethod
    def open(cls, path: Path, header: dict[str, Any], *, resume: bool) -> Journal:
        """Start a journal, or continue one when ``resume`` (a missing one is started).

        Raises
        ------
        BatchError
            Another run holds the journal; it is not a batch journal; or its
            settings differ from ``header``'s.
        """
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise BatchError(f"{path}: cannot open the journal ({exc.strerror})") from None
        try:
            _lock(fd, path)
            data = _read_all(fd) if resume else b""
            complete = data[: data.rfind(b"\n") + 1]
            if len(complete) < len(data) or not resume:
                os.ftruncate(fd, len(complete))
            if not complete:
                journal = cls(path, fd, {}, 0)
                journal._write_line(header)
                return journal
            lines = complete.split(b"\n")[:-1]
            _check_header(path, lines[0], header)
            done, ignored = _read_entries(lines[1:])
            return cls(path, fd, done, ignored + (len(complete) < len(data)))
        except BaseException:
            os.close(fd)
            raise

    def append(self, key: str, index: int, rows: list[dict[str, Any]]) -> None:
        """Record one finished photo durably (one write of a full line, then fsync)."""
        self._write_line({"index": index, "key": key, "rows": rows})
        self.done[key] = rows

    def _write_line(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise BatchError(f"{self.path}: the journal line was cut short (disk full?)")
            os.fsync(self._fd)
        except OSError as exc:
            raise BatchError(f"{self.path}: cannot write the journal ({exc.strerror})") from None

    def close(self) -> None:
        """Release the lock and the file."""
        os.close(self._fd)


def _lock(fd: int, path: Path) -> None:
    if fcntl is None:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise BatchError(f"{path}: another batch run is writing this journal") from None


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, _HASH_CHUNK_BYTES):
        chunks.append(chunk)
    return b"".join(chunks)


def _check_header(path: Path, line: bytes, header: dict[str, Any]) -> None:
    try:
        stored = json.loads(line)
    except ValueError:
        stored = None
    if not (isinstance(stored, dict) and stored.get("kind") == JOURNAL_KIND
            and stored.get("format") == JOURNAL_FORMAT):
        raise BatchError(
            f"{path} is not a scalpmetrics batch journal of this version; "
            "use --overwrite to start again"
        )
    for key in RESUME_SETTINGS:
        if stored.get(key) != header[key]:
            raise BatchError(
                f"cannot resume: {path} was written with {key} = {stored.get(key)!r} but this "
                f"run has {header[key]!r}; rerun with the same settings or use --overwrite"
            )


def _read_entries(lines: Sequence[bytes]) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Finished photos by key (a later line wins), and the number of unreadable lines."""
    done: dict[str, list[dict[str, Any]]] = {}
    ignored = 0
    for line in lines:
        try:
            entry = json.loads(line)
            key, rows = entry["key"], entry["rows"]
            if not (isinstance(key, str) and isinstance(rows, list) and rows
                    and all(isinstance(r, dict) and set(r) == set(RESULT_COLUMNS) for r in rows)):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            ignored += 1
            continue
        done[key] = rows
    return done, ignored


def photo_key(row: ManifestRow) -> str:
    """What identifies a photo's result: its manifest row, absolute path, size and mtime."""
    try:
        st = os.stat(row.path)
        fingerprint: list[int] | None = [st.st_size, st.st_mtime_ns]
    except OSError:
        fingerprint = None
    text = json.dumps([str(row.path), sorted(row.values.items()), fingerprint])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# --------------------------------------------------------------------------- the run


def output_plan(
    out_path: str | os.PathLike[str], *, resume: bool = False, overwrite: bool = False
) -> OutputPlan:
    """Check that a run may write ``out_path`` and name its files.

    Raises
    ------
    BatchError
        An unknown table format; a missing or unwritable output folder, or a
        folder where the table, change table or journal goes; ``resume`` and
        ``overwrite`` together; files of an earlier run in the way without
        ``resume`` or ``overwrite``; a table without its journal on ``resume``.
    MissingExtraError
        Parquet output without ``pyarrow`` (the ``table`` extra).
    """
    out = Path(out_path)
    fmt = OUTPUT_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise BatchError(f"{out}: the output must end in .csv or .parquet")
    if fmt == "parquet":
        _require_pyarrow()
    plan = OutputPlan(
        out_path=out,
        changes_path=out.with_name(out.stem + CHANGES_INFIX + out.suffix),
        journal_path=out.with_name(out.name + JOURNAL_SUFFIX),
        format=fmt,
    )
    for path in (plan.out_path, plan.changes_path, plan.journal_path):
        try:
            check_output_path(path)
        except OutputFileError as exc:
            raise BatchError(str(exc)) from None
    if resume and overwrite:
        raise BatchError("give resume or overwrite, not both")
    if overwrite:
        return plan
    if plan.journal_path.exists() and not resume:
        raise BatchError(
            f"{plan.journal_path} exists from an earlier run: use --resume to continue "
            "it or --overwrite to start again"
        )
    if not plan.journal_path.exists():
        for existing in (plan.out_path, plan.changes_path):
            if existing.exists():
                raise BatchError(
                    f"{existing} exists and has no journal to resume from: "
                    "use --overwrite to replace it"
                )
    return plan


def table_names(manifest_columns: Sequence[str]) -> dict[str, str]:
    """Manifest column -> its name in the table.

    A manifest column whose name the table uses itself (``region``,
    ``px_per_mm``, ``status``, ...) is carried as ``manifest_<name>``.

    Raises
    ------
    ManifestError
        The renamed column clashes with another manifest column.

    Examples
    --------
    >>> table_names(["path", "region", "px_per_mm"])
    {'path': 'path', 'region': 'manifest_region', 'px_per_mm': 'manifest_px_per_mm'}
    """
    names = {c: MANIFEST_PREFIX + c if c in RESULT_COLUMNS else c for c in manifest_columns}
    for column, name in names.items():
        if name != column and name in names:
            raise ManifestError(
                f"manifest column {column!r} would be carried as {name!r}, "
                "which the manifest also has: rename one"
            )
    return names


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
        Called with a :class:`BatchProgress` before scoring starts and after
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


# --------------------------------------------------------------------------- tables


def write_table(
    path: Path, rows: Sequence[Mapping[str, Any]], *, columns: Sequence[str],
    kinds: Mapping[str, type],
) -> None:
    """Write rows as CSV or Parquet (by ``path``'s ending), atomically.

    CSV: a header row; empty cells for missing values; floats written with
    Python's shortest round-trip representation. Parquet: one typed column
    each (string, int64, float64), nulls for missing values. Both are UTF-8:
    text that is not (a file name in another encoding, read from a folder)
    keeps its undecodable bytes as ``\\udcXX`` escapes.
    """
    if OUTPUT_FORMATS[path.suffix.lower()] == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        atomic_write_bytes(path, buf.getvalue().encode("utf-8", "backslashreplace"))
        return
    pa, pq = _require_pyarrow()
    types = {str: pa.string(), int: pa.int64(), float: pa.float64()}
    schema = pa.schema([(c, types[kinds[c]]) for c in columns])
    data = [{c: _utf8(v) if isinstance(v, str) else v for c, v in r.items()} for r in rows]
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(data, schema=schema), sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def _cell(value: Any) -> Any:
    """A CSV cell: empty for ``None``, floats in their shortest round-trip form."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else value


def _utf8(text: str) -> str:
    """``text`` with characters UTF-8 cannot encode (surrogates) as ``\\uXXXX`` escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _require_pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise MissingExtraError("pyarrow", "table") from None
    return pyarrow, pyarrow.parquet


# --------------------------------------------------------------------------- changes


def change_table_columns(names: Mapping[str, str]) -> tuple[list[str], dict[str, type]]:
    """Columns and types of the change table for a manifest with these table names."""
    kinds: dict[str, type] = {names[SUBJECT_COLUMN]: str}
    kinds.update({names[c]: str for c in SPOT_COLUMNS if c in names})
    kinds.update({
        "region": str, "baseline_visit": str, "visit": str, "baseline_date": str,
        "date": str, "days_since_baseline": int, "ordered_by": str,
        "baseline_photos": int, "photos": int, "status": str, "error": str,
    })
    for metric, (change, pct) in CHANGE_METRICS.items():
        kinds.update({f"{metric}_baseline": float, metric: float, change: float})
        if pct is not None:
            kinds[pct] = float
    kinds["change_method"] = str
    return list(kinds), kinds


def _visit_date(text: str | None) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(text.strip()).date() if text else None
    except ValueError:
        return None


def visit_changes(
    photos: Sequence[tuple[ManifestRow, list[dict[str, Any]]]], *, names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Change of each photographed spot from its baseline visit to every later visit.

    Photos are grouped by ``subject`` and the spot columns (``view``, ``site``,
    ``region``, when the manifest has them); within a group the baseline is
    the first visit by ``date`` (ISO 8601) when every visit has one, else the
    first in natural order of the ``visit`` labels. A visit's figure for a
    region is the mean over its successfully scored photos; the change is
    follow-up minus baseline, in percent of the baseline too (``_pct``);
    coverage changes in percentage points; column names follow
    :class:`scalpmetrics.compare.VisitChange`. A side without a scored photo
    makes the row's ``status`` ``'error'``. Rows with an empty subject or
    visit are left out.

    Returns
    -------
    list of dict
        One row per (group, region, later visit), groups in manifest order.
    """
    groups: dict[tuple[str, ...], dict[str, list[tuple[ManifestRow, list[dict[str, Any]]]]]] = {}
    spot_columns = [c for c in SPOT_COLUMNS if c in names]
    for row, rows in photos:
        subject, visit = row.values[SUBJECT_COLUMN], row.values[VISIT_COLUMN]
        if subject.strip() and visit.strip():
            group = (subject, *(row.values[c] for c in spot_columns))
            groups.setdefault(group, {}).setdefault(visit, []).append((row, rows))
    out = []
    for group, visits in groups.items():
        dates = {
            visit: min((d for d in (_visit_date(r.values.get(DATE_COLUMN)) for r, _ in shots)
                        if d is not None), default=None)
            for visit, shots in visits.items()
        }
        by_date = all(d is not None for d in dates.values())
        order = sorted(visits, key=lambda v: ((dates[v], natural_sort_key(v)) if by_date
                                              else natural_sort_key(v)))
        regions = list(dict.fromkeys(
            r["region"] for shots in visits.values() for _, rows in shots for r in rows
            if r["status"] == STATUS_OK
        )) or [None]
        baseline = order[0]
        for visit in order[1:]:
            for region in regions:
                change: dict[str, Any] = {names[SUBJECT_COLUMN]: group[0],
                    **{names[c]: v for c, v in zip(spot_columns, group[1:], strict=True)}}
                change.update(_change(visits[baseline], visits[visit], region))
                change.update(
                    baseline_visit=baseline, visit=visit,
                    baseline_date=_iso(dates[baseline]), date=_iso(dates[visit]),
                    days_since_baseline=_days(dates[baseline], dates[visit]),
                    ordered_by="date" if by_date else "visit",
                    change_method=CHANGE_METHOD,
                )
                out.append(change)
    return out


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _days(start: dt.date | None, end: dt.date | None) -> int | None:
    return None if start is None or end is None else (end - start).days


def _change(
    baseline: list[tuple[ManifestRow, list[dict[str, Any]]]],
    follow_up: list[tuple[ManifestRow, list[dict[str, Any]]]],
    region: str | None,
) -> dict[str, Any]:
    """Status, photo counts and the change of each metric for one region."""

    def scored(shots: list[tuple[ManifestRow, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
        return [r for _, rows in shots for r in rows
                if r["status"] == STATUS_OK and r["region"] == region]

    before, after = scored(baseline), scored(follow_up)
    out: dict[str, Any] = {"region": region, "baseline_photos": len(before),
                           "photos": len(after), "status": STATUS_OK, "error": None}
    if not before or not after:
        side = "baseline visit" if not before else "visit"
        out.update(status=STATUS_ERROR, error=f"the {side} has no successfully scored photo")
    for metric, (change_column, pct_column) in CHANGE_METRICS.items():
        b, a = _mean(before, metric), _mean(after, metric)
        change = None if a is None or b is None else a - b
        out.update({f"{metric}_baseline": b, metric: a})
        if pct_column is None:  # a fraction: its change in percentage points
            out[change_column] = None if change is None else PERCENT * change
        else:
            out[change_column] = change
            out[pct_column] = None if change is None or not b else PERCENT * change / b
    return out


def _mean(rows: list[dict[str, Any]], metric: str) -> float | None:
    """Mean over the rows; ``None`` when there are none or any value is missing."""
    values = [r[metric] for r in rows]
    if not values or any(v is None for v in values):
        return None
    return statistics.fmean(values)
