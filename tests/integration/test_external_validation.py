"""The out-of-sample table (validation/external_measurements.csv): every row sourced, none a copy of a
calibration row, every row expressible, and a scored row lands near its measurement."""
from __future__ import annotations

import csv
import re


from validation import external, harness
from validation.rows import read_calibration, read_rows


def _csv_rows() -> list[dict]:
    with open(external.EXTERNAL, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_external_row_has_a_pinned_source_and_a_unique_id():
    rows = _csv_rows()
    assert len(rows) >= 50
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert re.match(r"github:[\w.-]+/[\w.-]+@[0-9a-f]{7,40} \S+|https://\S+ \(", r["source"]), r["id"]
        assert float(r["value"]) > 0


def test_no_external_row_repeats_a_calibration_row():
    key = lambda r: (r.device, r.workload, r.shape, r.batch_size, r.metric, r.value)  # noqa: E731
    shared = {key(r) for r in read_calibration()}
    assert not [r.id for r in read_rows(external.EXTERNAL) if key(r) in shared]


def test_no_external_measurement_is_also_a_calibration_row_under_another_device_name():
    # the same published cell can be taken twice under two spellings of its device ("AWS Inferentia2"
    # vs "AWS Inferentia2 (inf2.xlarge)", "NVIDIA A100-PCIe-40GB" vs "NVIDIA A100 PCIe 40GB"): the
    # workload, metric and exact value still identify it
    key = lambda r: (r.workload, r.metric, r.value)  # noqa: E731
    shared = {key(r): r.id for r in read_calibration()}
    assert not [(r.id, shared[key(r)]) for r in read_rows(external.EXTERNAL) if key(r) in shared]


def test_every_external_row_maps_to_a_simulation():
    items = harness.map_rows(read_rows(external.EXTERNAL))
    refused = [(i.row.id, i.reason) for i in items if not isinstance(i, harness.Case)]
    assert not refused


def test_a_static_batch_row_is_scored_within_its_band():
    # LLaMA 7B FP8 on H100, batch 48, 2048 in / 2048 out: 2,740 tok/s (TensorRT-LLM v0.6.1 table)
    rows = [r for r in read_rows(external.EXTERNAL) if r.workload.startswith("LLaMA 7B generation")
            and r.shape == "in 2048 / out 2048" and "H100" in r.device]
    rep = harness.run(rows)
    (s,) = rep.scored
    assert s.measured == 2740 and abs(s.error) < 0.25
