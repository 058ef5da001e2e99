"""``python -m simulator sweep sweep.yaml``: the sweep file format and the CLI subcommand.

A sweep file (YAML, unknown keys rejected)::

    workload: resnet50
    mode: training
    sampler: grid               # grid | random | lhs
    samples: null               # random / lhs: how many points
    seed: 0
    space:
      hardware: [nvidia-h100-sxm, nvidia-a100-sxm-80gb]
      hardware.memory.hbm.bandwidth_gbs: [2000, 3000, 4000]
      batch_size: {min: 16, max: 256, log: true, steps: 5}
    energy_usd_per_kwh: 0.12
    carbon_g_per_kwh: 400
    train_tokens: null          # or train_epochs + dataset_samples: whole-run time, cost, CO2
    pareto: {minimize: [step_time_s, energy_j, cost_usd], maximize: []}
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..cli_args import add_command, add_time_limit, write_output
from ..errors import InputError
from .run import MAX_DATASET_SAMPLES, MAX_TRAIN_EPOCHS, MAX_TRAIN_TOKENS

if TYPE_CHECKING:
    import pandas as pd

WORKLOAD_SUFFIXES = (".yaml", ".yml", ".onnx", ".csv")
HARDWARE_SUFFIXES = (".yaml", ".yml", ".cfg")
SHOW_COLUMNS = ("step_time_s", "throughput_samples_per_s", "energy_j", "peak_memory_bytes", "fits_in_memory",
                "bottleneck", "cost_usd", "co2_kg", "run_time_s", "run_cost_usd", "run_co2_kg", "status", "error")


class ParetoSpec(BaseModel):
    """Objectives of the Pareto front printed by ``--pareto``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    minimize: list[str] = ["step_time_s", "energy_j", "cost_usd"]
    maximize: list[str] = []


