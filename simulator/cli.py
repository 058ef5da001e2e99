"""Command line: ``python -m simulator`` / ``accsim``. Exit 0 done, 1 internal error, 2 bad input,
3 the run does not fit in memory (:data:`~simulator.cli_args.EXIT_STATUS`).

Subcommands: simulate, describe, collective, list, show and app here; generate, serve and realtime
from :mod:`simulator.serving.cli`, sweep from :mod:`simulator.sweep.cli`.
"""
from __future__ import annotations

import argparse
import difflib
import json
import signal
import sys
import threading
import traceback
from typing import Sequence

from .cli_args import (EXIT_STATUS, CliParser, add_command, add_scenario_args, add_time_limit, fit_status, output,
                       parse_overrides, precision_notice, write_output)
from .deadline import check_limit, hard_time_limit
from .errors import DoesNotFitError, InfeasibleError, InputError, SimulatorError
from .progress import ticker
from .readable import nbytes, rate, seconds
from .result import to_json_text
from .show import card_text, describe_text, device_card, is_path, system_card
from .version import __version__
from .serving import cli as serving_cli
from .sweep import cli as sweep_cli


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .run.step import simulate_step
    from .workload.loader import load_workload

    workload = load_workload(args.workload, unsupported=args.unsupported_ops)
    r = simulate_step(workload, args.hardware, mode=args.mode, batch_size=args.batch_size, seq_len=args.seq_len,
                 image_size=args.image_size, precision=args.precision, weight_precision=args.weight_precision,
                 optimizer=args.optimizer, checkpointing=args.checkpointing, grad_accumulation=args.grad_accumulation,
                 fused_attention=False if args.no_fused_attention else None, power_cap_w=args.power_cap_w, seed=args.seed,
                 overrides=parse_overrides(args.set), devices=args.devices, parallelism=args.parallel,
                 microbatches=args.microbatches, symmetric=not args.no_symmetry,
                 fpga_dataflow=args.fpga_dataflow, cold_start=args.cold_start, time_limit_s=args.time_limit_s,
                 stack=args.stack, dispatch_us=args.dispatch_us,
                 seq_len_distribution=args.seq_len_distribution, packing=args.packing,
                 optimizer_tensors=args.optimizer_tensors, grad_clip=args.grad_clip,
                 input_workers=args.input_workers, prefetch=args.prefetch, host=args.host)
    text = r.to_json() if args.format == "json" else r.table()  # before any file: a non-finite result fails here
    if args.ops_csv:
        write_output(args.ops_csv, "--ops-csv", lambda path: r.ops.to_csv(path, index=False))
    if args.trace:
        write_output(args.trace, "--trace", r.to_chrome_trace)
    output(text)
    precision_notice(r.precision, r.extra.get("effective_precision"), r.hardware)
    return fit_status(r.fits_in_memory, r.peak_memory_bytes, r.memory_capacity_bytes, r.memory_dominant,
                      f"{r.workload} on {r.hardware}")


