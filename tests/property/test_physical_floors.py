"""Physical floors over the whole catalogue: LLM decode at batch 1 reads every weight once per token,
so no device produces a token faster than its weight bytes over the bandwidth of the memory level
that holds them (the fastest level large enough to)."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.spec.models import _DeviceBase

DEVICES = [h["name"] for h in sim.list_hardware() if h["kind"] != "system"]
WORKLOAD = "llama2-7b"


def _floor_s(hw: _DeviceBase, weight_bytes: float) -> float | None:
    holders = [m for m in hw.memory if m.capacity_bytes >= weight_bytes]
    if holders:
        return weight_bytes / max(m.bandwidth_gbs for m in holders) / 1e9
    if getattr(hw, "weights_stream_from_host", False) and hw.host_link is not None:
        return weight_bytes / hw.host_link.bandwidth_gbs / 1e9  # streamed over the host link every token
    return None  # the weights do not fit anywhere: the run reports it


@pytest.mark.parametrize("name", DEVICES)
def test_decode_at_batch_one_is_never_faster_than_reading_the_weights(name):
    hw = sim.load_hardware(name)
    g = None
    for precision in ("bf16", "fp16", "int8"):  # the first format the device computes in
        try:
            g = sim.generate(WORKLOAD, hw, batch_size=1, prompt_len=64, output_len=4, precision=precision,
                             decode_samples=None)
            break
        except sim.InfeasibleError:
            continue
    assert g is not None, f"{name} computes in none of bf16, fp16, int8"
    floor = _floor_s(hw, g.weight_bytes)
    if floor is None:
        pytest.skip(f"{WORKLOAD} weights do not fit in any memory level of {name}")
    assert g.tpot_s >= floor * (1 - 1e-9), f"{name}: {g.tpot_s * 1e3:.3f} ms per token < floor {floor * 1e3:.3f} ms"
