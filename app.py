"""accsim explorer: the Streamlit face of the simulator (``make app`` = ``streamlit run app.py``).

Pages (``st.navigation`` over page functions): Simulate / compare (default), What-if, Workload, and
LLM generation, Serving and Sweep when ``simulator`` offers ``generate``, ``serve`` and ``sweep``.
The sidebar holds the scenario every page shares: workload (zoo or an uploaded .onnx/.yaml/.csv),
mode, batch size, sequence length, image size, precision, optimizer and the device.

The app calls only the public API (``import simulator as sim``), plus ``simulator.spec.loader`` for a
spec's raw YAML and its validation and ``simulator.cost.peaks`` for the roofline. Results are cached
with ``st.cache_data`` keyed on every input; uploads live only in a ``tempfile.TemporaryDirectory``.
"""
from __future__ import annotations

import hashlib
import inspect
import math
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import yaml

import simulator as sim
from simulator.cost import peaks
from simulator.spec import loader as spec_loader

MAX_UPLOAD_BYTES = 50 * 10**6  # 50 MB: the largest workload file the app accepts
UPLOAD_SUFFIXES = (".onnx", ".yaml", ".yml", ".csv")
KINDS = ("cpu", "gpu", "tpu", "fpga", "asic", "system")  # systems: nodes and clusters of one device
DEFAULT_WORKLOAD = "resnet50"
DEFAULT_DEVICE = "nvidia-h100-sxm"
# first two of these that exist are the default comparison devices
COMPARE_PREFERENCE = ("nvidia-a100-sxm-80gb", "google-tpu-v5p", "amd-mi300x", "nvidia-b200", "nvidia-a100-pcie")
MODES = {"Training step": "training", "Inference batch": "inference"}
PRECISIONS = [p.value for p in sim.Precision]
OPTIMIZERS = ["adam", "adamw", "sgd", "momentum", "adafactor"]
GIB = 1024**3
BOUND_SHORT = {"memory_bandwidth": "memory BW", "memory_capacity": "capacity", "communication": "comms"}
BOUND_COLOURS = {"compute": "#4C78A8", "memory_bandwidth": "#F58518", "overhead": "#B279A2", "host": "#54A24B",
                 "communication": "#E45756", "memory_capacity": "#9D755D", "": "#BAB0AC"}


# ---------------------------------------------------------------------------------------------------------------
# inputs: the scenario, uploads and edited specs


class UploadError(ValueError):
    """An uploaded workload file was rejected; the message is one line for ``st.error``."""


@dataclass(frozen=True)
class Upload:
    """An uploaded workload file: its name, bytes and their SHA-256 (the cache key)."""

    name: str
    data: bytes = field(repr=False)
    digest: str


@dataclass(frozen=True)
class Scenario:
    """Everything the sidebar decides: what runs, at which shape and precision, on which device."""

    workload: str
    upload: Upload | None
    mode: str
    batch_size: int
    seq_len: int | None
    image_size: int | None
    precision: str
    optimizer: str
    device: str

    @property
    def label(self) -> str:
        shape = f"batch {self.batch_size}"
        if self.seq_len:
            shape += f", seq {self.seq_len}"
        if self.image_size:
            shape += f", {self.image_size}px"
        return f"{self.workload} · {self.mode} · {shape} · {self.precision}"


