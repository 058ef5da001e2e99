"""The simulator calls of every page, cached on every input (``st.cache_resource``), never raising.

Results are cached as resources (kept as they are, not pickled: a 1,024-GPU result is 12 MB of trace
that ``st.cache_data`` would copy on every rerun); they are frozen and no page changes them.

Each call returns an :class:`Outcome`: the result, or a one-line error with no server path in it. A
device that lacks the precision asked for runs in its own native format instead, and the outcome's
``note`` says so: one device's gap never blanks a page (issue: an FPGA has no bf16 path).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import streamlit as st

import simulator as sim
from explorer.state import (TIME_LIMIT_S, Scenario, Upload, UploadError, device_spec, hw_arg, hw_key, is_system, overrides_key,
                            spec_from_yaml, system_size, upload_workload)

_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.\-+@~]+){2,}")


def clean_error(exc: BaseException | str) -> str:
    """One line for ``st.error``: the message with every file path cut to its file name.

    Example:
        >>> clean_error("/srv/app/workloads/bert-base.yaml: family: not a decoder")
        'bert-base.yaml: family: not a decoder'
    """
    text = str(exc) if isinstance(exc, str) else (str(exc) if isinstance(exc, (sim.SimulatorError, UploadError))
                                                  else f"{type(exc).__name__}: {exc}")
    text = _PATH.sub(lambda m: re.split(r"[\\/]", m.group(0))[-1], text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Outcome:
    """A simulator result, or the one-line reason there is none; ``note`` says what ran instead of what was asked."""

    result: Any = None
    error: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None


def _wl(workload: str, upload_digest: str | None, upload: Upload | None) -> Any:
    return upload_workload(upload_digest, upload) if upload else workload


def _with_fallback(call, precision: str | None, device: str, weights: str | None = None) -> Outcome:
    """``call(precision, weights)``; when the device cannot run them, ``call(None, None)`` (its native format) with a note."""
    try:
        return Outcome(call(precision, weights))
    except sim.InfeasibleError as exc:
        if precision is None and weights is None:
            return Outcome(error=clean_error(exc))
        try:
            r = call(None, None)
        except (sim.SimulatorError, UploadError):
            return Outcome(error=clean_error(exc))
        except Exception as exc2:  # noqa: BLE001 - keep the page alive
            return Outcome(error=clean_error(exc2))
        ran = getattr(r, "effective_precision", "") or getattr(r, "precision", "")
        return Outcome(r, note=f"{clean_error(exc).rstrip('.')}. Shown: {device} in its native {ran}")
    except (sim.SimulatorError, UploadError) as exc:
        return Outcome(error=clean_error(exc))
    except Exception as exc:  # noqa: BLE001 - a bug in one call must not take the page down
        return Outcome(error=clean_error(exc))


@st.cache_resource(show_spinner=False, max_entries=1024)
def _simulate(workload: str, upload_digest: str | None, _upload: Upload | None, hardware: str, key: str, mode: str,
              batch_size: int, seq_len: int | None, image_size: int | None, precision: str | None, optimizer: str,
              power_cap_w: float | None, overrides: tuple[tuple[str, Any], ...], spec_yaml: str | None,
              stack: str, weight_precision: str | None = None) -> sim.SimulationResult:
    hw = spec_from_yaml(spec_yaml) if spec_yaml else hw_arg(hardware, key)
    if stack == "eager" and is_system(sim.load_hardware(hw)):  # the eager host is modelled for one device
        stack = "default"
    return sim.simulate(_wl(workload, upload_digest, _upload), hw, mode=mode, batch_size=batch_size, seq_len=seq_len,
                        image_size=image_size, precision=precision, weight_precision=weight_precision,
                        optimizer=optimizer, power_cap_w=power_cap_w, overrides=dict(overrides) or None, stack=stack,
                        time_limit_s=TIME_LIMIT_S)


_KEEP = object()


def run(sc: Scenario, device: str | None = None, *, batch_size: int | None = None, precision: Any = _KEEP,
        stack: str | None = None, overrides: dict[str, Any] | None = None, power_cap_w: float | None = None,
        spec_yaml: str | None = None) -> Outcome:
    """The sidebar scenario on ``device`` (default: the sidebar's), with any of its settings replaced."""
    device = device or sc.device
    p = sc.precision if precision is _KEEP else precision

    def call(prec: str | None, weights: str | None) -> sim.SimulationResult:
        return _simulate(sc.workload, sc.upload.digest if sc.upload else None, sc.upload, device, hw_key(device),
                         sc.mode, batch_size or sc.batch_size, sc.seq_len, sc.image_size, prec, sc.optimizer,
                         power_cap_w, overrides_key(overrides), spec_yaml, stack or sc.stack, weights)

    return _with_fallback(call, p, device, sc.weight_precision)


def devices_of(device: str) -> int:
    """Devices ``device`` runs on by default (a system's full size, else 1); 1 for an unusable spec."""
    try:
        return system_size(device_spec(device))
    except sim.SimulatorError:
        return 1


def per_device_run(sc: Scenario, device: str, per_device_batch: int) -> tuple[Outcome, int]:
    """``device`` at ``per_device_batch`` samples per device (a system gets that times its devices)."""
    n = devices_of(device)
    return run(sc, device, batch_size=per_device_batch * n), n


@st.cache_resource(show_spinner=False, max_entries=256)
def _generate(workload: str, upload_digest: str | None, _upload: Upload | None, hardware: str, key: str,
              batch_size: int, prompt_len: int, output_len: int, precision: str | None, tensor_parallel: int,
              stack: str, decode_samples: int, weight_precision: str | None = None) -> Any:
    hw = hw_arg(hardware, key)
    extra: dict[str, Any] = {"stack": "default" if stack == "eager" else stack}  # the eager host: one device only
    if tensor_parallel > 1 or is_system(sim.load_hardware(hw)):
        extra.update(devices=tensor_parallel, parallelism=f"tp={tensor_parallel}")
    return sim.generate(_wl(workload, upload_digest, _upload), hw, batch_size=batch_size, prompt_len=prompt_len,
                        output_len=output_len, precision=precision, weight_precision=weight_precision,
                        decode_samples=decode_samples,
                        time_limit_s=TIME_LIMIT_S, **extra)


def generate(sc: Scenario, model: str, device: str, *, batch_size: int, prompt_len: int, output_len: int,
             tensor_parallel: int = 1, decode_samples: int = 16) -> Outcome:
    """LLM generation of ``model`` (an upload when it is the sidebar's) on ``tensor_parallel`` x ``device``."""
    upload = sc.upload if (sc.upload is not None and model == sc.workload) else None

    def call(prec: str | None, weights: str | None) -> Any:
        return _generate(model, upload.digest if upload else None, upload, device, hw_key(device), batch_size,
                         prompt_len, output_len, prec, tensor_parallel, sc.stack, decode_samples, weights)

    return _with_fallback(call, sc.precision, device, sc.weight_precision)


@st.cache_resource(show_spinner=False, max_entries=128)
def _serve(workload: str, upload_digest: str | None, _upload: Upload | None, hardware: str, key: str,
           knobs: tuple[tuple[str, Any], ...], precision: str | None) -> Any:
    return sim.serve(_wl(workload, upload_digest, _upload), hw_arg(hardware, key), precision=precision,
                     time_limit_s=TIME_LIMIT_S, **dict(knobs))


def serve(sc: Scenario, model: str, device: str, knobs: dict[str, Any]) -> Outcome:
    """A stream of requests for ``model`` on ``device`` with the serving ``knobs`` (``simulator.serve`` arguments)."""
    upload = sc.upload if (sc.upload is not None and model == sc.workload) else None

    def call(prec: str | None, _weights: str | None) -> Any:  # serve() stores weights in the compute format
        return _serve(model, upload.digest if upload else None, upload, device, hw_key(device),
                      tuple(sorted(knobs.items())), prec)

    return _with_fallback(call, sc.precision, device)


@st.cache_resource(show_spinner=False, max_entries=32)
def _cluster(workload: str, upload_digest: str | None, _upload: Upload | None, hardware: str, key: str, mode: str,
             batch_size: int, seq_len: int | None, image_size: int | None, precision: str | None, optimizer: str,
             devices: int, layout: str, microbatches: int | None, checkpointing: str,
             weight_precision: str | None = None) -> sim.SimulationResult:
    return sim.simulate(_wl(workload, upload_digest, _upload), hw_arg(hardware, key), mode=mode,
                        batch_size=batch_size, seq_len=seq_len, image_size=image_size, precision=precision,
                        weight_precision=weight_precision, optimizer=optimizer, devices=devices, parallelism=layout,
                        microbatches=microbatches,
                        checkpointing=checkpointing if mode == "training" else "none", time_limit_s=TIME_LIMIT_S)


def cluster(sc: Scenario, hardware: str, *, devices: int, layout: str, microbatches: int | None,
            checkpointing: str, batch_size: int) -> Outcome:
    """The sidebar workload on ``devices`` devices of ``hardware`` with a parallel ``layout``."""

    def call(prec: str | None, weights: str | None) -> sim.SimulationResult:
        return _cluster(sc.workload, sc.upload.digest if sc.upload else None, sc.upload, hardware, hw_key(hardware),
                        sc.mode, batch_size, sc.seq_len, sc.image_size, prec, sc.optimizer, devices, layout,
                        microbatches, checkpointing, weights)

    return _with_fallback(call, sc.precision, hardware, sc.weight_precision)


def price(device: str, basis: str) -> dict[str, Any] | None:
    """What one device-hour of ``device`` costs on ``basis`` (``sim.hourly_price``), None without a price."""
    try:
        return sim.hourly_price(device_spec(device), basis)
    except sim.SimulatorError:
        return None
