"""Serving Llama-2-70B on 1, 2, 4 and 8 H100s with tensor parallelism: latency of one request
(static batch of 1) and throughput at saturation (continuous batching, KV cache permitting).

Run:  python examples/09_llm_serving_tp.py
"""
import simulator as sim

print("Llama-2-70B, fp8, prompt 512 / output 256 tokens, H100 SXM over NVLink, tensor parallel")
print(f"{'tp':>3} {'fits':>5} {'TTFT ms':>8} {'TPOT ms':>8} {'sat tok/s':>10} {'tok/s/GPU':>10} {'batch':>6}")
for tp in (1, 2, 4, 8):
    layout = dict(devices=tp, parallelism=f"tp={tp}") if tp > 1 else {}
    one = sim.generate("llama2-70b", "nvidia-h100-sxm", batch_size=1, prompt_len=512, output_len=256,
                       precision="fp8", **layout)
    if not one.fits_in_memory:
        print(f"{tp:>3} {'False':>5}")
        continue
    busy = sim.serve("llama2-70b", "nvidia-h100-sxm", precision="fp8", arrival="constant", rate_per_s=1e6,
                     requests=512, batching="continuous", max_batch_size=256, prompt_len=512, output_len=256,
                     **layout)
    print(f"{tp:>3} {'True':>5} {one.ttft_s * 1e3:>8.1f} {one.tpot_s * 1e3:>8.2f} {busy.tokens_per_s:>10.0f} "
          f"{busy.tokens_per_s / tp:>10.0f} {busy.summary['mean_batch_size']:>6.0f}")
