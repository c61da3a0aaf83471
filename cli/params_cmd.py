"""``scalpmetrics params``: list every parameter with its default, range and meaning."""

from __future__ import annotations

import json

import click


@click.command("params")
@click.option("--json", "as_json", is_flag=True, help="Print the defaults as a config-file JSON object.")
def params_command(as_json: bool) -> None:
    """List every analysis parameter (usable in --config files and --param)."""
    from scalpmetrics.params import Params, describe

    if as_json:
        click.echo(json.dumps(Params().to_dict(), indent=2))
        return
    for name, default, lo, hi, doc in describe():
        click.echo(f"{name} = {default!r}  [{lo}, {hi}]  {doc}")
