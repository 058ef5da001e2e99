"""What an hour of a device costs, so results can be ranked by cost per sample or per token.

A spec's ``price`` holds a cloud rental rate per device-hour, a purchase price, or both. The hourly
price of one device is

* ``cloud``: ``price.cloud_usd_per_hour`` (on-demand, as the spec's source states);
* ``owned``: ``price.purchase_usd`` amortised over :data:`AMORTISATION_YEARS` years of continuous use
  (``purchase / (3 x 8760 h)``), with no electricity, host, hosting or staff: the device alone.

A system's price is per node (``devices_per_node`` devices); without one it is its device's price
times the devices. Electricity is not part of the hourly price (:func:`simulator.sweep` adds it
separately from the simulated energy).
"""
from __future__ import annotations

from typing import Any

AMORTISATION_YEARS = 3.0
HOURS_PER_YEAR = 8760.0
BASES = ("auto", "cloud", "owned")

__all__ = ["AMORTISATION_YEARS", "BASES", "device_hour_price", "hourly_price"]


def _rates(price: Any, per: int) -> dict[str, float]:
    """USD per device-hour from a price block covering ``per`` devices, by basis."""
    out: dict[str, float] = {}
    if price is None:
        return out
    if price.cloud_usd_per_hour is not None:
        out["cloud"] = price.cloud_usd_per_hour / per
    if price.purchase_usd is not None:
        out["owned"] = price.purchase_usd / (AMORTISATION_YEARS * HOURS_PER_YEAR) / per
    return out


def device_hour_price(hw: Any, device: Any = None, basis: str = "auto") -> dict[str, Any] | None:
    """The price of one device-hour of spec ``hw`` (a device, or a system whose device spec is ``device``).

    ``basis``: ``cloud``, ``owned`` or ``auto`` (cloud when listed, else owned).

    Returns:
        ``{"usd_per_device_hour", "basis" ("cloud" | "owned"), "source", "per_node"}`` or None when
        the spec (and, for a system, its device) has no price on that basis.

    Example:
        >>> from types import SimpleNamespace as NS
        >>> p = NS(cloud_usd_per_hour=None, purchase_usd=26280.0, source="list price")
        >>> d = device_hour_price(NS(kind="gpu", price=p))
        >>> d["basis"], d["usd_per_device_hour"]
        ('owned', 1.0)
        >>> dgx = NS(kind="system", devices_per_node=8, price=NS(cloud_usd_per_hour=24.0, purchase_usd=None, source="s"))
        >>> device_hour_price(dgx)["usd_per_device_hour"]
        3.0
    """
    if basis not in BASES:
        raise ValueError(f"basis: choose one of {', '.join(BASES)}, got {basis!r}")
    system = getattr(hw, "kind", "") == "system"
    per = int(getattr(hw, "devices_per_node", 1)) if system else 1
    own = _rates(getattr(hw, "price", None), per)
    source_spec = hw
    if not own and system and device is not None:  # a system without a price: its device's
        own = _rates(getattr(device, "price", None), 1)
        source_spec = device
    order = ("cloud", "owned") if basis == "auto" else (basis,)
    for b in order:
        if b in own:
            price = source_spec.price
            return {"usd_per_device_hour": own[b], "basis": b, "source": price.source,
                    "per_node": system and source_spec is hw}
    return None


def hourly_price(hardware: Any, basis: str = "auto") -> dict[str, Any] | None:
    """What one device-hour of ``hardware`` costs in USD (the rules of this module).

    Args:
        basis: ``"cloud"`` (the spec's on-demand rate), ``"owned"`` (purchase price over 3 years of
            continuous use, device only: no power, host or hosting) or ``"auto"`` (cloud when listed).

    Returns:
        ``{"usd_per_device_hour", "basis", "source", "per_node"}``; None without a price on that basis.
        A system's price is per node (``per_node`` True); a system without one takes its device's.

    Raises:
        SpecError: an unknown device; InputError: an unknown basis.

    Example:
        >>> p = hourly_price("nvidia-h100-sxm")
        >>> p["basis"], p["usd_per_device_hour"]
        ('cloud', 2.99)
        >>> round(hourly_price("nvidia-h100-sxm", "owned")["usd_per_device_hour"], 3)  # $30,000 / 26,280 h
        1.142
    """
    from .errors import InputError
    from .spec.loader import load_hardware

    if basis not in BASES:
        raise InputError(f"basis: choose one of {', '.join(BASES)}, got {basis!r}")
    hw = load_hardware(hardware)
    device = load_hardware(hw.device) if getattr(hw, "kind", "") == "system" else None
    return device_hour_price(hw, device, basis)
