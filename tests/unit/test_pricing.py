"""Prices of every device (simulator.pricing, sim.hourly_price), devices from a few numbers
(sim.custom_hardware) and pooled validation bands (uncertainty.measured), each against a hand computation."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator import uncertainty

# devices with no price anywhere, and why (anything else unpriced is a spec to fix)
UNPRICED = {
    "mit-eyeriss": "a 65 nm research chip, never sold",
    "arm-neoverse-v2-grace": "NVIDIA publishes no price for a Grace CPU on its own",
    "intel-xeon-6787p": "Intel's list price (ark) could not be verified from a stored source",
}


def test_every_device_has_a_sourced_price_or_a_stated_reason():
    missing = []
    for row in sim.list_hardware():
        p = sim.hourly_price(row["name"])
        if p is None:
            missing.append(row["name"])
        else:
            assert p["usd_per_device_hour"] > 0 and len(p["source"]) > 10, row["name"]
            assert p["basis"] in ("cloud", "owned")
    assert sorted(missing) == sorted(UNPRICED)


def test_cloud_rate_is_the_spec_rate_and_owned_is_the_purchase_over_three_years():
    hw = sim.load_hardware("nvidia-h100-sxm")
    assert sim.hourly_price(hw)["usd_per_device_hour"] == hw.price.cloud_usd_per_hour == 2.99
    owned = sim.hourly_price(hw, "owned")
    assert owned["basis"] == "owned"
    assert owned["usd_per_device_hour"] == pytest.approx(30000 / (3 * 8760))  # 1.1416 $/h
    # purchase only: auto falls back to owned; cloud has nothing to say
    assert sim.hourly_price("groq-lpu")["usd_per_device_hour"] == pytest.approx(20625 / 26280)
    assert sim.hourly_price("groq-lpu", "cloud") is None
    with pytest.raises(sim.InputError, match="basis"):
        sim.hourly_price("nvidia-h100-sxm", "rented")


def test_system_price_is_per_node_and_a_system_without_one_takes_its_device_price():
    dgx = sim.hourly_price("dgx-h100")
    assert dgx["per_node"] and dgx["usd_per_device_hour"] == pytest.approx(23.92 / 8)
    assert sim.hourly_price("dgx-h100", "owned")["usd_per_device_hour"] == pytest.approx(300000 / 8 / 26280)
    hgx = sim.hourly_price("hgx-h200")
    assert not hgx["per_node"] and hgx["usd_per_device_hour"] == sim.hourly_price("nvidia-h200")["usd_per_device_hour"]


def _custom(**kw):
    args = dict(matrix_tflops={"bf16": 500, "fp8": 1000}, memory_bandwidth_gbs=2000, memory_gib=96, tdp_w=350,
                interconnect_gbs=200, cloud_usd_per_hour=1.5)
    args.update(kw)
    return sim.custom_hardware("my-gpu", **args)


def test_custom_device_has_the_numbers_entered():
    hw = _custom()
    rates = sim.peak_rates(hw, "bf16")
    assert rates["matrix_flops_per_s"] == pytest.approx(500e12)
    assert sim.peak_rates(hw, "fp8")["matrix_flops_per_s"] == pytest.approx(1000e12)
    assert rates["memory_bandwidth_bps"] == pytest.approx(2000e9)
    assert hw.main_memory.capacity_bytes == 96 * 1024**3
    assert hw.power.tdp_w == 350 and all(link.bandwidth_gbs == 200 for link in hw.links)
    h100 = sim.load_hardware("nvidia-h100-sxm")
    # idle scales with TDP (700 -> 350 W halves it); energy per FLOP with TDP / peak (0.5 / (500 / 989.4))
    assert hw.power.idle_w == pytest.approx(h100.power.idle_w / 2)
    ratio = 500e12 / sim.peak_rates(h100, "bf16")["matrix_flops_per_s"]
    assert hw.power.energy_pj_per_flop[sim.Precision.BF16] == pytest.approx(
        h100.power.energy_pj_per_flop[sim.Precision.BF16] * 0.5 / ratio)
    assert sim.hourly_price(hw)["usd_per_device_hour"] == 1.5
    # vector peak: the template's scaled with the matrix peak unless entered
    assert rates["vector_flops_per_s"] == pytest.approx(sim.peak_rates(h100, "bf16")["vector_flops_per_s"] * ratio)
    assert sim.peak_rates(_custom(vector_tflops=40), "fp32")["vector_flops_per_s"] == pytest.approx(40e12)


def test_custom_device_runs_and_half_the_bandwidth_slows_a_bandwidth_bound_step():
    fast = sim.simulate("llama2-7b", _custom(), batch_size=1, seq_len=1, mode="inference")
    slow = sim.simulate("llama2-7b", _custom(memory_bandwidth_gbs=1000), batch_size=1, seq_len=1, mode="inference")
    assert fast.fits_in_memory and slow.step_time_s > 1.5 * fast.step_time_s


@pytest.mark.parametrize("kw, field", [
    ({"memory_bandwidth_gbs": 0}, "memory_bandwidth_gbs"),
    ({"matrix_tflops": {"bf16": -1}}, "matrix_tflops.bf16"),
    ({"matrix_tflops": {}}, "matrix_tflops"),
    ({"tdp_w": "a lot"}, "tdp_w"),
    ({"template": "google-tpu-v5e"}, "template"),
])
def test_bad_custom_numbers_name_the_field(kw, field):
    with pytest.raises(sim.SpecError) as info:
        _custom(**kw)
    assert f": {field}:" in str(info.value) and "\n" not in str(info.value)


def test_bad_custom_name_is_refused():
    with pytest.raises(sim.SpecError, match="name"):
        sim.custom_hardware("My GPU", matrix_tflops={"bf16": 1}, memory_bandwidth_gbs=1, memory_gib=1, tdp_w=1)


def test_a_kind_with_too_few_fitted_rows_reports_the_pooled_band(monkeypatch):
    rows = [{"kind": "gpu", "split": "cv"}] * 3 + [{"kind": "cpu", "split": "cv"}, {"kind": "cpu", "split": "test"},
                                                    {"kind": "cpu", "split": "fit"}]
    monkeypatch.setattr(uncertainty, "_table", lambda: {"factor": {"gpu": 1.4, "cpu": 1.8}, "pooled": 1.8, "rows": rows})
    assert uncertainty.measured("gpu")
    assert not uncertainty.measured("cpu")  # two fitted rows: the writer gave it the pooled factor
    assert not uncertainty.measured("tpu")  # no factor at all
