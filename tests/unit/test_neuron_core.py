"""AWS NeuronCore TensorEngine: background stationary loads, instruction issue limits, PSUM evacuation.

Hand computations from the NKI Trainium/Inferentia2 architecture guide: a multiply-moving
instruction streams at most 512 vectors past a 128x128 stationary tile and issues at most every
64 cycles; the next stationary tile loads behind it; results leave PSUM through the vector engines.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cost.base import CostOptions, Numerics
from simulator.cost.dispatch import op_cost
from simulator.cost.systolic import map_gemm, map_gemm_background
from simulator.spec.loader import load_hardware
from simulator.spec.models import Dataflow
from simulator.units import GIGA, Precision
from simulator.workload import ops as O
from simulator.workload.ops import Gemm

NC = dict(rows=128, cols=128, max_moving=512, min_issue_cycles=64)
FILL = 2 * 128 + 128 - 2  # one pipeline fill and drain per GEMM


@pytest.mark.parametrize("m,per_fold", [(512, 512), (1100, 512 + 512 + 76), (1030, 512 + 512 + 64), (600, 600),
                                        (40, 64), (64, 64)])
def test_streamed_vectors_cost_their_count_in_512_chunks_at_least_64_cycles_each(m, per_fold):
    # weights stationary (K = N = 128: one fold), m token vectors streamed; the other orientation
    # (tokens stationary in ceil(m / 128) folds of 128 streamed weight columns) is never cheaper here
    mp = map_gemm_background(Gemm(m=m, n=128, k=128), **NC)
    assert per_fold <= -(-m // 128) * 128
    assert (mp.folds, mp.cycles_per_fold, mp.cycles) == (1, per_fold, per_fold + FILL - 1)


def test_the_short_operand_is_streamed():
    # 8 tokens against a 4096 x 4096 weight: weights stationary (32 x 32 folds of 64 cycles) beats
    # streaming 4096 weight columns past 8 stationary tokens (32 folds of 4096 cycles)
    g = Gemm(m=8, n=4096, k=4096)
    mp = map_gemm_background(g, **NC)
    assert (mp.folds, mp.cycles_per_fold, mp.cycles) == (32 * 32, 64, 32 * 32 * 64 + FILL - 1)


def test_background_loads_beat_the_serial_scale_sim_fold():
    g = Gemm(m=512, n=4096, k=1024)
    serial = map_gemm(g, rows=128, cols=128, dataflow=Dataflow.WS)
    overlapped = map_gemm_background(g, **NC)
    assert serial.cycles == 256 * (2 * 128 + 128 + 512 - 2) - 1
    assert overlapped.cycles == 256 * 512 + FILL - 1
    assert overlapped.utilization > serial.utilization


def test_arrays_share_the_folds():
    g = Gemm(m=512, n=4096, k=1024)
    assert map_gemm_background(g, arrays=2, **NC).cycles == 128 * 512 + FILL - 1


def test_inferentia2_matmul_time_by_hand():
    """One BERT-Large FFN1 at 512 tokens on Inferentia2: TensorEngine cycles at 2.8 GHz over the
    compute efficiency, overlapped with every fp32 result and bias add through the element-wise
    engines (each engine runs its own instruction stream), so the longer of the two."""
    hw = load_hardware("aws-inferentia2")
    op = O.matmul("ffn1", batch=1, m=512, k=1024, n=4096)
    c = op_cost(op, hw, Numerics(compute=Precision.BF16, weights=Precision.BF16), CostOptions())
    cycles = -(-256 // 2) * 512 + FILL  # 256 folds over 2 TensorEngines, cycles + 1
    array_s = cycles / 1.0 / (2.8 * GIGA) / hw.efficiency.compute
    vec_rate = 2 * 230 * 2.8 * GIGA * hw.efficiency.vector  # two NeuronCores
    evac_s = (512 * 4096 + op.vector_flops) / vec_rate
    assert c.compute_s == pytest.approx(max(array_s, evac_s), rel=1e-9)


def test_engines_overlap_by_hand():
    """FFN1 (512 x 1024 x 4096, bf16) on Inferentia2 with compute and vector efficiency 0.5:
    array 128 folds x 512 + 382 fill = 65,918 cycles / 2.8 GHz / 0.5 = 47.084 us;
    vector 512 x 4096 evacuated + 2,097,152 bias/epilogue FLOPs = 4,194,304 at
    2 x 230 x 2.8 GHz x 0.5 = 644 GFLOP/s = 6.513 us. Overlapped: 47.084 us; serial: 53.597 us."""
    fixed = {"efficiency.compute": 0.5, "efficiency.vector": 0.5}
    num = Numerics(compute=Precision.BF16, weights=Precision.BF16)
    op = O.matmul("ffn1", batch=1, m=512, k=1024, n=4096)
    over = op_cost(op, load_hardware("aws-inferentia2", fixed), num, CostOptions()).compute_s
    serial = op_cost(op, load_hardware("aws-inferentia2", {**fixed, "compute.vector_overlaps_array": False}),
                     num, CostOptions()).compute_s
    assert over == pytest.approx(47.084e-6, rel=1e-4)
    assert serial == pytest.approx(53.597e-6, rel=1e-4)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 3000), k=st.integers(1, 3000), n=st.integers(1, 3000), bias=st.booleans())
def test_overlap_is_the_longer_engine_never_the_sum(m, k, n, bias):
    # the overlapped time is the array's or the vector engines' time, whichever is longer: never
    # more than the serial sum, never less than either part
    num = Numerics(compute=Precision.BF16, weights=Precision.BF16)
    op = O.matmul("fc", batch=1, m=m, k=k, n=n, bias=bias)
    over = op_cost(op, load_hardware("aws-trainium"), num, CostOptions()).compute_s
    serial = op_cost(op, load_hardware("aws-trainium", {"compute.vector_overlaps_array": False}),
                     num, CostOptions()).compute_s
    array_only = op_cost(op, load_hardware("aws-trainium", {"compute.vector_overlaps_array": False,
                                                             "compute.gemm_output_via_vector": False}),
                         num, CostOptions()).compute_s if not bias else None
    assert over <= serial * (1 + 1e-12)
    if array_only is not None:
        assert over >= array_only * (1 - 1e-12)
        assert over == pytest.approx(max(array_only, serial - array_only), rel=1e-9)


def test_psum_evacuation_is_one_vector_flop_per_output():
    # the evacuation's own time, counted serially so that it shows as the difference
    hw = load_hardware("aws-inferentia2", {"compute.vector_overlaps_array": False})
    plain = load_hardware("aws-inferentia2", {"compute.gemm_output_via_vector": False,
                                              "compute.vector_overlaps_array": False})
    op = O.matmul("fc", batch=1, m=256, k=128, n=128, bias=False)
    num = Numerics(compute=Precision.BF16, weights=Precision.BF16)
    extra = op_cost(op, hw, num, CostOptions()).compute_s - op_cost(op, plain, num, CostOptions()).compute_s
    rate = hw.compute.arrays * hw.compute.clock_ghz * GIGA * 230 * hw.efficiency.vector
    assert extra == pytest.approx(256 * 128 / rate, rel=1e-9)


def test_tensor_engine_peak_is_the_nki_guide_figure():
    from simulator.cost.peaks import matrix_flops_per_s

    for name, cores, per_core in (("aws-inferentia2", 2, 91.75), ("aws-trainium", 2, 91.75), ("aws-trainium2", 8, 78.64)):
        assert matrix_flops_per_s(load_hardware(name), Precision.BF16) / 1e12 == pytest.approx(cores * per_core, rel=1e-3)


@pytest.mark.parametrize("field,value", [("compute.background_load.min_issue_cycles", 0),
                                         ("compute.background_load.max_moving", -512),
                                         ("compute.gemm_output_via_vector", "sometimes")])
def test_bad_neuroncore_fields_are_one_clear_error(field, value):
    from simulator.errors import SpecError

    with pytest.raises(SpecError, match=field.replace(".", r"\.")):
        load_hardware("aws-inferentia2", {field: value})
