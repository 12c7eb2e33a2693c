"""The one run store: its manifest, and its rule for resuming and overwriting."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import incentsim
from incentsim.errors import OutDirError
from incentsim.montecarlo.run_store import STORE_FORMAT, Layout, RunStore

LAYOUT = Layout(
    kind="Monte Carlo run",
    noun="run",
    parts={"replications": ".parquet", "events": ".jsonl"},
    files=("summary.json", "*.png"),
)
KEY = {"scenario_hash": "abc", "seed": 7, "replications": 60, "block_size": 25}


def make(folder: Path, blocks: int = 3, code: dict[str, object] | None = None, **key: object):
    return RunStore(
        folder, LAYOUT, {**KEY, **key}, code=code, blocks=blocks, info={"scenario": "s"}
    )


def write_block(
    run_store: RunStore, index: int, parts: tuple[str, ...] = ("replications", "events")
):
    for part in parts:
        run_store.block_file(part, index).write_text(f"block {index}")


def test_the_manifest_says_what_ran_and_what_wrote_it(tmp_path: Path) -> None:
    run_store = make(tmp_path / "run")
    assert run_store.open() == []
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert (manifest["format"], manifest["kind"], manifest["status"]) == (
        STORE_FORMAT,
        "Monte Carlo run",
        "running",
    )
    assert manifest["key"] == list(KEY)
    assert {k: manifest[k] for k in KEY} == KEY
    assert manifest["code"] == ["format", "incentsim_version"]
    assert manifest["incentsim_version"] == incentsim.__version__
    assert (manifest["blocks"], manifest["scenario"], manifest["files"]) == (3, "s", [])
    write_block(run_store, 0)
    run_store.write_manifest(status="complete")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["files"] == ["events/block-00000.jsonl", "replications/block-00000.parquet"]


def test_resume_keeps_exactly_the_finished_blocks(tmp_path: Path) -> None:
    first = make(tmp_path)
    first.open()
    write_block(first, 0)
    write_block(first, 2, parts=("replications",))  # killed before its events were written
    assert make(tmp_path).open(resume=True) == [0]
    assert first.block_file("replications", 2).is_file()  # rewritten by the resumed run
    assert make(tmp_path).open() == []  # the same run without resume starts afresh
    assert not list(tmp_path.glob("*/block-*"))


def test_a_different_run_is_refused_naming_the_folder_and_field(tmp_path: Path) -> None:
    make(tmp_path).open()
    with pytest.raises(OutDirError) as caught:
        make(tmp_path, seed=8).open()
    assert str(caught.value) == (
        f"{tmp_path} holds a different run (scenario 's', seed 7, not 8); choose another folder "
        "or overwrite it (--overwrite, or overwrite=True)"
    )
    with pytest.raises(OutDirError, match=r"cannot be resumed here .*seed 7, not 8"):
        make(tmp_path, seed=8).open(resume=True)
    assert make(tmp_path, seed=8).open(overwrite=True) == []
    assert json.loads((tmp_path / "manifest.json").read_text())["seed"] == 8


def test_blocks_written_by_other_code_are_not_reused(tmp_path: Path) -> None:
    first = make(tmp_path, code={"panel": False})
    first.open()
    write_block(first, 0)
    make(tmp_path, code={"panel": True}).open()  # the same run: computed afresh
    with pytest.raises(OutDirError, match=r"cannot be resumed here .*panel True, not False"):
        make(tmp_path, code={"panel": False}).open(resume=True)


def test_a_field_an_older_manifest_lacks_reads_as_none(tmp_path: Path) -> None:
    make(tmp_path).open()
    assert make(tmp_path, draws=None).open(resume=True) == []
    with pytest.raises(OutDirError, match="draws None, not 'd1'"):
        make(tmp_path, draws="d1").open()
    make(tmp_path, draws="d1").open(overwrite=True)
    with pytest.raises(OutDirError, match="draws 'd1', not None"):  # in the stored key
        make(tmp_path).open()


def test_overwrite_removes_only_what_the_store_wrote(tmp_path: Path) -> None:
    first = make(tmp_path)
    first.open()
    write_block(first, 1)
    (tmp_path / "summary.json").write_text("{}")
    (tmp_path / "plot.png").write_text("png")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "replications" / "mine.csv").write_text("mine")
    make(tmp_path, replications=70).open(overwrite=True)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["manifest.json", "notes.txt", "replications/mine.csv"]


def test_resume_with_overwrite_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="give one"):
        make(tmp_path).open(resume=True, overwrite=True)


def test_files_of_a_run_without_a_readable_manifest_are_refused(tmp_path: Path) -> None:
    (tmp_path / "replications").mkdir()
    with pytest.raises(OutDirError, match=r"holds files of a run but no manifest\.json"):
        make(tmp_path).open(resume=True)
    (tmp_path / "manifest.json").write_text("[1]")
    with pytest.raises(OutDirError, match=r"manifest\.json cannot be read \(not a JSON object\)"):
        make(tmp_path).open()
    (tmp_path / "manifest.json").write_text("{oops")
    with pytest.raises(OutDirError, match=r"manifest\.json cannot be read \(Expecting"):
        make(tmp_path).open()
    make(tmp_path).open(overwrite=True)


def test_another_kind_of_result_is_refused_and_replaced_with_overwrite(tmp_path: Path) -> None:
    (tmp_path / "experiment.json").write_text("{}")
    with pytest.raises(OutDirError, match="holds an experiment, not a Monte Carlo run"):
        make(tmp_path).open()
    make(tmp_path).open(overwrite=True)
    assert not (tmp_path / "experiment.json").exists()


def test_complete_needs_the_status_the_key_and_every_listed_file(tmp_path: Path) -> None:
    run_store = make(tmp_path)
    run_store.open()
    assert not make(tmp_path).complete()
    write_block(run_store, 0)
    run_store.write_manifest(status="complete")
    assert make(tmp_path).complete()
    assert not make(tmp_path, seed=8).complete()
    assert not make(tmp_path, code={"panel": True}).complete()
    run_store.block_file("events", 0).unlink()
    assert not make(tmp_path).complete()


def test_a_cache_names_each_run_folder_by_its_key_and_code(tmp_path: Path) -> None:
    def cached(**changes: object) -> Path:
        code = changes.pop("code", None)
        key = {**KEY, **changes}
        return RunStore(tmp_path, LAYOUT, key, code=code, blocks=2).by_key().folder  # type: ignore[arg-type]

    assert cached() == cached()
    assert cached().parent == tmp_path
    assert len({cached(), cached(seed=8), cached(code={"metrics": ["a"]})}) == 3


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.sampled_from([(), ("replications",), ("events",), ("replications", "events")]),
        min_size=1,
        max_size=6,
    )
)
def test_resume_keeps_the_blocks_with_every_part_and_no_other(
    written: list[tuple[str, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        first = make(folder, blocks=len(written))
        first.open()
        for index, parts in enumerate(written):
            write_block(first, index, parts)
        kept = make(folder, blocks=len(written)).open(resume=True)
        assert kept == [i for i, parts in enumerate(written) if len(parts) == 2]
