"""LLM generation: prefill of the prompt, then one decode step per further output token.

A generation of ``output_len`` tokens for ``batch_size`` sequences of ``prompt_len`` tokens is

* one **prefill** pass over the prompt (``seq_len = prompt_len``, logits of the last position
  only); it emits the first output token, so its time is the time to first token (TTFT);
* ``output_len - 1`` **decode** steps (``seq_len = 1``). Decode step ``t`` (t = 0, 1, ...) feeds
  the token produced before it, attends over ``past_len = prompt_len + t`` cached tokens plus
  itself, and appends its own K and V to the cache. TPOT is the mean decode step (MLPerf's
  ``(latency - TTFT) / (tokens - 1)``).

The KV cache is resident memory outside the graph, passed to the engine as
``extra_static_bytes``; it grows by one token per step. Per token and sequence it holds
``2 (K and V) x layers x kv_heads x head_dim`` elements at ``kv_precision``, so grouped-query
attention (``kv_heads < heads``, e.g. Llama 2 70B) shrinks it by ``heads / kv_heads``.

Decode positions are sampled, not all simulated: a decode step's time, energy and FLOPs are
close to linear in the context length (weights are read once per step whatever the context; the
KV read and the attention FLOPs grow linearly). ``decode_samples`` evenly spaced positions,
always including the first and the last, are simulated and every quantity is integrated over
all positions by piecewise-linear interpolation between them (exact for a linear step time; the
tests bound the error against simulating every step below 1%). ``decode_samples=None``
simulates every step.

Limitation: ``kv_precision`` sets the cache's resident bytes; the attention op still reads the
cache at the compute precision (the cost models have no separate KV format).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..cost.dispatch import resolve_precision
from ..progress import report
from ..deadline import make_deadline
from ..errors import ScenarioError, WorkloadError
from ..result import SimulationResult, _clean, to_json_text
from ..run.placement import placement
from ..run.step import run_placed
from ..scenario import make_scenario
from ..spec.models import _DeviceBase
from ..units import parse_precision
from ..workload.loader import load_workload
from ..workload.workload import MAX_SEQ, Workload

__all__ = ["generate", "GenerationResult", "DecodeSample", "kv_cache_bytes_per_token", "decode_weights"]

DEFAULT_DECODE_SAMPLES = 16
MAX_DECODE_SAMPLES = 4096  # decode steps one call simulates (each a whole step in the engine)


@dataclass(frozen=True)
class DecodeSample:
    """One simulated decode step: its position ``t`` (0-based), ``past_len`` and result."""

    position: int
    past_len: int
    kv_cache_bytes: float
    result: SimulationResult = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {"position": self.position, "past_len": self.past_len, "kv_cache_bytes": self.kv_cache_bytes,
                "step_time_s": r.step_time_s, "peak_memory_bytes": r.peak_memory_bytes, "energy_j": r.energy_j,
                "bottleneck": r.bottleneck, "total_flops": r.total_flops}


@dataclass(frozen=True)
class GenerationResult:
    """Outcome of generating ``output_len`` tokens for ``batch_size`` prompts of ``prompt_len`` tokens.

    Times in s, memory in B, energy in J, power in W. ``ttft_s`` is the prefill; ``tpot_s`` the mean
    decode step (0 when ``output_len == 1``); ``tokens_per_s`` = batch x output_len / total time.
    ``kv_cache_bytes`` is the cache for the whole sequence, ``prompt_len + output_len`` tokens (what
    a server reserves per batch). ``bottleneck`` maps ``prefill`` and ``decode`` to the category
    that dominates each phase (time-weighted over all decode steps; ``memory_capacity`` when the
    phase does not fit). ``prefill`` and ``decode`` hold the simulated passes.

    Example:
        >>> import simulator as sim
        >>> g = sim.generate("gpt2", "nvidia-h100-sxm", batch_size=1, prompt_len=32, output_len=4)
        >>> g.ttft_s > 0 and g.tpot_s > 0 and g.fits_in_memory
        True
    """

    workload: str
    hardware: str
    batch_size: int
    prompt_len: int
    output_len: int
    precision: str
    weight_precision: str
    kv_precision: str
    ttft_s: float
    tpot_s: float
    decode_time_s: float
    total_time_s: float
    tokens_per_s: float
    kv_cache_bytes: float
    weight_bytes: float
    peak_memory_bytes: float
    memory_capacity_bytes: float
    fits_in_memory: bool
    energy_j: float
    energy_per_token_j: float
    average_power_w: float
    bottleneck: dict[str, str]
    decode_steps: int
    prefill: SimulationResult = field(repr=False)
    decode: tuple[DecodeSample, ...] = field(repr=False)
    effective_precision: str = ""  # what the device computed in (``precision``'s fallback when it lacks it)

    @property
    def memory_dominant(self) -> str:
        """The largest term (weights, kv_cache, activations...) of the step with the highest memory peak."""
        results = (self.prefill, *(d.result for d in self.decode))
        return max(results, key=lambda r: r.peak_memory_bytes).summary["memory_dominant"]

    def to_dict(self) -> dict[str, Any]:
        """Every scalar field, ``bottleneck``, the prefill summary and the simulated decode samples."""
        out = {k: getattr(self, k) for k in _SCALARS}
        out["bottleneck"] = dict(self.bottleneck)
        out["decode_positions_simulated"] = [d.position for d in self.decode]
        out["prefill"] = self.prefill.to_dict()
        out["decode"] = [d.to_dict() for d in self.decode]
        return _clean(out)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON with sorted keys."""
        return to_json_text(self.to_dict(), indent)

    def table(self) -> str:
        """A readable multi-line summary for terminals (three significant digits; :mod:`simulator.readable`)."""
        from ..readable import count, joules, nbytes, seconds, watts

        fit = "fits" if self.fits_in_memory else f"DOES NOT FIT, dominated by {self.memory_dominant}"
        ran = (f", runs as {self.effective_precision}" if self.effective_precision
               and self.effective_precision != self.precision else "")
        return "\n".join([
            f"{self.workload} on {self.hardware}: batch {self.batch_size}, prompt {self.prompt_len}, "
            f"output {self.output_len}, {self.precision}{ran} (weights {self.weight_precision}, KV {self.kv_precision})",
            f"  TTFT               {seconds(self.ttft_s)}   (prefill bottleneck {self.bottleneck['prefill']})",
            f"  TPOT               {seconds(self.tpot_s)}   (decode bottleneck {self.bottleneck['decode']})",
            f"  throughput         {count(self.tokens_per_s)} tokens/s over {seconds(self.total_time_s)}",
            f"  KV cache           {nbytes(self.kv_cache_bytes)}, weights {nbytes(self.weight_bytes)}",
            f"  peak memory        {nbytes(self.peak_memory_bytes)} of {nbytes(self.memory_capacity_bytes)} ({fit})",
            f"  energy             {joules(self.energy_j)}, {joules(self.energy_per_token_j)}/token, "
            f"average {watts(self.average_power_w)}",
        ])


