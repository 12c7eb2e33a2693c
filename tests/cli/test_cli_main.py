"""The command-line framework: verbs, exit codes, errors without tracebacks, light imports."""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

import incentsim
import incentsim.cli
from incentsim.cli import VERBS, build_parser, main
from incentsim.errors import DataError

ROOT = Path(__file__).resolve().parents[2]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"incentsim {incentsim.__version__}"


@pytest.mark.parametrize("argv", [[], ["no-such-verb"], ["validate"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: incentsim" in capsys.readouterr().err


def test_help_lists_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(verb in out for verb in VERBS)


def test_every_verb_module_follows_the_contract() -> None:
    build_parser()
    for verb in VERBS:
        module = sys.modules[f"incentsim.cli.{verb}"]
        assert callable(module.register)
        assert callable(module.run)


InstallVerb = Callable[[BaseException | int], None]


def fake_verb(behaviour: BaseException | int) -> types.ModuleType:
    """A verb module whose ``run`` returns an exit code or raises."""
    module = types.ModuleType("incentsim.cli.fake")

    def run(args: argparse.Namespace) -> int:
        if isinstance(behaviour, BaseException):
            raise behaviour
        return behaviour

    def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        subparsers.add_parser("fake").set_defaults(func=run)

    module.run, module.register = run, register  # type: ignore[attr-defined]
    return module


@pytest.fixture
def with_fake_verb(monkeypatch: pytest.MonkeyPatch) -> InstallVerb:
    """Install a verb ``fake`` whose ``run`` returns or raises what it is given."""

    def install(behaviour: BaseException | int) -> None:
        monkeypatch.setitem(sys.modules, "incentsim.cli.fake", fake_verb(behaviour))
        monkeypatch.setattr(incentsim.cli, "VERBS", (*VERBS, "fake"))

    return install


def test_adding_a_verb_is_a_module_and_a_name(with_fake_verb: InstallVerb) -> None:
    with_fake_verb(7)
    assert main(["fake"]) == 7


def test_user_errors_print_one_error_line_and_exit_2(
    with_fake_verb: InstallVerb,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_fake_verb(DataError("partners.csv", [(3, "unknown segment 'x'")]))
    assert main(["fake"]) == 2
    assert capsys.readouterr().err == "error: partners.csv:3: unknown segment 'x'\n"


def test_interrupt_exits_130(
    with_fake_verb: InstallVerb, capsys: pytest.CaptureFixture[str]
) -> None:
    with_fake_verb(KeyboardInterrupt())
    assert main(["fake"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_bugs_are_not_hidden(with_fake_verb: InstallVerb) -> None:
    with_fake_verb(ZeroDivisionError("a bug"))
    with pytest.raises(ZeroDivisionError):
        main(["fake"])


def test_validate_does_not_import_the_simulation_stack() -> None:
    """Verb modules keep heavy imports inside ``run``, so ``validate`` stays quick."""
    code = (
        "import sys\n"
        "from incentsim.cli import main\n"
        "rc = main(['validate', 'scenarios/small.yaml'])\n"
        "heavy = {'simpy', 'matplotlib', 'pulp', 'dask', 'distributed'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
        "sys.exit(rc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_python_m_incentsim_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "incentsim", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"incentsim {incentsim.__version__}")


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``incentsim run ... | head``: the reader is gone before the summary is written."""
    small = ROOT / "scenarios" / "small.yaml"
    argv = ["run", str(small), "--reps", "2", "--no-progress", "--out", str(tmp_path / "run")]
    process = subprocess.Popen(
        [sys.executable, "-m", "incentsim", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert process.stdout is not None
    process.stdout.close()  # like head, long before the summary is printed
    _, err = process.communicate(timeout=120)
    assert process.returncode == 141
    assert b"Traceback" not in err
    assert b"BrokenPipeError" not in err


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_accepts_no_progress(verb: str) -> None:
    parser = build_parser()
    help_text = parser._subparsers._group_actions[0].choices[verb].format_help()
    assert "--no-progress" in help_text
