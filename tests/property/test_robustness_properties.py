"""Whatever a user types or uploads: exit 0 with finite, physical results, exit 2 with one line, or exit 3 with its DOES NOT FIT line.

Three generators, each run against the real entry points (issue #22):

* **ONNX models** built here: chains of mapped ops with initializers, constants computed at load time
  (``ConstantOfShape``, ``Range``, ``Expand`` of drawn shapes, huge ones included), local functions
  nested and repeated (some would inline to millions of nodes, some call themselves), weights in
  external data files (some pointing past the end or outside the folder), loaded and simulated;
* **CLI argument lists** drawn for every run command and parsed by the real parser (``cli.main``);
* **API arguments** drawn as arbitrary Python values for :func:`simulator.simulate`, ``generate``,
  ``serve``, ``realtime``, ``collective_benchmark`` and ``max_batch_size``.

Every case runs under a time bound (``time_limit_s``: a case past it is an exit 2 with the
time-limit line, never a hang) and a memory bound (``RLIMIT_AS`` lowered to what the process had plus
:data:`MEMORY_BOUND`, so an unbounded allocation is a MemoryError, which fails the case). Each
property also has a ``slow`` copy that ``make fuzz`` runs with the ``fuzz`` profile.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import resource
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import simulator as sim
from simulator import cli
from simulator.errors import InfeasibleError, InputError

LIMIT_S = 8.0  # time bound of one case
MEMORY_BOUND = 2 * 2**30  # what one case may add to the address space
CASES = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                        HealthCheck.data_too_large, HealthCheck.filter_too_much])
_COUNTER = itertools.count()


def _vm_bytes() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@pytest.fixture
def bounded_memory():
    """Lower the address-space limit for the test; restored after (an unprivileged process may raise it back)."""
    vm = _vm_bytes()
    if vm is None:
        pytest.skip("no /proc/self/status: the memory bound needs Linux")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = vm + MEMORY_BOUND if hard == resource.RLIM_INFINITY else min(vm + MEMORY_BOUND, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("robust")


# --- what every outcome must satisfy --------------------------------------------------------------------
def _finite_numbers(x: Any, where: str = "") -> None:
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return
    if isinstance(x, (int, float)):
        assert math.isfinite(x), f"{where}: {x}"
        return
    if isinstance(x, dict):
        for k, v in x.items():
            _finite_numbers(v, f"{where}.{k}")
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            _finite_numbers(v, f"{where}.{i}")


def _physical(summary: dict) -> None:
    """Finite numbers; times, energies, memory non-negative; no faster than the hardware's peak."""
    _finite_numbers(summary, "summary")
    for key in ("step_time_s", "energy_j", "peak_memory_bytes", "average_power_w", "total_flops", "ttft_s",
                "tpot_s", "latency_p99_s", "time_s", "throughput_samples_per_s", "tokens_per_s"):
        if key in summary and summary[key] is not None:
            assert summary[key] >= 0, (key, summary[key])
    if "utilization" in summary and "step_time_s" in summary:  # a step (serving's is a busy share)
        assert summary["utilization"] <= 1 + 1e-9, summary["utilization"]


def _one_line_refusal(exc: BaseException) -> None:
    assert isinstance(exc, (InputError, InfeasibleError)), f"{type(exc).__name__}: {exc}"
    assert "\n" not in str(exc) and str(exc), str(exc)


def _api_case(call: Callable[[], Any]) -> None:
    try:
        out = call()
    except (InputError, InfeasibleError) as exc:
        _one_line_refusal(exc)
        event("refused")
        return
    event("ran")
    if isinstance(out, int):  # max_batch_size
        assert out >= 0
        return
    summary = out.to_dict() if hasattr(out, "to_dict") else out
    if isinstance(summary, dict) and "summary" in summary:
        summary = summary["summary"]
    _physical(summary)
    if hasattr(out, "to_json"):
        json.loads(out.to_json(), parse_constant=lambda c: pytest.fail(f"non-finite JSON constant {c}"))


