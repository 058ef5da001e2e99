"""Leave-one-source-out cross-validation: every row predicted by parameters fitted without any row
of its own source document.

Rows from one table share a methodology, a software version and often a device; alternating them
between fit and test flatters a model. Here the rows are grouped by the document they come from
(:func:`source_key`: a repository file or a web page, one MLPerf submitter's results of one round),
and each group is predicted by the family parameters fitted, stage by stage as
:mod:`validation.calibrate` fits them, on all the other groups (:class:`Folds`). A family left with no evidence for a parameter (no rows, or only rows the model misses by more
than the robust cap whatever its value: :func:`simulator.fit.identified`) falls back to the schema's
default (:class:`simulator.spec.models.Efficiency`), never to the shipped value (which saw the group).

The fixed fit/test split is computed the same way: one fold that holds out every test row.
"""
from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass

from simulator.errors import SimulatorError
from simulator.fit import golden, identified, robust_loss
from simulator.spec.models import Efficiency

from .stages import BOUNDS, GPU_FIXED, GPU_GRAPH_GAP_US, STREAM_STACKS, _stage_rows, overhead_group, overhead_stage, per_query
from .fit_overhead import gpu_fixed_times, joint_fit
from .predict import STACK_GAP, Predictor
from .cases import Case

STAGES = ("memory", "compute", "op_overhead_us")
# host time per op of an eager framework before any fit: the top of the 5-25 us range of CPU-side work
# per PyTorch op (Python binding, autograd and ATen dispatch, cudaLaunchKernel) quoted in stacks/torch-eager.yaml
EAGER_PRIOR_US = 25.0


def source_key(source: str) -> str:
    """The document a row's ``source`` names: what must never sit on both sides of a fold.

    GitHub sources group by repository and file (MLPerf results repositories by round and
    submitter: one submitter's harness and software stack); web pages by address; anything else by
    its text before the first parenthesis.

    Example:
        >>> source_key("github:mlcommons/inference_results_v4.0@3c4a1cf1 closed/NVIDIA/results/DGX-H100/x.txt")
        'github:mlcommons/inference_results_v4.0 closed/NVIDIA'
        >>> source_key("github:stas00/ml-engineering@744d01e1 compute/accelerator/README.md (MAMF table, BF16)")
        'github:stas00/ml-engineering compute/accelerator/README.md'
        >>> source_key("github:Xilinx/Vitis-AI@84798c76 (tag v1.4) models/AI-Model-Zoo/README.md (U250)")
        'github:Xilinx/Vitis-AI models/AI-Model-Zoo/README.md'
        >>> source_key("https://coral.ai/docs/edgetpu/benchmarks (Table 1, time per inference ms)")
        'https://coral.ai/docs/edgetpu/benchmarks'
    """
    text = re.sub(r"@branch\s+\S+|\(tag [^)]*\)|@HEAD\([^)]*\)", " ", source.strip())
    m = re.match(r"github:([\w.-]+/[\w.-]+)(?:@\S+)?\s+(\S+)", text)
    if m:
        repo, path = m.group(1), m.group(2).split("@")[0]
        parts = path.split("/")
        if re.search(r"(inference|training)_results", repo):
            keep = 2 if parts[0] in ("closed", "open", "preview") else 1
            return f"github:{repo} {'/'.join(parts[:keep])}"
        return f"github:{repo} {path}"
    m = re.match(r"(https?://[^\s?#(]+)", text)
    if m:
        return m.group(1).rstrip("/")
    return text.split("(")[0].strip().lower() or "(no source)"


@dataclass(frozen=True)
class Fold:
    """Out-of-fold prediction of one row: the value, or the reason the simulator refused it."""

    row_id: str
    group: str
    value: float | None
    reason: str = ""


# Points of each parameter's grid (log-spaced over stages.BOUNDS) on which a row's prediction is
# tabulated; between them the prediction is interpolated linearly in log-log space (exact for the
# power laws a roofline gives: time ~ 1 / efficiency), finer for the affine per-op overheads.
GRID_POINTS = {"memory": 9, "compute": 13, "op_overhead_us": 17, "dispatch_us": 13, "request_overhead_us": 17,
               "min_kernel_cycles": 7, "kernel_overhead_us": 13, "collective_compute_share": 13}
