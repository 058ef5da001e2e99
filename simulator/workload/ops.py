"""The closed op vocabulary and its FLOP / element-count formulas (forward pass).

Conventions: one multiply-accumulate is 2 FLOPs. Counts are in *elements*; the precision turns
them into bytes later, in the cost models. ``gemms`` is the matrix part of an op, which tensor
cores, MXUs and PE arrays execute; everything else runs on the vector path.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, replace
from enum import Enum


class OpKind(str, Enum):
    """Every op type the simulator knows. Closed: importers map onto these or refuse.

    Example:
        >>> OpKind("conv2d") is OpKind.CONV2D, len(OpKind)
        (True, 14)
    """

    MATMUL = "matmul"
    CONV2D = "conv2d"
    POOL = "pool"
    ELEMENTWISE = "elementwise"
    ACTIVATION = "activation"
    NORM = "norm"
    SOFTMAX = "softmax"
    ATTENTION = "attention"
    EMBEDDING = "embedding"
    RECURRENT = "recurrent"
    REDUCE = "reduce"
    DATA_MOVEMENT = "data_movement"
    LOSS = "loss"
    OPTIMIZER = "optimizer"


class Phase(str, Enum):
    """Where in a step an op belongs.

    Example:
        >>> [p.value for p in Phase]
        ['forward', 'backward', 'recompute', 'optimizer']
    """

    FORWARD = "forward"
    BACKWARD = "backward"
    RECOMPUTE = "recompute"
    OPTIMIZER = "optimizer"


class TpRole(str, Enum):
    """How tensor parallelism splits an op over the ranks of a tensor-parallel group (Megatron-LM's
    layout, Shoeybi et al. 2019). Closed: a model builder or importer sets it; the sharding in
    :mod:`simulator.parallel` reads only it, never op names.

    * ``replicated``: every rank runs the whole op (norms, residual adds, routers, anything unknown);
    * ``column``: output features split, no collective after it (QKV, MLP up / gate projections);
      in backward its input gradient is all-reduced;
    * ``row``: input features split, the partial outputs all-reduced after it (attention-out, MLP down);
    * ``heads``: the work between a column and a row GEMM, on 1/tp of the heads or hidden features
      (the attention core, the MLP activation and gate product);
    * ``vocab``: the vocabulary split: the token embedding (rows split, outputs all-reduced), the
      LM head (columns split) and the cross-entropy over its logits;
    * ``expert``: the expert GEMMs of a mixture-of-experts layer.

    Example:
        >>> TpRole("column") is TpRole.COLUMN, [r.value for r in TpRole][:3]
        (True, ['replicated', 'column', 'row'])
    """

    REPLICATED = "replicated"
    COLUMN = "column"
    ROW = "row"
    HEADS = "heads"
    VOCAB = "vocab"
    EXPERT = "expert"


@dataclass(frozen=True)
class Gemm:
    """``count`` independent GEMMs of (m x k) @ (k x n). FLOPs = 2 * m * n * k * count.

    Example:
        >>> Gemm(m=2, n=3, k=4).flops
        48
    """

    m: int
    n: int
    k: int
    count: int = 1

    @property
    def flops(self) -> int:
        """FLOP of all ``count`` GEMMs: ``2 * m * n * k * count``."""
        return 2 * self.m * self.n * self.k * self.count

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all ``count`` GEMMs: ``m * n * k * count``."""
        return self.m * self.n * self.k * self.count


