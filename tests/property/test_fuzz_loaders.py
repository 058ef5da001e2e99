"""Fuzzing the loaders: whatever the bytes, a loader returns a valid object or raises InputError, fast.

Never another exception, never a hang, and every hardware spec that loads simulates to finite numbers.
Each property runs twice: a few dozen examples in the default suite, and a ``slow`` copy that
``make fuzz`` runs with the ``fuzz`` profile (10,000 examples each; see tests/conftest.py).
"""
from __future__ import annotations

import copy
import itertools
import math
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from simulator.api import simulate
from simulator.errors import InfeasibleError, InputError
from simulator.spec.loader import catalogue, load_hardware, spec_from_dict
from simulator.sweep.cli import load_sweep_file
from simulator.testing import _family_params
from simulator.workload.families import FAMILIES
from simulator.workload.loader import load_workload, workload_from_dict
from simulator.yamlio import parse_yaml_text

HANG_S = 5.0  # far above any refusal (< 0.1 s typically); a hang would blow well past it
_COUNTER = itertools.count()  # loaders cache by path: every example gets a fresh file name
FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(folder: Path, suffix: str, content: str | bytes) -> Path:
    path = folder / f"case{next(_COUNTER)}{suffix}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    return path


def _accepts_or_refuses(call: Callable[[], Any]) -> Any:
    """Run ``call``; returns its value, or None when it raised InputError. Any other exception fails."""
    start = time.perf_counter()
    try:
        return call()
    except InputError as exc:
        assert "\n" not in str(exc), str(exc)
        return None
    finally:
        assert time.perf_counter() - start < HANG_S, f"took {time.perf_counter() - start:.1f} s"


def _simulates_finite(hw: Any, workload: Any = "mlp", **kw: Any) -> None:
    try:
        s = simulate(workload, hw, batch_size=2, time_limit_s=HANG_S, **kw).summary
    except (InputError, InfeasibleError):
        return  # e.g. no bf16 path at all: refused, not a crash
    for key in ("step_time_s", "energy_j", "peak_memory_bytes", "average_power_w", "utilization"):
        assert math.isfinite(s[key]) and s[key] >= 0, (key, s[key])


# --- YAML-ish text ----------------------------------------------------------------------------------
TOKENS = ["name", "kind", "gpu", "tpu", "system", "memory", "compute", "sm_count", "clock_ghz", "power", "tdp_w",
          "family", "mlp", "params", "hidden", "workload", "space", "hardware", ":", ": ", "- ", "-", "[", "]",
          "{", "}", ",", "&a ", "*a", "&b ", "*b", "&a [*a]", "&a {k: *a}", "<<: ", "!!str ", "!!python/object ", "!tag ", "? ", "|", ">",
          "'", '"', "#", "---", "...", "%YAML 1.1", "0", "-1", "1e999", ".nan", ".inf", "yes", "no", "~", "null",
          "2024-13-45", "0x1F", "0o17", "1_000", "9" * 60, "\t", "  ", "    ", "\\", "\u00e9", "\ufeff", "\x07",
          "\x85", "\u2028"]
yaml_texts = st.lists(st.one_of(st.sampled_from(TOKENS), st.just("\n"), st.text(max_size=8)), max_size=80).map("".join)


def _yaml_case(folder: Path, text: str) -> None:
    for suffix, loader in ((".yaml", load_hardware), (".yml", load_workload), (".yaml", load_sweep_file)):
        path = _write(folder, suffix, text)
        loaded = _accepts_or_refuses(lambda: loader(path))
        if loader is load_hardware and loaded is not None and loaded.kind != "system":
            _simulates_finite(loaded)


@FUZZ
@given(text=yaml_texts)
def test_yaml_text_is_loaded_or_refused(scratch: Path, text: str) -> None:
    _yaml_case(scratch, text)


@pytest.mark.slow
@FUZZ
@given(text=yaml_texts)
def test_yaml_text_is_loaded_or_refused_fuzz(scratch: Path, text: str) -> None:
    _yaml_case(scratch, text)