FLOOR = "min_kernel_cycles"  # a GPU runtime group's kernel floor, fitted with its gap or per-query time (fit_overhead.joint_fit)
# Spec values derived from published cells that are not rows, by family: (what-if path, the document the
# cells come from, the schema default). A fold that holds out that document's rows must not see the value
# either, so it gets the default: the DPUCAHX8L's per-element HBM pass time comes from the same Vitis AI
# zoo README as its three rows (hardware_specs/fpga/amd-alveo-u50-dpucahx8l.yaml).
DERIVED_SPEC_VALUES = {
    "xilinx-dpucahx8l": (("compute.dpu.hbm_pass_element_ns", "github:Xilinx/Vitis-AI models/AI-Model-Zoo/README.md", 0.0),),
}


def derived_overrides(family: str, group: str) -> dict[str, float]:
    """What-if overrides that take back the spec values of ``family`` derived from document ``group``.

    Example:
        >>> derived_overrides("xilinx-dpucahx8l", "github:Xilinx/Vitis-AI models/AI-Model-Zoo/README.md")
        {'compute.dpu.hbm_pass_element_ns': 0.0}
        >>> derived_overrides("xilinx-dpucahx8l", "https://example.org/other"), derived_overrides("nvidia-datacenter", "x")
        ({}, {})
    """
    return {path: default for path, doc, default in DERIVED_SPEC_VALUES.get(family, ()) if doc == group}


