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

from scalpmetrics.batch.changes import (
    CHANGE_METHOD,
    CHANGE_METRICS,
    DATE_COLUMN,
    PERCENT,
    SPOT_COLUMNS,
    SUBJECT_COLUMN,
    VISIT_COLUMN,
    change_table_columns,
    visit_changes,
)
from scalpmetrics.batch.journal import (
    JOURNAL_FORMAT,
    JOURNAL_KIND,
    RESUME_SETTINGS,
    Journal,
    photo_key,
)
from scalpmetrics.batch.rows import (
    MAX_ERROR_CHARS,
    METRIC_COLUMNS,
    RESULT_COLUMNS,
    STATUS_ERROR,
    STATUS_OK,
    analysis_rows,
    describe_error,
    error_row,
    file_sha256,
    score_photo,
)
from scalpmetrics.batch.runner import run_batch
from scalpmetrics.batch.tables import (
    CHANGES_INFIX,
    JOURNAL_SUFFIX,
    MANIFEST_PREFIX,
    OUTPUT_FORMATS,
    output_plan,
    table_names,
    write_table,
)
from scalpmetrics.batch.types import (
    AnalysisOptions,
    BatchProgress,
    BatchSummary,
    OutputPlan,
    PhotoTask,
)

__all__ = [
    "CHANGES_INFIX",
    "CHANGE_METHOD",
    "CHANGE_METRICS",
    "DATE_COLUMN",
    "JOURNAL_FORMAT",
    "JOURNAL_KIND",
    "JOURNAL_SUFFIX",
    "MANIFEST_PREFIX",
    "MAX_ERROR_CHARS",
    "METRIC_COLUMNS",
    "OUTPUT_FORMATS",
    "PERCENT",
    "RESULT_COLUMNS",
    "RESUME_SETTINGS",
    "SPOT_COLUMNS",
    "STATUS_ERROR",
    "STATUS_OK",
    "SUBJECT_COLUMN",
    "VISIT_COLUMN",
    "AnalysisOptions",
    "BatchProgress",
    "BatchSummary",
    "Journal",
    "OutputPlan",
    "PhotoTask",
    "analysis_rows",
    "change_table_columns",
    "describe_error",
    "error_row",
    "file_sha256",
    "output_plan",
    "photo_key",
    "run_batch",
    "score_photo",
    "table_names",
    "visit_changes",
    "write_table",
]
