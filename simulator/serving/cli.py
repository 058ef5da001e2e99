"""``accsim generate``, ``accsim serve`` and ``accsim realtime``: their flags and what each runs.

:func:`add_commands` adds them to the CLI's subparsers; :mod:`simulator.cli` calls it.
"""
from __future__ import annotations

import argparse
import json
import math

from ..cli_args import (PRECISION_HELP, add_command, add_scenario_args, add_time_limit, fit_status, output,
                        parse_overrides, precision_notice, write_output)
from ..errors import InputError
from .generation import DEFAULT_DECODE_SAMPLES


def _length(text: str | None, flag: str):
    """An int, or a JSON distribution such as ``{"dist": "uniform", "low": 32, "high": 512}``."""
    if text is None:
        return None
    try:
        v = json.loads(text)
    except json.JSONDecodeError:
        raise InputError(f"{flag}: expected an integer or a JSON distribution, got {text!r}") from None
    return v


def _add_serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hardware", required=True, help="catalogue name or path to a YAML spec")
    p.add_argument("--workload", required=True, help="zoo name or path")
    p.add_argument("--arrival", default="poisson", help="poisson, constant, bursty or trace")
    p.add_argument("--rate-per-s", type=float, default=50.0, help="mean arrival rate, requests per second")
    p.add_argument("--requests",
                   help="a number of requests to draw, a request trace CSV (arrival_s,prompt_len,output_len"
                        "[,prefix_id,prefix_len]), or a request mix name (chat, code, rag, batch-offline) drawn "
                        f"at --rate-per-s for --duration-s (default: {DEFAULT_REQUESTS}, or --rate-per-s x "
                        "--duration-s when only --duration-s is given)")
    p.add_argument("--duration-s", type=float,
                   help=f"seconds of arrivals: of a request mix (default: {DEFAULT_MIX_S:g}), or alone, "
                        "--rate-per-s x this many requests")
    p.add_argument("--batching", default="dynamic", help="none, static, dynamic or continuous")
    p.add_argument("--max-batch-size", type=int, default=32, help="largest batch a replica runs")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="dynamic batching: longest a request waits for a batch")
    p.add_argument("--replicas", type=int, default=1, help="model copies serving the queue")
    p.add_argument("--stack", default="default",
                   help="software stack of the service times: a name from `accsim list stacks` or a stack YAML")
    p.add_argument("--devices", type=int, help="devices per replica (a model copy split over them)")
    p.add_argument("--parallel", help="layout of a replica's devices, e.g. tp=8 or tp=4,pp=2")
    p.add_argument("--slo-ms", type=float, help="latency objective; the result reports the share of requests within it")
    p.add_argument("--trace-file", help="CSV of arrival_s (or arrival_ms) [, prompt_len, output_len]")
    p.add_argument("--precision", help=PRECISION_HELP)
    p.add_argument("--prompt-len",
                   help='LLM prompt tokens: an integer or JSON, e.g. {"dist":"uniform","low":32,"high":512}')
    p.add_argument("--output-len", help="LLM output tokens: an integer or a JSON distribution")
    p.add_argument("--seq-len", type=int, help="tokens per request, non-LLM workloads (default: the workload's)")
    p.add_argument("--image-size", type=int, help="pixels per image side (default: the workload's)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="what-if spec override (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="seed of the arrivals and lengths")
    p.add_argument("--requests-csv", help="write one row per request to this CSV file")
    _add_scheduler_args(p)
    p.add_argument("--format", choices=("json", "table"), default="table", help="output format")
    add_time_limit(p)


def _add_scheduler_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("LLM engine scheduler (instead of --batching)")
    g.add_argument("--scheduler", help="vllm, sglang, tensorrt-llm or a policy YAML (accsim list schedulers)")
    g.add_argument("--max-num-batched-tokens", type=int, help="token budget per iteration (policy default)")
    g.add_argument("--chunked-prefill", action=argparse.BooleanOptionalAction, default=None,
                   help="split long prompts over iterations (policy default)")
    g.add_argument("--kv-block-tokens", type=int, help="tokens per KV-cache block (policy default)")
    g.add_argument("--prefix-caching", action=argparse.BooleanOptionalAction, default=None,
                   help="reuse cached shared prefixes of the trace's prefix groups (policy default)")
    g.add_argument("--preemption", choices=("recompute", "swap"), help="when KV blocks run out (policy default)")
    g.add_argument("--max-num-seqs", type=int, help="requests running at once per replica (policy default)")
    g.add_argument("--prefill-replicas", type=int, help="disaggregated serving: replicas that only prefill")
    g.add_argument("--decode-replicas", type=int, help="disaggregated serving: replicas that only decode")
    g.add_argument("--draft", help="speculative decoding: the draft model (zoo name or config.json)")
    g.add_argument("--draft-tokens", type=int, default=4, help="speculative decoding: tokens the draft proposes per step")
    g.add_argument("--acceptance", type=float, default=0.7,
                   help="speculative decoding: probability a draft token is accepted (an input: measure it)")
    p.add_argument("--slo", help="LLM latency targets in seconds, e.g. ttft_p99=0.5,tpot_p99=0.05 "
                                 "(metrics ttft, tpot, latency; p50, p90, p95, p99)")


DEFAULT_REQUESTS = 10000
DEFAULT_MIX_S = 60.0


def requests_arg(text: str | None, *, rate_per_s: float, duration_s: float | None, seed: int):
    """``--requests``: a count (int), a request trace CSV path, or a request mix name; ``--duration-s``
    alone draws ``rate_per_s x duration_s`` requests (at least one).

    Raises:
        InputError: none of those (the message lists the mixes), or ``--duration-s`` beside a count or
            a trace, which fix the requests themselves (it would otherwise be ignored silently).

    Example:
        >>> requests_arg(None, rate_per_s=5.0, duration_s=10.0, seed=0), requests_arg(None, rate_per_s=5.0, duration_s=None, seed=0)
        (50, 10000)
        >>> requests_arg("200", rate_per_s=5.0, duration_s=10.0, seed=0)
        Traceback (most recent call last):
        ...
        simulator.errors.InputError: --duration-s: applies to a request mix or stands alone (rate x duration requests); --requests 200 already fixes the requests
    """
    from .requests import list_request_mixes, load_requests, request_mix

    if text is None:
        if duration_s is None:
            return DEFAULT_REQUESTS
        if not (math.isfinite(duration_s) and duration_s > 0):
            raise InputError(f"--duration-s: must be a positive number of seconds, got {duration_s:g}")
        if not math.isfinite(rate_per_s * duration_s):  # inf or nan would reach round() as a traceback
            raise InputError(f"--rate-per-s x --duration-s: must be a finite number of requests, "
                             f"got {rate_per_s:g} x {duration_s:g}")
        return max(1, round(rate_per_s * duration_s))
    fixed = text.strip().isdigit() or text.lower().endswith(".csv")
    if fixed and duration_s is not None:
        raise InputError(f"--duration-s: applies to a request mix or stands alone (rate x duration requests); "
                         f"--requests {text} already fixes the requests")
    if text.strip().isdigit():
        return int(text)
    if text.lower().endswith(".csv"):
        return load_requests(text)
    mixes = [m["name"] for m in list_request_mixes()]
    if text in mixes or text.lower().endswith((".yaml", ".yml")):
        return request_mix(text, rate_per_s=rate_per_s, duration_s=DEFAULT_MIX_S if duration_s is None else duration_s,
                           seed=seed)
    raise InputError(f"--requests: {text!r} is not a count, a .csv trace or a request mix ({', '.join(mixes)})")


def _cmd_serve(args: argparse.Namespace) -> int:
    from .run import serve

    arrival = args.arrival
    if args.trace_file and arrival == "poisson":
        arrival = "trace"  # --trace-file alone means replay it
    if args.trace_file and args.duration_s is not None:
        # the file's times fix the arrivals, so --rate-per-s x --duration-s would only cut it at an unrelated count
        raise InputError("--duration-s: a --trace-file fixes the arrivals; --requests N replays its first N")
    requests = requests_arg(args.requests, rate_per_s=args.rate_per_s, duration_s=args.duration_s, seed=args.seed)
    r = serve(args.workload, args.hardware, arrival=arrival, rate_per_s=args.rate_per_s, requests=requests,
              batching=args.batching, max_batch_size=args.max_batch_size, max_wait_ms=args.max_wait_ms,
              replicas=args.replicas, slo_ms=args.slo_ms, seed=args.seed, trace_file=args.trace_file,
              precision=args.precision, prompt_len=_length(args.prompt_len, "--prompt-len"),
              output_len=_length(args.output_len, "--output-len"), seq_len=args.seq_len,
              image_size=args.image_size, overrides=parse_overrides(args.set), devices=args.devices,
              parallelism=args.parallel, scheduler=args.scheduler, slo=args.slo,
              max_num_batched_tokens=args.max_num_batched_tokens, chunked_prefill=args.chunked_prefill,
              kv_block_tokens=args.kv_block_tokens, prefix_caching=args.prefix_caching, preemption=args.preemption,
              max_num_seqs=args.max_num_seqs,
              speculative=({"draft": args.draft, "tokens": args.draft_tokens, "acceptance": args.acceptance}
                           if args.draft else None),
              disaggregated=({"prefill_replicas": args.prefill_replicas, "decode_replicas": args.decode_replicas}
                             if args.prefill_replicas or args.decode_replicas else None),
              time_limit_s=args.time_limit_s, stack=args.stack)
    text = r.to_json() if args.format == "json" else r.table()
    if args.requests_csv:
        write_output(args.requests_csv, "--requests-csv", lambda path: r.request_table.to_csv(path, index=False))
    output(text)
    return 0


def _add_realtime_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hardware", required=True, help="catalogue name or path")
    p.add_argument("--stream", action="append", required=True, metavar="WORKLOAD:FPS[:COUNT]",
                   help="periodic stream, e.g. yolov5s:30:8 (repeatable)")
    p.add_argument("--deadline-ms", type=float, help="relative deadline (default: each stream's frame period)")
    p.add_argument("--duration-s", type=float, default=10.0, help="seconds of frame releases simulated")
    p.add_argument("--scheduler", default="edf", help="edf or fifo")
    p.add_argument("--precision", help=PRECISION_HELP)
    p.add_argument("--seed", type=int, default=0, help="seed of the streams' phases")
    p.add_argument("--format", choices=("json", "table"), default="table", help="output format")
    add_time_limit(p)


def parse_stream(text: str) -> dict:
    """``"yolov5s:30:8"`` -> ``{"workload": "yolov5s", "fps": 30.0, "count": 8}``.

    Raises:
        InputError: not WORKLOAD:FPS[:COUNT] with a positive FPS and count.
    """
    parts = text.split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        out = {"workload": parts[0], "fps": float(parts[1])}
        if len(parts) == 3:
            out["count"] = int(parts[2])
    except ValueError:
        raise InputError(f"--stream: expected WORKLOAD:FPS[:COUNT], got {text!r}") from None
    return out


def _cmd_realtime(args: argparse.Namespace) -> int:
    from .realtime import realtime

    r = realtime([parse_stream(s) for s in args.stream], args.hardware, deadline_ms=args.deadline_ms,
                 duration_s=args.duration_s, scheduler=args.scheduler, precision=args.precision, seed=args.seed,
                 time_limit_s=args.time_limit_s)
    output(r.to_json() if args.format == "json" else r.table())
    return 0


def _add_cli_args(p: argparse.ArgumentParser) -> None:
    add_scenario_args(p)
    p.add_argument("--prompt-len", type=int, default=512, help="prompt tokens per sequence")
    p.add_argument("--output-len", type=int, default=128, help="generated tokens per sequence")
    p.add_argument("--kv-precision", help="KV-cache format (default: --precision)")
    p.set_defaults(batch_size=8)
    next(a for a in p._actions if a.dest == "batch_size").help = "sequences generated together"
    p.add_argument("--decode-samples", type=int, default=DEFAULT_DECODE_SAMPLES,
                   help="decode positions simulated, the rest interpolated (0: every step)")
    p.add_argument("--devices", type=int, help="serve on this many devices (a system spec defaults to its size)")
    p.add_argument("--parallel", help="parallelism, e.g. tp=2 or dp=2,tp=4,pp=2")
    p.add_argument("--microbatches", type=int, help="pipeline micro-batches per data-parallel replica")
    p.add_argument("--stack", default="default",
                   help="software stack: a name from `accsim list stacks` (tensorrt, xla...) or a stack YAML")
    add_time_limit(p)


def _cmd_generate(args: argparse.Namespace) -> int:
    from .generation import generate

    if args.seq_len is not None or args.image_size is not None:
        raise InputError("generate: use --prompt-len and --output-len instead of --seq-len / --image-size")
    g = generate(args.workload, args.hardware, batch_size=args.batch_size, prompt_len=args.prompt_len,
                 output_len=args.output_len, precision=args.precision, weight_precision=args.weight_precision,
                 kv_precision=args.kv_precision, fused_attention=False if args.no_fused_attention else None,
                 power_cap_w=args.power_cap_w, overrides=parse_overrides(args.set),
                 decode_samples=None if args.decode_samples == 0 else args.decode_samples, devices=args.devices,
                 parallelism=args.parallel, microbatches=args.microbatches, stack=args.stack,
                 time_limit_s=args.time_limit_s)
    output(g.to_json() if args.format == "json" else g.table())
    precision_notice(g.precision, g.effective_precision, g.hardware)
    return fit_status(g.fits_in_memory, g.peak_memory_bytes, g.memory_capacity_bytes, g.memory_dominant,
                      f"{g.workload} on {g.hardware} (prompt {g.prompt_len} + output {g.output_len} tokens)")


PLAN_DEVICES = ("nvidia-h100-sxm", "nvidia-a100-sxm-80gb", "nvidia-l4", "google-tpu-v5e", "aws-inferentia2")


def _add_plan_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workload", required=True, help="decoder LLM: zoo name, Hugging Face config.json or YAML")
    p.add_argument("--devices", default=",".join(PLAN_DEVICES),
                   help=f"comma-separated device names to consider (default: {', '.join(PLAN_DEVICES)})")
    p.add_argument("--requests", required=True,
                   help="a request trace CSV or a request mix (chat, code, rag, batch-offline)")
    p.add_argument("--rate-per-s", type=float, default=10.0, help="request mix: arrivals per second")
    p.add_argument("--duration-s", type=float, help=f"request mix: seconds of arrivals (default: {DEFAULT_MIX_S:g})")
    p.add_argument("--seed", type=int, default=0, help="seed of the request mix")
    p.add_argument("--slo", required=True, help="targets in seconds, e.g. ttft_p99=0.5,tpot_p99=0.05")
    p.add_argument("--objective", default="cost_per_million_tokens", help="cost_per_million_tokens or energy_per_token_j")
    p.add_argument("--scheduler", default="vllm", help="vllm, sglang, tensorrt-llm or a policy YAML")
    p.add_argument("--precision", help=PRECISION_HELP)
    p.add_argument("--devices-per-replica", default="1,2,4,8", help="comma-separated devices per model copy")
    p.add_argument("--max-replicas", type=int, default=8, help="largest number of model copies")
    p.add_argument("--max-num-seqs", default="64,128,256", help="comma-separated batch limits to try")
    p.add_argument("--no-pipeline", action="store_true", help="tensor parallel layouts only")
    p.add_argument("--price", action="append", metavar="DEVICE=USD_PER_HOUR",
                   help="price per device-hour for a device without one in its spec (repeatable)")
    p.add_argument("--exhaustive", action="store_true", help="simulate every candidate that fits (no pruning)")
    p.add_argument("--table-csv", help="write every candidate with its status and reason to this CSV")
    p.add_argument("--format", choices=("json", "table"), default="table", help="output format")
    add_time_limit(p)


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError(f"{flag}: expected comma-separated integers, got {text!r}") from None


def _prices(items: list[str] | None) -> dict[str, float]:
    out = {}
    for item in items or ():
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise InputError(f"--price: expected DEVICE=USD_PER_HOUR, got {item!r}") from None
    return out


def _cmd_plan(args: argparse.Namespace) -> int:
    from ..result import to_json_text
    from .plan import plan_deployment

    trace = requests_arg(args.requests, rate_per_s=args.rate_per_s, duration_s=args.duration_s, seed=args.seed)
    if isinstance(trace, int):
        raise InputError("--requests: give a trace CSV or a request mix name for a plan")
    plan = plan_deployment(args.workload, devices=[d.strip() for d in args.devices.split(",") if d.strip()],
                           requests=trace, slo=args.slo, objective=args.objective, scheduler=args.scheduler,
                           precision=args.precision, devices_per_replica=_ints(args.devices_per_replica,
                                                                                 "--devices-per-replica"),
                           max_replicas=args.max_replicas, max_num_seqs=_ints(args.max_num_seqs, "--max-num-seqs"),
                           pipeline=not args.no_pipeline, prices=_prices(args.price), exhaustive=args.exhaustive)
    if args.table_csv:
        write_output(args.table_csv, "--table-csv", lambda path: plan.table.to_csv(path, index=False))
    if args.format == "json":
        output(to_json_text({"best": plan.best, "slo": plan.slo, "objective": plan.objective,
                             "pareto": plan.pareto.to_dict(orient="records"),
                             "status_counts": plan.table["status"].value_counts().to_dict()}))
    else:
        output(plan.summary())
    return 0


def add_commands(sub: "argparse._SubParsersAction") -> None:
    """Add ``generate``, ``serve``, ``plan`` and ``realtime`` to the CLI's subparsers."""
    for name, summary, add_args, run in (
            ("generate", "LLM generation: prefill (time to first token), then decode steps with a growing KV cache",
             _add_cli_args, _cmd_generate),
            ("serve", "serving under load: request arrivals, batching, replicas; latency percentiles and SLOs",
             _add_serve_args, _cmd_serve),
            ("plan", "cheapest LLM deployment meeting an SLO: devices, layouts, replicas, batch limits searched",
             _add_plan_args, _cmd_plan),
            ("realtime", "periodic real-time streams on one device: deadlines met under EDF or FIFO",
             _add_realtime_args, _cmd_realtime)):
        add_args(add_command(sub, name, summary, run))
