"""A Dask scheduler address that is malformed or does not answer: a clear error, quickly."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from incentsim.cli import main
from incentsim.montecarlo.scheduler import SchedulerError, connect

pytest.importorskip("distributed")

SMALL = Path(__file__).parents[2] / "scenarios" / "small.yaml"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("tcp://127.0.0.1:notaport", "invalid literal"),
        ("tcp://localhost", "missing port"),
        ("nonsense::", "invalid address"),
        ("foo://host:8786", "unknown address scheme 'foo'"),
    ],
)
def test_a_malformed_address_is_named(address: str, why: str) -> None:
    with pytest.raises(
        SchedulerError, match=rf"'{address}' is not a Dask scheduler address .*{why}"
    ):
        connect(address)


def test_a_scheduler_that_never_answers_times_out(silent_port: int) -> None:
    address = f"tcp://127.0.0.1:{silent_port}"
    with pytest.raises(
        SchedulerError, match=rf"cannot reach the Dask scheduler at {address} within 1 s"
    ):
        connect(address, timeout=1)


def test_run_with_an_unreachable_scheduler_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"tcp://127.0.0.1:{_closed_port()}"
    out = tmp_path / "out"
    argv = ["run", str(SMALL), "--reps", "2", "--scheduler", address, "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"error: cannot reach the Dask scheduler at {address} within 5 s" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
