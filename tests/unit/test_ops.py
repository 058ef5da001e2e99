"""Every FLOP / element formula in ``simulator.workload.ops`` checked against a hand computation."""
from __future__ import annotations

import pytest

from simulator.workload import ops as O
from simulator.workload.ops import Gemm, OpKind


def test_gemm_flops_are_two_per_mac():
    g = Gemm(m=3, n=5, k=7, count=2)
    assert g.macs == 3 * 5 * 7 * 2 == 210
    assert g.flops == 420


@pytest.mark.parametrize("size,kernel,stride,pad,dilation,out", [
    (224, 7, 2, 3, 1, 112), (56, 3, 1, 1, 1, 56), (56, 1, 2, 0, 1, 28), (32, 5, 1, 0, 1, 28),
    (227, 11, 4, 0, 1, 55), (10, 3, 1, 2, 2, 10),
])
def test_conv_out(size, kernel, stride, pad, dilation, out):
    assert O.conv_out(size, kernel, stride, pad, dilation) == out


def test_matmul_linear_with_bias():
    op = O.matmul("fc", batch=2, m=4, k=8, n=16)
    # 2 * B*M*K*N multiply-adds + one bias add per output element
    assert op.flops == 2 * 2 * 4 * 8 * 16 + 2 * 4 * 16 == 2176
    assert op.matrix_flops == 2048 and op.vector_flops == 128
    assert op.param_elems == 8 * 16 + 16 == op.weight_read_elems
    assert op.input_elems == 2 * 4 * 8 and op.output_elems == 2 * 4 * 16
    assert op.gemms == (Gemm(m=8, n=16, k=8),)  # batch folded into M: one shared weight
    assert op.kind is OpKind.MATMUL


def test_matmul_without_bias():
    op = O.matmul("fc", batch=1, m=10, k=20, n=30, bias=False)
    assert op.flops == op.matrix_flops == 2 * 10 * 20 * 30
    assert op.param_elems == 600


def test_matmul_activation_by_activation():
    op = O.matmul("bmm", batch=3, m=4, k=5, n=6, has_weight=False)
    assert op.param_elems == 0 and op.weight_read_elems == 0
    assert op.flops == 2 * 3 * 4 * 5 * 6  # no bias without a weight
    assert op.input_elems == 3 * 4 * 5 + 3 * 5 * 6  # both operands are activations
    assert op.gemms == (Gemm(m=4, n=6, k=5, count=3),)


def test_conv2d_standard_resnet_stem():
    op = O.conv2d("c", batch=2, in_ch=3, h=224, w=224, out_ch=64, kernel=7, stride=2, pad=3)
    macs = 2 * 112 * 112 * 64 * (7 * 7 * 3)
    assert op.matrix_flops == 2 * macs and op.flops == 2 * macs
    assert op.param_elems == 7 * 7 * 3 * 64 == 9408
    assert op.input_elems == 2 * 3 * 224 * 224 and op.output_elems == 2 * 64 * 112 * 112
    assert op.gemms == (Gemm(m=2 * 112 * 112, n=64, k=147),)


def test_conv2d_bias_adds_one_flop_per_output():
    op = O.conv2d("c", batch=1, in_ch=1, h=32, w=32, out_ch=6, kernel=5, bias=True)
    out = 6 * 28 * 28
    assert op.param_elems == 5 * 5 * 6 + 6 == 156
    assert op.flops == 2 * out * 25 + out
    assert op.matrix_flops == 2 * out * 25


def test_conv2d_depthwise():
    op = O.conv2d("dw", batch=1, in_ch=32, h=112, w=112, out_ch=32, kernel=3, pad=1, groups=32)
    # each of 32 channels: 112*112 outputs x 9 MACs
    assert op.matrix_flops == 2 * 32 * 112 * 112 * 9
    assert op.param_elems == 32 * 9
    assert op.gemms == (Gemm(m=112 * 112, n=1, k=9, count=32),)


def test_conv2d_grouped():
    op = O.conv2d("g", batch=4, in_ch=64, h=8, w=8, out_ch=128, kernel=3, pad=1, groups=4)
    # per group: in 16 -> out 32, K = 3*3*16
    assert op.gemms == (Gemm(m=4 * 64, n=32, k=144, count=4),)
    assert op.matrix_flops == 2 * 4 * 64 * 128 * 144
    assert op.param_elems == 3 * 3 * 16 * 128


def test_conv2d_rectangular_kernel_and_pad():
    op = O.conv2d("r", batch=1, in_ch=2, h=10, w=20, out_ch=4, kernel=(1, 3), pad=(0, 1))
    attrs = dict(op.attrs)
    assert (attrs["out_h"], attrs["out_w"]) == (10, 20)
    assert op.matrix_flops == 2 * 10 * 20 * 4 * 6


def test_conv2d_rejects_bad_groups_and_oversized_kernel():
    with pytest.raises(ValueError, match="groups"):
        O.conv2d("g", batch=1, in_ch=6, h=8, w=8, out_ch=4, kernel=3, groups=4)
    with pytest.raises(ValueError, match="larger"):
        O.conv2d("k", batch=1, in_ch=1, h=4, w=4, out_ch=1, kernel=7)


def test_pool_window():
    op = O.pool("p", batch=2, ch=64, h=112, w=112, kernel=3, stride=2, pad=1)
    out = 2 * 64 * 56 * 56
    assert op.output_elems == out and op.flops == out * 9
    assert op.input_elems == 2 * 64 * 112 * 112 and op.gemms == ()


