"""The ``emkit`` command."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="emkit")
def main():
    """Fit latent-variable models by Expectation-Maximisation."""


@main.command()
@click.option("--seed", default=0, show_default=True, help="Random seed of the fits.")
def demo(seed):
    """Fit Gaussian mixtures to bundled data and print what was found."""
    from .demo import run_demo

    run_demo(seed=seed)


if __name__ == "__main__":  # pragma: no cover
    main()
