"""Service times for serving, asked of the cost models and cached: what a batch of ``b`` requests costs.

Every figure comes from :func:`simulator.run.step.run_placed` (the same path as ``simulate``); nothing is
re-derived here. Non-generative models: one forward pass per batch size, cached per ``b``. LLMs: prefill
and decode passes are simulated at batch sizes and lengths on a power-of-two grid (plus the largest batch)
and interpolated bilinearly between grid points; decode time is close to linear in the context length
(see :mod:`simulator.serving.generation`) and near-linear in batch between neighbouring powers of two.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..deadline import Deadline
from ..run.placement import Placement
from ..run.step import run_placed
from ..errors import DoesNotFitError, ScenarioError
from .generation import kv_cache_bytes_per_token
from ..result import SimulationResult
from ..scenario import make_scenario
from ..units import parse_precision
from ..spec.models import _DeviceBase
from ..workload.workload import Workload


def is_llm(wl: Workload) -> bool:
    """True for decoder transformers (they have a KV cache and generate token by token)."""
    try:
        kv_cache_bytes_per_token(wl, 2.0)
    except Exception:  # noqa: BLE001 - any refusal means "not an LLM"
        return False
    return True


def _bracket(x: float, grid_max: int | None = None) -> tuple[int, int, float]:
    """Powers of two ``lo <= x <= hi`` (``hi`` capped at ``grid_max``) and the weight of ``hi``."""
    if x <= 1:
        return 1, 1, 0.0
    lo = 2 ** int(math.floor(math.log2(x)))
    hi = lo if lo == x else lo * 2
    if grid_max is not None:
        hi = min(hi, grid_max)
        lo = min(lo, hi)
    w = 0.0 if hi == lo else (x - lo) / (hi - lo)
    return lo, hi, w


@dataclass
class ServiceModel:
    """Cached cost-model answers for one workload on one model copy at one precision.

    ``where`` is the copy's placement: one device, or several with a tensor / pipeline layout
    (:func:`simulator.run.placement.placement`). ``shape`` holds extra scenario arguments
    (``seq_len``, ``image_size``). Energies are dynamic (above the copy's idle power), in J; times in s.
    ``deadline``: every cost-model probe checks it (a serving call's ``time_limit_s``).
    """

    wl: Workload
    hw: _DeviceBase
    precision: str
    max_batch_size: int
    shape: dict[str, Any] = field(default_factory=dict)
    where: Placement | None = None
    deadline: Deadline | None = None
    _cache: dict[tuple, tuple[float, float, float]] = field(default_factory=dict)
    _weights_s: float | None = None
    _segments: dict[tuple, tuple[float, ...]] = field(default_factory=dict)
    draft: "ServiceModel | None" = None
    draft_tokens: int = 0
    draft_acceptance: float = 0.0
    # the software stack every probe runs under (a name, a YAML path or a StackSpec): its fusions and,
    # through simulator.run.stackhw.stack_device, its per-kernel gap, as simulate applies them
    stack: Any = "default"

    @property
    def tokens_per_decode(self) -> float:
        """Expected output tokens per decode step: 1, or with a draft model proposing k tokens each
        accepted with probability a, (1 - a^(k+1)) / (1 - a) (Leviathan et al. 2023, eq. 1).

        Example:
            >>> from simulator.workload.loader import load_workload
            >>> from simulator.spec.loader import load_hardware
            >>> m = ServiceModel(wl=load_workload("gpt2"), hw=load_hardware("nvidia-l4"), precision="bf16",
            ...                  max_batch_size=8, draft_tokens=3, draft_acceptance=0.5)
            >>> m.tokens_per_decode
            1.875
        """
        k, a = self.draft_tokens, self.draft_acceptance
        if not k:
            return 1.0
        return float(k + 1) if a >= 1 else (1 - a ** (k + 1)) / (1 - a)

    def __post_init__(self) -> None:
        if self.where is None:
            self.where = Placement(device=self.hw)

    @property
    def idle_w(self) -> float:
        """Idle power of one model copy (all its devices), W."""
        return self.hw.power.idle_w * self.where.devices

    def _run(self, key: tuple, result_fn) -> tuple[float, float, float]:
        if key not in self._cache:
            r: SimulationResult = result_fn()
            name = self.where.name
            if not r.fits_in_memory and key[1] == 1:
                raise DoesNotFitError(f"{self.wl.name} does not fit in {name} memory even at batch 1 "
                                      f"({r.peak_memory_bytes / 2**30:.2f} GiB needed per device)",
                                      peak_bytes=r.peak_memory_bytes, capacity_bytes=r.memory_capacity_bytes,
                                      dominant=r.memory_dominant, what=f"{self.wl.name} on {name} at batch 1")
            if not r.fits_in_memory:
                raise ScenarioError(f"max_batch_size: a batch of {key[1]} does not fit in {name} memory "
                                    f"({r.peak_memory_bytes / 2**30:.2f} GiB needed per device); lower max_batch_size")
            dyn = r.energy_j - self.idle_w * r.step_time_s
            self._cache[key] = (r.step_time_s, max(0.0, dyn), r.peak_memory_bytes)
        return self._cache[key]

    def forward(self, b: int) -> tuple[float, float]:
        """(s, J) of one forward pass over a batch of ``b`` requests."""
        if ("fwd", b) in self._cache:
            t, e, _ = self._cache[("fwd", b)]
            return t, e
        sc = make_scenario(batch_size=b, precision=self.precision, stack=self.stack, **self.shape)
        t, e, _ = self._run(("fwd", b), lambda: run_placed(self.where, self.wl, sc, deadline=self.deadline))
        return t, e

    def _llm(self, phase: str, b: int, length: int) -> tuple[float, float, float]:
        if (phase, b, length) in self._cache:
            return self._cache[(phase, b, length)]
        if phase == "prefill":
            sc = make_scenario(batch_size=b, seq_len=length, precision=self.precision, stack=self.stack)
            return self._run((phase, b, length), lambda: run_placed(self.where, self.wl, sc, logits="last",
                                                                   deadline=self.deadline))
        sc = make_scenario(batch_size=b, seq_len=1, precision=self.precision, stack=self.stack)
        return self._run((phase, b, length), lambda: run_placed(self.where, self.wl, sc, past_len=length,
                                                                         logits="last", deadline=self.deadline))

    def llm(self, phase: str, b: int, length: float) -> tuple[float, float]:
        """(s, J) of a prefill (``length`` = prompt tokens) or a decode step (``length`` = cached tokens)
        over ``b`` sequences, interpolated on the power-of-two grid."""
        b_lo, b_hi, wb = _bracket(b, self.max_batch_size)
        l_lo, l_hi, wl = _bracket(max(1.0, length), self.length_cap(phase))
        out = [0.0, 0.0]
        for bb, fb in ((b_lo, 1 - wb), (b_hi, wb)):
            for ll, fl in ((l_lo, 1 - wl), (l_hi, wl)):
                if fb * fl == 0:
                    continue
                t, e, _ = self._llm(phase, bb, ll)
                out[0] += fb * fl * t
                out[1] += fb * fl * e
        return out[0], out[1]

    def length_cap(self, phase: str) -> int | None:
        """Longest grid length a probe may take: a model with learned positions holds ``max_positions``
        tokens, so a prefill probes at most that many and a decode step at most one less cached (the
        grid's next power of two above a 600-token prompt would otherwise ask GPT-2 for 1,025)."""
        m = int(getattr(getattr(self.wl, "params", None), "max_positions", 0) or 0)
        return None if m <= 1 else (m if phase == "prefill" else m - 1)

    def prefill(self, prompts: Sequence[int], *, padded: bool) -> tuple[float, float]:
        """Prefill of several prompts: padded to the longest (static batches) or packed at their mean."""
        length = max(prompts) if padded else sum(prompts) / len(prompts)
        return self.llm("prefill", len(prompts), length)

    def decode(self, contexts: Sequence[int]) -> tuple[float, float]:
        """One decode iteration for sequences with these cached lengths (attention cost at their mean)."""
        return self.llm("decode", len(contexts), sum(contexts) / len(contexts))

    def weight_stream_s(self) -> float:
        """Time one device takes to read its share of the weights from main memory once (s)."""
        if self._weights_s is None:
            params = self.wl.build(batch_size=1, seq_len=1).parameters
            p = self.where.parallelism
            share = 1.0 / (p.tensor * p.pipeline) if p is not None else 1.0
            nbytes = params * share * parse_precision(self.precision).bytes
            self._weights_s = nbytes / (self.hw.main_memory.bandwidth_gbs * 1e9 * self.hw.efficiency.memory)
        return self._weights_s

    def mixed(self, prompts: Sequence[int], contexts: Sequence[int]) -> tuple[float, float]:
        """(s, J) of one in-flight-batching iteration: the new requests' prefill and one decode step
        of the running ones in the same forward pass. The pass reads the weights once, and a
        compute-bound prefill hides that read, so the decode adds only what it costs beyond
        streaming the weights (its KV-cache reads and its own FLOPs); energy is the sum."""
        t_p, e_p = self.prefill(prompts, padded=False)
        t_d, e_d = self.decode(contexts)
        return t_p + max(0.0, t_d - self.weight_stream_s()), e_p + e_d

    def fast_llm(self, phase: str, b: int, length: float) -> tuple[float, float]:
        """:meth:`llm` through a per-(phase, batch, length bracket) cache of the two interpolated end
        points: the same bilinear value (to rounding), for the scheduler's hot loop."""
        x = max(1.0, length)
        lo = 1 if x <= 1 else 2 ** int(math.floor(math.log2(x)))
        key = (phase, b, lo)
        seg = self._segments.get(key)
        if seg is None:
            l_lo, l_hi, _ = _bracket(x, self.length_cap(phase))
            t0, e0 = self.llm(phase, b, l_lo)
            t1, e1 = self.llm(phase, b, l_hi)
            seg = self._segments[key] = (l_lo, float(l_hi - l_lo), t0, t1 - t0, e0, e1 - e0)
        l_lo, span, t0, dt, e0, de = seg
        w = (x - l_lo) / span if span else 0.0
        return t0 + dt * w, e0 + de * w

    def chunk(self, b: int, length: float, past: float) -> tuple[float, float]:
        """(s, J) of ``b`` prefill chunks of ``length`` new tokens each after ``past`` cached ones.

        A chunk does the linear-layer work of its own tokens plus attention over everything before
        it: the work of a prefill of ``past + length`` minus that of ``past`` (exact for FLOPs: the
        causal attention of P + L tokens is P^2/2 + L*P + L^2/2), but never less than a prefill of
        ``length`` alone (which also pays for reading the weights)."""
        alone = self.fast_llm("prefill", b, length)
        if past < 1:
            return alone
        whole, before = self.fast_llm("prefill", b, past + length), self.fast_llm("prefill", b, past)
        delta = (whole[0] - before[0], whole[1] - before[1])
        return delta if delta[0] > alone[0] else alone

    def iteration(self, work) -> tuple[float, float]:
        """(s, J) of one scheduler iteration (:class:`simulator.engine.llm_serving.IterationWork`): its
        prefill chunks, mean length and mean cached prefix each, and its decodes at their mean cached
        length, in one forward pass (the decode part beyond streaming the weights, as :meth:`mixed`)."""
        t = e = 0.0
        if work.chunks:
            t, e = self.chunk(work.chunks, work.chunk_tokens / work.chunks, work.chunk_past / work.chunks)
        if work.decode and self.draft is not None:
            # speculative decoding: the draft model's k decode steps, then the target verifies k + 1
            # tokens per sequence after its cached ones, as a chunk (Leviathan et al. 2023)
            n, past, k = work.decode, work.decode_past / work.decode, self.draft_tokens
            t_d, e_d = self.draft.fast_llm("decode", n, past)
            t_v, e_v = self.chunk(n, k + 1, past)
            return t + k * t_d + t_v, e + k * e_d + e_v
        if work.decode:
            t_d, e_d = self.fast_llm("decode", work.decode, work.decode_past / work.decode)
            t = t + max(0.0, t_d - self.weight_stream_s()) if work.chunks else t_d
            e += e_d
        return t, e

    def engine_kv_bytes(self, *, max_seqs: int, token_budget: int, utilization: float, of_free: bool) -> float:
        """KV-cache bytes of one model copy under an engine's memory rule: the device memory the engine
        may use (``utilization`` of all of it, or of what is left after weights and activations when
        ``of_free``) minus the weights and the larger activation peak of a decode of ``max_seqs``
        sequences and a prefill of ``token_budget`` tokens (what vLLM's profiling pass measures), over
        the share of the cache one device holds.

        Raises:
            DoesNotFitError: nothing is left for the KV cache.
        """
        cap = self.hw.main_memory.capacity_bytes
        try:
            most = self.length_cap("prefill")
            # the budget's tokens as the engine packs them: sequences of at most the model's positions
            seqs, tokens = (-(-token_budget // most), most) if most and token_budget > most else (1, token_budget)
            peak = max(self._llm("decode", max_seqs, 1)[2], self._llm("prefill", seqs, tokens)[2])
        except ScenarioError:  # the activations alone overflow the device: no room for a KV cache
            peak = cap
        if self.draft is not None:  # the draft model's weights share each device
            p = self.where.parallelism
            shards = p.tensor * p.pipeline if p is not None else 1
            peak += (self.draft.wl.build(batch_size=1, seq_len=1).parameters * parse_precision(self.precision).bytes
                     / shards)
        budget = utilization * (cap - peak) if of_free else utilization * cap - peak
        if budget <= 0:
            raise DoesNotFitError(f"{self.wl.name} leaves no room for a KV cache on {self.where.name} "
                                  f"({peak / 2**30:.2f} GiB of weights and activations, {utilization:.0%} of "
                                  f"{cap / 2**30:.1f} GiB usable)", peak_bytes=peak, capacity_bytes=cap,
                                  dominant="weights", what=f"{self.wl.name} on {self.where.name}")
        return budget / self.where.kv_share(self.wl)

    def kv_budget_bytes(self) -> float:
        """KV-cache bytes one model copy can hold: each device's memory left beside its weights and
        the largest decode batch's activations, over the share of the cache a device holds.

        Raises:
            InfeasibleError: the weights alone do not fit.
        """
        _, _, peak = self._llm("decode", self.max_batch_size, 1)
        budget = self.hw.main_memory.capacity_bytes - peak
        if budget <= 0:
            raise DoesNotFitError(f"{self.wl.name} does not fit in {self.where.name} memory at batch "
                                  f"{self.max_batch_size}, even without a KV cache", peak_bytes=peak,
                                  capacity_bytes=self.hw.main_memory.capacity_bytes, dominant="weights",
                                  what=f"{self.wl.name} on {self.where.name} without a KV cache")
        return budget / self.where.kv_share(self.wl)
