"""The DPUCAHX8L spec files' ``dpu.hbm_pass_element_ns`` (1.6 ns, derived from zoo cells that are
not validation rows; see the spec files) and what it does to a concatenation there."""
from __future__ import annotations

import pytest

from simulator.cost.base import CostOptions, Numerics
from simulator.cost.fpga import cost
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload.ops import data_movement


def test_only_the_dpucahx8l_specs_set_it():
    for name in ("amd-alveo-u50-dpucahx8l", "amd-alveo-u280-dpucahx8l"):
        assert load_hardware(name).compute.dpu.hbm_pass_element_ns == 1.6
    for name in ("amd-zcu102", "amd-alveo-u250", "amd-kria-kv260"):
        assert load_hardware(name).compute.dpu.hbm_pass_element_ns == 0.0


def test_concat_costs_its_copy_on_the_dpucahx8l():
    # 832 x 7 x 7 = 40,768 elements x 1.6 ns = 65.2 us, not clock-scaled (U50 333 MHz vs U280 250 MHz)
    cat = data_movement("cat", elems=832 * 7 * 7)
    t = [cost(cat, load_hardware(n), Numerics(Precision.INT8, Precision.INT8), CostOptions()).compute_s
         for n in ("amd-alveo-u50-dpucahx8l", "amd-alveo-u280-dpucahx8l")]
    assert t[0] == pytest.approx(40_768 * 1.6e-9) and t[1] == pytest.approx(t[0])
    assert cost(cat, load_hardware("amd-zcu102"), Numerics(Precision.INT8, Precision.INT8),
                CostOptions()).compute_s == 0.0
