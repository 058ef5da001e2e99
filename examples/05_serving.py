"""ResNet-50 inference served from one NVIDIA L4: latency percentiles as the arrival rate grows.

Poisson arrivals, dynamic batching (up to 32 requests, 5 ms wait), a 50 ms SLO.
Run:  python examples/05_serving.py
"""
import simulator as sim

print("ResNet-50 on NVIDIA L4, poisson arrivals, dynamic batching <= 32, wait 5 ms, SLO 50 ms")
print(f"{'rate/s':>7} {'served/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'SLO met':>8}")
for rate_per_s in [200, 600, 1000, 1400, 2000]:
    s = sim.serve("resnet50", "nvidia-l4", arrival="poisson", rate_per_s=rate_per_s, requests=2000,
                  batching="dynamic", max_batch_size=32, max_wait_ms=5, slo_ms=50, seed=1)
    print(f"{rate_per_s:>7} {s.throughput_per_s:>9.0f} {s.latency_p50_s * 1e3:>7.1f} "
          f"{s.latency_p99_s * 1e3:>7.1f} {s.slo_attainment:>8.1%}")
