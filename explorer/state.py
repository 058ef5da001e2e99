"""The scenario every page shares: sidebar inputs, uploads, spec edits and the cached simulator calls.

Results are cached with ``st.cache_data`` keyed on every input; uploads live only in a
``tempfile.TemporaryDirectory`` and are cached by their SHA-256.
"""
from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

import simulator as sim
from explorer.format import kind_label

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
PRECISIONS = [p.value for p in sim.Precision]
OPTIMIZERS = ["adam", "adamw", "sgd", "momentum", "adafactor"]
STACKS = {s["display_name"]: s["name"] for s in sim.list_stacks()}


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
    stack: str = "default"

    @property
    def label(self) -> str:
        shape = f"batch {self.batch_size}"
        if self.seq_len:
            shape += f", seq {self.seq_len}"
        if self.image_size:
            shape += f", {self.image_size}px"
        stack = "" if self.stack == "default" else f" · {self.stack}"
        return f"{self.workload} · {self.mode} · {shape} · {self.precision}{stack}"


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
    """Validate YAML text of a hardware spec with ``spec_from_dict``.

    Raises:
        sim.SpecError: bad YAML, duplicate keys, or an invalid spec (key path named).
    """
    return sim.hardware_from_yaml(text, source)


def spec_yaml_text(device: str) -> str:
    """The catalogue YAML of ``device`` as editable text."""
    return sim.hardware_yaml(device)


def overrides_key(overrides: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """A hashable, order-independent cache key for a what-if override dict."""
    return tuple(sorted((overrides or {}).items()))


def is_system(hw: Any) -> bool:
    """True for a system spec (a node or cluster of one device)."""
    return getattr(hw, "kind", "") == "system"


def unit_spec(hw: Any) -> Any:
    """The single-device spec behind ``hw``: a system's device, or ``hw`` itself (for roofline and power)."""
    return sim.load_hardware(hw.device) if is_system(hw) else hw


# ---------------------------------------------------------------------------------------------------------------
# cached simulator calls


@st.cache_data(show_spinner=False)
def hardware_table() -> list[dict[str, str]]:
    return sim.list_hardware()


@st.cache_data(show_spinner=False)
def workload_table() -> list[dict[str, str]]:
    return sim.list_workloads()


@st.cache_resource(show_spinner=False)
def upload_workload(digest: str, _upload: Upload) -> Any:
    """The loaded workload of an upload, cached by its digest (the bytes are not hashed again)."""
    return load_upload(_upload.name, _upload.data)


def workload_of(sc: Scenario) -> Any:
    """The workload object or zoo name to pass to the simulator."""
    return upload_workload(sc.upload.digest, sc.upload) if sc.upload else sc.workload


@st.cache_data(show_spinner=False, max_entries=512)
def _run(workload: str, upload_digest: str | None, _upload: Upload | None, hardware: str, mode: str, batch_size: int,
         seq_len: int | None, image_size: int | None, precision: str, optimizer: str, power_cap_w: float | None,
         overrides: tuple[tuple[str, Any], ...], spec_yaml: str | None, stack: str = "default") -> sim.SimulationResult:
    wl = upload_workload(upload_digest, _upload) if _upload else workload
    hw = spec_from_yaml(spec_yaml) if spec_yaml else hardware
    # the eager host is modelled for one device: a system runs the default stack
    if stack == "eager" and is_system(sim.load_hardware(hw)):
        stack = "default"
    return sim.simulate(wl, hw, mode=mode, batch_size=batch_size, seq_len=seq_len, image_size=image_size,
                        precision=precision, optimizer=optimizer, power_cap_w=power_cap_w,
                        overrides=dict(overrides) or None, stack=stack, time_limit_s=TIME_LIMIT_S)


def run(sc: Scenario, device: str | None = None, *, overrides: dict[str, Any] | None = None,
        power_cap_w: float | None = None, spec_yaml: str | None = None) -> tuple[sim.SimulationResult | None, str]:
    """Simulate (cached) and return ``(result, "")`` or ``(None, one-line error)``; never raises."""
    try:
        r = _run(sc.workload, sc.upload.digest if sc.upload else None, sc.upload, device or sc.device, sc.mode,
                 sc.batch_size, sc.seq_len, sc.image_size, sc.precision, sc.optimizer, power_cap_w,
                 overrides_key(overrides), spec_yaml, sc.stack)
        return r, ""
    except (sim.SimulatorError, UploadError) as exc:
        return None, str(exc)
    except Exception as exc:  # keep the page alive, show what went wrong
        return None, f"{type(exc).__name__}: {exc}"


def device_spec(device: str, overrides: dict[str, Any] | None = None, spec_yaml: str | None = None) -> Any:
    """The validated spec of ``device`` (or of edited YAML) with what-if ``overrides`` applied."""
    base = spec_from_yaml(spec_yaml) if spec_yaml else device
    return sim.load_hardware(base, overrides or None)


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
    source = side.radio("Workload", ["Model zoo", "Upload a file"], horizontal=True, key="wl_source")
    if source != "Model zoo":
        return _sidebar_upload()
    names = [w["name"] for w in workload_table()]
    st.session_state.setdefault("workload", DEFAULT_WORKLOAD if DEFAULT_WORKLOAD in names else names[0])
    name = side.selectbox("Model", names, key="workload", on_change=_reset_shape,
                          help="The bundled model zoo (workloads/*.yaml)")
    return name, None, sim.load_workload(name)


def _sidebar_device() -> str:
    hw_rows = hardware_table()
    names = [h["name"] for h in hw_rows]
    labels = {h["name"]: kind_label(h) for h in hw_rows}
    st.session_state.setdefault("device", DEFAULT_DEVICE if DEFAULT_DEVICE in names else names[0])
    return st.sidebar.selectbox("Device", names, key="device", format_func=lambda n: labels.get(n, n),
                                help="Grouped by kind: cpu, gpu, tpu, fpga, asic")


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
    stack = STACKS[side.selectbox("Software stack", list(STACKS), key="stack",
                                  index=list(STACKS.values()).index("default"),
                                  help="How the framework runs the graph (`accsim list stacks`): eager stacks "
                                       "dispatch every op from the host (small batches become host-bound); "
                                       "compilers fuse pointwise ops into their producers (inference)")]
    device = _sidebar_device()
    if chosen is None:
        return None
    return Scenario(workload=chosen[0], upload=chosen[1], mode=mode, batch_size=int(batch),
                    seq_len=int(seq) if seq and wl.uses_seq_len else None,
                    image_size=int(image) if image and wl.uses_image_size else None,
                    precision=precision, optimizer=optimizer, device=device, stack=stack)
