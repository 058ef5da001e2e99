"""Design-space sweeps: many :func:`simulator.simulate` calls on a local process pool or a Dask cluster.

Each point is a pure function call (:func:`run_point`) on plain JSON data (names and dicts, never
loaded specs), so it runs on any :class:`concurrent.futures.Executor`. As each point finishes the parent
process writes it to an optional :class:`~simulator.sweep.store.SweepStore`, so a killed sweep loses
nothing and a re-run skips what is done. Invalid points (bad override path, unsupported precision...)
are recorded with their reason and never stop the sweep. Costs and CO2 are derived in the parent from
the stored results, so changing the electricity price never re-simulates.

The CLI subcommand ``sweep`` (``python -m simulator sweep sweep.yaml``) lives in :mod:`simulator.sweep.cli`.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, TextIO

from ..deadline import check_limit, hard_time_limit, make_deadline
from ..errors import InfeasibleError, InputError
from ..version import __version__
from ..yamlio import MAX_INPUT_FILE_BYTES, read_file_bytes
from ..result import SUMMARY_KEYS
from .space import RUN_KEYS, make_points
from .executors import as_executor, execute, own_executor, stop_pool
from .store import PointOutcome, SweepStore, canonical_json, point_key

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["sweep", "run_point", "derive", "RESULT_COLUMNS", "DERIVED_COLUMNS"]

J_PER_KWH = 3.6e6
RESULT_COLUMNS = tuple(SUMMARY_KEYS) + ("cloud_usd_per_hour",)
DERIVED_COLUMNS = ("energy_cost_usd", "device_cost_usd", "cost_usd", "co2_kg",
                   "run_steps", "run_time_s", "run_energy_j", "run_cost_usd", "run_co2_kg")
STATUS_COLUMNS = ("status", "error", "elapsed_s", "key")
CHUNK_POINTS = 25  # most points a worker runs in one task
_SIM_KWARGS = frozenset(RUN_KEYS) - {"workload"}
# Bounds on the size of a whole training run (far beyond any real one: 10^18 tokens is 10,000 times
# Llama 3's 15T), so that run totals stay finite numbers (JSON has no Infinity).
MAX_TRAIN_TOKENS = 1e18
MAX_TRAIN_EPOCHS = 1e6
MAX_DATASET_SAMPLES = 10**15
_NUMBER_BOUNDS = {"energy_usd_per_kwh": 1e3, "carbon_g_per_kwh": 1e5, "train_tokens": MAX_TRAIN_TOKENS,
                  "train_epochs": MAX_TRAIN_EPOCHS, "dataset_samples": MAX_DATASET_SAMPLES}


def run_point(point: Mapping[str, Any], time_limit_s: float | None = None) -> dict[str, Any]:
    """Simulate one sweep point; never raises. Runs in a worker process (or a Dask worker).

    ``point`` holds ``workload`` and ``hardware`` (names or paths), ``overrides`` (dotted spec paths)
    and any :func:`simulator.simulate` keyword (``mode``, ``batch_size``, ``precision``...).
    ``time_limit_s`` bounds the point's wall time (a point past it is ``invalid``, its error naming
    the limit); in a local pool worker a timer signal backs the cooperative checks up.

    Returns:
        ``{"status": "ok" | "invalid" | "error", "result": JSON text or None, "error": str, "elapsed_s": float}``.
        ``invalid`` is a point the inputs rule out (InputError, InfeasibleError); ``error`` is a bug.

    Example:
        >>> out = run_point({"workload": "mlp", "hardware": "nvidia-h100-sxm", "batch_size": 8, "overrides": {}})
        >>> out["status"]
        'ok'
    """
    start = time.perf_counter()
    try:
        from ..run.step import simulate_step

        with hard_time_limit(time_limit_s, "running the point"):
            deadline = make_deadline(time_limit_s)
            hw = _spec(point["hardware"], canonical_json(point.get("overrides") or {}),
                       str((point.get("inputs") or {}).get("hardware")))
            kwargs = {k: v for k, v in point.items() if k in _SIM_KWARGS}
            left = None if deadline is None else max(deadline.remaining_s(), 1e-6)
            result = simulate_step(point["workload"], hw, time_limit_s=left, **kwargs).to_dict()
        result["cloud_usd_per_hour"] = hw.price.cloud_usd_per_hour if hw.price is not None else None
        status, text, error = "ok", canonical_json(result), ""
    except (InputError, InfeasibleError) as exc:
        status, text, error = "invalid", None, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - a failing point is recorded, never stops the sweep
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
        status, text, error = "error", None, f"{type(exc).__name__}: {exc}{at}"
    return {"status": status, "result": text, "error": error, "elapsed_s": time.perf_counter() - start}


@functools.lru_cache(maxsize=256)
def _spec(hardware: str, overrides: str, digest: str):
    """The validated spec of a device and its what-if overrides (JSON text), once per worker process:
    the points of one device share it (and so the op costs kept for it). ``digest`` (the spec file's
    hash, None for a loaded spec) keys an edited file apart."""
    from ..spec.loader import load_hardware

    return load_hardware(hardware, json.loads(overrides) or None)


def run_points(points: list[Mapping[str, Any]], time_limit_s: float | None = None) -> list[dict[str, Any]]:
    """:func:`run_point` of each point of a chunk, in order (one task for an executor, so a local pool
    or a Dask cluster pays its per-task cost once per chunk), each under ``time_limit_s``. Never raises.

    Example:
        >>> [o["status"] for o in run_points([{"workload": "mlp", "hardware": "nvidia-h100-sxm", "batch_size": b}
        ...                                   for b in (8, 16)])]
        ['ok', 'ok']
    """
    return [run_point(p, time_limit_s) for p in points]


def _nan_if_none(x: Any) -> float:
    return float("nan") if x is None else float(x)


def derive(result: Mapping[str, Any], *, energy_usd_per_kwh: float = 0.12, carbon_g_per_kwh: float = 400.0,
           train_tokens: float | None = None, train_epochs: float | None = None,
           dataset_samples: int | None = None) -> dict[str, float]:
    """Cost and CO2 of one step (and of a whole training run) from a point's result.

    ``cost_usd`` = cloud price per device-hour x step time + energy x electricity price (NaN when the
    spec has no cloud price); ``co2_kg`` = energy x grid carbon intensity. For training points,
    ``train_tokens`` (sequence models: batch x seq_len tokens per step) or ``train_epochs`` x
    ``dataset_samples`` give ``run_steps`` (rounded up) and the run totals; NaN otherwise.

    Example:
        >>> d = derive({"step_time_s": 3600.0, "energy_j": 3.6e6, "cloud_usd_per_hour": 2.0, "mode": "inference"})
        >>> round(d["cost_usd"], 2), round(d["co2_kg"], 2)
        (2.12, 0.4)
    """
    step, energy = float(result["step_time_s"]), float(result["energy_j"])
    kwh = energy / J_PER_KWH
    energy_cost = kwh * energy_usd_per_kwh
    device_cost = _nan_if_none(result.get("cloud_usd_per_hour")) * step / 3600.0
    out = {"energy_cost_usd": energy_cost, "device_cost_usd": device_cost, "cost_usd": device_cost + energy_cost,
           "co2_kg": kwh * carbon_g_per_kwh / 1000.0}
    steps = float("nan")
    if result.get("mode") == "training":
        batch, seq = result.get("batch_size"), result.get("seq_len")
        if train_tokens is not None and batch and seq:
            steps = float(math.ceil(train_tokens / (batch * seq)))
        elif train_epochs is not None and dataset_samples and batch:
            steps = float(math.ceil(train_epochs * dataset_samples / batch))
    out.update(run_steps=steps, run_time_s=steps * step, run_energy_j=steps * energy,
               run_cost_usd=steps * out["cost_usd"], run_co2_kg=steps * out["co2_kg"])
    return out


def _file_digest(path: Path, cache: dict[Path, str | None]) -> str | None:
    if path not in cache:
        try:  # the largest file any loader accepts (an ONNX model); a FIFO or device is never read
            data = read_file_bytes(path, limit_bytes=MAX_INPUT_FILE_BYTES, what="a sweep input")
            cache[path] = hashlib.sha256(data).hexdigest()[:16]
        except InputError:
            cache[path] = None  # an unknown name or bad file: the worker records the point as invalid
    return cache[path]


def _inputs(hardware: str, workload: str, cache: dict[Path, str | None]) -> dict[str, str | None]:
    """Digests of the hardware and workload files and the accsim version: a store never serves results
    of an edited spec or of another release (edits to the simulator's code within a release are not seen)."""
    from ..spec.loader import catalogue
    from ..workload.loader import zoo

    hw, wl = catalogue().get(hardware, Path(hardware)), zoo().get(workload, Path(workload))

    return {"hardware": _file_digest(hw, cache), "workload": _file_digest(wl, cache), "accsim": __version__}


def _run_point_dict(params: Mapping[str, Any], workload: str, mode: str,
                    digests: dict[Path, str | None] | None = None) -> dict[str, Any]:
    """The point sent to :func:`run_point`: space keys split into run keywords and spec overrides.

    ``inputs`` (file digests) is part of the point, hence of its store key (:func:`content_key`); the
    worker ignores it.
    """
    point: dict[str, Any] = {"workload": workload, "mode": mode, "overrides": {}}
    for key, value in params.items():
        if key.startswith("hardware."):
            point["overrides"][key[len("hardware."):]] = value
        else:
            point[key] = value
    for key in ("workload", "hardware"):
        if isinstance(point[key], Path):
            point[key] = str(point[key])
    if isinstance(point["hardware"], str) and isinstance(point["workload"], str):
        point["inputs"] = _inputs(point["hardware"], point["workload"], {} if digests is None else digests)
    return point


def content_key(point: Mapping[str, Any]) -> str:
    """The store key of a point: its canonical JSON with each workload or hardware *file* replaced by
    the digest of its content, so ``sweep s.yaml`` and ``sweep /abs/s.yaml`` (or a moved file) share
    stored points, and an edited file never reuses them. Catalogue and zoo names stay names.

    Example:
        >>> a = {"workload": "mlp", "hardware": "./chip.yaml", "inputs": {"hardware": "ab12", "workload": "cd34"}}
        >>> content_key(a) == content_key({**a, "hardware": "/elsewhere/chip.yaml"})
        True
    """
    from ..spec.loader import catalogue
    from ..workload.loader import zoo

    view = dict(point)
    inputs = point.get("inputs") or {}
    for key, names in (("workload", zoo()), ("hardware", catalogue())):
        value, digest = point.get(key), inputs.get(key)
        if isinstance(value, str) and digest is not None and value not in names:
            view[key] = f"file:{digest}"
    return point_key(view)


class _Progress:
    """Points done / total, rate and ETA on one line of ``stream`` (redrawn on a terminal, else once a second)."""

    def __init__(self, total: int, skipped: int, stream: TextIO | None) -> None:
        self.total, self.done, self.fresh = total, skipped, 0
        self.counts = {"ok": 0, "invalid": 0, "error": 0}
        self.skipped, self.stream, self.start, self.last = skipped, stream, time.monotonic(), 0.0
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())

    def update(self, status: str) -> None:
        self.done += 1
        self.fresh += 1
        self.counts[status] = self.counts.get(status, 0) + 1
        now = time.monotonic()
        if now - self.last >= (0.2 if self.tty else 1.0):
            self.last = now
            self._write(final=False)

    def _write(self, final: bool) -> None:
        if self.stream is None:
            return
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.fresh / elapsed
        left = self.total - self.done
        eta = f"{int(left / rate) // 60}m{int(left / rate) % 60:02d}s" if rate > 0 else "?"
        line = (f"sweep: {self.done}/{self.total} points done ({self.skipped} from store, "
                f"{self.counts['invalid']} invalid, {self.counts['error']} errors)  {rate:.1f} points/s  "
                + (f"took {elapsed:.1f}s" if final else f"ETA {eta}"))
        self.stream.write(("\r" + line.ljust(100) if self.tty else line) + ("\n" if final or not self.tty else ""))
        self.stream.flush()

    def close(self) -> None:
        self._write(final=True)


