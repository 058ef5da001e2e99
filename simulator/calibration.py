"""Calibrate a device to your own machine: fit the library's few physical efficiency parameters on
runs you measured, and write a derived device spec that records what it was fitted to.

The runs are a CSV with the columns of the project's validation tables (``validation/data/*.csv``);
the ones read here are ``id``, ``workload`` (a zoo name or a workload file), ``mode`` (inference
or training), ``precision``, ``batch_size``, ``seq_len_or_image_size`` (``seq 512``, ``224x224``,
a bare number, or empty for the workload's default), ``metric`` (``latency_ms``, ``step_time_s``,
``images_per_s``, ``samples_per_s``, ``sequences_per_s``, ``tokens_per_s``) and ``value``;
``software``, when it names a stack (``accsim list stacks``), is the stack the run used.

Each run is first simulated with the device as it ships. A run whose step is mostly arithmetic
informs ``compute``, one mostly bound by main-memory traffic ``memory``, one mostly per-op launch
time ``op_overhead_us`` (:data:`PARAMETERS`); each parameter is then fitted by
:func:`simulator.fit.golden` on its runs, in that order, the others held, and the passes repeated
until nothing moves. A parameter no run
informs keeps the shipped value; if no parameter can be identified the call is refused. The
leave-one-out error refits without each run in turn and predicts it: what to expect on a run not
in the file.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, SimulatorError
from .fit import BOUNDS, golden, robust_loss
from .run.step import simulate_step
from .spec.loader import load_hardware, raw_spec
from .spec.models import _DeviceBase
from .spec.stack import stack_catalogue
from .yamlio import read_bounded_text

PARAMETERS = ("memory", "compute", "op_overhead_us")
# the bottleneck of a run -> the parameter it informs
INFORMS = {"memory_bandwidth": "memory", "compute": "compute", "overhead": "op_overhead_us", "host": "op_overhead_us"}
METRICS = ("latency_ms", "step_time_s", "images_per_s", "samples_per_s", "sequences_per_s", "tokens_per_s")
MAX_RUNS = 500
MAX_FILE_BYTES = 1_000_000
COLUMNS = ("workload", "metric", "value")


@dataclass(frozen=True)
class Run:
    """One measured run of the user's CSV (line number kept for error messages)."""

    id: str
    line: int
    workload: str
    mode: str
    precision: str | None
    batch_size: int
    seq_len: int | None
    image_size: int | None
    metric: str
    value: float
    stack: str = "default"


def _shape(text: str) -> tuple[int | None, int | None]:
    t = text.strip().lower()
    if not t:
        return None, None
    m = re.fullmatch(r"(\d+)\s*x\s*\d+", t)
    if m:
        return None, int(m.group(1))
    m = re.fullmatch(r"(?:seq\s*)?(\d+)", t)
    if m:
        return int(m.group(1)), None
    raise ValueError(f"expected 'seq N', 'HxW' or a number, got {text!r}")


def _run(r: dict[str, str], line: int, source: str) -> Run:
    where = f"{source}: line {line}"
    for col in COLUMNS:
        if not (r.get(col) or "").strip():
            raise InputError(f"{where}: {col}: required")
    metric = r["metric"].strip()
    if metric not in METRICS:
        raise InputError(f"{where}: metric: {metric!r} is not one of {', '.join(METRICS)}")
    try:
        value = float(r["value"])
        batch = int(float(r.get("batch_size") or 1))
        seq, image = _shape(r.get("seq_len_or_image_size") or "")
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    if not 0 < value < 1e18 or batch <= 0:
        raise InputError(f"{where}: value and batch_size must be positive")
    software = (r.get("software") or "").strip().lower()
    return Run(id=(r.get("id") or f"line{line}").strip(), line=line, workload=r["workload"].strip(),
               mode=(r.get("mode") or "inference").strip().lower(), precision=(r.get("precision") or "").strip().lower() or None,
               batch_size=batch, seq_len=seq, image_size=image, metric=metric, value=value,
               stack=software if software in stack_catalogue() else "default")


