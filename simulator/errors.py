"""Typed exceptions. Everything the user can cause derives from :class:`InputError`.

The CLI maps ``InputError`` to exit status 2 with its one-line message and anything else to
exit status 1, so a traceback is never the answer to a bad file.
"""
from __future__ import annotations

MAX_SHOWN = 240  # longest file name or source shown in full in a message


def _printable(text: str) -> str:
    """``text`` with control characters escaped (a newline in a name typed by a user stays on one line)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class SimulatorError(Exception):
    """Base of every exception the simulator raises on purpose.

    Example:
        >>> issubclass(SpecError, SimulatorError) and issubclass(InfeasibleError, SimulatorError)
        True
    """


class InputError(SimulatorError):
    """The user gave something we cannot use (bad file, bad argument). CLI exit status 2.

    Example:
        >>> import simulator as sim
        >>> try:
        ...     sim.load_hardware("no-such-chip")
        ... except InputError as exc:
        ...     print(type(exc).__name__)
        SpecError
    """

    def __str__(self) -> str:
        return _printable(super().__str__())


class SpecError(InputError):
    """A hardware spec is invalid.

    Args:
        source: the file (or name) the spec came from.
        field: the dotted key path inside the document, ``""`` for the whole document.
        message: what is wrong, in one sentence.

    Example:
        >>> e = SpecError("gpu.yaml", "memory.0.bandwidth_gbs", "must be > 0")
        >>> str(e), str(type(e)(*e.args)) == str(e)
        ('gpu.yaml: memory.0.bandwidth_gbs: must be > 0', True)
    """

    def __init__(self, source: str, field: str, message: str) -> None:
        # every field in args: SimPy re-raises a process's exception as type(exc)(*exc.args), and a
        # worker process's exception is pickled by its args (a one-string args made a TypeError of it)
        super().__init__(str(source), field, message)
        self.source, self.field, self.message = str(source), field, message
        # the constructor's arguments, so that ``type(e)(*e.args)`` rebuilds it (pickling to and from a
        # sweep worker, SimPy re-raising a process's failure)
        super().__init__(source, field, message)

    def __str__(self) -> str:
        shown = self.source if len(self.source) <= MAX_SHOWN else \
            f"{self.source[:MAX_SHOWN // 2]}...({len(self.source):,} characters)"  # one readable line
        return _printable((f"{shown}: {self.field}: " if self.field else f"{shown}: ") + self.message)


class WorkloadError(SpecError):
    """A workload (YAML, ONNX, CSV, or a built graph) is invalid; names the file and field.

    Example:
        >>> str(WorkloadError("net.yaml", "params.layers", "must be > 0"))
        'net.yaml: params.layers: must be > 0'
    """


class ScenarioError(InputError):
    """An argument of a run (batch size, precision, mode, parallelism...) is invalid.

    Example:
        >>> import simulator as sim
        >>> sim.simulate("mlp", "nvidia-t4", mode="serving")
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: mode: unknown mode 'serving'; choose inference or training
    """


class SimulationTimeout(InputError):
    """A run went past the wall-time limit its caller set (``simulate(..., time_limit_s=...)``).

    An input error because the caller chose both the work and the limit: CLI exit status 2.

    Example:
        >>> str(SimulationTimeout(0.5, "building the graph"))
        'time_limit_s: the simulation took longer than the limit of 0.5 s (stopped while building the graph)'
    """

    def __init__(self, limit_s: float, phase: str) -> None:
        self.limit_s, self.phase = limit_s, phase
        super().__init__(limit_s, phase)  # rebuildable from its args (see SpecError)

    def __str__(self) -> str:
        return f"time_limit_s: the simulation took longer than the limit of {self.limit_s:g} s (stopped while {self.phase})"


class InfeasibleError(SimulatorError):
    """The requested run cannot be carried out on this hardware (e.g. unsupported precision).

    Not an :class:`InputError`: the inputs are valid, the device just cannot do it (CLI exit 2 all the same).

    Example:
        >>> import simulator as sim
        >>> try:
        ...     sim.simulate("mlp", "google-edge-tpu", precision="bf16")   # an int8-only chip
        ... except InfeasibleError as exc:
        ...     print(exc)
        google-edge-tpu has no compute path for bf16; it runs int8
    """


class MissingExtraError(InputError):
    """A feature needs an optional dependency that is not installed; names the extra to install.

    The core (CLI and Python API) needs only simpy, networkx, numpy, pyyaml, pydantic and pandas;
    the explorer, ONNX import and Dask sweeps come with ``accsim[app]``, ``[onnx]`` and ``[dask]``.
    CLI exit status 2.

    Example:
        >>> str(MissingExtraError("the explorer", "app", ["streamlit"]))
        "the explorer needs the 'app' extra (streamlit not installed): pip install 'accsim[app]'"
    """

    def __init__(self, feature: str, extra: str, missing: list[str]) -> None:
        self.feature, self.extra, self.missing = feature, extra, list(missing)
        super().__init__(f"{feature} needs the {extra!r} extra ({', '.join(missing)} not installed): "
                         f"pip install 'accsim[{extra}]'")


class DoesNotFitError(InfeasibleError):
    """A model cannot be placed at all: even its smallest run needs more memory than the device has.

    Raised where no result can stand in (serving needs a model copy that fits); one-step runs
    return a result with ``fits_in_memory`` False instead. CLI exit status 3 with a DOES NOT FIT line.

    Example:
        >>> e = DoesNotFitError("llama2-70b does not fit in nvidia-l4 memory", peak_bytes=2.0, capacity_bytes=1.0,
        ...                     dominant="weights")
        >>> e.shortfall_bytes, e.dominant, str(type(e)(*e.args))
        (1.0, 'weights', 'llama2-70b does not fit in nvidia-l4 memory')
    """

    def __init__(self, message: str, peak_bytes: float = 0.0, capacity_bytes: float = 0.0,
                 dominant: str | None = None, what: str = "") -> None:
        # every field in args: SimPy re-raises a process's exception as type(exc)(*exc.args)
        super().__init__(message, peak_bytes, capacity_bytes, dominant, what)
        self.message, self.peak_bytes, self.capacity_bytes, self.dominant = message, peak_bytes, capacity_bytes, dominant
        self.what = what or message
        self.shortfall_bytes = max(0.0, peak_bytes - capacity_bytes)

    def __str__(self) -> str:
        return self.message
