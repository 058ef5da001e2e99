"""A Vitis AI DPU board: several DPU cores sharing one DDR/HBM, fed by host threads.

An overlay (``FpgaCompute.dpu``) has ``cores`` independent DPU cores; each takes one request at a
time (a batch of ``batch`` images, computed at once on its batch engines) and the cores share the
board's main memory. A step of B images is spread over the cores in runs of ``batch`` images:

* ``runs = ceil(B / batch)``, ``active = min(cores, runs)`` cores work at once, the busiest does
  ``rounds = ceil(runs / cores)`` runs one after another;
* one run is simulated on :func:`core_view`: the overlay's peak and vector engines over ``cores``,
  the main-memory bandwidth over ``active`` (what each core gets while the others stream too);
* step time = ``rounds`` x run time. A single image on an idle board therefore takes one core's
  run at the full bandwidth (batch-1 latency), and ``cores x batch`` images keep every core busy.

:func:`end_to_end` adds the host side of a Vitis AI runner (the Vitis AI Library's
``test_performance`` loop: each thread normalises its batch of images, runs it on a DPU core and
post-processes the output; vitis/ai/benchmark.hpp): with one thread the three happen one after
another; with ``threads`` threads the rate is the smallest of the thread population, the DPU cores,
the host cores and the host link (a closed network with fixed service times runs at its bound).
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable

from ..errors import ScenarioError
from ..result import SimulationResult
from ..scenario import Scenario
from ..spec.models import FpgaSpec
from ..units import GIGA
from ..workload.ops import OpKind

# Host of a PCIe DPU card when the run names none: ESTIMATE. The Vitis AI zoo tables do not state
# their x86 hosts; one core normalises an input element in about as many cycles as the Arm APUs
# (see the spec files' ``apu.cycles_per_element``) at a 3.5 GHz server clock.
CARD_HOST_CORES = 16
CARD_HOST_CLOCK_GHZ = 3.5
CARD_HOST_CYCLES_PER_ELEMENT = 3.5


def is_dpu_board(hw: Any) -> bool:
    """True for an FPGA spec whose overlay is a DPU (``compute.dpu`` set).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> is_dpu_board(load_hardware("amd-zcu102")), is_dpu_board(load_hardware("intel-stratix-10-nx"))
        (True, False)
    """
    return getattr(hw, "kind", None) == "fpga" and getattr(hw.compute, "dpu", None) is not None


def core_view(hw: FpgaSpec, active: int) -> FpgaSpec:
    """One DPU core of ``hw`` while ``active`` cores run: 1/cores of the overlay's MAC and vector
    rates, on-chip memory and power; 1/active of the main-memory bandwidth, at most what the core's
    data ports carry (``dpu.port_bytes_per_cycle`` at the DPU clock).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.cost.peaks import fpga_macs_per_s
        >>> from simulator.units import Precision
        >>> hw = load_hardware("amd-zcu102")                           # 3 x B4096
        >>> one = core_view(hw, 3)
        >>> round(fpga_macs_per_s(hw, Precision.INT8) / fpga_macs_per_s(one, Precision.INT8), 6)
        3.0
        >>> one.main_memory.bandwidth_gbs == hw.main_memory.bandwidth_gbs / 3     # 6.4 GB/s < 2 x 16 B x 281 MHz
        True
    """
    c = hw.compute
    n = c.dpu.cores
    if not 1 <= active <= n:
        raise ScenarioError(f"active DPU cores: must be in 1..{n}, got {active}")
    compute = c.model_copy(update={
        "dsp_utilization": c.dsp_utilization / n,
        "ai_engine_macs_per_tile_per_cycle": {p: v / n for p, v in c.ai_engine_macs_per_tile_per_cycle.items()},
        "vector_flops_per_cycle": {p: v / n for p, v in c.vector_flops_per_cycle.items()}})
    levels = list(hw.memory)
    bandwidth = levels[-1].bandwidth_gbs / active
    if c.dpu.port_bytes_per_cycle is not None:  # the core's own data ports may be narrower than its share
        bandwidth = min(bandwidth, c.dpu.port_bytes_per_cycle * c.clock_ghz)
    levels[-1] = levels[-1].model_copy(update={"bandwidth_gbs": bandwidth})
    for i in range(len(levels) - 1):
        levels[i] = levels[i].model_copy(update={"capacity_bytes": levels[i].capacity_bytes / n})
    power = hw.power.model_copy(update={"tdp_w": hw.power.tdp_w / n, "idle_w": hw.power.idle_w / n})
    return hw.model_copy(update={"compute": compute, "memory": tuple(levels), "power": power})


def board_layout(hw: FpgaSpec, images: int) -> tuple[int, int, int]:
    """(runs, active cores, rounds) for ``images`` images on ``hw``'s DPU cores.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> hw = load_hardware("amd-alveo-u250")                # 4 cores x batch 4
        >>> board_layout(hw, 1), board_layout(hw, 16), board_layout(hw, 20)
        ((1, 1, 1), (4, 4, 1), (5, 4, 2))
    """
    d = hw.compute.dpu
    runs = -(-images // d.batch)
    return runs, min(d.cores, runs), -(-runs // d.cores)


def run_board(wl, hw: FpgaSpec, sc: Scenario,
              run: Callable[[Any, FpgaSpec, Scenario], SimulationResult]) -> SimulationResult:
    """A step of ``sc.batch_size`` images on the board: ``run`` simulates one core's run of
    ``dpu.batch`` images on :func:`core_view`; the result is scaled to the board (see the module)."""
    d = hw.compute.dpu
    images = sc.batch_size or wl.defaults.get("batch_size", 1)
    runs, active, rounds = board_layout(hw, images)
    core_sc = sc.with_(batch_size=d.batch)
    if sc.power_cap_w is not None:
        # the board's cap less what the idle cores draw, shared by the active ones (> a core's idle
        # share because the cap is above the board's idle power, which check_power_cap enforces)
        idle_rest = (d.cores - active) * hw.power.idle_w / d.cores
        core_sc = core_sc.with_(power_cap_w=(sc.power_cap_w - idle_rest) / active)
    r = run(wl, core_view(hw, active), core_sc)
    s = r.summary
    t_run = s["step_time_s"]
    step = rounds * t_run
    idle_core = hw.power.idle_w / d.cores
    # every run of a round costs what the simulated run did; idle cores draw their idle share
    energy = rounds * (active * s["energy_j"] + (d.cores - active) * idle_core * t_run)
    new = dict(s)
    new.update({"hardware": hw.name, "batch_size": images, "step_time_s": step,
                "throughput_samples_per_s": images / step if step > 0 else 0.0,
                "tokens_per_s": None, "energy_j": energy, "average_power_w": energy / step if step > 0 else 0.0,
                "tdp_w": hw.power.tdp_w, "total_flops": s["total_flops"] * images / d.batch,
                "utilization": s["utilization"] * images / (d.batch * d.cores * rounds)})
    extra = {**r.extra, "dpu_board": {"cores": d.cores, "batch": d.batch, "runs": runs, "active_cores": active,
                                      "rounds": rounds, "run_time_s": t_run}}
    return replace(r, summary=new, extra=extra)


def host_element_s(hw: FpgaSpec, host_clock_ghz: float | None = None) -> tuple[float, int]:
    """(host seconds per input/output element, host cores): the board's APU, else a PCIe card's host.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> s, cores = host_element_s(load_hardware("amd-kria-kv260"))
        >>> cores, round(s * 1e9, 2)                              # ns per element on a 1.333 GHz Cortex-A53
        (4, 3.08)
    """
    if hw.apu is not None:
        return hw.apu.cycles_per_element / (hw.apu.clock_ghz * GIGA), hw.apu.cores
    clock = host_clock_ghz or CARD_HOST_CLOCK_GHZ
    return CARD_HOST_CYCLES_PER_ELEMENT / (clock * GIGA), CARD_HOST_CORES


def io_elements(graph) -> tuple[float, float]:
    """(input elements, output elements) of one image's pass: what the host normalises before the
    DPU and post-processes after it (the outputs of every op nothing else consumes, the loss aside).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> io_elements(load_workload("resnet50").build(batch_size=1))
        (150528.0, 1000.0)
    """
    first = graph.op(graph.order[0])
    out = 0.0
    for n in graph.order:
        op = graph.op(n)
        if op.kind == OpKind.LOSS:
            out += op.input_elems  # the logits the loss would read
        elif not graph.successors(n):
            out += op.output_elems
    return float(first.input_elems), out


def _host_link_s(hw: FpgaSpec, nbytes: float) -> float:
    """One run's input and output over a PCIe card's host link; 0 on a board whose APU shares the
    DPU's memory."""
    link = hw.host_link
    if hw.apu is not None or link is None:
        return 0.0
    return link.latency_us * 1e-6 + nbytes / (link.bandwidth_gbs * GIGA)


