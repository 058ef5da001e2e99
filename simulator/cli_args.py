"""Command-line pieces shared by every subcommand: the parser class, the scenario flags and
``--set KEY=VALUE`` what-ifs. The features' CLI modules (serving, sweep) import these; nothing
imports :mod:`simulator.cli`.
"""
from __future__ import annotations

import argparse
import json
from typing import Any, Callable, Sequence

from .deadline import DEFAULT_TIME_LIMIT_S, MAX_TIME_LIMIT_S, disarm_hard_limit
from .errors import InputError
from .units import PRECISION_NAMES


class CliParser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2), as every other bad input gets."""

    def error(self, message: str) -> None:  # argparse exits 2 on bad usage too; keep one line
        self.exit(2, f"error: {message}\n")


def parse_overrides(items: Sequence[str] | None) -> dict:
    """``["a.b=4000", "c=x"]`` -> ``{"a.b": 4000, "c": "x"}`` (values parsed as JSON when they are).

    Raises:
        InputError: an item without ``=``.

    Example:
        >>> parse_overrides(["memory.hbm.bandwidth_gbs=4000", "name=x"])
        {'memory.hbm.bandwidth_gbs': 4000, 'name': 'x'}
    """
    out = {}
    for item in items or ():
        if "=" not in item:
            raise InputError(f"--set: expected KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def add_scenario_args(p: argparse.ArgumentParser) -> None:
    """The workload / hardware / shape / precision flags every run command shares."""
    p.add_argument("--hardware", required=True, help="catalogue name or path to a YAML / SCALE-Sim .cfg file")
    p.add_argument("--workload", required=True, help="zoo name or path to a .yaml / .onnx / SCALE-Sim .csv file")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seq-len", type=int)
    p.add_argument("--image-size", type=int)
    p.add_argument("--precision", default="bf16", help=f"one of {', '.join(PRECISION_NAMES)}")
    p.add_argument("--weight-precision", help="stored-weight format (weight-only quantization)")
    p.add_argument("--no-fused-attention", action="store_true", help="materialise the attention score matrix")
    p.add_argument("--power-cap-w", type=float, help="what-if power limit in watts")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="what-if spec override, e.g. memory.hbm.bandwidth_gbs=4000 (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("json", "table"), default="table")


def write_output(path: str, flag: str, write: Callable[[str], Any]) -> None:
    """Call ``write(path)``; a folder that does not exist, a path that is a folder or a read-only file
    becomes one :class:`InputError` naming ``flag`` (CLI exit 2), not a traceback.

    Raises:
        InputError: the file cannot be written.

    Example:
        >>> write_output("/no/such/folder/ops.csv", "--ops-csv", lambda p: open(p, "w"))
        Traceback (most recent call last):
        ...
        simulator.errors.InputError: --ops-csv: cannot write /no/such/folder/ops.csv: No such file or directory
    """
    try:
        write(path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"{flag}: cannot write {path}: {reason}") from None


def add_time_limit(p: argparse.ArgumentParser, what: str = "the command") -> None:
    """``--time-limit-s`` (default :data:`~simulator.deadline.DEFAULT_TIME_LIMIT_S`): the wall time of ``what``."""
    p.add_argument("--time-limit-s", type=float, default=DEFAULT_TIME_LIMIT_S, metavar="SECONDS",
                   help=f"stop with an error (exit 2) if {what} takes longer, loading included "
                        f"(default {DEFAULT_TIME_LIMIT_S:g} s, at most {MAX_TIME_LIMIT_S:g})")


def emit(*lines: str) -> None:
    """Print a command's answer, its time limit stopped first (the work is done).

    Example:
        >>> emit("done")
        done
    """
    disarm_hard_limit()
    for line in lines:
        print(line)
