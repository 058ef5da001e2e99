"""Numbers for people: every ``table()`` of the simulator scales its numbers through these functions.

Three significant digits and a unit prefix picked so the number reads between 1 and 1000:
times in ns/µs/ms/s, memory in binary B/KiB/MiB/GiB/TiB (capacities are powers of two, as
datasheets' "80 GB" of HBM is 80 GiB), bandwidth and rates in decimal (GB/s, TFLOP/s, as datasheets
quote them), energy in mJ/J/kJ/MJ, power in mW/W/kW/MW. JSON output never goes through here: it
keeps SI units at full precision.
"""
from __future__ import annotations

import math

__all__ = ["sig3", "si", "seconds", "nbytes", "joules", "watts", "rate", "percent", "count"]

_PREFIXES = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""),
             (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"))
_BINARY = ((1024.0**4, "TiB"), (1024.0**3, "GiB"), (1024.0**2, "MiB"), (1024.0, "KiB"), (1.0, "B"))


def sig3(x: float) -> str:
    """``x`` with three significant digits, never in scientific notation (non-finite as ``inf``/``nan``).

    Example:
        >>> [sig3(v) for v in (0, 3.14159, 29.631, 299.4, 2996.0, 0.0012345, -41.26)]
        ['0', '3.14', '29.6', '299', '3000', '0.00123', '-41.3']
    """
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    exponent = math.floor(math.log10(abs(x)))
    rounded = round(x, 2 - exponent)
    if rounded and math.floor(math.log10(abs(rounded))) > exponent:  # 999.6 rounds up to 1000
        exponent += 1
    return f"{rounded:.{max(0, 2 - exponent)}f}"


def si(x: float, unit: str, *, largest: str = "E", smallest: str = "p") -> str:
    """``x`` in ``unit`` with the SI prefix that puts it in [1, 1000), within ``smallest``..``largest``.

    Example:
        >>> si(2.6403e11, "FLOP"), si(0.0035912, "s", largest=""), si(1979e12, "FLOP/s")
        ('264 GFLOP', '3.59 ms', '1.98 PFLOP/s')
    """
    if not math.isfinite(x) or x == 0:
        return f"{sig3(x)} {unit}"
    names = [p for _, p in _PREFIXES]
    allowed = _PREFIXES[names.index(largest): names.index(smallest) + 1]
    for scale, prefix in allowed:
        # choose by the rounded value, so 999.96 ms shows as 1.00 s
        if abs(float(sig3(x / scale))) >= 1.0:
            return f"{sig3(x / scale)} {prefix}{unit}"
    scale, prefix = allowed[-1]
    return f"{sig3(x / scale)} {prefix}{unit}"


def seconds(x: float) -> str:
    """A time in s as ns, µs, ms or s.

    Example:
        >>> seconds(29.631209), seconds(0.0035912), seconds(4.2e-7), seconds(3600.0)
        ('29.6 s', '3.59 ms', '420 ns', '3600 s')
    """
    return si(x, "s", largest="", smallest="n")


def nbytes(x: float) -> str:
    """Bytes in binary units (B, KiB, MiB, GiB, TiB).

    Example:
        >>> nbytes(85899345920), nbytes(205_000_000), nbytes(512), nbytes(3 * 1024**4)
        ('80.0 GiB', '196 MiB', '512 B', '3.00 TiB')
    """
    if not math.isfinite(x) or x == 0:
        return f"{sig3(x)} B"
    for scale, unit in _BINARY:
        if abs(float(sig3(x / scale))) >= 1.0:
            return f"{sig3(x / scale)} {unit}"
    return f"{sig3(x)} B"


def joules(x: float) -> str:
    """Energy in J as mJ, J, kJ, MJ, GJ.

    Example:
        >>> joules(10473628.9394), joules(1.7081), joules(0.00042)
        ('10.5 MJ', '1.71 J', '0.420 mJ')
    """
    return si(x, "J", largest="G", smallest="m")


def watts(x: float) -> str:
    """Power in W as mW, W, kW, MW.

    Example:
        >>> watts(475.62), watts(11200.0), watts(0.0)
        ('476 W', '11.2 kW', '0 W')
    """
    return si(x, "W", largest="M", smallest="m")


def rate(x: float, unit: str) -> str:
    """A rate (``unit`` per second, e.g. ``"FLOP/s"``, ``"B/s"``, ``"samples/s"``) with a decimal prefix,
    never below the unit itself.

    Example:
        >>> rate(8910.69, "samples/s"), rate(3.35e12, "B/s"), rate(12.5, "tokens/s")
        ('8.91 ksamples/s', '3.35 TB/s', '12.5 tokens/s')
    """
    return si(x, unit, largest="E", smallest="")


def count(x: float, unit: str = "") -> str:
    """A plain quantity with a decimal prefix (parameters, FLOPs, ops).

    Example:
        >>> count(6.74e9, "params"), count(264e9, "FLOP"), count(312)
        ('6.74 Gparams', '264 GFLOP', '312')
    """
    return si(x, unit, largest="E", smallest="").strip()


def percent(x: float) -> str:
    """A fraction as a percentage with three significant digits.

    Example:
        >>> percent(0.0741), percent(0.2307), percent(1.0), percent(0.0)
        ('7.41 %', '23.1 %', '100 %', '0 %')
    """
    return f"{sig3(x * 100)} %"
