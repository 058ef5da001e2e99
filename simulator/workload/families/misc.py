"""Families that are neither convolutional nor transformers: MLP, LSTM, DLRM."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .. import ops as O
from ..graph import GraphBuilder
from . import Family, FamilyParams, Shape, register


class MlpParams(FamilyParams):
    """Fully connected network: ``input_features`` -> hidden layers -> ``num_classes``.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("mlp").params
        >>> p.hidden
        [1024, 1024]
    """

    input_features: int = Field(gt=0, le=10**8)
    hidden: list[int] = Field(min_length=1, max_length=100_000)
    num_classes: int = Field(gt=0, le=10**8)
    activation: Literal["relu", "gelu", "tanh", "sigmoid", "silu"] = "relu"


def build_mlp(b: GraphBuilder, p: MlpParams, s: Shape) -> None:
    """Build the ``mlp`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("mlp", batch=1)
        >>> build_mlp(b, load_workload("mlp").params, Shape(batch_size=1, seq_len=1, image_size=224))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        1.86
    """
    x = b.input((s.batch_size, p.input_features))
    for i, width in enumerate(p.hidden):
        x = b.act(f"act{i}", b.linear(f"fc{i}", x, width), p.activation)
    b.loss("loss", b.linear("classifier", x, p.num_classes))


class LstmParams(FamilyParams):
    """Stacked LSTM language/sequence model; time steps run sequentially.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("lstm").params
        >>> p.layers, p.hidden
        (2, 1500)
    """

    vocab: int = Field(gt=0, le=10**8)
    embed: int = Field(gt=0, le=10**6)
    hidden: int = Field(gt=0, le=10**6)
    layers: int = Field(gt=0, le=1000)
    num_classes: int = Field(gt=0, le=10**8)


def build_lstm(b: GraphBuilder, p: LstmParams, s: Shape) -> None:
    """Build the ``lstm`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("lstm", batch=1)
        >>> build_lstm(b, load_workload("lstm").params, Shape(batch_size=1, seq_len=35, image_size=224))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        66.03
    """
    tokens = s.batch_size * s.seq_len
    x = b.op(O.embedding("embed", tokens=tokens, vocab=p.vocab, dim=p.embed), [], (s.batch_size, s.seq_len, p.embed))
    size = p.embed
    for i in range(p.layers):
        op = O.lstm(f"lstm{i}", batch=s.batch_size, steps=s.seq_len, input_size=size, hidden=p.hidden)
        x = b.op(op, [x], (s.batch_size, s.seq_len, p.hidden))
        size = p.hidden
    b.loss("loss", b.linear("classifier", x, p.num_classes))


class DlrmParams(FamilyParams):
    """DLRM (Naumov et al. 2019): bottom MLP on dense features, embedding tables, dot interaction, top MLP.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("dlrm").params
        >>> len(p.table_rows), p.embed_dim
        (26, 128)
    """

    dense_features: int = Field(gt=0, le=10**5)
    table_rows: list[int] = Field(min_length=1, max_length=1000)
    embed_dim: int = Field(gt=0, le=10**5)
    bottom_mlp: list[int] = Field(min_length=1)
    top_mlp: list[int] = Field(min_length=1)
    lookups_per_table: int = Field(default=1, gt=0, le=10**4)


def build_dlrm(b: GraphBuilder, p: DlrmParams, s: Shape) -> None:
    """Build the ``dlrm`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("dlrm", batch=1)
        >>> build_dlrm(b, load_workload("dlrm").params, Shape(batch_size=1, seq_len=1, image_size=224))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        24036.6
    """
    n = s.batch_size
    x = b.input((n, p.dense_features))
    for i, width in enumerate(p.bottom_mlp):
        x = b.act(f"bot_act{i}", b.linear(f"bot_fc{i}", x, width))
    if x.shape[-1] != p.embed_dim:
        raise ValueError("bottom_mlp must end at embed_dim")
    feats = [x]
    for t, rows in enumerate(p.table_rows):
        op = O.embedding(f"emb{t}", tokens=n, vocab=rows, dim=p.embed_dim, bags=p.lookups_per_table)
        feats.append(b.op(op, [], (n, p.embed_dim)))
    f = len(feats)
    pairs = f * (f - 1) // 2
    inter = O.matmul("interaction", batch=n, m=f, k=p.embed_dim, n=f, bias=False, has_weight=False)
    z = b.op(inter, feats, (n, pairs + p.embed_dim))
    for i, width in enumerate(p.top_mlp):
        z = b.linear(f"top_fc{i}", z, width)
        if i < len(p.top_mlp) - 1:
            z = b.act(f"top_act{i}", z)
    b.add(O.activation("sigmoid", elems=z.elems, fn="sigmoid"), [z], z.shape)


register("mlp", Family(MlpParams, build_mlp, task="tabular", uses_seq_len=False, uses_image_size=False))
register("lstm", Family(LstmParams, build_lstm, task="text", uses_seq_len=True, uses_image_size=False))
register("dlrm", Family(DlrmParams, build_dlrm, task="tabular", uses_seq_len=False, uses_image_size=False))
