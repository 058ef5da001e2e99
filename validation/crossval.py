"""Leave-one-source-out cross-validation: every row predicted by parameters fitted without any row
of its own source document.

Rows from one table share a methodology, a software version and often a device; alternating them
between fit and test flatters a model. Here the rows are grouped by the document they come from
(:func:`source_key`: a repository file or a web page, one MLPerf submitter's results of one round),
and each group is predicted by the family parameters :func:`validation.calibrate.fit_cases` finds on
all the other groups. A family left with no evidence for a parameter falls back to the schema's
default (:class:`simulator.spec.models.Efficiency`), never to the shipped value (which saw the group).

The fixed fit/test split is computed the same way: one fold that holds out every test row.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.errors import SimulatorError
from simulator.spec.models import Efficiency

from .calibrate import OVERHEAD_FROM, Predictor, _energy_overrides, fit_cases
from .rows import Case

STAGES = ("memory", "compute", "op_overhead_us")


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


def _family_overrides(fit: dict, family: str) -> dict:
    """What-if overrides that set every fitted stage of ``family`` and the schema default of the rest."""
    params = fit.get("families", {}).get(family, {}).get("params", {})
    out = {}
    for stage in STAGES:
        default = getattr(Efficiency(), stage)
        out[f"efficiency.{stage}"] = params.get(stage, default)
    return out


def _predict_held_out(cases: list[Case], fit: dict, predictor: Predictor, group: str) -> list[Fold]:
    out = []
    for c in cases:
        extra = _family_overrides(fit, c.family)
        energy = fit.get("families", {}).get(c.family, {}).get("energy")
        if energy:
            extra = _energy_overrides(c, energy["scale"], {k[len("efficiency."):]: v for k, v in extra.items()})
        dispatch = fit.get("stacks", {}).get(c.stack, {}).get("host_dispatch_us")
        try:
            out.append(Fold(c.row.id, group, predictor(c, extra=extra, dispatch_us=dispatch).value))
        except SimulatorError as exc:
            out.append(Fold(c.row.id, group, None, f"simulator refused: {exc}"))
    return out


def leave_one_source_out(cases: list[Case], predictor: Predictor | None = None) -> dict[str, Fold]:
    """Out-of-fold predictions of every case, one fold per source document (see module docstring).

    Only the families a fold's rows belong to (and the families that borrow from them) are refitted.
    """
    predictor = predictor or Predictor()
    groups: dict[str, list[Case]] = {}
    for c in cases:
        groups.setdefault(source_key(c.row.source), []).append(c)
    out: dict[str, Fold] = {}
    for group, held in sorted(groups.items()):
        held_ids = {c.row.id for c in held}
        families = {c.family for c in held}
        families |= {f for f, donor in OVERHEAD_FROM.items() if donor in families}
        train = [c for c in cases if c.row.id not in held_ids]
        fit = fit_cases(train, predictor, families=families)
        for f in _predict_held_out(held, fit, predictor, group):
            out[f.row_id] = f
    return out


def fixed_split(cases: list[Case], splits: dict[str, str], predictor: Predictor | None = None) -> dict[str, Fold]:
    """Test rows predicted by parameters fitted on the fit rows only (the earlier headline)."""
    predictor = predictor or Predictor()
    train = [c for c in cases if splits.get(c.row.id) == "fit"]
    test = [c for c in cases if splits.get(c.row.id) == "test"]
    fit = fit_cases(train, predictor)
    return {f.row_id: f for f in _predict_held_out(test, fit, predictor, "test split")}
