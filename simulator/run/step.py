"""One step wherever a model copy is placed: on one device (:mod:`.device`) or many (:mod:`.cluster`),
optionally fed by a simulated host input pipeline (:mod:`.host_input`).

:func:`simulate_step` is what :func:`simulator.simulate` runs; the sweep workers call it directly.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..cost.dispatch import resolve_precision
from ..deadline import Deadline, make_deadline
from ..errors import ScenarioError
from ..result import SimulationResult
from ..scenario import Scenario, make_scenario
from ..spec.models import _DeviceBase
from ..workload.loader import load_workload
from ..workload.workload import Workload
from .device import run_scenario
from .dpu_board import end_to_end, is_dpu_board
from .graphs import build_graph
from .placement import Placement, placement

__all__ = ["simulate_step", "run_placed"]


def run_placed(where: Placement, wl: Workload, sc: Scenario, *, past_len: int = 0, logits: str = "all",
               kv_cache_bytes: float = 0.0, deadline: Deadline | None = None,
               symmetric: bool = True) -> SimulationResult:
    """One step of ``sc`` at ``where``: :func:`.device.run_scenario` on one device, else
    :func:`.cluster.simulate_cluster`. ``past_len``, ``logits`` and ``kv_cache_bytes`` shape an LLM
    decode step (see :func:`simulator.run.graphs.build_graph`).

    Raises:
        InputError: as the two runs do; SimulationTimeout when ``deadline`` passes.

    Example:
        >>> from simulator.scenario import make_scenario
        >>> from simulator.workload.loader import load_workload
        >>> r = run_placed(placement("nvidia-h100-sxm", devices=2, parallelism="tp=2"), load_workload("gpt2"),
        ...                make_scenario(batch_size=2, seq_len=64))
        >>> r.devices, r.hardware
        (2, 'nvidia-h100-sxm-x2')
    """
    if where.target is None:
        return run_scenario(wl, where.device, sc, past_len=past_len, logits=logits,
                            extra_static_bytes=kv_cache_bytes, deadline=deadline)
    if deadline is not None:
        deadline.check("loading the inputs")
    from .cluster import simulate_cluster  # the cluster planner and engine, only for several devices

    return simulate_cluster(wl, where.target, sc, devices=where.devices, parallelism=where.parallelism,
                            microbatches=where.microbatches, symmetric=symmetric,
                            fused_attention=sc.fused_attention, past_len=past_len, logits=logits,
                            kv_cache_bytes=kv_cache_bytes, device_overrides=where.device_overrides,
                            deadline=deadline)


def simulate_step(workload: "str | Path | Workload", hardware: "str | Path | _DeviceBase", *,
                  mode: str = "inference", batch_size: int | None = None, seq_len: int | None = None,
                  image_size: int | None = None, precision: str | None = None, weight_precision: str | None = None,
                  optimizer: str = "adam", checkpointing: str = "none", grad_accumulation: int = 1,
                  fused_attention: bool | None = None, power_cap_w: float | None = None, seed: int = 0,
                  overrides: Mapping[str, Any] | None = None, devices: int | None = None,
                  parallelism: Any = None, microbatches: int | None = None, symmetric: bool = True,
                  fpga_dataflow: str = "overlay", cold_start: bool = False, input_workers: int | None = None,
                  prefetch: int = 2, host: "str | Path | None" = None, time_limit_s: float | None = None,
                  stack: str = "default", dispatch_us: float | None = None, seq_len_distribution: Any = None,
                  packing: str = "unpadded", optimizer_tensors: int = 0,
                  grad_clip: bool = False) -> SimulationResult:
    """:func:`simulator.simulate` (every argument and error as documented there).

    Example:
        >>> simulate_step("mlp", "nvidia-h100-sxm", batch_size=8).batch_size
        8
    """
    deadline = make_deadline(time_limit_s)
    where = placement(hardware, overrides, devices=devices, parallelism=parallelism, microbatches=microbatches)
    wl = load_workload(workload)
    precision = resolve_precision(where.device, precision, mode)
    sc = make_scenario(mode=mode, batch_size=batch_size, seq_len=seq_len, image_size=image_size, precision=precision,
                       weight_precision=weight_precision, optimizer=optimizer, checkpointing=checkpointing,
                       grad_accumulation=grad_accumulation, fused_attention=fused_attention,
                       power_cap_w=power_cap_w, seed=seed, fpga_dataflow=fpga_dataflow, cold_start=cold_start,
                       stack=stack, dispatch_us=dispatch_us, seq_len_distribution=seq_len_distribution,
                       packing=packing, optimizer_tensors=optimizer_tensors, grad_clip=grad_clip)
    if where.target is not None and input_workers is not None:
        raise ScenarioError("input_workers: the host input pipeline is simulated for one device only")
    if input_workers is not None and where.target is None and is_dpu_board(where.device):
        # a DPU board's host threads run the Vitis AI runner loop (normalise, run, post-process)
        clock = _host_clock_ghz(host)
        return end_to_end(wl, where.device, sc, threads=input_workers, graph=build_graph(wl, sc.with_(batch_size=1))[1],
                          board_run=lambda n: run_placed(where, wl, sc.with_(batch_size=n), deadline=deadline),
                          host_clock_ghz=clock)
    r = run_placed(where, wl, sc, deadline=deadline, symmetric=symmetric)
    if sc.lengths:
        r.extra["seq_len_distribution"] = sc.lengths
    if input_workers is not None:
        from .host_input import apply_input_pipeline  # the host pipeline's SimPy run, only when asked for

        r = apply_input_pipeline(r, wl, where.device, workers=input_workers, prefetch=prefetch, host=host)
    return r


def _host_clock_ghz(host: "str | Path | None") -> float | None:
    """The one-core clock of a named host CPU spec (None: the run names no host)."""
    if host is None:
        return None
    from ..spec.loader import load_hardware

    cpu = load_hardware(host)
    if getattr(cpu, "kind", None) != "cpu":
        raise ScenarioError(f"host: {cpu.name} is not a CPU spec")
    return cpu.compute.single_core_clock_ghz or cpu.compute.clock_ghz
