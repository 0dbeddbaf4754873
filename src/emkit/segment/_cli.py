"""The `emkit segment` command."""

import click


@click.command(name="segment")
def command():
    """(being built)"""
    raise click.ClickException("emkit segment is not built yet")
