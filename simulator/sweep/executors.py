"""Where a sweep's points run, and how that never outlives its parent or hangs on a lost cluster.

* The local pool (:func:`own_executor`): worker processes that ignore Ctrl-C (the parent decides) and
  die with their parent: on Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` asks the kernel to kill each
  worker when the process that started it exits, and on every platform a watchdog thread in each
  worker polls its parent twice a second and exits when it is gone (``kill -9`` of the sweep, a
  killed forkserver). :func:`stop_pool` terminates the workers of an interrupted sweep at once.
* Any :class:`concurrent.futures.Executor` or a ``distributed.Client`` (:func:`as_executor`);
  :func:`execute` polls it and gives up with one :class:`~simulator.errors.InputError` when a Dask
  client has lost its scheduler for :data:`SCHEDULER_GRACE_S` (finished points are already stored).
"""
from __future__ import annotations

import ctypes
import functools
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from typing import Any, Callable

from ..errors import InputError
from .store import PointOutcome, canonical_json

__all__ = ["own_executor", "as_executor", "execute", "chunks", "stop_pool", "SCHEDULER_GRACE_S"]

SCHEDULER_GRACE_S = 20.0  # a Dask client reconnecting to its scheduler for longer than this: lost
POLL_S = 0.5  # how often a waiting sweep and a worker's watchdog look up


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _watch_parent(start_ppid: int, sweep_pid: int) -> None:
    while True:
        time.sleep(POLL_S)
        if os.getppid() != start_ppid or not _alive(sweep_pid):
            os._exit(1)  # orphaned: nothing to report to, nothing to clean up (the parent owns the store)


def worker_init(sweep_pid: int) -> None:
    """Pool-worker initializer: ignore SIGINT, die with the parent (see the module docstring).

    ``sweep_pid`` is the sweep's process; a worker's own parent may be a forkserver started by it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    # a forked worker inherits the CLI's SIGTERM handler (raise KeyboardInterrupt); stop_pool's terminate
    # would then print the worker's traceback under the parent's one-line "interrupted" message
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:
            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the watchdog alone
            pass
    start = os.getppid()
    if not _alive(sweep_pid) or start == 1:  # the parent died before this worker got going
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(start, sweep_pid), name="accsim-parent-watchdog",
                     daemon=True).start()


def own_executor(workers: int) -> ProcessPoolExecutor:
    """A local pool of ``workers`` processes that die with this one (see :func:`worker_init`)."""
    # fork is fastest (workers inherit the imported simulator) but unsafe once the parent runs threads
    # (a Dask client, a thread pool): then start workers from a clean forkserver process instead.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        method = "fork"
        from ..run import step  # noqa: F401  (imported once here, inherited by every forked worker)
    else:
        method = "forkserver" if "forkserver" in methods else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                               initializer=worker_init, initargs=(os.getpid(),))


def stop_pool(ex: ProcessPoolExecutor) -> None:
    """Stop an interrupted sweep's pool now: cancel what waits, terminate the running workers."""
    procs = list((getattr(ex, "_processes", None) or {}).values())  # read before shutdown forgets them
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        try:
            proc.terminate()
        except (OSError, ValueError, AttributeError):
            pass


def as_executor(executor: Any) -> Executor:
    """Accept a ``distributed.Client`` for convenience: use its concurrent.futures view.

    Raises:
        InputError: not an executor.
    """
    if type(executor).__module__.startswith("distributed") and hasattr(executor, "get_executor"):
        return executor.get_executor()
    if not isinstance(executor, Executor) and not hasattr(executor, "submit"):
        raise InputError(f"executor: expected a concurrent.futures.Executor or distributed.Client, got {executor!r}")
    return executor


def _liveness(executor: Executor) -> Callable[[], str | None]:
    """A check that returns why ``executor`` can no longer run points (None while it can)."""
    client = getattr(executor, "_client", None)  # distributed's ClientExecutor
    if client is None or not hasattr(client, "status"):
        return lambda: None
    lost_since: list[float] = []

    def check() -> str | None:
        status = str(getattr(client, "status", "running"))
        if status == "running":
            lost_since.clear()
            return None
        if status in ("closed", "closing", "failed"):
            return f"the Dask client is {status} (scheduler lost)"
        lost_since.append(lost_since[0] if lost_since else time.monotonic())
        waited = time.monotonic() - lost_since[0]
        return f"the Dask scheduler is unreachable ({status} for {waited:.0f} s)" if waited > SCHEDULER_GRACE_S \
            else None
    return check


