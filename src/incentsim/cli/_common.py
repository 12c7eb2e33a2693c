"""Options shared by several verbs, so every verb spells them the same way."""

from __future__ import annotations

import argparse


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
