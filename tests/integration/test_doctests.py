"""The ``Example:`` sections of the docstrings run and print what they say (ARCHITECTURE rule 9).

One test per module, with the same options as ``pytest --doctest-modules`` would need: ELLIPSIS for
tracebacks and long reprs, NORMALIZE_WHITESPACE for wrapped output. A module enters this list once
all its examples pass; a module with no example at all fails its test, so the list cannot rot.
"""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

MODULES = [
    # the public API and its values
    "simulator",
    "simulator.api",
    "simulator.errors",
    "simulator.cli_args",
    "simulator.calibration",
    "simulator.fit",
    "simulator.deadline",
    "simulator.result",
    "simulator.scenario",
    "simulator.trace",
    "simulator.units",
    "simulator.yamlio",
    # the runs
    "simulator.run.cluster",
    "simulator.run.costcache",
    "simulator.cost.table",
    "simulator.cost.vector",
    "simulator.cost.vgpu",
    "simulator.cost.varray",
    "simulator.run.device",
    "simulator.run.gcpause",
    "simulator.run.graphs",
    "simulator.run.placement",
    "simulator.run.step",
    "simulator.run.stackhw",
    # many devices
    "simulator.parallel.layout",
    "simulator.parallel.plan",
    # engine
    "simulator.engine.cluster",
    "simulator.engine.input_pipeline",
    "simulator.engine.memory",
    "simulator.engine.realtime",
    "simulator.engine.run",
    "simulator.engine.serving",
    "simulator.engine.serving_replay",
    "simulator.engine.llm_serving",
    "simulator.engine.llm_types",
    # hardware specs
    "simulator.spec.custom",
    "simulator.spec.loader",
    "simulator.spec.models",
    "simulator.spec.scalesim_cfg",
    "simulator.spec.system",
    "simulator.spec.stack",
    # workloads
    "simulator.workload.dropout",
    "simulator.workload.fusion",
    "simulator.workload.postprocess", "simulator.workload.autocast",
    "simulator.workload.graph",
    "simulator.workload.digraph",
    "simulator.workload.loader",
    "simulator.workload.ops",
    "simulator.workload.training",
    "simulator.workload.saved",
    "simulator.workload.workload",
    "simulator.workload.lengths",
    "simulator.workload.describe",
    "simulator.workload.families",
    "simulator.workload.families.cnn",
    "simulator.workload.families.detection",
    "simulator.workload.families.inception",
    "simulator.workload.families.ssd",
    "simulator.workload.families.misc",
    "simulator.workload.families.mobile",
    "simulator.workload.families.retinanet",
    "simulator.workload.families.diffusion",
    "simulator.workload.families.diffusion_parts",
    "simulator.workload.families.segmentation",
    "simulator.workload.families.transformer",
    "simulator.workload.families.vision",
    "simulator.workload.importers.onnx_import",
    "simulator.workload.importers.onnx_roles",
    "simulator.workload.importers.onnx_shapes",
    "simulator.workload.importers.scalesim_csv",
    # cost models
    "simulator.cost.array",
    "simulator.cost.base",
    "simulator.cost.memory",
    "simulator.cost.collectives",
    "simulator.cost.cpu",
    "simulator.cost.dispatch",
    "simulator.cost.gpu",
    "simulator.cost.peaks",
    "simulator.cost.systolic",
    "simulator.cost.tpu",
    # generation, serving, sweeps and the rest
    "simulator.sweep.capacity",
    "simulator.serving.generation",
    "simulator.sweep.pareto",
    "simulator.serving.realtime",
    "simulator.serving.run",
    "simulator.serving.cli",
    "simulator.sweep.executors",
    "simulator.serving.requests",
    "simulator.serving.costs",
    "simulator.serving.policy",
    "simulator.serving.stats",
    "simulator.serving.plan",
    "simulator.serving.result",
    "simulator.workload.importers.hf_config",
    "simulator.sweep.run",
    "simulator.sweep.cli",
    "simulator.sweep.space",
    "simulator.sweep.store",
    "simulator.testing",
    "simulator.uncertainty",
    # packaging, the CLI's device cards and readable numbers
    "simulator.bundled",
    "simulator.extras",
    "simulator.readable",
    "simulator.show",
    "simulator.cli_args",
    "simulator.engine.bubble",
    "simulator.progress",
    "simulator.pricing",
    "simulator.validation_errors",
    # the validation harness (none of these examples reads ../shared)
    "validation.stages",
    "validation.cluster_rows",
    "validation.crossval",
    "validation.fit_overhead",
    "validation.fpga_rows",
    "simulator.cost.dpu",
    "simulator.cost.fpga",
    "simulator.run.dpu_board",
    "validation.cpu_rows",
    "validation.openvino_streams",
    "validation.predict",
    "validation.queueing",
    "validation.stacks",
    "validation.families",
    "validation.tpu_rows",
]

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    failed, attempted = doctest.testmod(module, optionflags=FLAGS, report=False, verbose=False)
    assert attempted > 0, f"{name} has no docstring examples"
    assert failed == 0, f"{failed} of {attempted} docstring examples of {name} failed; run " \
                        f"`python -m pytest --doctest-modules {name.replace('.', '/')}.py` to see them"


def test_every_module_with_examples_is_listed():
    """A module that gains runnable docstring examples must be added above, or its examples can drift."""
    names = set()
    for root in ("simulator", "validation"):
        package = importlib.import_module(root)
        names |= {root} | {m.name for m in pkgutil.walk_packages(package.__path__, f"{root}.")
                           if not m.name.endswith("__main__")}
    finder = doctest.DocTestFinder()
    with_examples = {n for n in names
                     if any(t.examples for t in finder.find(importlib.import_module(n)))}
    assert sorted(with_examples - set(MODULES)) == []
