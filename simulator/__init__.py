"""accsim: how long a network takes to train or serve on a CPU, GPU, TPU, FPGA or ASIC, and why.

Example:
    >>> import simulator as sim
    >>> r = sim.simulate("resnet50", "nvidia-h100-sxm", mode="training", batch_size=256, precision="bf16")
    >>> r.step_time_s > 0
    True
"""
from .api import build_graph, describe, list_hardware, list_workloads, load_hardware, load_workload, simulate
from .errors import InfeasibleError, InputError, ScenarioError, SimulatorError, SpecError, WorkloadError
from .result import SimulationResult
from .units import Precision

__all__ = ["load_hardware", "load_workload", "simulate", "describe", "list_hardware", "list_workloads",
           "build_graph", "SimulationResult", "Precision", "SimulatorError", "InputError", "SpecError",
           "WorkloadError", "ScenarioError", "InfeasibleError"]
__version__ = "0.1.0"

from .capacity import max_batch_size  # noqa: E402
from .generation import GenerationResult, generate  # noqa: E402

__all__ += ["generate", "GenerationResult", "max_batch_size"]
from .pareto import pareto, sensitivity  # noqa: E402
from .sweep import sweep  # noqa: E402

__all__ += ["sweep", "pareto", "sensitivity"]
from .realtime import RealtimeResult, realtime, smallest_device  # noqa: E402
from .serving import ServingResult, serve  # noqa: E402

__all__ += ["serve", "ServingResult", "realtime", "smallest_device", "RealtimeResult"]
from .distributed import collective_benchmark  # noqa: E402

__all__ += ["collective_benchmark"]
