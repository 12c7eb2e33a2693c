"""Options shared by several verbs, so every verb spells them the same way."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incentsim._output import check_kind, folder_lock
from incentsim.errors import IncentsimError

if TYPE_CHECKING:
    from incentsim.montecarlo import BehaviourDraws, RunOptions

#: Where Monte Carlo blocks can run (see :mod:`incentsim.montecarlo.executors`).
EXECUTORS = ("serial", "processes", "dask")
#: The default parent folder of run and analysis folders.
RUNS_FOLDER = Path("runs")
#: The HTML report's name inside an analysis folder (``--out``).
REPORT_NAME = "report.html"


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--set KEY.PATH=VALUE`` option; values land in ``args.overrides``.

    Pass ``args.overrides`` to :func:`incentsim.scenario.load_scenario` (or ``load_program``):
    each override is applied after ``extends`` is resolved, in the order given.
    """
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help=(
            "override one value after 'extends' is resolved; the value is read as YAML "
            "(e.g. --set program.tiers.gold.rebate_rate=0.04, --set market.shocks=[], "
            "--set market.shocks.0.magnitude=0.3); repeatable"
        ),
    )


def add_history_arguments(
    parser: argparse.ArgumentParser,
    *,
    document: str,
    document_help: str,
    history: str,
    history_help: str,
    out: str,
    written: str,
) -> None:
    """The arguments of a verb over a transactions history, spelled alike by every such verb.

    Adds the positional ``document`` (``<DOCUMENT>.yaml``: a scenario or program file), the
    positional ``history`` (a transactions file: CSV, Parquet or Excel), ``--out DIR``
    (default ``./<out>``), ``--overwrite`` and ``--set`` (:func:`add_set_option`).

    Parameters
    ----------
    parser
        The verb's parser.
    document, history
        The names the two files land under in ``args`` (their metavars in capitals).
    document_help, history_help
        What each file is, for ``--help`` (the history's formats are added).
    out
        The default output folder's name.
    written
        What the verb writes there, as in "a folder that already holds <written>".
    """
    parser.add_argument(document, metavar=f"{document.upper()}.yaml", help=document_help)
    parser.add_argument(
        history, metavar=history.upper(), help=f"{history_help} (.csv, .parquet or .xlsx)"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=out,
        help=f"folder for the output files (created if needed; default: ./{out})",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace a --out folder that already holds {written} (or another result)",
    )
    add_set_option(parser)


def executor_kind(executor: str | None, workers: int, scheduler: str | None) -> str:
    """The executor to use: as asked, else dask with a scheduler, serial for one worker, else
    processes."""
    if scheduler is not None:
        if executor not in (None, "dask"):
            raise IncentsimError(f"--scheduler needs the dask executor, not --executor {executor}")
        return "dask"
    if executor is not None:
        return executor
    return "serial" if workers == 1 else "processes"


def default_out_dir(name: str, now: dt.datetime | None = None) -> Path:
    """``runs/<name>-<YYYYmmdd-HHMMSS>``, with a suffix if that folder exists already."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    stem = folder_name(name)
    candidate = RUNS_FOLDER / f"{stem}-{stamp}"
    suffix = 2
    while candidate.exists():
        candidate = RUNS_FOLDER / f"{stem}-{stamp}-{suffix}"
        suffix += 1
    return candidate


def folder_name(name: str) -> str:
    """``name`` as one folder name: runs of other characters than ``A-Za-z0-9._-`` become ``-``
    (so ``a/../b`` cannot leave the runs folder); ``run`` when nothing is left."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "run"


def write_report(build: Callable[[Any, Path], Path], result: Any, page: Path) -> None:
    """Write ``result``'s HTML report with ``build(result, page)`` and say where on stderr; a
    page that cannot be written is a user error (exit 2), not a traceback."""
    try:
        build(result, page)
    except OSError as exc:
        raise IncentsimError(f"cannot write the report {page}: {exc}") from None
    print(f"report: {page}", file=sys.stderr)


