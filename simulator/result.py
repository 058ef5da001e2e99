"""SimulationResult: the summary, per-op table, memory timeline and bottleneck, built from a Trace by pure code."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .cost.base import Bound
from .errors import ScenarioError
from .trace import MemorySample, Trace, TraceEvent, fields_of, write_chrome_trace

if TYPE_CHECKING:
    from .scenario import Scenario
    from .workload.graph import ComputeGraph
    from .workload.workload import Workload

SUMMARY_KEYS = ("workload", "hardware", "kind", "mode", "precision", "batch_size", "seq_len", "image_size",
                "step_time_s", "throughput_samples_per_s", "tokens_per_s", "peak_memory_bytes",
                "memory_capacity_bytes", "fits_in_memory", "memory_shortfall_bytes", "memory_dominant",
                "energy_j", "average_power_w", "tdp_w", "throttled_fraction", "bottleneck", "total_flops",
                "utilization", "parameters", "op_count", "devices")

OPS_COLUMNS = ("name", "op_type", "phase", "device", "start_s", "end_s", "duration_s", "flops", "bytes_moved",
               "bound", "energy_j", "compute_cycles")


def busy_shares(events: "Sequence[TraceEvent]", *, end_s: float = 0.0, idle_is_host: bool = False,
                interconnect_s: float = 0.0) -> dict[str, float]:
    """Share of busy time per resource (every :class:`~simulator.cost.base.Bound` but capacity).

    Compute-track events count toward the resource that bound them; ``interconnect_s`` is blocking
    communication (a cluster's exposed collectives); with ``idle_is_host`` the time the compute
    stream stood idle before ``end_s`` (waiting for weights over the host link, or for an eager
    framework's dispatch) counts as host-bound. Shares add up to 1 (all 0 when nothing ran).

    Example:
        >>> def op(start, end, bound):
        ...     return TraceEvent(name="op", op_type="matmul", phase="forward", device="d", track="compute",
        ...                       start_s=start, end_s=end, bound=bound)
        >>> ev = [op(0.0, 3.0, "compute"), op(3.0, 4.0, "memory_bandwidth")]
        >>> busy_shares(ev, end_s=5.0, idle_is_host=True)
        {'compute': 0.6, 'memory_bandwidth': 0.2, 'overhead': 0.0, 'interconnect': 0.0, 'host': 0.2}
    """
    totals = {b.value: 0.0 for b in Bound if b != Bound.CAPACITY}
    totals[Bound.INTERCONNECT.value] += interconnect_s
    for track, bound, start, end in fields_of(events, "track", "bound", "start_s", "end_s"):
        if track == "compute" and bound in totals:
            totals[bound] += end - start
    idle = max(0.0, end_s - sum(totals.values()))
    if idle > 0 and idle_is_host:
        totals[Bound.HOST.value] += idle
    total = sum(totals.values()) or 1.0
    return {k: v / total for k, v in totals.items()}


def step_summary(wl: "Workload", sc: "Scenario", fwd: "ComputeGraph", *, hardware: str, kind: str, batch_size: int,
                 step_s: float, peak_bytes: float, capacity_bytes: float, breakdown: dict[str, float],
                 energy_j: float, idle_w: float, tdp_w: float, throttled_fraction: float,
                 shares: dict[str, float], total_flops: float, peak_flops_per_s: float, op_count: int,
                 devices: int) -> dict[str, Any]:
    """The step summary (:data:`SUMMARY_KEYS`, in that order) of one device or a cluster.

    Units: s, B, J, W, FLOP, FLOP/s. ``bottleneck`` is the resource with the largest share, or
    ``memory_capacity`` when ``peak_bytes`` exceeds ``capacity_bytes``; ``idle_w`` is the average
    power reported for a zero-length step. Raises nothing.

    Example:
        >>> from simulator.scenario import make_scenario
        >>> from simulator.workload.loader import load_workload
        >>> wl, sc = load_workload("mlp"), make_scenario(batch_size=8)
        >>> s = step_summary(wl, sc, wl.build(batch_size=8), hardware="h", kind="gpu", batch_size=8, step_s=0.5,
        ...                  peak_bytes=3.0, capacity_bytes=2.0, breakdown={"weights": 2.0, "activations": 1.0},
        ...                  energy_j=50.0, idle_w=10.0, tdp_w=300.0, throttled_fraction=0.0,
        ...                  shares={"compute": 1.0}, total_flops=1e9, peak_flops_per_s=1e12, op_count=6, devices=1)
        >>> s["bottleneck"], s["memory_shortfall_bytes"], s["average_power_w"], s["utilization"]
        ('memory_capacity', 1.0, 100.0, 0.002)
        >>> tuple(s) == SUMMARY_KEYS
        True
    """
    fits = peak_bytes <= capacity_bytes
    bottleneck = max(shares, key=lambda k: (shares[k], k)) if step_s > 0 else Bound.OVERHEAD.value
    if not fits:
        bottleneck = Bound.CAPACITY.value
    seq = fwd.meta.get("seq_len") if wl.uses_seq_len else None
    return {
        "workload": wl.name, "hardware": hardware, "kind": kind, "mode": sc.mode.value,
        "precision": sc.precision.value, "batch_size": batch_size,
        "seq_len": seq, "image_size": fwd.meta.get("image_size") if wl.uses_image_size else None,
        "step_time_s": step_s, "throughput_samples_per_s": batch_size / step_s if step_s > 0 else 0.0,
        "tokens_per_s": (batch_size * seq / step_s) if seq and step_s > 0 else None,
        "peak_memory_bytes": peak_bytes, "memory_capacity_bytes": capacity_bytes, "fits_in_memory": fits,
        "memory_shortfall_bytes": max(0.0, peak_bytes - capacity_bytes),
        "memory_dominant": max(breakdown, key=lambda k: (breakdown[k], k)),
        "energy_j": energy_j, "average_power_w": energy_j / step_s if step_s > 0 else idle_w,
        "tdp_w": tdp_w, "throttled_fraction": throttled_fraction,
        "bottleneck": bottleneck, "total_flops": total_flops,
        "utilization": total_flops / (step_s * peak_flops_per_s) if step_s > 0 and peak_flops_per_s > 0 else 0.0,
        "parameters": fwd.parameters, "op_count": op_count, "devices": devices,
    }


def _clean(x: Any, where: str = "result") -> Any:
    """``x`` as JSON-ready data; a NaN or infinite number is refused with the key path that holds it.

    Raises:
        ScenarioError: a non-finite number (the inputs overflowed the arithmetic: say which field).

    Example:
        >>> _clean({"energy_j": float("inf")})
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: result.energy_j: inf is not a finite number; the inputs are too large for this model (make them smaller)
    """
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            raise ScenarioError(f"{where}: {x} is not a finite number; the inputs are too large for this model "
                                "(make them smaller)")
        return x
    if isinstance(x, dict):
        return {str(k): _clean(v, f"{where}.{k}") for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v, f"{where}.{i}") for i, v in enumerate(x)]
    return x


def to_json_text(data: Any, indent: int | None = 2) -> str:
    """Strict JSON of ``data`` (sorted keys, ``allow_nan=False``: ``Infinity`` is not JSON).

    Raises:
        ScenarioError: a non-finite number (see :func:`_clean`).

    Example:
        >>> to_json_text({"b": 1.5, "a": None}, indent=None)
        '{"a": null, "b": 1.5}'
    """
    return json.dumps(_clean(data), indent=indent, sort_keys=True, allow_nan=False)


@dataclass(frozen=True)
class SimulationResult:
    """The outcome of one simulated step (a training step or an inference batch).

    Times in s, memory in B, energy in J, power in W. ``bottleneck`` is the category with the largest
    share of busy time (``bottleneck_shares``), or ``memory_capacity`` when the step does not fit.
    ``memory_breakdown`` splits the peak into weights, gradients, optimizer_state, master_weights
    and activations.

    Example:
        >>> import simulator as sim
        >>> r = sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64)
        >>> r.step_time_s > 0 and r.fits_in_memory
        True
    """

    summary: dict[str, Any]
    memory_breakdown: dict[str, float]
    bottleneck_shares: dict[str, float]
    trace: Trace = field(repr=False)
    extra: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        for part in ("summary", "extra"):
            values = self.__dict__.get(part, {})
            if name in values:
                return values[name]
        raise AttributeError(name)

    @property
    def events(self) -> tuple[TraceEvent, ...]:
        """Every recorded interval (ops, transfers, collectives) in event order; times in s.

        Example:
            >>> import simulator as sim
            >>> r = sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64)
            >>> all(e.end_s >= e.start_s for e in r.events)
            True
        """
        return self.trace.events

    @property
    def memory_timeline(self) -> tuple[MemorySample, ...]:
        """Allocated bytes (B) per device over time (s): one sample per change, never above the peak.

        Example:
            >>> import simulator as sim
            >>> r = sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64)
            >>> max(m.bytes for m in r.memory_timeline) == r.peak_memory_bytes
            True
        """
        return self.trace.memory

    @property
    def ops(self):
        """pandas DataFrame, one row per executed op, in start order (see :data:`OPS_COLUMNS`).

        Times in s, ``flops`` in FLOP, ``bytes_moved`` in B, ``energy_j`` in J (dynamic energy only),
        ``bound`` the op's limiting resource; ``compute_cycles`` is set for systolic devices.

        Example:
            >>> import simulator as sim
            >>> ops = sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64).ops
            >>> list(ops.columns[:4])
            ['name', 'op_type', 'phase', 'device']
            >>> bool((ops.duration_s >= 0).all())
            True
        """
        import pandas as pd

        rows = [{"name": e.name, "op_type": e.op_type, "phase": e.phase, "device": e.device, "start_s": e.start_s,
                 "end_s": e.end_s, "duration_s": e.duration_s, "flops": e.flops, "bytes_moved": e.bytes_moved,
                 "bound": e.bound, "energy_j": e.energy_j, "compute_cycles": e.compute_cycles}
                for e in self.trace.events if e.track == "compute"]
        cycles = [r.pop("compute_cycles") for r in rows]
        df = pd.DataFrame(rows, columns=list(OPS_COLUMNS[:-1]))
        # nullable int64 built from the exact integers (not through float64, which rounds above 2^53),
        # unless a count does not fit in 64 bits (10^22 FLOPs on a small array): then Python integers
        fits = all(c is None or abs(c) < 2**63 for c in cycles)
        df["compute_cycles"] = pd.array(cycles, dtype="Int64") if fits else pd.Series(cycles, dtype=object)
        return df

    @property
    def transfers(self):
        """pandas DataFrame of non-compute intervals (weight loads, communication); times s, bytes B.

        Example:
            >>> import simulator as sim
            >>> t = sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64).transfers
            >>> list(t.columns)
            ['name', 'track', 'device', 'start_s', 'end_s', 'bytes_moved']
        """
        import pandas as pd

        rows = [{"name": e.name, "track": e.track, "device": e.device, "start_s": e.start_s, "end_s": e.end_s,
                 "bytes_moved": e.bytes_moved} for e in self.trace.events if e.track != "compute"]
        return pd.DataFrame(rows, columns=["name", "track", "device", "start_s", "end_s", "bytes_moved"])

    @property
    def energy_per_sample_j(self) -> float:
        """Energy of the step divided by the samples it processed (J).

        Example:
            >>> import simulator as sim
            >>> r = sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64)
            >>> abs(r.energy_per_sample_j * 64 - r.energy_j) < 1e-12
            True
        """
        return self.summary["energy_j"] / self.summary["batch_size"] if self.summary["batch_size"] else 0.0

    @property
    def energy_per_token_j(self) -> float | None:
        """Energy per processed token (J) for sequence workloads, else None.

        Example:
            >>> import simulator as sim
            >>> sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64).energy_per_token_j is None
            True
            >>> sim.simulate("gpt2", "nvidia-h100-sxm", batch_size=1, seq_len=128).energy_per_token_j > 0
            True
        """
        seq = self.summary.get("seq_len")
        return self.energy_per_sample_j / seq if seq else None

    @property
    def step_time_band_s(self) -> tuple[float, float] | None:
        """(low, high) step time the validation's error band allows for this device kind, or None.

        The factor is the 80th percentile of the calibration rows' errors for the kind
        (:mod:`simulator.uncertainty`, written by ``make validate``); held-out rows' coverage is in
        ``validation/REPORT.md``. Throughput and energy scale with it (1 / step time, x step time).

        Example:
            >>> import simulator as sim
            >>> r = sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64)
            >>> b = r.step_time_band_s
            >>> b is None or b[0] < r.step_time_s < b[1]
            True
        """
        from .uncertainty import band

        return band(self.summary["step_time_s"], self.summary.get("kind", ""))

    @property
    def power_timeline(self):
        """pandas DataFrame of power over the step, piecewise constant, one block of rows per device.

        Columns: ``device``, ``time_s``/``end_s`` (the interval), ``power_w`` = ``idle_w`` + ``compute_w``
        + ``memory_w`` + ``communication_w``. Each op draws its dynamic energy evenly over its duration;
        transfers and collectives (non-compute tracks) count as communication. An op's energy is split
        between arithmetic and memory traffic in the proportion of the step's ``energy_breakdown_j`` (the
        trace keeps one energy per op). ``idle_w`` is known for single-device results; cluster results
        show dynamic power only (``idle_w`` 0). Integrating ``power_w`` over a single-device step gives
        ``energy_j``.

        Example:
            >>> import simulator as sim
            >>> df = sim.simulate("mlp", "nvidia-t4", batch_size=64).power_timeline
            >>> bool((df.power_w >= df.idle_w).all())
            True
        """
        return power_timeline(self)

    def to_dict(self) -> dict[str, Any]:
        """Summary, memory breakdown and bottleneck shares as plain JSON-ready data (no per-op rows).

        Units as in the key names (``_s``, ``_bytes``, ``_j``, ``_w``).

        Raises:
            ValueError: a NaN or infinite number in the result (never produced by a valid run).

        Example:
            >>> import simulator as sim
            >>> d = sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64).to_dict()
            >>> d["workload"], d["batch_size"], sorted(d["memory_breakdown"])[:2]
            ('mlp', 64, ['activations', 'gradients'])
        """
        out = {k: self.summary[k] for k in self.summary}
        out["memory_breakdown"] = dict(self.memory_breakdown)
        out["bottleneck_shares"] = dict(self.bottleneck_shares)
        out.update(self.extra)
        return _clean(out)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON with sorted keys (byte-identical for identical inputs).

        Raises:
            ValueError: as :meth:`to_dict`.

        Example:
            >>> import json, simulator as sim
            >>> json.loads(sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64).to_json())["hardware"]
            'nvidia-h100-sxm'
        """
        return to_json_text(self.to_dict(), indent)

    def to_chrome_trace(self, path: str | Path) -> Path:
        """Write a Chrome / Perfetto trace of every op, transfer and the memory counter to ``path``.

        Raises:
            OSError: ``path`` cannot be written.

        Example:
            >>> import json, tempfile, pathlib, simulator as sim
            >>> r = sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64)
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     p = r.to_chrome_trace(pathlib.Path(tmp) / "trace.json")
            ...     "traceEvents" in json.loads(p.read_text())
            True
        """
        return write_chrome_trace(path, self.trace.events, self.trace.memory)

    def table(self) -> str:
        """A readable multi-line summary for terminals: three significant digits, units scaled
        (:mod:`simulator.readable`); :meth:`to_json` keeps SI units at full precision.

        Example:
            >>> import simulator as sim
            >>> print(sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64).table())  # doctest: +ELLIPSIS
            mlp on nvidia-h100-sxm (gpu), inference, batch 64, bf16
              step time          ... µs...
            ...
        """
        from .readable import count, joules, nbytes, percent, seconds, sig3, watts
        from .uncertainty import measured

        s = self.summary
        eff = self.extra.get("effective_precision")
        ran = f" (runs as {eff}: the device has no {s['precision']} path)" if eff and eff != s["precision"] else ""
        band = ""
        if b := self.step_time_band_s:
            pooled = "" if measured(s.get("kind", "")) else f", pooled: no {s.get('kind')} rows validated"
            band = f"   (validation band {seconds(b[0])} to {seconds(b[1])}{pooled})"
        fit = "fits" if s["fits_in_memory"] else (f"DOES NOT FIT, short by {nbytes(s['memory_shortfall_bytes'])}, "
                                                  f"dominated by {s['memory_dominant']}")
        lines = [
            f"{s['workload']} on {s['hardware']} ({s['kind']}), {s['mode']}, batch {s['batch_size']}, {s['precision']}{ran}",
            f"  step time          {seconds(s['step_time_s'])}{band}",
            f"  throughput         {count(s['throughput_samples_per_s'])} samples/s"
            + (f", {count(s['tokens_per_s'])} tokens/s" if s.get("tokens_per_s") else ""),
            f"  peak memory        {nbytes(s['peak_memory_bytes'])} of {nbytes(s['memory_capacity_bytes'])}"
            + (" per device" if s.get("devices", 1) > 1 else "") + f" ({fit})",
            f"  energy             {joules(s['energy_j'])}, average power {watts(s['average_power_w'])} "
            f"(TDP {watts(s['tdp_w'])})",
            f"  total FLOPs        {count(s['total_flops'], 'FLOP')}, utilization {percent(s['utilization'])}",
            f"  bottleneck         {s['bottleneck']} ("
            + ", ".join(f"{k} {percent(v)}" for k, v in self.bottleneck_shares.items() if v > 0) + ")",
        ]
        x = self.extra
        if "pipeline_bubble_fraction" in x:
            par = x.get("parallelism", {})
            lines += [
                f"  devices            {s['devices']} (dp {par.get('data')}, tp {par.get('tensor')}, pp "
                f"{par.get('pipeline')}), {x.get('microbatches')} micro-batches, scaling efficiency "
                f"{percent(x['scaling_efficiency'])}",
                f"  idle time          pipeline bubble {percent(x['pipeline_bubble_fraction'])}, exposed communication "
                f"{percent(x['exposed_communication_fraction'])}, other {percent(x['other_idle_fraction'])}",
            ]
        if s.get("throttled_fraction"):
            lines.append(f"  power capped       {percent(s['throttled_fraction'])} of the step ({sig3(s['tdp_w'])} W)")
        return "\n".join(lines)


