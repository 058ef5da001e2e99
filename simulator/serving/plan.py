"""Deployment planning: the cheapest way to serve a request trace within an SLO.

:func:`plan_deployment` searches device x devices per replica x tensor/pipeline layout x replicas x
``max_num_seqs`` (the batch limit), every candidate played through the scheduler engine
(:func:`simulator.serving.paged.serve_paged`) on the same trace. It prunes before it simulates, each
pruned candidate listed with its reason:

1. **no price**: the spec has neither ``price.cloud_usd_per_hour`` nor ``price.purchase_usd`` (pass
   ``prices=``). The hourly price is the cloud rate when the spec has one, else the purchase price
   spread over three years of round-the-clock use (:func:`simulator.serving.stats.hourly_price`);
   the table's ``price_basis`` says which.
2. **memory**: the weights a device holds (parameters x bytes / (tp x pp)) exceed the memory the
   scheduler may use; then the engine's own rule (no room left for a KV cache, or the longest
   request alone needs more KV blocks than a replica has), and layouts the device cannot form.
3. **too slow even unloaded**: the SLO's TTFT percentile is below a prefill of that percentile's
   prompt alone, or its TPOT target below a one-sequence decode step: no replica count helps.
4. **stopped early**: a simulation stops as soon as more requests are past a TTFT or TPOT limit
   than its percentile allows (the SLO is missed whatever the rest of the trace does), so an
   overloaded candidate costs little to rule out.
5. **costs more than the best found** (for the cost objective, unless ``exhaustive``): candidates are
   simulated cheapest first, so once one meets the SLO no dearer one can be better.

``cost_per_million_tokens`` is what the deployment costs per million *output* tokens when it is
provisioned for the trace's load: hourly price x devices x replicas over the output tokens per hour of
the trace (an offline trace, all arriving at once, uses the simulated makespan instead).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..cost.dispatch import resolve_precision
from ..errors import InputError, ScenarioError, SimulatorError
from ..run.placement import placement
from ..units import parse_precision
from ..workload.loader import load_workload
from .costs import ServiceModel, is_llm
from .paged import kv_layout, serve_paged
from .policy import load_scheduler
from .requests import RequestTrace, fit_to_context, load_requests
from .stats import hourly_price, parse_slo, summarise

__all__ = ["plan_deployment", "DeploymentPlan", "OBJECTIVES"]

OBJECTIVES = ("cost_per_million_tokens", "energy_per_token_j")
COLUMNS = ("device", "devices_per_replica", "tp", "pp", "replicas", "max_num_seqs", "devices", "usd_per_hour",
           "price_basis", "status", "reason", "cost_per_million_tokens", "energy_per_token_j", "ttft_p99_s",
           "tpot_p99_s", "latency_p99_s", "slo_attainment", "goodput_per_s", "preemption_count", "kv_blocks")


@dataclass(frozen=True, eq=False)
class DeploymentPlan:
    """What :func:`plan_deployment` found. ``table``: one row per candidate (``status`` is
    ``meets SLO``, ``misses SLO`` or ``pruned``/``infeasible`` with its ``reason``); ``best``: the row
    of the chosen deployment as a dict (None when nothing meets the SLO); ``pareto``: the simulated
    candidates meeting the SLO that no other beats on both cost and p99 end-to-end latency.

    Example:
        >>> import pandas as pd
        >>> DeploymentPlan(table=pd.DataFrame(), best=None, pareto=pd.DataFrame(), slo={}, objective="x").best is None
        True
    """

    table: Any
    best: dict | None
    pareto: Any
    slo: dict
    objective: str
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """Readable: the best deployment, the Pareto front and counts per status."""
        from ..readable import count, seconds, sig3

        t = self.table
        lines = [f"{len(t)} candidates: " + ", ".join(f"{n} {s}" for s, n in t["status"].value_counts().items())]
        b = self.best
        if b is None:
            lines.append("no candidate meets the SLO")
        else:
            lines.append(f"best: {b['replicas']} x {b['devices_per_replica']} {b['device']} (tp {b['tp']}, pp {b['pp']}, "
                         f"max_num_seqs {b['max_num_seqs']}): ${sig3(b['cost_per_million_tokens'])}/M tokens, "
                         f"${sig3(b['usd_per_hour'])}/h ({b['price_basis']}), TTFT p99 {seconds(b['ttft_p99_s'])}, "
                         f"TPOT p99 {seconds(b['tpot_p99_s'])}, {sig3(b['energy_per_token_j'])} J/token")
        lines.append("Pareto front (cost vs p99 latency):")
        for _, r in self.pareto.iterrows():
            lines.append(f"  {r['replicas']} x {r['devices_per_replica']} {r['device']} tp{r['tp']} pp{r['pp']} "
                         f"seqs {r['max_num_seqs']}: ${sig3(r['cost_per_million_tokens'])}/M tokens, latency p99 "
                         f"{seconds(r['latency_p99_s'])}, goodput {count(r['goodput_per_s'])} req/s")
        return "\n".join(lines + list(self.notes))


def _layouts(count: int, pipeline: bool) -> list[tuple[int, int]]:
    """(tp, pp) pairs with tp x pp = ``count`` (tp a power of two; pp > 1 only when ``pipeline``)."""
    out = []
    tp = count
    while tp >= 1:
        if count % tp == 0 and (pipeline or tp == count):
            out.append((tp, count // tp))
        tp //= 2
    return out


@dataclass
class _Layout:
    """One device type at one (tp, pp): its placement, shared cost-model cache, or why it cannot run."""

    device: str
    count: int
    tp: int
    pp: int
    price: tuple[float | None, str]
    where: Any = None
    precision: str = ""
    reason: str = ""
    cache: dict = field(default_factory=dict)


def _trace(requests: Any) -> RequestTrace:
    if isinstance(requests, RequestTrace):
        return requests
    if isinstance(requests, str) and requests.lower().endswith(".csv"):
        return load_requests(requests)
    raise ScenarioError("requests: give a RequestTrace (simulator.load_requests / simulator.request_mix) or a .csv path")


def _layout(wl, params: float, device: str, count: int, tp: int, pp: int, precision, policy, prices) -> _Layout:
    """Resolve the placement and check prices and weight memory (no simulation)."""
    try:
        where = placement(device, None, devices=count, parallelism=f"tp={tp},pp={pp}" if count > 1 else None,
                          one_copy=True)
    except InputError as exc:
        return _Layout(device, count, tp, pp, (None, ""), reason=f"layout: {exc}")
    hw = where.device
    price = (float(prices[device]), "given") if prices and device in prices else hourly_price(hw)
    lay = _Layout(device, count, tp, pp, price, where=where)
    if price[0] is None:
        lay.reason = "no price in the spec (price.cloud_usd_per_hour or purchase_usd); pass prices="
        return lay
    try:
        lay.precision = parse_precision(resolve_precision(hw, precision)).value
    except SimulatorError as exc:
        lay.reason = f"precision: {exc}"
        return lay
    weights = params * parse_precision(lay.precision).bytes / (tp * pp)
    usable = hw.main_memory.capacity_bytes * policy.memory_utilization
    if weights > usable:
        lay.reason = (f"memory: {weights / 2**30:.1f} GiB of weights per device above the {usable / 2**30:.1f} GiB "
                      "the scheduler may use")
    return lay


def _model(wl, lay: _Layout, max_seqs: int) -> ServiceModel:
    return ServiceModel(wl=wl, hw=lay.where.device, precision=lay.precision, max_batch_size=max_seqs,
                        where=lay.where, _cache=lay.cache)


def _bound_reason(model: ServiceModel, trace: RequestTrace, slo: dict) -> str:
    """Why this candidate cannot meet the SLO whatever the queueing (see the module text), or ""."""
    for key, limit in slo.items():
        metric, q, _ = key.split("_")
        pct = float(q[1:])
        if metric == "ttft":
            prompt = float(np.percentile(trace.prompt_len, pct))
            floor = model.llm("prefill", 1, prompt)[0]
            if floor > limit:
                return f"too slow even unloaded: a {prompt:.0f}-token prefill alone takes {floor:.3g} s > {key} {limit:g} s"
        if metric == "tpot" and model.llm("decode", 1, int(trace.prompt_len.min()))[0] > limit:
            return f"too slow even unloaded: one decode step exceeds {key} {limit:g} s"
    return ""


def _stop_rules(slo: dict, n: int) -> tuple[tuple[str, float, int], ...]:
    """(metric, limit, count) past which a TTFT / TPOT percentile target is certainly missed: more than
    ``ceil((1 - p) x n) + 1`` requests above the limit put the p-th percentile above it."""
    rules = []
    for key, limit in slo.items():
        metric, q, _ = key.split("_")
        if metric in ("ttft", "tpot"):
            rules.append((metric, limit, math.ceil((1 - float(q[1:]) / 100) * n) + 1))
    return tuple(rules)


def _row(lay: _Layout, replicas: int, seqs: int, **values) -> dict[str, Any]:
    usd = lay.price[0] * lay.count * replicas if lay.price[0] is not None else math.nan
    row = {c: math.nan for c in COLUMNS}
    row.update(device=lay.device, devices_per_replica=lay.count, tp=lay.tp, pp=lay.pp, replicas=replicas,
               max_num_seqs=seqs, devices=lay.count * replicas, usd_per_hour=usd, price_basis=lay.price[1],
               reason="")
    row.update(values)
    return row


def plan_deployment(workload: Any, *, devices: Sequence[str], requests: Any, slo: "Mapping[str, float] | str",
                    objective: str = "cost_per_million_tokens", scheduler: Any = "vllm", precision: str | None = None,
                    devices_per_replica: Sequence[int] = (1, 2, 4, 8), max_replicas: int = 8,
                    max_num_seqs: Sequence[int] = (64, 128, 256), pipeline: bool = True,
                    prices: Mapping[str, float] | None = None, exhaustive: bool = False) -> DeploymentPlan:
    """The cheapest deployment of ``workload`` serving ``requests`` within ``slo`` (see the module text).

    Args:
        workload: a decoder LLM (zoo name, Hugging Face ``config.json`` path, YAML or loaded Workload).
        devices: device names (or spec paths) to consider.
        requests: a :class:`~simulator.serving.requests.RequestTrace` or a request CSV path.
        slo: targets such as ``{"ttft_p99_s": 0.5, "tpot_p99_s": 0.05}`` (:func:`~simulator.serving.stats.parse_slo`).
        objective: ``cost_per_million_tokens`` (USD per million output tokens) or ``energy_per_token_j``.
        scheduler: the engine's policy (``vllm``, ``sglang``, ``tensorrt-llm`` or a YAML); its
            ``max_num_seqs`` is replaced by each candidate's.
        precision: compute format (None: each device's native one).
        devices_per_replica, max_replicas, max_num_seqs, pipeline: the search space (layouts: tp x pp =
            devices per replica, tp a power of two; pp > 1 only with ``pipeline``; replicas 1..max).
        prices: USD per device-hour by device name, overriding (or supplying) the specs' prices.
        exhaustive: simulate every candidate that fits in memory (no bound or cost pruning).

    Raises:
        InputError: bad arguments, not an LLM, no SLO.

    Example:
        >>> from simulator.serving.requests import request_mix
        >>> trace = request_mix("chat", rate_per_s=2, duration_s=10)
        >>> plan = plan_deployment("llama3-8b", devices=["nvidia-l4", "nvidia-h100-sxm"], requests=trace,
        ...                        slo={"ttft_p99_s": 1.0, "tpot_p99_s": 0.1}, devices_per_replica=(1, 2),
        ...                        max_replicas=2, max_num_seqs=(64,))
        >>> plan.best["device"], plan.best["replicas"], len(plan.table)
        ('nvidia-l4', 1, 12)
    """
    wl = load_workload(workload)
    if not is_llm(wl):
        raise ScenarioError(f"workload: {wl.name} is not a decoder LLM")
    if objective not in OBJECTIVES:
        raise ScenarioError(f"objective: unknown {objective!r}; choose {', '.join(OBJECTIVES)}")
    targets = parse_slo(slo)
    if not targets:
        raise ScenarioError("slo: give at least one target, e.g. {'ttft_p99_s': 0.5}")
    # requests past the model's context are cut to it, as serve() does (its summary counts them)
    trace, _ = fit_to_context(_trace(requests), int(getattr(getattr(wl, "params", None), "max_positions", 0) or 0))
    if not devices:
        raise ScenarioError("devices: name at least one device")
    for key, values in (("devices_per_replica", devices_per_replica), ("max_num_seqs", max_num_seqs)):
        if not values or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
            raise ScenarioError(f"{key}: give positive integers, got {values!r}")
    if not isinstance(max_replicas, int) or not 1 <= max_replicas <= 1024:
        raise ScenarioError(f"max_replicas: must be an integer in 1..1024, got {max_replicas!r}")
    base = load_scheduler(scheduler)
    params = wl.build(batch_size=1, seq_len=1).parameters
    layouts = [_layout(wl, params, d, c, tp, pp, precision, base, prices)
               for d in devices for c in devices_per_replica for tp, pp in _layouts(c, pipeline)]
    rows = _search(wl, trace, targets, base, layouts, max_replicas, max_num_seqs, objective, exhaustive)
    return _finish(rows, targets, objective)


def _search(wl, trace, targets, base, layouts, max_replicas, seqs_list, objective, exhaustive) -> list[dict]:
    """Rows for every candidate: infeasible layouts first, then the rest cheapest first (B&B on cost)."""
    rows, live = [], []
    for lay in layouts:
        for seqs in seqs_list:
            for r in range(1, max_replicas + 1):
                if lay.reason:
                    rows.append(_row(lay, r, seqs, status="infeasible", reason=lay.reason))
                else:
                    live.append((lay.price[0] * lay.count * r, lay.device, lay.count, lay.tp, r, seqs, lay))
    live.sort(key=lambda c: c[:6])
    best_usd = math.inf
    config_cache: dict[tuple, Any] = {}
    for usd, _, _, _, r, seqs, lay in live:
        if not exhaustive and objective == "cost_per_million_tokens" and usd > best_usd:
            rows.append(_row(lay, r, seqs, status="pruned", reason="costs more than the best found"))
            continue
        row = _candidate(wl, trace, targets, base, lay, r, seqs, exhaustive, config_cache)
        if row["status"] == "meets SLO":
            best_usd = min(best_usd, usd)
        rows.append(row)
    return rows


def _candidate(wl, trace, targets, base, lay, replicas, seqs, exhaustive, config_cache) -> dict:
    """Simulate one candidate (or say why it is pruned or infeasible)."""
    policy = load_scheduler(base, {"max_num_seqs": seqs})
    key = (id(lay), seqs)
    if key not in config_cache:
        model = _model(wl, lay, seqs)
        try:
            config_cache[key] = (model, kv_layout(model, policy))
        except SimulatorError as exc:
            config_cache[key] = (None, f"memory: {exc}")
    model, lay_kv = config_cache[key]
    if model is None:
        return _row(lay, replicas, seqs, status="infeasible", reason=lay_kv)
    worst = int((trace.prompt_len + trace.output_len).max())
    if -(-worst // policy.kv_block_tokens) > lay_kv["kv_blocks"]:
        return _row(lay, replicas, seqs, status="infeasible", reason=f"memory: a {worst}-token request needs more "
                    f"KV than the {lay_kv['kv_blocks']} blocks of a replica")
    if not exhaustive:
        why = _bound_reason(model, trace, targets)
        if why:
            return _row(lay, replicas, seqs, status="pruned", reason=why)
    try:
        ptrace = serve_paged(model, trace, policy, replicas, () if exhaustive else _stop_rules(targets, len(trace)))
    except SimulatorError as exc:
        return _row(lay, replicas, seqs, status="infeasible", reason=str(exc))
    if ptrace.stopped:
        return _row(lay, replicas, seqs, status="misses SLO", reason=f"stopped early: {ptrace.stopped}")
    s, _ = summarise(ptrace, {"replicas": replicas}, idle_w=model.idle_w, slo_s=None, output_len=trace.output_len,
                     slo=targets)
    hours = (trace.duration_s if trace.duration_s > 0 else s["duration_s"]) / 3600
    usd = lay.price[0] * lay.count * replicas
    return _row(lay, replicas, seqs, status="meets SLO" if s["slo_met"] else "misses SLO",
                cost_per_million_tokens=usd * hours / trace.output_tokens * 1e6,
                **{k: s[k] for k in COLUMNS if k in s and k not in ("replicas", "max_num_seqs", "usd_per_hour")})


def _finish(rows: list[dict], targets: dict, objective: str) -> DeploymentPlan:
    import pandas as pd

    from ..sweep.pareto import pareto

    table = pd.DataFrame(rows, columns=list(COLUMNS))
    order = {"meets SLO": 0, "misses SLO": 1, "pruned": 2, "infeasible": 3}
    table = table.sort_values(by=["status", objective, "usd_per_hour", "latency_p99_s", "device",
                                  "devices_per_replica", "tp", "replicas", "max_num_seqs"], key=lambda c: c.map(order) if c.name == "status" else c,
                              kind="mergesort").reset_index(drop=True)
    ok = table[table["status"] == "meets SLO"]
    best = ok.iloc[0].to_dict() if len(ok) else None
    front = (pareto(ok.drop(columns=["status"]), minimize=["cost_per_million_tokens", "latency_p99_s"])
             if len(ok) else ok.copy())
    notes = ("prices: cloud rate per device-hour where the spec has one, else purchase over 3 years (price_basis); "
             "candidates dearer than the best are not simulated unless exhaustive=True",)
    return DeploymentPlan(table=table, best=best, pareto=front.reset_index(drop=True), slo=dict(targets),
                          objective=objective, notes=notes)
