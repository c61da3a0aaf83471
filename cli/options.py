"""Options shared by several commands, and how they become library values."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from scalpmetrics.errors import ParameterError
from scalpmetrics.params import Params


def calibration_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--px-per-mm`` and ``--field-width-mm``."""
    f = click.option(
        "--field-width-mm", type=float, default=None,
        help="Width of the photo's field of view on the scalp, in mm.",
    )(f)
    f = click.option(
        "--px-per-mm", type=float, default=None,
        help="Scale: pixels per millimetre on the scalp.",
    )(f)
    return f


def params_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--config FILE.json`` and repeatable ``--param group.key=value``."""
    f = click.option(
        "--param", "param_overrides", multiple=True, metavar="GROUP.KEY=VALUE",
        help="Override one parameter (repeatable); see `scalpmetrics params`.",
    )(f)
    f = click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), default=None,
        help="JSON file of parameters: {group: {key: value}}.",
    )(f)
    return f


def build_params(config_path: str | None, overrides: tuple[str, ...]) -> Params:
    """Merge a JSON config file and ``group.key=value`` overrides into validated Params."""
    data: dict[str, Any] = {}
    if config_path:
        try:
            data = json.loads(Path(config_path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ParameterError(f"{config_path}: cannot read config ({exc.strerror})") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParameterError(f"{config_path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ParameterError(f"{config_path}: config must be a JSON object")
    for item in overrides:
        key, sep, raw = item.partition("=")
        group, dot, name = key.strip().partition(".")
        if not sep or not dot:
            raise ParameterError(f"--param {item!r} must look like group.key=value")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        data.setdefault(group, {})
        if not isinstance(data[group], dict):
            raise ParameterError(f"parameter group {group!r} must be a mapping")
        data[group][name] = value
    return Params.from_dict(data)
