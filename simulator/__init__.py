"""accsim: how long a network takes to train or serve on a CPU, GPU, TPU, FPGA or ASIC, and why.

Example:
    >>> import simulator as sim
    >>> r = sim.simulate("resnet50", "nvidia-h100-sxm", mode="training", batch_size=256, precision="bf16")
    >>> r.step_time_s > 0
    True
"""
from .api import build_graph, describe, list_hardware, list_workloads, load_hardware, load_workload, simulate
from .capacity import max_batch_size
from .distributed import collective_benchmark
from .errors import InfeasibleError, InputError, ScenarioError, SimulatorError, SpecError, WorkloadError
from .generation import GenerationResult, generate
from .realtime import RealtimeResult, realtime, smallest_device
from .result import SimulationResult
from .serving import ServingResult, serve
from .sweep import pareto, sensitivity, sweep
from .uncertainty import rows as validation_rows
from .units import Precision

__all__ = [
    # one step on one device or many
    "simulate", "SimulationResult", "describe", "build_graph", "max_batch_size", "collective_benchmark",
    # LLM generation, serving, real time
    "generate", "GenerationResult", "serve", "ServingResult", "realtime", "smallest_device", "RealtimeResult",
    # design-space exploration
    "sweep", "pareto", "sensitivity",
    # inputs
    "load_hardware", "load_workload", "list_hardware", "list_workloads", "Precision",
    # how close it is: the scored validation rows behind every result's band
    "validation_rows",
    # errors
    "SimulatorError", "InputError", "SpecError", "WorkloadError", "ScenarioError", "InfeasibleError",
]
__version__ = "0.1.0"