POWER_COLUMNS = ("device", "time_s", "end_s", "duration_s", "power_w", "idle_w", "compute_w", "memory_w",
                 "communication_w")


def _idle_and_memory_share(r: SimulationResult) -> tuple[float, float]:
    eb = r.extra.get("energy_breakdown_j") or {}
    step = r.summary.get("step_time_s") or 0.0
    levels = sum(v for k, v in eb.items() if k not in ("idle", "compute", "host_link"))
    share = levels / (levels + eb.get("compute", 0.0)) if levels + eb.get("compute", 0.0) > 0 else 0.0
    if r.summary.get("devices", 1) != 1 or step <= 0:
        return 0.0, share
    if "idle" in eb:
        return eb["idle"] / step, share
    dynamic = sum(e.energy_j for e in r.trace.events)
    return max(0.0, (r.summary["energy_j"] - dynamic) / step), share


def power_timeline(r: SimulationResult):
    """See :attr:`SimulationResult.power_timeline`: power (W) over the step (s) of result ``r``.

    Example:
        >>> import simulator as sim
        >>> df = power_timeline(sim.simulate("mlp", "nvidia-t4", batch_size=64))
        >>> list(df.columns[:5])
        ['device', 'time_s', 'end_s', 'duration_s', 'power_w']
    """
    import pandas as pd

    idle, mem_share = _idle_and_memory_share(r)
    end = r.summary.get("step_time_s") or r.trace.end_s
    rows: list[dict[str, Any]] = []
    for dev in sorted({e.device for e in r.trace.events}):
        deltas: dict[float, list[float]] = {0.0: [0.0, 0.0], end: [0.0, 0.0]}
        for e in r.trace.events:
            if e.device != dev or e.duration_s <= 0 or e.energy_j <= 0:
                continue
            col = 0 if e.track == "compute" else 1
            p = e.energy_j / e.duration_s
            deltas.setdefault(e.start_s, [0.0, 0.0])[col] += p
            deltas.setdefault(e.end_s, [0.0, 0.0])[col] -= p
        times = sorted(deltas)
        level = [0.0, 0.0]
        for t0, t1 in zip(times, times[1:]):
            level = [level[0] + deltas[t0][0], level[1] + deltas[t0][1]]
            comp, comm = max(0.0, level[0]), max(0.0, level[1])
            rows.append({"device": dev, "time_s": t0, "end_s": t1, "duration_s": t1 - t0,
                         "power_w": idle + comp + comm, "idle_w": idle, "compute_w": comp * (1 - mem_share),
                         "memory_w": comp * mem_share, "communication_w": comm})
    return pd.DataFrame(rows, columns=list(POWER_COLUMNS))
