"""Llama-2-7B generation on an NVIDIA L4 with bf16, int8 and int4 weights.

Weight-only quantization shrinks the bytes each decode step reads; activations and the KV cache
stay bf16. Run:  python examples/03_llm_generation.py
"""
import simulator as sim

print("Llama-2-7B on NVIDIA L4, batch 8, 512-token prompt, 128 new tokens")
print(f"{'weights':<8} {'weight GB':>9} {'KV GB':>6} {'fits':>5} {'TTFT ms':>8} {'TPOT ms':>8} "
      f"{'tokens/s':>9} {'J/token':>8}")
for weights in ["bf16", "int8", "int4"]:
    g = sim.generate("llama2-7b", "nvidia-l4", batch_size=8, prompt_len=512, output_len=128,
                     precision="bf16", weight_precision=weights, decode_samples=4)
    print(f"{weights:<8} {g.weight_bytes / 1e9:>9.2f} {g.kv_cache_bytes / 1e9:>6.2f} "
          f"{g.fits_in_memory!s:>5} {g.ttft_s * 1e3:>8.1f} {g.tpot_s * 1e3:>8.1f} "
          f"{g.tokens_per_s:>9.0f} {g.energy_per_token_j:>8.3f}")