def chunks(todo: list[tuple[str, dict[str, Any]]], size: int) -> list[list[tuple[str, dict[str, Any]]]]:
    """``todo`` (key, point) grouped by device (hardware and overrides) then by graph (workload,
    mode, shape), cut into chunks of at most ``size``: a worker validates a device's spec once and
    runs its points on graphs it has built. Results do not depend on the order.

    Example:
        >>> pts = [(str(i), {"hardware": h, "overrides": {}, "workload": "mlp", "batch_size": b})
        ...        for i, (h, b) in enumerate([("a", 2), ("b", 1), ("a", 1)])]
        >>> [[k for k, _ in c] for c in chunks(pts, 2)]
        [['2', '0'], ['1']]
    """
    def group(item: tuple[str, dict[str, Any]]) -> tuple:
        p = item[1]
        shape = {k: v for k, v in p.items() if k not in ("hardware", "overrides", "inputs")}
        return (str(p.get("hardware")), canonical_json(p.get("overrides") or {}), canonical_json(shape))

    ordered = sorted(todo, key=group)
    return [ordered[i:i + size] for i in range(0, len(ordered), max(1, size))]


def execute(todo: list[tuple[str, dict[str, Any]]], executor: Executor, max_in_flight: int,
            on_done: Callable[[PointOutcome, bool], None], run: Callable[..., list[dict[str, Any]]],
            time_limit_s: float | None = None, *, chunk: int = 1,
            meanwhile: Callable[[], Any] | None = None) -> None:
    """Submit chunks of points (:func:`chunks`) keeping at most ``max_in_flight``
    points pending; report each point as its chunk completes.

    ``run(points, time_limit_s=...)`` runs a chunk's points in order and returns one outcome per point
    (submitted as ``submit(fn, points)``). ``on_done(outcome, persistent)``: ``persistent`` is False
    when the executor itself failed (worker died, pool broken): that point's outcome is not the
    point's fault, so it is not stored and a re-run tries it again. ``meanwhile`` runs once, after the
    first chunks are submitted, while the workers compute (the parent's own slow work).

    Raises:
        InputError: the executor can no longer run points (a Dask scheduler lost); finished points
            have already been reported.
    """
    pending: dict[Future, list[tuple[str, dict[str, Any]]]] = {}
    task = run if time_limit_s is None else functools.partial(run, time_limit_s=time_limit_s)  # picklable
    queue = iter(chunks(todo, chunk))
    in_flight = 0
    broken: str | None = None
    lost = _liveness(executor)
    try:
        while True:
            while broken is None and in_flight < max_in_flight:
                items = next(queue, None)
                if items is None:
                    break
                try:
                    pending[executor.submit(task, [p for _, p in items])] = items
                    in_flight += len(items)
                except Exception as exc:  # noqa: BLE001 - a broken or shut-down executor
                    broken = f"not run: executor failed: {type(exc).__name__}: {exc}"
                    for key, point in items:
                        on_done(PointOutcome(key, point, "error", None, broken, 0.0), False)
            if not pending:
                break
            if meanwhile is not None:
                meanwhile()
                meanwhile = None
            done, _ = wait(list(pending), timeout=POLL_S, return_when=FIRST_COMPLETED)
            reason = lost()
            if reason is not None:
                raise InputError(f"executor: {reason}; finished points are stored, a re-run resumes")
            for fut in done:
                items = pending.pop(fut)
                in_flight -= len(items)
                try:
                    outs = fut.result()
                except BaseException as exc:  # noqa: BLE001 - the executor lost or cancelled the task
                    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                        raise
                    for key, point in items:
                        on_done(PointOutcome(key, point, "error", None,
                                             f"executor failed: {type(exc).__name__}: {exc}", 0.0), False)
                    continue
                for (key, point), out in zip(items, outs):
                    result = None if out["result"] is None else json.loads(out["result"])
                    on_done(PointOutcome(key, point, out["status"], result, out["error"], out["elapsed_s"]), True)
        for items in queue if broken else ():
            for key, point in items:
                on_done(PointOutcome(key, point, "error", None, broken, 0.0), False)
    finally:
        for fut in pending:
            fut.cancel()