class SweepFile(BaseModel):
    """The contents of a sweep YAML file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    description: str = ""
    workload: str = Field(min_length=1)
    mode: Literal["training", "inference"] = "training"
    sampler: Literal["grid", "random", "lhs"] = "grid"
    samples: int | None = Field(default=None, gt=0)
    seed: int = Field(default=0, ge=0)  # numpy's generators refuse negative seeds
    space: dict[str, Any]
    energy_usd_per_kwh: float = Field(default=0.12, ge=0, le=1e3)
    carbon_g_per_kwh: float = Field(default=400.0, ge=0, le=1e5)
    train_tokens: float | None = Field(default=None, gt=0, le=MAX_TRAIN_TOKENS)
    train_epochs: float | None = Field(default=None, gt=0, le=MAX_TRAIN_EPOCHS)
    dataset_samples: int | None = Field(default=None, gt=0, le=MAX_DATASET_SAMPLES)
    pareto: ParetoSpec = ParetoSpec()


def load_sweep_file(path: str | Path) -> SweepFile:
    """Read and validate a sweep file; every relative workload or hardware path (top-level ``workload``,
    ``space.workload``, ``space.hardware``) is taken relative to the file, wherever it is run from.

    Raises:
        SpecError: unreadable file, bad YAML, unknown or invalid field (file and field named).
        InputError: an invalid space (file and ``space.<key>`` named), or more points than the limit.

    Example:
        >>> load_sweep_file("sweeps/example.yaml").workload
        'resnet50'
    """
    from .space import SpaceError, count_points, parse_space
    from ..validation_errors import check_no_bools, spec_error_from_validation
    from ..yamlio import read_yaml_file

    path = Path(path)
    raw = read_yaml_file(path)
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    check_no_bools(raw, SweepFile, str(path))
    try:
        spec = SweepFile.model_validate(raw)
    except ValidationError as exc:
        raise spec_error_from_validation(exc, str(path), SweepFile) from None
    try:
        count_points(parse_space(spec.space), spec.sampler, spec.samples)
    except SpaceError as exc:
        raise InputError(f"{path}: {exc}") from None
    from ..spec.loader import catalogue
    from ..workload.loader import zoo

    base = path.resolve().parent
    space = dict(spec.space)
    kinds = {"workload": (WORKLOAD_SUFFIXES, zoo()), "hardware": (HARDWARE_SUFFIXES, catalogue())}
    for key, (suffixes, names) in kinds.items():
        if key in space:
            value = space[key]
            space[key] = [_near(v, base, suffixes, names) for v in value] if isinstance(value, list) else \
                _near(value, base, suffixes, names)
    workload = _near(spec.workload, base, *kinds["workload"])
    return spec.model_copy(update={"workload": workload, "space": space})


def _near(value: Any, base: Path, suffixes: tuple[str, ...], names: Any) -> Any:
    """A relative file path in a sweep file, resolved against the sweep file's folder (``base``);
    ``names`` (``resnet50``, ``nvidia-h100-sxm``) and absolute paths as they are."""
    if not isinstance(value, str) or value in names or Path(value).is_absolute():
        return value
    try:
        local = base / value
        is_file = value.lower().endswith(suffixes) or local.is_file()
    except (OSError, ValueError):
        return value
    return str(local) if is_file else value


def _add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="sweep YAML file: workload, mode, space, sampler")
    p.add_argument("--store", help="SQLite file recording finished points; a re-run skips them")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 (default: local processes)")
    p.add_argument("--workers", type=int, default=2, help="local worker processes")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
    p.add_argument("--out", help="write the table to this file instead of stdout")
    p.add_argument("--pareto", action="store_true", help="output only the Pareto front (objectives from the file)")
    p.add_argument("--sensitivity", metavar="OBJECTIVE", help="output how much each parameter moves OBJECTIVE")
    p.add_argument("--retry-errors", action="store_true", help="re-run points stored with status 'error'")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    add_time_limit(p, "a point")


def _connect(address: str):
    from ..extras import require

    require("dask", "--scheduler (a Dask cluster)")
    from distributed import Client
    # the sweep reports a lost scheduler in one line of its own: not also the client's reconnect errors
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise InputError(f"--scheduler: cannot connect to {address}: {exc}") from None


def _cell_format(column: str):
    """How a column of a sweep table reads in a terminal, by the unit its name ends with."""
    from .. import readable as R

    if column.endswith("_per_s"):
        return lambda v: f"{R.count(v)}/s"
    for suffix, fn in (("_s", R.seconds), ("_bytes", R.nbytes), ("_j", R.joules), ("_w", R.watts),
                       ("_usd", lambda v: f"${R.sig3(v)}"), ("_kg", lambda v: f"{R.sig3(v)} kg"),
                       ("fraction", R.percent), ("utilization", R.percent), ("efficiency", R.percent)):
        if column.endswith(suffix):
            return fn
    return R.sig3


def readable_table(df: pd.DataFrame, objective: str | None = None) -> pd.DataFrame:
    """``df`` with its float columns as text: three significant digits and units scaled by column name
    (a sensitivity table's spread and means in ``objective``'s unit, its relative spread in %).

    Example:
        >>> import pandas as pd
        >>> readable_table(pd.DataFrame({"step_time_s": [0.0123], "energy_j": [10473628.9]})).iloc[0].tolist()
        ['12.3 ms', '10.5 MJ']
    """
    out = df.copy()
    for c in out.columns:
        if out[c].dtype.kind != "f":
            continue
        unit = objective if objective and c in ("spread", "min_mean", "max_mean", "mean") else c
        fmt = _cell_format("relative_fraction" if c == "relative_spread" else str(unit))
        out[c] = [("" if v != v else fmt(float(v))) for v in out[c]]
    return out


def _render(df: pd.DataFrame, fmt: str, params: list[str], objective: str | None = None) -> str:
    if fmt == "json":  # json.dumps, not DataFrame.to_json: floats round-trip exactly, NaN (n/a) becomes null
        records = [{str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                   for row in df.astype(object).to_dict(orient="records")]
        for i, row in enumerate(records):
            for k, v in row.items():
                if isinstance(v, float) and math.isinf(v):  # Infinity is not JSON: say which value
                    raise InputError(f"row {i}: {k}: {v} is not a finite number; the sweep's inputs are too "
                                     "large for this model")
        return json.dumps(records, indent=1, default=str, allow_nan=False)
    if fmt == "csv":
        return df.to_csv(index=False)
    if "parameter" in df.columns:  # a sensitivity table: every column is its answer
        return readable_table(df, objective).to_string(index=False, max_colwidth=60)
    cols = [c for c in df.columns if c in params or c in SHOW_COLUMNS]
    shown = df[cols or list(df.columns)]
    empty = [c for c in shown.columns if shown[c].map(lambda v: v is None or v != v or v == "").all()]
    shown = shown.drop(columns=empty)  # run_* without a whole-run size, error when every point ran
    return readable_table(shown).to_string(index=False, max_colwidth=60)


def _run(args: argparse.Namespace) -> int:
    from .pareto import pareto, sensitivity
    from .run import sweep

    if args.workers < 1:
        raise InputError(f"--workers: must be at least 1, got {args.workers}")
    spec = load_sweep_file(args.file)
    client = _connect(args.scheduler) if args.scheduler else None
    try:
        table = sweep(spec.workload, spec.space, mode=spec.mode, store=args.store, sampler=spec.sampler,
                      samples=spec.samples, seed=spec.seed, energy_usd_per_kwh=spec.energy_usd_per_kwh,
                      carbon_g_per_kwh=spec.carbon_g_per_kwh, train_tokens=spec.train_tokens,
                      train_epochs=spec.train_epochs, dataset_samples=spec.dataset_samples,
                      executor=client.get_executor() if client is not None else None, workers=args.workers,
                      progress=not args.no_progress, retry_errors=args.retry_errors,
                      time_limit_s=args.time_limit_s)
    finally:
        if client is not None:
            client.close()
    params = list(table.attrs.get("parameters", []))
    out = table
    if args.pareto:
        out = pareto(table, minimize=spec.pareto.minimize, maximize=spec.pareto.maximize)
    if args.sensitivity:
        out = sensitivity(out, args.sensitivity)
    text = _render(out, args.format, params, args.sensitivity)
    if args.out:
        def write(path: str) -> None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        write_output(args.out, "--out", write)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def add_commands(sub: "argparse._SubParsersAction") -> None:
    """Add ``sweep`` to the CLI's subparsers."""
    summary = "a design-space sweep from a sweep YAML file (resumable with --store)"
    _add_args(add_command(sub, "sweep", summary, _run, epilog=None))
