"""SimulationResult: the summary, per-op table, memory timeline and bottleneck, built from a Trace by pure code."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .trace import MemorySample, Trace, TraceEvent, write_chrome_trace

SUMMARY_KEYS = ("workload", "hardware", "kind", "mode", "precision", "batch_size", "seq_len", "image_size",
                "step_time_s", "throughput_samples_per_s", "tokens_per_s", "peak_memory_bytes",
                "memory_capacity_bytes", "fits_in_memory", "memory_shortfall_bytes", "memory_dominant",
                "energy_j", "average_power_w", "tdp_w", "throttled_fraction", "bottleneck", "total_flops",
                "utilization", "parameters", "op_count", "devices")

OPS_COLUMNS = ("name", "op_type", "phase", "device", "start_s", "end_s", "duration_s", "flops", "bytes_moved",
               "bound", "energy_j", "compute_cycles")


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            raise ValueError("non-finite number in a result")
        return x
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


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
        return self.trace.events

    @property
    def memory_timeline(self) -> tuple[MemorySample, ...]:
        return self.trace.memory

    @property
    def ops(self):
        """pandas DataFrame, one row per executed op, in start order (see :data:`OPS_COLUMNS`)."""
        import pandas as pd

        rows = [{"name": e.name, "op_type": e.op_type, "phase": e.phase, "device": e.device, "start_s": e.start_s,
                 "end_s": e.end_s, "duration_s": e.duration_s, "flops": e.flops, "bytes_moved": e.bytes_moved,
                 "bound": e.bound, "energy_j": e.energy_j, "compute_cycles": e.compute_cycles}
                for e in self.trace.events if e.track == "compute"]
        df = pd.DataFrame(rows, columns=list(OPS_COLUMNS))
        df["compute_cycles"] = df["compute_cycles"].astype("Int64")
        return df

    @property
    def transfers(self):
        """pandas DataFrame of non-compute intervals (weight loads, communication)."""
        import pandas as pd

        rows = [{"name": e.name, "track": e.track, "device": e.device, "start_s": e.start_s, "end_s": e.end_s,
                 "bytes_moved": e.bytes_moved} for e in self.trace.events if e.track != "compute"]
        return pd.DataFrame(rows, columns=["name", "track", "device", "start_s", "end_s", "bytes_moved"])

    def to_dict(self) -> dict[str, Any]:
        """Summary, memory breakdown and bottleneck shares as plain JSON-ready data (no per-op rows)."""
        out = {k: self.summary[k] for k in self.summary}
        out["memory_breakdown"] = dict(self.memory_breakdown)
        out["bottleneck_shares"] = dict(self.bottleneck_shares)
        out.update(self.extra)
        return _clean(out)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON with sorted keys (byte-identical for identical inputs)."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    def to_chrome_trace(self, path: str | Path) -> Path:
        """Write a Chrome / Perfetto trace of every op, transfer and the memory counter to ``path``."""
        return write_chrome_trace(path, self.trace.events, self.trace.memory)

    def table(self) -> str:
        """A readable multi-line summary for terminals."""
        s = self.summary
        gib = 1024**3
        lines = [
            f"{s['workload']} on {s['hardware']} ({s['kind']}), {s['mode']}, batch {s['batch_size']}, {s['precision']}",
            f"  step time          {s['step_time_s'] * 1e3:12.3f} ms",
            f"  throughput         {s['throughput_samples_per_s']:12.2f} samples/s",
            f"  peak memory        {s['peak_memory_bytes'] / gib:12.3f} GiB of {s['memory_capacity_bytes'] / gib:.3f} GiB"
            f" ({'fits' if s['fits_in_memory'] else 'DOES NOT FIT, short by %.3f GiB, dominated by %s' % (s['memory_shortfall_bytes'] / gib, s['memory_dominant'])})",
            f"  energy             {s['energy_j']:12.4f} J   average power {s['average_power_w']:.1f} W (TDP {s['tdp_w']:.0f} W)",
            f"  total FLOPs        {s['total_flops']:12.4e}   utilization {s['utilization'] * 100:.1f}%",
            f"  bottleneck         {s['bottleneck']}  ("
            + ", ".join(f"{k} {v * 100:.0f}%" for k, v in self.bottleneck_shares.items() if v > 0) + ")",
        ]
        return "\n".join(lines)