def load_upload(filename: str, data: bytes) -> Any:
    """Load an uploaded workload file (.onnx/.yaml/.yml/.csv) through a private temporary directory.

    The file is checked for size and type, written under a fresh ``tempfile.TemporaryDirectory`` (deleted
    on return), loaded with :func:`simulator.load_workload` and built once at its default shape.

    Raises:
        UploadError: empty, too large (> :data:`MAX_UPLOAD_BYTES`), wrong type, or invalid content.
    """
    name = Path(filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadError(f"{name}: unsupported file type; upload one of {', '.join(UPLOAD_SUFFIXES)}")
    if not data:
        raise UploadError(f"{name}: the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"{name}: {len(data) / 1e6:.1f} MB is over the {MAX_UPLOAD_BYTES / 1e6:.0f} MB limit")
    safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", name).lstrip(".") or f"upload{suffix}"
    with tempfile.TemporaryDirectory(prefix="accsim-upload-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        try:
            wl = sim.load_workload(path)
            sim.describe(wl)  # build once so a bad graph is reported now, not mid-comparison
        except sim.SimulatorError as exc:
            raise UploadError(str(exc).replace(str(path), name)) from None
        except ImportError as exc:
            raise UploadError(f"{name}: {suffix} import is not available here ({exc})") from None
        except Exception as exc:  # a hostile file must never take the app down
            raise UploadError(f"{name}: could not be read ({type(exc).__name__}: {exc})") from None
    return wl


def spec_from_yaml(text: str, source: str = "edited YAML") -> Any:
    """Validate YAML text of a hardware spec with ``spec_from_dict``.

    Raises:
        sim.SpecError: bad YAML, duplicate keys, or an invalid spec (key path named).
    """
    try:
        from simulator.yamlio import parse_yaml_text  # strict: duplicate keys and alias bombs rejected

        raw = parse_yaml_text(text, source)
    except ImportError:  # pragma: no cover - older trees
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise sim.SpecError(source, "", f"invalid YAML: {exc}") from None
    return spec_loader.spec_from_dict(raw, source)


def spec_yaml_text(device: str) -> str:
    """The catalogue YAML of ``device`` as editable text."""
    return yaml.safe_dump(spec_loader.raw_spec(device), sort_keys=False, allow_unicode=True, width=120)


def overrides_key(overrides: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """A hashable, order-independent cache key for a what-if override dict."""
    return tuple(sorted((overrides or {}).items()))


@st.cache_data(show_spinner=False)
def hardware_table() -> list[dict[str, str]]:
    return sim.list_hardware()


@st.cache_data(show_spinner=False)
def workload_table() -> list[dict[str, str]]:
    return sim.list_workloads()


@st.cache_resource(show_spinner=False)
def _upload_workload(digest: str, _upload: Upload) -> Any:
    return load_upload(_upload.name, _upload.data)


def workload_of(sc: Scenario) -> Any:
    """The workload object or zoo name to pass to the simulator."""
    return _upload_workload(sc.upload.digest, sc.upload) if sc.upload else sc.workload


@st.cache_data(show_spinner=False, max_entries=512)
def _run(workload: str, upload_digest: str | None, _upload: Upload | None, hardware: str, mode: str, batch_size: int,
         seq_len: int | None, image_size: int | None, precision: str, optimizer: str, power_cap_w: float | None,
         overrides: tuple[tuple[str, Any], ...], spec_yaml: str | None) -> sim.SimulationResult:
    wl = _upload_workload(upload_digest, _upload) if _upload else workload
    hw = spec_from_yaml(spec_yaml) if spec_yaml else hardware
    return sim.simulate(wl, hw, mode=mode, batch_size=batch_size, seq_len=seq_len, image_size=image_size,
                        precision=precision, optimizer=optimizer, power_cap_w=power_cap_w,
                        overrides=dict(overrides) or None)


def run(sc: Scenario, device: str | None = None, *, overrides: dict[str, Any] | None = None,
        power_cap_w: float | None = None, spec_yaml: str | None = None) -> tuple[sim.SimulationResult | None, str]:
    """Simulate (cached) and return ``(result, "")`` or ``(None, one-line error)``; never raises."""
    try:
        r = _run(sc.workload, sc.upload.digest if sc.upload else None, sc.upload, device or sc.device, sc.mode,
                 sc.batch_size, sc.seq_len, sc.image_size, sc.precision, sc.optimizer, power_cap_w,
                 overrides_key(overrides), spec_yaml)
        return r, ""
    except (sim.SimulatorError, UploadError) as exc:
        return None, str(exc)
    except Exception as exc:  # keep the page alive, show what went wrong
        return None, f"{type(exc).__name__}: {exc}"


def device_spec(device: str, overrides: dict[str, Any] | None = None, spec_yaml: str | None = None) -> Any:
    base = spec_from_yaml(spec_yaml) if spec_yaml else device
    return sim.load_hardware(base, overrides or None)


# ---------------------------------------------------------------------------------------------------------------
# formatting


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def fmt_bytes(b: float) -> str:
    return f"{b / GIB:.2f} GiB" if b >= 0.1 * GIB else f"{b / 1024**2:.1f} MiB"


def fmt_si(x: float, unit: str = "") -> str:
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.2f} {prefix}{unit}"
    return f"{x:.2f} {unit}".strip()


def fmt_usd(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x >= 1:
        return f"${x:,.2f}"
    digits = 2 if x <= 0 else max(2, 2 - math.floor(math.log10(x)))  # three significant figures
    return f"${x:.{digits}f}"


def pct_delta(new: float, old: float) -> str | None:
    if not old or abs(new / old - 1) < 5e-4:  # unchanged: no delta rather than a coloured "+0.0%"
        return None
    return f"{(new / old - 1) * 100:+.1f}%"


def cost_per_step(r: sim.SimulationResult, hw: Any) -> float | None:
    """Cloud cost of one step in USD: ``price.cloud_usd_per_hour`` x step time, None without a price."""
    price = getattr(hw, "price", None)
    rate = getattr(price, "cloud_usd_per_hour", None) if price else None
    return None if rate is None else rate * r.step_time_s / 3600.0


def throughput_text(r: sim.SimulationResult) -> tuple[str, str]:
    if r.tokens_per_s:
        return "Throughput (tokens/s)", fmt_si(r.tokens_per_s)
    return "Throughput (samples/s)", fmt_si(r.throughput_samples_per_s)


def kind_label(row: dict[str, str]) -> str:
    return f"{row['kind'].upper()} · {row['display_name']}"


# ---------------------------------------------------------------------------------------------------------------
# sidebar


def _reset_shape() -> None:
    """When the workload changes, start from its own default shape."""
    name = st.session_state.get("workload")
    try:
        d = sim.load_workload(name).defaults
    except sim.SimulatorError:
        return
    st.session_state["batch_size"] = int(d.get("batch_size", st.session_state.get("batch_size", 1)))
    st.session_state["seq_len"] = int(d.get("seq_len", 128))
    st.session_state["image_size"] = int(d.get("image_size", 224))


def _sidebar_workload() -> tuple[str, Upload | None, Any] | None:
    side = st.sidebar
    source = side.radio("Workload", ["Model zoo", "Upload a file"], horizontal=True, key="wl_source")
    if source == "Model zoo":
        names = [w["name"] for w in workload_table()]
        st.session_state.setdefault("workload", DEFAULT_WORKLOAD if DEFAULT_WORKLOAD in names else names[0])
        name = side.selectbox("Model", names, key="workload", on_change=_reset_shape,
                              help="The bundled model zoo (workloads/*.yaml)")
        return name, None, sim.load_workload(name)
    f = side.file_uploader("ONNX, workload YAML or SCALE-Sim CSV", type=[s.lstrip(".") for s in UPLOAD_SUFFIXES],
                           key="upload", help=f"At most {MAX_UPLOAD_BYTES // 10**6} MB; kept in a temporary directory")
    if f is None:
        side.info("Upload a workload file, or pick one from the model zoo.")
        return None
    if getattr(f, "size", 0) > MAX_UPLOAD_BYTES:
        side.error(f"{f.name}: over the {MAX_UPLOAD_BYTES // 10**6} MB limit")
        return None
    data = f.getvalue()
    up = Upload(name=f.name, data=data, digest=hashlib.sha256(data).hexdigest())
    try:
        wl = _upload_workload(up.digest, up)
    except UploadError as exc:
        side.error(str(exc))
        return None
    return wl.name, up, wl


def sidebar() -> Scenario | None:
    """Draw the scenario controls; None while no usable workload is chosen."""
    side = st.sidebar
    side.title("accsim")
    side.caption("Accelerator performance simulator")
    chosen = _sidebar_workload()
    st.session_state.setdefault("batch_size", 256)
    st.session_state.setdefault("seq_len", 128)
    st.session_state.setdefault("image_size", 224)
    mode = MODES[side.radio("Mode", list(MODES), key="mode", horizontal=True)]
    wl = chosen[2] if chosen else None
    batch = side.number_input("Batch size", min_value=1, max_value=65536, step=1, key="batch_size")
    seq = image = None
    if wl is None or wl.uses_seq_len:
        seq = side.number_input("Sequence length", min_value=1, max_value=131072, step=1, key="seq_len")
    if wl is None or wl.uses_image_size:
        image = side.number_input("Image size (px)", min_value=8, max_value=4096, step=1, key="image_size")
    st.session_state.setdefault("precision", "bf16")
    precision = side.selectbox("Precision", PRECISIONS, key="precision")
    optimizer = side.selectbox("Optimizer", OPTIMIZERS, key="optimizer", disabled=mode != "training")
    hw_rows = hardware_table()
    names = [h["name"] for h in hw_rows]
    labels = {h["name"]: kind_label(h) for h in hw_rows}
    st.session_state.setdefault("device", DEFAULT_DEVICE if DEFAULT_DEVICE in names else names[0])
    device = side.selectbox("Device", names, key="device", format_func=lambda n: labels.get(n, n),
                            help="Grouped by kind: cpu, gpu, tpu, fpga, asic")
    if chosen is None:
        return None
    return Scenario(workload=chosen[0], upload=chosen[1], mode=mode, batch_size=int(batch),
                    seq_len=int(seq) if seq and wl.uses_seq_len else None,
                    image_size=int(image) if image and wl.uses_image_size else None,
                    precision=precision, optimizer=optimizer, device=device)


# ---------------------------------------------------------------------------------------------------------------
# charts


def _layout(fig: go.Figure, title: str, **kw: Any) -> go.Figure:
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=40, b=10), **kw)
    return fig


def roofline_figure(r: sim.SimulationResult, hw: Any) -> go.Figure:
    """Every op at (arithmetic intensity, achieved FLOP/s) under min(peak, AI x bandwidth) of one device."""
    hw = unit_spec(hw)
    p = sim.Precision(r.precision)
    bw = peaks.memory_bandwidth(hw)  # B/s
    matrix, vector = peaks.matrix_flops_per_s(hw, p), peaks.vector_flops_per_s(hw, p)
    ops = r.ops
    ops = ops[(ops.flops > 0) & (ops.bytes_moved > 0) & (ops.duration_s > 0)].copy()
    ops["ai"] = ops.flops / ops.bytes_moved  # FLOP/B
    ops["achieved"] = ops.flops / ops.duration_s  # FLOP/s
    fig = go.Figure()
    lo = max(1e-3, float(ops.ai.min()) / 3) if len(ops) else 0.01
    hi = max(float(ops.ai.max()) * 3 if len(ops) else 1e4, 2 * max(matrix, vector) / bw)
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    for peak, name, dash in ((matrix, "matrix roof", "solid"), (vector, "vector roof", "dot")):
        if peak > 0:
            fig.add_trace(go.Scatter(x=xs, y=[min(peak, x * bw) for x in xs], mode="lines", name=name,
                                     line=dict(color="black", dash=dash)))
    for bound, grp in ops.groupby("bound"):
        fig.add_trace(go.Scatter(x=grp.ai.to_numpy(), y=grp.achieved.to_numpy(), mode="markers", name=str(bound),
                                 marker=dict(color=BOUND_COLOURS.get(str(bound)), size=7, opacity=0.75),
                                 text=(grp.name + " (" + grp.op_type + ")").tolist(),
                                 hovertemplate="%{text}<br>AI %{x:.3g} FLOP/B<br>%{y:.3g} FLOP/s<extra></extra>"))
    fig.update_xaxes(type="log", title="arithmetic intensity (FLOP/byte)")
    fig.update_yaxes(type="log", title="achieved FLOP/s")
    return _layout(fig, f"Roofline: {hw.display_name} ({r.precision}, {bw / 1e9:.0f} GB/s)")


def gantt_figure(results: dict[str, sim.SimulationResult], max_events: int = 4000) -> go.Figure:
    """Ops on a timeline, one row per device and track, coloured by what bounds them."""
    rows = []
    for label, r in results.items():
        for e in r.events[:max_events]:
            rows.append({"row": f"{label} · {e.track}", "start": e.start_s * 1e3, "dur": e.duration_s * 1e3,
                         "bound": e.bound or e.track, "name": e.name, "type": e.op_type})
    df = pd.DataFrame(rows, columns=["row", "start", "dur", "bound", "name", "type"])
    fig = go.Figure()
    for bound, grp in df.groupby("bound"):
        fig.add_trace(go.Bar(y=grp.row.tolist(), x=grp.dur.to_numpy(), base=grp.start.to_numpy(), orientation="h",
                             name=str(bound), marker_color=BOUND_COLOURS.get(str(bound)), text=grp.name.tolist(),
                             textposition="none",
                             hovertemplate="%{text}<br>start %{base:.4f} ms<br>%{x:.4f} ms<extra></extra>"))
    fig.update_layout(barmode="overlay", height=160 + 40 * max(1, df.row.nunique()))
    fig.update_xaxes(title="time (ms)")
    return _layout(fig, "Timeline of ops per device and track")


def memory_figure(r: sim.SimulationResult) -> go.Figure:
    t = [m.time_s * 1e3 for m in r.memory_timeline] + [r.step_time_s * 1e3]
    b = [m.bytes / GIB for m in r.memory_timeline]
    b = b + b[-1:] if b else [0.0]
    fig = go.Figure(go.Scatter(x=t, y=b, mode="lines", line_shape="hv", fill="tozeroy", name="allocated"))
    fig.add_hline(y=r.memory_capacity_bytes / GIB, line=dict(color="red", dash="dash"),
                  annotation_text=f"capacity {fmt_bytes(r.memory_capacity_bytes)}")
    fig.update_xaxes(title="time (ms)")
    fig.update_yaxes(title="GiB")
    return _layout(fig, f"Memory over time (peak {fmt_bytes(r.peak_memory_bytes)})")


def power_series(r: sim.SimulationResult, idle_w: float) -> tuple[list[float], list[float]]:
    """Step-wise power (W) over time (s): idle + energy / duration while an op runs, idle between ops."""
    xs, ys, t = [], [], 0.0
    for e in sorted((e for e in r.events if e.track == "compute" and e.duration_s > 0), key=lambda e: e.start_s):
        if e.start_s > t:
            xs += [t, e.start_s]
            ys += [idle_w, idle_w]
        w = idle_w + e.energy_j / e.duration_s
        xs += [e.start_s, e.end_s]
        ys += [w, w]
        t = max(t, e.end_s)
    if t < r.step_time_s:
        xs += [t, r.step_time_s]
        ys += [idle_w, idle_w]
    return xs, ys


def power_figure(r: sim.SimulationResult, hw: Any, power_cap_w: float | None = None) -> go.Figure:
    system = is_system(hw)
    hw = unit_spec(hw)
    if system:  # one device of the system: its ops and its own idle power and TDP
        first = next((e.device for e in r.events if e.track == "compute"), None)
        r = replace(r, trace=replace(r.trace, events=tuple(e for e in r.events if e.device == first)))
    xs, ys = power_series(r, hw.power.idle_w)
    fig = go.Figure(go.Scatter(x=[x * 1e3 for x in xs], y=ys, mode="lines", name="power"))
    fig.add_hline(y=hw.power.tdp_w, line=dict(color="red", dash="dash"), annotation_text=f"TDP {hw.power.tdp_w:.0f} W")
    if power_cap_w:
        fig.add_hline(y=power_cap_w, line=dict(color="orange", dash="dot"), annotation_text=f"cap {power_cap_w:.0f} W")
    fig.update_xaxes(title="time (ms)")
    fig.update_yaxes(title="W", rangemode="tozero")
    title = "Power over time of one device" if system else f"Power over time (average {r.average_power_w:.0f} W)"
    return _layout(fig, title)


def shares_figure(results: dict[str, sim.SimulationResult]) -> go.Figure:
    fig = go.Figure()
    keys = sorted({k for r in results.values() for k, v in r.bottleneck_shares.items() if v > 0})
    for k in keys:
        fig.add_trace(go.Bar(x=list(results), y=[r.bottleneck_shares.get(k, 0) * 100 for r in results.values()],
                             name=k, marker_color=BOUND_COLOURS.get(k)))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="% of busy time")
    return _layout(fig, "Bottleneck breakdown")


def breakdown_figure(results: dict[str, sim.SimulationResult]) -> go.Figure:
    fig = go.Figure()
    keys = sorted({k for r in results.values() for k in r.memory_breakdown})
    for k in keys:
        fig.add_trace(go.Bar(x=list(results), y=[r.memory_breakdown.get(k, 0) / GIB for r in results.values()], name=k))
    caps = [r.memory_capacity_bytes / GIB for r in results.values()]
    fig.add_trace(go.Scatter(x=list(results), y=caps, mode="markers", name="capacity",
                             marker=dict(symbol="line-ew-open", size=40, color="red", line=dict(width=3))))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="GiB")
    return _layout(fig, "Memory breakdown at peak vs capacity")


