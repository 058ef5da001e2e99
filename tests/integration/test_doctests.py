"""The ``Example:`` sections of the docstrings run and print what they say (ARCHITECTURE rule 9).

One test per module, with the same options as ``pytest --doctest-modules`` would need: ELLIPSIS for
tracebacks and long reprs, NORMALIZE_WHITESPACE for wrapped output. A module enters this list once
all its examples pass; a module with no example at all fails its test, so the list cannot rot.
"""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "simulator",
    "simulator.api",
    "simulator.result",
    "simulator.trace",
    "simulator.scenario",
    "simulator.units",
    "simulator.errors",
    "simulator.yamlio",
    "simulator.parallel",
    "simulator.plan",
    "simulator.distributed",
    "simulator.engine.cluster",
    "simulator.engine.input_pipeline",
    "simulator.engine.memory",
    "simulator.engine.realtime",
    "simulator.engine.run",
    "simulator.engine.serving",
]

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    failed, attempted = doctest.testmod(module, optionflags=FLAGS, report=False, verbose=False)
    assert attempted > 0, f"{name} has no docstring examples"
    assert failed == 0, f"{failed} of {attempted} docstring examples of {name} failed; run " \
                        f"`python -m pytest --doctest-modules {name.replace('.', '/')}.py` to see them"
