"""Inference serving under load: ``serve`` plays a stream of requests against batched model servers.

Arrivals (``poisson``, ``constant``, ``bursty``: gamma inter-arrival times with coefficient of
variation 2, or ``trace``: a file) and LLM prompt/output lengths are drawn from
``numpy.random.default_rng(seed)`` through two spawned child generators, so arrivals and lengths are
independent streams and changing the rate only rescales the same arrival pattern (common random
numbers). Service times come from the cost models (:mod:`simulator.serving.costs`); the queueing is
played by the SimPy engine in :mod:`simulator.engine.serving`.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..run.placement import placement
from ..engine.serving import POLICIES, BatchWork, ContinuousWork, ServeRun, ServeTrace
from ..engine.serving_replay import serve_requests
from ..cost.dispatch import resolve_precision
from ..errors import InfeasibleError, InputError, ScenarioError
from .generation import kv_cache_bytes_per_token
from ..workload.loader import load_workload
from .costs import ServiceModel, is_llm
from ..deadline import check, make_deadline
from ..scenario import check_seed
from .paged import serve_disaggregated, serve_paged
from .policy import SchedulerPolicy, load_scheduler
from .requests import MAX_REQUESTS, RequestTrace, fit_to_context
from .result import ServingResult
from .stats import parse_slo
from ..units import parse_precision
from ..spec.stack import StackSpec, load_stack
from ..yamlio import read_bounded_text

__all__ = ["serve", "ServingResult", "ARRIVALS"]

# Prompt tokens one continuous-batching prefill iteration takes: TensorRT-LLM's default
# max_num_tokens (8192); a cap is what keeps a burst of admissions from one giant prefill whose
# activations would not fit beside the KV cache.
DEFAULT_MAX_PREFILL_TOKENS = 8192

ARRIVALS = ("poisson", "constant", "bursty", "trace")
BURSTY_SHAPE = 0.25  # gamma shape k: squared coefficient of variation 1/k = 4
MAX_TRACE_BYTES = 64 * 2**20  # a trace file: ~30 B per request, so room for MAX_REQUESTS and comments
DEFAULT_PROMPT_LEN, DEFAULT_OUTPUT_LEN = 128, 32


def _positive_int(key: str, v: Any, hi: int) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 1 <= v <= hi:
        raise ScenarioError(f"{key}: must be an integer in 1..{hi}, got {v!r}")
    return int(v)


def _number(key: str, v: Any, *, positive: bool) -> float:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and (v > 0 or
                                                                                         (not positive and v >= 0))
    if not ok:
        raise ScenarioError(f"{key}: must be a {'positive' if positive else 'non-negative'} number, got {v!r}")
    return float(v)


def read_trace_file(path: str | Path) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Arrival times (s) and optional prompt/output lengths from a trace file.

    Format: CSV with a header holding ``arrival_s`` (or ``arrival_ms``) and optionally ``prompt_len`` and
    ``output_len``; or a plain file with one arrival time in seconds per line. Times must be finite,
    non-negative and non-decreasing.

    Raises:
        InputError: unreadable file, not a regular file or above :data:`MAX_TRACE_BYTES`, missing column,
            bad number, or times out of order (naming the line).
    """
    p = Path(path)
    text = read_bounded_text(p, limit_bytes=MAX_TRACE_BYTES, what="a trace file (CSV text)")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputError(f"{p}: trace file has no arrivals")
    first = lines[0].split(",")[0].strip()
    try:
        float(first)
        rows = [{"arrival_s": ln.split(",")[0]} for ln in lines]
        start_line, scale, col = 1, 1.0, "arrival_s"
    except ValueError:
        rows = list(csv.DictReader(lines))
        header = [h.strip() for h in (csv.reader([lines[0]]).__next__())]
        col = "arrival_s" if "arrival_s" in header else "arrival_ms" if "arrival_ms" in header else None
        if col is None:
            raise InputError(f"{p}: line 1: trace header needs an 'arrival_s' or 'arrival_ms' column, got {header}")
        start_line, scale = 2, (1e-3 if col == "arrival_ms" else 1.0)
    cols: dict[str, list[float]] = {"arrival_s": [], "prompt_len": [], "output_len": []}
    for k, row in enumerate(rows):
        for key, src in (("arrival_s", col), ("prompt_len", "prompt_len"), ("output_len", "output_len")):
            if src not in row or row[src] is None:
                continue
            try:
                v = float(row[src])
            except ValueError:
                raise InputError(f"{p}: line {k + start_line}: {src}: not a number: {row[src]!r}") from None
            if not math.isfinite(v) or v < 0 or (key != "arrival_s" and (v < 1 or v != int(v))):
                raise InputError(f"{p}: line {k + start_line}: {src}: bad value {row[src]!r}")
            cols[key].append(v * scale if key == "arrival_s" else v)
    t = np.asarray(cols["arrival_s"])
    if np.any(np.diff(t) < 0):
        bad = int(np.argmax(np.diff(t) < 0)) + 1
        raise InputError(f"{p}: line {bad + start_line}: arrival times must be non-decreasing")
    lens = [np.asarray(cols[k], dtype=np.int64) if len(cols[k]) == len(t) else None
            for k in ("prompt_len", "output_len")]
    return t, lens[0], lens[1]


