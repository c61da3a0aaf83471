import dataclasses

import pytest

from scalpmetrics.errors import ParameterError
from scalpmetrics.params import Params, TraceParams, describe


def test_defaults_round_trip_through_dict():
    p = Params()
    assert Params.from_dict(p.to_dict()) == p


def test_override_one_value():
    p = Params.from_dict({"trace": {"vellus_cutoff_um": 30}})
    assert p.trace.vellus_cutoff_um == 30.0
    assert isinstance(p.trace.vellus_cutoff_um, float)
    assert p.segment == Params().segment


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"nope": {}}, "unknown parameter group 'nope'"),
        ({"trace": {"nope": 1}}, "unknown parameter 'trace.nope'"),
        ({"trace": 3}, "must be a mapping"),
        ({"trace": {"vellus_cutoff_um": "thin"}}, "must be a number"),
        ({"trace": {"vellus_cutoff_um": float("nan")}}, "finite"),
        ({"trace": {"vellus_cutoff_um": -5}}, "outside its range"),
        ({"trace": {"vellus_cutoff_um": True}}, "must be a number"),
        ({"load": {"max_pixels": 1.5}}, "whole number"),
        ({"calibration": {"min_px_per_mm": 10, "max_px_per_mm": 5}}, "below"),
    ],
)
def test_invalid_parameters_are_errors(data, fragment):
    with pytest.raises(ParameterError, match=fragment):
        Params.from_dict(data)


def test_direct_construction_is_validated():
    with pytest.raises(ParameterError):
        TraceParams(vellus_cutoff_um=0.0)


def test_digest_changes_with_any_parameter():
    a = Params()
    b = dataclasses.replace(a, trace=TraceParams(vellus_cutoff_um=35.0))
    assert a.digest() == Params().digest()
    assert a.digest() != b.digest()


def test_describe_lists_every_parameter_with_a_description():
    rows = describe()
    names = {r[0] for r in rows}
    assert "trace.vellus_cutoff_um" in names
    assert all(r[4] for r in rows), "every parameter needs a one-line description"
    assert len(names) == sum(
        len(dataclasses.fields(getattr(Params(), f.name))) for f in dataclasses.fields(Params)
    )
