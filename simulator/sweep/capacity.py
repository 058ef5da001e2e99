"""Capacity planning: the largest batch whose peak memory fits on one device.

Peak memory is assumed non-decreasing in the batch size (the property tests check it), so an
exponential search (1, 2, 4, ...) brackets the answer and a binary search finds it. Before any
simulation, the resident bytes that do not depend on the batch (weights, gradients, master
weights, optimizer state: :func:`simulator.run.graphs.memory_plan`) are checked against the capacity;
if they alone do not fit, the answer is 0 without running the engine. Every other probe is one
:func:`simulator.run.device.run_scenario` (activation lifetimes depend on the schedule), memoized.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..deadline import make_deadline
from ..errors import ScenarioError
from ..run.device import run_scenario
from ..run.graphs import build_graph, memory_plan
from ..scenario import make_scenario
from ..spec.loader import load_hardware
from ..spec.models import _DeviceBase
from ..workload.loader import load_workload
from ..workload.workload import MAX_BATCH, Workload

__all__ = ["max_batch_size"]

_SCENARIO_KEYS = ("seq_len", "image_size", "precision", "weight_precision", "optimizer", "checkpointing",
                  "grad_accumulation", "fused_attention", "power_cap_w", "seed")


def max_batch_size(workload: "str | Path | Workload", hardware: "str | Path | _DeviceBase", *,
                   mode: str = "training", limit: int = MAX_BATCH, time_limit_s: float | None = None,
                   **simulate_kwargs: Any) -> int:
    """The largest batch size whose simulated peak memory fits in the device's main memory.

    Args:
        workload, hardware: as in :func:`simulator.simulate`.
        mode: ``"training"`` or ``"inference"``.
        limit: largest batch considered.
        time_limit_s: wall-time limit of the whole search, loading included (None: none).
        **simulate_kwargs: any other :func:`simulator.simulate` argument (``seq_len``, ``precision``,
            ``optimizer``, ``checkpointing``, ``grad_accumulation``, ``overrides``...). With
            ``grad_accumulation = k`` only multiples of k are valid batches; the answer is one.

    Returns:
        The batch size, or 0 when even the smallest batch does not fit.

    Raises:
        InputError: bad names or arguments (``batch_size`` may not be given).
        SimulationTimeout: the search went past ``time_limit_s``.

    Example:
        >>> max_batch_size("llama2-7b", "nvidia-h100-sxm", mode="training", seq_len=4096)  # 108 GB of state
        0
    """
    deadline = make_deadline(time_limit_s)
    if "batch_size" in simulate_kwargs:
        raise ScenarioError("batch_size: max_batch_size searches it; do not pass it")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        raise ScenarioError(f"limit: must be a positive integer, got {limit!r}")
    overrides = simulate_kwargs.pop("overrides", None)
    unknown = sorted(set(simulate_kwargs) - set(_SCENARIO_KEYS))
    if unknown:
        raise ScenarioError(f"max_batch_size: unknown argument(s) {', '.join(unknown)}")
    hw = load_hardware(hardware, overrides)
    if not isinstance(hw, _DeviceBase):
        raise ScenarioError(f"hardware: {hw.name} is a system; max_batch_size searches one device's memory "
                            f"(give {hw.device})")
    wl = load_workload(workload)
    step = simulate_kwargs.get("grad_accumulation", 1)
    capacity = hw.main_memory.capacity_bytes
    cache: dict[int, bool] = {}

    def fits(micro_batches: int) -> bool:
        if micro_batches not in cache:
            sc = make_scenario(mode=mode, batch_size=micro_batches * step, **simulate_kwargs)
            cache[micro_batches] = run_scenario(wl, hw, sc, deadline=deadline).fits_in_memory
        return cache[micro_batches]

    sc1 = make_scenario(mode=mode, batch_size=step, **simulate_kwargs)
    fwd, _ = build_graph(wl, sc1)
    if sum(memory_plan(fwd, sc1).values()) > capacity:  # batch-independent state alone overflows
        return 0
    top = max(1, limit // step)
    if not fits(1):
        return 0
    good = 1
    while good < top:
        probe = min(top, good * 2)
        if not fits(probe):
            return step * _bisect(fits, good, probe)
        good = probe
    return step * good


def _bisect(fits, good: int, bad: int) -> int:
    """Largest n in [good, bad) with fits(n), given fits(good) and not fits(bad)."""
    while bad - good > 1:
        mid = (good + bad) // 2
        if fits(mid):
            good = mid
        else:
            bad = mid
    return good
