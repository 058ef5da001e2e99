"""Numbers, labels and colours of the explorer (no Streamlit calls).

Every number reads in scaled units with three significant digits (``simulator.readable``); headline
numbers carry the validation band as a range, ``48.3 ms (33.9-68.9)``, marked ``pooled`` when the
device kind has too few validated rows of its own.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable

import simulator as sim

R = sim.readable
GIB = 1024**3
BOUND_SHORT = {"memory_bandwidth": "memory BW", "memory_capacity": "capacity", "communication": "comms"}
BOUND_COLOURS = {"compute": "#4C78A8", "memory_bandwidth": "#F58518", "overhead": "#B279A2", "host": "#54A24B",
                 "communication": "#E45756", "memory_capacity": "#9D755D", "": "#BAB0AC"}
INFEASIBLE_COLOUR = "#BBBBBB"


def fmt_time(s: float) -> str:
    """Seconds as ns, µs, ms or s, three significant digits.

    Example:
        >>> fmt_time(0.048306), fmt_time(2.5e-5), fmt_time(12.0)
        ('48.3 ms', '25.0 µs', '12.0 s')
    """
    return R.seconds(s)


def fmt_bytes(b: float) -> str:
    """Bytes in binary units (MiB, GiB...).

    Example:
        >>> fmt_bytes(85899345920), fmt_bytes(3 * 1024**2)
        ('80.0 GiB', '3.00 MiB')
    """
    return R.nbytes(b)


def fmt_si(x: float, unit: str = "") -> str:
    """``x`` with a decimal prefix and ``unit``: ``5.30 k``, ``264 GFLOP``."""
    return R.count(x, unit)


def fmt_energy(j: float) -> str:
    """Joules as mJ, J, kJ: never ``3.81e+03 mJ``.

    Example:
        >>> fmt_energy(3.81), fmt_energy(0.0042)
        ('3.81 J', '4.20 mJ')
    """
    return R.joules(j)


def fmt_usd(x: float | None) -> str:
    """US dollars with three significant digits (thousands separated); ``n/a`` for None.

    Example:
        >>> fmt_usd(1234.5), fmt_usd(3.456), fmt_usd(0.0123), fmt_usd(None)
        ('$1,234', '$3.46', '$0.0123', 'n/a')
    """
    if x is None or not math.isfinite(x):
        return "n/a"
    if x >= 1000:
        return f"${x:,.0f}"
    return f"${R.sig3(x)}"


def band_info(kind: str) -> tuple[float, bool] | None:
    """``(factor, pooled)`` of a device kind's validation band, or None without one on record."""
    b = sim.validation_band(kind)
    return None if b is None else (float(b["factor"]), not b["measured"])


def with_band(value: float, kind: str, fmt: Callable[[float], str] = fmt_time) -> str:
    """``value`` formatted with its band as a range: ``48.3 ms (33.9-68.9)``; ``, pooled`` when the kind's
    band is the factor pooled over all kinds. The band is a factor either way, so a rate (1 / time) or an
    energy (power x time) takes the same one.

    Example:
        >>> s = with_band(0.05, "no-such-kind-and-no-band", fmt_time)     # the pooled band, if any
        >>> s == "50.0 ms" or (s.startswith("50.0 ms (") and s.endswith(", pooled)"))
        True
    """
    text = fmt(value)
    info = band_info(kind) if value and math.isfinite(value) else None
    if info is None:
        return text
    f, pooled = info
    lo, hi = fmt(value / f), fmt(value * f)
    unit = text.split(" ", 1)[1] if " " in text else ""
    if unit and lo.endswith(" " + unit) and hi.endswith(" " + unit):  # one unit for the three numbers
        lo, hi = lo[: -len(unit) - 1], hi[: -len(unit) - 1]
    return f"{text} ({lo}-{hi}{', pooled' if pooled else ''})"


def band_help(kind: str) -> str:
    """What the range after a headline number means, for the metric's help."""
    info = band_info(kind)
    if info is None:
        return "No validation band on record (run `make validate`)."
    f, pooled = info
    whose = (f"pooled over every device kind: {kind} has too few validated rows of its own" if pooled
             else f"from the validated {kind} rows")
    return (f"Range: the value x/÷ {f:.2f}, the band that held 80 % of the fitted published rows ({whose}; "
            "the Accuracy page shows them).")


def pct_delta(new: float | None, old: float | None) -> str | None:
    """``new`` against ``old`` as a signed percentage for ``st.metric``; None when unchanged or unknown.

    Example:
        >>> pct_delta(1.5, 1.0), pct_delta(1.0, 1.0), pct_delta(None, 1.0)
        ('+50.0%', None, None)
    """
    if new is None or not old or not math.isfinite(new) or abs(new / old - 1) < 5e-4:
        return None
    return f"{(new / old - 1) * 100:+.1f}%"


def per_million(usd_per_device_hour: float | None, devices: int, step_time_s: float, units: float) -> float | None:
    """USD per million samples (or tokens) when ``devices`` devices take ``step_time_s`` for ``units`` of them.

    Example:
        >>> round(per_million(3.6, 1, 1.0, 1000.0), 6)  # $0.001 per step of 1,000 samples
        1.0
    """
    if usd_per_device_hour is None or units <= 0:
        return None
    return usd_per_device_hour * devices * step_time_s / 3600.0 / units * 1e6


def short_name(row: dict[str, Any]) -> str:
    """A device's display name without its vendor prefix: ``H100 SXM5 80GB`` for NVIDIA's.

    Example:
        >>> short_name({"display_name": "NVIDIA H100 SXM5 80GB", "vendor": "NVIDIA"})
        'H100 SXM5 80GB'
        >>> short_name({"display_name": "DGX H100", "vendor": "NVIDIA"})
        'DGX H100'
        >>> short_name({"display_name": "AMD Alveo U200", "vendor": "AMD/Xilinx"})
        'Alveo U200'
    """
    name, vendor = row.get("display_name") or row.get("name", ""), row.get("vendor") or ""
    for prefix in (vendor, re.split(r"[ /(]", vendor)[0]):  # "AMD" of "AMD/Xilinx", "MIT" of "MIT (Chen...)"
        if prefix and name.lower().startswith(prefix.lower() + " "):
            return name[len(prefix) + 1:]
    return name


def kind_label(row: dict[str, Any]) -> str:
    """A device row as ``KIND · Short name`` (custom devices say so).

    Example:
        >>> kind_label({"kind": "gpu", "display_name": "NVIDIA L4 24GB", "vendor": "NVIDIA"})
        'GPU · L4 24GB'
    """
    tag = " (custom)" if row.get("custom") else ""
    return f"{row['kind'].upper()} · {short_name(row)}{tag}"


def bound_label(bound: str) -> str:
    """A bottleneck category as a short phrase."""
    return BOUND_SHORT.get(bound, str(bound).replace("_", " "))
