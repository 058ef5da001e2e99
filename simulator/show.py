"""What ``accsim show NAME`` prints: one device's or system's figures with the source of each, or a
workload's size (as ``describe``). Data as plain dicts (SI units, for ``--format json``) and the
readable text (:mod:`simulator.readable`).
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from .cost import peaks
from .cost.dispatch import default_precision, supported_precisions
from .errors import InfeasibleError
from .readable import nbytes, rate, seconds, sig3, watts
from .spec.models import _DeviceBase
from .spec.system import SystemSpec
from .units import GIGA, MICRO

__all__ = ["device_card", "system_card", "card_text", "describe_text"]


def _price(price: Any) -> dict[str, Any] | None:
    if price is None:
        return None
    return {"cloud_usd_per_hour": price.cloud_usd_per_hour, "purchase_usd": price.purchase_usd,
            "source": price.source}


def _link(link: Any, role: str) -> dict[str, Any]:
    return {"name": link.name, "role": role, "kind": getattr(link.kind, "value", link.kind),
            "bandwidth_bps": link.bandwidth_gbs * GIGA, "latency_s": link.latency_us * MICRO, "source": link.source}


def device_card(hw: _DeviceBase) -> dict[str, Any]:
    """Every figure ``accsim show`` gives for one device, SI units, each block with its ``source``.

    ``precisions``: the formats it has a compute path for, its native one for inference and for
    training (None when it cannot train); ``peak``: matrix and vector FLOP/s per supported format.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> c = device_card(load_hardware("nvidia-h100-sxm"))
        >>> c["precisions"]["native"], round(c["peak"]["bf16"]["matrix_flops_per_s"] / 1e12, 1)
        ('bf16', 989.4)
        >>> [m["name"] for m in c["memory"]], c["power"]["tdp_w"]
        (['l2', 'hbm'], 700.0)
    """
    have = supported_precisions(hw)
    try:
        training = default_precision(hw, training=True).value
    except InfeasibleError:
        training = None
    links = [_link(link, "device") for link in hw.links]
    if hw.host_link is not None:
        links.append(_link(hw.host_link, "host"))
    return {
        "name": hw.name, "display_name": hw.display_name, "vendor": hw.vendor, "kind": hw.kind,
        "precisions": {"supported": [p.value for p in have], "native": default_precision(hw).value,
                       "native_training": training},
        "peak": {p.value: {"matrix_flops_per_s": peaks.matrix_flops_per_s(hw, p),
                           "vector_flops_per_s": peaks.vector_flops_per_s(hw, p)} for p in have},
        "compute": {"clock_ghz": hw.compute.clock_ghz, "source": hw.compute.source},
        "memory": [{"name": m.name, "capacity_bytes": m.capacity_bytes, "bandwidth_bps": m.bandwidth_gbs * GIGA,
                    "source": m.source} for m in hw.memory],
        "links": links,
        "power": {"tdp_w": hw.power.tdp_w, "idle_w": hw.power.idle_w, "active_w": hw.power.active_w,
                  "source": hw.power.source},
        "price": _price(hw.price),
    }


def system_card(system: SystemSpec) -> dict[str, Any]:
    """The figures of a system spec: its device, node size and fabrics, each with its source.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> c = system_card(load_hardware("dgx-a100"))
        >>> c["device"], c["devices_per_node"], c["fabrics"][0]["bandwidth_bps"] / 1e9
        ('nvidia-a100-sxm-80gb', 8, 300.0)
    """
    fabrics = []
    for role, f in (("intra_node", system.intra_node), ("inter_node", system.inter_node)):
        if f is not None:
            fabrics.append({"role": role, "topology": f.topology, "link": getattr(f.link, "value", f.link),
                            "bandwidth_bps": f.bandwidth_gbs * GIGA, "latency_s": f.latency_us * MICRO,
                            "source": f.source})
    return {"name": system.name, "display_name": system.display_name, "vendor": system.vendor, "kind": "system",
            "device": system.device, "devices_per_node": system.devices_per_node, "max_nodes": system.max_nodes,
            "node_overhead_w": system.node_overhead_w, "fabrics": fabrics, "price": _price(system.price),
            "source": system.source}


def _source(text: str, label: str = "source") -> list[str]:
    return textwrap.wrap(f"{label}: {text}", width=110, initial_indent="      ", subsequent_indent="        ")


def _price_lines(price: dict[str, Any] | None) -> list[str]:
    if price is None:
        return ["price          not stated"]
    parts = []
    if price["cloud_usd_per_hour"] is not None:
        parts.append(f"${sig3(price['cloud_usd_per_hour'])} per hour (cloud)")
    if price["purchase_usd"] is not None:
        parts.append(f"${price['purchase_usd']:,.0f} to buy")
    return [f"price          {', '.join(parts) or 'not stated'}", *_source(price["source"])]


def _device_text(c: dict[str, Any]) -> list[str]:
    pr = c["precisions"]
    lines = [f"{c['display_name']} ({c['name']}): {c['kind']}, {c['vendor']}",
             f"precisions     {', '.join(pr['supported'])}; native {pr['native']}, training "
             f"{pr['native_training'] or 'not supported'}",
             f"peak rate      {'format':8s}{'matrix':>16s}{'vector':>16s}   at {sig3(c['compute']['clock_ghz'])} GHz"]
    for p, r in c["peak"].items():
        lines.append(f"               {p:8s}{rate(r['matrix_flops_per_s'], 'FLOP/s'):>16s}"
                     f"{rate(r['vector_flops_per_s'], 'FLOP/s'):>16s}")
    lines += _source(c["compute"]["source"])
    lines.append("memory         (innermost first)")
    for m in c["memory"]:
        lines.append(f"               {m['name']:10s}{nbytes(m['capacity_bytes']):>12s}{rate(m['bandwidth_bps'], 'B/s'):>14s}")
        lines += _source(m["source"])
    lines.append("links" if c["links"] else "links          none")
    for link in c["links"]:
        role = "host " if link["role"] == "host" else ""
        lines.append(f"               {role}{link['name']} ({link['kind']}): {rate(link['bandwidth_bps'], 'B/s')} "
                     f"per direction, latency {seconds(link['latency_s'])}")
        lines += _source(link["source"])
    pw = c["power"]
    lines.append(f"power          TDP {watts(pw['tdp_w'])}, idle {watts(pw['idle_w'])}, active {watts(pw['active_w'])}"
                 " above idle")
    lines += _source(pw["source"])
    return lines + _price_lines(c["price"])


def _system_text(c: dict[str, Any]) -> list[str]:
    nodes = "any number of nodes" if c["max_nodes"] is None else f"up to {c['max_nodes']} nodes"
    lines = [f"{c['display_name']} ({c['name']}): system of {c['device']} (`accsim show {c['device']}`)",
             f"size           {c['devices_per_node']} devices per node, {nodes}; node overhead "
             f"{watts(c['node_overhead_w'])}"]
    for f in c["fabrics"]:
        lines.append(f"{f['role'].replace('_', ' '):15s}{f['link']} {f['topology']}: {rate(f['bandwidth_bps'], 'B/s')} "
                     f"per device per direction, latency {seconds(f['latency_s'])}")
        lines += _source(f["source"])
    return lines + _price_lines(c["price"]) + _source(c["source"], "system source")


def card_text(card: dict[str, Any]) -> str:
    """The readable text of a :func:`device_card` or :func:`system_card`.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> print(card_text(device_card(load_hardware("nvidia-l4"))).splitlines()[1])
        precisions     fp32, tf32, fp16, bf16, fp8, int8, int4; native bf16, training bf16
    """
    return "\n".join(_system_text(card) if card["kind"] == "system" else _device_text(card))


def describe_text(d: dict[str, Any]) -> str:
    """The readable text of :func:`simulator.describe`'s dict, numbers scaled.

    Example:
        >>> from simulator.workload.describe import describe
        >>> print(describe_text(describe("resnet50", batch_size=1)).splitlines()[6])
        parameters             25.6 M
    """
    from .readable import count

    units = {"forward_flops": "FLOP", "forward_matrix_flops": "FLOP"}
    lines = []
    for k, v in d.items():
        if k in ("activation_bytes", "weight_bytes"):
            text = nbytes(v)
        elif k in units or k == "parameters":
            text = count(v, units.get(k, ""))
        elif isinstance(v, dict):
            text = ", ".join(f"{kk} {vv}" for kk, vv in v.items())
        else:
            text = str(v)
        lines.append(f"{k:22s} {text}")
    return "\n".join(lines)


def is_path(text: str) -> bool:
    """True when ``text`` names a file rather than a catalogue entry."""
    return Path(text).suffix.lower() in (".yaml", ".yml", ".cfg", ".onnx", ".csv") or Path(text).exists()