def _table(params: list[dict[str, Any]], keys: list[str], outcomes: Mapping[str, PointOutcome],
           param_names: list[str], money: Mapping[str, Any]) -> pd.DataFrame:
    base = [c for c in ("workload", "hardware", "mode") if c not in param_names]
    results = [c for c in RESULT_COLUMNS if c not in param_names and c not in base]
    columns = [*param_names, *base, *results, *DERIVED_COLUMNS, *STATUS_COLUMNS]
    import pandas as pd

    rows = []
    for p, key in zip(params, keys):
        o = outcomes[key]
        row: dict[str, Any] = dict(p)
        row.update({c: o.point.get(c) for c in base})
        if o.status == "ok" and o.result is not None:
            row.update({c: o.result.get(c) for c in results})
            row.update(derive(o.result, **money))
        row.update(status=o.status, error=o.error, elapsed_s=o.elapsed_s, key=key)
        rows.append(row)
    df = pd.DataFrame(rows, columns=columns)
    df.attrs["parameters"] = list(param_names)
    return df


def _check_numbers(**values: Any) -> None:
    """Prices, intensities and run sizes: finite, non-negative and at most their bound (None allowed)."""
    for name, v in values.items():
        hi = _NUMBER_BOUNDS.get(name, 1e15)
        ok = v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= hi)
        if not ok:
            raise InputError(f"{name}: must be a finite number in 0..{hi:g}, got {v!r}")


