"""Coverage-guided fuzzing of the loaders with atheris (libFuzzer for Python). Optional: not a dependency.

    pip install atheris
    python tools/fuzz_atheris.py -atheris_runs=100000                  # from an empty corpus
    python tools/fuzz_atheris.py runs/fuzz-corpus tests/data/bad/hardware  # grow a corpus, seeded with bad files
    python tools/fuzz_atheris.py -max_total_time=600 -max_len=4096

The first input byte picks the loader (hardware YAML, SCALE-Sim cfg, workload YAML, SCALE-Sim CSV, ONNX,
sweep YAML), the rest is the file. The property is the one tests/property/test_fuzz_loaders.py checks
with hypothesis: a loader returns a valid object or raises :class:`~simulator.errors.InputError`; any
other exception is a crash that libFuzzer saves as ``crash-<sha1>`` for replay
(``python tools/fuzz_atheris.py crash-<sha1>``). Hardware that loads is also simulated, and the
result must be finite.
"""
from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["simulator"]):
    from simulator.api import load_hardware, load_workload, simulate
    from simulator.errors import InfeasibleError, InputError
    from simulator.sweep.cli import load_sweep_file

TARGETS = ((".yaml", load_hardware), (".cfg", load_hardware), (".yaml", load_workload), (".csv", load_workload),
           (".onnx", load_workload), (".yaml", load_sweep_file))
_DIR = Path(tempfile.mkdtemp(prefix="accsim-atheris-"))
_count = 0


def _check_finite(hw) -> None:
    try:
        s = simulate("mlp", hw, batch_size=2, time_limit_s=10.0).summary
    except (InputError, InfeasibleError):
        return
    for key in ("step_time_s", "energy_j", "peak_memory_bytes"):
        if not (math.isfinite(s[key]) and s[key] >= 0):
            raise AssertionError(f"{key} = {s[key]} for an accepted spec")


def test_one_input(data: bytes) -> None:
    """libFuzzer entry point: one file for one loader; InputError is the expected refusal."""
    global _count
    if not data:
        return
    suffix, loader = TARGETS[data[0] % len(TARGETS)]
    _count += 1
    path = _DIR / f"case{_count}{suffix}"  # fresh name: the loaders cache by path
    path.write_bytes(data[1:])
    try:
        loaded = loader(path)
    except InputError as exc:
        if "\n" in str(exc):
            raise AssertionError(f"multi-line error message: {exc!r}") from None
        return
    finally:
        path.unlink(missing_ok=True)
    if loader is load_hardware and getattr(loaded, "kind", "system") != "system":
        _check_finite(loaded)
    elif loader is load_workload:
        try:
            loaded.build(batch_size=1)
        except InputError:
            return


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
