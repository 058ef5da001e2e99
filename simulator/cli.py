"""Command line: ``python -m simulator`` / ``accsim``. Exit 0 done, 2 bad input, 1 internal error.

Subcommands: simulate, describe, collective and list here; generate, serve and realtime from
:mod:`simulator.serving.cli`, sweep from :mod:`simulator.sweep.cli`.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import traceback
from typing import Sequence

from .cli_args import CliParser, add_scenario_args, add_time_limit, emit, parse_overrides, write_output
from .deadline import check_limit, hard_time_limit
from .errors import InfeasibleError, InputError, SimulatorError
from .result import to_json_text
from .serving import cli as serving_cli
from .sweep import cli as sweep_cli


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .run.step import simulate_step
    from .workload.loader import load_workload

    workload = load_workload(args.workload, unsupported=args.unsupported_ops)
    r = simulate_step(workload, args.hardware, mode=args.mode, batch_size=args.batch_size, seq_len=args.seq_len,
                 image_size=args.image_size, precision=args.precision, weight_precision=args.weight_precision,
                 optimizer=args.optimizer, checkpointing=args.checkpointing, grad_accumulation=args.grad_accumulation,
                 fused_attention=not args.no_fused_attention, power_cap_w=args.power_cap_w, seed=args.seed,
                 overrides=parse_overrides(args.set), devices=args.devices, parallelism=args.parallel,
                 microbatches=args.microbatches, symmetric=not args.no_symmetry,
                 fpga_dataflow=args.fpga_dataflow, cold_start=args.cold_start, time_limit_s=args.time_limit_s,
                 stack=args.stack, dispatch_us=args.dispatch_us,
                 input_workers=args.input_workers, prefetch=args.prefetch, host=args.host)
    text = r.to_json() if args.format == "json" else r.table()
    if args.ops_csv:
        write_output(args.ops_csv, "--ops-csv", lambda path: r.ops.to_csv(path, index=False))
    if args.trace:
        write_output(args.trace, "--trace", r.to_chrome_trace)
    emit(text)
    return 0


def _cmd_describe(args: argparse.Namespace) -> int:
    from .workload.describe import describe

    d = describe(args.workload, batch_size=args.batch_size, seq_len=args.seq_len, image_size=args.image_size,
                 precision=args.precision)
    if args.format == "json":
        emit(to_json_text(d))
    else:
        emit(*(f"{k:22s} {v}" for k, v in d.items()))
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .spec.loader import list_hardware
    from .workload.loader import list_workloads

    rows = list_hardware() if args.what == "hardware" else list_workloads()
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            if args.what == "hardware":
                print(f"{r['kind']:5s} {r['name']:32s} {r['display_name']}")
            else:
                print(f"{r['name']:20s} {r['family']:12s} {r['description']}")
    return 0


def _cmd_collective(args: argparse.Namespace) -> int:
    from .run.cluster import collective_benchmark

    r = collective_benchmark(args.hardware, collective=args.collective, nbytes=args.bytes, devices=args.devices,
                             time_limit_s=args.time_limit_s)
    if args.format == "json":
        emit(to_json_text(r))
    else:
        emit(f"{args.collective} of {args.bytes:.4g} B on {r['devices']} x {args.hardware}: "
             f"{r['time_s'] * 1e3:.3f} ms, algbw {r['algbw_gbs']:.1f} GB/s, busbw {r['busbw_gbs']:.1f} GB/s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = CliParser(prog="accsim", description="Accelerator performance simulator")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=CliParser)

    p = sub.add_parser("simulate", help="one training step or inference batch on one device")
    add_scenario_args(p)
    p.add_argument("--mode", default="inference", help="inference or training")
    p.add_argument("--optimizer", default="adam", help="sgd, momentum, adam, adamw, adafactor")
    p.add_argument("--checkpointing", default="none", help="none, selective, selective-mlp or full")
    p.add_argument("--grad-accumulation", type=int, default=1)
    p.add_argument("--ops-csv", help="write the per-op table to this CSV file")
    p.add_argument("--trace", help="write a Chrome/Perfetto trace JSON to this file")
    p.add_argument("--devices", type=int, help="number of devices (a system spec defaults to its size)")
    p.add_argument("--parallel", help="parallelism, e.g. dp=16,tp=8,pp=8,zero=1,ep=1,schedule=1f1b")
    p.add_argument("--microbatches", type=int, help="pipeline micro-batches per data-parallel replica")
    p.add_argument("--no-symmetry", action="store_true", help="simulate every device, not one per stage")
    p.add_argument("--fpga-dataflow", default="overlay", help="overlay or pipelined (FPGA inference)")
    p.add_argument("--unsupported-ops", choices=("error", "fallback"), default="error",
                   help="ONNX ops we cannot map: refuse (default) or simulate as element-wise ops")
    p.add_argument("--input-workers", type=int, help="host CPU workers decoding inputs (default: host keeps up)")
    p.add_argument("--prefetch", type=int, default=2, help="batches the host input pipeline may have ready")
    p.add_argument("--host", help="host CPU spec for --input-workers (default intel-xeon-platinum-8480)")
    p.add_argument("--cold-start", action="store_true", help="include the FPGA bitstream load")
    p.add_argument("--stack", default="default", help="software stack: default, eager or compiled")
    p.add_argument("--dispatch-us", type=float, help="eager host time per op in microseconds")
    add_time_limit(p)
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("describe", help="size of a workload: parameters, FLOPs, activations, ops")
    p.add_argument("--workload", required=True)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seq-len", type=int)
    p.add_argument("--image-size", type=int)
    p.add_argument("--precision", default="bf16")
    p.add_argument("--format", choices=("json", "table"), default="table")
    add_time_limit(p)
    p.set_defaults(func=_cmd_describe)

    p = sub.add_parser("collective", help="one collective on a system, nccl-tests style (time, algbw, busbw)")
    p.add_argument("--hardware", required=True, help="system or device name")
    p.add_argument("--collective", default="all_reduce",
                   help="all_reduce, all_gather, reduce_scatter, all_to_all or p2p")
    p.add_argument("--bytes", type=float, default=2.0**30, help="message size per rank in bytes")
    p.add_argument("--devices", type=int)
    p.add_argument("--format", choices=("json", "table"), default="table")
    add_time_limit(p)
    p.set_defaults(func=_cmd_collective)

    p = sub.add_parser("list", help="list bundled hardware or workloads")
    p.add_argument("what", choices=("hardware", "workloads"))
    p.add_argument("--format", choices=("json", "table"), default="table")
    p.set_defaults(func=_cmd_list)

    serving_cli.add_commands(sub)
    sweep_cli.add_commands(sub)
    return parser


def _one_line(text: str, limit: int = 2000) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _terminate(signum: int, frame) -> None:  # noqa: ANN001 - a signal handler
    raise KeyboardInterrupt  # SIGTERM: stop as Ctrl-C does, through every cleanup on the way out


def _run(args: argparse.Namespace) -> int:
    """The command, under its time limit (a sweep's is per point, applied by its workers)."""
    limit = getattr(args, "time_limit_s", None)
    check_limit(limit)
    if args.command == "sweep":
        return int(args.func(args) or 0)
    with hard_time_limit(limit):
        return int(args.func(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 done, 2 bad input, 1 internal error, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main else None
    try:
        return _run(args)
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
