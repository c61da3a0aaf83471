"""The output files of a run: checking and naming them, table column names, CSV and Parquet."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scalpmetrics.batch.rows import RESULT_COLUMNS
from scalpmetrics.batch.types import OutputPlan
from scalpmetrics.errors import BatchError, ManifestError, MissingExtraError, OutputFileError
from scalpmetrics.report import atomic_write_bytes, check_output_path

#: Output table formats by file name ending.
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet"}
JOURNAL_SUFFIX = ".journal.jsonl"
CHANGES_INFIX = ".changes"
#: Prefix given to manifest columns whose names the table itself uses.
MANIFEST_PREFIX = "manifest_"


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
