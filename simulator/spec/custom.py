"""A device from a few numbers: peak TFLOPS per precision, memory bandwidth and capacity, interconnect
bandwidth, TDP and price, on top of a catalogue GPU that supplies everything else (caches,
efficiencies fitted on measurements, the per-op overhead, tile shapes).

The template's SM count and clock stay; the per-SM tensor rates are set so that
``sm_count x clock x rate`` is the peak entered. Precisions not entered are absent (they fall back as
on any device). Vector (CUDA-core) rates scale with the matrix peak unless given. Idle and active
power scale with the TDP; the energy per FLOP scales with TDP / peak, so the template's power model
keeps its shape. Every figure not entered is the template's, and the spec's sources say so.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

from ..errors import SpecError
from .loader import load_hardware, raw_spec, spec_from_dict
from .models import _DeviceBase

DEFAULT_TEMPLATE = "nvidia-h100-sxm"
GIB = 1024**3

__all__ = ["DEFAULT_TEMPLATE", "custom_spec_dict", "custom_spec", "custom_hardware"]


def _number(source: str, key: str, value: Any, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise SpecError(source, key, f"expected a number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise SpecError(source, key, f"must be {'positive' if positive else 'zero or more'}, got {value!r}")
    return float(value)


def _compute(raw: dict[str, Any], source: str, matrix_tflops: Mapping[str, Any],
             vector_tflops: float | None) -> float:
    """Set the tensor and vector rates; returns the new / old matrix peak ratio (the reference format's)."""
    c = raw["compute"]
    per_cycle = c["sm_count"] * c["clock_ghz"] * 1e9
    old = {str(k): float(v) for k, v in c["tensor_flops_per_cycle_per_sm"].items()}
    new = {str(p): _number(source, f"matrix_tflops.{p}", t) * 1e12 / per_cycle for p, t in matrix_tflops.items()}
    if not new:
        raise SpecError(source, "matrix_tflops", "give the peak TFLOPS of at least one precision")
    ref = next((p for p in ("bf16", "fp16", "fp8", "int8", "tf32", "fp32") if p in new and p in old), None)
    ratio = new[ref] / old[ref] if ref else max(new.values()) / max(old.values())
    c["tensor_flops_per_cycle_per_sm"] = new
    vec = {str(k): float(v) for k, v in c["vector_flops_per_cycle_per_sm"].items()}
    if vector_tflops is not None:
        scale = _number(source, "vector_tflops", vector_tflops) * 1e12 / per_cycle / vec.get("fp32", max(vec.values()))
    else:
        scale = ratio
    c["vector_flops_per_cycle_per_sm"] = {p: v * scale for p, v in vec.items()}
    c["source"] = f"{source}: matrix peaks entered; SM count, clock and tile shapes of the template"
    return ratio


def _memory_links_power(raw: dict[str, Any], source: str, bandwidth_gbs: float, memory_gib: float,
                        interconnect_gbs: float | None, tdp_w: float, flop_ratio: float) -> None:
    main = raw["memory"][-1]
    main["bandwidth_gbs"] = _number(source, "memory_bandwidth_gbs", bandwidth_gbs)
    main["capacity_bytes"] = _number(source, "memory_gib", memory_gib) * GIB
    main["source"] = f"{source}: capacity and bandwidth entered; access energy of the template"
    if interconnect_gbs is not None:
        bw = _number(source, "interconnect_gbs", interconnect_gbs)
        for link in raw.get("links", []):
            link["bandwidth_gbs"] = bw
            link["source"] = f"{source}: bandwidth entered"
    p = raw["power"]
    tdp = _number(source, "tdp_w", tdp_w)
    k = tdp / float(p["tdp_w"])
    p["tdp_w"] = tdp
    p["idle_w"] = float(p["idle_w"]) * k
    p["active_w"] = float(p.get("active_w", 0.0)) * k
    p["energy_pj_per_flop"] = {q: float(e) * k / flop_ratio for q, e in p["energy_pj_per_flop"].items()}
    p["source"] = f"{source}: TDP entered; idle and active power scaled with it, energy per FLOP with TDP / peak"


def custom_spec_dict(name: str, *, matrix_tflops: Mapping[str, Any], memory_bandwidth_gbs: float,
                     memory_gib: float, tdp_w: float, interconnect_gbs: float | None = None,
                     vector_tflops: float | None = None, cloud_usd_per_hour: float | None = None,
                     purchase_usd: float | None = None, template: str = DEFAULT_TEMPLATE,
                     display_name: str | None = None) -> dict[str, Any]:
    """The raw spec mapping of a device built from a few numbers on ``template`` (a catalogue GPU).

    Raises:
        SpecError: a number missing or out of range, a template that is not a GPU (the key named).

    Example:
        >>> d = custom_spec_dict("my-gpu", matrix_tflops={"bf16": 500}, memory_bandwidth_gbs=2000,
        ...                      memory_gib=96, tdp_w=500)
        >>> d["memory"][-1]["bandwidth_gbs"], d["power"]["tdp_w"]
        (2000.0, 500.0)
    """
    source = f"custom device {name!r} (numbers entered in the explorer; template {template})"
    if load_hardware(template).kind != "gpu":
        raise SpecError(source, "template", f"{template} is not a GPU; a custom device starts from a catalogue GPU")
    raw = copy.deepcopy(raw_spec(template))
    raw["name"] = name
    raw["display_name"] = display_name or name
    raw["vendor"] = "custom"
    ratio = _compute(raw, source, matrix_tflops, vector_tflops)
    _memory_links_power(raw, source, memory_bandwidth_gbs, memory_gib, interconnect_gbs, tdp_w, ratio)
    raw.pop("price", None)
    if cloud_usd_per_hour is not None or purchase_usd is not None:
        raw["price"] = {"source": f"{source}: price entered"}
        if cloud_usd_per_hour is not None:
            raw["price"]["cloud_usd_per_hour"] = _number(source, "cloud_usd_per_hour", cloud_usd_per_hour)
        if purchase_usd is not None:
            raw["price"]["purchase_usd"] = _number(source, "purchase_usd", purchase_usd)
    raw["notes"] = f"Built from a few numbers on {template}: every figure not entered is the template's."
    return raw


def custom_spec(name: str, **numbers: Any) -> _DeviceBase:
    """:func:`custom_spec_dict` validated into a spec (see there)."""
    raw = custom_spec_dict(name, **numbers)
    return spec_from_dict(raw, f"custom device {name!r}")


def custom_hardware(name: str, *, matrix_tflops: Mapping[str, float], memory_bandwidth_gbs: float,
                    memory_gib: float, tdp_w: float, interconnect_gbs: float | None = None,
                    vector_tflops: float | None = None, cloud_usd_per_hour: float | None = None,
                    purchase_usd: float | None = None, template: str = "nvidia-h100-sxm",
                    display_name: str | None = None) -> _DeviceBase:
    """A device from a few numbers, usable wherever a catalogue name is (this module).

    Args:
        name: lower-case name (letters, digits, ``-_.``).
        matrix_tflops: dense peak TFLOPS per precision, e.g. ``{"bf16": 1000, "fp8": 2000}``.
        memory_bandwidth_gbs, memory_gib: main memory bandwidth (GB/s) and capacity (GiB).
        tdp_w: board power (W). interconnect_gbs: device-to-device bandwidth per direction (GB/s).
        vector_tflops: FP32 vector peak (default: the template's, scaled with the matrix peak).
        cloud_usd_per_hour, purchase_usd: price (either, both or none).
        template: the catalogue GPU supplying caches, fitted efficiencies and the power model's shape.

    Raises:
        SpecError: a missing or out-of-range number (the field named), a template that is not a GPU.

    Example:
        >>> hw = custom_hardware("my-gpu", matrix_tflops={"bf16": 500}, memory_bandwidth_gbs=2000,
        ...                      memory_gib=96, tdp_w=500, cloud_usd_per_hour=1.5)
        >>> import simulator as sim
        >>> round(sim.peak_rates(hw, "bf16")["matrix_flops_per_s"] / 1e12), sim.hourly_price(hw)["usd_per_device_hour"]
        (500, 1.5)
    """
    return custom_spec(name, matrix_tflops=matrix_tflops, memory_bandwidth_gbs=memory_bandwidth_gbs,
                       memory_gib=memory_gib, tdp_w=tdp_w, interconnect_gbs=interconnect_gbs,
                       vector_tflops=vector_tflops, cloud_usd_per_hour=cloud_usd_per_hour,
                       purchase_usd=purchase_usd, template=template, display_name=display_name)
