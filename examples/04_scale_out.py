"""GPT-3 175B training on 1,024 H100s: data x tensor x pipeline parallelism and checkpointing.

Run:  python examples/04_scale_out.py
"""
import simulator as sim

PLANS = [  # (data, tensor, pipeline) with data * tensor * pipeline = 1,024 GPUs
    (16, 8, 8),
    (32, 8, 4),
    (8, 8, 16),
]

print("GPT-3 175B, global batch 1536 x 2048 tokens, 1,024 x H100 (h100-ib-cluster-1024), bf16, ZeRO-1")
print(f"{'dp':>3} {'tp':>3} {'pp':>3} {'ckpt':<9} {'step s':>7} {'bubble':>7} {'comm s':>7} "
      f"{'mem GB':>7} {'fits':>5}")
for dp, tp, pp in PLANS:
    for checkpointing in ["selective", "full"]:
        r = sim.simulate("gpt3-175b", "h100-ib-cluster-1024", mode="training", batch_size=1536,
                         seq_len=2048, devices=1024,
                         parallelism={"data": dp, "tensor": tp, "pipeline": pp, "zero_stage": 1},
                         microbatches=12, checkpointing=checkpointing)
        print(f"{dp:>3} {tp:>3} {pp:>3} {checkpointing:<9} {r.step_time_s:>7.2f} "
              f"{r.bubble_fraction:>7.1%} {r.communication_time_s:>7.2f} "
              f"{r.peak_memory_bytes / 1e9:>7.1f} {r.fits_in_memory!s:>5}")