_SCALARS = ("workload", "hardware", "batch_size", "prompt_len", "output_len", "precision", "effective_precision",
            "weight_precision", "kv_precision", "ttft_s", "tpot_s", "decode_time_s", "total_time_s", "tokens_per_s", "kv_cache_bytes",
            "weight_bytes", "peak_memory_bytes", "memory_capacity_bytes", "fits_in_memory", "energy_j",
            "energy_per_token_j", "average_power_w", "decode_steps")


def kv_cache_bytes_per_token(wl: Workload, kv_bytes: float) -> float:
    """KV-cache bytes per token of one sequence: 2 x layers x kv_heads x head_dim x ``kv_bytes``.

    Raises:
        WorkloadError: the workload is not a decoder transformer (no KV cache).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> kv_cache_bytes_per_token(load_workload("llama2-7b"), 2.0)  # 2 * 32 * 32 * 128 * 2 B
        524288.0
    """
    p = wl.params
    if wl.family != "transformer" or p is None or not getattr(p, "causal", False) or getattr(p, "vocab", 0) <= 0:
        raise WorkloadError(wl.source, "family", f"{wl.name} is not a decoder transformer; generation needs a KV cache")
    kv_heads = p.kv_heads or p.heads
    return 2.0 * p.layers * kv_heads * p.dim_head * kv_bytes


def decode_positions(steps: int, samples: int | None) -> tuple[int, ...]:
    """Positions to simulate among ``0 .. steps-1``: ``samples`` evenly spaced, first and last included.

    Example:
        >>> decode_positions(10, 3)
        (0, 4, 9)
    """
    if steps <= 0:
        return ()
    if samples is None or samples >= steps:
        return tuple(range(steps))
    k = max(2, samples)
    return tuple(sorted({round(i * (steps - 1) / (k - 1)) for i in range(k)}))