def _cmd_describe(args: argparse.Namespace) -> int:
    from .workload.describe import describe

    d = describe(args.workload, batch_size=args.batch_size, seq_len=args.seq_len, image_size=args.image_size,
                 precision=args.precision)
    output(to_json_text(d) if args.format == "json" else describe_text(d))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from .spec.loader import catalogue, load_hardware
    from .spec.system import SystemSpec
    from .workload.loader import zoo

    name = args.name
    if name in catalogue() or (is_path(name) and name.lower().endswith((".yaml", ".yml", ".cfg"))
                               and name not in zoo() and _is_hardware_file(name)):
        hw = load_hardware(name)
        card = system_card(hw) if isinstance(hw, SystemSpec) else device_card(hw)
        print(json.dumps(card, indent=2, sort_keys=True) if args.format == "json" else card_text(card))
        return 0
    if name in zoo() or is_path(name):
        args.workload = name
        return _cmd_describe(args)
    close = difflib.get_close_matches(name, [*catalogue(), *zoo()], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `accsim list hardware` and `accsim list workloads` show the names"
    raise InputError(f"{name}: no such device, system, workload or file{hint}")


def _is_hardware_file(path: str) -> bool:
    """A YAML file with a ``kind`` key (every spec has one, no workload does); a SCALE-Sim .cfg."""
    if path.lower().endswith(".cfg"):
        return True
    from .yamlio import read_yaml_file

    raw = read_yaml_file(path)
    return isinstance(raw, dict) and "kind" in raw


def _cmd_app(args: argparse.Namespace) -> int:
    import subprocess
    from pathlib import Path

    from .extras import require

    require("app", "the explorer (accsim app)")
    import explorer

    script = Path(explorer.__file__).resolve().with_name("app.py")
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.port", str(args.port), "--server.address", args.address]
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .serving.policy import list_schedulers
    from .serving.requests import list_request_mixes
    from .spec.loader import list_hardware
    from .spec.stack import list_stacks
    from .workload.loader import list_workloads

    rows = {"hardware": list_hardware, "workloads": list_workloads, "stacks": list_stacks,
            "schedulers": list_schedulers, "request-mixes": list_request_mixes}[args.what]()
    if args.kind:
        if args.what != "hardware":
            raise InputError(f"--kind: filters `list hardware`, not `list {args.what}`")
        rows = [r for r in rows if r["kind"] == args.kind]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        width = max((len(r["name"]) for r in rows), default=0) + 1  # names in one column however long
        for r in rows:
            if args.what == "hardware":
                print(f"{r['kind']:5s} {r['name']:32s} {r['display_name']}")
            elif args.what == "stacks":
                print(f"{r['name']:{width}s} {','.join(r['kinds']):24s} {r['display_name']}")
            elif args.what in ("schedulers", "request-mixes"):
                print(f"{r['name']:{width}s} {r['description']}")
            else:
                print(f"{r['name']:20s} {r['family']:12s} {r['description']}")
    return 0


def _cmd_collective(args: argparse.Namespace) -> int:
    from .run.cluster import collective_benchmark

    r = collective_benchmark(args.hardware, collective=args.collective, nbytes=args.bytes, devices=args.devices,
                             time_limit_s=args.time_limit_s)
    if args.format == "json":
        output(to_json_text(r))
    else:
        output(f"{args.collective} of {nbytes(args.bytes)} per rank on {r['devices']} x {args.hardware}: "
               f"{seconds(r['time_s'])}, algbw {rate(r['algbw_gbs'] * 1e9, 'B/s')}, "
               f"busbw {rate(r['busbw_gbs'] * 1e9, 'B/s')}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate

    res = calibrate(args.hardware, args.runs, write=args.out)
    if args.format == "json":
        print(json.dumps({"hardware": res.hardware, "params": res.params, "fitted_to": res.fitted_to,
                          "not_identified": list(res.not_identified), "rows": res.rows,
                          "before_median_pct": res.before_median_pct, "after_median_pct": res.after_median_pct,
                          "loo_median_pct": res.loo_median_pct}, indent=2, sort_keys=True))
    else:
        print(res.table() + (f"\nwrote {args.out}" if args.out else ""))
    return 0


def _add_simulate_args(p: argparse.ArgumentParser) -> None:
    add_scenario_args(p)
    p.add_argument("--mode", default="inference", help="inference or training")
    p.add_argument("--optimizer", default="adam", help="sgd, momentum, adam, adamw, adafactor (training)")
    p.add_argument("--optimizer-tensors", type=int, default=0, metavar="N",
                   help="run each optimizer pass as N kernels, one per parameter tensor (optax under XLA); "
                        "0: one fused multi-tensor kernel (training)")
    p.add_argument("--grad-clip", action="store_true",
                   help="global-norm gradient clipping before the update (training)")
    p.add_argument("--checkpointing", default="none",
                   help="none, selective, selective-mlp-up, selective-mlp, save-qkv or full (training); a +offload / +offload-all suffix keeps saved activations in host memory (several devices)")
    p.add_argument("--grad-accumulation", type=int, default=1, help="micro-batches per optimizer step")
    p.add_argument("--ops-csv", help="write the per-op table to this CSV file")
    p.add_argument("--trace", help="write a Chrome/Perfetto trace JSON to this file")
    p.add_argument("--devices", type=int, help="number of devices (default: 1, or a system spec's full size)")
    p.add_argument("--parallel", help="parallelism, e.g. dp=16,tp=8,pp=8,zero=1,ep=1,schedule=1f1b "
                                      "(default: all devices data-parallel)")
    p.add_argument("--microbatches", type=int, help="pipeline micro-batches per data-parallel replica "
                                                    "(default: up to 4 x stages)")
    p.add_argument("--no-symmetry", action="store_true", help="simulate every device, not one per stage")
    p.add_argument("--fpga-dataflow", default="overlay", help="overlay or pipelined (FPGA inference)")
    p.add_argument("--unsupported-ops", choices=("error", "fallback"), default="error",
                   help="ONNX ops we cannot map: refuse or simulate as element-wise ops")
    p.add_argument("--input-workers", type=int, help="host CPU workers decoding inputs (default: host keeps up)")
    p.add_argument("--prefetch", type=int, default=2, help="batches the host input pipeline may have ready")
    p.add_argument("--host", help="host CPU spec for --input-workers (default: intel-xeon-platinum-8480)")
    p.add_argument("--cold-start", action="store_true", help="include the FPGA bitstream load")
    p.add_argument("--stack", default="default",
                   help="software stack: a name from `accsim list stacks` (tensorrt, torch-eager, xla...) or a stack YAML")
    p.add_argument("--dispatch-us", type=float, help="eager host time per op in microseconds (default: the stack's)")
    add_time_limit(p)
    p.add_argument("--seq-len-distribution", help="variable-length samples instead of --seq-len: a bundled "
                                                  "distribution name, a YAML of quantiles or a CSV of lengths")
    p.add_argument("--packing", choices=("padded", "unpadded", "packed"), default="unpadded",
                   help="how a batch of variable-length samples runs")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = CliParser(prog="accsim", epilog=EXIT_STATUS,
                       description="Accelerator performance simulator: how long a network takes to train or serve "
                                   "on a CPU, GPU, TPU, FPGA or ASIC, and why.")
    parser.add_argument("--version", action="version", version=f"accsim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=CliParser, metavar="COMMAND")

    _add_simulate_args(add_command(sub, "simulate", "one training step or inference batch on one device or a cluster",
                                   _cmd_simulate))

    p = add_command(sub, "describe", "size of a workload: parameters, FLOPs, activations, ops (no hardware)",
                    _cmd_describe, epilog=None)
    p.add_argument("--workload", required=True, help="zoo name or path")
    _add_shape_args(p)
    add_time_limit(p)

    p = add_command(sub, "show", "one device's or system's figures with their sources, or a workload's size",
                    _cmd_show, epilog=None)
    p.add_argument("name", help="a device or system (`accsim list hardware`), a workload, or a file")
    _add_shape_args(p)

    p = add_command(sub, "collective", "one collective on a system, nccl-tests style (time, algbw, busbw)",
                    _cmd_collective, epilog=None)
    p.add_argument("--hardware", required=True, help="system or device name")
    p.add_argument("--collective", default="all_reduce", help="all_reduce, all_gather, reduce_scatter, all_to_all or p2p")
    p.add_argument("--bytes", type=float, default=2.0**30, help="message size per rank in bytes")
    p.add_argument("--devices", type=int, help="ranks (default: the system's size, or 2)")
    p.add_argument("--format", choices=("json", "table"), default="table", help="output format")
    add_time_limit(p)

    p = add_command(sub, "calibrate", "fit a device's efficiency parameters on your own measured runs and write a "
                    "derived spec", _cmd_calibrate, epilog=None)
    p.add_argument("--hardware", required=True, help="catalogue name or path to a device YAML")
    p.add_argument("--runs", required=True, help="CSV of measured runs (columns of validation/data/*.csv)")
    p.add_argument("--out", help="write the calibrated device YAML here")
    p.add_argument("--format", choices=("json", "table"), default="table", help="output format")

    p = add_command(sub, "list", "list the bundled hardware, workloads or software stacks", _cmd_list, epilog=None)
    p.add_argument("what", choices=("hardware", "workloads", "stacks", "schedulers", "request-mixes"),
                   help="what to list")
    p.add_argument("--kind", choices=("cpu", "gpu", "tpu", "fpga", "asic", "system"), help="only this kind of hardware")
    p.add_argument("--format", choices=("json", "table"), default="table", help="output format")

    p = add_command(sub, "app", "start the Streamlit explorer (needs the app extra: pip install 'accsim[app]')",
                    _cmd_app)
    p.add_argument("--port", type=int, default=8501, help="port to serve on")
    p.add_argument("--address", default="localhost", help="address to listen on")

    serving_cli.add_commands(sub)
    sweep_cli.add_commands(sub)
    return parser


def _add_shape_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch-size", type=int, help="samples (default: the workload's)")
    p.add_argument("--seq-len", type=int, help="tokens per sample (default: the workload's)")
    p.add_argument("--image-size", type=int, help="pixels per image side (default: the workload's)")
    p.add_argument("--precision", default="bf16", help="format of the weight and activation bytes")
    p.add_argument("--format", choices=("json", "table"), default="table", help="output format")



# commands that answer at once, or show their own progress (sweep) or output (app)
_QUICK = ("describe", "show", "list", "app", "sweep")


def _one_line(text: str, limit: int = 2000) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _terminate(signum: int, frame) -> None:  # noqa: ANN001 - a signal handler
    raise KeyboardInterrupt  # SIGTERM: stop as Ctrl-C does, through every cleanup on the way out


def _run(args: argparse.Namespace) -> int:
    """The command under its time limit (a sweep's is per point, applied by its workers), with the
    progress line for the commands that can take a while."""
    limit = getattr(args, "time_limit_s", None)
    check_limit(limit)
    if args.command in _QUICK:
        return int(args.func(args) or 0)
    with hard_time_limit(limit), ticker(f"accsim {args.command}"):
        return int(args.func(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 done, 1 internal error, 2 bad input, 3 does not fit,
    130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main else None
    try:
        return _run(args)
    except DoesNotFitError as exc:
        if args.debug:
            traceback.print_exc()
        return fit_status(False, exc.peak_bytes, exc.capacity_bytes, exc.dominant, exc.what)
    except (InputError, InfeasibleError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        done = "; finished points are in the store" if getattr(args, "store", None) else ""
        print(f"interrupted: stopped{done}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except SimulatorError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"internal error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the one place that turns any bug into exit 1
        if args.debug:
            traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {_one_line(exc)} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
