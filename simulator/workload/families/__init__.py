"""Model families: each turns a workload's ``params`` and a :class:`Shape` into a graph.

A family is a pydantic params model (unknown keys rejected) plus a build function; the registry
:data:`FAMILIES` is the closed list a workload YAML may name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pydantic import BaseModel, ConfigDict

from ..graph import ComputeGraph, GraphBuilder


@dataclass(frozen=True)
class Shape:
    """The input shape of one pass.

    ``seq_len`` is the number of new tokens per sequence; ``past_len`` the tokens already in the KV
    cache (attention spans ``past_len + seq_len``); ``logits`` is ``"all"`` or ``"last"`` (prefill
    in serving computes only the last position's logits).

    Example:
        >>> Shape(batch_size=8, seq_len=1, image_size=224, past_len=511, logits="last").past_len + 1
        512
    """

    batch_size: int
    seq_len: int
    image_size: int
    past_len: int = 0
    logits: str = "all"
    attn_len: int | None = None  # sequences of variable length: attention's side, sqrt(E[L^2]) (None: seq_len)


class FamilyParams(BaseModel):
    """Base for every family's params: frozen, unknown keys rejected.

    Raises:
        pydantic.ValidationError: unknown keys, NaN/inf, or a subclass's bounds broken.

    Example:
        >>> from simulator.workload.families.misc import MlpParams
        >>> from pydantic import ValidationError
        >>> try:
        ...     MlpParams(input_features=8, hidden=[16], num_classes=2, depth=3)
        ... except ValidationError as exc:
        ...     print(exc.errors()[0]["loc"], exc.errors()[0]["msg"])
        ('depth',) Extra inputs are not permitted
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True)
class Family:
    """A model family: its params schema, builder, and what its inputs are (for the host pipeline).

    ``task`` is image, text, tabular or audio.

    Example:
        >>> FAMILIES["resnet"].task, FAMILIES["resnet"].uses_image_size, FAMILIES["resnet"].uses_seq_len
        ('image', True, False)
    """

    params: type[FamilyParams]
    build: Callable[[GraphBuilder, FamilyParams, Shape], None]
    task: str  # image | text | tabular | audio
    uses_seq_len: bool
    uses_image_size: bool


FAMILIES: dict[str, Family] = {}


def register(name: str, family: Family) -> None:
    """Add a family to the registry (done once, at import of the family modules).

    Raises nothing; a second registration under ``name`` replaces the first.

    Example:
        >>> "transformer" in FAMILIES and "resnet" in FAMILIES
        True
    """
    FAMILIES[name] = family


def build_family(name: str, params: FamilyParams, shape: Shape, *, graph_name: str, source: str) -> ComputeGraph:
    """Build the graph of family ``name`` at ``shape``.

    Raises:
        KeyError: no family called ``name`` (the loader checks names first).
        WorkloadError: the params give an impossible graph at this shape.
        ValueError: an op constructor refused a shape (the loader wraps it in a WorkloadError).

    Example:
        >>> from simulator.workload.families.misc import MlpParams
        >>> p = MlpParams(input_features=8, hidden=[16], num_classes=2)
        >>> g = build_family("mlp", p, Shape(batch_size=4, seq_len=1, image_size=1), graph_name="tiny", source="x")
        >>> g.parameters, g.meta["batch_size"]
        (178.0, 4)
    """
    fam = FAMILIES[name]
    b = GraphBuilder(graph_name, batch=shape.batch_size, source=source,
                     meta={"family": name, "batch_size": shape.batch_size, "seq_len": shape.seq_len,
                           "image_size": shape.image_size, "past_len": shape.past_len})
    fam.build(b, params, shape)
    return b.build()


from . import cnn, detection, diffusion, inception, misc, mobile, retinanet, segmentation, ssd, transformer, vision  # noqa: E402,F401  (registers the families)
