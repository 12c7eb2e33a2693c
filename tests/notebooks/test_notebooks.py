"""The notebooks in ``notebooks/`` run top to bottom, so they cannot rot.

Each notebook is executed by a fresh kernel of *this* interpreter (a kernelspec written to a
temporary folder, so a kernel named ``python3`` elsewhere on the machine is never picked up),
with ``notebooks/`` as working directory and a small replication count through
``INCENTSIM_NOTEBOOK_REPS``. The notebooks are stored without outputs; a test checks that too.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
KERNEL = "incentsim-test"

#: Replications each notebook runs under test: enough for every table and plot to have
#: intervals, few enough for CI.
TEST_REPS = 8

#: Seconds a single cell may take before the run is called stuck.
CELL_TIMEOUT = 300


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Jupyter data folder whose only kernel runs this interpreter."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "incentsim (test)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return root


def test_the_five_notebooks_are_there() -> None:
    assert [path.stem for path in PATHS] == [
        "01_quickstart",
        "02_compare_variants",
        "03_optimize_design",
        "04_stress_test",
        "05_calibrate",
    ]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert notebook.nbformat == 4
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code"
    assert all(not cell.outputs and cell.execution_count is None for cell in code), (
        f"{path.name} is stored with outputs: clear them before committing"
    )
    assert any(cell.cell_type == "markdown" for cell in notebook.cells)


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs_top_to_bottom(
    path: Path, kernel_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))
    monkeypatch.setenv("INCENTSIM_NOTEBOOK_REPS", str(TEST_REPS))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel then draws inline
    notebook = nbformat.read(path, as_version=4)
    # a last cell, in memory only, tells which interpreter ran the notebook
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    seconds = time.perf_counter() - started

    *code, probe = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert probe.outputs[0].text.strip() == sys.executable, "the kernel is not this interpreter"
    assert all(cell.execution_count is not None for cell in code)
    shown = {key for cell in code for out in cell.outputs for key in out.get("data", {})}
    assert {"text/html", "image/png"} <= shown, f"{path.name} showed no table or no plot"
    print(f"{path.name}: {seconds:.1f} s with {TEST_REPS} replications")
