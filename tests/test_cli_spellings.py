"""One spelling per option across the ``emkit`` commands; the old spellings still work.

Also: ``emkit --help`` lists every command with a one-line description, and the command
line's own modules import nothing heavy (numba, the kernels, matplotlib, pandas, dask).
"""

import re
import subprocess
import sys
import textwrap
import warnings

import pytest
from click.testing import CliRunner

from emkit._cli_support import OldSpellingOption
from emkit.cli import main

# command path, old spelling, the spelling that replaces it, a value that is not the default
OLD_SPELLINGS = [
    (("fit",), "--covariance", "--covariance-type", "diag"),
    (("fit",), "--seed", "--random-state", "7"),
    (("fit",), "--jobs", "--n-jobs", "3"),
    (("impute",), "--components", "--n-components", "2"),
    (("impute",), "--seed", "--random-state", "7"),
    (("demo",), "--seed", "--random-state", "7"),
    (("hmm", "fit"), "--states", "--n-components", "3"),
    (("hmm", "fit"), "--n-iter", "--max-iter", "7"),
    (("hmm", "fit"), "--seed", "--random-state", "7"),
    (("segment",), "--classes", "--n-components", "3"),
    (("segment",), "--seed", "--random-state", "7"),
    (("motif",), "--nmotifs", "--n-motifs", "3"),
    (("motif",), "--nstarts", "--n-starts", "7"),
    (("motif",), "--norevcomp", "--no-revcomp", None),
    (("motif",), "--seed", "--random-state", "7"),
    (("motif",), "--outdir", "--output", "elsewhere"),
    (("topics",), "--components", "--n-components", "3"),
    (("topics",), "--seed", "--random-state", "7"),
    (("topics",), "--save", "--output", "model"),
]
OLD = {old for _, old, _, _ in OLD_SPELLINGS}


def commands(group=main, path=()):
    """(path, command) of every command under ``group``, groups included."""
    for name, command in sorted(group.commands.items()):
        yield path + (name,), command
        if hasattr(command, "commands"):
            yield from commands(command, path + (name,))


COMMAND_PATHS = [path for path, _ in commands()]


def command_at(path):
    command = main
    for name in path:
        command = command.commands[name]
    return command


def help_text(path):
    result = CliRunner().invoke(main, [*path, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.output


def option_names(text):
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))


def test_the_table_is_every_old_spelling_the_commands_accept():
    found = set()
    for path, command in commands():
        for param in command.params:
            if isinstance(param, OldSpellingOption):
                found |= {(path, old, param.canonical_name(old)) for old in param.old_spellings}
    assert found == {(path, old, new) for path, old, new, _ in OLD_SPELLINGS}


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=" ".join)
def test_help_shows_only_today_s_spellings(path):
    text = help_text(path)
    assert not option_names(text) & OLD, text
    for where, _, new, _ in OLD_SPELLINGS:
        if where == path:
            assert new in option_names(text), (new, text)


@pytest.mark.parametrize("path", [p for p in COMMAND_PATHS if p != ("hmm",)], ids=" ".join)
def test_options_meaning_the_same_are_spelled_the_same(path):
    """Every option names its idea the way the other commands do."""
    names = option_names(help_text(path).split("Options:", 1)[1])
    assert not names & {"--seed", "--components", "--states", "--classes", "--save",
                        "--outdir", "--covariance", "--jobs", "--n-iter", "--nmotifs",
                        "--nstarts", "--norevcomp"}
    seeded = {("fit",), ("impute",), ("demo",), ("hmm", "fit"), ("segment",), ("motif",),
              ("topics",)}
    assert ("--random-state" in names) == (path in seeded)


def parsed(path, args):
    """The values ``args`` give the command's parameters, and the warnings given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctx = command_at(path).make_context(" ".join(path), list(args))
    return ctx.params, [str(w.message) for w in caught if w.category is FutureWarning]


def required_args(path, tmp_path, leave_out):
    """Arguments the command needs besides the option under test."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("one document\n")
    args = {("fit",): ["d.csv"], ("impute",): ["d.csv"], ("demo",): [],
            ("hmm", "fit"): ["d.csv", "-k", "2"], ("segment",): ["i.npy", "-k", "2", "-o",
                                                                  "l.npy"],
            ("motif",): ["s.fa"], ("topics",): [str(corpus)]}[path]
    if leave_out == "--n-components" and "-k" in args:
        del args[args.index("-k"):args.index("-k") + 2]
    return args


