"""accsim: how long a network takes to train or serve on a CPU, GPU, TPU, FPGA or ASIC, and why.

Example:
    >>> import simulator as sim
    >>> r = sim.simulate("resnet50", "nvidia-h100-sxm", mode="training", batch_size=256, precision="bf16")
    >>> r.step_time_s > 0
    True
"""
import importlib

from . import readable  # noqa: F401  (light: formatting helpers, imports nothing)
from .errors import (DoesNotFitError, InfeasibleError, InputError, MissingExtraError, ScenarioError, SimulatorError,
                     SpecError, WorkloadError)
from .units import Precision
from .version import __version__

# Public names and the modules defining them, imported on first use: `import simulator` and a CLI
# command load only what they need (a `simulate` call never imports serving, sweeps, pandas...).
_LAZY = {
    **dict.fromkeys(("CalibrationResult", "build_graph", "calibrate", "describe", "hardware_from_yaml",
                     "hardware_yaml",
                     "list_hardware", "list_stacks", "list_workloads", "load_hardware", "load_workload", "peak_rates",
                     "simulate", "validation_band"), ".api"),
    "SimulationResult": ".result", "collective_benchmark": ".run.cluster",
    "hourly_price": ".pricing", "custom_hardware": ".spec.custom",
    "ServingResult": ".serving.result", "serve": ".serving.run",
    **dict.fromkeys(("DeploymentPlan", "plan_deployment"), ".serving.plan"),
    **dict.fromkeys(("RequestTrace", "list_request_mixes", "load_requests", "request_mix"), ".serving.requests"),
    "list_schedulers": ".serving.policy",
    "GenerationResult": ".serving.generation", "generate": ".serving.generation",
    **dict.fromkeys(("RealtimeResult", "realtime", "smallest_device"), ".serving.realtime"),
    "max_batch_size": ".sweep.capacity", "pareto": ".sweep.pareto", "sensitivity": ".sweep.pareto",
    "error_summary": ".uncertainty", "validation_rows": ".uncertainty",
}
_RENAMED = {"validation_rows": "rows"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


# The `sweep` function shares its name with the `simulator.sweep` package, which Python binds here
# whenever one of its modules is imported: import the package first, then bind the function over it
from . import sweep as _sweep_package  # noqa: E402,F401  (its __init__ loads nothing)
from .sweep.run import sweep  # noqa: E402

__all__ = [
    # one step on one device or many
    "simulate", "SimulationResult", "describe", "build_graph", "max_batch_size", "collective_benchmark",
    # LLM generation, serving, real time
    "generate", "GenerationResult", "serve", "ServingResult", "realtime", "smallest_device", "RealtimeResult",
    "load_requests", "request_mix", "list_request_mixes", "RequestTrace", "list_schedulers", "plan_deployment",
    "DeploymentPlan",
    # design-space exploration
    "sweep", "pareto", "sensitivity",
    # inputs and device figures
    "load_hardware", "load_workload", "list_hardware", "list_workloads", "list_stacks", "Precision", "peak_rates",
    "hardware_from_yaml", "hardware_yaml", "custom_hardware", "hourly_price",
    # numbers for people (three significant digits, scaled units)
    "readable",
    # how close it is: the scored validation rows behind every result's band; fitting to your machine
    "validation_rows", "validation_band", "error_summary", "calibrate", "CalibrationResult",
    # errors
    "SimulatorError", "InputError", "SpecError", "WorkloadError", "ScenarioError", "InfeasibleError",
    "DoesNotFitError", "MissingExtraError",
    "__version__",
]
