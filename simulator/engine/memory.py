"""A ledger of allocations and frees over simulated time: current use, peak, and samples."""
from __future__ import annotations

from itertools import repeat

from ..trace import MemorySample, Records


class MemoryLedger:
    """Tracks bytes allocated on one device; ``static_bytes`` are resident for the whole run.

    Samples are kept as two plain lists (a run changes its memory twice per op) and become
    :class:`~simulator.trace.MemorySample` records when read (:attr:`samples`, :meth:`records`).

    Example:
        >>> m = MemoryLedger("gpu0", static_bytes=10)
        >>> m.alloc(0.0, 5); m.free(1.0, 5); m.peak
        15.0
        >>> [(x.time_s, x.bytes) for x in m.samples]
        [(0.0, 15.0), (1.0, 10.0)]
    """

    def __init__(self, device: str, *, static_bytes: float) -> None:
        self.device = device
        self.current = float(static_bytes)
        self.peak = float(static_bytes)
        self.peak_time_s = 0.0
        self._times: list[float] = [0.0]
        self._bytes: list[float] = [self.current]

    def alloc(self, t: float, nbytes: float) -> None:
        """Allocate ``nbytes`` (B) at simulated time ``t`` (s); non-positive sizes are ignored."""
        if nbytes <= 0:
            return
        self.current += nbytes
        if self.current > self.peak:
            self.peak, self.peak_time_s = self.current, t
        self._sample(t)

    def free(self, t: float, nbytes: float) -> None:
        """Free ``nbytes`` (B) at simulated time ``t`` (s); non-positive sizes are ignored."""
        if nbytes <= 0:
            return
        self.current -= nbytes
        self._sample(t)

    def _sample(self, t: float) -> None:
        # one sample per instant: a later change at the same time replaces it (time included)
        if self._times[-1] == t:
            self._times[-1], self._bytes[-1] = t, self.current
        else:
            self._times.append(t)
            self._bytes.append(self.current)

    @property
    def samples(self) -> list[MemorySample]:
        """Bytes allocated from each sample's time on, one sample per change (a fresh list)."""
        return [MemorySample(t, self.device, b) for t, b in zip(self._times, self._bytes)]

    def records(self) -> Records:
        """:attr:`samples` as :class:`~simulator.trace.Records` (built only when read)."""
        return Records(MemorySample, list(zip(self._times, repeat(self.device), self._bytes)))
