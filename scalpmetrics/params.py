"""One validated parameter set, shared by the Python API, config files and the CLI.

Parameters are grouped by the step that uses them. Every field declares its
unit in its name, and its range in ``metadata``; construction validates the
type and the range, and :meth:`Params.from_dict` refuses unknown keys.

Examples
--------
>>> p = Params.from_dict({"trace": {"vellus_cutoff_um": 30.0}})
>>> p.trace.vellus_cutoff_um
30.0
>>> Params.from_dict({"trace": {"no_such_key": 1}})
Traceback (most recent call last):
...
scalpmetrics.errors.ParameterError: unknown parameter 'trace.no_such_key'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from scalpmetrics.errors import ParameterError


def _p(default: Any, lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    """A parameter field with an inclusive valid range and a one-line description."""
    return field(default=default, metadata={"min": lo, "max": hi, "doc": doc})


def _validate(obj: Any, prefix: str) -> None:
    hints = get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{prefix}.{f.name}"
        expected = hints[f.name]
        if expected is bool:
            if not isinstance(value, bool):
                raise ParameterError(f"parameter {name!r} must be true or false, got {value!r}")
            continue
        if expected in (int, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParameterError(f"parameter {name!r} must be a number, got {value!r}")
            if expected is int and not float(value).is_integer():
                raise ParameterError(f"parameter {name!r} must be a whole number, got {value!r}")
            if not math.isfinite(value):
                raise ParameterError(f"parameter {name!r} must be finite, got {value!r}")
            lo, hi = f.metadata.get("min"), f.metadata.get("max")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise ParameterError(
                    f"parameter {name!r} = {value!r} is outside its range [{lo}, {hi}]"
                )
            object.__setattr__(obj, f.name, expected(value))
        elif expected is str and not isinstance(value, str):
            raise ParameterError(f"parameter {name!r} must be text, got {value!r}")


@dataclass(frozen=True)
class LoadParams:
    """Reading photos."""

    max_pixels: int = _p(
        64_000_000, 1, 1_000_000_000,
        "refuse images with more pixels than this (decompression-bomb guard)",
    )
    min_side_px: int = _p(16, 1, 10_000, "refuse images whose shorter side is smaller")

    def __post_init__(self) -> None:
        _validate(self, "load")


@dataclass(frozen=True)
class CalibrationParams:
    """Plausible pixel scales. Trichoscopy spans about 10x-150x optical
    magnification; global photographs are a few px/mm."""

    min_px_per_mm: float = _p(1.0, 1e-3, 1e5, "smallest plausible scale, px/mm")
    max_px_per_mm: float = _p(2000.0, 1e-3, 1e6, "largest plausible scale, px/mm")

    def __post_init__(self) -> None:
        _validate(self, "calibration")
        if self.min_px_per_mm >= self.max_px_per_mm:
            raise ParameterError("calibration.min_px_per_mm must be below max_px_per_mm")


@dataclass(frozen=True)
class NormalizeParams:
    """Colour and illumination normalisation (see ``normalize``)."""

    flat_field_sigma_mm: float = _p(
        1.5, 0.05, 100.0, "Gaussian scale of the illumination estimate, mm"
    )
    flat_field_sigma_fraction: float = _p(
        0.15, 0.01, 1.0,
        "Gaussian scale of the illumination estimate when uncalibrated, fraction of the shorter side",
    )
    background_grid_px: float = _p(
        4.0, 1.0, 64.0,
        "the skin estimate is computed on a copy reduced to this many px per Gaussian scale, px",
    )
    background_outlier_log: float = _p(
        0.15, 0.01, 5.0,
        "pixels whose |log| ratio to the median skin estimate exceeds this are left out, log units",
    )

    def __post_init__(self) -> None:
        _validate(self, "normalize")


@dataclass(frozen=True)
class SegmentParams:
    """Hair/scalp separation (see ``segment``)."""

    max_shaft_width_um: float = _p(
        200.0, 20.0, 1000.0, "widest shaft the detector looks for, um"
    )
    min_object_area_px: int = _p(12, 0, 100_000, "mask components smaller than this are dropped")

    def __post_init__(self) -> None:
        _validate(self, "segment")


@dataclass(frozen=True)
class TraceParams:
    """Splitting the mask into shafts and classifying them (see ``trace``)."""

    vellus_cutoff_um: float = _p(40.0, 1.0, 200.0, "shafts thinner than this are vellus, um")
    min_shaft_length_um: float = _p(
        150.0, 0.0, 10_000.0, "shorter visible segments are not counted as hairs, um"
    )
    follicular_unit_radius_um: float = _p(
        250.0, 0.0, 5000.0, "hairs emerging closer than this form one follicular unit, um"
    )

    def __post_init__(self) -> None:
        _validate(self, "trace")


@dataclass(frozen=True)
class Params:
    """All parameters of an analysis. Immutable; build variants with
    :meth:`from_dict` or :func:`dataclasses.replace`."""

    load: LoadParams = field(default_factory=LoadParams)
    calibration: CalibrationParams = field(default_factory=CalibrationParams)
    normalize: NormalizeParams = field(default_factory=NormalizeParams)
    segment: SegmentParams = field(default_factory=SegmentParams)
    trace: TraceParams = field(default_factory=TraceParams)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Params":
        """Build from a nested mapping such as a parsed JSON config file.

        Raises
        ------
        ParameterError
            On an unknown group or key, a wrong type or a value out of range.
        """
        data = data or {}
        if not isinstance(data, dict):
            raise ParameterError("parameters must be a mapping of groups")
        groups = {f.name: f for f in dataclasses.fields(cls)}
        built: dict[str, Any] = {}
        for group, values in data.items():
            if group not in groups:
                raise ParameterError(f"unknown parameter group {group!r}")
            if not isinstance(values, dict):
                raise ParameterError(f"parameter group {group!r} must be a mapping")
            group_cls = get_type_hints(cls)[group]
            known = {f.name for f in dataclasses.fields(group_cls)}
            for key in values:
                if key not in known:
                    raise ParameterError(f"unknown parameter '{group}.{key}'")
            built[group] = group_cls(**values)
        return cls(**built)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain mapping of every parameter (the provenance record)."""
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` (first 16 hex digits)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def describe() -> list[tuple[str, Any, Any, Any, str]]:
    """Every parameter as ``(dotted_name, default, min, max, description)``,
    for documentation and ``scalpmetrics params``."""
    rows = []
    for group in dataclasses.fields(Params):
        group_cls = get_type_hints(Params)[group.name]
        for f in dataclasses.fields(group_cls):
            rows.append(
                (f"{group.name}.{f.name}", f.default, f.metadata["min"], f.metadata["max"],
                 f.metadata["doc"])
            )
    return rows
