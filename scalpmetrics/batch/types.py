"""The batch's value types: run options, a photo task, progress, summary and output plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scalpmetrics.params import Params


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
