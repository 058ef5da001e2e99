"""Transformer family: encoders (BERT, ViT), decoders (GPT-2, GPT-J, GPT-3, Llama) and MoE (Mixtral)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .. import ops as O
from ..graph import GraphBuilder, Tensor
from ..ops import Gemm, Op, OpKind, TpRole
from . import Family, FamilyParams, Shape, register
from ..saved import SUM


class TransformerParams(FamilyParams):
    """Hyper-parameters of a transformer. ``kv_heads < heads`` is grouped-query attention.

    ``positions``: learned (a table of ``max_positions``) or rotary (no parameters).
    ``norm_position``: pre (GPT, Llama) or post (BERT). ``experts > 0`` makes every FFN a
    mixture of experts with ``top_k`` routing, each expert ``expert_ffn`` wide (default ``ffn``);
    the first ``first_dense_layers`` layers keep a dense FFN of ``ffn`` (DeepSeek-MoE's
    ``first_k_dense_replace``); ``shared_expert_ffn > 0`` adds an always-active shared FFN that wide
    beside the routed experts (DeepSeek-MoE: ``n_shared_experts x moe_intermediate_size``; Qwen2-MoE:
    ``shared_expert_intermediate_size``, scaled by a sigmoid gate when ``shared_expert_gate``).
    ``patch_size > 0`` makes it a vision transformer.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("llama2-7b").params
        >>> p.layers, p.hidden, p.heads, p.ffn, p.norm
        (32, 4096, 32, 11008, 'rmsnorm')
    """

    layers: int = Field(gt=0, le=1000)
    hidden: int = Field(gt=0, le=10**6)
    heads: int = Field(gt=0, le=10**4)
    kv_heads: int | None = Field(default=None, gt=0, le=10**4)
    head_dim: int | None = Field(default=None, gt=0, le=10**5)
    ffn: int = Field(gt=0, le=10**7)
    ffn_activation: Literal["gelu", "relu", "swiglu", "geglu"] = "gelu"
    vocab: int = Field(default=0, ge=0, le=10**8)
    type_vocab: int = Field(default=0, ge=0, le=100)
    positions: Literal["learned", "rotary", "none"] = "learned"
    max_positions: int = Field(default=0, ge=0, le=10**7)
    norm: Literal["layernorm", "rmsnorm"] = "layernorm"
    norm_position: Literal["pre", "post"] = "pre"
    causal: bool = True
    parallel_residual: bool = False
    qkv_bias: bool = True
    out_bias: bool = True
    mlp_bias: bool = True
    tie_embeddings: bool = False
    lm_head: bool = True
    lm_head_bias: bool = False
    pooler: bool = False
    experts: int = Field(default=0, ge=0, le=4096)
    top_k: int = Field(default=2, gt=0, le=64)
    expert_ffn: int | None = Field(default=None, gt=0, le=10**7)
    shared_expert_ffn: int = Field(default=0, ge=0, le=10**7)
    shared_expert_gate: bool = False
    first_dense_layers: int = Field(default=0, ge=0, le=1000)
    patch_size: int = Field(default=0, ge=0, le=1024)
    image_channels: int = Field(default=3, gt=0, le=64)
    num_classes: int = Field(default=0, ge=0, le=10**6)
    # training-time dropout rates (identity at inference): on the embeddings, attention output and
    # FFN output (``dropout``), on the attention probabilities (``attention_dropout``)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    attention_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> "TransformerParams":
        kv = self.kv_heads or self.heads
        if self.heads % kv:
            raise ValueError(f"heads ({self.heads}) must be a multiple of kv_heads ({kv})")
        if self.head_dim is None and self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        if self.experts and self.top_k > self.experts:
            raise ValueError(f"top_k ({self.top_k}) exceeds experts ({self.experts})")
        if not self.experts and (self.expert_ffn or self.shared_expert_ffn or self.first_dense_layers):
            raise ValueError("expert_ffn, shared_expert_ffn and first_dense_layers need experts > 0")
        if self.patch_size == 0 and self.vocab == 0:
            raise ValueError("a text transformer needs vocab > 0 (or patch_size > 0 for a vision transformer)")
        return self

    @property
    def dim_head(self) -> int:
        """Size of one attention head: ``head_dim`` if set, else ``hidden // heads``.

        Example:
            >>> from simulator.workload.loader import load_workload
            >>> load_workload("llama2-7b").params.dim_head
            128
        """
        return self.head_dim or self.hidden // self.heads


def _dropout(b: GraphBuilder, x: Tensor, rate: float, key: str = "dropout") -> Tensor:
    """Mark a dropout of ``rate`` on ``x``'s producer (made real in training graphs by
    :func:`simulator.workload.dropout.with_dropout`)."""
    if rate > 0 and x.producer is not None:
        b.meta.setdefault(key, {})[x.producer] = rate
    return x


def _ffn(b: GraphBuilder, name: str, x: Tensor, p: TransformerParams, layer: int = 0) -> Tensor:
    if p.experts and layer >= p.first_dense_layers:
        y = _moe(b, name, x, p)
        if p.shared_expert_ffn:
            y = b.add_tensors(f"{name}.shared_add", y, _shared_expert(b, f"{name}.shared", x, p))
        return _dropout(b, y, p.dropout)
    return _dropout(b, _dense_ffn(b, name, x, p, p.ffn), p.dropout)


def _dense_ffn(b: GraphBuilder, name: str, x: Tensor, p: TransformerParams, ffn: int) -> Tensor:
    gated = p.ffn_activation in ("swiglu", "geglu")
    width = 2 * ffn if gated else ffn
    # Megatron's MLP: up (and gate) column-parallel, the activation on each rank's features, down row-parallel
    h = b.tag(b.linear(f"{name}.up", x, width, bias=p.mlp_bias), tp_role=TpRole.COLUMN)
    fn = {"swiglu": "silu", "geglu": "gelu"}.get(p.ffn_activation, p.ffn_activation)
    if gated:
        half = Tensor(h.producer, (*h.shape[:-1], ffn))
        a = b.tag(b.act(f"{name}.{fn}", half, fn), tp_role=TpRole.HEADS)
        h = b.tag(b.add(O.elementwise(f"{name}.gate_mul", elems=a.elems), [a, h], a.shape), tp_role=TpRole.HEADS)
    else:
        h = b.tag(b.act(f"{name}.{fn}", h, fn), tp_role=TpRole.HEADS)
    return b.tag(b.linear(f"{name}.down", h, p.hidden, bias=p.mlp_bias), tp_role=TpRole.ROW)


def _shared_expert(b: GraphBuilder, name: str, x: Tensor, p: TransformerParams) -> Tensor:
    """The always-active shared expert: a dense gated FFN of ``shared_expert_ffn`` every token goes
    through (DeepSeek-MoE's shared experts, Qwen2-MoE's ``shared_expert``), optionally scaled by a
    per-token sigmoid gate (Qwen2-MoE's ``shared_expert_gate``: a hidden -> 1 projection)."""
    y = _dense_ffn(b, name, x, p, p.shared_expert_ffn)
    if not p.shared_expert_gate:
        return y
    g = b.act(f"{name}.gate_sigmoid", b.linear(f"{name}.gate", x, 1, bias=False), "sigmoid")
    return b.add(O.elementwise(f"{name}.gate_scale", elems=y.elems), [y, g], y.shape)


def _moe(b: GraphBuilder, name: str, x: Tensor, p: TransformerParams) -> Tensor:
    """Mixture of experts: a router and its top-k selection, the tokens permuted into expert order
    (each token copied once per chosen expert), then each through its ``top_k`` of ``experts`` gated
    FFNs, the outputs weighted and summed back per token.

    The permutation is its own kernel in every MoE engine (vLLM ``moe_align_block_size`` + the
    fused-MoE gather, TensorRT-LLM ``expandInputRows``, Megatron-Core ``permute``): it reads the
    tokens and writes ``tokens x top_k`` rows. The weighted combine runs in the expert kernel's
    epilogue. Weight traffic counts the experts a batch is expected to touch:
    E * (1 - (1 - 1/E)^(tokens*k)).
    """
    tokens = x.elems // p.hidden
    shape = x.shape
    logits = b.linear(f"{name}.router", x, p.experts, bias=False)
    # softmax over the experts, then k passes of an arg-max: ~5 + k operations per logit
    route = O.softmax(f"{name}.route", elems=logits.elems)
    logits = b.add(route.renamed(route.name, flops=float((5 + p.top_k) * logits.elems)), [logits], logits.shape)
    x = b.add(Op(f"{name}.permute", OpKind.DATA_MOVEMENT, flops=0.0, input_elems=float(x.elems + logits.elems),
                 output_elems=float(tokens * p.top_k * p.hidden)), [x, logits], (tokens * p.top_k, p.hidden))
    gated = p.ffn_activation in ("swiglu", "geglu")
    ffn = p.expert_ffn or p.ffn
    up_n = 2 * ffn if gated else ffn
    per_expert = p.hidden * up_n + ffn * p.hidden
    routed = tokens * p.top_k
    m = -(-routed // p.experts)
    touched = p.experts * (1 - (1 - 1 / p.experts) ** routed)
    flops = 2.0 * routed * per_expert + routed * ffn * (3 if gated else 1) + 2 * routed * p.hidden
    op = Op(f"{name}.experts", OpKind.MATMUL, flops=flops, input_elems=routed * p.hidden + logits.elems,
            output_elems=tokens * p.hidden, param_elems=float(p.experts * per_expert),
            weight_read_elems=touched * per_expert,
            gemms=(Gemm(m=m, n=up_n, k=p.hidden, count=p.experts), Gemm(m=m, n=p.hidden, k=ffn, count=p.experts)),
            attrs=(("experts", p.experts), ("top_k", p.top_k)), tp_role=TpRole.EXPERT)
    return b.add(op, [x, logits], shape)


def _attention(b: GraphBuilder, name: str, x: Tensor, p: TransformerParams, s: Shape, seq: int) -> Tensor:
    kv = p.kv_heads or p.heads
    d = p.dim_head
    # Megatron's attention: QKV column-parallel (whole heads per rank), the core on each rank's
    # heads, the output projection row-parallel
    qkv = b.tag(b.linear(f"{name}.qkv", x, (p.heads + 2 * kv) * d, bias=p.qkv_bias), tp_role=TpRole.COLUMN)
    # variable-length sequences (unpadded / packed): each attends over its own square, sqrt(E[L^2]) a side
    att = s.attn_len if s.attn_len and not s.past_len else seq
    op = O.attention(f"{name}.sdpa", batch=s.batch_size, heads=p.heads, q_len=att, kv_len=s.past_len + att,
                     head_dim=d, kv_heads=kv, causal=p.causal).renamed(f"{name}.sdpa", tp_role=TpRole.HEADS)
    a = _dropout(b, b.add(op, [qkv], (s.batch_size, seq, p.heads * d)), p.attention_dropout, "attention_dropout")
    out = b.tag(b.linear(f"{name}.out", a, p.hidden, bias=p.out_bias), tp_role=TpRole.ROW)
    return _dropout(b, out, p.dropout)


def _layer(b: GraphBuilder, i: int, x: Tensor, p: TransformerParams, s: Shape, seq: int) -> Tensor:
    """Layer ``i``; its ops carry ``block=i`` (pipeline stages are cut between layers)."""
    first = len(b.graph)
    y = _layer_ops(b, i, x, p, s, seq)
    b.tag_ops(list(b.graph)[first:], block=i)
    return y


def _layer_ops(b: GraphBuilder, i: int, x: Tensor, p: TransformerParams, s: Shape, seq: int) -> Tensor:
    n = f"h{i}"
    if p.parallel_residual:
        h = b.norm(f"{n}.ln1", x, kind=p.norm)
        a = _attention(b, f"{n}.attn", h, p, s, seq)
        f = _ffn(b, f"{n}.mlp", h, p, i)
        return b.add(O.elementwise(f"{n}.add", elems=x.elems, inputs=3, fn=SUM), [x, a, f], x.shape)
    if p.norm_position == "pre":
        x = b.add_tensors(f"{n}.add1", x, _attention(b, f"{n}.attn", b.norm(f"{n}.ln1", x, kind=p.norm), p, s, seq))
        return b.add_tensors(f"{n}.add2", x, _ffn(b, f"{n}.mlp", b.norm(f"{n}.ln2", x, kind=p.norm), p, i))
    x = b.norm(f"{n}.ln1", b.add_tensors(f"{n}.add1", x, _attention(b, f"{n}.attn", x, p, s, seq)), kind=p.norm)
    return b.norm(f"{n}.ln2", b.add_tensors(f"{n}.add2", x, _ffn(b, f"{n}.mlp", x, p, i)), kind=p.norm)


def _embed(b: GraphBuilder, p: TransformerParams, s: Shape) -> tuple[Tensor, int]:
    n = s.batch_size
    if p.patch_size:
        img = b.input((n, p.image_channels, s.image_size, s.image_size))
        x = b.conv("patch_embed", img, p.hidden, p.patch_size, stride=p.patch_size, pad=0, bias=True)
        seq = x.shape[2] * x.shape[3] + 1  # + class token
        x = b.reshape(x, (n, seq - 1, p.hidden))
        pos = Op("pos_embed", OpKind.ELEMENTWISE, flops=float(n * seq * p.hidden), input_elems=n * seq * p.hidden,
                 output_elems=n * seq * p.hidden, param_elems=float(seq * p.hidden + p.hidden),
                 weight_read_elems=float(seq * p.hidden + p.hidden))
        return b.add(pos, [x], (n, seq, p.hidden)), seq
    seq = s.seq_len
    tokens = n * seq
    x = b.tag(b.op(O.embedding("embed", tokens=tokens, vocab=p.vocab, dim=p.hidden), [], (n, seq, p.hidden)),
              tp_role=TpRole.VOCAB)
    extra = []
    if p.positions == "learned":
        if p.max_positions and s.past_len + seq > p.max_positions:
            raise ValueError(f"sequence of {s.past_len + seq} tokens exceeds max_positions={p.max_positions}")
        extra.append(b.op(O.embedding("pos_embed", tokens=tokens, vocab=p.max_positions or seq, dim=p.hidden), [],
                          x.shape))
    if p.type_vocab:
        extra.append(b.op(O.embedding("type_embed", tokens=tokens, vocab=p.type_vocab, dim=p.hidden), [], x.shape))
    if extra:
        x = b.add(O.elementwise("embed_sum", elems=x.elems, inputs=1 + len(extra), fn=SUM), [x, *extra], x.shape)
    if p.norm_position == "post":
        x = b.norm("embed_ln", x, kind=p.norm)
    return _dropout(b, x, p.dropout), seq


def build_transformer(b: GraphBuilder, p: TransformerParams, s: Shape) -> None:
    """Build the ``transformer`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("gpt2", batch=1)
        >>> build_transformer(b, load_workload("gpt2").params, Shape(batch_size=1, seq_len=128, image_size=224))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        124.44
    """
    x, seq = _embed(b, p, s)
    for i in range(p.layers):
        x = _layer(b, i, x, p, s, seq)
    if p.norm_position == "pre":
        x = b.norm("ln_f", x, kind=p.norm)
    n = s.batch_size
    if p.patch_size or p.pooler or p.num_classes:
        cls = Tensor(x.producer, (n, p.hidden))  # the class token / first position
        if p.pooler:
            cls = b.act("pooler.tanh", b.linear("pooler", cls, p.hidden), "tanh")
        if p.num_classes:
            b.loss("loss", b.linear("head", cls, p.num_classes))  # the head is replicated: so are its logits
        return
    if p.lm_head:
        rows = seq if s.logits == "all" else 1
        h = Tensor(x.producer, (n, rows, p.hidden))
        bias = p.lm_head_bias
        op = O.matmul("lm_head", batch=1, m=n * rows, k=p.hidden, n=p.vocab, bias=bias)
        if p.tie_embeddings:
            op = op.renamed("lm_head", param_elems=float(p.vocab if bias else 0))
        logits = b.add(op.renamed("lm_head", tp_role=TpRole.VOCAB), [h], (n, rows, p.vocab))
        b.tag(b.loss("loss", logits), tp_role=TpRole.VOCAB)  # vocabulary-parallel cross-entropy


register("transformer", Family(TransformerParams, build_transformer, task="text", uses_seq_len=True,
                               uses_image_size=False))
register("vit", Family(TransformerParams, build_transformer, task="image", uses_seq_len=False, uses_image_size=True))
