"""Which format a device runs when the user names none, what it supports, and what it refuses."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.cost.dispatch import default_precision, supported_precisions
from simulator.spec.loader import catalogue, load_hardware
from simulator.spec.system import SystemSpec

DEVICES = [n for n in catalogue() if not isinstance(load_hardware(n), SystemSpec)]


@pytest.mark.parametrize("name,inference,training", [
    ("nvidia-h100-sxm", "bf16", "bf16"), ("google-tpu-v4", "bf16", "bf16"), ("aws-trainium", "bf16", "bf16"),
    ("nvidia-t4", "fp16", "fp16"), ("nvidia-v100-sxm2", "fp16", "fp16"),
    ("amd-alveo-u250", "int8", None), ("amd-versal-vck190", "int8", None), ("google-edge-tpu", "int8", None),
    ("intel-xeon-platinum-8480", "bf16", "bf16"),
])
def test_native_formats(name, inference, training):
    hw = load_hardware(name)
    assert default_precision(hw).value == inference
    if training is None:
        with pytest.raises(sim.InfeasibleError, match="cannot train"):
            default_precision(hw, training=True)
    else:
        assert default_precision(hw, training=True).value == training


@pytest.mark.parametrize("name", DEVICES)
def test_every_device_runs_its_native_format_and_supports_it(name):
    hw = load_hardware(name)
    native = default_precision(hw)
    assert native in supported_precisions(hw)
    r = sim.simulate("mlp", name, batch_size=1)
    assert r.precision == r.effective_precision == native.value


@pytest.mark.parametrize("name,explicit", [("nvidia-h100-sxm", "bf16"), ("nvidia-t4", "fp16"),
                                           ("amd-alveo-u250", "int8"), ("google-tpu-v5e", "bf16")])
def test_no_precision_gives_exactly_the_explicit_native_result(name, explicit):
    kw = dict(batch_size=4)
    assert sim.simulate("resnet18", name, **kw).to_json() == sim.simulate("resnet18", name, precision=explicit, **kw).to_json()


def test_an_unsupported_format_is_refused_with_what_works():
    with pytest.raises(sim.InfeasibleError, match="amd-alveo-u250 has no compute path for bf16; it runs int8"):
        sim.simulate("resnet18", "amd-alveo-u250", precision="bf16")
    with pytest.raises(sim.InfeasibleError, match="int8 training is not supported.*trains in fp32, tf32, fp16, bf16, fp8"):
        sim.simulate("mlp", "nvidia-h100-sxm", mode="training", precision="int8")
    with pytest.raises(sim.InfeasibleError, match="cannot train"):
        sim.simulate("mlp", "google-edge-tpu", mode="training")


def test_generate_serve_and_realtime_default_to_the_native_format():
    g = sim.generate("gpt2", "nvidia-t4", batch_size=1, prompt_len=16, output_len=2)
    assert g.precision == g.effective_precision == "fp16"
    s = sim.serve("resnet18", "amd-alveo-u250", arrival="constant", rate_per_s=10, requests=5, batching="none")
    assert s.summary["precision"] == "int8"
    assert sim.realtime([{"workload": "mobilenet-v2", "fps": 5}], "google-edge-tpu", duration_s=1.0).frames > 0
