"""What the engine records: one frozen event per executed op or transfer, and memory samples.

``to_chrome_trace`` writes the Trace Event Format that Perfetto and chrome://tracing open.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TraceEvent:
    """One interval on one device's track. Times in s, bytes in B, energy in J.

    ``track`` is ``compute`` for ops, else the link or transfer stream; ``compute_cycles`` is set by
    systolic cost models; ``throttled_s`` is the part of the interval added by a power cap.

    Example:
        >>> e = TraceEvent(name="fc1", op_type="matmul", phase="forward", device="gpu:0", track="compute",
        ...                start_s=0.5, end_s=0.75, flops=1e9)
        >>> e.duration_s
        0.25
    """

    name: str
    op_type: str
    phase: str
    device: str
    track: str
    start_s: float
    end_s: float
    flops: float = 0.0
    bytes_moved: float = 0.0
    bound: str = ""
    energy_j: float = 0.0
    compute_cycles: int | None = None
    throttled_s: float = 0.0

    @property
    def duration_s(self) -> float:
        """``end_s - start_s`` in s."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class MemorySample:
    """Bytes (B) allocated on ``device`` from ``time_s`` (s) on.

    Example:
        >>> MemorySample(time_s=0.0, device="gpu:0", bytes=2**30).bytes
        1073741824
    """

    time_s: float
    device: str
    bytes: float


@dataclass(frozen=True)
class Trace:
    """Everything one simulated run recorded, in event order; ``end_s`` in s, ``peak_bytes`` in B.

    Example:
        >>> t = Trace(events=(), memory=(MemorySample(0.0, "gpu:0", 8.0),), end_s=0.0, peak_bytes=8.0)
        >>> t.peak_bytes
        8.0
    """

    events: tuple[TraceEvent, ...]
    memory: tuple[MemorySample, ...]
    end_s: float
    peak_bytes: float
    meta: dict = field(default_factory=dict)


def chrome_trace(events: tuple[TraceEvent, ...] | list[TraceEvent], memory: tuple[MemorySample, ...] = ()) -> dict:
    """The Trace Event Format object (``{"traceEvents": [...]}``), times in microseconds.

    One process per device, one thread per track, a ``memory_bytes`` counter per device.

    Example:
        >>> e = TraceEvent("fc1", "matmul", "forward", "gpu:0", "compute", start_s=0.0, end_s=2e-3)
        >>> [x["dur"] for x in chrome_trace([e])["traceEvents"] if x["ph"] == "X"]
        [2000.0]
    """
    devices = sorted({e.device for e in events} | {m.device for m in memory})
    pid = {d: i + 1 for i, d in enumerate(devices)}
    tracks = sorted({(e.device, e.track) for e in events})
    tid = {t: i + 1 for i, t in enumerate(tracks)}
    out: list[dict] = []
    for d in devices:
        out.append({"ph": "M", "name": "process_name", "pid": pid[d], "tid": 0, "args": {"name": d}})
    for (d, tr), i in tid.items():
        out.append({"ph": "M", "name": "thread_name", "pid": pid[d], "tid": i, "args": {"name": tr}})
    for e in events:
        out.append({"ph": "X", "name": e.name, "cat": e.op_type, "pid": pid[e.device], "tid": tid[(e.device, e.track)],
                    "ts": e.start_s * 1e6, "dur": max(0.0, e.duration_s) * 1e6,
                    "args": {"phase": e.phase, "flops": e.flops, "bytes": e.bytes_moved, "bound": e.bound,
                             "energy_j": e.energy_j}})
    for m in memory:
        out.append({"ph": "C", "name": "memory_bytes", "pid": pid[m.device], "ts": m.time_s * 1e6,
                    "args": {"bytes": m.bytes}})
    return {"traceEvents": out, "displayTimeUnit": "ms"}


def write_chrome_trace(path: str | Path, events, memory=()) -> Path:
    """Write :func:`chrome_trace` to ``path`` as JSON; returns the path.

    Raises:
        OSError: ``path`` cannot be written.

    Example:
        >>> import json, tempfile
        >>> e = TraceEvent("fc1", "matmul", "forward", "gpu:0", "compute", start_s=0.0, end_s=1e-3)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     p = write_chrome_trace(Path(tmp) / "t.json", [e])
        ...     len(json.loads(p.read_text())["traceEvents"])
        3
    """
    p = Path(path)
    p.write_text(json.dumps(chrome_trace(events, memory), separators=(",", ":")))
    return p
