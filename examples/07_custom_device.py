"""Describe your own accelerator in YAML, load it and compare it with a catalogue device.

A hypothetical 64x64 weight-stationary edge NPU with LPDDR5. Every block needs a ``source``
saying where its numbers come from; unknown keys are refused. Run:  python examples/07_custom_device.py
"""
import tempfile
from pathlib import Path

import simulator as sim

SPEC = """\
name: my-edge-npu
display_name: My edge NPU (64x64 systolic, LPDDR5)
vendor: Example Corp
kind: asic
compute:
  pe_rows: 64
  pe_cols: 64
  arrays: 2
  clock_ghz: 1.0
  macs_per_pe_per_cycle: {fp16: 1, bf16: 1, int8: 2}
  vector_flops_per_cycle: {fp16: 256, bf16: 256}
  dataflow: ws
  source: "design target"
memory:
  - name: sram
    capacity_bytes: 8_388_608        # 8 MiB on-chip
    bandwidth_gbs: 1000
    energy_pj_per_byte: 1.0
    source: "design target"
  - name: lpddr5
    capacity_bytes: 8_589_934_592    # 8 GiB
    bandwidth_gbs: 51.2
    energy_pj_per_byte: 40
    source: "LPDDR5-6400, 64-bit bus"
power:
  tdp_w: 10
  idle_w: 1
  energy_pj_per_flop: {fp16: 0.5, bf16: 0.5, int8: 0.25}
  source: "design target"
"""

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "my-edge-npu.yaml"
    path.write_text(SPEC)
    npu = sim.load_hardware(path)

print(f"loaded {npu.name}: {npu.display_name}")
print("MobileNet-v2 inference, batch 1, int8")
print(f"{'device':<24} {'latency ms':>10} {'img/s':>8} {'mJ/img':>7}  bottleneck")
for hw in [npu, "google-edge-tpu", "nvidia-jetson-agx-orin"]:
    r = sim.simulate("mobilenet-v2", hw, batch_size=1, precision="int8")
    name = hw if isinstance(hw, str) else hw.name
    print(f"{name:<24} {r.step_time_s * 1e3:>10.2f} {r.throughput_samples_per_s:>8.0f} "
          f"{r.energy_j * 1e3:>7.2f}  {r.bottleneck}")