@dataclass(frozen=True)
class Op:
    """One node of a computation graph.

    Attributes:
        flops: total floating-point (or integer) operations, matrix and vector parts together.
        gemms: the matrix-multiply part, mapped onto tensor cores / MXUs / PE arrays.
        input_elems: activation elements read.
        output_elems: activation elements written (the output tensor).
        param_elems: trainable parameters owned by this op.
        weight_read_elems: parameter elements read per execution (an embedding reads only its rows).
        sequential_steps: steps that must run one after another (recurrent time steps).
        scratch_elems: elements of an intermediate a non-fused kernel writes to memory and reads
            back (the S x S attention scores); 0 when the op has none.
        tp_role: how tensor parallelism splits the op (:class:`TpRole`); replicated by default.
        block: index of the transformer layer the op belongs to (pipeline stages cut between
            layers), None outside layers and in other models. Where an op sits, not what it
            computes: left out of equality and hashing, so a cost cached for an op is shared by the
            same op in every layer.

    Build ops with the constructors below (:func:`matmul`, :func:`conv2d`...), which raise
    ``ValueError`` for impossible shapes; the dataclass itself does not validate.

    Example:
        >>> op = matmul("fc", batch=8, m=1, k=1024, n=1024, bias=False)
        >>> op.kind.value, op.param_elems, op.matrix_flops
        ('matmul', 1048576, 16777216.0)
        >>> op.renamed("fc2").name
        'fc2'
        >>> op.renamed("fc", block=3) == op, op.renamed("fc", tp_role=TpRole.COLUMN) == op
        (True, False)
    """

    name: str
    kind: OpKind
    flops: float
    input_elems: float
    output_elems: float
    param_elems: float = 0.0
    weight_read_elems: float = 0.0
    gemms: tuple[Gemm, ...] = ()
    phase: Phase = Phase.FORWARD
    sequential_steps: int = 1
    scratch_elems: float = 0.0
    layer: str = ""
    attrs: tuple[tuple[str, object], ...] = field(default=())
    tp_role: TpRole = TpRole.REPLICATED
    block: int | None = field(default=None, compare=False)

    @property
    def matrix_flops(self) -> float:
        """FLOPs of the matrix part (what FLOP counters of conv/linear layers report).

        Example:
            >>> matmul("fc", batch=1, m=2, k=3, n=4).matrix_flops     # bias adds are vector FLOPs
            48.0
        """
        return float(sum(g.flops for g in self.gemms))

    @property
    def vector_flops(self) -> float:
        """FLOPs outside the matrix part.

        Example:
            >>> matmul("fc", batch=1, m=2, k=3, n=4).vector_flops     # one bias add per output
            8.0
        """
        return max(0.0, self.flops - self.matrix_flops)

    def renamed(self, name: str, **changes: object) -> "Op":
        """A copy with a new name (and any other field changes).

        Raises:
            TypeError: a change names a field :class:`Op` does not have.
        """
        return replace(self, name=name, **changes)


# op attributes declaring a tensor's format whatever the run's precision ("fp32": an int8 network's
# dequantized outputs and the harness code that reads them, simulator.workload.postprocess); the cost
# models charge them at that width (simulator.cost.base.op_bytes)
OUTPUT_FORMAT = "output_format"
INPUT_FORMAT = "input_format"
# op attribute of a GEMM that reads its output tensor before writing it: BLAS's D = alpha A B + beta C
# with beta != 0 reads C, of D's shape and format (simulator.cost.base.op_bytes charges it)
OUTPUT_READ = "output_read"
# op attribute of a norm that absorbed a residual add (simulator.workload.fusion.fuse_norm_epilogues):
# the elements its batch-statistics pass reads, the normalised tensor only, not the added one
STATS_ELEMS = "stats_elems"


def _fast_frozen_init(cls: type) -> None:
    """Give the frozen dataclass ``cls`` an ``__init__`` that fills the instance dict directly.

    The generated one calls ``object.__setattr__`` once per field (frozen classes refuse plain
    assignment); a 100k-op graph makes 100k ops, so that is a tenth of building it. Same
    signature, defaults and resulting instance; dataclass machinery (``replace``, ``fields``,
    equality, hashing) is untouched. Only for classes without ``__post_init__``, ``__slots__`` or
    default factories.
    """
    fs = [f for f in fields(cls) if f.init]
    assert not hasattr(cls, "__post_init__") and "__slots__" not in cls.__dict__
    assert all(f.default_factory is MISSING for f in fs)
    args = ", ".join(f.name if f.default is MISSING else f"{f.name}=_d_{f.name}" for f in fs)
    body = "\n".join(f"    d[{f.name!r}] = {f.name}" for f in fs)
    code = f"def __init__(self, {args}):\n    d = self.__dict__\n{body}\n"
    scope = {f"_d_{f.name}": f.default for f in fs if f.default is not MISSING}
    exec(code, scope)  # noqa: S102 - source built from the class's own field names
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init


_fast_frozen_init(Op)
_fast_frozen_init(Gemm)


