"""The exceptions scalpmetrics raises on purpose.

Every error a caller can provoke with bad input derives from
:class:`ScalpmetricsError`; its message is one readable line. Anything else
escaping the library is a bug.
"""

from __future__ import annotations


class ScalpmetricsError(Exception):
    r"""Base class of every error scalpmetrics raises on purpose.

    Its text is always one line: control characters that a quoted file name
    or metadata value brings in (line breaks, escapes) are shown escaped.

    Examples
    --------
    >>> str(ScalpmetricsError("two\nlines.jpg: no such file"))
    'two\\nlines.jpg: no such file'
    """

    def __str__(self) -> str:
        text = super().__str__()
        if text.isprintable():
            return text
        return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class InputFileError(ScalpmetricsError):
    """A photo or input file cannot be read: missing, a directory, unreadable, a loop."""


class InputTypeError(ScalpmetricsError, TypeError):
    """A value of the wrong kind where a photo or a path is expected (an array
    where a file path is expected). Also a ``TypeError``."""


class OutputFileError(InputFileError):
    """An output file cannot be written: its folder is missing, it is a folder, or the
    file system refuses (permission, disk full). A kind of InputFileError, which
    earlier versions raised for a missing output folder."""


class ImageDecodeError(ScalpmetricsError):
    """The file exists but is not a decodable image (empty, truncated, not an image)."""


class UnsupportedFormatError(ScalpmetricsError):
    """The file is an image in a format scalpmetrics does not read (or whose extra is missing)."""


class ImageTooLargeError(ScalpmetricsError):
    """The image exceeds the pixel limit (a guard against decompression bombs)."""


class ImageTooSmallError(ScalpmetricsError):
    """The image is too small to analyse."""


class ImageArrayError(ScalpmetricsError):
    """An array handed to an analysis step has the wrong shape, type or size."""


class CalibrationError(ScalpmetricsError):
    """A calibration value is absent where required, not finite, or implausible."""


class ParameterError(ScalpmetricsError):
    """A parameter is unknown, of the wrong type, or out of its range."""


class RegionError(ScalpmetricsError):
    """A region specification (grid, label image, polygon) is invalid."""


class HeadNotFoundError(ScalpmetricsError):
    """No head outline, or no usable scalp, could be found in a global-view photo."""


class ViewDetectionError(ScalpmetricsError):
    """The view of a global photo could not be told reliably: it must be given."""


class RegistrationError(ScalpmetricsError):
    """A follow-up photo could not be registered to the baseline."""


class ComparisonError(ScalpmetricsError):
    """Photos cannot be compared: fewer than two, dates that do not parse or do not
    match the photos, or no area that every photo shows."""


class ManifestError(ScalpmetricsError):
    """A batch manifest is malformed (missing columns, empty, unreadable)."""


class BatchError(ScalpmetricsError):
    """A batch run cannot start or resume: an earlier run's journal or table is in
    the way, the settings differ from the run being resumed, or the output is unusable."""


class MissingExtraError(ScalpmetricsError):
    """An optional dependency needed for this operation is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"this needs the optional package {package!r}: "
            f"pip install 'scalpmetrics[{extra}]'"
        )
