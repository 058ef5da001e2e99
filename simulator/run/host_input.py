"""Host input pipeline: can the host CPU decode and ship batches as fast as the device consumes them?

Per-sample host CPU cost by workload task, per core at a 4.0 GHz reference clock (scaled by
``REFERENCE_CLOCK_GHZ / host single-core clock``):

* ``image``: 2.5 ms = JPEG decode of an ImageNet image (~1.7 ms: Pillow 577 img/s, simplejpeg 735 img/s
  single-thread on a Xeon Platinum 8581C, imread-benchmark / Iglovikov & Kosarevsky, arXiv:2605.08731)
  plus random-resized-crop, flip and to-tensor (~0.8 ms: ESTIMATE). Independent of the network's input
  size (the source JPEG is what is decoded).
* ``text``: 1.5 us per token (HF tokenizers: "less than 20 seconds to tokenize a GB of text on a
  server's CPU", i.e. ~50 MB/s over a multi-core server, ~0.6 M tokens/s per core: ESTIMATE).
* ``tabular``: 5 us per sample (reading and collating a preprocessed row: ESTIMATE).

Bytes sent over the device's ``host_link`` per sample: images as uint8 (3 x H x W), token ids as int64,
tabular features as fp32. A device without a ``host_link`` gets its batches for free (integrated memory).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..engine.input_pipeline import PipelineRun, run_pipeline
from ..errors import ScenarioError
from ..result import SimulationResult
from ..spec.loader import load_hardware
from ..units import GIGA

REFERENCE_CLOCK_GHZ = 4.0
DEFAULT_HOST = "intel-xeon-platinum-8480"
DECODE_S = {"image": 2.5e-3, "text_per_token": 1.5e-6, "tabular": 5e-6}
HOST_BOUND_MARGIN = 0.01  # the device waiting more than 1% of a step makes the host the bottleneck


def _per_sample(wl, summary: dict[str, Any]) -> tuple[float, float]:
    """(decode s per sample at the reference clock, bytes per sample over the link)."""
    if wl.task == "image":
        size = summary.get("image_size") or wl.defaults.get("image_size", 224)
        return DECODE_S["image"], 3.0 * size * size
    if wl.task == "text":
        seq = summary.get("seq_len") or wl.defaults.get("seq_len", 128)
        return DECODE_S["text_per_token"] * seq, 8.0 * seq
    g = wl.build(batch_size=1)
    first = g.op(g.order[0])
    return DECODE_S["tabular"], 4.0 * first.input_elems


def _check(workers: Any, prefetch: Any, cores: int) -> None:
    if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= cores:
        raise ScenarioError(f"input_workers: must be an integer in 1..{cores} (the host's cores), got {workers!r}")
    if not isinstance(prefetch, int) or isinstance(prefetch, bool) or not 1 <= prefetch <= 1024:
        raise ScenarioError(f"prefetch: must be an integer in 1..1024 batches, got {prefetch!r}")


def apply_input_pipeline(r: SimulationResult, wl, hw, *, workers: int, prefetch: int = 2,
                         host: Any = None) -> SimulationResult:
    """``r`` with its step fed by a host pipeline: steady-state step time, host bottleneck, idle energy.

    The device step from ``r`` is replayed behind the pipeline (:mod:`simulator.engine.input_pipeline`)
    for at least ``4 (prefetch + workers) + 16`` steps in whole waves of ``workers`` batches; the steady
    state is the mean step interval over the second half of the waves. ``extra["input_pipeline"]`` holds
    the figures; its ``device_step_time_s`` is the step without waiting.

    Raises:
        ScenarioError: bad ``workers``/``prefetch``, or ``host`` is not a CPU spec.
    """
    cpu = load_hardware(host or DEFAULT_HOST)
    if getattr(cpu, "kind", None) != "cpu":
        raise ScenarioError(f"host: {cpu.name} is not a CPU spec")
    _check(workers, prefetch, cpu.compute.cores)
    s = r.summary
    batch = s["batch_size"]
    per_sample, nbytes = _per_sample(wl, s)
    clock = cpu.compute.single_core_clock_ghz or cpu.compute.clock_ghz
    decode_s = per_sample * batch * REFERENCE_CLOCK_GHZ / clock
    link = hw.host_link
    transfer_s = (link.latency_us * 1e-6 + batch * nbytes / (link.bandwidth_gbs * GIGA)) if link else 0.0
    step = s["step_time_s"]
    # workers that start together deliver in waves of ``workers`` batches: simulate whole waves and
    # measure the steady state over the last half of them
    waves = max(4, -(-(4 * (prefetch + workers) + 16) // workers))
    steps = waves * workers
    tr = run_pipeline(PipelineRun(workers=workers, prefetch=prefetch, decode_s=decode_s, transfer_s=transfer_s,
                                  step_s=step, steps=steps))
    k = steps - (waves // 2) * workers
    interval = max(step, (tr.step_end_s[-1] - tr.step_end_s[k - 1]) / (steps - k))
    wait = interval - step
    host_bound = wait > HOST_BOUND_MARGIN * step
    scale = step / interval if interval > 0 else 1.0
    shares = {k: v * scale for k, v in r.bottleneck_shares.items()}
    shares["host"] = shares.get("host", 0.0) + (1 - scale)
    idle_w = hw.power.idle_w
    energy = s["energy_j"] + idle_w * wait
    new = dict(s)
    new.update({"step_time_s": interval, "throughput_samples_per_s": batch / interval if interval > 0 else 0.0,
                "tokens_per_s": s["tokens_per_s"] * scale if s.get("tokens_per_s") else s.get("tokens_per_s"),
                "energy_j": energy, "average_power_w": energy / interval if interval > 0 else idle_w,
                "utilization": s["utilization"] * scale,
                "throttled_fraction": s["throttled_fraction"] * scale})
    if host_bound and s["bottleneck"] != "memory_capacity":
        new["bottleneck"] = "host"
    info = {"host": cpu.name, "workers": workers, "prefetch": prefetch, "decode_s_per_batch": decode_s,
            "host_samples_per_s": workers * batch / decode_s if decode_s > 0 else None,
            "transfer_s_per_batch": transfer_s, "device_step_time_s": step, "steady_step_time_s": interval,
            "device_wait_fraction": wait / interval if interval > 0 else 0.0, "host_bound": host_bound,
            "first_step_start_s": tr.step_start_s[0], "steps_simulated": steps}
    extra = {**r.extra, "input_pipeline": info}
    if "energy_breakdown_j" in extra:
        extra["energy_breakdown_j"] = {**extra["energy_breakdown_j"]}
        extra["energy_breakdown_j"]["idle"] = extra["energy_breakdown_j"].get("idle", 0.0) + idle_w * wait
    return replace(r, summary=new, bottleneck_shares=shares, extra=extra)