def conv_out(size: int, kernel: int, stride: int, pad: int, dilation: int = 1) -> int:
    """Output spatial size of a convolution or pooling window (floor, as PyTorch); may be <= 0.

    Example:
        >>> conv_out(224, 7, 2, 3)
        112
    """
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def matmul(name: str, *, batch: int, m: int, k: int, n: int, bias: bool = True, has_weight: bool = True) -> Op:
    """A linear layer (``has_weight``) or an activation-activation matmul, ``batch`` x (m x k) @ (k x n).

    Counts in elements; FLOPs include one add per output for the bias. Raises nothing.

    Example:
        >>> matmul("fc", batch=1, m=2, k=3, n=4).flops
        56.0
    """
    params = (k * n + (n if bias else 0)) if has_weight else 0
    flops = 2.0 * batch * m * k * n + (batch * m * n if bias and has_weight else 0)
    inputs = batch * m * k + (0 if has_weight else batch * k * n)
    return Op(name, OpKind.MATMUL, flops=flops, input_elems=inputs, output_elems=batch * m * n,
              param_elems=params, weight_read_elems=params,
              gemms=(Gemm(m=batch * m, n=n, k=k) if has_weight else Gemm(m=m, n=n, k=k, count=batch),),
              attrs=(("m", m), ("k", k), ("n", n), ("batch", batch)))


