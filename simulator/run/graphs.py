"""Graphs of a scenario: the forward graph and the graph a step executes (training adds backward and
optimizer ops), cached by workload and shape; and the resident memory a step starts from.
"""
from __future__ import annotations

from collections import OrderedDict

from ..cost.memory import resident_bytes
from ..errors import ScenarioError
from ..scenario import Mode, Scenario, fuses_norms, fuses_pointwise
from ..workload.autocast import add_weight_casts, casts_weights
from ..workload.fusion import fuse_norm_epilogues, fuse_pointwise, fuse_region
from ..workload.graph import ComputeGraph
from ..workload.postprocess import add_score_scan
from ..workload.training import build_training_graph, optimizer_state_elems
from ..workload.workload import Workload

__all__ = ["build_graph", "memory_plan", "GraphCache"]

# `generate` steps 17 graphs (a prefill and 16 decode positions) and a sweep cycles through its
# batch sizes: the cache holds more graphs than either, bounded by their ops so that a few huge
# imported graphs do not keep gigabytes alive.
CACHE_GRAPHS = 64
CACHE_OPS = 400_000


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
    return _cached(wl, sc, batch // sc.grad_accumulation, past_len, logits, sc.mode == Mode.TRAINING)


def forward_graph(wl: Workload, sc: Scenario, micro: int, *, past_len: int = 0, logits: str = "all") -> ComputeGraph:
    """The forward graph of one ``micro``-sample batch as the scenario's stack runs it: pointwise
    fusion, the stack's fused regions and (inference only) its output scans, exactly as
    :func:`build_graph` builds it, so a multi-device run partitions the same graph a single device runs.

    Example:
        >>> from simulator.scenario import make_scenario
        >>> from simulator.workload.loader import load_workload
        >>> sc = make_scenario(mode="inference", batch_size=8)
        >>> forward_graph(load_workload("resnet50"), sc, 4) is forward_graph(load_workload("resnet50"), sc, 4)
        True
    """
    fwd, _ = _cached(wl, sc, micro, past_len, logits, False)
    return fwd


def weight_casts(sc: Scenario) -> bool:
    """Whether the scenario's forward pass converts FP32-stored weights per pass (:mod:`simulator.workload.autocast`)."""
    return casts_weights(sc.precision.bytes, sc.weights.bytes, sc.mode == Mode.TRAINING)


def _cached(wl: Workload, sc: Scenario, micro: int, past_len: int, logits: str,
            training: bool) -> tuple[ComputeGraph, ComputeGraph]:
    """``training``: build the backward and optimizer ops too (the multi-device step builds its own from
    the forward graph); the scenario's mode decides the forward graph's scans, casts and fused norms."""
    inference = sc.mode != Mode.TRAINING
    key = (_WorkloadKey(wl), micro, sc.seq_len, sc.image_size, past_len, logits, training,
           sc.optimizer if training else None, sc.checkpointing if training else None, fuses_pointwise(sc), sc.attn_len,
           sc.stack.regions_for(wl.name, sc.precision) if fuses_pointwise(sc) else (),
           sc.stack.scans_for(wl.name, sc.precision) if inference else (), weight_casts(sc),
           fuses_norms(sc), fuses_pointwise(sc) and sc.stack.norms_apart(wl.name, sc.precision),
           training and sc.grad_clip)
    hit = _GRAPHS.get(key)
    if hit is None:
        hit = _build(*key)
        _GRAPHS.put(key, hit, ops=len(hit[1]) + (len(hit[0]) if hit[0] is not hit[1] else 0))
    return hit


class _WorkloadKey:
    """Hashable identity of a workload for the graph cache: family, name, source, params, builder."""

    def __init__(self, wl: Workload) -> None:
        self.wl = wl
        params = wl.params.model_dump_json() if wl.params is not None else ""
        self.key = (wl.family, wl.name, wl.source, params, wl.builder)
        self._hash = hash(self.key)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _WorkloadKey) and self.key == other.key


class GraphCache:
    """Least-recently-used graphs, at most ``max_graphs`` of them and ``max_ops`` ops in all (the
    newest entry is always kept, however large).

    Example:
        >>> c = GraphCache(max_graphs=2, max_ops=10)
        >>> c.put("a", 1, ops=4); c.put("b", 2, ops=4); c.put("c", 3, ops=4)   # 12 ops: "a" goes
        >>> c.get("a"), c.get("b"), c.get("c"), c.hits, c.misses
        (None, 2, 3, 2, 1)
    """

    def __init__(self, max_graphs: int = CACHE_GRAPHS, max_ops: int = CACHE_OPS) -> None:
        self.max_graphs, self.max_ops = max_graphs, max_ops
        self._items: OrderedDict = OrderedDict()
        self.ops = self.hits = self.misses = 0

    def get(self, key):
        """The value cached under ``key`` (now the most recently used), or None."""
        item = self._items.get(key)
        if item is None:
            self.misses += 1
            return None
        self.hits += 1
        try:
            self._items.move_to_end(key)
        except KeyError:  # another thread (the explorer's sessions) dropped it meanwhile
            pass
        return item[0]

    def put(self, key, value, *, ops: int) -> None:
        """Cache ``value`` (holding ``ops`` ops) under ``key``, dropping the least recently used over the bounds."""
        old = self._items.pop(key, None)
        if old is not None:
            self.ops -= old[1]
        self._items[key] = (value, ops)
        self.ops += ops
        while len(self._items) > 1 and (len(self._items) > self.max_graphs or self.ops > self.max_ops):
            try:
                _, (_, n) = self._items.popitem(last=False)
            except KeyError:  # emptied by another thread meanwhile
                break
            self.ops -= n

    def clear(self) -> None:
        """Drop every entry (the counters too)."""
        self._items.clear()
        self.ops = self.hits = self.misses = 0


_GRAPHS = GraphCache()


def _build(wk: _WorkloadKey, micro: int, seq_len, image_size, past_len: int, logits: str, training: bool,
           optimizer, checkpointing, fuse: bool = False,
           attn_len: int | None = None, regions: tuple[str, ...] = (), scans: tuple = (),
           casts: bool = False, fuse_norms: bool = False,
           norm_kernels: bool = False, clip: bool = False) -> tuple[ComputeGraph, ComputeGraph]:
    fwd = wk.wl.build(batch_size=micro, seq_len=seq_len, image_size=image_size, past_len=past_len, logits=logits,
                      attn_len=attn_len)
    if fuse:  # norm_kernels: the stack's skip-layernorm kernels (stack norm_kernels)
        fwd = fuse_pointwise(fwd, norm_kernels=norm_kernels)
    for prefix in regions:  # stages the stack's engine runs as one kernel (stack fused_regions)
        fwd = fuse_region(fwd, prefix)
    if casts:  # FP32-stored weights converted to the compute format every pass (torch.autocast)
        fwd = add_weight_casts(fwd)
    for scan in scans:  # the harness's post-processing of the outputs (stack output_scans)
        fwd = add_score_scan(fwd, scan.outputs, scan.scanned, scan.keep)
    if fuse_norms:  # the stack's fused norm + add + activation kernels (stack fuse_norm_training)
        fwd = fuse_norm_epilogues(fwd)
    if training:
        return fwd, build_training_graph(fwd, optimizer, checkpointing, clip).graph
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
