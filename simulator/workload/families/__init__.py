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
    """

    batch_size: int
    seq_len: int
    image_size: int
    past_len: int = 0
    logits: str = "all"


class FamilyParams(BaseModel):
    """Base for every family's params: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True)
class Family:
    """A model family: its params schema, builder, and what its inputs are (for the host pipeline)."""

    params: type[FamilyParams]
    build: Callable[[GraphBuilder, FamilyParams, Shape], None]
    task: str  # image | text | tabular | audio
    uses_seq_len: bool
    uses_image_size: bool


FAMILIES: dict[str, Family] = {}


def register(name: str, family: Family) -> None:
    """Add a family to the registry (done once, at import of the family modules)."""
    FAMILIES[name] = family


def build_family(name: str, params: FamilyParams, shape: Shape, *, graph_name: str, source: str) -> ComputeGraph:
    """Build the graph of family ``name`` at ``shape``."""
    fam = FAMILIES[name]
    b = GraphBuilder(graph_name, batch=shape.batch_size, source=source,
                     meta={"family": name, "batch_size": shape.batch_size, "seq_len": shape.seq_len,
                           "image_size": shape.image_size, "past_len": shape.past_len})
    fam.build(b, params, shape)
    return b.build()


from . import cnn, detection, misc, mobile, segmentation, transformer, vision  # noqa: E402,F401  (registers the families)
