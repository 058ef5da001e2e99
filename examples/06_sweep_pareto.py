"""A small design-space sweep for ResNet-50 inference and its Pareto front: latency vs cost.

Three GPUs x four batch sizes x two precisions = 24 points. The sweep is stored in a SQLite file
in a temporary directory; re-running with the same store skips the points already done.
Run:  python examples/06_sweep_pareto.py
"""
import tempfile
from pathlib import Path

import simulator as sim

space = {"hardware": ["nvidia-l4", "nvidia-a100-sxm-80gb", "nvidia-h100-sxm"],
         "batch_size": [1, 8, 32, 128],
         "precision": ["bf16", "int8"]}

with tempfile.TemporaryDirectory() as tmp:
    table = sim.sweep("resnet50", space, mode="inference", store=Path(tmp) / "sweep.sqlite",
                      progress=False, workers=1)

# cost_usd is per step (cloud price x step time); per image is what a buyer compares
table["usd_per_million_images"] = table["cost_usd"] / table["batch_size"] * 1e6
print(f"sweep: {len(table)} points, {int((table['status'] == 'ok').sum())} ok")
front = sim.pareto(table, minimize=["step_time_s", "usd_per_million_images"])
front = front.sort_values("step_time_s")
print(f"Pareto front: {len(front)} points (lower batch latency, fewer $ per million images)")
print(f"{'hardware':<22} {'batch':>5} {'prec':<5} {'latency ms':>10} {'img/s':>7} {'$/M img':>8}")
for row in front.itertuples():
    print(f"{row.hardware:<22} {row.batch_size:>5} {row.precision:<5} {row.step_time_s * 1e3:>10.2f} "
          f"{row.throughput_samples_per_s:>7.0f} {row.usd_per_million_images:>8.3f}")
