"""Number formatting and the shared labels and colours of the explorer (no Streamlit calls)."""
from __future__ import annotations

import math
from typing import Any

import simulator as sim

GIB = 1024**3
BOUND_SHORT = {"memory_bandwidth": "memory BW", "memory_capacity": "capacity", "communication": "comms"}
BOUND_COLOURS = {"compute": "#4C78A8", "memory_bandwidth": "#F58518", "overhead": "#B279A2", "host": "#54A24B",
                 "communication": "#E45756", "memory_capacity": "#9D755D", "": "#BAB0AC"}


def fmt_time(s: float) -> str:
    """Seconds as µs, ms or s with a sensible number of digits."""
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def fmt_bytes(b: float) -> str:
    """Bytes as GiB (from 0.1 GiB) or MiB."""
    return f"{b / GIB:.2f} GiB" if b >= 0.1 * GIB else f"{b / 1024**2:.1f} MiB"


def fmt_si(x: float, unit: str = "") -> str:
    """``x`` with an SI prefix (k, M, G, T, P) and ``unit``."""
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.2f} {prefix}{unit}"
    return f"{x:.2f} {unit}".strip()


def fmt_usd(x: float | None) -> str:
    """US dollars; below $1 with three significant figures; ``n/a`` for None."""
    if x is None:
        return "n/a"
    if x >= 1:
        return f"${x:,.2f}"
    digits = 2 if x <= 0 else max(2, 2 - math.floor(math.log10(x)))  # three significant figures
    return f"${x:.{digits}f}"


def pct_delta(new: float, old: float) -> str | None:
    """``new`` against ``old`` as a signed percentage for ``st.metric``; None when unchanged."""
    if not old or abs(new / old - 1) < 5e-4:  # unchanged: no delta rather than a coloured "+0.0%"
        return None
    return f"{(new / old - 1) * 100:+.1f}%"


def cost_per_step(r: sim.SimulationResult, hw: Any) -> float | None:
    """Cloud cost of one step in USD: ``price.cloud_usd_per_hour`` x step time, None without a price."""
    price = getattr(hw, "price", None)
    rate = getattr(price, "cloud_usd_per_hour", None) if price else None
    return None if rate is None else rate * r.step_time_s / 3600.0


def throughput_text(r: sim.SimulationResult) -> tuple[str, str]:
    """The throughput metric's label and value: tokens/s for sequence models, samples/s otherwise."""
    if r.tokens_per_s:
        return "Throughput (tokens/s)", fmt_si(r.tokens_per_s)
    return "Throughput (samples/s)", fmt_si(r.throughput_samples_per_s)


def kind_label(row: dict[str, str]) -> str:
    """A ``list_hardware`` row as ``KIND · Display name``."""
    return f"{row['kind'].upper()} · {row['display_name']}"
