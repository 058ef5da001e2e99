"""The scenario every page shares: sidebar inputs, uploads and custom devices.

Uploads live only in a ``tempfile.TemporaryDirectory`` and are cached by their SHA-256. Custom devices
(from a few numbers or an uploaded YAML) live in the session (``st.session_state["custom_devices"]``)
and are usable wherever a catalogue device is: :func:`device_rows` lists them, :func:`hw_key` gives
the cache key that the simulator calls (:mod:`explorer.calls`) turn back into the spec.
"""
from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

import simulator as sim
from explorer.format import kind_label
from explorer.share import CUSTOM, init

MAX_UPLOAD_BYTES = 50 * 10**6  # 50 MB: the largest workload file the app accepts
TIME_LIMIT_S = 60.0  # every simulator call of a page: a run past it shows its one-line error, the app stays up
MAX_NAME_CHARS = 100  # an upload's file stem as written to disk (file systems refuse names over 255 bytes)
UPLOAD_SUFFIXES = (".onnx", ".yaml", ".yml", ".csv")
KINDS = ("cpu", "gpu", "tpu", "fpga", "asic", "system")  # systems: nodes and clusters of one device
DEFAULT_WORKLOAD = "resnet50"
DEFAULT_DEVICE = "nvidia-h100-sxm"
# first two of these that exist are the default comparison devices
COMPARE_PREFERENCE = ("nvidia-a100-sxm-80gb", "google-tpu-v5p", "amd-mi300x", "nvidia-b200", "nvidia-a100-pcie")
MODES = {"Training step": "training", "Inference batch": "inference"}
NATIVE = "native"
PRECISIONS = [NATIVE] + [p.value for p in sim.Precision]
SAME = "same as compute"
# stored-weight formats: fp32 under a 16-bit compute format is automatic mixed precision (FP32 master
# weights, one cast kernel per weighted op in inference); a narrower one is weight-only quantization
WEIGHT_FORMATS = [SAME, "fp32", "fp8", "int8", "int4"]
OPTIMIZERS = ["adam", "adamw", "sgd", "momentum", "adafactor"]
STACKS = {s["display_name"]: s["name"] for s in sim.list_stacks()}
COST_BASES = {"auto": "Cloud, else owned", "cloud": "Cloud only", "owned": "Owned (3 years)"}


# ---------------------------------------------------------------------------------------------------------------
# inputs: the scenario and uploads


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
    """Everything the sidebar decides: what runs, at which shape and precision, on which device.

    ``precision`` None: each device runs in its own native format.
    """

    workload: str
    upload: Upload | None
    mode: str
    batch_size: int
    seq_len: int | None
    image_size: int | None
    precision: str | None
    optimizer: str
    device: str
    stack: str = "default"
    cost_basis: str = "auto"
    weight_precision: str | None = None

    @property
    def precision_label(self) -> str:
        label = self.precision or "native precision"
        return f"{label}, {self.weight_precision} weights" if self.weight_precision else label

    @property
    def label(self) -> str:
        shape = f"batch {self.batch_size}"
        if self.seq_len:
            shape += f", seq {self.seq_len}"
        if self.image_size:
            shape += f", {self.image_size}px"
        stack = "" if self.stack == "default" else f" · {self.stack}"
        return f"{self.workload} · {self.mode} · {shape} · {self.precision_label}{stack}"

    @property
    def is_llm(self) -> bool:
        return self.upload is None and self.workload in decoder_names()


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
    # the name on disk keeps the suffix that picks the loader (``....onnx`` is ONNX, not YAML) and a
    # short, safe stem (300 x "a" + ".yaml" would exceed the file system's name limit)
    stem = re.sub(r"[^A-Za-z0-9_.\-]", "_", Path(name).stem).strip(".")[:MAX_NAME_CHARS] or "upload"
    with tempfile.TemporaryDirectory(prefix="accsim-upload-") as tmp:
        path = Path(tmp) / f"{stem}{suffix}"
        try:
            path.write_bytes(data)
            wl = sim.load_workload(path)
            sim.describe(wl)  # build once so a bad graph is reported now, not mid-comparison
        except sim.SimulatorError as exc:
            raise UploadError(str(exc).replace(str(path), name)) from None
        except OSError as exc:  # the temporary file could not be written (full disk...)
            raise UploadError(f"{name}: could not be stored for reading ({exc.strerror or exc})") from None
        except ImportError as exc:
            raise UploadError(f"{name}: {suffix} import is not available here ({exc})") from None
        except Exception as exc:  # a hostile file must never take the app down
            raise UploadError(f"{name}: could not be read ({type(exc).__name__}: {exc})") from None
    return wl


