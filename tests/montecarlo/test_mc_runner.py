"""The Monte Carlo runner with a fake engine: identical results on every executor, streaming to
disk, the manifest, re-opening a run, and errors from workers."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mc_fakes import (
    PARTNERS,
    checking_block,
    failing_block,
    fake_block,
    spawning_block,
    tiny_scenario,
)

import incentsim
from incentsim.montecarlo import (
    BlockError,
    MonteCarloResult,
    OutDirError,
    ProcessExecutor,
    fresh_seed,
    run_montecarlo,
)
from incentsim.montecarlo.runner import run_block
from incentsim.montecarlo.seeding import block_seeds
from incentsim.scenario.loader import scenario_hash

SIZE = 5  # replications per block in these tests: 23 replications make 5 blocks


def run(**kwargs: object) -> MonteCarloResult:
    options: dict[str, object] = {"block_fn": fake_block, "block_size": SIZE, "progress": False}
    options.update(kwargs)
    return run_montecarlo(tiny_scenario(), **options)  # type: ignore[arg-type]


def assert_same_results(a: MonteCarloResult, b: MonteCarloResult) -> None:
    pd.testing.assert_frame_equal(a.outcomes, b.outcomes, check_exact=True)
    for name in a.trajectory_names:
        pd.testing.assert_frame_equal(a.trajectories(name), b.trajectories(name), check_exact=True)
    assert json.dumps(a.summary.to_dict()) == json.dumps(b.summary.to_dict())


def test_in_memory_run() -> None:
    result = run()
    assert result.out_dir is None
    assert result.replications == 23
    assert list(result.outcomes.index) == list(range(23))
    assert result.outcomes.index.name == "replication"
    expected = fake_block(tiny_scenario(), block_seeds(12345, 23, SIZE)[1].seed, 5).outcomes
    np.testing.assert_array_equal(
        result.outcomes["incentive_cost"].iloc[5:10], expected["incentive_cost"]
    )
    assert result.trajectories("reserve").shape == (23, 4)
    assert result.trajectories("weekly_revenue").shape == (23, 52)
    assert result.summary.outcomes["budget_exceeded"].probability
    assert result.manifest["status"] == "complete"


def test_identical_on_serial_and_one_or_two_processes(tmp_path: Path) -> None:
    serial = run()
    with ProcessExecutor(2) as pool:
        two = run(executor=pool)
        assert pool.workers == 2
    one = run(executor="processes", workers=1, out_dir=tmp_path / "one")
    assert_same_results(serial, two)
    assert_same_results(serial, one)
    assert one.manifest["workers"] == 1
    assert one.manifest["executor"] == "processes"


def test_more_replications_extend_the_same_ones() -> None:
    short, long = run(reps=10), run(reps=23)
    pd.testing.assert_frame_equal(short.outcomes, long.outcomes.iloc[:10], check_exact=True)


def test_blocks_stream_to_disk_as_they_finish(tmp_path: Path) -> None:
    seen: list[list[str]] = []
    block_fn = functools.partial(checking_block, out_dir=tmp_path, seen=seen)
    run(out_dir=tmp_path, block_fn=block_fn)
    assert seen == [[f"block-{i:05d}.parquet" for i in range(k)] for k in range(5)]
    assert not list(tmp_path.rglob("*.tmp"))


def test_run_folder_layout(tmp_path: Path) -> None:
    result = run(out_dir=tmp_path, panel=True)
    replications = pq.read_table(tmp_path / "replications" / "block-00004.parquet")
    assert replications.column_names == [
        "replication", "revenue_gross", "incentive_cost", "cost_to_revenue", "budget_exceeded",
        "retention",
    ]  # fmt: skip
    assert replications.column("replication").to_pylist() == [20, 21, 22]
    trajectories = pq.read_table(tmp_path / "trajectories" / "block-00001.parquet")
    assert trajectories.column("replication").to_pylist() == [5, 6, 7, 8, 9]
    assert trajectories.schema.field("reserve").type == pa.list_(pa.float64(), 4)
    assert trajectories.schema.field("weekly_revenue").type == pa.list_(pa.float64(), 52)
    first = trajectories.column("reserve").to_pylist()[0]
    assert first == list(result.trajectories("reserve").loc[5])
    panel = pq.read_table(tmp_path / "panel" / "block-00002.parquet").to_pandas()
    assert "rep" not in panel.columns
    assert sorted(set(panel["replication"])) == list(range(10, 15))
    assert len(panel) == 5 * PARTNERS * 4
    events = [
        json.loads(line)
        for line in (tmp_path / "events" / "block-00004.jsonl").read_text().splitlines()
    ]
    assert events[0] == {
        "block": 4,
        "event": "payout_run",
        "period": 0,
        "replications": [20, 21, 22],
    }
    assert events[-1] == {"block": 4, "event": "shock_start", "week": 3.0, "replication": 22}


def test_manifest(tmp_path: Path) -> None:
    scenario = tiny_scenario()
    run_montecarlo(scenario, block_fn=fake_block, block_size=SIZE, progress=False, out_dir=tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["scenario"] == "fake"
    assert manifest["scenario_hash"] == scenario_hash(scenario)
    assert (manifest["seed"], manifest["replications"]) == (12345, 23)
    assert (manifest["block_size"], manifest["blocks"]) == (SIZE, 5)
    assert manifest["incentsim_version"] == incentsim.__version__
    assert manifest["numpy"] == np.__version__
    assert manifest["python"].count(".") == 2
    assert (manifest["executor"], manifest["workers"]) == ("serial", 1)
    assert manifest["started"] <= manifest["finished"]
    assert manifest["wall_seconds"] >= 0
    assert manifest["trajectories"]["reserve"] == 4
    assert manifest["trajectories"]["weekly_revenue"] == 52
    assert "replications/block-00004.parquet" in manifest["files"]
    assert "summary.json" in manifest["files"]
    assert "scenario.json" in manifest["files"]
    assert all((tmp_path / f).is_file() for f in manifest["files"])


def test_reopen_from_disk(tmp_path: Path) -> None:
    memory = run(panel=True)
    written = run(out_dir=tmp_path, panel=True)
    opened = MonteCarloResult.open(tmp_path)
    assert_same_results(memory, written)
    assert_same_results(memory, opened)
    assert opened.out_dir == tmp_path
    assert opened.scenario == tiny_scenario()
    assert opened.trajectories("reserve").columns.name == "period"
    assert opened.trajectories("weekly_revenue").columns.name == "week"
    some = opened.panel(replications=[7, 21], columns=["revenue"])
    assert list(some.columns) == ["replication", "revenue"]
    assert sorted(set(some["replication"])) == [7, 21]
    expected = memory.panel(replications=[7, 21], columns=["revenue"])
    pd.testing.assert_frame_equal(some.reset_index(drop=True), expected)
    pd.testing.assert_frame_equal(opened.panel(), memory.panel())
    pd.testing.assert_frame_equal(opened.events(), memory.events())
    assert "weekly_revenue" in repr(opened.trajectory_names)


def test_panel_needs_panel_true(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="panel=True"):
        run().panel()
    run(out_dir=tmp_path)
    with pytest.raises(ValueError, match="panel=True"):
        MonteCarloResult.open(tmp_path).panel()


def test_unfinished_or_missing_runs_do_not_open(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no Monte Carlo run"):
        MonteCarloResult.open(tmp_path)
    with pytest.raises(BlockError):
        run(out_dir=tmp_path, block_fn=failing_block)
    assert json.loads((tmp_path / "manifest.json").read_text())["status"] == "failed"
    with pytest.raises(ValueError, match="did not complete"):
        MonteCarloResult.open(tmp_path)


def test_out_dir_holding_another_run_is_refused(tmp_path: Path) -> None:
    run(out_dir=tmp_path)
    run(out_dir=tmp_path)  # the same run again is fine
    with pytest.raises(OutDirError, match="different run"):
        run(out_dir=tmp_path, seed=1)
    (tmp_path / "notes.txt").write_text("mine")
    run(out_dir=tmp_path, reps=7, overwrite=True)
    assert sorted(p.name for p in (tmp_path / "replications").iterdir()) == [
        "block-00000.parquet",
        "block-00001.parquet",
    ]
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert len(MonteCarloResult.open(tmp_path).outcomes) == 7


def _stop_part_way(folder: Path) -> None:
    """Leave ``folder`` as a run killed part-way leaves it: block 3 never written, block 1
    half-written, no summary, the manifest not complete."""
    for name in ("replications/block-00003.parquet", "trajectories/block-00003.parquet"):
        (folder / name).unlink()
    (folder / "events" / "block-00003.jsonl").unlink()
    (folder / "trajectories" / "block-00001.parquet").unlink()
    (folder / "summary.json").unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(manifest | {"status": "interrupted"}))


def test_a_run_stopped_part_way_resumes_with_the_same_results(tmp_path: Path) -> None:
    whole = run()
    run(out_dir=tmp_path)
    _stop_part_way(tmp_path)
    simulated: list[int] = []

    def counting_block(scenario, seed, reps, panel=False):  # type: ignore[no-untyped-def]
        simulated.append(reps)
        return fake_block(scenario, seed, reps, panel=panel)

    resumed = run(out_dir=tmp_path, resume=True, block_fn=counting_block)
    assert simulated == [SIZE, SIZE]  # blocks 1 and 3 only
    assert resumed.manifest["resumed_blocks"] == 3
    assert resumed.manifest["status"] == "complete"
    assert_same_results(resumed, whole)
    assert_same_results(MonteCarloResult.open(tmp_path), whole)
    simulated.clear()
    run(out_dir=tmp_path, resume=True, block_fn=counting_block)  # finished: nothing to do
    assert simulated == []


def test_resume_needs_the_same_run_and_a_folder(tmp_path: Path) -> None:
    assert_same_results(run(out_dir=tmp_path / "new", resume=True), run())  # starts the run
    with pytest.raises(OutDirError, match=r"cannot be resumed here .*seed 12345, not 1\)"):
        run(out_dir=tmp_path / "new", seed=1, resume=True)
    with pytest.raises(OutDirError, match=r"panel False, not True"):
        run(out_dir=tmp_path / "new", panel=True, resume=True)
    (tmp_path / "new" / "replications" / "block-00002.parquet").write_text("not parquet")
    with pytest.raises(OutDirError, match=r"block 2 of the run in .* cannot be read"):
        run(out_dir=tmp_path / "new", resume=True)
    with pytest.raises(ValueError, match="needs the out_dir"):
        run(resume=True)


def test_a_folder_with_unrelated_files_is_used(tmp_path: Path) -> None:
    (tmp_path / "readme.md").write_text("x")
    run(out_dir=tmp_path)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(OutDirError, match=r"no manifest\.json"):
        run(out_dir=tmp_path)


def test_unusable_out_dirs_are_refused_as_user_errors(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(OutDirError, match=r"manifest\.json cannot be read"):
        run(out_dir=tmp_path)
    assert len(run(out_dir=tmp_path, overwrite=True).outcomes) == 23
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(OutDirError, match=r"cannot use .*a-file/run as an output folder"):
        run(out_dir=blocker / "run")
    with pytest.raises(OutDirError, match="exists and is not a folder"):
        run(out_dir=blocker)


def test_fresh_seeds_give_other_replications(tmp_path: Path) -> None:
    main, fresh = run(), run(seed=fresh_seed(12345, 1), out_dir=tmp_path)
    assert not np.isin(fresh.outcomes["incentive_cost"], main.outcomes["incentive_cost"]).any()
    assert fresh.manifest["seed"] == {"entropy": 12345, "spawn_key": [2**31 - 1, 1]}
    assert str(fresh.summary).startswith("fake: 23 replications, seed 12345 (fresh stream 1)")
    assert_same_results(fresh, run(seed=fresh_seed(12345, 1)))


def test_a_block_gives_the_same_numbers_however_often_it_runs() -> None:
    block = block_seeds(12345, 23, SIZE)[2]
    scenario = tiny_scenario()
    outputs = [
        run_block(block, scenario=scenario, block_fn=spawning_block, panel=False, block_size=SIZE)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(
        outputs[0].outcomes["incentive_cost"], outputs[1].outcomes["incentive_cost"]
    )
    assert outputs[0].start == 10


def test_worker_error_names_the_block_serially() -> None:
    with pytest.raises(BlockError) as caught:
        run(block_fn=failing_block)
    error = caught.value
    assert str(error) == (
        "block 1 (replications 5-9) failed: ValueError: demand curve went negative in the fake"
    )
    assert "failing_block" in error.worker_traceback
    assert not error.user_error
    assert isinstance(error.__cause__, ValueError)


def test_worker_error_surfaces_from_a_process_with_its_message(tmp_path: Path) -> None:
    with pytest.raises(BlockError, match="demand curve went negative in the fake") as caught:
        run(block_fn=failing_block, executor="processes", workers=2, out_dir=tmp_path)
    assert caught.value.block == 1
    assert "raise ValueError" in caught.value.worker_traceback
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert "demand curve" in manifest["error"]


def test_block_results_of_the_wrong_shape_are_refused() -> None:
    def short_block(scenario, seed, reps, panel=False):  # type: ignore[no-untyped-def]
        result = fake_block(scenario, seed, reps, panel)
        result.outcomes["retention"] = result.outcomes["retention"][:-1]
        return result

    with pytest.raises(BlockError, match=r"outcome 'retention' has shape \(4,\), expected \(5,\)"):
        run(block_fn=short_block)


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    run(progress=True)  # stderr is not a terminal here: no bar
    assert capsys.readouterr().err == ""
    run(progress="always")
    assert "5/5" in capsys.readouterr().err


def test_identical_on_a_local_dask_cluster() -> None:
    pytest.importorskip("distributed")
    assert_same_results(run(), run(executor="dask", workers=2))
