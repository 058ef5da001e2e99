"""REPORT.md's opening: how the rows are scored and how to read the figures."""

INTRO = """\
Predictions of `accsim` scored against the published measurements in
`validation/data/*.csv` (each row's source and trust tag are there; `validation/data/README.md`).

* **Headline: leave-one-source-out cross-validation** (`validation/crossval.py`). Rows are grouped by
  the document they come from (a repository file, a web page, one MLPerf submitter's results of one
  round: `source_key`), and every row is predicted by the efficiency parameters fitted, stage by
  stage as `python -m validation.calibrate` fits them, on all the *other* documents. Rows from one
  table share a software version and a methodology; letting them sit on both sides of a fit flatters
  a model. A family left without evidence for a parameter gets the schema default, never the shipped
  value. The fold fits search each row's prediction tabulated on a grid of the parameter (the other
  parameters at their shipped values); the held-out rows themselves are simulated exactly.
* **Fixed split** (`validation.splits.assign_splits`): rows grouped into strata by (device kind,
  category), alternating *fit*, *test* in id order within each; the *test* view is the test rows
  predicted by a fit on the fit rows only.
* **In-sample**: the shipped parameters (`hardware_specs/`, fitted on every expressible row by
  `python -m validation.calibrate --apply`) on every row: how well the model can fit, not how well it
  predicts.
* **Error** = (predicted - measured) / measured. **Median |err|** and **p90 |err|** are the median and
  90th percentile of its absolute value; **geo-mean |err|** = exp(mean |ln(pred/meas)|) - 1.
* **Band**: prediction x/÷ exp(q), q = {q:.0f}th percentile of |ln(pred/meas)| over the
  leave-one-source-out predictions of the same device kind (pooled over kinds when a kind has fewer
  than {n} rows). The same factors are written to `simulator/uncertainty.json`, so every simulation
  result carries the band (`result.step_time_band_s`, the CLI table, the explorer); `EXTERNAL.md`
  reports their coverage on never-fitted rows.
* Data-parallel training rows within one node (n_devices <= 8) add the gradient all-reduce time
  that the cluster engine finds exposed (bucketed, overlapped with backward).
* Multi-device and serving rows (categories collective, serving, scaleout;
  `validation/cluster_rows.py`) run through the public API: `collective_benchmark` for nccl-tests /
  rccl-tests / TransferBench, `generate(devices=, parallelism=)` for static-batch tensor-parallel
  serving, `serve(batching="continuous")` at saturation for in-flight-batching throughput rows,
  `simulate` on a system spec for multi-node training, with the layout read from the row. No
  efficiency parameter is fitted on them.
"""
