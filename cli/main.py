"""Entry point of the ``scalpmetrics`` command.

Exit codes: 0 success; 1 an input or analysis problem (one line on stderr);
2 a usage error; 3 an internal error (a bug: please report it). With
``--json`` only JSON is written to stdout; everything else goes to stderr.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from scalpmetrics_cli.analyze_cmd import analyze_command
from scalpmetrics_cli.batch_cmd import batch_command
from scalpmetrics_cli.compare_cmd import compare_command
from scalpmetrics_cli.params_cmd import params_command

EXIT_INPUT = 1
EXIT_INTERNAL = 3
#: Environment variables that set the thread count of the BLAS libraries NumPy may load.
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class _Group(click.Group):
    """Turns library errors into one readable line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        from scalpmetrics.errors import ScalpmetricsError

        try:
            return super().invoke(ctx)
        except ScalpmetricsError as exc:
            click.echo(f"error: {_one_line(exc)}", err=True)
            sys.exit(EXIT_INPUT)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            # the reader of stdout went away (e.g. `| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_INPUT)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug: still one line unless --debug
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {_one_line(exc)} "
                "(rerun with --debug for details)",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scalpmetrics")
@click.option("--debug", is_flag=True, help="Show full tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Hair density, shaft width and scalp coverage from scalp photographs."""
    ctx.obj = {"debug": debug}
    # One BLAS thread unless the user set it: an analysis already overlaps its work in
    # two threads, and BLAS threads competing with them made it about 15 % slower
    # (docs/methods.md, One BLAS thread). NumPy is not loaded yet, so this takes effect.
    for name in _BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


main.add_command(analyze_command)
main.add_command(batch_command)
main.add_command(compare_command)
main.add_command(params_command)


if __name__ == "__main__":
    main(prog_name="scalpmetrics")