def _cli_case(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
    lines = err.getvalue().strip().splitlines()
    # 3 is the documented DOES NOT FIT exit (simulator.cli_args.EXIT_STATUS): a model bigger than the device
    assert code in (0, 2, 3), f"exit {code} for {argv}: {err.getvalue()[-600:]}"
    event(f"{argv[0]}: exit {code}")
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("error:"), (argv, lines[:5])
        return
    if code == 3:
        assert any(line.startswith("DOES NOT FIT:") for line in lines), (argv, lines[:5])
        return
    if "--format" in argv and argv[argv.index("--format") + 1] == "json":
        data = json.loads(out.getvalue(), parse_constant=lambda c: pytest.fail(f"non-finite JSON {c} for {argv}"))
        _physical(data if isinstance(data, dict) else {})


# --- ONNX models -----------------------------------------------------------------------------------------
F = TensorProto.FLOAT


@st.composite
def onnx_models(draw) -> tuple[onnx.ModelProto, dict[str, bytes]]:
    """A model of 1-8 steps on a [N, W] input, and the external data files it names (name -> bytes)."""
    width = width0 = draw(st.sampled_from([1, 3, 8, 16]))
    nodes, inits, files, cur, funcs = [], [], {}, "x", []
    for i in range(draw(st.integers(1, 8))):
        out = f"t{i}"
        kind = draw(st.sampled_from(["relu", "matmul", "add_const", "softmax", "reshape", "const_fold", "range",
                                     "expand", "function", "transpose", "concat", "custom"]))
        if kind == "relu":
            nodes.append(helper.make_node(draw(st.sampled_from(["Relu", "Tanh", "Sigmoid", "Exp"])), [cur], [out]))
        elif kind == "matmul":
            n_out = draw(st.sampled_from([1, 4, 16]))
            w = numpy_helper.from_array(np.ones((width, n_out), np.float32), f"w{i}")
            if draw(st.booleans()):  # the weights in an external file, maybe broken
                w.data_location = TensorProto.EXTERNAL
                length = width * n_out * 4
                loc = draw(st.sampled_from([f"w{i}.bin", "../escape.bin", "/etc/passwd", "missing.bin"]))
                short = draw(st.booleans())
                for k, v in (("location", loc), ("offset", "0"), ("length", str(length))):
                    w.external_data.add(key=k, value=v)
                w.ClearField("raw_data")
                files[f"w{i}.bin"] = b"\0" * (length // 2 if short else length)
            inits.append(w)
            nodes.append(helper.make_node("MatMul", [cur, f"w{i}"], [out]))
            width = n_out
        elif kind == "add_const":
            inits.append(numpy_helper.from_array(np.ones((width,), np.float32), f"b{i}"))
            nodes.append(helper.make_node(draw(st.sampled_from(["Add", "Mul", "Div"])), [cur, f"b{i}"], [out]))
        elif kind == "softmax":
            nodes.append(helper.make_node("Softmax", [cur], [out], axis=-1))
        elif kind == "reshape":
            inits.append(numpy_helper.from_array(np.array([-1, width], np.int64), f"s{i}"))
            nodes.append(helper.make_node("Reshape", [cur, f"s{i}"], [out]))
        elif kind in ("const_fold", "range", "expand"):
            dims = draw(st.lists(st.sampled_from([1, width, 7, 30000, 10**6]), min_size=1, max_size=3))
            inits.append(numpy_helper.from_array(np.array(dims, np.int64), f"s{i}"))
            nodes.append(helper.make_node("Abs", [f"s{i}"], [f"a{i}"]))  # inference cannot follow: folded
            if kind == "const_fold":
                nodes.append(helper.make_node("ConstantOfShape", [f"a{i}"], [f"c{i}"],
                                              value=helper.make_tensor("v", F, [1], [1.0])))
            elif kind == "range":
                inits.append(numpy_helper.from_array(np.array(0, np.int64), f"z{i}"))
                inits.append(numpy_helper.from_array(np.array(1, np.int64), f"o{i}"))
                nodes.append(helper.make_node("ReduceProd", [f"a{i}"], [f"p{i}"], keepdims=0))
                nodes.append(helper.make_node("Range", [f"z{i}", f"p{i}", f"o{i}"], [f"r{i}"]))
                nodes.append(helper.make_node("Cast", [f"r{i}"], [f"c{i}"], to=F))
            else:
                inits.append(numpy_helper.from_array(np.ones((1,), np.float32), f"e{i}"))
                nodes.append(helper.make_node("Expand", [f"e{i}", f"a{i}"], [f"c{i}"]))
            nodes.append(helper.make_node("ReduceSum", [f"c{i}"], [f"q{i}"], keepdims=0))
            nodes.append(helper.make_node("Add", [cur, f"q{i}"], [out]))
        elif kind == "function":
            fan, depth = draw(st.integers(1, 12)), draw(st.integers(1, 8))
            rec = draw(st.integers(0, 9)) == 0
            base = len(funcs)
            for d in range(depth):
                callee = f"f{base + d - 1}" if d else None
                body = [helper.make_node("Relu" if callee is None else callee, [f"u{j}" if j else "a"],
                                         [f"u{j + 1}" if j < fan - 1 else "b"], domain="" if callee is None else "l")
                        for j in range(fan)]
                if rec and d == depth - 1:
                    body[-1] = helper.make_node(f"f{base + d}", [body[-1].input[0]], ["b"], domain="l")
                funcs.append(helper.make_function("l", f"f{base + d}", ["a"], ["b"], body,
                                                  [helper.make_opsetid("", 17), helper.make_opsetid("l", 1)]))
            nodes.append(helper.make_node(f"f{base + depth - 1}", [cur], [out], domain="l"))
        elif kind == "transpose":
            nodes.append(helper.make_node("Transpose", [cur], [out], perm=[0, 1]))
        elif kind == "concat":
            nodes.append(helper.make_node("Concat", [cur, cur], [out], axis=-1))
            width *= 2
        else:  # an op of a custom domain: refused, or simulated with unsupported="fallback"
            nodes.append(helper.make_node("Mystery", [cur], [out], domain="acme"))
        cur = out
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, ["N", width0])],
                              [helper.make_tensor_value_info(cur, F, ["N", "W"])], initializer=inits)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("l", 1), helper.make_opsetid("acme", 1)]
    return helper.make_model(graph, opset_imports=opsets, functions=funcs), files


