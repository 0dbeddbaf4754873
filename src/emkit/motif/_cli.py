"""The `emkit motif` command: MEME-style motif discovery on a FASTA file."""

from __future__ import annotations

from pathlib import Path

import click

from .._cli_support import Command, check_outputs, option


def _width(value):
    from ._meme import parse_width

    try:
        return parse_width(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(name="motif", cls=Command)
@click.argument("sequences", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-w", "--width", default="8..20", show_default=True,
              help="Motif width, or a range A..B searched by E-value.")
@click.option("--model", "model", type=click.Choice(["oops", "zoops", "tcm"],
                                                      case_sensitive=False),
              default="zoops", show_default=True,
              help="Sites per sequence: one (oops), zero or one (zoops), any number (tcm).")
@option("-n", "--n-motifs", "nmotifs", old=("--nmotifs",), type=click.IntRange(min=1),
        default=1, show_default=True,
        help="Number of motifs to find (earlier motifs' sites are erased).")
@option("--revcomp/--no-revcomp", "revcomp", old_off=("--norevcomp",), default=True,
        show_default=True, help="Look for sites on both strands (DNA).")
@click.option("--alphabet", type=click.Choice(["dna", "protein"], case_sensitive=False),
              default="dna", show_default=True, help="Letters of the sequences.")
@click.option("--bg-order", type=click.IntRange(0, 2), default=0, show_default=True,
              help="Order of the background Markov model estimated from the sequences.")
@click.option("--pseudocount", type=click.FloatRange(min=0, min_open=True), default=0.1,
              show_default=True, help="Pseudo-sites per motif column (MEME's -b).")
@option("--n-starts", "nstarts", old=("--nstarts",), type=click.IntRange(min=1), default=200,
        show_default=True, help="Starting sub-sequences tried per width.")
@option("--random-state", "seed", old=("--seed",), type=int, default=0, show_default=True,
        help="Random seed.")
@option("-o", "--output", "outdir", old=("--outdir",),
        type=click.Path(path_type=Path, file_okay=False), default=Path("emkit_motif_out"),
        show_default=True, metavar="DIRECTORY",
        help="Folder for meme.txt (MEME motif format), motifs.json and logos.")
@click.option("--no-logo", is_flag=True, help="Do not draw the sequence logos.")
def command(sequences, width, model, nmotifs, revcomp, alphabet, bg_order, pseudocount,
            nstarts, seed, outdir, no_logo):
    """Find motifs in DNA or protein sequences, as MEME does.

    SEQUENCES is a FASTA file. Writes OUTPUT/meme.txt in MEME's minimal motif format (for
    FIMO, Tomtom, SEA, ...), OUTPUT/motifs.json with every motif's matrix, consensus, sites
    and E-value, and a sequence logo per motif.
    """
    from ._meme import MEME
    from ._output import summary_lines, write_results

    written = ["meme.txt", "motifs.json"] + \
        ([] if no_logo else [f"logo{k}.png" for k in range(1, nmotifs + 1)])
    check_outputs([(sequences, "SEQUENCES")], [(outdir / name, "-o") for name in written],
                  folders_exist=False)
    low, high = _width(width)
    if alphabet.lower() == "protein" and revcomp:
        revcomp = False
    meme = MEME(width=(low, high), model=model.lower(), n_motifs=nmotifs, revcomp=revcomp,
                alphabet=alphabet.lower(), background_order=bg_order,
                pseudocount=pseudocount, n_starts=nstarts, random_state=seed)
    try:
        meme.fit(sequences)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        paths = write_results(meme, outdir, logos=not no_logo)
    except OSError as exc:
        raise click.ClickException(f"{outdir}: cannot write the results: {exc}") from None
    click.echo(f"{meme.n_sequences_} sequences, model {meme.model}, width {low}..{high}")
    for line in summary_lines(meme):
        click.echo(line)
    click.echo("wrote " + ", ".join(str(p) for p in paths))
