"""The fixed fit/test split of the expressible rows (the headline figures are leave-one-source-out:
:mod:`validation.crossval`)."""
from __future__ import annotations

from .cases import Case


def assign_splits(items: list) -> dict[str, str]:
    """The fixed train/test split: ``fit`` / ``test`` alternate, in id order, within each stratum
    (device kind, category); the first row of a stratum is a fit row. Unexpressible rows get ``-``.

    Stratified so that every kind of evidence (GEMM, bandwidth, batch-1 latency, large-batch
    inference, training, LLM, power) of every device kind has rows on both sides; plain id parity
    would put whole categories on one side, since the ids come in vendor pairs.
    """
    out: dict[str, str] = {}
    strata: dict[tuple[str, str], list] = {}
    for it in items:
        if isinstance(it, Case):
            strata.setdefault((it.kind, it.category), []).append(it)
        else:
            out[it.row.id] = "-"
    for members in strata.values():
        for i, it in enumerate(sorted(members, key=lambda c: (c.row.number, c.row.id))):
            out[it.row.id] = "fit" if i % 2 == 0 else "test"
    return out