def _onnx_case(folder: Path, model: onnx.ModelProto, files: dict[str, bytes], fallback: bool, hw: str) -> None:
    case = folder / f"m{next(_COUNTER)}"
    case.mkdir()
    for name, data in files.items():
        (case / name).write_bytes(data)
    path = case / "model.onnx"
    path.write_bytes(model.SerializeToString())

    def run():
        wl = sim.load_workload(path, unsupported="fallback" if fallback else "error")
        return sim.simulate(wl, hw, batch_size=2, time_limit_s=LIMIT_S)
    _api_case(run)


ONNX_DEVICES = st.sampled_from(["nvidia-t4", "intel-xeon-platinum-8480", "google-tpu-v4", "amd-alveo-u250"])


@CASES
@given(case=onnx_models(), fallback=st.booleans(), hw=ONNX_DEVICES)
def test_generated_onnx_loads_and_simulates_or_is_refused(scratch, bounded_memory, case, fallback, hw):
    _onnx_case(scratch, *case, fallback, hw)


@pytest.mark.slow
@CASES
@given(case=onnx_models(), fallback=st.booleans(), hw=ONNX_DEVICES)
def test_generated_onnx_loads_and_simulates_or_is_refused_fuzz(scratch, bounded_memory, case, fallback, hw):
    _onnx_case(scratch, *case, fallback, hw)


# --- CLI argument lists ------------------------------------------------------------------------------------
def _mostly(valid, hostile) -> st.SearchStrategy:
    """Valid values four times in five: hostile ones alone would stop every run at its first flag."""
    return st.sampled_from(range(5)).flatmap(lambda i: hostile if i == 4 else valid)


