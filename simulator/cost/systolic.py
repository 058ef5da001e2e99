"""Closed-form compute cycles of a GEMM on an R x C systolic array, for os, ws and is dataflows.

Matches SCALE-Sim's stall-free compute cycles (its CALC bandwidth mode):

| dataflow | mapped on rows | on cols | streamed T | cycles per fold |
|---|---|---|---|---|
| os | M | N | K | T + R + C - 2 |
| ws | K | N | M | 2R + C + T - 2 |
| is | K | M | N | 2R + C + T - 2 |

folds = ceil(rows / R) * ceil(cols / C); a layer on one array takes ``folds * per_fold - 1`` cycles
(SCALE-Sim's "Total Cycles" counts from 0). With ``arrays`` identical arrays working on different
folds, the folds are spread evenly: ``ceil(folds / arrays) * per_fold - 1``. Row-stationary (Eyeriss)
is mapped like ws here; its energy differs, not its cycle count at this level of detail.

Checked against real SCALE-Sim 3.0.0 runs (``tests/golden/test_scalesim_parity.py``, goldens written by
``tools/scalesim_reference.py``): every layer of conv and GEMM topologies (ResNet-18 included) on
8x32, 32x8 and 128x128 arrays in os, ws and is (and 512^3 on 32x32 ws) agrees to the cycle; no
``map_gemm`` correction was needed.
One deliberate difference: a ``Gemm`` with ``count = C`` (a depthwise conv) is one op of
``C * folds * per_fold - 1`` cycles, while SCALE-Sim runs C one-channel layers that each subtract 1,
so their sum is ``C - 1`` cycles lower.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..spec.models import Dataflow
from ..workload.ops import Gemm, ceil_div


@dataclass(frozen=True)
class SystolicMapping:
    """How one GEMM maps onto the array: folds, cycles per fold, total cycles, PE utilization.

    ``cycles`` are compute cycles counted from 0 as SCALE-Sim does; ``utilization`` is MACs over
    PE-cycles (0..1). See :func:`map_gemm`.
    """

    folds: int
    cycles_per_fold: int
    cycles: int
    utilization: float
    shape: tuple[int, int] | None = None  # (rows, cols) of the output tile, when the engine chose one


def map_gemm(g: Gemm, *, rows: int, cols: int, dataflow: Dataflow, arrays: int = 1) -> SystolicMapping:
    """Map ``g`` (``count`` times) onto ``arrays`` arrays of ``rows`` x ``cols`` PEs.

    Pure; raises nothing (sizes come from validated specs and ops).

    Example:
        >>> map_gemm(Gemm(m=512, n=512, k=512), rows=32, cols=32, dataflow=Dataflow.WS).cycles
        155135
        >>> m = map_gemm(Gemm(m=512, n=512, k=512), rows=32, cols=32, dataflow=Dataflow.OS)
        >>> m.folds, m.cycles_per_fold, m.cycles, round(m.utilization, 3)     # 16 x 16 folds of 512 + 62
        (256, 574, 146943, 0.892)
    """
    if dataflow == Dataflow.OS:
        on_rows, on_cols, t = g.m, g.n, g.k
        per_fold = t + rows + cols - 2
    elif dataflow == Dataflow.IS:
        on_rows, on_cols, t = g.k, g.m, g.n
        per_fold = 2 * rows + cols + t - 2
    else:  # ws and rs
        on_rows, on_cols, t = g.k, g.n, g.m
        per_fold = 2 * rows + cols + t - 2
    folds = ceil_div(on_rows, rows) * ceil_div(on_cols, cols) * g.count
    waves = ceil_div(folds, arrays)
    cycles = waves * per_fold - 1
    util = g.macs / max(1, (cycles + 1) * rows * cols * arrays)
    return SystolicMapping(folds=folds, cycles_per_fold=per_fold, cycles=cycles, utilization=min(1.0, util))


def map_gemm_background(g: Gemm, *, rows: int, cols: int, arrays: int = 1, max_moving: int,
                        min_issue_cycles: int) -> SystolicMapping:
    """Map ``g`` onto arrays that load the next stationary tile while the current one computes.

    An array with background stationary loads (AWS NeuronCore TensorEngine) issues one
    multiply-moving instruction per ``<= max_moving`` streamed vectors against the loaded
    ``rows x cols`` stationary tile, each taking ``max(vectors, min_issue_cycles)`` cycles; the next
    tile's load is hidden behind it. The pipeline fills and drains once per GEMM (``2R + C - 2``,
    the serial mapping's per-fold overhead), not once per fold. The compiler puts the shorter
    operand on the streamed side (weights stationary for M tokens, or the reverse): the cheaper
    orientation is taken. ``cycles`` are counted from 0 like :func:`map_gemm`.

    Example:
        >>> # BERT-Large FFN1 at 512 tokens on a 128x128 NeuronCore: 8 x 32 folds of 512 vectors each
        >>> m = map_gemm_background(Gemm(m=512, n=4096, k=1024), rows=128, cols=128, max_moving=512,
        ...                         min_issue_cycles=64)
        >>> m.folds, m.cycles_per_fold, m.cycles        # 256 x 512 + 382 - 1
        (256, 512, 131453)
        >>> map_gemm_background(Gemm(m=8, n=128, k=128), rows=128, cols=128, max_moving=512,
        ...                     min_issue_cycles=64).cycles_per_fold   # a short stream costs 64
        64
    """
    best = None
    for on_cols, streamed in ((g.n, g.m), (g.m, g.n)):
        chunks = ceil_div(streamed, max_moving)
        last = streamed - (chunks - 1) * max_moving
        per_fold = (chunks - 1) * max(max_moving, min_issue_cycles) + max(last, min_issue_cycles)
        folds = ceil_div(g.k, rows) * ceil_div(on_cols, cols) * g.count
        cycles = ceil_div(folds, arrays) * per_fold + 2 * rows + cols - 2 - 1
        if best is None or cycles < best.cycles:
            util = g.macs / max(1, (cycles + 1) * rows * cols * arrays)
            best = SystolicMapping(folds=folds, cycles_per_fold=per_fold, cycles=cycles, utilization=min(1.0, util))
    return best


def map_gemm_geometries(g: Gemm, *, shapes: tuple[tuple[int, int], ...], min_step_cycles: int) -> SystolicMapping:
    """Map ``g`` onto an output-stationary engine that can take several output-tile shapes
    (Habana Gaudi2's two MMEs ganged as 128x1024, 256x512, 512x256 or 1024x128 outputs).

    Each ``(rows, cols)`` shape holds ``rows`` output rows (the GEMM's M: batch x pixels) by ``cols``
    output columns (N: output channels); one step computes a whole tile over the common dimension
    K, one K element per cycle, and takes ``max(K, min_step_cycles)`` cycles (the accumulators'
    roll-up bounds a short step). The tiles' steps run back to back, so there is no per-tile fill
    or drain. The shape giving the fewest cycles is taken, as the MME's brain picks the geometry of
    best utilization; among equals the squarest (fewest operand elements streamed per step). ``cycles`` are counted from 0 like :func:`map_gemm`.

    Example:
        >>> # a 64-channel 1x1 conv at batch 256, 56x56: 784 steps of 1024 x 128 outputs at the 256-cycle floor
        >>> m = map_gemm_geometries(Gemm(m=802816, n=64, k=64), shapes=((1024, 128), (512, 256)), min_step_cycles=256)
        >>> m.shape, m.folds, m.cycles_per_fold, m.cycles
        ((1024, 128), 784, 256, 200703)
    """
    best = None
    for rows, cols in shapes:
        folds = ceil_div(g.m, rows) * ceil_div(g.n, cols) * g.count
        per_fold = max(g.k, min_step_cycles)
        cycles = folds * per_fold - 1
        # equal cycles: the squarer tile, which streams fewer operand elements per step (the
        # asymmetric shapes are also the port-constrained ones)
        if best is None or (cycles, rows + cols) < (best.cycles, sum(best.shape)):
            util = g.macs / max(1, (cycles + 1) * rows * cols)
            best = SystolicMapping(folds=folds, cycles_per_fold=per_fold, cycles=cycles,
                                   utilization=min(1.0, util), shape=(rows, cols))
    return best
