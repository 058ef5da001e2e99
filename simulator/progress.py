"""Progress on stderr for long CLI runs: one self-erasing line, only on a terminal, only after ~2 s.

The CLI wraps each command in :func:`ticker`; long loops (decode steps of a generation) say where
they are with :func:`report`, which costs one dict assignment and prints nothing by itself. Output
is never affected: the line goes to stderr and is erased (:func:`stop`) before a result is printed.
"""
from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator, TextIO

__all__ = ["ticker", "report", "stop"]

DELAY_S = 2.0      # quick runs stay silent
INTERVAL_S = 0.5

_state: dict = {"detail": "", "stop": None, "thread": None}


def report(detail: str) -> None:
    """Say what the current run is doing (``"decode step 40 of 127"``); shown by an active ticker.

    Example:
        >>> report("decode step 1 of 2"); report("")
    """
    _state["detail"] = detail


def stop() -> None:
    """Stop the active ticker and erase its line (before a result goes to stdout). Idempotent.

    Example:
        >>> stop()
    """
    event, thread = _state["stop"], _state["thread"]
    if event is not None:
        event.set()
        thread.join()
    _state.update(stop=None, thread=None, detail="")


@contextmanager
def ticker(label: str, stream: TextIO | None = None, *, delay_s: float = DELAY_S,
           interval_s: float = INTERVAL_S) -> Iterator[None]:
    """Show ``label``, the elapsed wall time and the last :func:`report` on ``stream`` (stderr) while the
    block runs, from ``delay_s`` on, when the stream is a terminal; nothing otherwise.

    Example:
        >>> import io
        >>> with ticker("simulating", io.StringIO()):   # not a terminal: silent
        ...     pass
    """
    out = stream or sys.stderr
    if not getattr(out, "isatty", lambda: False)():
        yield
        return
    stop()
    event = threading.Event()
    start = time.monotonic()

    def run() -> None:
        if event.wait(delay_s):
            return
        shown = False
        while not event.is_set():
            detail = _state["detail"]
            out.write(f"\r\x1b[K{label}: {time.monotonic() - start:.0f} s" + (f", {detail}" if detail else ""))
            out.flush()
            shown = True
            event.wait(interval_s)
        if shown:
            out.write("\r\x1b[K")
            out.flush()

    thread = threading.Thread(target=run, name="accsim-progress", daemon=True)
    _state.update(stop=event, thread=thread, detail="")
    thread.start()
    try:
        yield
    finally:
        if _state["stop"] is event:
            stop()
