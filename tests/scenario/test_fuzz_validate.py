"""Fuzzing ``incentsim validate``: whatever a scenario file or a ``--set`` value holds, the answer
is OK or a clean error (exit 2, ``error:`` on stderr), never a traceback.

Each example takes the bundled small scenario (its ``extends`` resolved, written out whole) and
breaks a few of its lines: a value replaced by a hostile token (non-finite numbers, yes/no
values, impossible dates, bad tags, aliases, deep or broken flow collections, control
characters, huge numbers), a line deleted, duplicated or re-indented.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incentsim.cli import main
from incentsim.scenario.loader import read_document

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small.yaml"
LINES = yaml.safe_dump(read_document(SMALL), sort_keys=False).splitlines()

TOKENS = [
    ".nan", ".inf", "-.inf", "1e400", "-1e400", "1.0e+300", "-1", "0", "1e12", "1.0e+13",
    "99999999999999999999999", "0x7fffffffffffffff", "0o777", "yes", "no", "on", "~", "null",
    "''", "2027-02-30", "2027-13-01", "1999-01-01", "!!int abc", "!!float x", "!!bool maybe",
    "!!timestamp 2027-02-30", "!!binary '!!!'", "!!python/object:os.system x", "!!set {a}",
    "!!omap [a]", "!!map [1]", "!!seq {a: 1}", '!!int ""', "!!timestamp x",
    "*undefined", "&anchor 1", "[]", "{}", "[1, [2, [3]]]", "{a: 1, a: 2}",
    "[" * 300 + "]" * 300, "[", "{", "]", "? x", "- x", ": x", "'\\0'", '"\\x00"', '"\\u0007"',
    "'" + "x" * 5000 + "'", "é", "\t", "|", ">-", "!", "%YAML 1.1", "---", "...", "#",
    "{dist: fixed, value: .nan}", "{dist: beta, mean: 2, concentration: -1}",
    "[{kind: surge, start_week: 1, duration_weeks: 1, magnitude: yes}]",
]  # fmt: skip


def _mutate(lines: list[str], edits: list[tuple[int, int, str]]) -> str:
    """``lines`` with each edit applied: (line index, kind, token)."""
    out = list(lines)
    for index, kind, token in edits:
        i = index % len(out)
        head, sep, _ = out[i].partition(": ")
        if kind == 0 and sep:  # replace the value
            out[i] = f"{head}: {token}"
        elif kind == 1:  # delete the line
            del out[i]
        elif kind == 2:  # write it twice
            out.insert(i, out[i])
        elif kind == 3:  # indent it differently
            out[i] = "  " + out[i]
        else:  # a token on its own line
            out.insert(i, token)
        if not out:
            out = ["x: 1"]
    return "\n".join(out) + "\n"


edit = st.tuples(st.integers(0, 10_000), st.integers(0, 4), st.sampled_from(TOKENS))


def _validate(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", *argv])
    out, err = capsys.readouterr()
    assert code in (0, 2)
    assert "Traceback" not in out + err
    if code == 2:
        assert err.startswith("error: ")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(edits=st.lists(edit, min_size=1, max_size=4))
def test_validate_never_tracebacks_on_a_broken_scenario(
    edits: list[tuple[int, int, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "fuzzed.yaml"
    path.write_text(_mutate(LINES, edits), encoding="utf-8")
    _validate([str(path)], capsys)


PATHS = [
    "seed", "replications", "population.partners", "population.regions",
    "population.segments.reseller.capacity", "population.segments.reseller.share",
    "program.tiers.gold.rebate_rate", "program.tiers", "program.budget.per_period",
    "program.budget.reserve.max", "program.milestones", "market.shocks", "market.shocks.0",
    "market.seasonality", "calendar.start_date", "behaviour.churn_slope", "x.y.z", "program.0",
]  # fmt: skip


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(path=st.sampled_from(PATHS), token=st.sampled_from(TOKENS))
def test_validate_never_tracebacks_on_a_hostile_set(
    path: str, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _validate([str(SMALL), "--set", f"{path}={token}"], capsys)


ROOT = SMALL.parents[1]
OTHER_KINDS = {
    "optimisation": (ROOT / "scenarios" / "optimize_demo.yaml", "scenario: "),
    "experiment": (ROOT / "experiments" / "rebate_variants.yaml", "base: "),
}


def _with_absolute_base(path: Path, key: str) -> list[str]:
    """A file's lines with the file it builds on named by its absolute path."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        f"{key}{(path.parent / line.removeprefix(key)).resolve()}" if line.startswith(key) else line
        for line in lines
    ]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(kind=st.sampled_from(sorted(OTHER_KINDS)), edits=st.lists(edit, min_size=1, max_size=3))
def test_validate_never_tracebacks_on_broken_optimisation_or_experiment_files(
    kind: str,
    edits: list[tuple[int, int, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / f"fuzzed_{kind}.yaml"
    path.write_text(_mutate(_with_absolute_base(*OTHER_KINDS[kind]), edits), encoding="utf-8")
    _validate([str(path)], capsys)
