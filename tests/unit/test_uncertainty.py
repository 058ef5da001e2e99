"""The validation band every result carries (simulator.uncertainty): read from the file make validate
writes, symmetric in log space, pooled for kinds without validated rows, absent without a file."""
from __future__ import annotations

import json
import math

import pytest

import simulator as sim
from simulator import uncertainty


@pytest.fixture
def bands(tmp_path, monkeypatch):
    path = tmp_path / "uncertainty.json"
    monkeypatch.setattr(uncertainty, "BANDS", path)
    uncertainty._table.cache_clear()
    yield path
    uncertainty._table.cache_clear()


def test_band_is_value_over_and_times_the_kind_factor(bands):
    uncertainty.write(bands, q={"gpu": math.log(1.25), "_pooled": math.log(1.5)}, coverage={"gpu": (8, 10)},
                      quantile=0.8, source="test")
    assert uncertainty.band(2.0, "gpu") == pytest.approx((1.6, 2.5))
    assert uncertainty.measured("gpu") and not uncertainty.measured("cpu")
    assert uncertainty.band(3.0, "cpu") == pytest.approx((2.0, 4.5))       # pooled factor
    r = sim.simulate("mlp", "nvidia-t4", batch_size=8)
    lo, hi = r.step_time_band_s
    assert lo * 1.25 == pytest.approx(r.step_time_s) and hi / 1.25 == pytest.approx(r.step_time_s)
    assert "validation band" in r.table()


def test_no_file_or_a_corrupt_file_claims_no_band(bands):
    assert uncertainty.band(1.0, "gpu") is None
    bands.write_text(json.dumps({"factor": {"gpu": 0.5}}))  # a factor below 1 is not a band
    uncertainty._table.cache_clear()
    assert uncertainty.factor("gpu") is None
    r = sim.simulate("mlp", "nvidia-t4", batch_size=8)
    assert r.step_time_band_s is None and "validation band" not in r.table()


def test_the_shipped_bands_cover_every_validated_kind():
    data = json.loads(uncertainty.BANDS.read_text())
    assert {"gpu", "tpu", "fpga", "asic"} <= set(data["factor"])
    assert all(f >= 1.0 for f in data["factor"].values()) and data["quantile"] == 0.8


def test_calibration_and_external_rows_are_kept_side_by_side(bands):
    row = {"id": "M1", "split": "test", "kind": "gpu", "hardware": "h", "workload": "w", "metric": "tflops",
           "measured": 100.0, "predicted": 90.0, "bottleneck": "compute"}
    uncertainty.write_external(bands, [{**row, "id": "E1", "split": "ignored"}])
    uncertainty.write(bands, q={"gpu": 0.2, "_pooled": 0.3}, coverage={}, quantile=0.8, source="t", rows=[row])
    got = {r["id"]: r for r in sim.validation_rows()}
    assert set(got) == {"M1", "E1"} and got["E1"]["split"] == "external" and got["M1"]["predicted"] == 90.0
    assert set(got["M1"]) == set(uncertainty.ROW_KEYS)  # nothing beyond the documented keys


@pytest.mark.parametrize("text", ["[]", '{"factor": {"gpu": "wide"}}', '{"factor": {"gpu": 1.2}, "rows": {}}',
                                  '{"factor": {"gpu": 1.2}, "rows": [{"id": "M1"}]}', '{"factor": {}, "pooled": -1}'])
def test_a_malformed_file_is_ignored_whole(bands, text):
    bands.write_text(text)
    uncertainty._table.cache_clear()
    assert uncertainty.factor("gpu") is None and sim.validation_rows() == []