def excel_path(text: str) -> Path:
    """An argparse type: a workbook to write, ``*.xlsx`` in a folder that exists (checked
    before anything runs, so a typo costs no simulation)."""
    path = Path(text)
    if path.suffix.lower() != ".xlsx":
        raise argparse.ArgumentTypeError(f"'{text}' is not an Excel workbook name: use FILE.xlsx")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"'{text}': there is no folder {path.parent}")
    return path


def add_excel_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--excel FILE.xlsx``: also write ``what`` as an Excel workbook."""
    parser.add_argument(
        "--excel",
        type=excel_path,
        metavar="FILE.xlsx",
        help=f"also write {what} as an Excel workbook (formatted, one sheet per table)",
    )


def write_workbook_file(build: Callable[[Any, Path], Path], result: Any, path: Path) -> None:
    """Write ``result``'s workbook with ``build(result, path)`` and say where on stderr; a
    workbook that cannot be written is a user error (exit 2), not a traceback."""
    try:
        build(result, path)
    except OSError as exc:
        raise IncentsimError(f"cannot write the workbook {path}: {exc}") from None
    print(f"workbook: {path}", file=sys.stderr)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number of at least 0."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be non-negative, not {value}")
    return value


#: Most replications a command may ask for (as many as a scenario's ``replications`` may be).
MAX_REPS = 1_000_000
#: Most worker processes: more than a few per CPU only queue, and each holds a block in memory.
MAX_WORKERS = max(8, 4 * (os.cpu_count() or 1))
#: Largest root seed (seeds are stored as int64).
MAX_SEED = 2**63 - 1


def replications(text: str) -> int:
    """An argparse type: a number of replications, 1 to :data:`MAX_REPS`."""
    return _within(positive_int(text), MAX_REPS, "replications")


def worker_count(text: str) -> int:
    """An argparse type: a number of worker processes, 1 to :data:`MAX_WORKERS`."""
    return _within(positive_int(text), MAX_WORKERS, f"workers ({os.cpu_count() or 1} CPUs here)")


def seed_value(text: str) -> int:
    """An argparse type: a root seed, 0 to :data:`MAX_SEED`."""
    return _within(non_negative_int(text), MAX_SEED, "a seed")


def _within(value: int, high: int, what: str) -> int:
    if value > high:
        raise argparse.ArgumentTypeError(f"at most {high:,} {what}, not {value:,}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not '{text}'") from None


def add_montecarlo_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--reps``, ``--seed``, ``--workers``, ``--executor``, ``--scheduler``, ``--draws``,
    ``--set`` and ``--no-progress``, spelled as ``incentsim run`` spells them."""
    parser.add_argument(
        "--reps",
        type=replications,
        metavar="N",
        help=f"replications for {what} (default: the first scenario's)",
    )
    parser.add_argument(
        "--seed",
        type=seed_value,
        metavar="S",
        help="root seed (default: the first scenario's)",
    )
    parser.add_argument(
        "--workers", type=worker_count, default=1, metavar="W", help="worker processes (default 1)"
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        help="where blocks run (default: serial with 1 worker, else processes)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="a running Dask scheduler (implies --executor dask)"
    )
    add_draws_option(parser)
    add_set_option(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_draws_option(parser: argparse.ArgumentParser) -> None:
    """``--draws FILE``: behaviour constants drawn from a calibration (see
    :mod:`incentsim.calibration.draws`)."""
    parser.add_argument(
        "--draws",
        type=Path,
        metavar="FILE",
        help="behaviour constants drawn from a calibration (draws.csv of incentsim calibrate): "
        "each block of replications uses one row, picked from its seed (the same row for every "
        "variant)",
    )


def read_draws_option(path: Path | None) -> BehaviourDraws | None:
    """The calibration draws of ``--draws`` (``None`` without it)."""
    if path is None:
        return None
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.calibration.draws import BehaviourDraws, read_draws

    return BehaviourDraws(read_draws(path))


def add_output_options(parser: argparse.ArgumentParser, runs: str) -> None:
    """``--out``, ``--overwrite`` and ``--html``."""
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"stream runs into {runs} and write {REPORT_NAME} and its tables there "
        "(default: keep runs in memory)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="reuse --out folders that hold different runs"
    )
    parser.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help=f"write the HTML report here, tables in <FILE stem>_tables/ (default with --out: "
        f"DIR/{REPORT_NAME})",
    )


