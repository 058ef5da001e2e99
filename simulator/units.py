"""Units and precisions. Inside the simulator everything is SI (s, B, FLOP, W, J).

Conversions happen only at the boundary, where names carry the unit (``bandwidth_gbs``).
"""
from __future__ import annotations

from enum import Enum

GB = 1e9  # decimal, as datasheets state bandwidth
GIB = 1024**3
MIB = 1024**2
KIB = 1024
TERA = 1e12
GIGA = 1e9
PICO = 1e-12
MICRO = 1e-6


class Precision(str, Enum):
    """Numeric formats. ``tf32`` is stored as 32-bit; ``int16`` is fixed point for research ASICs.

    Raises:
        ValueError: ``Precision(name)`` of an unknown name (use :func:`parse_precision` for a
            :class:`~simulator.errors.ScenarioError` listing the known ones).

    Example:
        >>> Precision("bf16").bytes
        2.0
    """

    FP32 = "fp32"
    TF32 = "tf32"
    FP16 = "fp16"
    BF16 = "bf16"
    FP8 = "fp8"
    INT16 = "int16"
    INT8 = "int8"
    INT4 = "int4"

    @property
    def bytes(self) -> float:
        """Storage size of one element in bytes (B; 0.5 for int4).

        Example:
            >>> [Precision(p).bytes for p in ("fp32", "tf32", "fp8", "int4")]
            [4.0, 4.0, 1.0, 0.5]
        """
        return _BYTES[self]

    @property
    def is_float(self) -> bool:
        """True for floating-point formats.

        Example:
            >>> Precision.FP8.is_float, Precision.INT8.is_float
            (True, False)
        """
        return self in (Precision.FP32, Precision.TF32, Precision.FP16, Precision.BF16, Precision.FP8)


_BYTES = {
    Precision.FP32: 4.0, Precision.TF32: 4.0, Precision.FP16: 2.0, Precision.BF16: 2.0,
    Precision.FP8: 1.0, Precision.INT16: 2.0, Precision.INT8: 1.0, Precision.INT4: 0.5,
}

PRECISION_NAMES = tuple(p.value for p in Precision)


def parse_precision(value: "str | Precision") -> Precision:
    """Return the :class:`Precision` named by ``value``.

    Raises:
        ScenarioError: for an unknown name, listing the known ones.

    Example:
        >>> parse_precision("BF16")
        <Precision.BF16: 'bf16'>
        >>> parse_precision("fp64")
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: precision: unknown precision 'fp64'; choose one of fp32, tf32, fp16, bf16, fp8, int16, int8, int4
    """
    from .errors import ScenarioError

    if isinstance(value, Precision):
        return value
    try:
        return Precision(str(value).lower())
    except ValueError:
        raise ScenarioError(f"precision: unknown precision {value!r}; choose one of {', '.join(PRECISION_NAMES)}") from None