@pytest.mark.parametrize("path, old, new, value", OLD_SPELLINGS,
                         ids=[f"{' '.join(p)} {o}" for p, o, _, _ in OLD_SPELLINGS])
def test_an_old_spelling_sets_what_today_s_does(path, old, new, value, tmp_path):
    base = required_args(path, tmp_path, new)
    given = [] if value is None else [value]
    with_new, new_warnings = parsed(path, base + [new] + given)
    with_old, old_warnings = parsed(path, base + [old] + given)
    assert with_old == with_new
    assert new_warnings == []
    assert len(old_warnings) == 1 and old in old_warnings[0] and new in old_warnings[0]
    option = next(p for p in command_at(path).params if new in p.opts + p.secondary_opts)
    if not option.required:
        default, _ = parsed(path, base)
        assert with_new != default  # the option did something
    if value is not None:
        joined, _ = parsed(path, base + [f"{old}={value}"])
        assert joined == with_new


def test_old_spellings_run_the_same_fit_with_one_warning_each(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n3,4\n5,7\n2,2\n0,1\n")
    runner = CliRunner()
    today = runner.invoke(main, ["fit", str(data), "-k", "1..2", "--covariance-type", "diag",
                                 "--random-state", "3"])
    old = runner.invoke(main, ["fit", str(data), "-k", "1..2", "--covariance", "diag",
                               "--seed", "3"])
    assert today.exit_code == 0 and old.exit_code == 0, old.output
    assert old.stdout == today.stdout
    lines = old.stderr.splitlines()
    assert len(lines) == 2, old.stderr
    assert all(line.startswith("emkit: warning: FutureWarning: ") for line in lines)
    assert "--covariance is an old spelling of --covariance-type" in lines[0]
    assert "--seed is an old spelling of --random-state" in lines[1]
    assert today.stderr == ""


def test_an_old_spelling_in_a_failing_command_leaves_only_the_error(tmp_path):
    result = CliRunner().invoke(main, ["fit", str(tmp_path / "nope.csv"), "--seed", "3"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("emkit: error: "), result.stderr


def test_errors_name_an_option_by_today_s_spelling():
    result = CliRunner().invoke(main, ["hmm", "fit", "d.csv", "--states", "0"])
    assert result.exit_code == 2
    assert "'-k' / '--n-components'" in result.stderr
    assert "--states" not in result.stderr


@pytest.mark.parametrize("group", [(), ("hmm",)], ids=["emkit", "emkit hmm"])
def test_help_lists_every_command_with_a_one_line_description(group):
    text = help_text(group).split("Commands:", 1)[1]
    listed = {}
    for line in text.splitlines():
        if line.strip():
            name, _, description = line.strip().partition(" ")
            listed[name] = description.strip()
    assert set(listed) == set(command_at(group).commands)
    for name, description in listed.items():
        assert description and not description.endswith("..."), (name, description)


HEAVY = ("numba", "llvmlite", "matplotlib", "pandas", "dask", "scipy", "sklearn", "numpy")
_REPORT_HEAVY = f"""
import sys
from emkit.cli import main
for args in [["--help"]] + [[*path, "--help"] for path in {COMMAND_PATHS!r}]:
    try:
        main(args, prog_name="emkit")
    except SystemExit:
        pass
heavy = [m for m in sys.modules if m.split(".")[0] in {HEAVY!r} or m.endswith("._kernels")]
print("HEAVY:", sorted(heavy))
"""


def heavy_modules(prelude=""):
    code = textwrap.dedent(prelude) + _REPORT_HEAVY
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.rsplit("HEAVY:", 1)[1].strip()


def test_the_command_line_modules_import_nothing_heavy():
    """With the packages' own __init__ modules left unrun, every command's --help imports
    only click and the standard library: the command modules load their models when they
    run."""
    stub_packages = """
        import importlib.util, sys
        for name in ("emkit", "emkit.mixture", "emkit.hmm", "emkit.impute", "emkit.motif",
                     "emkit.segment", "emkit.topics"):
            sys.modules[name] = importlib.util.module_from_spec(importlib.util.find_spec(name))
    """
    assert heavy_modules(stub_packages) == "[]"


def test_emkit_help_leaves_numba_matplotlib_and_pandas_out():
    assert heavy_modules() == "[]"
