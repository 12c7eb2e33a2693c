"""Self-contained HTML reports with their tables as CSV and Parquet.

:class:`Report` is the general building block (headings, text, tables, figures embedded as
PNG images); :func:`run_report`, :func:`comparison_report`, :func:`stress_report` and
:func:`optimization_report`, :func:`sensitivity_report` and :func:`experiment_report` build the
reports of a Monte Carlo run, a comparison of variants, a stress test, an optimisation, a
sensitivity analysis and a batch experiment; :func:`statement_pages` the per-partner payout
statements.

::

    from incentsim.experiments import compare
    from incentsim.report import comparison_report
    comparison = compare(["scenarios/baseline.yaml", "scenarios/variant_richer_rebates.yaml"])
    comparison_report(comparison, "out/comparison.html")   # + out/comparison_tables/*.csv
"""

from incentsim.montecarlo.store import write_table
from incentsim.report.analyses import (
    comparison_report,
    experiment_report,
    run_report,
    sensitivity_report,
    stress_report,
)
from incentsim.report.document import Report
from incentsim.report.optimization import optimization_report
from incentsim.report.statements import statement_pages

__all__ = [
    "Report",
    "comparison_report",
    "experiment_report",
    "optimization_report",
    "run_report",
    "sensitivity_report",
    "statement_pages",
    "stress_report",
    "write_table",
]