@FUZZ
@given(data=st.binary(max_size=2048))
def test_binary_junk_is_refused(scratch: Path, data: bytes) -> None:
    for suffix, loader in ((".yaml", load_hardware), (".cfg", load_hardware), (".onnx", load_workload),
                           (".csv", load_workload), (".yaml", load_sweep_file)):
        _accepts_or_refuses(lambda: loader(_write(scratch, suffix, data)))


# --- mutations of the bundled hardware specs ----------------------------------------------------------
SPECS = sorted(catalogue())
EXTREMES = [0, -1, 1, 2**63, 10**30, -(10**30), 1e-300, 1e308, float("nan"), float("inf"), float("-inf"), 0.5, True,
            False, None, "", "many", "x" * 3000, [], {}, [1, 2], {"a": 1}, "1e3"]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        out.extend(_paths(v, (*prefix, k)))
    return out


@st.composite
def mutated_specs(draw: st.DrawFn) -> tuple[str, dict]:
    """A bundled spec's raw mapping with 1-4 random deletions, type swaps, numeric extremes or extra keys."""
    name = draw(st.sampled_from(SPECS))
    raw = parse_yaml_text(catalogue()[name].read_text(), name)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(raw)
        path = draw(st.sampled_from(paths))
        parent = raw
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["delete", "extreme", "scale", "extra", "swap"]))
        key = path[-1]
        if action == "delete":
            del parent[key]
        elif action == "extreme":
            parent[key] = copy.deepcopy(draw(st.sampled_from(EXTREMES)))  # never share a mutable value
        elif action == "scale" and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            parent[key] = parent[key] * draw(st.sampled_from([0, -1, 1e-9, 1e-6, 1e6, 1e12, 1e300]))
        elif action == "extra" and isinstance(parent[key], dict):
            parent[key][draw(st.sampled_from(["extra", "sm_cout", "bandwith_gbs", "kind", "name"]))] = 1
        elif action == "swap":
            parent[key] = draw(st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.booleans(), st.none()))
        if not raw:
            break
    return name, raw


def _mutated_case(case: tuple[str, dict]) -> None:
    name, raw = case
    try:
        text = yaml.safe_dump(raw, sort_keys=False)
    except yaml.YAMLError:
        return
    spec = _accepts_or_refuses(lambda: spec_from_dict(parse_yaml_text(text, f"{name}.yaml"), f"{name}.yaml"))
    event("mutated spec accepted" if spec is not None else "mutated spec refused")
    if spec is not None and spec.kind != "system":
        _simulates_finite(spec)
        _simulates_finite(spec, "resnet18", mode="training")


@FUZZ
@given(case=mutated_specs())
def test_mutated_hardware_loads_valid_or_refused(case: tuple[str, dict]) -> None:
    _mutated_case(case)


@pytest.mark.slow
@FUZZ
@given(case=mutated_specs())
def test_mutated_hardware_loads_valid_or_refused_fuzz(case: tuple[str, dict]) -> None:
    _mutated_case(case)


# --- workload params -----------------------------------------------------------------------------------
small_ints = st.integers(-2, 64)
extremes = st.sampled_from(EXTREMES).map(copy.deepcopy)
values = st.one_of(small_ints, extremes, st.lists(small_ints, max_size=5),
                   st.lists(st.lists(small_ints, max_size=3), max_size=3), st.text(max_size=6),
                   st.sampled_from(["gelu", "relu", "swiglu", "learned", "rotary", "layernorm", "rmsnorm", "pre",
                                    "post", "basic", "bottleneck"]))


@st.composite
def workload_docs(draw: st.DrawFn) -> dict:
    """Valid small params of a family (half the time), then 0-3 keys set to random values."""
    if draw(st.booleans()):
        family, params = draw(_family_params())
    else:
        family, params = draw(st.sampled_from(sorted(FAMILIES))), {}
    fields = list(FAMILIES[family].params.model_fields)
    for key in draw(st.lists(st.sampled_from([*fields, "extra", "hiden"]), unique=True, max_size=3)):
        params[key] = draw(values)
    doc: dict[str, Any] = {"name": "fuzz", "family": family, "source": "fuzz test", "params": params}
    if draw(st.booleans()):
        doc["defaults"] = {draw(st.sampled_from(["batch_size", "seq_len", "image_size", "batchsize"])): draw(values)}
    return doc


