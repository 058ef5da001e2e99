"""Validation: simulator predictions scored against published measurements in validation/data/.

``python -m validation.harness`` maps every measurement row to a simulation (or says why it cannot),
prints predicted vs measured with errors per device kind for the fit and test splits, and with
``--write validation/REPORT.md`` writes the report. ``python -m validation.calibrate`` fits the
per-family efficiency parameters on the fit split only.
"""