JUNK = st.one_of(st.text(max_size=12), st.sampled_from(["", "x" * 300, "nan", "-1", "1e400", "tp=2,tp=4", "dp=0",
                                                        "../../etc/passwd", "/dev/zero", "\x00"]))
INTS = _mostly(st.integers(1, 64), st.one_of(st.integers(-3, 0), st.sampled_from([10**7, 10**9, 2**63, -2**63])))
FLOATS = _mostly(st.floats(1e-3, 1e4), st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                                  st.sampled_from([0.0, -1.0, 1e-300, 1e300])))
HARDWARE = _mostly(st.sampled_from(["nvidia-t4", "nvidia-h100-sxm", "google-tpu-v4", "intel-xeon-platinum-8480",
                                    "amd-alveo-u250", "mit-eyeriss", "dgx-h100", "tpu-v5e-256", "trn1-32xl",
                                    "aws-inferentia2", "google-edge-tpu"]), JUNK)
WORKLOADS = _mostly(st.sampled_from(["mlp", "lenet5", "gpt2", "resnet18", "lstm", "mobilenet-v2", "bert-base"]), JUNK)
PRECISIONS = _mostly(st.sampled_from(["bf16", "fp16", "fp32", "int8", "fp8", "int4"]), JUNK)


def _flag(name: str, values) -> st.SearchStrategy[list[str]]:
    return st.sampled_from(range(3)).flatmap(lambda i: values.map(lambda v: [name, str(v)]) if i == 2 else st.just([]))


def _flags(*pairs) -> st.SearchStrategy[list[str]]:
    return st.tuples(*(_flag(n, v) for n, v in pairs)).map(lambda parts: [a for p in parts for a in p])


SCENARIO = (("--batch-size", INTS), ("--seq-len", INTS), ("--precision", PRECISIONS), ("--power-cap-w", FLOATS),
            ("--seed", INTS), ("--set", _mostly(st.sampled_from(["compute.clock_ghz=1.5", "efficiency.memory=0.5"]),
                                        st.sampled_from(["compute.cores=1", "memory.hbm.bandwidth_gbs=1e-9", "x=1",
                                                         "power.idle_w=1e5", "compute.clock_ghz=nan", "noequals"]))))
COMMANDS = {
    "simulate": SCENARIO + (("--mode", st.sampled_from(["training", "inference", "serving"])), ("--devices", INTS),
                            ("--parallel", st.sampled_from(["tp=2", "dp=2,tp=2", "pp=2", "tp=2,tp=4", "vp=3,pp=2",
                                                            "zero=7", "dp=x"])), ("--microbatches", INTS),
                            ("--grad-accumulation", INTS), ("--fpga-dataflow", st.sampled_from(["pipelined", "x"])),
                            ("--stack", st.sampled_from(["eager", "compiled", "jit"])), ("--image-size", INTS),
                            ("--input-workers", INTS), ("--checkpointing", st.sampled_from(["full", "no"]))),
    "generate": SCENARIO[:1] + SCENARIO[2:] + (("--prompt-len", INTS), ("--output-len", INTS), ("--decode-samples", INTS),
                            ("--devices", INTS), ("--kv-precision", PRECISIONS)),
    "serve": (("--requests", INTS), ("--rate-per-s", FLOATS), ("--batching", st.sampled_from(["none", "static",
                                                                                             "dynamic", "continuous",
                                                                                             "x"])),
              ("--max-batch-size", INTS), ("--replicas", INTS), ("--seed", INTS), ("--slo-ms", FLOATS),
              ("--arrival", st.sampled_from(["poisson", "bursty", "constant", "trace"])), ("--max-wait-ms", FLOATS),
              ("--prompt-len", st.sampled_from(["8", "-1", '{"dist": "uniform", "low": 4, "high": 16}', "{"]))),
    "realtime": (("--duration-s", FLOATS), ("--deadline-ms", FLOATS), ("--scheduler", st.sampled_from(["edf", "x"])),
                 ("--seed", INTS)),
    "collective": (("--bytes", FLOATS), ("--devices", INTS),
                   ("--collective", st.sampled_from(["all_reduce", "all_to_all", "p2p", "x"]))),
    "describe": (("--batch-size", INTS), ("--seq-len", INTS), ("--precision", PRECISIONS)),
}


