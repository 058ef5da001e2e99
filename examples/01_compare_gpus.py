"""ResNet-50 training step (batch 256, bf16) on an A100, an H100 and a TPU v5e.

Run from the repository root:  python examples/01_compare_gpus.py
"""
import simulator as sim

DEVICES = ["nvidia-a100-sxm-80gb", "nvidia-h100-sxm", "google-tpu-v5e"]

print("ResNet-50 training, batch 256, bf16")
print(f"{'device':<22} {'step ms':>8} {'img/s':>8} {'mem GB':>7} {'fits':>5} {'energy J':>9}  bottleneck")
for name in DEVICES:
    r = sim.simulate("resnet50", name, mode="training", batch_size=256, precision="bf16")
    print(f"{name:<22} {r.step_time_s * 1e3:>8.1f} {r.throughput_samples_per_s:>8.0f} "
          f"{r.peak_memory_bytes / 1e9:>7.1f} {r.fits_in_memory!s:>5} {r.energy_j:>9.1f}  {r.bottleneck}")
