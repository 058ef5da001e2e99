"""A runtime group's fixed time per kernel (or per request), and a GPU group's kernel floor with it."""
from __future__ import annotations

from simulator.errors import SimulatorError
from simulator.fit import golden, identified, robust_loss

from .stages import BOUNDS, GPU_FIXED, GPU_GRAPH_GAP_US
from .predict import Predictor
from .cases import Case

# the joint search's grid and golden iterations per dimension (each point is a whole 1-D fit inside)
JOINT_GRID, JOINT_ITERS = 9, 10


def fit_overhead(rows: list[Case], params: dict[str, dict[str, float]], predictor: Predictor,
                 param: str = "op_overhead_us", cycles: float | None = None) -> float:
    """One ``param`` (a fixed time: ``op_overhead_us`` or ``request_overhead_us``) for ``rows`` of
    several families, each row with its family's other parameters (``params``) held (and a GPU
    kernel floor of ``cycles``, when given)."""
    def f(x: float) -> float:
        pairs = []
        for c in rows:
            extra = {f"efficiency.{k}": v for k, v in params.get(c.family, {}).items()}
            if cycles is not None:
                extra["efficiency.min_kernel_cycles"] = cycles
            try:
                pairs.append((predictor(c, extra={**extra, f"efficiency.{param}": x}).value, c.row.value))
            except SimulatorError:
                continue
        return robust_loss(pairs)
    return golden(f, *BOUNDS[param])


def joint_fit(loss, inner: str = "op_overhead_us", outer: str = "min_kernel_cycles") -> tuple[float, float] | None:
    """(inner, outer) minimising ``loss(inner, outer)``: a golden search over ``outer`` whose every
    point is the golden fit of ``inner`` at that value; None when no pair identifies anything.

    The two are fitted together because batch-1 rows trade one against the other: a per-kernel
    floor in cycles lengthens every small kernel, more on a lower-clocked GPU, a gap in
    microseconds every kernel alike; fitted in turn, the first would take all of the time.

    Example:
        >>> import math
        >>> f = lambda x, y: (math.log(x / 3.0)) ** 2 + (math.log(y / 8000.0)) ** 2
        >>> x, y = joint_fit(f)      # JOINT_ITERS golden steps: within 0.1 % of the minimum
        >>> round(x, 1), round(y, -2)
        (3.0, 8000)
    """
    def best_inner(y: float) -> float:
        return golden(lambda x: loss(x, y), *BOUNDS[inner], iters=JOINT_ITERS, grid=JOINT_GRID)

    def profile(y: float) -> float:
        return loss(best_inner(y), y)

    if not identified(profile, *BOUNDS[outer], grid=JOINT_GRID):
        return None
    y = golden(profile, *BOUNDS[outer], iters=JOINT_ITERS, grid=JOINT_GRID)
    return best_inner(y), round(y)


def fit_kernel_floor(rows: list[Case], params: dict[str, dict[str, float]],
                     predictor: Predictor, inner: str = "op_overhead_us") -> tuple[float, float] | None:
    """(``inner``, ``min_kernel_cycles``) fitted together on the batch-1 rows of a GPU runtime group
    (:func:`joint_fit`), each row with its family's other parameters held. ``inner`` is the gap between
    kernels, or for a group with per-query rows the fixed time per query (:data:`~validation.stages.GPU_FIXED`),
    the gap then held at a graph replay's (:func:`gpu_fixed_times`)."""
    def loss(x: float, y: float) -> float:
        pairs = []
        for c in rows:
            extra = {f"efficiency.{k}": v for k, v in params.get(c.family, {}).items()}
            extra.update(gpu_fixed_times(x, y, inner))
            try:
                pairs.append((predictor(c, extra=extra).value, c.row.value))
            except SimulatorError:
                continue
        return robust_loss(pairs)
    return joint_fit(loss, inner=inner)


def gpu_fixed_times(x: float, cycles: float, inner: str = "op_overhead_us") -> dict[str, float]:
    """The overrides of a GPU group's fixed times at ``inner`` = ``x`` and a kernel floor of ``cycles``:
    with the per-query time as ``inner``, the gap between kernels is held at a graph replay's.

    Example:
        >>> gpu_fixed_times(40.0, 12000.0, "request_overhead_us")
        {'efficiency.request_overhead_us': 40.0, 'efficiency.min_kernel_cycles': 12000.0, 'efficiency.op_overhead_us': 0.5}
        >>> gpu_fixed_times(2.0, 12000.0)
        {'efficiency.op_overhead_us': 2.0, 'efficiency.min_kernel_cycles': 12000.0}
    """
    out = {f"efficiency.{inner}": x, "efficiency.min_kernel_cycles": cycles}
    if inner == GPU_FIXED:
        out["efficiency.op_overhead_us"] = GPU_GRAPH_GAP_US
    return out
