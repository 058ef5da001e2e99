"""Graphs of a scenario: the forward graph and the graph a step executes (training adds backward and
optimizer ops), cached by workload and shape; and the resident memory a step starts from.
"""
from __future__ import annotations

import functools

from ..cost.memory import resident_bytes
from ..errors import ScenarioError
from ..scenario import Mode, Scenario, fuses_pointwise
from ..workload.fusion import fuse_pointwise
from ..workload.graph import ComputeGraph
from ..workload.training import build_training_graph, optimizer_state_elems
from ..workload.workload import Workload

__all__ = ["build_graph", "memory_plan"]


def build_graph(wl: Workload, sc: Scenario, *, past_len: int = 0, logits: str = "all") -> tuple[ComputeGraph, ComputeGraph]:
    """(forward graph, graph to execute) for a scenario; training adds backward and optimizer ops.

    Graphs depend only on the workload and the shape, not on the hardware, so they are cached:
    a what-if sweep over device variants builds each graph once.

    Args:
        wl: the loaded workload.
        sc: the scenario; its batch is split into ``grad_accumulation`` micro-batches.
        past_len: tokens already in the KV cache (decode steps), 0 otherwise.
        logits: ``"all"`` or ``"last"`` (only the last position's LM head, as in generation).

    Raises:
        ScenarioError: the batch does not split into ``grad_accumulation`` micro-batches.

    Example:
        >>> from simulator.scenario import make_scenario
        >>> from simulator.workload.loader import load_workload
        >>> fwd, step = build_graph(load_workload("resnet50"), make_scenario(mode="training", batch_size=8))
        >>> len(step) > len(fwd)         # backward and optimizer ops added
        True
        >>> round(fwd.parameters / 1e6, 1)
        25.6
    """
    batch = sc.batch_size or wl.defaults.get("batch_size", 1)
    if batch % sc.grad_accumulation:
        raise ScenarioError(f"grad_accumulation: batch_size {batch} is not divisible by {sc.grad_accumulation}")
    training = sc.mode == Mode.TRAINING
    return _cached_graphs(_WorkloadKey(wl), batch // sc.grad_accumulation, sc.seq_len, sc.image_size, past_len, logits, training,
                          sc.optimizer if training else None, sc.checkpointing if training else None,
                          fuses_pointwise(sc), sc.attn_len)


class _WorkloadKey:
    """Hashable identity of a workload for the graph cache: family, name, source, params, builder."""

    def __init__(self, wl: Workload) -> None:
        self.wl = wl
        params = wl.params.model_dump_json() if wl.params is not None else ""
        self.key = (wl.family, wl.name, wl.source, params, wl.builder)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _WorkloadKey) and self.key == other.key


@functools.lru_cache(maxsize=16)
def _cached_graphs(wk: _WorkloadKey, micro: int, seq_len, image_size, past_len: int, logits: str, training: bool,
                   optimizer, checkpointing, fuse: bool = False,
                   attn_len: int | None = None) -> tuple[ComputeGraph, ComputeGraph]:
    fwd = wk.wl.build(batch_size=micro, seq_len=seq_len, image_size=image_size, past_len=past_len, logits=logits,
                      attn_len=attn_len)
    if fuse:
        fwd = fuse_pointwise(fwd)
    if training:
        return fwd, build_training_graph(fwd, optimizer, checkpointing).graph
    return fwd, fwd


def memory_plan(fwd: ComputeGraph, sc: Scenario) -> dict[str, float]:
    """Resident bytes by category before any activation: weights, gradients, master weights, optimizer state.

    Mixed precision keeps fp32 master weights when weights are stored below fp32; gradients are held
    at the compute precision; optimizer state is fp32 (Adam: 2 values per parameter).

    Returns:
        bytes per category (keys ``weights``, ``gradients``, ``master_weights``, ``optimizer_state``);
        all but ``weights`` are 0 for inference. Raises nothing: the scenario is already validated.

    Example:
        >>> from simulator.scenario import make_scenario
        >>> from simulator.workload.loader import load_workload
        >>> sc = make_scenario(mode="training", batch_size=8, precision="bf16")
        >>> fwd, _ = build_graph(load_workload("resnet50"), sc)
        >>> plan = memory_plan(fwd, sc)       # Adam, bf16: 2 + 2 + 4 + 8 bytes per parameter
        >>> {k: round(v / fwd.parameters) for k, v in plan.items()}
        {'weights': 2, 'gradients': 2, 'master_weights': 4, 'optimizer_state': 8}
    """
    training = sc.mode == Mode.TRAINING
    return resident_bytes(params=fwd.parameters, state_elems=optimizer_state_elems(fwd, sc.optimizer) if training else 0.0,
                          training=training, compute=sc.precision, weights=sc.weights)
