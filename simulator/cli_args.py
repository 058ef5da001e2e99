"""Command-line pieces shared by every subcommand: the parser class, the scenario flags and
``--set KEY=VALUE`` what-ifs. The features' CLI modules (serving, sweep) import these; nothing
imports :mod:`simulator.cli`.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Sequence

from .deadline import DEFAULT_TIME_LIMIT_S, MAX_TIME_LIMIT_S, disarm_hard_limit
from .errors import InputError
from .units import PRECISION_NAMES


EXIT_STATUS = """exit status:
  0  done
  1  internal error (--debug shows the traceback)
  2  bad input: one line on stderr naming the file and field, or the extra to install
  3  DOES NOT FIT: the run needs more memory than the device has (shortfall and dominant term on stderr)"""

PRECISION_HELP = (f"compute format, one of {', '.join(PRECISION_NAMES)} (default: the device's native one: "
                  "bf16 on an H100 or a TPU, fp16 on a T4, int8 on an FPGA or an Edge TPU; `accsim show DEVICE` "
                  "lists what it supports)")
EXIT_DOES_NOT_FIT = 3


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that shows every flag's default (unless it is None or off) and keeps epilogs as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("%(default)" in text or "default:" in text or not action.option_strings
                or action.default in (None, False, argparse.SUPPRESS) or action.default == []):
            return text
        return f"{text} (default: %(default)s)".strip()


class CliParser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2), as every other bad input gets, and defaults in help."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # argparse exits 2 on bad usage too; keep one line
        self.exit(2, f"error: {message}\n")


def add_command(sub: "argparse._SubParsersAction", name: str, summary: str, func, *,
                epilog: str | None = EXIT_STATUS) -> argparse.ArgumentParser:
    """A subcommand whose one-line ``summary`` is both its entry in ``accsim --help`` and its description."""
    p = sub.add_parser(name, help=summary, description=summary, epilog=epilog)
    p.set_defaults(func=func)
    return p


def output(text: str) -> None:
    """Print a command's answer on stdout: its time limit stopped first (the work is done) and the
    progress line (:mod:`simulator.progress`) erased.

    Example:
        >>> output("done")
        done
    """
    from .progress import stop

    disarm_hard_limit()
    stop()
    print(text)


def notice(message: str) -> None:
    """One line on stderr for something the user should know but did not ask about (a fallback)."""
    sys.stdout.flush()  # after the result it qualifies, also when both go to one terminal
    print(f"note: {message}", file=sys.stderr)


def precision_notice(requested: str, effective: str | None, hardware: str) -> None:
    """Say on stderr when the device ran another format than the one asked for."""
    if effective and effective != requested:
        notice(f"{hardware} has no {requested} path; it ran in {effective} (effective_precision)")


def fit_status(fits: bool, peak_bytes: float, capacity_bytes: float, dominant: str | None, what: str) -> int:
    """0 when the run fits; else one DOES NOT FIT line on stderr (shortfall, dominant term) and exit status 3.

    Example:
        >>> fit_status(True, 1.0, 2.0, "weights", "x")
        0
    """
    if fits:
        return 0
    from .readable import nbytes

    short = max(0.0, peak_bytes - capacity_bytes)
    sys.stdout.flush()
    print(f"DOES NOT FIT: {what}: needs {nbytes(peak_bytes)} per device, {nbytes(capacity_bytes)} available: short by "
          f"{nbytes(short)}, dominated by {dominant or 'n/a'}", file=sys.stderr)
    return EXIT_DOES_NOT_FIT


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
    p.add_argument("--batch-size", type=int, help="samples per step (default: the workload's)")
    p.add_argument("--seq-len", type=int, help="tokens per sample (default: the workload's)")
    p.add_argument("--image-size", type=int, help="pixels per image side (default: the workload's)")
    p.add_argument("--precision", help=PRECISION_HELP)
    p.add_argument("--weight-precision", help="stored-weight format (weight-only quantization; default: --precision)")
    p.add_argument("--no-fused-attention", action="store_true", help="materialise the attention score matrix")
    p.add_argument("--power-cap-w", type=float, help="what-if power limit in watts (default: the TDP)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="what-if spec override, e.g. memory.hbm.bandwidth_gbs=4000 (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="recorded for reproducibility")
    p.add_argument("--format", choices=("json", "table"), default="table", help="output format")


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
