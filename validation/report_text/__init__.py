"""Markdown rendering of a validation :class:`~validation.harness.Report` (validation/REPORT.md).

The report's parts, one module each: :mod:`.intro` (how to read it), :mod:`.summary` (goal, error
table, bands), :mod:`.fitted` (the fitted parameters), :mod:`.mechanisms` and :mod:`.known_gaps`
(assembled from the paragraphs of each device kind's module: :mod:`.gpu`, :mod:`.tpu`, :mod:`.cpu`,
:mod:`.fpga`, :mod:`.asic`, and :mod:`.common` for what spans kinds), :mod:`.tables` (the rows).
"""
from __future__ import annotations

from ..stats import BAND_QUANTILE, MIN_BAND_ROWS
from .fitted import calibration_section
from .intro import INTRO
from .known_gaps import KNOWN_GAPS
from .mechanisms import MECHANISMS
from .summary import summary_lines
from .tables import row_tables


def render_markdown(rep, *, command: str) -> str:
    lines = ["# Validation report", "", f"Produced by `{command}` (also `make validate`). Published rows outside "
             "validation/data/, never fitted, are scored separately in `validation/EXTERNAL.md` "
             "(`make validate-external`).", "",
             INTRO.format(q=100 * BAND_QUANTILE, n=MIN_BAND_ROWS), "## Summary", ""]
    lines += summary_lines(rep)
    lines += [""] + calibration_section() + [MECHANISMS, KNOWN_GAPS]
    lines += row_tables(rep)
    return "\n".join(lines)