@st.composite
def argvs(draw) -> list[str]:
    cmd = draw(st.sampled_from(sorted(COMMANDS)))
    argv = [cmd]
    if cmd != "describe":
        argv += ["--hardware", draw(HARDWARE)]
    if cmd == "realtime":
        argv += ["--stream", draw(_mostly(st.sampled_from(["mlp:30", "lenet5:100:4", "resnet18:10:2"]),
                                          st.sampled_from(["mlp:0", "mlp", "gpt2:1e9:1", "x:1:1", "mlp:nan"])))]
    elif cmd == "generate":
        argv += ["--workload", draw(_mostly(st.just("gpt2"), WORKLOADS))]
    elif cmd != "collective":
        argv += ["--workload", draw(WORKLOADS)]
    argv += draw(_flags(*COMMANDS[cmd]))
    return argv + ["--format", draw(st.sampled_from(["json", "table"])), "--time-limit-s", str(LIMIT_S)]


@CASES
@given(argv=argvs())
def test_generated_cli_arguments_exit_0_with_physical_results_or_2_with_one_line(bounded_memory, argv):
    _cli_case(argv)


@pytest.mark.slow
@CASES
@given(argv=argvs())
def test_generated_cli_arguments_exit_0_with_physical_results_or_2_with_one_line_fuzz(bounded_memory, argv):
    _cli_case(argv)


# --- API arguments -----------------------------------------------------------------------------------------
VALUES = st.one_of(st.none(), st.booleans(), INTS, FLOATS, JUNK, st.lists(st.integers(-2, 4), max_size=3),
                   st.dictionaries(st.sampled_from(["data", "tensor", "dist", "low", "high"]), st.integers(-1, 4),
                                   max_size=2))
KWARGS = {
    "simulate": ["mode", "batch_size", "seq_len", "image_size", "precision", "weight_precision", "optimizer",
                 "checkpointing", "grad_accumulation", "fused_attention", "power_cap_w", "seed", "devices",
                 "parallelism", "microbatches", "symmetric", "fpga_dataflow", "stack", "dispatch_us", "overrides"],
    "generate": ["batch_size", "prompt_len", "output_len", "precision", "kv_precision", "decode_samples", "devices",
                 "power_cap_w"],
    "serve": ["arrival", "rate_per_s", "requests", "batching", "max_batch_size", "max_wait_ms", "replicas", "slo_ms",
              "seed", "prompt_len", "output_len"],
    "collective_benchmark": ["collective", "nbytes", "devices"],
    "max_batch_size": ["mode", "limit", "seq_len", "precision"],
}


@st.composite
def api_calls(draw) -> tuple[str, Any, dict[str, Any]]:
    fn = draw(st.sampled_from(sorted(KWARGS)))
    kw = {k: draw(VALUES) for k in KWARGS[fn] if draw(st.integers(0, 3)) == 0}
    hw = draw(HARDWARE)
    if fn == "collective_benchmark":
        kw.setdefault("nbytes", draw(FLOATS))
        return fn, hw, kw
    if fn == "serve":
        kw.setdefault("requests", draw(st.integers(1, 200)))
    return fn, (draw(WORKLOADS), hw), kw


def _api(fn: str, target: Any, kw: dict[str, Any]) -> None:
    call = getattr(sim, fn)
    if fn == "collective_benchmark":
        _api_case(lambda: call(target, time_limit_s=LIMIT_S, **kw))
    else:
        _api_case(lambda: call(*target, time_limit_s=LIMIT_S, **kw))


@CASES
@given(case=api_calls())
def test_generated_api_arguments_give_physical_results_or_one_input_error(bounded_memory, case):
    _api(*case)


@pytest.mark.slow
@CASES
@given(case=api_calls())
def test_generated_api_arguments_give_physical_results_or_one_input_error_fuzz(bounded_memory, case):
    _api(*case)