class Folds:
    """Fits of any subset of the calibration rows, fast enough to run one per source document.

    A full fit simulates every row some 30 times per parameter. Here each row's prediction is
    tabulated once on a grid of the one parameter its stage fits (the others at the shipped
    values), and a fold's fit searches the interpolated tables; only the held-out rows are then
    simulated, exactly, with the fold's parameters. The approximation is confined to the fit: the
    later stages' tables do not see a fold's shift of the earlier stages' parameters.
    """

    def __init__(self, cases: list[Case], predictor: Predictor | None = None) -> None:
        self.cases = cases
        self.predictor = predictor or Predictor()
        self._tables: dict[tuple[str, str], list[float | None]] = {}
        self._per_query: dict[str, bool] = {}  # a GPU group fits a per-query time (decided on all its rows)

    @staticmethod
    def grid(param: str) -> list[float]:
        lo, hi = BOUNDS[param]
        n = GRID_POINTS[param]
        return [lo * (hi / lo) ** (i / (n - 1)) for i in range(n)]

    def _table(self, case: Case, param: str) -> list[float | None]:
        key = (case.row.id, param)
        if key not in self._tables:
            vals: list[float | None] = []
            for x in self.grid(param):
                extra = {} if param == "dispatch_us" else {STACK_GAP: x} if param == "kernel_overhead_us" else \
                    {f"efficiency.{param}": x}
                try:
                    v = self.predictor(case, extra=extra, dispatch_us=x if param == "dispatch_us" else None).value
                    vals.append(v if v > 0 and math.isfinite(v) else None)
                except SimulatorError:
                    vals.append(None)
            self._tables[key] = vals
        return self._tables[key]

    def predicted(self, case: Case, param: str, x: float) -> float | None:
        """``case``'s prediction at parameter value ``x``, interpolated from its table."""
        return self._interp(self.grid(param), self._table(case, param), x)

    def _table2(self, case: Case, inner: str) -> list[list[float | None]]:
        """``case``'s predictions on the grid of ``inner`` (the gap or the per-query time) at each grid
        value of the kernel floor."""
        key = (case.row.id, f"{FLOOR}:{inner}")
        if key not in self._tables:
            rows = []
            for y in self.grid(FLOOR):
                vals: list[float | None] = []
                for x in self.grid(inner):
                    try:
                        v = self.predictor(case, extra=gpu_fixed_times(x, y, inner)).value
                        vals.append(v if v > 0 and math.isfinite(v) else None)
                    except SimulatorError:
                        vals.append(None)
                rows.append(vals)
            self._tables[key] = rows
        return self._tables[key]

    @staticmethod
    def _interp(xs: list[float], vals: list[float | None], x: float) -> float | None:
        """Linear interpolation of ``vals`` on ``xs`` in log-log space (clamped to the grid)."""
        lx = math.log(min(max(x, xs[0]), xs[-1]))
        i = min(len(xs) - 2, max(0, bisect.bisect_right([math.log(v) for v in xs], lx) - 1))
        a, b = vals[i], vals[i + 1]
        if a is None or b is None:
            return None
        t = (lx - math.log(xs[i])) / (math.log(xs[i + 1]) - math.log(xs[i]))
        return math.exp(math.log(a) + t * (math.log(b) - math.log(a)))

    def predicted2(self, case: Case, x: float, y: float, inner: str = "op_overhead_us") -> float | None:
        """``case``'s prediction at ``inner`` = ``x`` and kernel floor ``y``, interpolated."""
        at_y = [self._interp(self.grid(inner), vals, x) for vals in self._table2(case, inner)]
        return self._interp(self.grid(FLOOR), at_y, y)

    def _fit_floor(self, rows: list[Case], inner: str = "op_overhead_us") -> tuple[float, float] | None:
        """(``inner``, min_kernel_cycles) of a GPU group fitted together, or None unidentified."""
        def loss(x: float, y: float) -> float:
            return robust_loss((v, c.row.value) for c in rows if (v := self.predicted2(c, x, y, inner)) is not None)
        return joint_fit(loss, inner=inner) if rows else None

    def _fit(self, rows: list[Case], param: str) -> float | None:
        """The fitted value, or None when no row identifies it (none, or all beyond the robust cap)."""
        def loss(x: float) -> float:
            return robust_loss((v, c.row.value) for c in rows if (v := self.predicted(c, param, x)) is not None)
        return golden(loss, *BOUNDS[param]) if rows and identified(loss, *BOUNDS[param]) else None

    def fit(self, train: list[Case], families: set[str]) -> dict:
        """Every stage parameter of ``families`` (and of the families sharing their overhead)
        fitted on ``train``; a stage without rows takes the schema default."""
        groups = {overhead_group(f) for f in families}
        by_fam: dict[str, list[Case]] = {}
        for c in train:
            by_fam.setdefault(c.family, []).append(c)
        fams = {f for f in set(families) | set(by_fam) if overhead_group(f) in groups}
        out: dict[str, dict[str, float]] = {}
        for fam in sorted(fams):
            out[fam] = {}
            for stage in ("memory", "compute", "collective_compute_share"):
                rows = _stage_rows(by_fam.get(fam, []), stage, self.predictor)
                x = self._fit(rows, stage)
                if x is None and stage == "collective_compute_share":
                    continue  # no multi-chip TPU training rows: the spec's own value (0 but on TPUs) stays
                out[fam][stage] = getattr(Efficiency(), stage) if x is None else x
        for root in groups:
            stage = overhead_stage(root)
            rows = [c for f in fams if overhead_group(f) == root
                    for c in _stage_rows(by_fam.get(f, []), stage, self.predictor)]
            group = [c for c in self.cases if overhead_group(c.family) == root]
            gpu = {c.kind for c in group} == {"gpu"}
            floor = fixed = None
            if gpu and stage == "op_overhead_us":
                # as validation.calibrate fits a GPU group: the gap and the kernel floor together, or for
                # a group with per-query rows (decided on all its rows, not the fold's) the per-query
                # time and the floor, the gap held at a graph replay's
                if root not in self._per_query:
                    self._per_query[root] = any(per_query(c.stack) for c in _stage_rows(group, stage, self.predictor))
                if self._per_query[root]:
                    joint = self._fit_floor(rows, GPU_FIXED)
                    x, fixed, floor = (GPU_GRAPH_GAP_US, *joint) if joint else (Efficiency().op_overhead_us, 0.0, 0.0)
                else:
                    joint = self._fit_floor(rows)
                    x, floor = joint if joint else (Efficiency().op_overhead_us, 0.0)
            else:
                x = self._fit(rows, stage)
                x = getattr(Efficiency(), stage) if x is None else x
            for f in fams:
                if overhead_group(f) == root:
                    out[f][stage] = x
                    if floor is not None:
                        out[f][FLOOR] = floor
                    if fixed is not None:
                        out[f][GPU_FIXED] = fixed
        return out

    def fit_dispatch(self, train: list[Case], stack: str) -> float | None:
        """The stack's host time per op fitted on the fold's batch-1 latency rows of that stack. Without
        any, the shipped value would carry the held-out rows' fit (:func:`validation.fit_stacks.fit_stacks`
        writes it into the stack file), so the fold pools the other eager stacks' latency rows (another
        framework's executor on the same kind of host is the nearest evidence); with none at all, the
        unfitted prior :data:`EAGER_PRIOR_US`. A stack the calibration never fitted keeps its own value."""
        from simulator.spec.stack import load_stack

        rows = [c for c in train if c.stack == stack and c.eager and c.category == "latency"]
        x = self._fit(rows, "dispatch_us")
        if x is not None:
            return x
        if not load_stack(stack).fitted_to:
            return None
        pooled = [c for c in train if c.eager and c.category == "latency"]
        x = self._fit(pooled, "dispatch_us")
        return EAGER_PRIOR_US if x is None else x

    def fit_stack_gap(self, train: list[Case], stack: str) -> float | None:
        """A :data:`~validation.stages.STREAM_STACKS` stack's per-kernel gap fitted on the fold's rows of
        that stack (as :func:`validation.fit_stacks.fit_stack_gaps`). Without any, the shipped value
        would carry the held-out rows' fit, so the fold pools the rows of the same runtime's other
        releases (:data:`~validation.stages.STREAM_STACKS`), which launch kernels from a stream outside
        a CUDA graph as well (the nearest evidence, as :meth:`fit_dispatch` pools the eager stacks);
        None when none identify it."""
        own = self._fit([c for c in train if c.stack == stack and c.task != "power"], "kernel_overhead_us")
        if own is not None:
            return own
        runtime = STREAM_STACKS[stack]
        return self._fit([c for c in train if STREAM_STACKS.get(c.stack) == runtime and c.task != "power"],
                         "kernel_overhead_us")

    def predict(self, held: list[Case], train: list[Case], group: str) -> list[Fold]:
        """Exact out-of-fold predictions of ``held`` with parameters fitted on ``train``."""
        params = self.fit(train, {c.family for c in held})
        out = []
        for c in held:
            extra = {f"efficiency.{k}": v for k, v in params[c.family].items()}
            extra.update(derived_overrides(c.family, group))
            if c.stack in STREAM_STACKS:
                # the shipped stack file carries the held-out rows' fit: without rows of its own in the
                # fold the stack keeps the fold's device gap (no evidence that launches differ)
                gap = self.fit_stack_gap(train, c.stack)
                extra[STACK_GAP] = params[c.family].get("op_overhead_us", Efficiency().op_overhead_us) if gap is None else gap
            dispatch = self.fit_dispatch(train, c.stack) if c.eager else None
            try:
                out.append(Fold(c.row.id, group, self.predictor(c, extra=extra, dispatch_us=dispatch).value))
            except SimulatorError as exc:
                out.append(Fold(c.row.id, group, None, f"simulator refused: {exc}"))
        return out


def leave_one_source_out(cases: list[Case], folds: Folds | None = None) -> dict[str, Fold]:
    """Out-of-fold predictions of every case, one fold per source document (see module docstring).
    Only the families of a fold's rows (with those sharing their overhead) are refitted.

    Example:
        >>> leave_one_source_out([])
        {}
    """
    folds = folds or Folds(cases)
    groups: dict[str, list[Case]] = {}
    for c in cases:
        groups.setdefault(source_key(c.row.source), []).append(c)
    out: dict[str, Fold] = {}
    for group, held in sorted(groups.items()):
        ids = {c.row.id for c in held}
        for f in folds.predict(held, [c for c in cases if c.row.id not in ids], group):
            out[f.row_id] = f
    return out


def fixed_split(cases: list[Case], splits: dict[str, str], folds: Folds | None = None) -> dict[str, Fold]:
    """Test rows predicted by parameters fitted on the fit rows only (the earlier headline)."""
    folds = folds or Folds(cases)
    train = [c for c in cases if splits.get(c.row.id) == "fit"]
    test = [c for c in cases if splits.get(c.row.id) == "test"]
    return {f.row_id: f for f in folds.predict(test, train, "test split")}
