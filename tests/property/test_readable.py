"""Laws of the table formatting (simulator.readable): three significant digits, never far from the number."""
from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from simulator import readable as R

POSITIVE = st.floats(min_value=1e-11, max_value=1e20, allow_nan=False, allow_infinity=False)
SCALE = {"p": 1e-12, "n": 1e-9, "µ": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
         "E": 1e18}


@given(POSITIVE)
def test_sig3_keeps_three_significant_digits_without_exponent(x):
    text = R.sig3(x)
    assert "e" not in text
    digits = text.replace(".", "").lstrip("0")
    assert len(digits) >= 3 or float(text) >= 100
    assert math.isclose(float(text), x, rel_tol=0.005)


@given(POSITIVE)
def test_si_reads_between_1_and_1000_and_means_the_number(x):
    text = R.si(x, "J")
    number, unit = text.split(" ")
    value = float(number)
    assert 1.0 <= value < 1000.0 or unit in ("pJ", "EJ")
    assert math.isclose(value * SCALE[unit[:-1]], x, rel_tol=0.005)


@given(st.floats(min_value=1.0, max_value=2.0**50, allow_nan=False))
def test_bytes_are_binary_units(x):
    number, unit = R.nbytes(x).split(" ")
    scale = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}[unit]
    assert math.isclose(float(number) * scale, x, rel_tol=0.005)


@given(st.floats(min_value=1e-10, max_value=1e5, allow_nan=False))
def test_times_never_go_above_seconds(x):
    assert re.fullmatch(r"[\d.]+ (ns|µs|ms|s)", R.seconds(x))
