"""Writers: JSON, PNG masks and overlays, the plain-text summary.

Every file is written atomically: to a temporary file in the target folder,
flushed to disk, then renamed over the target. A reader never sees a partial
file, and an interrupted run leaves no truncated output.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scalpmetrics.errors import OutputFileError
from scalpmetrics.measure import point_in_mask
from scalpmetrics.types import Analysis, Hair

#: Random names tried for a temporary file before giving up.
_TEMP_NAME_ATTEMPTS = 100
#: Overlay colours (RGB).
HAIR_TINT_RGB = (0, 200, 255)
COUNTED_RGB = (40, 230, 40)
NOT_COUNTED_RGB = (255, 60, 60)
AREA_OUTLINE_RGB = (255, 255, 255)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically.

    The bytes go to a new hidden file beside the target (with the permissions
    of any new file: 0o666 less the umask), are flushed to disk, and the file
    is renamed over the target; the folder is then synced so that the rename
    survives a power cut. A reader sees the old file or the new one, never a
    partial one. A process killed in the middle (``kill -9``) can leave the
    hidden ``.NAME.XXXXXXXX.tmp`` behind, never a partial ``NAME``.

    Raises
    ------
    OutputFileError
        The folder does not exist, the target is a folder, or the file system
        refuses (permission, disk full).
    """
    target = Path(path)
    folder = check_output_path(target)
    tmp: Path | None = None
    try:
        fd, tmp = _create_hidden_file(folder, target.name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise OutputFileError(f"{target}: cannot write ({exc.strerror or exc})") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _sync_folder(folder)


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Return the folder of an output file, after checking it can be written there.

    Cheap enough to call before a long analysis, so that a bad output path
    fails at once rather than after the work is done.

    Raises
    ------
    OutputFileError
        The folder does not exist, the path is a folder, or this process may
        not create files in the folder.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputFileError(f"{target}: output folder {folder} does not exist")
    if target.is_dir():
        raise OutputFileError(f"{target}: is a folder, not a file")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputFileError(f"{target}: no permission to write in folder {folder}")
    return folder


def _create_hidden_file(folder: Path, name: str) -> tuple[int, Path]:
    """Create ``folder/.name.<random>.tmp`` exclusively, as ``open`` would (umask applies)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(_TEMP_NAME_ATTEMPTS):
        tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(folder))


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk, where the system allows it."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 text atomically.

    A file name that is not valid UTF-8 reaches Python as text with lone
    surrogates (one per undecodable byte); these are written as ``\\udcXX``
    escapes, so the file stays valid UTF-8 and the bytes stay recoverable.
    """
    atomic_write_bytes(path, text.encode("utf-8", errors="backslashreplace"))


def to_json(record: dict[str, Any]) -> str:
    """Serialise a result record as strict JSON (no NaN or Infinity)."""
    return json.dumps(record, indent=2, allow_nan=False, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a (H, W) gray or (H, W, 3) RGB ``uint8``/``uint16`` image."""
    import cv2

    arr = image if image.ndim == 2 else image[:, :, ::-1]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def write_mask_png(path: str | os.PathLike[str], mask: np.ndarray) -> None:
    """Write a hair mask as an 8-bit PNG, 255 = hair, 0 = scalp."""
    atomic_write_bytes(path, encode_png(np.where(mask, 255, 0).astype(np.uint8)))


def to_display_rgb8(pixels: np.ndarray) -> np.ndarray:
    """8-bit RGB copy of a photo's pixels for display."""
    if pixels.dtype == np.uint8:
        return pixels.copy()
    return (pixels.astype(np.float32) / 257.0).round().clip(0, 255).astype(np.uint8)


def render_overlay(
    pixels: np.ndarray, mask: np.ndarray, hairs: Sequence[Hair], *, alpha: float = 0.45,
    measured_area: np.ndarray | None = None,
) -> np.ndarray:
    """Draw the hair mask and traced hairs over the photo.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3)
        The photo, RGB.
    mask : ndarray of bool, shape (H, W)
        Hair mask, tinted in ``HAIR_TINT_RGB``.
    hairs : sequence of Hair
        Each drawn as a line from counting point to tip; the counting point is
        a green dot for counted hairs, red for uncounted ones.
    alpha : float
        Opacity of the tint.
    measured_area : ndarray of bool, shape (H, W), optional
        The pixels the figures cover (``Analysis.measured_area``): outlined in
        ``AREA_OUTLINE_RGB``, and hairs emerging outside it drawn as uncounted.

    Returns
    -------
    ndarray, shape (H, W, 3), uint8
        A new image; the inputs are not modified.
    """
    import cv2

    out = to_display_rgb8(pixels).astype(np.float32)
    tint = np.array(HAIR_TINT_RGB, np.float32)
    out[mask] = (1 - alpha) * out[mask] + alpha * tint
    out = out.round().astype(np.uint8)
    radius = max(2, round(min(out.shape[:2]) / 250))
    thickness = max(1, radius // 2)
    if measured_area is not None:
        outline, _ = cv2.findContours(measured_area.astype(np.uint8), cv2.RETR_EXTERNAL,
                                      cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, outline, -1, AREA_OUTLINE_RGB, thickness, cv2.LINE_8)
    for hair in hairs:
        counted = hair.counted and (measured_area is None
                                    or point_in_mask(hair.emergence_xy_px, measured_area))
        colour = COUNTED_RGB if counted else NOT_COUNTED_RGB
        p0 = tuple(int(round(v)) for v in hair.emergence_xy_px)
        p1 = tuple(int(round(v)) for v in hair.tip_xy_px)
        cv2.line(out, p0, p1, colour, thickness, cv2.LINE_AA)
        cv2.circle(out, p0, radius, colour, -1, cv2.LINE_AA)
    return out


def write_overlay_png(
    path: str | os.PathLike[str], pixels: np.ndarray, analysis: Analysis
) -> None:
    """Write the photo with its hair mask and traced hairs drawn on it."""
    assert analysis.hair_mask is not None, "analysis carries no hair mask"
    atomic_write_bytes(path, encode_png(render_overlay(
        pixels, analysis.hair_mask, analysis.hairs, measured_area=analysis.measured_area)))


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_summary(analysis: Analysis) -> str:
    """A short human-readable table of one analysis."""
    cal = analysis.calibration
    head = [
        f"photo      {analysis.image.path or '(array)'}  "
        f"{analysis.image.width_px}x{analysis.image.height_px} px",
        "scale      "
        + (f"{cal.px_per_mm:.1f} px/mm ({cal.source})" if cal.px_per_mm else "unknown"),
    ]
    cols = ("region", "area cm2", "hairs", "per cm2", "terminal", "vellus",
            "width um", "coverage")
    rows = [cols]
    for r in analysis.regions:
        rows.append((
            r.name, _fmt(r.area_cm2, 3), str(r.hair_count), _fmt(r.density_per_cm2),
            _fmt(r.terminal_count), _fmt(r.vellus_count), _fmt(r.mean_shaft_width_um),
            _fmt(r.coverage_fraction, 3),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    table = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                  for i, cell in enumerate(row))
        for row in rows
    ]
    flags = [f"flag       {f.name}: {f.message}" for f in analysis.flags]
    return "\n".join(head + [""] + table + ([""] + flags if flags else [])) + "\n"
