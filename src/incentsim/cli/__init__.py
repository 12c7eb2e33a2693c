"""The ``incentsim`` command line.

Each verb lives in its own module ``incentsim.cli.<verb>`` exposing two functions:

``register(subparsers) -> None``
    Adds the verb's parser with ``subparsers.add_parser("<verb>", help=...)``, its arguments
    (shared ones come from :mod:`incentsim.cli._common`, e.g. ``add_set_option``) and
    ``parser.set_defaults(func=run)``.
``run(args) -> int``
    Does the work and returns the exit code. User errors are raised as
    :class:`~incentsim.errors.IncentsimError`; :func:`main` prints them and exits with 2.

To add a verb, write that module and add its name to :data:`VERBS`. Every verb module is
imported whenever the parser is built, so keep heavy imports (pandas, simpy, matplotlib, ...)
inside ``run``: ``incentsim validate`` must stay quick.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from incentsim import __version__
from incentsim.errors import IncentsimError

#: The verbs, in the order ``incentsim --help`` lists them; each is a module of this package.
VERBS: tuple[str, ...] = (
    "validate",
    "schema",
    "run",
    "payout",
    "calibrate",
    "compare",
    "stress",
    "sensitivity",
    "experiment",
    "optimize",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``incentsim`` parser with every verb in :data:`VERBS` registered."""
    parser = argparse.ArgumentParser(
        prog="incentsim",
        description="Design channel-partner incentive programs by agent-based simulation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="verbs", dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        importlib.import_module(f"{__name__}.{verb}").register(subparsers)
    for verb_parser in subparsers.choices.values():
        # every verb accepts --no-progress, so scripts can pass it to any; those that show bars
        # declare it themselves
        with contextlib.suppress(argparse.ArgumentError):
            verb_parser.add_argument(
                "--no-progress", action="store_true", help="accepted; this verb shows no bars"
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit code.

    Parameters
    ----------
    argv
        The arguments after the program name; ``sys.argv[1:]`` when ``None``.

    Returns
    -------
    int
        The verb's exit code; 2 for a usage error, an :class:`IncentsimError` or a file that
        cannot be read or written (printed as ``error: <message>`` on stderr, without a
        traceback); 130 when interrupted; 141 (as for SIGPIPE) when the reader of the output
        went away (``incentsim run ... | head``).
    """
    try:
        args = build_parser().parse_args(argv)
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # nobody reads the rest: silence the flush at exit, no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except IncentsimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # A file or folder the user named that cannot be read or written (a name too long, no
        # permission, a file where a folder is needed): their environment, not a bug.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # A Monte Carlo block that failed on bad input (a BlockError with ``user_error``) is
        # the user's mistake, not a bug: no traceback. Checked by attribute so that the
        # command line does not import the Monte Carlo layer to start.
        if getattr(exc, "user_error", False):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # argparse: --help, --version and usage errors
        return _exit_code(exc)


def _exit_code(exc: SystemExit) -> int:
    """The code a ``SystemExit`` carries, as an int (a message is printed and means 1)."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)
    return 1