def end_to_end(wl, hw: FpgaSpec, sc: Scenario, *, threads: int,
               board_run: Callable[[int], SimulationResult], graph,
               host_clock_ghz: float | None = None) -> SimulationResult:
    """The Vitis AI runner's end-to-end rate with ``threads`` host threads (see the module).

    ``board_run(images)`` simulates the DPU step of that many images (:func:`run_board`); ``graph`` is
    one image's graph (its input and output sizes set the host's work, int8 over the host link).
    The result's step is ``sc.batch_size`` images at the steady rate; ``extra["end_to_end"]`` holds
    the stages (``latency_s`` is one request's time through an idle board).

    Raises:
        ScenarioError: ``threads`` not a positive integer.
    """
    if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= 4096:
        raise ScenarioError(f"input_workers: must be an integer number of host threads in 1..4096, got {threads!r}")
    d = hw.compute.dpu
    b = d.batch
    busy = min(d.cores, threads)
    r = board_run(busy * b)
    t_dpu = r.extra["dpu_board"]["run_time_s"]
    t_dpu1 = board_run(b).extra["dpu_board"]["run_time_s"] if busy > 1 else t_dpu
    per_elem_s, host_cores = host_element_s(hw, host_clock_ghz)
    ins, outs = io_elements(graph)
    t_host = b * (ins + outs) * per_elem_s
    t_link = _host_link_s(hw, b * (ins + outs))
    latency = t_host + t_link + t_dpu1
    if threads == 1:
        rate, bound = b / latency, "host" if t_host + t_link > t_dpu1 else r.summary["bottleneck"]
    else:
        limits = {"threads": threads * b / (t_host + t_link + t_dpu), r.summary["bottleneck"]: busy * b / t_dpu,
                  "host": min(threads, host_cores) * b / t_host if t_host > 0 else math.inf,
                  "host_link": b / t_link if t_link > 0 else math.inf}
        bound = min(limits, key=lambda k: limits[k])
        rate = limits[bound]
    images = sc.batch_size or b
    step = images / rate
    dpu_busy = images * t_dpu / (busy * b)
    energy = r.summary["energy_j"] * images / r.summary["batch_size"] + hw.power.idle_w * max(0.0, step - dpu_busy)
    new = dict(r.summary)
    new.update({"batch_size": images, "step_time_s": step, "throughput_samples_per_s": rate, "energy_j": energy,
                "average_power_w": energy / step, "bottleneck": "host" if bound in ("host", "threads") else bound,
                "total_flops": r.summary["total_flops"] * images / r.summary["batch_size"],
                "utilization": r.summary["utilization"] * rate * t_dpu / (busy * b)})
    info = {"threads": threads, "host_cores": host_cores, "host_s_per_run": t_host, "link_s_per_run": t_link,
            "dpu_s_per_run": t_dpu, "images_per_run": b, "latency_s": latency, "bound": bound}
    return replace(r, summary=new, extra={**r.extra, "end_to_end": info})