def _small(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_small(v) for v in value.values())
    if isinstance(value, list):
        return all(_small(v) for v in value)
    return not isinstance(value, (int, float)) or isinstance(value, bool) or abs(value) <= 64


def _workload_case(doc: dict) -> None:
    wl = _accepts_or_refuses(lambda: workload_from_dict(doc, "fuzz.yaml"))
    event("workload accepted" if wl is not None else "workload refused")
    if wl is None or not _small(doc):
        return  # legitimately huge models (a 10^8-wide layer) are valid but not quick to build
    graph = _accepts_or_refuses(lambda: wl.build(batch_size=1, seq_len=16, image_size=64))
    if graph is not None:
        assert graph.flops >= 0 and math.isfinite(graph.flops)
        _simulates_finite("nvidia-h100-sxm", wl, seq_len=16, image_size=64)


@FUZZ
@given(doc=workload_docs())
def test_workload_params_load_valid_or_refused(doc: dict) -> None:
    _workload_case(doc)


@pytest.mark.slow
@FUZZ
@given(doc=workload_docs())
def test_workload_params_load_valid_or_refused_fuzz(doc: dict) -> None:
    _workload_case(doc)


# --- SCALE-Sim topology rows and cfg files -----------------------------------------------------------
cells = st.one_of(st.integers(-5, 300).map(str), st.sampled_from(["", " ", "1:1", "2:4", "1e3", "2.5", "nan", "9" * 20,
                                                                  "DP", "conv", '"a,b"', "\t"]), st.text(max_size=4))
HEADERS = ["Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,",
           "Layer, M, N, K,", "", "junk,header"]


@st.composite
def _valid_rows(draw: st.DrawFn, conv: bool) -> list[list[str]]:
    rows = []
    for i in range(draw(st.integers(1, 4))):
        if conv:
            h, w = draw(st.integers(1, 64)), draw(st.integers(1, 64))
            dims = [h, w, draw(st.integers(1, h)), draw(st.integers(1, w)), *draw(st.lists(st.integers(1, 64),
                                                                                              min_size=3, max_size=3))]
        else:
            dims = draw(st.lists(st.integers(1, 512), min_size=3, max_size=3))
        rows.append([draw(st.sampled_from([f"layer{i}", f"DPconv{i}"])), *map(str, dims)])
    return rows


@st.composite
def topologies(draw: st.DrawFn) -> str:
    """Half the time a valid conv or GEMM topology with 0-2 cells replaced by junk; else junk rows."""
    index = draw(st.sampled_from([0, 1, 0, 1, 2, 3]))
    header = HEADERS[index]
    if index < 2 and draw(st.booleans()):
        rows = draw(_valid_rows(index == 0))
        for _ in range(draw(st.integers(0, 2))):
            row = draw(st.sampled_from(rows))
            row[draw(st.integers(0, len(row) - 1))] = draw(cells)
    else:
        width = draw(st.sampled_from([[8, 8, 9, 7], [4, 4, 5, 3]][index] if index < 2 else [4, 8]))
        rows = draw(st.lists(st.lists(cells, min_size=width, max_size=width), min_size=1, max_size=4))
    trailing = draw(st.booleans())
    return header + "\n" + "".join(",".join(r) + ("," if trailing else "") + "\n" for r in rows)


def _csv_case(folder: Path, text: str) -> None:
    wl = _accepts_or_refuses(lambda: load_workload(_write(folder, ".csv", text)))
    event("topology accepted" if wl is not None else "topology refused")
    if wl is not None and _accepts_or_refuses(lambda: wl.build(batch_size=1)) is not None:
        _simulates_finite("nvidia-h100-sxm", wl)


@FUZZ
@given(text=topologies())
def test_scalesim_csv_rows_load_valid_or_refused(scratch: Path, text: str) -> None:
    _csv_case(scratch, text)


@pytest.mark.slow
@FUZZ
@given(text=topologies())
def test_scalesim_csv_rows_load_valid_or_refused_fuzz(scratch: Path, text: str) -> None:
    _csv_case(scratch, text)


CFG_KEYS = ["ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB", "Dataflow", "Bandwidth",
            "arraywidth", "ArrayWidht", "SparsitySupport", "InterfaceBandwidth"]


