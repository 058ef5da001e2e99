"""What the engine records: one frozen event per executed op or transfer, and memory samples.

``to_chrome_trace`` writes the Trace Event Format that Perfetto and chrome://tracing open.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from operator import itemgetter
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


class Records(Sequence):
    """A tuple of frozen records (:class:`TraceEvent`, :class:`MemorySample`) kept as tuples of their
    fields until one is read: a run records thousands that a summary or a sweep point never looks
    at one by one, and building them costs more than running the step (:func:`fields_of` reads the
    fields without building them). Compares equal to the tuple of the same records.

    Example:
        >>> r = Records(MemorySample, [(0.0, "gpu:0", 8.0), (1.0, "gpu:0", 4.0)])
        >>> len(r), r[1].bytes, [b for b, in fields_of(r, "bytes")]
        (2, 4.0, [8.0, 4.0])
        >>> r == (MemorySample(0.0, "gpu:0", 8.0), MemorySample(1.0, "gpu:0", 4.0))
        True
    """

    __slots__ = ("kind", "_rows", "_made")

    def __init__(self, kind: type, rows: list[tuple]) -> None:
        self.kind = kind
        self._rows = rows
        self._made: tuple | None = None

    def _all(self) -> tuple:
        if self._made is None:
            kind = self.kind
            self._made = tuple(kind(*r) for r in self._rows)
        return self._made

    def rows(self) -> list[tuple] | None:
        """The field tuples, in order, while no record has been built (None after)."""
        return self._rows if self._made is None else None

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i):
        return self._all()[i]

    def __iter__(self):
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Records, tuple)):
            return self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __add__(self, other) -> tuple:
        return self._all() + tuple(other)

    def __radd__(self, other) -> tuple:
        return tuple(other) + self._all()

    def __repr__(self) -> str:
        return repr(self._all())


def fields_of(records: Sequence, *names: str):
    """Tuples of the fields ``names`` of each record, in order; read from a :class:`Records`' rows
    without building its records.

    Example:
        >>> e = TraceEvent("fc1", "matmul", "forward", "gpu:0", "compute", start_s=0.0, end_s=2e-3, flops=5.0)
        >>> list(fields_of([e], "flops", "end_s")), list(fields_of(Records(TraceEvent, [tuple(vars(e).values())]), "flops"))
        ([(5.0, 0.002)], [(5.0,)])
    """
    rows = records.rows() if isinstance(records, Records) else None
    if rows is not None:
        index = [_FIELD_INDEX[records.kind][n] for n in names]
        return map(itemgetter(*index), rows) if len(index) > 1 else zip(map(itemgetter(index[0]), rows))
    return (tuple(getattr(x, n) for n in names) for x in records)


@dataclass(frozen=True)
class Trace:
    """Everything one simulated run recorded, in event order; ``end_s`` in s, ``peak_bytes`` in B.

    ``events`` and ``memory`` are tuples, or :class:`Records` (which read and compare as tuples).

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


_FIELD_INDEX = {kind: {f.name: i for i, f in enumerate(fields(kind))} for kind in (TraceEvent, MemorySample)}


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