def conv2d(name: str, *, batch: int, in_ch: int, h: int, w: int, out_ch: int, kernel: int | tuple[int, int],
           stride: int = 1, pad: int | tuple[int, int] = 0, groups: int = 1, bias: bool = False) -> Op:
    """2-D convolution, incl. grouped and depthwise (``groups == in_ch``), lowered to GEMMs (im2col).

    Per group: M = batch * out pixels, N = out_ch / groups, K = kh * kw * in_ch / groups.

    Raises:
        ValueError: channels not divisible by ``groups``, or a kernel larger than the padded input.

    Example:
        >>> conv2d("c", batch=1, in_ch=3, h=224, w=224, out_ch=64, kernel=7, stride=2, pad=3).matrix_flops
        236027904.0
        >>> conv2d("dw", batch=1, in_ch=32, h=56, w=56, out_ch=32, kernel=3, pad=1, groups=32).gemms
        (Gemm(m=3136, n=1, k=9, count=32),)
    """
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    ph, pw = (pad, pad) if isinstance(pad, int) else pad
    if in_ch % groups or out_ch % groups:
        raise ValueError(f"{name}: channels {in_ch}->{out_ch} not divisible by groups={groups}")
    oh, ow = conv_out(h, kh, stride, ph), conv_out(w, kw, stride, pw)
    if oh <= 0 or ow <= 0:
        raise ValueError(f"{name}: kernel {kh}x{kw} larger than the padded input {h}x{w}")
    k_dim = kh * kw * (in_ch // groups)
    gemm = Gemm(m=batch * oh * ow, n=out_ch // groups, k=k_dim, count=groups)
    params = kh * kw * (in_ch // groups) * out_ch + (out_ch if bias else 0)
    out = batch * out_ch * oh * ow
    return Op(name, OpKind.CONV2D, flops=float(gemm.flops + (out if bias else 0)), input_elems=batch * in_ch * h * w,
              output_elems=out, param_elems=params, weight_read_elems=params, gemms=(gemm,),
              attrs=(("in_ch", in_ch), ("out_ch", out_ch), ("h", h), ("w", w), ("kernel", f"{kh}x{kw}"),
                     ("stride", stride), ("groups", groups), ("out_h", oh), ("out_w", ow)))


def pool(name: str, *, batch: int, ch: int, h: int, w: int, kernel: int, stride: int, pad: int = 0,
         global_pool: bool = False) -> Op:
    """Max or average pooling: one FLOP per window element.

    Example:
        >>> p = pool("pool", batch=1, ch=64, h=112, w=112, kernel=3, stride=2, pad=1)
        >>> p.output_elems, p.flops
        (200704, 1806336.0)
    """
    if global_pool:
        oh = ow = 1
        kernel_elems = h * w
    else:
        oh, ow = conv_out(h, kernel, stride, pad), conv_out(w, kernel, stride, pad)
        kernel_elems = kernel * kernel
    out = batch * ch * oh * ow
    return Op(name, OpKind.POOL, flops=float(out * kernel_elems), input_elems=batch * ch * h * w, output_elems=out,
              attrs=(("kernel", kernel), ("stride", stride), ("out_h", oh), ("out_w", ow)))


def elementwise(name: str, *, elems: int, inputs: int = 2, flops_per_elem: float = 1.0,
                kind: OpKind = OpKind.ELEMENTWISE, fn: str | None = None) -> Op:
    """Element-wise op over ``elems`` outputs reading ``inputs`` tensors of the same size; ``fn``
    names it where the backward pass cares (``"sum"``: see :mod:`simulator.workload.saved`).

    Example:
        >>> elementwise("add", elems=1000).input_elems
        2000
    """
    return Op(name, kind, flops=float(elems * flops_per_elem), input_elems=elems * inputs, output_elems=elems,
              attrs=(("fn", fn),) if fn else ())


# FLOPs per element of common activations (a vendor-neutral estimate: exp/tanh ~ 4 FLOPs).
ACTIVATION_FLOPS = {"relu": 1.0, "relu6": 2.0, "gelu": 8.0, "silu": 5.0, "swish": 5.0, "sigmoid": 4.0,
                    "tanh": 4.0, "hardswish": 4.0, "leaky_relu": 2.0}


def activation(name: str, *, elems: int, fn: str = "relu") -> Op:
    """Activation function; ``fn`` is one of :data:`ACTIVATION_FLOPS`.

    Raises:
        ValueError: an unknown ``fn``.

    Example:
        >>> activation("act", elems=1000, fn="gelu").flops
        8000.0
    """
    if fn not in ACTIVATION_FLOPS:
        raise ValueError(f"{name}: unknown activation {fn!r}; known: {', '.join(ACTIVATION_FLOPS)}")
    return Op(name, OpKind.ACTIVATION, flops=elems * ACTIVATION_FLOPS[fn], input_elems=elems, output_elems=elems,
              attrs=(("fn", fn),))


def norm(name: str, *, elems: int, channels: int, kind: str = "layernorm", affine: bool = True) -> Op:
    """Batch / layer / RMS normalisation: ~5 FLOPs per element (mean, variance, scale, shift).

    Example:
        >>> norm("ln", elems=4096, channels=1024).param_elems, norm("rms", elems=4096, channels=1024, kind="rmsnorm").param_elems
        (2048, 1024)
    """
    n_affine = 2 * channels if kind != "rmsnorm" else channels
    params = n_affine if affine else 0
    return Op(name, OpKind.NORM, flops=5.0 * elems, input_elems=elems, output_elems=elems, param_elems=params,
              weight_read_elems=params, attrs=(("norm", kind),))


def softmax(name: str, *, elems: int) -> Op:
    """Softmax: max, subtract, exp, sum, divide, ~5 FLOPs per element.

    Example:
        >>> softmax("sm", elems=100).flops
        500.0
    """
    return Op(name, OpKind.SOFTMAX, flops=5.0 * elems, input_elems=elems, output_elems=elems)


def attention(name: str, *, batch: int, heads: int, q_len: int, kv_len: int, head_dim: int,
              kv_heads: int | None = None, causal: bool = False) -> Op:
    """Scaled dot-product attention core: softmax(Q K^T / sqrt(d)) V, projections excluded.

    Counts the full q_len x kv_len score matrix (as FLOP counters and papers do); a causal fused
    kernel may skip masked tiles, which the cost model decides. Grouped-query attention reads
    ``kv_heads`` K/V heads.

    Example:
        >>> attention("a", batch=1, heads=1, q_len=2, kv_len=2, head_dim=4).matrix_flops
        64.0
    """
    kv_heads = kv_heads or heads
    scores = batch * heads * q_len * kv_len
    qk = Gemm(m=q_len, n=kv_len, k=head_dim, count=batch * heads)
    av = Gemm(m=q_len, n=head_dim, k=kv_len, count=batch * heads)
    flops = float(qk.flops + av.flops + 5 * scores)
    q = batch * heads * q_len * head_dim
    kv = 2 * batch * kv_heads * kv_len * head_dim
    return Op(name, OpKind.ATTENTION, flops=flops, input_elems=q + kv, output_elems=q, gemms=(qk, av),
              scratch_elems=2.0 * scores,
              attrs=(("heads", heads), ("kv_heads", kv_heads), ("q_len", q_len), ("kv_len", kv_len),
                     ("head_dim", head_dim), ("causal", causal)))


def attention_scores(op: Op) -> float:
    """Score-matrix elements of an attention op, forward or backward: its Q.K^T-shaped GEMM (what
    the softmax exponentiates; ``scratch_elems`` also counts probabilities and any dropout mask).

    Example:
        >>> attention_scores(attention("a", batch=2, heads=3, q_len=4, kv_len=5, head_dim=8))
        120.0
    """
    a = dict(op.attrs)
    for g in op.gemms:
        if (g.m, g.n) == (a.get("q_len"), a.get("kv_len")):
            return float(g.m * g.n * g.count)
    return 0.0


def embedding(name: str, *, tokens: int, vocab: int, dim: int, bags: int = 1) -> Op:
    """Table lookup: reads ``tokens * bags`` rows of a ``vocab x dim`` table (sums bags, DLRM-style).

    Example:
        >>> e = embedding("embed", tokens=512, vocab=32000, dim=4096)
        >>> e.param_elems, e.weight_read_elems           # only the looked-up rows are read
        (131072000, 2097152)
    """
    rows = tokens * bags
    return Op(name, OpKind.EMBEDDING, flops=float(max(0, bags - 1) * tokens * dim), input_elems=tokens * bags,
              output_elems=tokens * dim, param_elems=vocab * dim, weight_read_elems=min(rows, vocab) * dim,
              attrs=(("vocab", vocab), ("dim", dim), ("bags", bags)))


def lstm(name: str, *, batch: int, steps: int, input_size: int, hidden: int) -> Op:
    """One LSTM layer over ``steps`` time steps; the steps run one after another.

    Per step: gates = [x, h] @ W (4 gates), then ~10 element-wise FLOPs per hidden unit.

    Example:
        >>> op = lstm("lstm0", batch=20, steps=35, input_size=1500, hidden=1500)
        >>> op.sequential_steps, op.gemms[0]
        (35, Gemm(m=20, n=6000, k=3000, count=35))
    """
    gemm = Gemm(m=batch, n=4 * hidden, k=input_size + hidden, count=steps)
    params = 4 * hidden * (input_size + hidden) + 8 * hidden
    flops = float(gemm.flops + steps * batch * hidden * 10)
    return Op(name, OpKind.RECURRENT, flops=flops, input_elems=batch * steps * input_size,
              output_elems=batch * steps * hidden, param_elems=params, weight_read_elems=params, gemms=(gemm,),
              sequential_steps=steps, attrs=(("hidden", hidden), ("steps", steps)))


def reduce_sum(name: str, *, elems_in: int, elems_out: int) -> Op:
    """Reduction (sum/mean) of ``elems_in`` into ``elems_out``.

    Example:
        >>> reduce_sum("mean", elems_in=1000, elems_out=10).flops
        1000.0
    """
    return Op(name, OpKind.REDUCE, flops=float(elems_in), input_elems=elems_in, output_elems=elems_out)


def data_movement(name: str, *, elems: int) -> Op:
    """Concat / transpose / copy: moves bytes, no arithmetic.

    Example:
        >>> data_movement("cat", elems=64).flops
        0.0
    """
    return Op(name, OpKind.DATA_MOVEMENT, flops=0.0, input_elems=elems, output_elems=elems)


def loss(name: str, *, batch: int, classes: int) -> Op:
    """Softmax cross-entropy over ``classes`` logits per sample.

    Example:
        >>> loss("loss", batch=32, classes=1000).output_elems
        32
    """
    elems = batch * classes
    return Op(name, OpKind.LOSS, flops=6.0 * elems, input_elems=elems, output_elems=batch)


def ceil_div(a: int, b: int) -> int:
    """Integer ceiling of a / b.

    Raises:
        ZeroDivisionError: ``b == 0``.

    Example:
        >>> ceil_div(7, 2), ceil_div(8, 2)
        (4, 4)
    """
    return -(-a // b)