def read_runs(path: str | Path) -> list[Run]:
    """The runs of a measurement CSV (see the module docstring).

    Raises:
        InputError: an unreadable file, a missing column, or a bad value (file, line and field named).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "runs.csv"
        >>> _ = p.write_text("id,workload,mode,precision,batch_size,seq_len_or_image_size,metric,value\\n"
        ...                  "r1,resnet50,inference,bf16,64,224x224,images_per_s,9000\\n")
        >>> [(r.id, r.batch_size, r.image_size) for r in read_runs(p)]
        [('r1', 64, 224)]
    """
    text = read_bounded_text(Path(path), limit_bytes=MAX_FILE_BYTES, what="measurement CSV")
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise InputError(f"{path}: no runs (a header line and one row per measured run)")
    if len(rows) > MAX_RUNS:
        raise InputError(f"{path}: {len(rows)} runs; at most {MAX_RUNS}")
    missing = [c for c in COLUMNS if c not in rows[0]]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    return [_run(r, i + 2, str(path)) for i, r in enumerate(rows)]


def predict(run: Run, hw: _DeviceBase, params: dict[str, float] | None = None) -> tuple[float, str]:
    """(predicted value in the run's metric, bottleneck) with ``params`` as efficiency what-ifs.

    Raises:
        InputError: the simulator refuses the run (unknown workload, unsupported precision...).
    """
    overrides = {f"efficiency.{k}": v for k, v in (params or {}).items()}
    r = simulate_step(run.workload, load_hardware(hw, overrides or None), mode=run.mode, batch_size=run.batch_size,
                      seq_len=run.seq_len, image_size=run.image_size, precision=run.precision, stack=run.stack)
    t = r.step_time_s
    if run.metric == "latency_ms":
        return t * 1e3, r.bottleneck
    if run.metric == "step_time_s":
        return t, r.bottleneck
    if run.metric == "tokens_per_s":
        return (r.tokens_per_s or 0.0), r.bottleneck
    return run.batch_size / t, r.bottleneck