VALID_CFG = {"general": {"run_name": "fuzz"},
             "architecture_presets": {"ArrayHeight": "32", "ArrayWidth": "8", "IfmapSramSzkB": "64",
                                      "FilterSramSzkB": "64", "OfmapSramSzkB": "32", "Dataflow": "ws"},
             "run_presets": {"InterfaceBandwidth": "CALC"}}
cfg_values = st.one_of(cells, st.sampled_from(["ws", "os", "is", "WS", "rs", "CALC", "USER", "true", "false", "%(x)s"]))


@st.composite
def cfg_files(draw: st.DrawFn) -> str:
    """A valid SCALE-Sim cfg with 0-4 keys changed, added or deleted, or sections renamed."""
    sections = copy.deepcopy(VALID_CFG)
    for _ in range(draw(st.integers(0, 4))):
        section = draw(st.sampled_from([*sections, "sparsity", "genral"]))
        keys = sections.setdefault(section, {})
        key = draw(st.sampled_from([*keys, *CFG_KEYS]))
        if keys and draw(st.booleans()) and key in keys:
            del keys[key]
        else:
            keys[key] = draw(cfg_values)
    lines = []
    for section, keys in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k}{draw(st.sampled_from([': ', ' = ', ':']))}{v}" for k, v in keys.items())
    return "\n".join(lines) + "\n"


def _cfg_case(folder: Path, text: str) -> None:
    spec = _accepts_or_refuses(lambda: load_hardware(_write(folder, ".cfg", text)))
    event("cfg accepted" if spec is not None else "cfg refused")
    if spec is not None:
        _simulates_finite(spec)


@FUZZ
@given(text=cfg_files())
def test_scalesim_cfg_loads_valid_or_refused(scratch: Path, text: str) -> None:
    _cfg_case(scratch, text)


@pytest.mark.slow
@FUZZ
@given(text=cfg_files())
def test_scalesim_cfg_loads_valid_or_refused_fuzz(scratch: Path, text: str) -> None:
    _cfg_case(scratch, text)


# --- sweep files ---------------------------------------------------------------------------------------
SWEEP_KEYS = ["workload", "mode", "sampler", "samples", "seed", "space", "energy_usd_per_kwh", "carbon_g_per_kwh",
              "train_tokens", "train_epochs", "dataset_samples", "pareto", "sampels", "description"]
space_values = st.one_of(values, st.fixed_dictionaries({"min": st.one_of(small_ints, extremes),
                                                        "max": st.one_of(small_ints, extremes)},
                                                       optional={"steps": values, "log": values, "integer": values,
                                                                 "step": values}))


@st.composite
def sweep_docs(draw: st.DrawFn) -> dict:
    doc: dict[str, Any] = {"workload": "mlp", "mode": "inference"}
    doc.update({k: draw(values) for k in draw(st.lists(st.sampled_from(SWEEP_KEYS), unique=True, max_size=2))})
    keys = draw(st.lists(st.sampled_from(["hardware", "batch_size", "seq_len", "precision", "hardware.memory.hbm.bandwidth_gbs",
                                          "batchsize", "hardware.", "mode"]), unique=True, max_size=4))
    space = {"hardware": "nvidia-h100-sxm"} if draw(st.booleans()) else {}
    space.update({k: draw(st.one_of(space_values, st.lists(st.integers(1, 64), min_size=1, max_size=3)))
                  for k in keys})
    doc["space"] = space
    return doc


def _sweep_case(folder: Path, doc: dict) -> None:
    try:
        text = yaml.safe_dump(doc)
    except yaml.YAMLError:
        return
    loaded = _accepts_or_refuses(lambda: load_sweep_file(_write(folder, ".yaml", text)))
    event("sweep file accepted" if loaded is not None else "sweep file refused")


@FUZZ
@given(doc=sweep_docs())
def test_sweep_files_load_valid_or_refused(scratch: Path, doc: dict) -> None:
    _sweep_case(scratch, doc)


@pytest.mark.slow
@FUZZ
@given(doc=sweep_docs())
def test_sweep_files_load_valid_or_refused_fuzz(scratch: Path, doc: dict) -> None:
    _sweep_case(scratch, doc)
