"""What if the H100 had more (or less) HBM bandwidth? Llama-2-7B single-stream decode.

Decode at batch 1 reads every weight once per token, so time per output token (TPOT) should
fall almost in proportion to the bandwidth. Run:  python examples/02_whatif_bandwidth.py
"""
import simulator as sim

print("Llama-2-7B on H100 SXM, batch 1, 512-token prompt, 64 new tokens, bf16")
print(f"{'HBM GB/s':>9} {'TTFT ms':>8} {'TPOT ms':>8} {'tokens/s':>9}")
for bandwidth_gbs in [1000, 2000, 3350, 6700]:        # 3350 GB/s is the shipping H100 SXM
    g = sim.generate("llama2-7b", "nvidia-h100-sxm", batch_size=1, prompt_len=512, output_len=64,
                     overrides={"memory.hbm.bandwidth_gbs": bandwidth_gbs}, decode_samples=4)
    print(f"{bandwidth_gbs:>9} {g.ttft_s * 1e3:>8.2f} {g.tpot_s * 1e3:>8.2f} {g.tokens_per_s:>9.0f}")