def add_reuse_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--overwrite`` and ``--resume`` (one or the other) for a verb whose ``--out`` is a run
    store (:mod:`incentsim.montecarlo.run_store`), ``what`` naming what it holds."""
    reuse = parser.add_mutually_exclusive_group()
    reuse.add_argument(
        "--overwrite",
        action="store_true",
        help=f"reuse a --out folder that holds a different {what}",
    )
    reuse.add_argument(
        "--resume",
        action="store_true",
        help=f"continue the {what} in --out where it stopped: keep its finished blocks, compute "
        "the rest (same arguments; same results as if never stopped)",
    )


def check_resume_has_out(args: argparse.Namespace, what: str) -> None:
    """Refuse ``--resume`` without ``--out`` for a verb whose default folder is new each time
    (named by the time), where the run would otherwise start afresh beside the one to
    continue; ``what`` names what the folder holds."""
    if args.resume and args.out is None:
        raise IncentsimError(f"--resume needs --out, the folder of the {what} to continue")


def run_options(args: argparse.Namespace) -> RunOptions:
    """The run options the shared options collected (``--workers``, ``--executor``,
    ``--scheduler``, ``--draws``, ``--out``, ``--overwrite``, ``--resume``, ``--no-progress``;
    those a verb does not have are left at their defaults). ``--reps`` and ``--seed`` are the
    run plan's, given to the library on their own."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.montecarlo import RunOptions

    workers = getattr(args, "workers", 1)
    scheduler = getattr(args, "scheduler", None)
    return RunOptions(
        executor=executor_kind(getattr(args, "executor", None), workers, scheduler),
        workers=workers,
        address=scheduler,
        out_dir=getattr(args, "out", None),
        overwrite=getattr(args, "overwrite", False),
        resume=getattr(args, "resume", False),
        progress=not getattr(args, "no_progress", False),
        draws=read_draws_option(getattr(args, "draws", None)),
    )


def run_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """What :func:`add_montecarlo_options` and :func:`add_output_options` collected, as the
    keyword arguments of :func:`~incentsim.experiments.compare` and
    :func:`~incentsim.experiments.stress`: replications, seed, the run options and the
    ``--set`` overrides."""
    return {
        "reps": args.reps,
        "seed": args.seed,
        "options": run_options(args),
        "overrides": args.overrides,
    }


@contextlib.contextmanager
def locked_out(args: argparse.Namespace) -> Iterator[None]:
    """Hold the lock of ``--out`` while a verb writes its runs and report there.

    A second writer is refused, and so is a folder holding another kind of result (an
    experiment, an optimisation...), which ``--overwrite`` removes first. A previous report
    there is removed before the runs start, so a report never sits beside runs it does not
    describe; each run has its own manifest, written last, saying whether it is complete.
    """
    if args.out is None:
        yield
        return

    out = Path(args.out)
    with folder_lock(out):
        try:
            if check_kind(out, None, args.overwrite):
                shutil.rmtree(out)
            (out / REPORT_NAME).unlink(missing_ok=True)
            shutil.rmtree(out / f"{Path(REPORT_NAME).stem}_tables", ignore_errors=True)
        except OSError as exc:
            raise IncentsimError(f"cannot clear {out} for this command: {exc}") from None
        yield


def report_path(args: argparse.Namespace) -> Path | None:
    """Where the report goes: ``--html``, else ``--out``/report.html, else nowhere."""
    if args.html is not None:
        return Path(args.html)
    return None if args.out is None else Path(args.out) / REPORT_NAME
