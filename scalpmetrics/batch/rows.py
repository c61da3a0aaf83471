"""Scoring one photo into table rows: the result columns and their kinds, error rows, digests."""

from __future__ import annotations

import hashlib
import os
import typing
from collections.abc import Callable
from typing import Any

from scalpmetrics import __version__
from scalpmetrics.batch.types import AnalysisOptions, PhotoTask
from scalpmetrics.errors import ScalpmetricsError
from scalpmetrics.manifest import row_calibration
from scalpmetrics.params import Params
from scalpmetrics.types import Analysis, RegionMetrics

STATUS_OK = "ok"
STATUS_ERROR = "error"
#: Longest ``error`` cell, characters.
MAX_ERROR_CHARS = 300
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