def decode_weights(positions: tuple[int, ...]) -> tuple[float, ...]:
    """Weights ``w`` with ``sum_t f(t) ~ sum_j w_j f(positions_j)`` over t = first .. last position.

    ``f`` is interpolated linearly between consecutive sampled positions; the sum over the integer
    positions of one segment [a, b) of length L puts (L + 1) / 2 on a and (L - 1) / 2 on b; the
    last position counts once more. The weights add up to the number of positions.

    Example:
        >>> decode_weights((0, 4, 9))
        (2.5, 4.5, 3.0)
    """
    w = [0.0] * len(positions)
    for j in range(len(positions) - 1):
        length = positions[j + 1] - positions[j]
        w[j] += (length + 1) / 2
        w[j + 1] += (length - 1) / 2
    if w:
        w[-1] += 1.0
    return tuple(w)


def _check_lengths(batch_size: int, prompt_len: int, output_len: int, decode_samples: int | None) -> None:
    for key, v in (("batch_size", batch_size), ("prompt_len", prompt_len), ("output_len", output_len)):
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0 or v > MAX_SEQ:
            raise ScenarioError(f"{key}: must be an integer in 1..{MAX_SEQ}, got {v!r}")
    if decode_samples is not None and (not isinstance(decode_samples, int) or isinstance(decode_samples, bool)
                                       or not 2 <= decode_samples <= MAX_DECODE_SAMPLES):
        raise ScenarioError(f"decode_samples: must be an integer in 2..{MAX_DECODE_SAMPLES:,} or None (every step), "
                            f"got {decode_samples!r}")
    if decode_samples is None and output_len - 1 > MAX_DECODE_SAMPLES:
        raise ScenarioError(f"decode_samples: simulating every one of {output_len - 1:,} decode steps is above the "
                            f"limit of {MAX_DECODE_SAMPLES:,}; give decode_samples (the rest are interpolated)")


def generate(workload: "str | Path | Workload", hardware: "str | Path | _DeviceBase", *, batch_size: int = 8,
             prompt_len: int = 512, output_len: int = 128, precision: str | None = None,
             weight_precision: str | None = None, kv_precision: str | None = None, fused_attention: bool | None = None,
             power_cap_w: float | None = None, overrides: Mapping[str, Any] | None = None,
             decode_samples: int | None = DEFAULT_DECODE_SAMPLES, devices: int | None = None,
             parallelism: Any = None, microbatches: int | None = None, stack: str = "default",
             time_limit_s: float | None = None) -> GenerationResult:
    """Simulate autoregressive generation: prefill of the prompt, then ``output_len - 1`` decode steps.

    Args:
        workload: a decoder transformer (zoo name, YAML path or loaded :class:`Workload`).
        hardware: catalogue name, path or loaded spec.
        batch_size: sequences generated together.
        prompt_len, output_len: tokens in each prompt and generated per sequence (output_len >= 1).
        precision: compute and activation format (None: the device's native one, as :func:`simulator.simulate`).
        weight_precision: stored-weight format for weight-only quantization (int8, int4, fp8);
            compute stays at ``precision``. Defaults to ``precision``.
        kv_precision: KV-cache format for its resident bytes (defaults to ``precision``).
        fused_attention, power_cap_w, overrides: as in :func:`simulator.simulate`.
        decode_samples: decode positions simulated (2..:data:`MAX_DECODE_SAMPLES`; first and last always
            included), the rest interpolated; ``None`` simulates every step (at most
            :data:`MAX_DECODE_SAMPLES` of them).
        time_limit_s: wall-time limit of the call, loading included (None: none); checked before and
            inside every simulated step.
        stack: software stack (:func:`simulator.list_stacks`); serving engines (TensorRT-LLM, vLLM)
            are ``"compiled"``: pointwise ops fused into their producers.
        devices, parallelism, microbatches: serve on several devices (a system spec defaults to its
            full size), e.g. ``devices=2, parallelism="tp=2"`` for a 70B model on two GPUs: every
            prefill and decode step then runs in the cluster engine with its tensor-parallel
            all-reduces and pipeline hops, and each device holds its share of the KV cache.
            ``batch_size`` is then the global batch over the data-parallel replicas. Without a
            ``parallelism``, the model is split tensor-parallel over all the devices.

    Raises:
        InputError: bad names, files or arguments; a workload without a KV cache.
        SimulationTimeout: the call went past ``time_limit_s``.
        InfeasibleError: the device cannot run this precision.

    Example:
        >>> g = generate("gpt2", "nvidia-h100-sxm", batch_size=2, prompt_len=64, output_len=8)
        >>> g.kv_cache_bytes == 2 * 12 * 12 * 64 * (64 + 8) * 2 * 2
        True
    """
    deadline = make_deadline(time_limit_s)
    _check_lengths(batch_size, prompt_len, output_len, decode_samples)
    where = placement(hardware, overrides, devices=devices, parallelism=parallelism, microbatches=microbatches,
                      one_copy=True)
    wl = load_workload(workload)
    precision = resolve_precision(where.device, precision)
    kv_p = parse_precision(kv_precision or precision)
    per_token = kv_cache_bytes_per_token(wl, kv_p.bytes) * batch_size  # B per token position, whole batch
    base = dict(mode="inference", batch_size=batch_size, precision=precision, weight_precision=weight_precision,
                fused_attention=fused_attention, power_cap_w=power_cap_w, stack=stack)

    def step(sc, past: int, kv: float) -> SimulationResult:
        report(f"prefill of {prompt_len} tokens" if past == 0 else
               f"decode step {past - prompt_len + 1} of {output_len - 1}")
        return run_placed(where, wl, sc, past_len=past, logits="last", kv_cache_bytes=kv, deadline=deadline)

    prefill = step(make_scenario(seq_len=prompt_len, **base), 0, per_token * prompt_len)
    step_sc = make_scenario(seq_len=1, **base)
    positions = decode_positions(output_len - 1, decode_samples)
    samples = tuple(
        DecodeSample(position=t, past_len=prompt_len + t, kv_cache_bytes=per_token * (prompt_len + t + 1),
                     result=step(step_sc, prompt_len + t, per_token * (prompt_len + t + 1)))
        for t in positions)
    return _combine(wl, prefill, samples, batch_size=batch_size, prompt_len=prompt_len, output_len=output_len,
                    kv_total=per_token * (prompt_len + output_len),
                    weight_precision=parse_precision(weight_precision or precision).value, kv_precision=kv_p.value)


