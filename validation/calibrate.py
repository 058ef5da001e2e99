"""Fit the efficiency parameters of each device family on the published rows of validation/data/.

Usage::

    python -m validation.calibrate                 # fit, print the proposed efficiency blocks
    python -m validation.calibrate --apply         # also write them into hardware_specs/*.yaml

Staged, so every parameter is pinned by the evidence that is about it:

1. ``memory``: the achievable fraction of main-memory bandwidth, from bandwidth rows (BabelStream,
   bandwidthTest, reduction kernels);
2. ``compute``: the achievable fraction of matrix peak, from "max achievable" GEMM rows (MAMF)
   together with the family's large-batch model rows (inference, training, LLM generation,
   multi-node training): the GEMM rows alone would credit every kernel with MAMF-level efficiency;
3. ``op_overhead_us``: per-kernel launch / dispatch time, from batch-1 latency rows; on GPUs fitted
   together with ``min_kernel_cycles``, each kernel's busy-time floor in SM cycles
   (:func:`validation.fit_overhead.joint_fit`);
   for the runtimes that run a compiled graph as one program per request (:data:`REQUEST_GROUPS`) the
   fixed time per request (``request_overhead_us``) instead, from the same kind of rows;
4. the host time per op (``host_dispatch_us``) of each eager software stack (``stacks/*.yaml``:
   torch-eager, tf-graph...), from that stack's batch-1 latency rows.

Each 1-D fit minimises the capped log-space loss of :mod:`simulator.fit` by a grid then a
golden-section search; a stage whose rows all sit beyond the loss's cap whatever the value identifies
nothing (:func:`simulator.fit.identified`) and is left as it is. The shipped parameters are fitted on every expressible row; the
validation's headline figures come from fits that leave each source document out
(:mod:`validation.crossval`).

This module is the command line; what the fits read (each stage's bounds, which rows are evidence for
which stage, the runtime groups) is :mod:`validation.stages`, the fits are :mod:`validation.fit` and the
modules it names, the writing into the spec files :mod:`validation.spec_writer`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simulator.spec.loader import SPEC_ROOT, catalogue
from simulator.spec.stack import STACK_ROOT

from .fit import fit_all
from .mapping import kinds
from .families import family_of
from .spec_writer import apply_block, apply_energy, apply_stack, apply_stack_gap, efficiency_block, energy_cap

OUT = Path(__file__).resolve().parent / "calibration.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m validation.calibrate", description=__doc__.splitlines()[0])
    ap.add_argument("--apply", action="store_true", help="write efficiency blocks into hardware_specs/")
    ap.add_argument("--efficiency-only", action="store_true", help="with --apply: leave power blocks alone")
    ap.add_argument("--families", help="comma-separated families to fit (default: all; calibration.json is then "
                                       "left as it is)")
    args = ap.parse_args(argv)
    only = set(args.families.split(",")) if args.families else None
    res = fit_all(families=only)
    if only is None:
        OUT.write_text(json.dumps(res, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    kd = kinds()
    for name, path in sorted(catalogue().items()):
        fam = family_of(name, kd[name])
        if fam not in res["families"]:
            continue
        from simulator.spec.loader import load_hardware

        if res["families"][fam]["params"]:
            current = load_hardware(name).efficiency
            params = {**current.model_dump(exclude={"fitted_to"}), **res["families"][fam]["params"]}
            block = efficiency_block(params, res["families"][fam]["fitted_to"], fam)
            print(f"# {path.relative_to(SPEC_ROOT.parent)}\n{block}")
            if args.apply:
                apply_block(path, block)
        energy = res["families"][fam].get("energy")
        if energy:
            applied, ratio = energy_cap(name, energy["scale"])
            print(f"# energy fitted x{energy['scale']} ({', '.join(energy['fitted_to'])}); peak power / headroom "
                  f"at that scale = {ratio}; applied x{applied}")
            # a scale within 2 % of 1 is the cap itself re-rounded (two-decimal pJ values), not new evidence
            if args.apply and not args.efficiency_only and abs(applied - 1.0) >= 0.02:
                apply_energy(path, applied, energy["fitted_to"], fitted=energy["scale"])
    for stack, fit in res.get("stacks", {}).items():
        print(f"# stacks/{stack}.yaml: host_dispatch_us {fit['host_dispatch_us']} ({', '.join(fit['fitted_to'])})")
        if args.apply:
            apply_stack(STACK_ROOT / f"{stack}.yaml", fit)
    for stack, fit in res.get("stack_gaps", {}).items():
        print(f"# stacks/{stack}.yaml: kernel_overhead_us {fit['kernel_overhead_us']} ({', '.join(fit['fitted_to'])})")
        if args.apply:
            apply_stack_gap(STACK_ROOT / f"{stack}.yaml", fit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
