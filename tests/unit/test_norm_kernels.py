"""A stack's ``norm_kernels`` rule: NVIDIA's MLPerf INT8 BERT engine runs each layernorm, with the
residual add before it, as a skip-layernorm plugin kernel, and the embeddings with their layernorm as
one plugin kernel (stacks/tensorrt-mlperf.yaml cites the builder)."""
from __future__ import annotations

import simulator as sim
from simulator.workload.fusion import fuse_pointwise
from simulator.workload.loader import load_workload


def _kernels(stack: str, precision: str) -> int:
    r = sim.simulate("bert-large", "nvidia-a100-sxm-80gb", batch_size=1, seq_len=128, precision=precision, stack=stack)
    # the kernels only: a per-query stack's request time shows as a "startup" event of the setup phase
    return int((r.ops["phase"] != "setup").sum())


def test_mlperf_int8_bert_launches_the_engines_kernel_count():
    # int8_builder_var_seqlen.py: 1 embln + 24 layers x 7 (fc_qkv, qkv_to_ctx, fc_aout, skln_1,
    # fc_mid+gelu, fc_out, skln_2) + 1 squad_logits = 170
    assert _kernels("tensorrt-mlperf", "int8") == 1 + 24 * 7 + 1
    # the generic TensorRT stack fuses the adds and norms into the GEMMs: 3 gathers + 24 x 5 + 1 = 124
    assert _kernels("tensorrt", "int8") == 3 + 24 * 5 + 1
    assert _kernels("tensorrt-mlperf", "fp16") == 3 + 24 * 5 + 1   # the rule is for the INT8 engine


def test_a_skip_layernorm_reads_the_gemm_output_and_the_skip_and_writes_once():
    # seq 128 x hidden 1024 = 131072 elements: the kernel reads the projection's output and the layer
    # input (2 x 131072 = 262144) and writes the normalised sum (131072); the projection GEMM writes
    # its own output (131072) instead of absorbing the add
    g = load_workload("bert-large").build(batch_size=1, seq_len=128)
    f = fuse_pointwise(g, norm_kernels=True)
    skln = f.op("h0.add1")
    assert (skln.input_elems, skln.output_elems) == (262144.0, 131072.0)
    assert f.op("h0.attn.out").output_elems == 131072.0
    assert "h0.mlp.gelu" not in f.order      # the GELU still fuses into fc_mid
    # without the rule, the add and the norm join the projection's epilogue
    assert "h0.add1" not in fuse_pointwise(g).order
