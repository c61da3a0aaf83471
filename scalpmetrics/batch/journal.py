"""The resumable journal: one durable JSON line per finished photo, locked while a run holds it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scalpmetrics.batch.rows import _HASH_CHUNK_BYTES, RESULT_COLUMNS
from scalpmetrics.errors import BatchError
from scalpmetrics.manifest import ManifestRow

try:
    import fcntl
except ImportError:  # Windows: runs are not protected against a concurrent second run
    fcntl = None  # type: ignore[assignment]

JOURNAL_KIND = "scalpmetrics-batch-journal"
JOURNAL_FORMAT = 1
#: Run settings that must match for a journal to be resumed.
RESUME_SETTINGS = ("scalpmetrics_version", "parameters_digest", "grid", "px_per_mm",
                   "field_width_mm")


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