def _combine(wl: Workload, prefill: SimulationResult, samples: tuple[DecodeSample, ...], *,
             batch_size: int, prompt_len: int, output_len: int, kv_total: float, weight_precision: str,
             kv_precision: str) -> GenerationResult:
    w = decode_weights(tuple(d.position for d in samples))
    decode_s = sum(wj * d.result.step_time_s for wj, d in zip(w, samples))
    decode_j = sum(wj * d.result.energy_j for wj, d in zip(w, samples))
    shares: dict[str, float] = {}
    for wj, d in zip(w, samples):
        for k, v in d.result.bottleneck_shares.items():
            shares[k] = shares.get(k, 0.0) + wj * v * d.result.step_time_s
    results = (prefill, *(d.result for d in samples))
    peak = max(r.peak_memory_bytes for r in results)
    capacity = prefill.memory_capacity_bytes
    fits = peak <= capacity
    decode_bn = "none"
    if samples:
        decode_bn = max(shares, key=lambda k: (shares[k], k)) if decode_s > 0 else "overhead"
        if not all(d.result.fits_in_memory for d in samples):
            decode_bn = "memory_capacity"
    total = prefill.step_time_s + decode_s
    energy = prefill.energy_j + decode_j
    tokens = batch_size * output_len
    steps = output_len - 1
    return GenerationResult(
        workload=wl.name, hardware=prefill.summary["hardware"], batch_size=batch_size, prompt_len=prompt_len,
        output_len=output_len,
        precision=prefill.summary["precision"], weight_precision=weight_precision, kv_precision=kv_precision,
        effective_precision=prefill.extra.get("effective_precision", prefill.summary["precision"]),
        ttft_s=prefill.step_time_s, tpot_s=decode_s / steps if steps else 0.0, decode_time_s=decode_s,
        total_time_s=total, tokens_per_s=tokens / total if total > 0 else 0.0, kv_cache_bytes=kv_total,
        weight_bytes=prefill.memory_breakdown["weights"], peak_memory_bytes=peak, memory_capacity_bytes=capacity,
        fits_in_memory=fits, energy_j=energy, energy_per_token_j=energy / tokens,
        average_power_w=energy / total if total > 0 else prefill.average_power_w,
        bottleneck={"prefill": prefill.bottleneck, "decode": decode_bn}, decode_steps=steps,
        prefill=prefill, decode=samples)
