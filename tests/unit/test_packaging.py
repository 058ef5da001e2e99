"""What a wheel carries and what the core needs: pyproject.toml's package list and data mapping match the
folders, the core runs with every extra missing, and a missing extra is named. The wheel itself is
built, installed and used from an empty folder by .ci/wheel_check.sh (CI, after `make test`).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.bundled import FOLDERS, data_root

tomllib = pytest.importorskip("tomllib")   # Python 3.11+

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
EXTRA_MODULES = ("streamlit", "plotly", "onnx", "distributed", "dask", "hypothesis")


def test_every_code_package_is_in_the_wheel():
    found = {".".join(p.parent.relative_to(REPO).parts) for top in ("simulator", "explorer")
             for p in (REPO / top).rglob("__init__.py")}
    listed = {p for p in SETUPTOOLS["packages"] if not p.startswith("simulator._data")}
    assert listed == found


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_bundled_data_folder_is_mapped_into_the_wheel(folder):
    root = REPO / folder
    if not root.is_dir():
        pytest.skip(f"no {folder}/ in this checkout")
    package = f"simulator._data.{folder}"
    assert SETUPTOOLS["package-dir"][package] == folder
    data = SETUPTOOLS["package-data"]
    paths = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".json"))
    assert paths, f"{folder}/ has no data files"
    for path in paths:
        sub = path.parent.relative_to(root).parts
        if folder == "workloads" and sub:
            continue   # workloads/examples: ONNX test files, not the zoo
        pkg = ".".join((package, *sub))
        pattern = f"*{path.suffix}"
        assert pkg in SETUPTOOLS["packages"], f"{path.relative_to(REPO)}: {pkg} is not a listed package"
        assert pattern in data.get(pkg, []), f"{path.relative_to(REPO)}: {pkg} has no {pattern} package-data"


def test_a_checkout_reads_the_top_level_folders():
    assert data_root("hardware_specs") == REPO / "hardware_specs"
    assert data_root("workloads") == REPO / "workloads"
    with pytest.raises(ValueError, match="unknown bundled folder"):
        data_root("validation")


def test_the_core_dependencies_are_light_and_the_extras_hold_the_rest():
    core = {d.split(">")[0].split("[")[0].split("=")[0].strip().lower() for d in PYPROJECT["project"]["dependencies"]}
    assert core == {"simpy", "networkx", "numpy", "pyyaml", "pydantic", "pandas"}
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"app", "onnx", "dask", "dev", "all"} <= set(extras)
    assert any(d.startswith("accsim[app,onnx,dask]") for d in extras["dev"]), "make test needs every extra"
    assert {"pytest>=8", "hypothesis>=6.100"} <= set(extras["dev"])


BLOCK_EXTRAS = f"""
import importlib.abc, sys
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EXTRA_MODULES!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}")
        return None
sys.meta_path.insert(0, Missing())
import importlib.util
importlib.util.find_spec = lambda name, *a, **k: None if name.split(".")[0] in {EXTRA_MODULES!r} else _find(name, *a, **k)
"""


def _run_without_extras(code: str) -> subprocess.CompletedProcess:
    prelude = "import importlib.util\n_find = importlib.util.find_spec\n" + BLOCK_EXTRAS
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_the_core_runs_with_every_extra_missing():
    proc = _run_without_extras("""
import simulator as sim
from simulator.cli import main
r = sim.simulate("resnet18", "amd-alveo-u250", batch_size=4)
assert r.fits_in_memory and r.precision == "int8", r.precision
assert main(["list", "hardware", "--kind", "fpga"]) == 0
assert main(["simulate", "--hardware", "nvidia-t4", "--workload", "mlp"]) == 0
assert not any(m.split(".")[0] in %r for m in sys.modules), sorted(m for m in sys.modules if "stream" in m)
""" % (EXTRA_MODULES,))
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_a_missing_extra_is_named_in_one_line_exit_2():
    proc = _run_without_extras("""
from simulator.cli import main
codes = [main(["app"]), main(["simulate", "--hardware", "nvidia-t4", "--workload", "workloads/examples/mlp.onnx"])]
print(codes)
""")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[2, 2]"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert "needs the 'app' extra" in lines[0] and "pip install 'accsim[app]'" in lines[0]
    assert "needs the 'onnx' extra" in lines[1] and "pip install 'accsim[onnx]'" in lines[1]


def test_simulator_testing_says_to_install_hypothesis():
    proc = _run_without_extras("import simulator.testing")
    assert proc.returncode == 1
    assert "simulator.testing needs hypothesis: pip install 'accsim[dev]'" in proc.stderr
