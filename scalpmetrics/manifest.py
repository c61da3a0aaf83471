"""Batch inputs: a manifest CSV or a ``SUBJECT/VISIT/photo`` folder, and their pre-flight check.

A manifest is a UTF-8 CSV file with a header row. It must have a ``path``
column (relative paths are resolved against the manifest's folder); the
optional ``px_per_mm`` or ``field_width_mm`` columns give a row's calibration;
every column, these included, is carried verbatim into the batch table.

A folder is read as a manifest with the columns ``path``, ``subject`` and
``visit``: every photo file ``ROOT/SUBJECT/VISIT/NAME`` is one row, in natural
order of subject, visit and name (``v2`` before ``v10``).

Nothing here decodes a photo; :func:`validate_inputs` reads only file headers.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scalpmetrics.calibration import check_px_per_mm
from scalpmetrics.errors import (
    CalibrationError,
    ImageDecodeError,
    InputFileError,
    ManifestError,
    ScalpmetricsError,
    UnsupportedFormatError,
)
from scalpmetrics.io import check_size, sniff_format
from scalpmetrics.params import Params

#: The one required manifest column.
PATH_COLUMN = "path"
#: Optional manifest columns holding a row's calibration.
PX_PER_MM_COLUMN = "px_per_mm"
FIELD_WIDTH_COLUMN = "field_width_mm"
#: Columns of a manifest read from a folder.
FOLDER_COLUMNS = (PATH_COLUMN, "subject", "visit")
#: File name endings that :func:`scan_directory` treats as photos (case-insensitive).
PHOTO_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".heic", ".heif", ".dcm"}
)
#: Bytes read from each file to recognise its format.
_HEAD_BYTES = 132
#: Optional formats and the (module, extra) that reads them.
_FORMAT_EXTRAS = {"HEIF": ("pillow_heif", "heif"), "DICOM": ("pydicom", "dicom")}
#: Formats whose size Pillow reads from the header.
_PILLOW_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "BMP", "WEBP"})
#: EXIF orientations that swap width and height.
_TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class ManifestRow:
    """One photo to score.

    Attributes
    ----------
    index : int
        0-based position in the manifest; output rows follow this order.
    path : Path
        The photo's absolute path.
    values : mapping of str to str
        Every manifest column, verbatim (``path`` as written).
    where : str
        Where the row came from, for messages (``'line 7'`` or the folder path).
    """

    index: int
    path: Path
    values: Mapping[str, str]
    where: str


@dataclass(frozen=True)
class Manifest:
    """The photos of a batch, in order.

    Attributes
    ----------
    source : Path
        The manifest file or the scanned folder.
    columns : tuple of str
        Manifest column names in file order (``path`` among them).
    rows : tuple of ManifestRow
        At least one row.
    """

    source: Path
    columns: tuple[str, ...]
    rows: tuple[ManifestRow, ...]


@dataclass(frozen=True)
class InputProblem:
    """A problem :func:`validate_inputs` found with one manifest row."""

    index: int
    where: str
    path: str
    message: str

    def __str__(self) -> str:
        where, path = shown(self.where), shown(self.path)
        place = where if self.where == self.path else f"{where}: {path}"
        return f"{place}: {shown(self.message)}"


def shown(value: object) -> str:
    r"""``value`` as text for a one-line message: as is when printable, else its ``repr``.

    Manifest cells, column names and file names can hold line breaks and
    other control characters; a message quoting them stays one line.

    Examples
    --------
    >>> shown("a.jpg"), shown("a\nb.jpg")
    ('a.jpg', "'a\\nb.jpg'")
    """
    text = str(value)
    return text if text.isprintable() else repr(text)


def natural_sort_key(text: str) -> tuple[object, ...]:
    """Sort key that orders digit runs by value: ``'v2'`` before ``'v10'``.

    Examples
    --------
    >>> sorted(["v10", "v2", "V1"], key=natural_sort_key)
    ['V1', 'v2', 'v10']
    """
    parts = re.split(r"(\d+)", text)
    key = tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts))
    return (key, text)


def load_inputs(path: str | os.PathLike[str]) -> Manifest:
    """Read a manifest CSV, or scan a folder laid out as ``SUBJECT/VISIT/photo``."""
    p = Path(path)
    return scan_directory(p) if p.is_dir() else read_manifest(p)


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read a manifest CSV.

    Parameters
    ----------
    path : str or path-like
        UTF-8 CSV (a byte-order mark is allowed), comma-separated, header row first.

    Returns
    -------
    Manifest
        One row per non-blank data line, in file order.

    Raises
    ------
    ManifestError
        Unreadable or not UTF-8; not CSV; no header or no data rows; a column
        without a name or named twice; no ``path`` column; a row with more or
        fewer cells than the header; an empty path; two rows naming the same
        photo with every other column identical too (a duplicate; rows for the
        same photo that differ in any column are kept).
    """
    src = Path(path)
    name = shown(src)
    try:
        with open(src, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            first_line = 1
            records: list[tuple[int, list[str]]] = []
            for cells in reader:  # a quoted cell may span lines: number a row by its first
                records.append((first_line, cells))
                first_line = reader.line_num + 1
    except FileNotFoundError:
        raise ManifestError(f"{name}: no such manifest file") from None
    except OSError as exc:
        raise ManifestError(f"{name}: cannot read manifest ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{name}: manifest is not UTF-8 text") from None
    except csv.Error as exc:
        raise ManifestError(f"{name}: not a readable CSV file ({shown(exc)})") from None
    records = [(line, cells) for line, cells in records if any(c.strip() for c in cells)]
    if not records:
        raise ManifestError(f"{name}: manifest is empty")
    columns = _header(name, records[0][1])
    if len(records) == 1:
        raise ManifestError(f"{name}: manifest has a header but no rows")
    base = src.parent.absolute()
    rows: list[ManifestRow] = []
    seen: dict[tuple[str, ...], int] = {}
    for line, cells in records[1:]:
        if len(cells) != len(columns):
            raise ManifestError(
                f"{name}: line {line} has {len(cells)} cells but the header has {len(columns)}"
            )
        values = dict(zip(columns, cells, strict=True))
        written = values[PATH_COLUMN].strip()
        if not written:
            raise ManifestError(f"{name}: line {line} has an empty path")
        photo = base / written
        identity = (str(photo),) + tuple(v for c, v in values.items() if c != PATH_COLUMN)
        if identity in seen:
            raise ManifestError(
                f"{name}: lines {seen[identity]} and {line} are the same photo with the "
                "same columns; remove one"
            )
        seen[identity] = line
        rows.append(ManifestRow(len(rows), photo, values, f"line {line}"))
    return Manifest(src, columns, tuple(rows))


def _header(src: str, cells: list[str]) -> tuple[str, ...]:
    """The column names of a header row (``src``: the manifest, as shown in messages)."""
    columns = tuple(c.strip() for c in cells)
    for number, column in enumerate(columns, start=1):
        if not column:
            raise ManifestError(f"{src}: header column {number} has no name")
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise ManifestError(f"{src}: header names column {twice[0]!r} more than once")
    if PATH_COLUMN not in columns:
        listed = ", ".join(map(shown, columns))
        raise ManifestError(f"{src}: manifest has no {PATH_COLUMN!r} column (columns: {listed})")
    return columns


def scan_directory(path: str | os.PathLike[str]) -> Manifest:
    """Read a folder laid out as ``SUBJECT/VISIT/photo`` as a manifest.

    Parameters
    ----------
    path : str or path-like
        The root folder. Photo files are recognised by their name ending
        (:data:`PHOTO_SUFFIXES`, any case); other files, hidden files and
        folders (names starting with ``.``) and anything below the visit
        folders are ignored.

    Returns
    -------
    Manifest
        Columns ``path`` (relative to the root, ``/``-separated), ``subject``
        and ``visit``; rows in natural order of subject, visit and file name.

    Raises
    ------
    ManifestError
        The folder cannot be read, holds no photo, or holds a photo directly
        in the root or in a subject folder (a layout mistake).
    """
    root = Path(path)
    where = shown(root)
    if not root.is_dir():
        raise ManifestError(f"{where}: not a folder")
    found: list[tuple[str, str, str]] = []
    misplaced: list[str] = []

    def on_error(exc: OSError) -> None:
        raise ManifestError(f"{shown(exc.filename)}: cannot read folder ({exc.strerror})")

    for folder, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        rel = Path(folder).relative_to(root).parts
        dirnames[:] = [] if len(rel) >= 2 else [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in PHOTO_SUFFIXES:
                continue
            if len(rel) == 2:
                found.append((rel[0], rel[1], name))
            else:
                misplaced.append("/".join((*rel, name)))
    if misplaced:
        first = sorted(misplaced, key=natural_sort_key)[0]
        raise ManifestError(
            f"{where}: photo {shown(first)} is not in a SUBJECT/VISIT folder "
            f"({len(misplaced)} such photo(s)); move it or use a manifest CSV"
        )
    if not found:
        raise ManifestError(f"{where}: no photos found (expected SUBJECT/VISIT/photo files)")
    found.sort(key=lambda t: tuple(natural_sort_key(p) for p in t))
    base = root.absolute()
    rows = tuple(
        ManifestRow(
            i,
            base / subject / visit / name,
            {PATH_COLUMN: f"{subject}/{visit}/{name}", "subject": subject, "visit": visit},
            f"{subject}/{visit}/{name}",
        )
        for i, (subject, visit, name) in enumerate(found)
    )
    return Manifest(root, FOLDER_COLUMNS, rows)


def row_calibration(
    values: Mapping[str, str],
    *,
    px_per_mm: float | None = None,
    field_width_mm: float | None = None,
) -> tuple[float | None, float | None]:
    """The ``(px_per_mm, field_width_mm)`` to analyse one row with.

    A row that fills either calibration column uses its own values; a row
    that fills neither uses the run's defaults. Plausibility is checked later,
    by :func:`~scalpmetrics.calibration.resolve_calibration`.

    Raises
    ------
    CalibrationError
        A calibration cell that is not a number, or both cells filled.

    Examples
    --------
    >>> row_calibration({"px_per_mm": " 80 "}, field_width_mm=6.0)
    (80.0, None)
    >>> row_calibration({"px_per_mm": ""}, field_width_mm=6.0)
    (None, 6.0)
    """
    px_text = values.get(PX_PER_MM_COLUMN, "").strip()
    fw_text = values.get(FIELD_WIDTH_COLUMN, "").strip()
    if not px_text and not fw_text:
        return px_per_mm, field_width_mm
    if px_text and fw_text:
        raise CalibrationError(
            f"the row gives both {PX_PER_MM_COLUMN} and {FIELD_WIDTH_COLUMN}; keep one"
        )
    column, text = (PX_PER_MM_COLUMN, px_text) if px_text else (FIELD_WIDTH_COLUMN, fw_text)
    try:
        value = float(text)
    except ValueError:
        raise CalibrationError(f"{column} {text!r} is not a number") from None
    return (value, None) if px_text else (None, value)


def validate_inputs(
    manifest: Manifest,
    *,
    px_per_mm: float | None = None,
    field_width_mm: float | None = None,
    params: Params = Params(),
) -> list[InputProblem]:
    """Check every row's file, format, size and calibration without decoding pixels.

    Parameters
    ----------
    manifest : Manifest
        The rows to check.
    px_per_mm, field_width_mm : float, optional
        The run's default calibration for rows that give none.
    params : Params
        Size limits (``load``) and the plausible scale range (``calibration``).

    Returns
    -------
    list of InputProblem
        Empty when every row looks scorable. A file can still fail later if
        its pixel data is truncated or corrupt past the header.
    """
    problems = []
    for row in manifest.rows:
        for message in _row_problems(row, px_per_mm, field_width_mm, params):
            problems.append(InputProblem(row.index, row.where, row.values[PATH_COLUMN], message))
    return problems


def _row_problems(
    row: ManifestRow, px_per_mm: float | None, field_width_mm: float | None, params: Params
) -> list[str]:
    problems = []
    width_px = None
    try:
        width_px = _header_width_px(row.path, params)
    except ScalpmetricsError as exc:
        problems.append(str(exc))
    try:
        px, fw = row_calibration(row.values, px_per_mm=px_per_mm, field_width_mm=field_width_mm)
        if px is not None:
            check_px_per_mm(px, params=params.calibration)
        if fw is not None:
            if not (math.isfinite(fw) and fw > 0):
                raise CalibrationError(
                    f"field_width_mm must be a finite positive number, got {fw!r}"
                )
            if width_px is not None:
                check_px_per_mm(
                    width_px / fw, params=params.calibration,
                    what=f"field_width_mm = {fw:g} mm gives a scale that",
                )
    except CalibrationError as exc:
        problems.append(str(exc))
    return problems


def _header_width_px(path: Path, params: Params) -> int | None:
    """Open the file, recognise its format and check its size from the header.

    Returns the upright width in pixels when the header gives it.
    """
    from PIL import Image

    if not path.exists():
        raise InputFileError("no such file")
    if path.is_dir():
        raise InputFileError("is a directory, not a photo")
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError as exc:
        raise InputFileError(f"cannot read ({exc.strerror})") from None
    if not head:
        raise ImageDecodeError("file is empty")
    fmt = sniff_format(head)
    if fmt is None:
        raise UnsupportedFormatError("not a recognised image format")
    if fmt in _FORMAT_EXTRAS:
        module, extra = _FORMAT_EXTRAS[fmt]
        if importlib.util.find_spec(module) is None:
            raise UnsupportedFormatError(
                f"{fmt} needs the optional package {module!r}: pip install 'scalpmetrics[{extra}]'"
            )
    if fmt not in _PILLOW_FORMATS:
        return None
    try:
        with Image.open(path) as img:
            width, height = img.size
            orientation = img.getexif().get(_EXIF_ORIENTATION)
    except Exception as exc:  # Pillow raises many types on a corrupt header
        raise ImageDecodeError(f"corrupt {fmt} header ({type(exc).__name__})") from None
    check_size(height, width, name=fmt, params=params.load)
    return height if orientation in _TRANSPOSING_ORIENTATIONS else width
