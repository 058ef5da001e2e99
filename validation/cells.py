"""Parsers of a row's free-text cells: its precision, and the first number of a cell (batch, shape)."""
from __future__ import annotations

import re


def parse_precision(text: str, kind: str, vendor_default: str | None = None) -> str | None:
    """Simulator format for a precision cell (AMP -> fp16, or bf16 on TPU); None if not stated."""
    t = text.lower()
    half = "bf16" if kind == "tpu" else "fp16"
    if "nvfp4" in t or "fp4" in t:
        return "fp4"
    if "bf16 matmul" in t:
        return "bf16"
    if "fp8" in t:
        return "fp8"
    if "int8" in t:
        return "int8"
    if "16-bit fixed" in t:
        return "int16"
    if "tf32" in t:
        return "tf32"
    if "fp16" in t or "amp" in t or "mixed precision" in t:
        return half
    if "bf16" in t:
        return "bf16"
    if "fp32" in t:
        return "fp32"
    if "fp64" in t or t == "bytes":
        return "fp32"  # byte counts are converted explicitly in stream cases
    return vendor_default


def first_int(text: str) -> int | None:
    m = re.search(r"\d+", text.replace(",", ""))
    return int(m.group()) if m else None
