"""accsim: how long a network takes to train or serve on a CPU, GPU, TPU, FPGA or ASIC, and why.

Example:
    >>> import simulator as sim
    >>> r = sim.simulate("resnet50", "nvidia-h100-sxm", mode="training", batch_size=256, precision="bf16")
    >>> r.step_time_s > 0
    True
"""
from . import readable
from .api import (CalibrationResult, build_graph, calibrate, custom_hardware, describe, hardware_from_yaml, hardware_yaml,
                  hourly_price, list_hardware, list_stacks, list_workloads, load_hardware, load_workload, peak_rates, simulate,
                  validation_band)
from .errors import (DoesNotFitError, InfeasibleError, InputError, MissingExtraError, ScenarioError, SimulatorError,
                     SpecError, WorkloadError)
from .result import SimulationResult
from .run.cluster import collective_benchmark
from .serving import ServingResult, serve
from .serving.generation import GenerationResult, generate
from .serving.realtime import RealtimeResult, realtime, smallest_device
from .sweep import max_batch_size, pareto, sensitivity, sweep
from .uncertainty import error_summary
from .uncertainty import rows as validation_rows
from .units import Precision
from .version import __version__

__all__ = [
    # one step on one device or many
    "simulate", "SimulationResult", "describe", "build_graph", "max_batch_size", "collective_benchmark",
    # LLM generation, serving, real time
    "generate", "GenerationResult", "serve", "ServingResult", "realtime", "smallest_device", "RealtimeResult",
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
