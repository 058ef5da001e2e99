"""A ledger of allocations and frees over simulated time: current use, peak, and samples."""
from __future__ import annotations

from ..trace import MemorySample


class MemoryLedger:
    """Tracks bytes allocated on one device; ``static_bytes`` are resident for the whole run.

    Example:
        >>> m = MemoryLedger("gpu0", static_bytes=10)
        >>> m.alloc(0.0, 5); m.free(1.0, 5); m.peak
        15.0
    """

    def __init__(self, device: str, *, static_bytes: float) -> None:
        self.device = device
        self.current = float(static_bytes)
        self.peak = float(static_bytes)
        self.peak_time_s = 0.0
        self.samples: list[MemorySample] = [MemorySample(0.0, device, self.current)]

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
        if self.samples and self.samples[-1].time_s == t:
            self.samples[-1] = MemorySample(t, self.device, self.current)
        else:
            self.samples.append(MemorySample(t, self.device, self.current))
