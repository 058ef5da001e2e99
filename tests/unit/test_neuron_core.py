"""AWS NeuronCore TensorEngine: background stationary loads, instruction issue limits, PSUM evacuation.

Hand computations from the NKI Trainium/Inferentia2 architecture guide: a multiply-moving
instruction streams at most 512 vectors past a 128x128 stationary tile and issues at most every
64 cycles; the next stationary tile loads behind it; results leave PSUM through the vector engines.
"""
from __future__ import annotations

import pytest

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
    compute efficiency, plus every fp32 result and bias add through the element-wise engines."""
    hw = load_hardware("aws-inferentia2")
    op = O.matmul("ffn1", batch=1, m=512, k=1024, n=4096)
    c = op_cost(op, hw, Numerics(compute=Precision.BF16, weights=Precision.BF16), CostOptions())
    cycles = -(-256 // 2) * 512 + FILL  # 256 folds over 2 TensorEngines, cycles + 1
    array_s = cycles / 1.0 / (2.8 * GIGA) / hw.efficiency.compute
    vec_rate = 2 * 230 * 2.8 * GIGA * hw.efficiency.vector  # two NeuronCores
    evac_s = (512 * 4096 + op.vector_flops) / vec_rate
    assert c.compute_s == pytest.approx(array_s + evac_s, rel=1e-9)


def test_psum_evacuation_is_one_vector_flop_per_output():
    hw = load_hardware("aws-inferentia2")
    plain = load_hardware("aws-inferentia2", {"compute.gemm_output_via_vector": False})
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
