"""Workload: a model that can be built at any batch size, sequence length and image size.

Its own module so that the importers (ONNX, SCALE-Sim CSV) can build one without importing the
loader that dispatches to them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ScenarioError, WorkloadError
from .families import FamilyParams, Shape, build_family
from .graph import ComputeGraph

MAX_BATCH = 10**7
MAX_SEQ = 10**7
MAX_IMAGE = 16384


class Published(BaseModel):
    """Published figures for golden tests: parameter count and forward multiply-accumulates.

    ``at``: the shape the figures hold at (e.g. ``{"image_size": 224}``).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> load_workload("gpt2").published.parameters
        124439808.0
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    parameters: float | None = Field(default=None, gt=0)
    forward_macs: float | None = Field(default=None, gt=0)
    at: dict[str, int] = {}
    source: str = Field(min_length=3)


@dataclass(frozen=True)
class Workload:
    """A model that can be built at any batch size, sequence length and image size.

    ``builder`` is set for graphs that come from files with a fixed structure (ONNX, SCALE-Sim CSV);
    otherwise the family builds the graph. ``defaults`` hold ``batch_size`` (samples), ``seq_len``
    (tokens) and ``image_size`` (pixels per side). Load one with :func:`load_workload`.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> wl = load_workload("mlp")
        >>> wl.family, wl.task, wl.defaults, wl.uses_seq_len
        ('mlp', 'tabular', {'batch_size': 64}, False)
    """

    name: str
    family: str
    params: FamilyParams | None
    source: str
    description: str = ""
    defaults: dict[str, int] = field(default_factory=dict)
    published: Published | None = None
    task: str = "text"
    uses_seq_len: bool = True
    uses_image_size: bool = False
    builder: Callable[[Shape], ComputeGraph] | None = field(default=None, compare=False)

    def shape(self, *, batch_size: int | None = None, seq_len: int | None = None, image_size: int | None = None,
              past_len: int = 0, logits: str = "all", attn_len: int | None = None) -> Shape:
        """Resolve a :class:`Shape` from arguments and this workload's defaults.

        Raises:
            ScenarioError: a non-positive or absurd size.

        Example:
            >>> from simulator.workload.loader import load_workload
            >>> load_workload("gpt2").shape(batch_size=4)
            Shape(batch_size=4, seq_len=1024, image_size=224, past_len=0, logits='all', attn_len=None)
        """
        vals = {"batch_size": batch_size or self.defaults.get("batch_size", 1),
                "seq_len": seq_len or self.defaults.get("seq_len", 128),
                "image_size": image_size or self.defaults.get("image_size", 224)}
        limits = {"batch_size": MAX_BATCH, "seq_len": MAX_SEQ, "image_size": MAX_IMAGE}
        for key, v in vals.items():
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0 or v > limits[key]:
                raise ScenarioError(f"{key}: must be an integer in 1..{limits[key]}, got {v!r}")
        if past_len < 0 or past_len > MAX_SEQ:
            raise ScenarioError(f"past_len: must be in 0..{MAX_SEQ}, got {past_len}")
        if attn_len is not None and not (isinstance(attn_len, int) and 0 < attn_len <= MAX_SEQ):
            raise ScenarioError(f"attn_len: must be an integer in 1..{MAX_SEQ}, got {attn_len!r}")
        return Shape(past_len=past_len, logits=logits, attn_len=attn_len, **vals)

    def build(self, *, batch_size: int | None = None, seq_len: int | None = None, image_size: int | None = None,
              past_len: int = 0, logits: str = "all", attn_len: int | None = None) -> ComputeGraph:
        """Build the forward graph at the given shape.

        Raises:
            WorkloadError: the params cannot produce a valid graph at this shape.
            ScenarioError: a non-positive or absurd size (see :meth:`shape`).

        Example:
            >>> from simulator.workload.loader import load_workload
            >>> g = load_workload("mlp").build(batch_size=1)
            >>> g.order, g.parameters
            (['fc0', 'act0', 'fc1', 'act1', 'classifier', 'loss'], 1863690.0)
        """
        shape = self.shape(batch_size=batch_size, seq_len=seq_len, image_size=image_size, past_len=past_len,
                           logits=logits, attn_len=attn_len)
        if self.builder is not None:
            return self.builder(shape)
        try:
            return build_family(self.family, self.params, shape, graph_name=self.name, source=self.source)
        except ValueError as exc:
            raise WorkloadError(self.source, "params", str(exc)) from None