def sweep(workload: str | Path, space: Mapping[str, Any], *, mode: str = "training",
          store: str | Path | SweepStore | None = None, executor: Any = None, sampler: str = "grid",
          samples: int | None = None, seed: int = 0, energy_usd_per_kwh: float = 0.12,
          carbon_g_per_kwh: float = 400.0, train_tokens: float | None = None, train_epochs: float | None = None,
          dataset_samples: int | None = None, progress: bool | TextIO = True, workers: int = 2,
          retry_errors: bool = False, max_in_flight: int | None = None,
          time_limit_s: float | None = None) -> pd.DataFrame:
    """Simulate every point of a design space; one table row per distinct point.

    Args:
        workload: zoo name or workload file path (a space key ``workload`` overrides it).
        space: parameter -> values, see :mod:`simulator.sweep.space` (``hardware`` is required).
        mode: ``training`` or ``inference`` unless the space varies ``mode``.
        store: SQLite file (or open :class:`SweepStore`): finished points are written as they finish
            and skipped on a re-run. Points that raised a bug (status ``error``) are re-run only with
            ``retry_errors``.
        executor: any :class:`concurrent.futures.Executor` (e.g. ``distributed.Client(...).get_executor()``,
            or the Client itself); None runs a local process pool of ``workers`` processes.
        sampler, samples, seed: ``grid`` (every combination), ``random`` or ``lhs`` (``samples`` points).
        energy_usd_per_kwh, carbon_g_per_kwh: electricity price and grid carbon intensity.
        train_tokens, train_epochs, dataset_samples: size of a whole training run for the ``run_*`` columns.
        progress: True prints a progress line on stderr; or a text stream; False for none.
        max_in_flight: points submitted but not finished at once (default 4 per local worker, 64 otherwise).
        time_limit_s: wall-time limit of each point (None: none); a point past it is ``invalid``. The
            CLI's default is :data:`~simulator.deadline.DEFAULT_TIME_LIMIT_S`.

    Returns:
        DataFrame: the space's parameter columns, ``workload``/``hardware``/``mode``, the summary fields
        of :class:`~simulator.result.SimulationResult` (step_time_s, throughput_samples_per_s, energy_j,
        peak_memory_bytes, fits_in_memory, bottleneck...), ``cloud_usd_per_hour``, the
        :data:`DERIVED_COLUMNS` (cost_usd, co2_kg, run_time_s, run_cost_usd, run_co2_kg...), and
        ``status`` (ok / invalid / error), ``error``, ``elapsed_s``, ``key``. Rows are in point order.

    Raises:
        InputError: a bad space, sampler or argument (bad points do not raise: they become rows); an
            unusable store; a Dask scheduler lost mid-sweep.

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> with ThreadPoolExecutor(2) as ex:
        ...     t = sweep("mlp", {"hardware": ["nvidia-h100-sxm"], "batch_size": [8, 16], "precision": ["bf16", "int3"]},
        ...               executor=ex, progress=False)
        >>> t["status"].tolist()
        ['ok', 'invalid', 'ok', 'invalid']
    """
    if not isinstance(workload, (str, Path)):
        raise InputError("workload: give a zoo name or a file path (sweeps send names to workers, not loaded objects)")
    _check_numbers(energy_usd_per_kwh=energy_usd_per_kwh, carbon_g_per_kwh=carbon_g_per_kwh,
                   train_tokens=train_tokens, train_epochs=train_epochs, dataset_samples=dataset_samples)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InputError(f"workers: must be a positive integer, got {workers!r}")
    check_limit(time_limit_s)
    if train_tokens is not None and train_epochs is not None:
        raise InputError("train_tokens, train_epochs: give one of them, not both")
    if train_epochs is not None and not dataset_samples:
        raise InputError("dataset_samples: train_epochs needs the number of samples in one epoch")
    params = make_points(space, sampler=sampler, samples=samples, seed=seed)
    digests: dict[Path, str | None] = {}  # each file read once per sweep
    points = [_run_point_dict(p, str(workload), mode, digests) for p in params]
    keys = [content_key(p) for p in points]
    money = {"energy_usd_per_kwh": energy_usd_per_kwh, "carbon_g_per_kwh": carbon_g_per_kwh,
             "train_tokens": train_tokens, "train_epochs": train_epochs, "dataset_samples": dataset_samples}
    own_store = store is not None and not isinstance(store, SweepStore)
    st = SweepStore(store) if own_store else store
    own_pool = executor is None
    ex = own_executor(workers) if own_pool else as_executor(executor)
    try:
        outcomes = dict(st.get_many(keys)) if st is not None else {}
        if retry_errors:
            outcomes = {k: o for k, o in outcomes.items() if o.status != "error"}
        todo = list({k: p for k, p in zip(keys, points) if k not in outcomes}.items())
        stream = sys.stderr if progress is True else (progress or None)
        bar = _Progress(total=len(set(keys)), skipped=len(set(keys)) - len(todo), stream=stream)

        def on_done(outcome: PointOutcome, persistent: bool) -> None:
            if persistent and st is not None:
                st.put(outcome)  # committed before the point is counted as done
            outcomes[outcome.key] = outcome
            bar.update(outcome.status)

        # chunks: a few per worker and point batch, so the pool's per-task cost is paid once per
        # chunk while the progress line and the store still move often
        chunk = max(1, min(CHUNK_POINTS, len(todo) // (8 * (workers if own_pool else 16)) or 1))
        execute(todo, ex, max_in_flight or (max(4 * workers, 2 * workers * chunk) if own_pool else 64 * chunk),
                on_done, run_points, time_limit_s, chunk=chunk,
                meanwhile=lambda: __import__("pandas"))  # the table needs it: load it while workers compute
        bar.close()
    except BaseException:
        if own_pool:  # Ctrl-C, SIGTERM or a store failure: stop the running points now
            stop_pool(ex)
        raise
    else:
        if own_pool:
            ex.shutdown(wait=True)
    finally:
        if own_store:
            st.close()
    return _table(params, keys, outcomes, list(dict.fromkeys(k for p in params for k in p)), money)
