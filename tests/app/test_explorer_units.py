"""The explorer's pieces without a running app: docstring examples, the URL encoding of every control
type (a law: what is written decodes to the same value), bands and costs by hand, presets' sources."""
from __future__ import annotations

import doctest
import importlib

import pytest

pytest.importorskip("streamlit")
from hypothesis import given
from hypothesis import strategies as st_

from explorer import share
from explorer.format import per_million, with_band
from explorer.presets import PRESETS

MODULES = ["explorer.format", "explorer.report", "explorer.calls", "explorer.pages.serving"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    failed, attempted = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, report=False)
    assert attempted > 0 and failed == 0, f"{failed} of {attempted} examples of {name} failed"


values = st_.one_of(st_.booleans(), st_.integers(-10**12, 10**12),
                    st_.floats(allow_nan=False, allow_infinity=False, width=64),
                    st_.text(min_size=1, max_size=40), st_.lists(st_.text(min_size=1, max_size=20), max_size=5))


@given(values)
def test_a_value_written_to_the_url_reads_back_the_same(value):
    encoded = share._encode(value)
    default = value if not isinstance(value, list) else []
    raw = encoded if isinstance(encoded, list) else encoded
    back = share._decode(raw, default)
    assert back == value or (isinstance(value, float) and back == pytest.approx(value, rel=1e-15))


def test_a_url_value_of_the_wrong_type_is_refused():
    for raw, default in (("lots", 1), ("x", 1.5), ("maybe", True)):
        with pytest.raises(ValueError):
            share._decode(raw, default)
    assert not share._valid(5, ["a", "b"], None, None) and not share._valid(0, None, 1, 10)
    assert share._valid(["a"], ["a", "b"], None, None) and not share._valid(["a", "c"], ["a", "b"], None, None)


def test_band_range_and_cost_by_hand():
    import simulator as sim

    band = sim.validation_band("gpu")
    if band is None:
        assert with_band(0.05, "gpu") == "50.0 ms"
    else:
        f = band["factor"]
        lo, hi = sim.readable.seconds(0.05 / f), sim.readable.seconds(0.05 * f)
        assert with_band(0.05, "gpu") == f"50.0 ms ({lo[:-3]}-{hi[:-3]})"  # one unit for the three numbers
    # 8 devices at $2.99 an hour, 0.5 s per step of 4,096 tokens: 8 x 2.99 x 0.5 / 3600 / 4096 x 1e6 $
    assert per_million(2.99, 8, 0.5, 4096) == pytest.approx(8 * 2.99 * 0.5 / 3600 / 4096 * 1e6)
    assert per_million(None, 8, 0.5, 4096) is None


def test_every_preset_says_where_its_numbers_come_from():
    for p in PRESETS.values():
        assert p.prompt > 0 and p.output > 0 and p.batch > 0 and len(p.source) > 40, p.name
        assert ("ESTIMATE" in p.source) or any(ch.isdigit() for ch in p.source)
