"""Real-time streams: periodic frames (cameras, sensors) on one device, deadline misses and jitter.

A stream ``{"workload": "yolov5s", "fps": 30, "count": 8}`` is 8 independent sources each releasing one
frame every 1/30 s; each source's first frame comes at a phase drawn uniformly in [0, period) from
``numpy.random.default_rng(seed)`` (``phases="random"``) or at t = 0 for all (``phases="aligned"``, the
critical instant, the worst case for fixed periods). Each frame is one batch-1 inference whose time comes
from :func:`simulator.simulate`. The device runs frames non-preemptively under EDF (default) or FIFO
(:mod:`simulator.engine.realtime`). The relative deadline is ``deadline_ms`` or, by default, each
stream's frame period. ``jitter_s`` is the standard deviation of a stream's latency (release to finish).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..deadline import check, make_deadline
from ..engine.realtime import SCHEDULERS, Job, run_periodic
from ..cost.dispatch import resolve_precision
from ..errors import InfeasibleError, ScenarioError
from ..result import _clean, to_json_text
from ..run.device import require_device, run_scenario
from ..scenario import check_seed, make_scenario
from ..spec.loader import list_hardware, load_hardware
from ..workload.loader import load_workload

__all__ = ["realtime", "smallest_device", "RealtimeResult"]

MAX_FRAMES = 2_000_000
MAX_STREAMS = 1000


@dataclass(frozen=True)
class RealtimeResult:
    """Per-stream deadline misses, worst-case and mean latency, jitter (s); device utilization.

    ``meets_deadlines`` is True when no frame of any stream finished after its deadline.

    Example:
        >>> r = realtime([{"workload": "mlp", "fps": 100, "count": 2}], "nvidia-t4", duration_s=1)
        >>> r.meets_deadlines and r.streams[0]["frames"] == 200
        True
    """

    hardware: str
    scheduler: str
    duration_s: float
    utilization: float
    meets_deadlines: bool
    deadline_misses: int
    frames: int
    tdp_w: float
    streams: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return _clean({k: getattr(self, k) for k in self.__dataclass_fields__})

    def to_json(self, indent: int | None = 2) -> str:
        return to_json_text(self.to_dict(), indent)

    def table(self) -> str:
        """A readable summary, one line per stream (three significant digits; :mod:`simulator.readable`)."""
        from ..readable import percent, seconds, sig3

        lines = [f"{self.hardware} ({self.scheduler}, {sig3(self.duration_s)} s): utilization "
                 f"{percent(self.utilization)}, {self.deadline_misses} of {self.frames} frames late"]
        for s in self.streams:
            lines.append(f"  {s['workload']:14s} {sig3(s['fps']):>6s} fps x{s['count']:<3d} service "
                         f"{seconds(s['service_s']):>9s}  deadline {seconds(s['deadline_s']):>9s}  misses "
                         f"{s['deadline_misses']:6d}  worst {seconds(s['worst_latency_s']):>9s}  "
                         f"jitter {seconds(s['jitter_s'])}")
        return "\n".join(lines)


def _check_streams(streams: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(streams, (list, tuple)) or not streams:
        raise ScenarioError("streams: expected a non-empty list of {'workload', 'fps', 'count'} dicts")
    if len(streams) > MAX_STREAMS:
        raise ScenarioError(f"streams: at most {MAX_STREAMS} streams, got {len(streams)}")
    out = []
    for k, s in enumerate(streams):
        if not isinstance(s, Mapping):
            raise ScenarioError(f"streams[{k}]: expected a dict, got {s!r}")
        extra = set(s) - {"workload", "fps", "count", "deadline_ms", "image_size", "seq_len"}
        if extra or "workload" not in s or "fps" not in s:
            raise ScenarioError(f"streams[{k}]: needs 'workload' and 'fps'; unknown keys {sorted(extra)}")
        fps, count = s["fps"], s.get("count", 1)
        if not isinstance(fps, (int, float)) or isinstance(fps, bool) or not (0 < fps <= 1e6) or not math.isfinite(fps):
            raise ScenarioError(f"streams[{k}].fps: must be a positive number, got {fps!r}")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10_000:
            raise ScenarioError(f"streams[{k}].count: must be an integer in 1..10000, got {count!r}")
        dl = s.get("deadline_ms")
        if dl is not None and not (isinstance(dl, (int, float)) and not isinstance(dl, bool) and 0 < dl <= 1e9):
            raise ScenarioError(f"streams[{k}].deadline_ms: must be a positive number up to 1e9, got {dl!r}")
        out.append({**s, "fps": float(fps), "count": count})
    return out


def realtime(streams: Sequence[Mapping[str, Any]], hardware, *, deadline_ms: float | None = None,
             duration_s: float = 10.0, seed: int = 0, scheduler: str = "edf", phases: str = "random",
             precision: str | None = None, time_limit_s: float | None = None) -> RealtimeResult:
    """Run periodic ``streams`` on one ``hardware`` device for ``duration_s`` of releases.

    ``time_limit_s`` bounds the wall time of the call, loading included (None: none).

    Raises:
        InputError: bad streams (at most :data:`MAX_STREAMS`, :data:`MAX_FRAMES` frames in all),
            scheduler, phases, duration or deadline.
        SimulationTimeout: the call went past ``time_limit_s``.
        InfeasibleError: the device cannot run a workload at this precision.
    """
    limit = make_deadline(time_limit_s)
    ss = _check_streams(streams)
    if scheduler not in SCHEDULERS:
        raise ScenarioError(f"scheduler: unknown {scheduler!r}; choose edf or fifo")
    if phases not in ("random", "aligned"):
        raise ScenarioError(f"phases: unknown {phases!r}; choose random or aligned")
    if not isinstance(duration_s, (int, float)) or isinstance(duration_s, bool) or not 0 < duration_s <= 1e5:
        raise ScenarioError(f"duration_s: must be a positive number of seconds, got {duration_s!r}")
    if deadline_ms is not None and not (isinstance(deadline_ms, (int, float)) and not isinstance(deadline_ms, bool)
                                        and 0 < deadline_ms <= 1e9):
        raise ScenarioError(f"deadline_ms: must be a positive number, got {deadline_ms!r}")
    if sum(s["fps"] * s["count"] for s in ss) * duration_s > MAX_FRAMES:
        raise ScenarioError(f"streams: more than {MAX_FRAMES} frames in {duration_s} s; shorten duration_s")
    check_seed(seed)
    hw = load_hardware(hardware)
    require_device(hw)
    precision = resolve_precision(hw, precision)  # None: the device's native format
    rng = np.random.default_rng(seed)
    service: dict[tuple, float] = {}
    jobs: list[Job] = []
    for k, s in enumerate(ss):
        shape = {key: s[key] for key in ("image_size", "seq_len") if key in s}
        key = (s["workload"], tuple(sorted(shape.items())))
        if key not in service:
            sc = make_scenario(batch_size=1, precision=precision, **shape)
            r = run_scenario(load_workload(s["workload"]), hw, sc, deadline=limit)
            service[key] = r.step_time_s
        s["service_s"] = service[key]
        period = 1.0 / s["fps"]
        rel = s.get("deadline_ms", deadline_ms)
        s["deadline_s"] = rel * 1e-3 if rel is not None else period
        for _ in range(s["count"]):
            phase = float(rng.uniform(0.0, period)) if phases == "random" else 0.0
            t = phase
            while t < duration_s:
                jobs.append(Job(release_s=t, deadline_s=t + s["deadline_s"], stream=k, service_s=s["service_s"]))
                t += period
            check(limit, "releasing the frames")
    jobs.sort(key=lambda j: (j.release_s, j.stream))
    times = run_periodic(jobs, scheduler=scheduler, deadline=limit)
    return _reduce(ss, jobs, times, hw, scheduler, duration_s)


def _reduce(ss, jobs, times, hw, scheduler, duration_s) -> RealtimeResult:
    rel = np.array([j.release_s for j in jobs])
    dl = np.array([j.deadline_s for j in jobs])
    fin = np.asarray(times.finish_s)
    stream = np.array([j.stream for j in jobs])
    lat = fin - rel
    late = fin > dl + 1e-12
    rows = []
    for k, s in enumerate(ss):
        m = stream == k
        lk = lat[m]
        rows.append({"workload": s["workload"], "fps": s["fps"], "count": s["count"], "service_s": s["service_s"],
                     "deadline_s": s["deadline_s"], "frames": int(m.sum()), "deadline_misses": int(late[m].sum()),
                     "miss_rate": float(late[m].mean()) if m.any() else 0.0,
                     "worst_latency_s": float(lk.max()) if m.any() else 0.0,
                     "mean_latency_s": float(lk.mean()) if m.any() else 0.0,
                     "p99_latency_s": float(np.percentile(lk, 99)) if m.any() else 0.0,
                     "jitter_s": float(lk.std()) if m.any() else 0.0})
    util = sum(s["fps"] * s["count"] * s["service_s"] for s in ss)
    misses = int(late.sum())
    return RealtimeResult(hardware=hw.name, scheduler=scheduler, duration_s=float(duration_s), utilization=util,
                          meets_deadlines=misses == 0, deadline_misses=misses, frames=len(jobs),
                          tdp_w=hw.power.tdp_w, streams=tuple(rows))


def smallest_device(streams: Sequence[Mapping[str, Any]], candidates: Sequence[str] | None = None,
                    **kwargs: Any) -> RealtimeResult | None:
    """The lowest-TDP device among ``candidates`` (default: every catalogued single device) that meets
    every deadline; ties by purchase price then name. Returns its :class:`RealtimeResult`, or None.

    Devices that cannot run a workload at the precision are skipped. ``kwargs`` go to :func:`realtime`.

    Example:
        >>> r = smallest_device([{"workload": "mlp", "fps": 30}], ["nvidia-h100-sxm", "nvidia-t4"])
        >>> r.hardware
        'nvidia-t4'
    """

    names = list(candidates) if candidates is not None else [h["name"] for h in list_hardware()
                                                               if h["kind"] in ("cpu", "gpu", "tpu", "fpga", "asic")]
    specs = [load_hardware(n) for n in names]

    def rank(h):
        price = h.price.purchase_usd if h.price and h.price.purchase_usd is not None else math.inf
        return (h.power.tdp_w, price, h.name)

    for h in sorted((h for h in specs if hasattr(h, "power")), key=rank):
        try:
            r = realtime(streams, h, **kwargs)
        except InfeasibleError:
            continue
        if r.meets_deadlines:
            return r
    return None