def spec_from_yaml(text: str, source: str = "edited YAML") -> Any:
    """Validate YAML text of a hardware spec.

    Raises:
        sim.SpecError: bad YAML, duplicate keys, or an invalid spec (key path named).
    """
    return sim.hardware_from_yaml(text, source)


def spec_yaml_text(device: str) -> str:
    """The YAML of ``device`` (catalogue or custom) as editable text."""
    entry = st.session_state.get(CUSTOM, {}).get(device)
    if entry is None:
        return sim.hardware_yaml(device)
    if entry["how"] == "yaml":
        return entry["yaml"]
    import yaml

    return yaml.safe_dump(custom_spec(hw_key(device)).model_dump(mode="json", exclude_defaults=True),
                          sort_keys=False, allow_unicode=True, width=120)


def overrides_key(overrides: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """A hashable, order-independent cache key for a what-if override dict."""
    return tuple(sorted((overrides or {}).items()))


def is_system(hw: Any) -> bool:
    """True for a system spec (a node or cluster of one device)."""
    return getattr(hw, "kind", "") == "system"


def system_size(hw: Any) -> int:
    """Devices a spec runs on by default: a system's full size, else 1 (as ``simulate`` counts them)."""
    return int(hw.devices_per_node * (hw.max_nodes or 1)) if is_system(hw) else 1


def unit_spec(hw: Any) -> Any:
    """The single-device spec behind ``hw``: a system's device, or ``hw`` itself (for roofline and power)."""
    return sim.load_hardware(hw.device) if is_system(hw) else hw


# ---------------------------------------------------------------------------------------------------------------
# catalogue, custom devices and cached lookups


@st.cache_data(show_spinner=False)
def hardware_table() -> list[dict[str, str]]:
    return sim.list_hardware()


@st.cache_data(show_spinner=False)
def workload_table() -> list[dict[str, str]]:
    return sim.list_workloads()


@st.cache_data(show_spinner=False)
def decoder_names() -> list[str]:
    """Zoo workloads that can generate text: decoder transformers with a vocabulary (a KV cache)."""
    out = []
    for w in workload_table():
        p = sim.load_workload(w["name"]).params
        if w.get("family") == "transformer" and getattr(p, "causal", False) and getattr(p, "vocab", 0) > 0:
            out.append(w["name"])
    return out


def hw_key(name: str) -> str:
    """The cache key of a device: "" for a catalogue name, the canonical JSON of a custom device."""
    entry = st.session_state.get(CUSTOM, {}).get(name)
    return "" if entry is None else json.dumps({"name": name, **entry}, sort_keys=True)


@st.cache_resource(show_spinner=False, max_entries=64)
def custom_spec(key: str) -> Any:
    """The validated spec of a custom device from its :func:`hw_key` (raises sim.SpecError)."""
    entry = json.loads(key)
    if entry["how"] == "yaml":
        return spec_from_yaml(entry["yaml"], f"{entry['name']}.yaml")
    return sim.custom_hardware(entry["name"], **entry["numbers"])


def hw_arg(name: str, key: str = "") -> Any:
    """What to pass to the simulator for a device: its catalogue name, or the custom spec."""
    return custom_spec(key) if key else name


@st.cache_resource(show_spinner=False, max_entries=256)
def _spec(name: str, key: str, overrides: tuple[tuple[str, Any], ...], spec_yaml: str | None) -> Any:
    base = spec_from_yaml(spec_yaml) if spec_yaml else hw_arg(name, key)
    return sim.load_hardware(base, dict(overrides) or None)


def device_spec(device: str, overrides: dict[str, Any] | None = None, spec_yaml: str | None = None) -> Any:
    """The validated spec of ``device`` (catalogue or custom, or of edited YAML) with what-if ``overrides``."""
    return _spec(device, hw_key(device), overrides_key(overrides), spec_yaml)


def device_rows() -> list[dict[str, Any]]:
    """The catalogue's rows followed by the session's custom devices (``custom: True``)."""
    rows = [dict(r) for r in hardware_table()]
    for name in st.session_state.get(CUSTOM, {}):
        try:
            hw = device_spec(name)
        except sim.SimulatorError:
            continue
        rows.append({"name": name, "kind": hw.kind, "display_name": hw.display_name, "vendor": hw.vendor,
                     "custom": True})
    return rows


def device_labels() -> dict[str, str]:
    return {r["name"]: kind_label(r) for r in device_rows()}


@st.cache_resource(show_spinner=False)
def upload_workload(digest: str, _upload: Upload) -> Any:
    """The loaded workload of an upload, cached by its digest (the bytes are not hashed again)."""
    return load_upload(_upload.name, _upload.data)


def workload_of(sc: Scenario) -> Any:
    """The workload object or zoo name to pass to the simulator."""
    return upload_workload(sc.upload.digest, sc.upload) if sc.upload else sc.workload


# ---------------------------------------------------------------------------------------------------------------
# sidebar


def _reset_shape() -> None:
    """When the workload changes, start from its own default shape (and a fresh sweep batch list)."""
    name = st.session_state.get("workload")
    try:
        d = sim.load_workload(name).defaults
    except sim.SimulatorError:
        return
    st.session_state["batch_size"] = int(d.get("batch_size", st.session_state.get("batch_size", 1)))
    st.session_state["seq_len"] = int(d.get("seq_len", 128))
    st.session_state["image_size"] = int(d.get("image_size", 224))
    st.session_state.pop("sw_batches", None)  # the sweep's batch list follows the new default


def _sidebar_upload() -> tuple[str, Upload | None, Any] | None:
    side = st.sidebar
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
        wl = upload_workload(up.digest, up)
    except UploadError as exc:
        side.error(str(exc))
        return None
    return wl.name, up, wl


def _sidebar_workload() -> tuple[str, Upload | None, Any] | None:
    side = st.sidebar
    sources = ["Model zoo", "Upload a file"]
    init("wl_source", sources[0], sources)
    source = side.radio("Workload", sources, horizontal=True, key="wl_source")
    if source != "Model zoo":
        return _sidebar_upload()
    names = [w["name"] for w in workload_table()]
    init("workload", DEFAULT_WORKLOAD if DEFAULT_WORKLOAD in names else names[0], names)
    name = side.selectbox("Model", names, key="workload", on_change=_reset_shape,
                          help="The bundled model zoo (workloads/*.yaml)")
    return name, None, sim.load_workload(name)


# what-if controls whose range is the device's own (its TDP, its unit count): a new device starts them afresh
DEVICE_BOUND_KEYS = ("s_cap_w", "s_unit_count")


def _device_changed() -> None:
    for key in DEVICE_BOUND_KEYS:
        st.session_state.pop(key, None)


def device_select(label: str, key: str, default: str, *, where: Any = None, help: str | None = None,
                  kinds: tuple[str, ...] | None = None, on_change: Any = None) -> str:
    """A device chooser over the catalogue and the custom devices, labelled ``KIND · Name``."""
    rows = [r for r in device_rows() if kinds is None or r["kind"] in kinds]
    names = [r["name"] for r in rows]
    labels = {r["name"]: kind_label(r) for r in rows}
    init(key, default if default in names else names[0], names)
    return (where or st).selectbox(label, names, key=key, format_func=lambda n: labels.get(n, n), help=help,
                                   on_change=on_change)


def _shape_inputs(wl: Any) -> tuple[int, int | None, int | None]:
    side = st.sidebar
    d = getattr(wl, "defaults", {}) or {}
    init("batch_size", 256, lo=1, hi=65536)
    batch = side.number_input("Batch size", min_value=1, max_value=65536, step=1, key="batch_size",
                              help="Global batch of one step; a system splits it over its devices")
    seq = image = None
    init("seq_len", int(d.get("seq_len", 128)), lo=1, hi=131072)
    init("image_size", int(d.get("image_size", 224)), lo=8, hi=4096)
    if wl is None or wl.uses_seq_len:
        seq = side.number_input("Sequence length", min_value=1, max_value=131072, step=1, key="seq_len")
    if wl is None or wl.uses_image_size:
        image = side.number_input("Image size (px)", min_value=8, max_value=4096, step=1, key="image_size")
    return int(batch), seq, image


def sidebar() -> Scenario | None:
    """Draw the scenario controls; None while no usable workload is chosen."""
    side = st.sidebar
    side.title("accsim")
    side.caption("Accelerator performance simulator")
    chosen = _sidebar_workload()
    init("mode", list(MODES)[0], list(MODES))
    mode = MODES[side.radio("Mode", list(MODES), key="mode", horizontal=True)]
    wl = chosen[2] if chosen else None
    batch, seq, image = _shape_inputs(wl)
    init("precision", NATIVE, PRECISIONS)
    precision = side.selectbox("Precision", PRECISIONS, key="precision",
                               help="native: each device in its own format (bf16 on an H100 or a TPU, fp16 on a "
                                    "T4, int8 on an FPGA). A device without the format chosen runs in its native "
                                    "one, and says so.")
    init("weight_precision", SAME, WEIGHT_FORMATS)
    weights = side.selectbox("Weights stored as", WEIGHT_FORMATS, key="weight_precision",
                             help="fp32 with a 16-bit precision: automatic mixed precision (FP32 weights, a cast "
                                  "kernel per weighted op in inference). int8/int4/fp8: weight-only quantization "
                                  "(read narrow, computed in the precision above). Not used by the Serving page.")
    init("optimizer", OPTIMIZERS[0], OPTIMIZERS)
    optimizer = side.selectbox("Optimizer", OPTIMIZERS, key="optimizer", disabled=mode != "training")
    stack_labels = list(STACKS)
    init("stack", next(k for k, v in STACKS.items() if v == "default"), stack_labels)
    stack = STACKS[side.selectbox("Software stack", stack_labels, key="stack",
                                  help="How the framework runs the graph (`accsim list stacks`): eager stacks "
                                       "dispatch every op from the host (small batches become host-bound); "
                                       "compilers fuse pointwise ops into their producers (inference)")]
    device = device_select("Device", "device", DEFAULT_DEVICE, where=side,
                           help="Grouped by kind: cpu, gpu, tpu, fpga, asic, system; custom devices on the Devices page",
                           on_change=_device_changed)
    init("cost_basis", "auto", list(COST_BASES))
    basis = side.selectbox("Cost basis", list(COST_BASES), key="cost_basis", format_func=COST_BASES.get,
                           help="What an hour of a device costs: its cloud on-demand rate, or its purchase price "
                                "over 3 years of continuous use (device only: no power, host or hosting)")
    if chosen is None:
        return None
    return Scenario(workload=chosen[0], upload=chosen[1], mode=mode, batch_size=batch,
                    seq_len=int(seq) if seq and wl.uses_seq_len else None,
                    image_size=int(image) if image and wl.uses_image_size else None,
                    precision=None if precision == NATIVE else precision, optimizer=optimizer, device=device,
                    stack=stack, cost_basis=basis, weight_precision=None if weights == SAME else weights)
