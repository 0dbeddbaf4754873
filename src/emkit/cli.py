"""The ``emkit`` command: the group every family's commands are registered on.

Every expected failure (bad data or model file, bad option value, K larger than the data) ends
the command with exit status 1 (2 for usage errors, as click does) and exactly one line on
stderr, ``emkit: error: <message>``; no traceback. Every warning a command raises is one line
``emkit: warning: <type>: <message>`` on stderr once it has finished. Both are done once, in
:class:`_Group`, not per command. Each family keeps its commands beside its code
(``emkit/<family>/_cli.py``); what they share is in :mod:`emkit._cli_support`. This module
and the command modules import only click and the standard library; a command imports its
models when it runs.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import click

from ._cli_support import Command, one_line, option, warnings_as_lines

_ERROR_PREFIX = "emkit: error: "


def _describe_exception(exc: BaseException) -> str:
    """A one-line message for an exception caught at the top of the command."""
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return one_line(f"{where}: {exc.strerror}" if where != "" else exc.strerror)
    text = one_line(exc)
    return text or type(exc).__name__


class _Group(click.Group):
    """A click group that turns every expected failure into one line on stderr."""

    def invoke(self, ctx):
        try:
            with warnings_as_lines():  # every command's warnings, one line each
                # Commands match a model's columns by name themselves; scikit-learn's
                # warning when the library passes the matched rows on as an array would
                # only repeat that check.
                warnings.filterwarnings("ignore", message="X does not have valid feature "
                                                          "names")
                return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            raise
        except (ValueError, OSError) as exc:  # includes ModelFileError, DataFileError
            raise click.ClickException(_describe_exception(exc)) from exc

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if prog_name is None:
            prog_name = "emkit"
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False,
                                  **extra)
        except click.UsageError as exc:
            hint = ""
            if exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            _fail(one_line(exc.format_message()) + hint, exc.exit_code)
        except click.ClickException as exc:
            _fail(one_line(exc.format_message()), exc.exit_code)
        except click.Abort:
            _fail("interrupted", 130)
        except BrokenPipeError:
            # The reader of our output went away (``emkit predict ... | head``): stop quietly.
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


def _fail(message: str, code: int):
    try:
        click.echo(_ERROR_PREFIX + message, err=True)
    except OSError:
        pass
    sys.exit(code)


# -- commands --------------------------------------------------------------------------------
@click.group(name="emkit", cls=_Group,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="emkit")
def main():
    """Fit latent-variable models by Expectation-Maximisation.

    DATA files are CSV or TSV text (delimiter sniffed, header detected), NumPy .npy
    (one 2-D array) or Parquet (needs pyarrow). Every column used must be numeric; missing
    values are marginalised by fit, predict and report, and filled in by 'emkit impute'.
    --columns and --exclude choose the columns; a pandas index column (no header name) is
    left out. A model fitted to named columns keeps the names, and predict, report and
    hmm decode find the columns by name. Warnings are lines 'emkit: warning: ...' on
    standard error, errors one line 'emkit: error: ...' with exit status 1.
    """


@main.command(cls=Command)
@option("--random-state", "seed", old=("--seed",), type=int, default=0, show_default=True,
        help="Random seed of the fits.")
@click.option("--report", "report", type=click.Path(path_type=Path, dir_okay=False),
              default="emkit-demo-report.html", show_default=True, metavar="HTML",
              help="Where to write the HTML report of the iris fits.")
def demo(seed, report):
    """Run emkit on bundled data and print what each model found.

    \b
    It runs, in this order:
    - Gaussian mixtures on iris (150 flowers x 4 measurements): K = 1..6 and the four
      covariance types, the best by BIC (its HTML report goes to --report), and K = 3
      against the three species;
    - Gaussian mixtures on 3000 synthetic rows from 4 known components: K chosen by BIC
      and the fit set against the truth;
    - image segmentation of a photograph shipped with scikit-learn;
    - DNA motif discovery (MEME-style EM) in sequences with planted sites;
    - a topic model (PLSA) of Python's own help texts.
    """
    from .demo import run_demo

    run_demo(seed=seed, report=report)


def _add_model_commands():
    """The commands each model family defines next to its code."""
    from .hmm._cli import group as hmm_group
    from .impute._cli import command as impute_command
    from .mixture._cli import fit, predict, report
    from .motif._cli import command as motif_command
    from .segment._cli import command as segment_command
    from .topics._cli import command as topics_command

    for command in (fit, predict, report, impute_command, hmm_group, segment_command,
                    motif_command, topics_command):
        main.add_command(command)


_add_model_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