def make_arrivals(kind: str, rate_per_s: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Arrival times (s) of ``n`` requests at mean rate ``rate_per_s``; draws scale with 1/rate (CRN)."""
    if kind == "constant":
        return np.arange(n, dtype=float) / rate_per_s
    if kind == "poisson":
        gaps = rng.standard_exponential(n)
    else:
        gaps = rng.standard_gamma(BURSTY_SHAPE, n) / BURSTY_SHAPE
    gaps[0] = 0.0  # the first request arrives at t = 0
    return np.cumsum(gaps) / rate_per_s


def draw_lengths(key: str, spec: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` token counts: an int, or ``{"dist": "uniform", "low", "high"}`` / ``{"dist": "lognormal",
    "mean", "sigma", "max"?}`` (``mean`` is the mean of the lengths, ``sigma`` of the underlying normal).

    Raises:
        ScenarioError: naming ``key`` and what is wrong.
    """
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        return np.full(n, _positive_int(key, spec, 10**6), dtype=np.int64)
    if not isinstance(spec, Mapping) or spec.get("dist") not in ("uniform", "lognormal"):
        raise ScenarioError(f"{key}: expected an integer or {{'dist': 'uniform'|'lognormal', ...}}, got {spec!r}")
    allowed = {"uniform": {"dist", "low", "high"}, "lognormal": {"dist", "mean", "sigma", "max"}}[spec["dist"]]
    extra = set(spec) - allowed
    if extra:
        raise ScenarioError(f"{key}: unknown keys {sorted(extra)} for {spec['dist']}; allowed {sorted(allowed)}")
    if spec["dist"] == "uniform":
        lo = _positive_int(f"{key}.low", spec.get("low"), 10**6)
        hi = _positive_int(f"{key}.high", spec.get("high"), 10**6)
        if hi < lo:
            raise ScenarioError(f"{key}: high ({hi}) is below low ({lo})")
        return rng.integers(lo, hi + 1, size=n)
    mean = _number(f"{key}.mean", spec.get("mean"), positive=True)
    sigma = _number(f"{key}.sigma", spec.get("sigma", 0.5), positive=False)
    cap = _positive_int(f"{key}.max", spec.get("max", 10**6), 10**6)
    x = rng.lognormal(math.log(mean) - sigma**2 / 2, sigma, size=n)
    return np.clip(np.rint(x), 1, cap).astype(np.int64)


def _check(arrival, batching, rate_per_s, requests, max_batch_size, max_wait_ms, replicas, slo_ms, trace_file):
    if arrival not in ARRIVALS:
        raise ScenarioError(f"arrival: unknown {arrival!r}; choose {', '.join(ARRIVALS)}")
    if batching not in POLICIES:
        raise ScenarioError(f"batching: unknown {batching!r}; choose {', '.join(POLICIES)}")
    if (arrival == "trace") != (trace_file is not None):
        raise ScenarioError("trace_file: give a trace file exactly when arrival='trace'")
    _number("rate_per_s", rate_per_s, positive=True)
    if not isinstance(requests, RequestTrace):
        _positive_int("requests", requests, MAX_REQUESTS)
    _positive_int("max_batch_size", max_batch_size, 4096)
    _number("max_wait_ms", max_wait_ms, positive=False)
    _positive_int("replicas", replicas, 4096)
    if slo_ms is not None:
        _number("slo_ms", slo_ms, positive=True)


def _llm_requests(wl, policy, draw: tuple, prompt_len: Any, output_len: Any) -> tuple:
    """The requests to serve: ``(llm, requests, times, prompts, outs, arrival, truncated)``. A trace or a
    mix is fitted to the model's context (``truncated`` counts the requests cut); lengths the caller
    chose that cannot fit are an error."""
    arrival, rate_per_s, requests, trace_file, seed = draw
    llm = is_llm(wl)
    if not llm and (prompt_len is not None or output_len is not None or policy is not None
                    or isinstance(requests, RequestTrace)):
        what = "scheduler" if policy is not None else "requests" if isinstance(requests, RequestTrace) else \
            "prompt_len/output_len"
        raise ScenarioError(f"{what}: {wl.name} is not a decoder LLM; use seq_len (and batching, a request count)")
    times, prompts, outs, arrival = _requests(arrival, rate_per_s, requests, trace_file, seed, llm, prompt_len,
                                              output_len)
    truncated = None
    if llm and isinstance(requests, RequestTrace):
        requests, truncated = fit_to_context(requests, _context_limit(wl))
        times, prompts, outs = requests.arrival_s, requests.prompt_len, requests.output_len
    elif llm:
        _check_context(wl, prompts, outs)
    return llm, requests, times, prompts, outs, arrival, truncated


def serve(workload, hardware, *, arrival: str = "poisson", rate_per_s: float = 50.0,
          requests: "int | RequestTrace" = 10_000, batching: str = "dynamic", max_batch_size: int = 32,
          max_wait_ms: float = 5.0, replicas: int = 1, slo_ms: float | None = None, seed: int = 0,
          trace_file: str | Path | None = None, precision: str | None = None, prompt_len: Any = None,
          output_len: Any = None, seq_len: int | None = None, image_size: int | None = None,
          overrides: Mapping[str, Any] | None = None, devices: int | None = None, parallelism: Any = None,
          max_prefill_tokens: int | None = DEFAULT_MAX_PREFILL_TOKENS, scheduler: Any = None,
          slo: "Mapping[str, float] | str | None" = None, max_num_batched_tokens: int | None = None,
          chunked_prefill: bool | None = None, kv_block_tokens: int | None = None,
          prefix_caching: bool | None = None, preemption: str | None = None, max_num_seqs: int | None = None,
          scheduler_overrides: Mapping[str, Any] | None = None,
          speculative: Mapping[str, Any] | None = None,
          disaggregated: Mapping[str, int] | None = None, time_limit_s: float | None = None,
          stack: Any = "default") -> ServingResult:
    """Serve ``requests`` inference requests of ``workload`` on ``replicas`` copies of ``hardware``.

    Args:
        arrival: ``poisson``, ``constant`` (every 1/rate s), ``bursty`` (gamma gaps, CV 2) or ``trace``.
        rate_per_s: mean arrival rate (ignored for traces).
        requests: how many requests to draw, or a :class:`~simulator.serving.requests.RequestTrace`
            (:func:`simulator.load_requests`, :func:`simulator.request_mix`) whose arrivals and lengths
            are replayed (``arrival``, ``rate_per_s``, ``prompt_len`` and ``output_len`` then unused).
        batching: ``none``, ``static`` (full batches), ``dynamic`` (full or oldest waited ``max_wait_ms``),
            ``continuous`` (LLMs: iteration-level; other models: dynamic without waiting).
        scheduler: an LLM serving engine's scheduler instead of ``batching``: ``"vllm"``, ``"sglang"``,
            ``"tensorrt-llm"`` or a policy YAML (:mod:`simulator.serving.policy`): token budget per
            iteration, chunked prefill, paged KV blocks, preemption, prefix caching
            (:mod:`simulator.engine.llm_serving`). ``max_batch_size`` is then unused.
        max_num_batched_tokens, chunked_prefill, kv_block_tokens, prefix_caching, preemption, max_num_seqs:
            override the scheduler policy's field of that name (None: the policy's); ``preemption`` is
            ``recompute`` or ``swap``. ``scheduler_overrides``: any other policy field (``reserve``,
            ``swap_space_gib``, ``watermark``, ``memory_utilization``, ``memory_fraction_of``).
        speculative: speculative decoding under a ``scheduler``: ``{"draft": workload, "tokens": k,
            "acceptance": a}``: each decode step runs the draft model's k decode steps, then the target
            verifies k + 1 tokens per sequence as one chunk, and yields (1 - a^(k+1)) / (1 - a) tokens
            on average (a: the probability a draft token is accepted, an input). The draft runs on the
            replica's devices with the same layout; its weights come out of the KV room.
        disaggregated: prefill and decode on separate pools under a ``scheduler``:
            ``{"prefill_replicas": p, "decode_replicas": d}`` copies of the replica layout (``replicas``
            is then unused); each prompt's KV cache moves from its prefill copy to a decode copy over
            the device's first link (:func:`simulator.serving.paged.serve_disaggregated`).
        slo: LLM latency targets, e.g. ``{"ttft_p99_s": 0.5, "tpot_p99_s": 0.05}`` (see
            :func:`simulator.serving.stats.parse_slo`): adds ``slo_met``, ``slo_attainment`` and
            ``goodput_per_s``.
        slo_ms: latency objective for ``slo_attainment`` (any workload; not with ``slo``).
        seed: seeds ``numpy.random.default_rng``; same seed, same latencies.
        trace_file: CSV/text of arrival times (see :func:`read_trace_file`); lengths from it win for LLMs.
        prompt_len, output_len: LLM tokens per request: int or a distribution dict (see :func:`draw_lengths`);
            defaults 128 and 32.
        seq_len, image_size, overrides, precision: as in :func:`simulator.simulate` (non-LLM shape).
        max_prefill_tokens: continuous batching admits new requests into one prefill iteration up to
            this many prompt tokens (TensorRT-LLM's ``max_num_tokens``, vLLM's
            ``max_num_batched_tokens``); None: every admissible request at once.
        devices, parallelism: each replica is ``devices`` devices with a tensor / pipeline layout
            (``devices=8, parallelism="tp=8"`` serves a 70B model per 8-GPU node; a system spec
            defaults to all its devices, tensor parallel when no layout is given); the KV budget is the
            replica's devices' together.
            Data parallelism is ``replicas``, so ``parallelism`` must not have ``data > 1``.
        time_limit_s: wall-time limit of the call, loading included (None: none); checked in every
            service-time simulation and every 1,024 serving events.
        stack: software stack of every service-time simulation, as in :func:`simulator.simulate` (a name
            from :func:`simulator.list_stacks`, a stack YAML or a StackSpec): its fusions, and its
            ``kernel_overhead_us`` in place of the device's per-kernel gap
            (:func:`simulator.run.stackhw.stack_device`). ``"default"``: the device's own gap.

    Raises:
        InputError: bad arguments or trace file (one message naming the argument, file and line);
            more than :data:`MAX_REQUESTS` requests or 4,096 replicas.
        SimulationTimeout: the call went past ``time_limit_s``.
        InfeasibleError: a request cannot fit on the device.

    Example:
        >>> r = serve("mlp", "nvidia-t4", arrival="constant", rate_per_s=100, requests=50, batching="none")
        >>> r.mean_queue_length
        0.0
        >>> from simulator.serving.requests import request_mix
        >>> s = serve("llama3-8b", "nvidia-h100-sxm", requests=request_mix("chat", rate_per_s=2, duration_s=5),
        ...           scheduler="vllm", slo={"ttft_p99_s": 1.0, "tpot_p99_s": 0.1})
        >>> s.slo_met, s.preemption_count, 0 < s.prefix_hit_rate < 1
        (True, 0, True)
    """
    deadline = make_deadline(time_limit_s)
    _check(arrival, batching, rate_per_s, requests, max_batch_size, max_wait_ms, replicas, slo_ms, trace_file)
    check_seed(seed)
    knobs = dict(max_num_batched_tokens=max_num_batched_tokens, chunked_prefill=chunked_prefill,
                 kv_block_tokens=kv_block_tokens, prefix_caching=prefix_caching, preemption=preemption,
                 max_num_seqs=max_num_seqs)
    policy = _policy(scheduler, {**knobs, **dict(scheduler_overrides or {})})
    targets = parse_slo(slo)
    if targets and slo_ms is not None:
        raise ScenarioError("slo: give either slo (TTFT/TPOT/latency targets) or slo_ms, not both")
    where = placement(hardware, overrides, devices=devices, parallelism=parallelism, one_copy=True)
    if where.parallelism is not None and where.parallelism.data > 1:
        raise ScenarioError("parallelism: a replica is one model copy; use replicas= for data parallelism "
                            f"(got data={where.parallelism.data})")
    hw = where.device
    wl = load_workload(workload)
    p = parse_precision(resolve_precision(hw, precision)).value
    llm, requests, times, prompts, outs, arrival, truncated = _llm_requests(
        wl, policy, (arrival, rate_per_s, requests, trace_file, seed), prompt_len, output_len)
    n = len(times)
    shape = {k: v for k, v in (("seq_len", seq_len), ("image_size", image_size)) if v is not None}
    check(deadline, "loading the inputs")
    model = ServiceModel(wl=wl, hw=hw, precision=p, shape=shape, where=where, deadline=deadline,
                         max_batch_size=policy.max_num_seqs if policy is not None else max_batch_size,
                         stack=_stack(stack))
    trace, replicas, extra = _play(model, policy, requests, (times, prompts, outs), replicas, speculative,
                                   disaggregated, (batching, max_batch_size, max_wait_ms, max_prefill_tokens, llm),
                                   deadline)
    args = dict(workload=wl.name, hardware=where.name, precision=p, arrival=arrival,
                rate_per_s=float(rate_per_s) if arrival != "trace" else (n / times[-1] if times[-1] > 0 else 0.0),
                requests=n, batching=batching if policy is None else "scheduler",
                max_batch_size=max_batch_size if policy is None else policy.max_num_seqs,
                max_wait_ms=float(max_wait_ms), replicas=replicas, slo_ms=slo_ms, seed=seed, llm=llm,
                devices_per_replica=where.devices, **extra)
    if truncated is not None:
        args["context_truncated_requests"] = truncated
    from .stats import hourly_price, summarise

    summary, lat = summarise(trace, args, idle_w=model.idle_w, slo_s=slo_ms * 1e-3 if slo_ms else None,
                             output_len=outs, slo=targets, usd_per_device_hour=hourly_price(hw),
                             devices=where.devices)
    return ServingResult(summary=summary, latencies_s=lat, trace=trace, prompt_len=prompts, output_len=outs,
                         idle_w=model.idle_w)


def _stack(stack: Any) -> Any:
    """The stack to serve under, loaded once so a bad name fails before any simulation."""
    return stack if isinstance(stack, str) and stack == "default" else load_stack(stack)


def _context_limit(wl) -> int:
    """The model's context in tokens (``max_positions``; 0: unbounded)."""
    return int(getattr(getattr(wl, "params", None), "max_positions", 0) or 0)


def _check_context(wl, prompts: np.ndarray, outs: np.ndarray) -> None:
    """Refuse a request longer than the model's context (as vLLM refuses one above ``max_model_len``).

    Raises:
        ScenarioError: naming the first such request and the model's ``max_positions``.
    """
    limit = _context_limit(wl)
    if limit <= 0 or not len(prompts):
        return
    total = np.asarray(prompts) + np.asarray(outs)
    over = np.flatnonzero(total > limit)
    if len(over):
        i = int(over[0])
        raise ScenarioError(f"prompt_len + output_len: request {i} needs {int(prompts[i])} + {int(outs[i])} = "
                            f"{int(total[i])} tokens, above {wl.name}'s context of {limit} (max_positions); "
                            f"{len(over)} of {len(total)} requests are too long")


def _play(model, policy, requests, drawn, replicas, speculative, disaggregated, batched, deadline=None):
    """(trace, replicas, extra summary figures) of the run: batching policies, a scheduler, a
    scheduler with a draft model or over separate prefill and decode pools."""
    times, prompts, outs = drawn
    extra: dict[str, Any] = {}
    for name, value in (("speculative", speculative), ("disaggregated", disaggregated)):
        if value is not None and policy is None:
            raise ScenarioError(f"{name}: needs a scheduler (scheduler='vllm', ...)")
    if policy is None:
        return _serve_batched(model, times, prompts, outs, batched[0], batched[1], batched[2], replicas,
                              batched[3], batched[4], deadline), replicas, extra
    extra.update(scheduler=policy.name, **policy.model_dump(exclude={"name", "description", "source"}))
    if speculative is not None:
        _speculative(model, speculative)
        extra.update(draft=model.draft.wl.name, draft_tokens=model.draft_tokens,
                     draft_acceptance=model.draft_acceptance, tokens_per_decode=model.tokens_per_decode)
    trace = _as_trace(requests, times, prompts, outs)
    if disaggregated is None:
        return serve_paged(model, trace, policy, replicas, deadline=deadline), replicas, extra
    pools = _pools(disaggregated)
    extra.update(prefill_replicas=pools[0], decode_replicas=pools[1])
    return serve_disaggregated(model, trace, policy, *pools, deadline=deadline), sum(pools), extra


def _pools(spec: Mapping[str, int]) -> tuple[int, int]:
    if not isinstance(spec, Mapping) or set(spec) != {"prefill_replicas", "decode_replicas"}:
        raise ScenarioError(f"disaggregated: expected {{'prefill_replicas': p, 'decode_replicas': d}}, got {spec!r}")
    return (_positive_int("disaggregated.prefill_replicas", spec["prefill_replicas"], 4096),
            _positive_int("disaggregated.decode_replicas", spec["decode_replicas"], 4096))


def _speculative(model: ServiceModel, spec: Mapping[str, Any]) -> None:
    """Attach the draft model of ``spec`` (draft, tokens, acceptance) to ``model``."""
    if not isinstance(spec, Mapping) or set(spec) != {"draft", "tokens", "acceptance"}:
        raise ScenarioError("speculative: expected {'draft': workload, 'tokens': k, 'acceptance': 0..1}, got "
                            f"{spec!r}")
    k = _positive_int("speculative.tokens", spec["tokens"], 64)
    a = _number("speculative.acceptance", spec["acceptance"], positive=False)
    if a > 1:
        raise ScenarioError(f"speculative.acceptance: a probability in 0..1, got {a}")
    draft = load_workload(spec["draft"])
    if not is_llm(draft):
        raise ScenarioError(f"speculative.draft: {draft.name} is not a decoder LLM")
    model.draft = ServiceModel(wl=draft, hw=model.hw, precision=model.precision, where=model.where,
                               max_batch_size=model.max_batch_size, deadline=model.deadline, stack=model.stack)
    model.draft_tokens, model.draft_acceptance = k, a


def _policy(scheduler: Any, settings: dict[str, Any]) -> SchedulerPolicy | None:
    """The scheduler policy with the run's overrides (None without a scheduler)."""
    given = {k: v for k, v in settings.items() if v is not None}
    if scheduler is None:
        if given:
            raise ScenarioError(f"{sorted(given)[0]}: a scheduler setting; give scheduler='vllm' (or sglang, "
                                "tensorrt-llm, a policy YAML) with it")
        return None
    return load_scheduler(scheduler, given)


def _requests(arrival, rate_per_s, requests, trace_file, seed, llm, prompt_len, output_len):
    """(arrival times, prompt lengths, output lengths, arrival kind) of the run's requests."""
    if isinstance(requests, RequestTrace):
        return requests.arrival_s, requests.prompt_len, requests.output_len, "trace"
    rng_arrivals, rng_lengths = np.random.default_rng(seed).spawn(2)
    t_prompt = t_out = None
    if arrival == "trace":
        times, t_prompt, t_out = read_trace_file(trace_file)
        times = times[:requests]
    else:
        times = make_arrivals(arrival, float(rate_per_s), int(requests), rng_arrivals)
    n = len(times)
    prompts = outs = None
    if llm:
        prompts = t_prompt[:n] if t_prompt is not None else draw_lengths(
            "prompt_len", DEFAULT_PROMPT_LEN if prompt_len is None else prompt_len, n, rng_lengths)
        outs = t_out[:n] if t_out is not None else draw_lengths(
            "output_len", DEFAULT_OUTPUT_LEN if output_len is None else output_len, n, rng_lengths)
    return times, prompts, outs, arrival


def _as_trace(requests, times, prompts, outs) -> RequestTrace:
    if isinstance(requests, RequestTrace):
        return requests
    return RequestTrace.build(times, prompts, outs, name="drawn")


def _serve_batched(model, times, prompts, outs, batching, max_batch_size, max_wait_ms, replicas,
                   max_prefill_tokens, llm, deadline=None) -> ServeTrace:
    """The batching policies of :mod:`simulator.engine.serving` (none, static, dynamic, continuous)."""
    cont = None
    if llm:
        work = _llm_batch_work(model, prompts, outs)
        if max_prefill_tokens is not None:
            _positive_int("max_prefill_tokens", max_prefill_tokens, 10_000_000)
        cont = _continuous_work(model, prompts, outs, max_prefill_tokens) if batching == "continuous" else None
    else:
        work = _forward_batch_work(model)
    spec = ServeRun(arrivals_s=times.tolist(), policy=batching, max_batch_size=max_batch_size,
                    max_wait_s=float(max_wait_ms) * 1e-3, replicas=replicas, batch_work=work, continuous=cont)
    try:
        return serve_requests(spec, deadline)
    except ValueError as exc:
        raise InfeasibleError(str(exc)) from None


def _continuous_work(model: ServiceModel, prompts: np.ndarray, outs: np.ndarray,
                     max_prefill_tokens: int | None = None) -> ContinuousWork:
    """Iteration-level callbacks: packed prefill of new requests, one decode step, KV bytes per request.

    A request reserves its whole KV cache (``prompt_len + output_len`` tokens) when admitted (no paging).
    """
    per_token = kv_cache_bytes_per_token(model.wl, parse_precision(model.precision).bytes)
    return ContinuousWork(prefill=lambda ids: model.prefill([int(prompts[i]) for i in ids], padded=False),
                          decode=model.decode, prompt_len=prompts.tolist(), output_len=outs.tolist(),
                          kv_bytes=((prompts + outs) * per_token).tolist(), kv_budget_bytes=model.kv_budget_bytes(),
                          max_prefill_tokens=max_prefill_tokens,
                          mixed=lambda ids, contexts: model.mixed([int(prompts[i]) for i in ids], contexts))


def _forward_batch_work(model: ServiceModel):
    cache: dict[int, BatchWork] = {}

    def work(ids) -> BatchWork:
        b = len(ids)
        if b not in cache:
            t, e = model.forward(b)
            cache[b] = BatchWork(duration_s=t, energy_j=e, done_s=(t,) * b, first_s=(t,) * b)
        return cache[b]
    return work


def _llm_batch_work(model: ServiceModel, prompts: np.ndarray, outs: np.ndarray):
    """A padded generation batch: prefill at the longest prompt, then decode until the longest output.

    Decode step time is linear in the context, so the k-th step's time is interpolated between the first
    and the last step; each request completes after its own ``output_len - 1`` decode steps.
    """
    def work(ids) -> BatchWork:
        b = len(ids)
        p = int(max(prompts[i] for i in ids))
        o = int(max(outs[i] for i in ids))
        t_pre, e_pre = model.prefill([p] * b, padded=True)
        steps = o - 1
        d0 = model.llm("decode", b, p) if steps else (0.0, 0.0)
        d1 = model.llm("decode", b, p + steps - 1) if steps else (0.0, 0.0)

        def cum(k: int, idx: int) -> float:  # sum of the first k decode steps
            slope = (d1[idx] - d0[idx]) / (steps - 1) if steps > 1 else 0.0
            return k * d0[idx] + slope * k * (k - 1) / 2
        done = tuple(t_pre + cum(int(outs[i]) - 1, 0) for i in ids)
        return BatchWork(duration_s=t_pre + cum(steps, 0), energy_j=e_pre + cum(steps, 1), done_s=done,
                         first_s=(t_pre,) * b)
    return work
