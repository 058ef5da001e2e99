"""Where the bundled data lives: device specs and systems, workloads, software stacks, sample Hugging Face
configs, request mixes and scheduler policies for serving.

The repository keeps them in its top-level folders (``hardware_specs/``, ``workloads/``, ``stacks/``,
``hf_configs/``, ``request_mixes/``, ``schedulers/``).
A wheel carries the same files as package data under ``simulator/_data/<folder>`` (pyproject.toml
maps each folder there at build time), so a plain ``pip install`` finds them from any working
directory; a checkout run with ``PYTHONPATH`` or an editable install reads the top-level folders.
"""
from __future__ import annotations

import importlib.resources
from pathlib import Path

__all__ = ["FOLDERS", "data_root"]

# every folder of bundled data; pyproject.toml maps each one that exists (tests/unit/test_packaging.py)
FOLDERS = ("hardware_specs", "workloads", "stacks", "hf_configs", "request_mixes", "schedulers")


def data_root(folder: str) -> Path:
    """The directory holding bundled ``folder`` (one of :data:`FOLDERS`); it may not exist (no stacks yet).

    The wheel's copy wins when it is there; otherwise the checkout's top-level folder.

    Raises:
        ValueError: ``folder`` is not one of :data:`FOLDERS`.

    Example:
        >>> (data_root("hardware_specs") / "gpu" / "nvidia-h100-sxm.yaml").is_file()
        True
        >>> data_root("workloads").name
        'workloads'
    """
    if folder not in FOLDERS:
        raise ValueError(f"unknown bundled folder {folder!r}; one of {', '.join(FOLDERS)}")
    packaged = importlib.resources.files(__package__) / "_data" / folder
    if isinstance(packaged, Path) and packaged.is_dir():  # an installed wheel
        return packaged
    return Path(__file__).resolve().parents[1] / folder  # a checkout (editable install or PYTHONPATH)