@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`calibrate` found. ``params``: fitted values (and the shipped ones it kept);
    ``fitted_to``: run ids per fitted parameter; ``not_identified``: parameters no run informs;
    ``rows``: per run ``id``, ``measured``, ``before`` (shipped), ``after`` (fitted) and ``loo``
    (predicted with parameters fitted without it); ``loo_median_pct``: median |error| of ``loo``;
    ``spec_yaml``: the derived device spec."""

    hardware: str
    params: dict[str, float]
    fitted_to: dict[str, list[str]]
    not_identified: tuple[str, ...]
    rows: list[dict[str, Any]] = field(repr=False)
    before_median_pct: float
    after_median_pct: float
    loo_median_pct: float
    spec_yaml: str = field(repr=False)

    def table(self) -> str:
        """A readable summary for terminals."""
        lines = [f"calibrated {self.hardware} on {len(self.rows)} runs",
                 *(f"  efficiency.{k:15s} {v:g}   <- {', '.join(self.fitted_to[k])}" for k, v in self.params.items()
                   if k in self.fitted_to),
                 *(f"  efficiency.{k:15s} kept (no run is bound by it)" for k in self.not_identified),
                 f"  median |error|: shipped {self.before_median_pct:.1f} %, fitted {self.after_median_pct:.1f} %, "
                 f"leave-one-out {self.loo_median_pct:.1f} %"]
        return "\n".join(lines)


def _median_pct(pairs: list[tuple[float, float]]) -> float:
    errs = sorted(abs(p / m - 1) for p, m in pairs)
    if not errs:
        return float("nan")
    mid = len(errs) // 2
    return 100 * (errs[mid] if len(errs) % 2 else 0.5 * (errs[mid - 1] + errs[mid]))


# staged passes over the parameters: each run depends a little on the others' parameters (a compute-
# bound run still pays per-op overhead), so the stages are repeated until nothing moves
PASSES = 3


def _fit(runs: list[Run], hw: _DeviceBase, informs: dict[str, str], base: dict[str, float]) -> dict[str, float]:
    params = dict(base)
    for _ in range(PASSES):
        before = dict(params)
        for name in PARAMETERS:
            mine = [r for r in runs if informs[r.id] == name]
            if mine:
                params[name] = golden(lambda x, mine=mine, name=name: robust_loss(
                    (predict(r, hw, {**params, name: x})[0], r.value) for r in mine), *BOUNDS[name])
        if params == before:
            break
    return params


def _derived_yaml(hw: _DeviceBase, params: dict[str, float], fitted_to: dict[str, list[str]], source: str) -> str:
    import yaml

    raw = raw_spec(hw.name)
    raw["name"] = f"{hw.name}-calibrated"
    raw["display_name"] = f"{hw.display_name} (calibrated)"
    ids = "; ".join(f"{k} <- {', '.join(v)}" for k, v in fitted_to.items())
    raw["efficiency"] = {**raw.get("efficiency", {}), **params,
                         "fitted_to": f"simulator.calibrate on {source}: {ids}"}
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=120)


def calibrate(hardware: "str | Path | _DeviceBase", runs: "str | Path", *, write: "str | Path | None" = None) -> CalibrationResult:
    """Fit ``hardware``'s efficiency parameters on measured ``runs`` (see the module docstring).

    Args:
        hardware: catalogue name, path or loaded device spec (not a system).
        runs: path to the measurement CSV.
        write: where to write the derived device YAML (None: only returned).

    Raises:
        InputError: a bad file or run (file, line and field named), a system spec, or runs that
            identify no parameter (every run refused or bound by nothing fitted here).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "runs.csv"
        >>> _ = p.write_text("id,workload,mode,precision,batch_size,seq_len_or_image_size,metric,value\\n"
        ...                  "a,mlp,inference,bf16,4096,,samples_per_s,2.0e6\\n"
        ...                  "b,mlp,inference,bf16,8192,,samples_per_s,3.5e6\\n")
        >>> res = calibrate("nvidia-l4", p)
        >>> sorted(res.fitted_to), res.spec_yaml.startswith("name: nvidia-l4-calibrated")
        (['compute'], True)
    """
    hw = load_hardware(hardware)
    if not isinstance(hw, _DeviceBase):
        raise InputError(f"hardware: {hw.name} is a system; calibrate its device ({hw.device})")
    rs = read_runs(runs)
    base = {k: getattr(hw.efficiency, k) for k in PARAMETERS}
    informs, before = {}, {}
    for r in rs:
        try:
            before[r.id], bound = predict(r, hw)
        except SimulatorError as exc:
            raise InputError(f"{runs}: line {r.line}: {r.workload}: {exc}") from None
        informs[r.id] = INFORMS.get(bound, "")
    fitted_to = {k: [r.id for r in rs if informs[r.id] == k] for k in PARAMETERS}
    fitted_to = {k: v for k, v in fitted_to.items() if v}
    if not fitted_to:
        raise InputError(f"{runs}: no run is bound by compute, memory bandwidth or per-op overhead on "
                         f"{hw.name}, so no parameter can be identified")
    params = _fit(rs, hw, informs, base)
    rows = []
    for r in rs:
        others = [o for o in rs if o.id != r.id]
        loo = _fit(others, hw, informs, base) if others else base
        rows.append({"id": r.id, "measured": r.value, "before": before[r.id], "after": predict(r, hw, params)[0],
                     "loo": predict(r, hw, loo)[0], "informs": informs[r.id]})
    text = _derived_yaml(hw, params, fitted_to, str(runs))
    if write is not None:
        Path(write).write_text(text, encoding="utf-8")
    return CalibrationResult(
        hardware=hw.name, params=params, fitted_to=fitted_to,
        not_identified=tuple(k for k in PARAMETERS if k not in fitted_to), rows=rows,
        before_median_pct=_median_pct([(x["before"], x["measured"]) for x in rows]),
        after_median_pct=_median_pct([(x["after"], x["measured"]) for x in rows]),
        loo_median_pct=_median_pct([(x["loo"], x["measured"]) for x in rows]), spec_yaml=text)
