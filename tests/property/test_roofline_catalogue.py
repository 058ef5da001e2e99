"""No bundled device runs faster than its own peak: every op at or below its roofline, utilization <= 1.

The roofline of an op on a device is ``max(FLOPs / peak FLOP/s, main-memory bytes / peak bandwidth)``,
the peaks from :mod:`simulator.cost.peaks` (the figures ``peak_rates`` reports) at the precision the
device really computes. A cost model that times an op below it reports more work per second than the
hardware has: issue #22 found causal attention at head_dim 512 on an H100 (timed at half, FLOPs
counted in full: utilization 1.007) and a one-core Xeon (turbo clock against an all-core peak: 1.35).

Every bundled device x a few small workloads that exercise each cost path (GEMMs, convolutions,
depthwise convolutions, recurrent steps, causal attention with a wide head), at one precision each
device supports, inference and training.
"""
from __future__ import annotations

import pytest

from simulator import simulate
from simulator.cost import peaks
from simulator.cost.dispatch import device_numerics
from simulator.errors import InfeasibleError, ScenarioError
from simulator.spec.loader import catalogue, load_hardware
from simulator.units import Precision
from simulator.workload.loader import load_workload, workload_from_dict

DEVICES = sorted(n for n, p in catalogue().items() if p.parent.name != "systems")
REL = 1e-9  # floating-point slack only

# head_dim 512, causal: the fused kernel skips the masked tiles (the case that reached 1.007)
WIDE_HEAD = workload_from_dict({"name": "wide-head", "family": "transformer", "source": "issue 22 test",
                                "params": {"layers": 1, "hidden": 1024, "heads": 2, "ffn": 512, "vocab": 64,
                                           "positions": "none", "causal": True}}, "wide-head.yaml")
WORKLOADS = [("wide-head", WIDE_HEAD, dict(batch_size=1, seq_len=4096)),
             ("resnet18", "resnet18", dict(batch_size=2, image_size=64)),
             ("mobilenet-v2", "mobilenet-v2", dict(batch_size=1, image_size=64)),
             ("lstm", "lstm", dict(batch_size=2, seq_len=16)),
             ("mlp", "mlp", dict(batch_size=4))]


def _precision(hw) -> Precision:
    for p in (Precision.BF16, Precision.FP16, Precision.INT8, Precision.FP32):
        try:
            num = device_numerics(hw, p, None)
        except InfeasibleError:
            continue
        if peaks.matrix_flops_per_s(hw, num.compute) or peaks.vector_flops_per_s(hw, num.compute):
            return p
    pytest.skip(f"{hw.name}: no precision with a compute path")


def _check(hw, result, compute: Precision) -> list[str]:
    flop_peak = max(peaks.matrix_flops_per_s(hw, compute), peaks.vector_flops_per_s(hw, compute))
    bw = peaks.memory_bandwidth(hw)
    bad = []
    for e in result.trace.events:
        if e.track != "compute":
            continue
        floor = max(e.flops / flop_peak if flop_peak else 0.0, e.bytes_moved / bw if bw else 0.0)
        if e.end_s - e.start_s < floor * (1 - REL):
            bad.append(f"{e.name}: {e.end_s - e.start_s:.3e} s < roofline {floor:.3e} s")
    if result.summary["utilization"] > 1 + REL:
        bad.append(f"utilization {result.summary['utilization']:.4f} > 1")
    return bad


@pytest.mark.parametrize("device", DEVICES)
def test_no_op_beats_the_roofline_and_utilization_is_at_most_one(device):
    hw = load_hardware(device)
    p = _precision(hw)
    compute = device_numerics(hw, p, None).compute
    bad = []
    for label, wl, shape in WORKLOADS:
        wl = load_workload(wl) if isinstance(wl, str) else wl
        for mode in ("inference", "training"):
            try:
                r = simulate(wl, hw, mode=mode, precision=p.value, **shape)
            except InfeasibleError:
                continue
            bad += [f"{label} {mode}: {b}" for b in _check(hw, r, compute)]
    assert bad == [], f"{device} at {p.value}: " + "; ".join(bad[:5])


@pytest.mark.parametrize("device,overrides", [("nvidia-h100-sxm", {}),
                                              ("intel-xeon-platinum-8480", {"compute.cores": 1})])
def test_the_two_cases_issue_22_found(device, overrides):
    """Regression: the exact scenarios that reported more FLOP/s than the device has."""
    hw = load_hardware(device, overrides)
    wl = WIDE_HEAD if hw.kind == "gpu" else load_workload("resnet50")
    shape = dict(batch_size=8, seq_len=8192) if hw.kind == "gpu" else dict(batch_size=32)
    r = simulate(wl, hw, **shape)
    assert 0 < r.summary["utilization"] <= 1
    assert _check(hw, r, device_numerics(hw, Precision.BF16, None).compute) == []


@pytest.mark.parametrize("device", DEVICES)
def test_a_power_cap_is_refused_at_idle_and_honoured_above_it(device):
    """Issue #22: a cap at or below idle was ignored (135.6 W average under a 70 W cap on an H100)."""
    hw = load_hardware(device)
    p = _precision(hw)
    idle, tdp = hw.power.idle_w, hw.power.tdp_w
    with pytest.raises(ScenarioError, match="at or below the idle power"):
        simulate("mlp", hw, batch_size=4, precision=p.value, power_cap_w=idle)
    for share in (0.05, 0.5):  # well inside idle..idle+active and above it
        cap = idle + share * (tdp - idle)
        r = simulate("resnet18", hw, batch_size=2, image_size=64, precision=p.value, power_cap_w=cap)
        assert r.average_power_w <= cap * (1 + REL), (cap, r.average_power_w)
