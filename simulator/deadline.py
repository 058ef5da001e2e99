"""Wall-time limits on a call: :class:`Deadline` (checked cooperatively in every loop whose length the
user controls) and :func:`hard_time_limit` (a process-level backstop for the CLI and sweep workers).

Every run command and API call takes ``time_limit_s``; the CLI's default is
:data:`DEFAULT_TIME_LIMIT_S`. A run past its limit raises :class:`~simulator.errors.SimulationTimeout`
(an ``InputError``: CLI exit 2) naming the limit and the phase it stopped in. Cooperative checks sit
in the engines' event loops (every 1,024 events), between op costs, between decode steps, serving
service-time probes, capacity probes and sweep points; loading and graph building are bounded by
the input limits (file sizes, node and op counts) and checked after.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from .errors import ScenarioError, SimulationTimeout

__all__ = ["Deadline", "make_deadline", "hard_time_limit", "disarm_hard_limit", "DEFAULT_TIME_LIMIT_S",
           "MAX_TIME_LIMIT_S"]

DEFAULT_TIME_LIMIT_S = 600.0  # the CLI's default: ten minutes per command (per point in a sweep)
MAX_TIME_LIMIT_S = 1e6  # about 11.5 days
HARD_LIMIT_GRACE_S = 0.5  # the backstop fires this long after the limit, if no cooperative check did


@dataclass(frozen=True)
class Deadline:
    """A wall-clock limit on a run: ``at`` is a :func:`time.perf_counter` value, ``limit_s`` the limit as given.

    Example:
        >>> Deadline.after(60.0).expired()
        False
    """

    at: float
    limit_s: float

    @classmethod
    def after(cls, limit_s: float) -> "Deadline":
        """The deadline ``limit_s`` seconds (wall clock) from now."""
        return cls(at=time.perf_counter() + limit_s, limit_s=limit_s)

    def expired(self) -> bool:
        """True once the wall clock is past ``at``."""
        return time.perf_counter() > self.at

    def remaining_s(self) -> float:
        """Seconds left (0 once expired)."""
        return max(0.0, self.at - time.perf_counter())

    def check(self, phase: str) -> None:
        """Raise :class:`SimulationTimeout` naming ``phase`` if the deadline has passed.

        Raises:
            SimulationTimeout: the deadline has passed.

        Example:
            >>> Deadline(at=0.0, limit_s=0.5).check("building the graph")
            Traceback (most recent call last):
            ...
            simulator.errors.SimulationTimeout: time_limit_s: the simulation took longer than the limit of 0.5 s (stopped while building the graph)
        """
        if self.expired():
            raise SimulationTimeout(self.limit_s, phase)


def check_limit(time_limit_s: Any) -> float | None:
    """Validate a ``time_limit_s`` argument: None or a number of seconds in (0, :data:`MAX_TIME_LIMIT_S`].

    Raises:
        ScenarioError: anything else.

    Example:
        >>> check_limit(0)
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: time_limit_s: must be a number of seconds in (0, 1e+06], got 0
    """
    if time_limit_s is None:
        return None
    if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float)) or \
            not (math.isfinite(time_limit_s) and 0 < time_limit_s <= MAX_TIME_LIMIT_S):
        raise ScenarioError(f"time_limit_s: must be a number of seconds in (0, {MAX_TIME_LIMIT_S:g}], "
                            f"got {time_limit_s!r}")
    return float(time_limit_s)


def make_deadline(time_limit_s: float | None) -> Deadline | None:
    """The :class:`Deadline` of a ``time_limit_s`` argument (None: no limit), starting now.

    Raises:
        ScenarioError: not a positive, finite number of seconds up to :data:`MAX_TIME_LIMIT_S`.

    Example:
        >>> make_deadline(None) is None, make_deadline(60.0) is not None
        (True, True)
    """
    limit = check_limit(time_limit_s)
    return None if limit is None else Deadline.after(limit)


def check(deadline: Deadline | None, phase: str) -> None:
    """``deadline.check(phase)`` when there is a deadline (a no-op for None).

    Raises:
        SimulationTimeout: the deadline has passed.
    """
    if deadline is not None:
        deadline.check(phase)


@contextmanager
def hard_time_limit(time_limit_s: float | None, phase: str = "running the command") -> Iterator[None]:
    """Backstop: raise :class:`SimulationTimeout` from a timer signal once ``time_limit_s`` (+ 0.5 s) passed.

    For code paths without a cooperative check (a long C call returns, then the signal is handled).
    Only armed on the main thread of a process whose SIGALRM is not already in use (the CLI, a sweep's
    pool worker); elsewhere (a web server's thread, a Dask worker) it does nothing and the cooperative
    checks are the limit. The timer repeats every second until the block is left, in case the first
    exception is swallowed by a ``finally`` that ignores errors.

    Example:
        >>> with hard_time_limit(None):
        ...     pass
    """
    usable = (time_limit_s is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread()
              and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None))
    if not usable:
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise SimulationTimeout(float(time_limit_s), phase)

    fire.accsim_limit = True  # type: ignore[attr-defined]  # lets disarm_hard_limit recognise it

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, float(time_limit_s) + HARD_LIMIT_GRACE_S, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def disarm_hard_limit() -> None:
    """Stop a :func:`hard_time_limit` timer now: the command's work is done and its answer is being
    printed (an answer followed by a time-limit error would be both). A no-op when none is armed.

    Example:
        >>> disarm_hard_limit()
    """
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread() \
            and getattr(signal.getsignal(signal.SIGALRM), "accsim_limit", False):
        signal.setitimer(signal.ITIMER_REAL, 0.0)
