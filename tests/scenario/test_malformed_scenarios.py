"""Each file in ``malformed/`` fails ``incentsim validate`` with the message its first line expects.

A corpus file starts with ``# expect: <substring of stderr>``; most extend the bundled small
scenario and break one thing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from incentsim.cli import main

MALFORMED = Path(__file__).resolve().parent / "malformed"


def expected_message(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: ...'"
    return first.removeprefix("# expect: ")


@pytest.mark.parametrize("path", sorted(MALFORMED.glob("*.yaml")), ids=lambda p: p.name)
def test_malformed_file_is_reported(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("error: ")
    assert expected_message(path) in err
    assert path.name in err
    assert "Traceback" not in out + err
    assert f"FAIL  {path}" in out