def compare_bars(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure(go.Bar(x=df["device"], y=df["step time (ms)"],
                           marker_color=[BOUND_COLOURS.get(b, "#888") for b in df["bottleneck"]],
                           text=df["bottleneck"], hovertemplate="%{x}<br>%{y:.3f} ms<br>%{text}<extra></extra>"))
    fig.update_yaxes(title="step time (ms)")
    return _layout(fig, "Step time (colour: bottleneck)")


# ---------------------------------------------------------------------------------------------------------------
# shared result views


def headline(r: sim.SimulationResult, hw: Any, base: tuple[sim.SimulationResult, Any] | None = None,
             key: str = "") -> None:
    """Headline numbers as st.metric; with ``base``, deltas against it."""
    b, bhw = base if base else (None, None)
    tp_label, tp = throughput_text(r)
    cost = cost_per_step(r, hw)
    row1 = st.columns(4)
    row1[0].metric("Step time", fmt_time(r.step_time_s), pct_delta(r.step_time_s, b.step_time_s) if b else None,
                   delta_color="inverse")
    tp_new = r.tokens_per_s or r.throughput_samples_per_s
    tp_old = (b.tokens_per_s or b.throughput_samples_per_s) if b else None
    row1[1].metric(tp_label, tp, pct_delta(tp_new, tp_old) if b else None)
    fit = "fits" if r.fits_in_memory else f"short by {fmt_bytes(r.memory_shortfall_bytes)}"
    cap = f"of {fmt_bytes(r.memory_capacity_bytes)} · {fit}"
    row1[2].metric("Peak memory", fmt_bytes(r.peak_memory_bytes),
                   pct_delta(r.peak_memory_bytes, b.peak_memory_bytes) if b else cap,
                   delta_color="inverse" if b else ("normal" if r.fits_in_memory else "inverse"),
                   delta_arrow="auto" if b else "off", help=f"Peak allocated vs main-memory capacity: {cap}")
    row1[3].metric("Energy per step", f"{r.energy_j:.3g} J", pct_delta(r.energy_j, b.energy_j) if b else None,
                   delta_color="inverse")
    row2 = st.columns(4)
    row2[0].metric("Average power", f"{r.average_power_w:.0f} W",
                   pct_delta(r.average_power_w, b.average_power_w) if b else f"of {r.tdp_w:.0f} W TDP",
                   delta_color="inverse" if b else "off", delta_arrow="auto" if b else "off",
                   help=f"Energy / step time; TDP {r.tdp_w:.0f} W")
    bcost = cost_per_step(b, bhw) if b else None
    row2[1].metric("Cloud cost per step", fmt_usd(cost), pct_delta(cost, bcost) if (cost and bcost) else None,
                   delta_color="inverse", help="price.cloud_usd_per_hour x step time (n/a: the spec has no price)")
    share = r.bottleneck_shares.get(r.bottleneck)
    row2[2].metric("Bottleneck", BOUND_SHORT.get(r.bottleneck, r.bottleneck.replace("_", " ")),
                   f"{share * 100:.0f}% of busy time" if share is not None else None, delta_color="off",
                   delta_arrow="off",
                   help=", ".join(f"{k} {v * 100:.0f}%" for k, v in r.bottleneck_shares.items() if v))
    row2[3].metric("Utilization", f"{r.utilization * 100:.1f}%",
                   f"{(r.utilization - b.utilization) * 100:+.1f} pts" if b else None,
                   help="achieved FLOP/s / matrix peak at this precision")
    if not r.fits_in_memory:
        st.warning(f"Does not fit: needs {fmt_bytes(r.peak_memory_bytes)}, has {fmt_bytes(r.memory_capacity_bytes)} "
                   f"(dominated by {r.memory_dominant.replace('_', ' ')}).")


def downloads(r: sim.SimulationResult, stem: str, key: str) -> None:
    cols = st.columns(3)
    cols[0].download_button("Ops CSV", r.ops.to_csv(index=False).encode(), f"{stem}-ops.csv", "text/csv",
                            key=f"dl_csv_{key}")
    cols[1].download_button("Result JSON", r.to_json().encode(), f"{stem}.json", "application/json",
                            key=f"dl_json_{key}")
    with tempfile.TemporaryDirectory(prefix="accsim-trace-") as tmp:
        trace = Path(r.to_chrome_trace(Path(tmp) / f"{stem}-trace.json")).read_bytes()
    cols[2].download_button("Chrome trace", trace, f"{stem}-trace.json", "application/json", key=f"dl_trace_{key}",
                            help="Open in ui.perfetto.dev or chrome://tracing")


def detail_tabs(r: sim.SimulationResult, hw: Any, *, key: str, power_cap_w: float | None = None,
                gantt: dict[str, sim.SimulationResult] | None = None) -> None:
    names = ["Roofline", "Timeline", "Memory", "Power", "Breakdowns", "Ops"]
    # lazy tabs: only the open one is computed (keeps reruns fast with many devices)
    tabs = dict(zip(names, st.tabs(names, key=f"tabs_{key}", on_change="rerun")))

    def is_open(name: str) -> bool:
        return getattr(tabs[name], "open", True) is not False

    if is_open("Roofline"):
        tabs["Roofline"].plotly_chart(roofline_figure(r, hw), key=f"roof_{key}")
    if is_open("Timeline"):
        tabs["Timeline"].plotly_chart(gantt_figure(gantt or {r.hardware: r}), key=f"gantt_{key}")
    if is_open("Memory"):
        tabs["Memory"].plotly_chart(memory_figure(r), key=f"mem_{key}")
    if is_open("Power"):
        tabs["Power"].plotly_chart(power_figure(r, hw, power_cap_w), key=f"pow_{key}")
    if is_open("Breakdowns"):
        c = tabs["Breakdowns"].columns(2)
        c[0].plotly_chart(shares_figure({r.hardware: r}), key=f"shares_{key}")
        c[1].plotly_chart(breakdown_figure({r.hardware: r}), key=f"brk_{key}")
    if is_open("Ops"):
        tabs["Ops"].dataframe(r.ops, hide_index=True, height=320)


def stem_of(sc: Scenario, device: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-", f"{sc.workload}-{device}-{sc.mode}-bs{sc.batch_size}-{sc.precision}")


# ---------------------------------------------------------------------------------------------------------------
# pages


def _default_compare(names: list[str], baseline: str) -> list[str]:
    picks = [n for n in COMPARE_PREFERENCE if n in names and n != baseline][:2]
    return picks or [n for n in names if n != baseline][:1]


def compare_pickers(baseline: str) -> list[str]:
    rows = hardware_table()
    names = [h["name"] for h in rows]
    labels = {h["name"]: h["display_name"] for h in rows}
    defaults = _default_compare(names, baseline)
    present = [k for k in KINDS if any(h["kind"] == k for h in rows)]
    chosen: list[str] = []
    with st.expander("Compare with (grouped by kind)", expanded=True):
        cols = st.columns(len(present) or 1)
        for col, kind in zip(cols, present):
            opts = [h["name"] for h in rows if h["kind"] == kind]
            chosen += col.multiselect(kind.upper(), opts, default=[d for d in defaults if d in opts],
                                      format_func=lambda n: labels.get(n, n), key=f"compare_{kind}")
        missing = [k.upper() for k in KINDS if k not in present]
        if missing:
            st.caption(f"No bundled {', '.join(missing)} specs yet.")
    return [baseline] + [c for c in chosen if c != baseline]


def compare_row(r: sim.SimulationResult, hw: Any, base: sim.SimulationResult) -> dict[str, Any]:
    cost = cost_per_step(r, hw)
    return {"device": r.hardware, "kind": r.kind, "step time (ms)": r.step_time_s * 1e3,
            "speed-up vs baseline": base.step_time_s / r.step_time_s if r.step_time_s else None,
            "throughput (samples/s)": r.throughput_samples_per_s, "tokens/s": r.tokens_per_s,
            "peak memory (GiB)": r.peak_memory_bytes / GIB, "capacity (GiB)": r.memory_capacity_bytes / GIB,
            "fits": r.fits_in_memory, "energy (J)": r.energy_j, "average power (W)": r.average_power_w,
            "TDP (W)": r.tdp_w, "cost per step (USD)": cost,
            "cost per 1M samples (USD)": cost / r.batch_size * 1e6 if cost is not None else None,
            "bottleneck": r.bottleneck, "utilization (%)": r.utilization * 100}


def page_simulate(sc: Scenario) -> None:
    st.title("Simulate and compare")
    st.caption(sc.label)
    devices = compare_pickers(sc.device)
    results: dict[str, sim.SimulationResult] = {}
    errors: dict[str, str] = {}
    with st.spinner(f"Simulating on {len(devices)} device(s)..."):
        for d in devices:
            r, err = run(sc, d)
            if r is None:
                errors[d] = err
            else:
                results[d] = r
    for d, err in errors.items():
        st.error(f"{d}: {err}")
    if sc.device not in results:
        return
    base = results[sc.device]
    hw = device_spec(sc.device)
    st.subheader(hw.display_name)
    headline(base, hw, key="main")
    if len(results) > 1:
        st.subheader("Side by side")
        cols = st.columns(min(4, len(results)))
        for i, (d, r) in enumerate(results.items()):
            dhw = device_spec(d)
            with cols[i % len(cols)]:
                st.metric(f"{dhw.display_name}", fmt_time(r.step_time_s),
                          None if d == sc.device else pct_delta(r.step_time_s, base.step_time_s), delta_color="inverse",
                          help="Step time, delta vs the sidebar device")
                st.caption(f"{r.bottleneck.replace('_', ' ')} · {fmt_bytes(r.peak_memory_bytes)} "
                           f"{'fits' if r.fits_in_memory else 'does NOT fit'} · {fmt_usd(cost_per_step(r, dhw))}/step")
        df = pd.DataFrame([compare_row(r, device_spec(d), base) for d, r in results.items()])
        st.dataframe(df.dropna(axis=1, how="all"), hide_index=True)
        c = st.columns(2)
        c[0].plotly_chart(compare_bars(df), key="cmp_bars")
        c[1].plotly_chart(breakdown_figure(results), key="cmp_brk")
        st.plotly_chart(shares_figure(results), key="cmp_shares")
    st.subheader("Details")
    focus = st.selectbox("Charts for", list(results), key="focus") if len(results) > 1 else sc.device
    detail_tabs(results[focus], device_spec(focus), key="sim", gantt=results)
    downloads(results[focus], stem_of(sc, focus), key="sim")


def _scaled(value: float, scale: float, integer: bool = False) -> float:
    v = value * scale
    return max(1, round(v)) if integer else v


def is_system(hw: Any) -> bool:
    return getattr(hw, "kind", "") == "system"


def unit_spec(hw: Any) -> Any:
    """The single-device spec behind ``hw``: a system's device, or ``hw`` itself (for roofline and power)."""
    return sim.load_hardware(hw.device) if is_system(hw) else hw


def whatif_overrides(hw: Any, s: dict[str, float]) -> dict[str, Any]:
    """Dotted-path overrides for the slider scales ``s`` (1.0 = unchanged) on spec ``hw``.

    A system names its device rather than containing it, so only its fabrics scale here.
    """
    out: dict[str, Any] = {}
    if is_system(hw):
        for fabric in ("intra_node", "inter_node"):
            f = getattr(hw, fabric, None)
            if f is not None and s["link"] != 1:
                out[f"{fabric}.bandwidth_gbs"] = _scaled(f.bandwidth_gbs, s["link"])
        return out
    if s["clock"] != 1:
        out["compute.clock_ghz"] = _scaled(hw.compute.clock_ghz, s["clock"])
    unit = UNIT_FIELDS.get(hw.kind)
    if unit and s["units"] != 1:
        out[f"compute.{unit}"] = _scaled(getattr(hw.compute, unit), s["units"], integer=True)
    main = hw.main_memory
    if s["bandwidth"] != 1:
        out[f"memory.{main.name}.bandwidth_gbs"] = _scaled(main.bandwidth_gbs, s["bandwidth"])
    if s["capacity"] != 1:
        out[f"memory.{main.name}.capacity_bytes"] = _scaled(main.capacity_bytes, s["capacity"])
    if s["link"] != 1:
        for link in hw.links:
            out[f"links.{link.name}.bandwidth_gbs"] = _scaled(link.bandwidth_gbs, s["link"])
        if hw.host_link is not None:
            out["host_link.bandwidth_gbs"] = _scaled(hw.host_link.bandwidth_gbs, s["link"])
    return out


UNIT_FIELDS = {"gpu": "sm_count", "tpu": "cores_per_chip", "cpu": "cores", "asic": "arrays", "fpga": "dsp_slices"}


def _yaml_editor(device: str) -> str | None:
    """The spec editor; returns edited YAML when it is valid and differs from the catalogue, else None."""
    original = spec_yaml_text(device)
    st.subheader("Edit the spec")
    st.caption("Change any field of the device's YAML; the what-if above runs on the edited spec (sliders apply "
               "on top). Validated with the same schema as the catalogue.")
    text = st.text_area("Device YAML", original, height=360, key=f"yaml_{device}")
    edited = None
    try:
        spec = spec_from_yaml(text)
        if text.strip() != original.strip():
            st.success(f"Valid spec: {spec.display_name}")
            edited = text
    except sim.InputError as exc:
        st.error(f"Invalid spec: {exc}")
    except Exception as exc:  # never let an edit crash the page
        st.error(f"Invalid spec: {type(exc).__name__}: {exc}")
    st.download_button("Download edited YAML", text.encode(), f"{device}-edited.yaml", "application/x-yaml",
                       key="dl_yaml")
    return edited


def _sliders(hw: Any) -> tuple[dict[str, float], float | None]:
    system = is_system(hw)
    dev = unit_spec(hw)
    off = "a system names its device: choose the device itself to scale compute and memory" if system else None
    unit = UNIT_FIELDS.get(dev.kind, "units").replace("_", " ")
    main = dev.main_memory
    c = st.columns(3)
    s = {"clock": c[0].slider("Compute clock ×", 0.25, 4.0, 1.0, 0.05, key="s_clock", disabled=system,
                              help=off or f"compute.clock_ghz (now {dev.compute.clock_ghz} GHz)"),
         "units": c[0].slider(f"Compute units ({unit}) ×", 0.25, 4.0, 1.0, 0.05, key="s_units", disabled=system,
                              help=off),
         "bandwidth": c[1].slider(f"Memory bandwidth ({main.name}) ×", 0.25, 4.0, 1.0, 0.05, key="s_bw",
                                  disabled=system, help=off or f"now {main.bandwidth_gbs:.0f} GB/s"),
         "capacity": c[1].slider(f"Memory capacity ({main.name}) ×", 0.25, 4.0, 1.0, 0.05, key="s_cap",
                                 disabled=system, help=off or f"now {fmt_bytes(main.capacity_bytes)}"),
         "link": c[2].slider("Interconnect bandwidth ×", 0.25, 4.0, 1.0, 0.05, key="s_link",
                             help="intra- and inter-node fabrics" if system else "every link and the host link")}
    tdp = float(dev.power.tdp_w)
    lo = float(max(1, round(dev.power.idle_w * 1.05)))
    cap = c[2].slider("Power cap (W per device)", lo, tdp, tdp, float(max(1, round(tdp / 100))), key="s_cap_w",
                      help="simulate(power_cap_w=...); at TDP there is no cap")
    return s, (cap if cap < tdp else None)


def page_whatif(sc: Scenario) -> None:
    st.title("What-if")
    st.caption(f"{sc.label} · on {sc.device}; deltas are against the unmodified device.")
    base_hw = device_spec(sc.device)
    results_box = st.container()
    editor_box = st.container()
    with editor_box:
        edited = _yaml_editor(sc.device)
    with results_box:
        hw_src = device_spec(sc.device, spec_yaml=edited) if edited else base_hw
        scales, cap = _sliders(hw_src)
        overrides = whatif_overrides(hw_src, scales)
        with st.spinner("Simulating the what-if..."):
            base, err0 = run(sc)
            new, err1 = run(sc, overrides=overrides, power_cap_w=cap, spec_yaml=edited)
        if base is None or new is None:
            st.error(err0 or err1)
            return
        new_hw = device_spec(sc.device, overrides, edited)
        if overrides:
            st.caption("Overrides: " + ", ".join(f"`{k}` = {v:.4g}" for k, v in overrides.items()))
        headline(new, new_hw, base=(base, base_hw), key="whatif")
        both = {f"{sc.device} (as is)": base, f"{sc.device} (what-if)": new}
        c = st.columns(2)
        c[0].plotly_chart(shares_figure(both), key="wi_shares")
        c[1].plotly_chart(breakdown_figure(both), key="wi_brk")
        detail_tabs(new, new_hw, key="whatif", power_cap_w=cap, gantt=both)
        downloads(new, stem_of(sc, sc.device) + "-whatif", key="whatif")


def page_workload(sc: Scenario) -> None:
    st.title("Workload")
    st.caption(sc.label)
    try:
        d = sim.describe(workload_of(sc), batch_size=sc.batch_size, seq_len=sc.seq_len, image_size=sc.image_size,
                         precision=sc.precision)
    except (sim.SimulatorError, UploadError) as exc:
        st.error(str(exc))
        return
    c = st.columns(3)
    c[0].metric("Parameters", fmt_si(d["parameters"]))
    c[1].metric("Forward FLOPs (batch)", fmt_si(d["forward_flops"], "FLOP"))
    c[2].metric("Forward FLOPs per sample", fmt_si(d["forward_flops"] / max(1, d["batch_size"] or 1), "FLOP"))
    c = st.columns(3)
    c[0].metric(f"Weights ({d['precision']})", fmt_bytes(d["weight_bytes"]))
    c[1].metric("Activations (forward)", fmt_bytes(d["activation_bytes"]))
    c[2].metric("Ops", f"{d['op_count']:,}")
    kinds = pd.DataFrame(sorted(d["op_kinds"].items(), key=lambda kv: -kv[1]), columns=["op kind", "count"])
    st.plotly_chart(_layout(go.Figure(go.Bar(x=kinds["op kind"], y=kinds["count"])), "Ops by kind"), key="wl_kinds")
    with st.expander("describe() output"):
        st.json(d)
    st.subheader("Model zoo")
    st.dataframe(pd.DataFrame(workload_table()), hide_index=True)


# -- pages for API that other modules add (generate, serve, sweep): called through their signatures ----------------


def call_with_known_args(fn: Callable[..., Any], positional: tuple[Any, ...], candidates: dict[str, Any]) -> Any:
    """Call ``fn(*positional, **kw)`` with only the keyword arguments its signature names."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn(*positional)
    kw = {k: v for k, v in candidates.items() if k in params and v is not None}
    return fn(*positional, **kw)


def show_any_result(obj: Any, key: str) -> None:
    """Show an unknown result object: DataFrame as a table, numbers as metrics, the rest as JSON."""
    if isinstance(obj, pd.DataFrame):
        st.dataframe(obj, hide_index=True)
        return
    data = obj.to_dict() if hasattr(obj, "to_dict") else (obj if isinstance(obj, dict) else None)
    if data is None:
        st.write(obj)
        return
    nums = [(k, v) for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    cols = st.columns(4)
    for i, (k, v) in enumerate(nums[:8]):
        cols[i % 4].metric(k.replace("_", " "), fmt_si(float(v)) if abs(v) >= 1e3 else f"{v:.4g}")
    df = getattr(obj, "ops", None) if not isinstance(obj, dict) else None
    if isinstance(df, pd.DataFrame) and len(df):
        st.dataframe(df, hide_index=True, height=240)
    with st.expander("All fields"):
        st.json(_jsonable(data))


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x if isinstance(x, (str, int, float, bool)) or x is None else str(x)


@st.cache_data(show_spinner=False, max_entries=128)
def _generate(workload: str, upload_digest: str | None, _upload: Upload | None, hardware: str, batch_size: int,
              prompt_len: int, output_len: int, precision: str) -> Any:
    wl = _upload_workload(upload_digest, _upload) if _upload else workload
    return call_with_known_args(sim.generate, (wl, hardware),
                                {"batch_size": batch_size, "prompt_len": prompt_len, "output_len": output_len,
                                 "precision": precision})


def _text_workloads(sc: Scenario) -> tuple[list[str], int]:
    names = [w["name"] for w in workload_table() if w.get("task") == "text"] or [w["name"] for w in workload_table()]
    if sc.upload is not None:
        names = [sc.workload] + names
    pref = [sc.workload, "llama2-7b", "gpt2"]
    return names, next((names.index(p) for p in pref if p in names), 0)


def generation_view(g: Any) -> None:
    """Headline numbers and per-position decode charts of a GenerationResult."""
    c = st.columns(4)
    c[0].metric("Time to first token", fmt_time(g.ttft_s), help="the prefill of the prompt")
    c[1].metric("Time per output token", fmt_time(g.tpot_s), help="mean decode step")
    c[2].metric("Throughput (tokens/s)", fmt_si(g.tokens_per_s), help=f"over {fmt_time(g.total_time_s)} in all")
    fit = "fits" if g.fits_in_memory else "does NOT fit"
    c[3].metric("Peak memory", fmt_bytes(g.peak_memory_bytes), f"of {fmt_bytes(g.memory_capacity_bytes)} · {fit}",
                delta_color="normal" if g.fits_in_memory else "inverse", delta_arrow="off")
    c = st.columns(4)
    c[0].metric("KV cache", fmt_bytes(g.kv_cache_bytes), help=f"weights {fmt_bytes(g.weight_bytes)}")
    c[1].metric("Energy per token", f"{g.energy_per_token_j * 1e3:.3g} mJ")
    c[2].metric("Average power", f"{g.average_power_w:.0f} W")
    bound = {k: BOUND_SHORT.get(str(v), str(v).replace("_", " ")) for k, v in dict(g.bottleneck).items()}
    c[3].metric("Decode bottleneck", bound.get("decode", "n/a"), f"prefill: {bound.get('prefill', 'n/a')}",
                delta_color="off", delta_arrow="off")
    samples = getattr(g, "decode", ())
    if samples:
        xs = [d.past_len for d in samples]
        fig = go.Figure(go.Scatter(x=xs, y=[d.result.step_time_s * 1e3 for d in samples], mode="lines+markers",
                                   name="decode step"))
        fig.update_xaxes(title="tokens in the KV cache")
        fig.update_yaxes(title="ms per decode step", rangemode="tozero")
        mem = go.Figure(go.Scatter(x=xs, y=[d.result.peak_memory_bytes / GIB for d in samples], mode="lines+markers",
                                   name="peak memory"))
        mem.add_hline(y=g.memory_capacity_bytes / GIB, line=dict(color="red", dash="dash"), annotation_text="capacity")
        mem.update_xaxes(title="tokens in the KV cache")
        mem.update_yaxes(title="GiB", rangemode="tozero")
        cc = st.columns(2)
        cc[0].plotly_chart(_layout(fig, "Decode step time as the cache grows"), key="gen_steps")
        cc[1].plotly_chart(_layout(mem, "Peak memory as the cache grows"), key="gen_mem")
    if hasattr(g, "to_json"):
        st.download_button("Generation JSON", g.to_json().encode(), "generation.json", "application/json",
                           key="dl_gen")


def page_generate(sc: Scenario) -> None:
    st.title("LLM generation")
    names, idx = _text_workloads(sc)
    c = st.columns(4)
    model = c[0].selectbox("Decoder model", names, index=idx, key="gen_model")
    prompt = c[1].number_input("Prompt tokens", 1, 131072, 512, key="gen_prompt")
    out = c[2].number_input("Generated tokens", 1, 131072, 128, key="gen_out")
    batch = c[3].number_input("Sequences in the batch", 1, 4096, 8, key="gen_batch")
    st.caption(f"{model} on {sc.device} · {sc.precision}")
    upload = sc.upload if (sc.upload is not None and model == sc.workload) else None
    with st.spinner("Simulating generation..."):
        try:
            g = _generate(model, upload.digest if upload else None, upload, sc.device, int(batch), int(prompt),
                          int(out), sc.precision)
        except (sim.SimulatorError, UploadError) as exc:
            st.error(str(exc))
            return
        except Exception as exc:
            st.error(f"generate: {type(exc).__name__}: {exc}")
            return
    if hasattr(g, "ttft_s"):
        generation_view(g)
    else:
        show_any_result(g, "gen")


@st.cache_data(show_spinner=False, max_entries=64)
def _serve(workload: str, upload_digest: str | None, _upload: Upload | None, hardware: str,
           knobs: tuple[tuple[str, Any], ...]) -> Any:
    wl = _upload_workload(upload_digest, _upload) if _upload else workload
    return call_with_known_args(sim.serve, (wl, hardware), dict(knobs))


def _serve_controls(sc: Scenario) -> dict[str, Any]:
    c = st.columns(4)
    knobs: dict[str, Any] = {
        "arrival": c[0].selectbox("Arrivals", ["poisson", "constant", "bursty"], key="srv_arrival"),
        "rate_per_s": c[1].number_input("Rate (requests/s)", 0.01, 1e6, 200.0, key="srv_rate"),
        "requests": c[2].number_input("Requests", 10, 100_000, 1000, step=100, key="srv_n"),
        "batching": c[3].selectbox("Batching", ["dynamic", "continuous", "static", "none"], key="srv_batching"),
    }
    c = st.columns(4)
    knobs["max_batch_size"] = c[0].number_input("Max batch", 1, 4096, 32, key="srv_max_batch")
    knobs["max_wait_ms"] = c[1].number_input("Max wait (ms)", 0.0, 10_000.0, 5.0, key="srv_wait")
    knobs["replicas"] = c[2].number_input("Replicas", 1, 1024, 1, key="srv_replicas")
    slo = c[3].number_input("Latency SLO (ms, 0 = none)", 0.0, 1e6, 0.0, key="srv_slo")
    knobs["slo_ms"] = slo or None
    knobs["precision"] = sc.precision
    if sc.seq_len:
        knobs["seq_len"] = sc.seq_len
    if sc.image_size:
        knobs["image_size"] = sc.image_size
    return knobs


def serving_view(r: Any) -> None:
    """Latency percentiles, throughput and utilisation; latency histogram and queue over time."""
    s = r.summary
    c = st.columns(4)
    c[0].metric("Latency p50", fmt_time(s["latency_p50_s"]))
    c[1].metric("Latency p99", fmt_time(s["latency_p99_s"]), f"max {fmt_time(s['latency_max_s'])}",
                delta_color="off", delta_arrow="off")
    c[2].metric("Throughput (requests/s)", fmt_si(s["throughput_per_s"]))
    c[3].metric("Utilization", f"{s['utilization'] * 100:.1f}%", f"mean batch {s['mean_batch_size']:.1f}",
                delta_color="off", delta_arrow="off")
    c = st.columns(4)
    slo = s.get("slo_attainment")
    c[0].metric("SLO attainment", "n/a" if slo is None else f"{slo * 100:.1f}%")
    c[1].metric("Mean queue length", f"{s['mean_queue_length']:.2f}", f"max {s['max_queue_length']}",
                delta_color="off", delta_arrow="off")
    c[2].metric("Energy per request", f"{s['energy_per_request_j']:.3g} J")
    c[3].metric("Average power", f"{s['average_power_w']:.0f} W")
    if s.get("llm"):
        c = st.columns(4)
        c[0].metric("TTFT p50", fmt_time(s["ttft_p50_s"]))
        c[1].metric("TTFT p99", fmt_time(s["ttft_p99_s"]))
        c[2].metric("TPOT p50", fmt_time(s["tpot_p50_s"]))
        c[3].metric("Tokens/s", fmt_si(s["tokens_per_s"]))
    cc = st.columns(2)
    lat = go.Figure(go.Histogram(x=[x * 1e3 for x in r.latencies_s], nbinsx=60, name="latency"))
    if s.get("slo_ms"):
        lat.add_vline(x=s["slo_ms"], line=dict(color="red", dash="dash"), annotation_text="SLO")
    lat.update_xaxes(title="latency (ms)")
    lat.update_yaxes(title="requests")
    cc[0].plotly_chart(_layout(lat, "Latency distribution"), key="srv_lat")
    q = r.queue_timeline
    qf = go.Figure([go.Scatter(x=q.time_s.to_numpy(), y=q.queue_length.to_numpy(), mode="lines", line_shape="hv",
                               name="waiting"),
                    go.Scatter(x=q.time_s.to_numpy(), y=q.in_system.to_numpy(), mode="lines", line_shape="hv",
                               name="in system")])
    qf.update_xaxes(title="time (s)")
    qf.update_yaxes(title="requests", rangemode="tozero")
    cc[1].plotly_chart(_layout(qf, "Queue over time"), key="srv_queue")
    d = st.columns(2)
    d[0].download_button("Requests CSV", r.request_table.to_csv(index=False).encode(), "requests.csv", "text/csv",
                         key="dl_srv_csv")
    d[1].download_button("Serving JSON", r.to_json().encode(), "serving.json", "application/json", key="dl_srv_json")


def page_serve(sc: Scenario) -> None:
    st.title("Serving")
    knobs = _serve_controls(sc)
    st.caption(f"{sc.workload} on {knobs['replicas']} x {sc.device} · {sc.precision} · inference requests")
    with st.spinner("Simulating the request stream..."):
        try:
            r = _serve(sc.workload, sc.upload.digest if sc.upload else None, sc.upload, sc.device,
                       tuple(sorted(knobs.items())))
        except (sim.SimulatorError, UploadError) as exc:
            st.error(str(exc))
            return
        except Exception as exc:
            st.error(f"serve: {type(exc).__name__}: {exc}")
            return
    if hasattr(r, "summary") and "latency_p50_s" in getattr(r, "summary", {}):
        serving_view(r)
    else:
        show_any_result(r, "srv")


@st.cache_data(show_spinner=False, max_entries=64)
def _sweep(workload: str, space: tuple[tuple[str, tuple[Any, ...]], ...], mode: str) -> pd.DataFrame:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as ex:  # threads: no process-pool start-up for a small grid
        return call_with_known_args(sim.sweep, (workload, {k: list(v) for k, v in space}),
                                    {"mode": mode, "executor": ex, "progress": False})


def sweep_figure(df: pd.DataFrame) -> go.Figure:
    """Step time against cost per step, one colour per device: the lower left is the Pareto front."""
    ok = df[df["status"] == "ok"] if "status" in df.columns else df
    y = "cost_usd" if "cost_usd" in ok.columns and ok["cost_usd"].notna().any() else "energy_j"
    fig = go.Figure()
    for hw, g in ok.groupby("hardware"):
        blank = [""] * len(g)
        text = [f"batch {b} · {p}" for b, p in zip(g.get("batch_size", blank), g.get("precision", blank))]
        fig.add_trace(go.Scatter(x=g["step_time_s"] * 1e3, y=g[y], mode="markers", name=str(hw), text=text,
                                 marker=dict(size=10),
                                 hovertemplate="%{text}<br>%{x:.3f} ms<br>%{y:.3g}<extra></extra>"))
    fig.update_xaxes(title="step time (ms)", type="log")
    ytitle = "cost per step (USD)" if y == "cost_usd" else "energy per step (J)"
    fig.update_yaxes(title=ytitle, type="log")
    return _layout(fig, "Design space: step time vs " + ytitle.split(" (")[0] + " (lower left is better)")


def page_sweep(sc: Scenario) -> None:
    st.title("Sweep")
    if sc.upload is not None:
        st.info("Sweeps run on model-zoo workloads; pick one in the sidebar.")
        return
    names = [h["name"] for h in hardware_table()]
    labels = {h["name"]: kind_label(h) for h in hardware_table()}
    c = st.columns(3)
    devices = c[0].multiselect("Devices", names, default=[sc.device] + _default_compare(names, sc.device)[:1],
                               format_func=lambda n: labels.get(n, n), key="sw_devices")
    text = c[1].text_input("Batch sizes", f"{max(1, sc.batch_size // 2)}, {sc.batch_size}",
                           key="sw_batches")
    precisions = c[2].multiselect("Precisions", PRECISIONS, default=[sc.precision], key="sw_prec")
    st.caption(f"{sc.workload} · {sc.mode}; every combination is simulated.")
    try:
        batches = sorted({int(x) for x in re.split(r"[,\s]+", text.strip()) if x})
        if not batches or min(batches) < 1:
            raise ValueError
    except ValueError:
        st.error("Batch sizes: a comma-separated list of positive integers")
        return
    if not devices or not precisions:
        st.info("Pick at least one device and one precision.")
        return
    space = (("hardware", tuple(devices)), ("batch_size", tuple(batches)), ("precision", tuple(precisions)))
    if sc.seq_len:
        space += (("seq_len", (sc.seq_len,)),)
    with st.spinner(f"Sweeping {len(devices) * len(batches) * len(precisions)} points..."):
        try:
            df = _sweep(sc.workload, space, sc.mode)
        except Exception as exc:  # a bad space is reported, the page stays
            st.error(f"sweep: {exc}")
            return
    if not isinstance(df, pd.DataFrame):
        show_any_result(df, "sweep")
        return
    okd = df[df["status"] == "ok"] if "status" in df.columns else df
    c = st.columns(3)
    c[0].metric("Points", f"{len(df)}", f"{len(df) - len(okd)} not ok" if len(okd) < len(df) else None,
                delta_color="off", delta_arrow="off")
    if len(okd) and "step_time_s" in okd.columns:
        best = okd.loc[okd["step_time_s"].idxmin()]
        c[1].metric("Fastest", fmt_time(float(best["step_time_s"])),
                    f"{best['hardware']} · batch {best.get('batch_size')}",
                    delta_color="off", delta_arrow="off")
        if "cost_usd" in okd.columns and okd["cost_usd"].notna().any():
            cheap = okd.loc[okd["cost_usd"].idxmin()]
            c[2].metric("Cheapest step", fmt_usd(float(cheap["cost_usd"])),
                        f"{cheap['hardware']} · batch {cheap.get('batch_size')}",
                        delta_color="off", delta_arrow="off")
        st.plotly_chart(sweep_figure(df), key="sw_fig")
    st.dataframe(df, hide_index=True)
    st.download_button("Sweep CSV", df.to_csv(index=False).encode(), "sweep.csv", "text/csv", key="dl_sweep")


# ---------------------------------------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="accsim explorer", layout="wide")
    sc = sidebar()

    def needs(fn: Callable[[Scenario], None]) -> Callable[[], None]:
        def page() -> None:
            if sc is None:
                st.title("accsim")
                st.info("Choose a workload in the sidebar (the upload was not usable).")
                return
            fn(sc)

        return page

    pages = [st.Page(needs(page_simulate), title="Simulate / compare", icon=":material/speed:", url_path="simulate",
                     default=True),
             st.Page(needs(page_whatif), title="What-if", icon=":material/tune:", url_path="what-if"),
             st.Page(needs(page_workload), title="Workload", icon=":material/account_tree:", url_path="workload")]
    if hasattr(sim, "generate"):
        pages.append(st.Page(needs(page_generate), title="LLM generation", icon=":material/chat:", url_path="generate"))
    if hasattr(sim, "serve"):
        pages.append(st.Page(needs(page_serve), title="Serving", icon=":material/dns:", url_path="serve"))
    if hasattr(sim, "sweep"):
        pages.append(st.Page(needs(page_sweep), title="Sweep", icon=":material/grid_on:", url_path="sweep"))
    st.navigation(pages).run()


if __name__ == "__main__":  # streamlit runs the script as __main__; tests import the helpers
    main()