def test_global_pool():
    op = O.pool("gp", batch=2, ch=512, h=7, w=7, kernel=7, stride=1, global_pool=True)
    assert op.output_elems == 2 * 512 and op.flops == 2 * 512 * 49


def test_elementwise():
    op = O.elementwise("add", elems=100, inputs=2)
    assert (op.flops, op.input_elems, op.output_elems) == (100, 200, 100)
    op = O.elementwise("fma", elems=10, inputs=3, flops_per_elem=2.0)
    assert (op.flops, op.input_elems) == (20, 30)


@pytest.mark.parametrize("fn,per_elem", [("relu", 1), ("gelu", 8), ("silu", 5), ("sigmoid", 4), ("relu6", 2)])
def test_activation(fn, per_elem):
    op = O.activation("a", elems=50, fn=fn)
    assert op.flops == 50 * per_elem and op.input_elems == op.output_elems == 50


def test_activation_unknown_function_rejected():
    with pytest.raises(ValueError, match="unknown activation"):
        O.activation("a", elems=1, fn="swoosh")


def test_norm_params_and_flops():
    ln = O.norm("ln", elems=8 * 768, channels=768, kind="layernorm")
    assert ln.param_elems == 2 * 768 and ln.flops == 5 * 8 * 768
    rms = O.norm("rms", elems=4096, channels=4096, kind="rmsnorm")
    assert rms.param_elems == 4096  # scale only
    bn = O.norm("bn", elems=2 * 64 * 56 * 56, channels=64, kind="batchnorm")
    assert bn.param_elems == 128  # gamma and beta; running stats are buffers
    assert O.norm("n", elems=10, channels=5, affine=False).param_elems == 0


def test_softmax():
    op = O.softmax("s", elems=1000)
    assert op.flops == 5000 and op.output_elems == 1000


def test_attention_multi_head():
    b, h, s, d = 2, 12, 128, 64
    op = O.attention("a", batch=b, heads=h, q_len=s, kv_len=s, head_dim=d)
    # QK^T and AV: 2 * (2*s*s*d) per head; softmax ~5 FLOPs per score
    assert op.matrix_flops == 2 * (2 * b * h * s * s * d)
    assert op.flops == op.matrix_flops + 5 * b * h * s * s
    assert op.input_elems == 3 * b * h * s * d  # Q, K, V
    assert op.output_elems == b * h * s * d
    assert op.scratch_elems == 2 * b * h * s * s
    assert op.gemms == (Gemm(m=s, n=s, k=d, count=b * h), Gemm(m=s, n=d, k=s, count=b * h))


def test_attention_grouped_query_reads_fewer_kv_heads():
    mha = O.attention("a", batch=1, heads=32, q_len=16, kv_len=1040, head_dim=128)
    gqa = O.attention("a", batch=1, heads=32, q_len=16, kv_len=1040, head_dim=128, kv_heads=8)
    assert gqa.matrix_flops == mha.matrix_flops == 2 * 2 * 32 * 16 * 1040 * 128  # same math
    q = 32 * 16 * 128
    assert mha.input_elems == q + 2 * 32 * 1040 * 128
    assert gqa.input_elems == q + 2 * 8 * 1040 * 128
    assert dict(gqa.attrs)["kv_heads"] == 8


def test_embedding_lookup_and_bags():
    op = O.embedding("e", tokens=64, vocab=30522, dim=768)
    assert op.param_elems == 30522 * 768 and op.flops == 0
    assert op.weight_read_elems == 64 * 768  # only the rows looked up
    assert op.output_elems == 64 * 768
    bag = O.embedding("b", tokens=4, vocab=10, dim=8, bags=5)
    assert bag.flops == 4 * 4 * 8  # 4 additions to sum 5 rows per sample
    assert bag.weight_read_elems == 10 * 8  # 20 lookups cannot read more than the 10-row table
    assert bag.input_elems == 20 and bag.output_elems == 32


def test_lstm_layer():
    b, t, i, hdim = 20, 35, 1500, 1500
    op = O.lstm("l", batch=b, steps=t, input_size=i, hidden=hdim)
    assert op.param_elems == 4 * hdim * (i + hdim) + 8 * hdim == 18_012_000
    assert op.matrix_flops == 2 * t * b * 4 * hdim * (i + hdim)
    assert op.flops == op.matrix_flops + 10 * t * b * hdim
    assert op.sequential_steps == 35 and op.kind is OpKind.RECURRENT
    assert op.gemms == (Gemm(m=b, n=4 * hdim, k=i + hdim, count=t),)


def test_reduce_data_movement_and_loss():
    r = O.reduce_sum("r", elems_in=1000, elems_out=10)
    assert (r.flops, r.input_elems, r.output_elems) == (1000, 1000, 10)
    dm = O.data_movement("cat", elems=77)
    assert (dm.flops, dm.input_elems, dm.output_elems) == (0, 77, 77)
    loss = O.loss("ce", batch=32, classes=1000)
    assert loss.flops == 6 * 32 * 1000 and loss.output_elems == 32 and loss.kind is OpKind.LOSS


def test_integer_helpers():
    assert O.ceil_div(7, 2) == 4 and O.ceil_div(8, 2) == 4


def test_renamed_keeps_everything_else():
    op = O.matmul("fc", batch=1, m=2, k=3, n=4)
    new = op.renamed("fc2", param_elems=0.0)
    assert new.name == "fc2" and new.param_elems == 0 and new.flops == op.flops and op.name == "fc"
