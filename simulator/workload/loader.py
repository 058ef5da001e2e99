"""Load workloads: the bundled zoo (``workloads/``, found by :mod:`simulator.bundled`), YAML paths, ONNX
files and SCALE-Sim topology CSVs.

A YAML workload names a model family and its params; it is built into a graph for a given shape.
"""
from __future__ import annotations

import difflib
import math
import functools
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..bundled import data_root
from ..errors import WorkloadError
from ..validation_errors import check_no_bools, spec_error_from_validation
from ..yamlio import file_stamp, read_yaml_file
from .families import FAMILIES
from .workload import MAX_BATCH, Published, Workload

ZOO_ROOT = data_root("workloads")
MAX_PARAM_SIZE = 10**8  # a layer width, depth or table size in a workload's params


class WorkloadFile(BaseModel):
    """Schema of a workload YAML file.

    Raises ``pydantic.ValidationError`` on bad data; :func:`workload_from_dict` turns it into a
    :class:`~simulator.errors.WorkloadError` naming the file and field.

    Example:
        >>> WorkloadFile(name="tiny", family="mlp", source="hand written",
        ...              params={"input_features": 8, "hidden": [16], "num_classes": 2}).defaults
        {}
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=80)
    family: str
    description: str = ""
    source: str = Field(min_length=3)
    params: dict[str, Any]
    defaults: dict[Literal["batch_size", "seq_len", "image_size"], Annotated[int, Field(gt=0, le=MAX_BATCH)]] = {}
    published: Published | None = None


@functools.lru_cache(maxsize=1)
def zoo() -> dict[str, Path]:
    """Map of every bundled workload name to its YAML file. Raises nothing.

    Example:
        >>> zoo()["resnet50"].name
        'resnet50.yaml'
    """
    return {p.stem: p for p in sorted(ZOO_ROOT.glob("*.yaml"))}


def list_workloads() -> list[dict[str, str]]:
    """Every bundled workload as ``{"name", "family", "task", "description"}``, sorted by name.

    Raises:
        WorkloadError: a bundled file is invalid (the golden tests keep this from happening).

    Example:
        >>> [w["family"] for w in list_workloads() if w["name"] == "llama2-7b"]
        ['transformer']
    """
    rows = []
    for name in zoo():
        wl = load_workload(name)
        rows.append({"name": name, "family": wl.family, "task": wl.task, "description": wl.description})
    return rows


def _check_list_sizes(params: dict[str, Any], source: str) -> None:
    """Every number inside a list param (layer widths, depths, table rows) must be a whole number in
    1..:data:`MAX_PARAM_SIZE`: a zero width divides by zero later, a negative one gives negative FLOPs."""
    def walk(value: Any, path: str) -> None:
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, f"{path}.{i}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and path.count(".") > 1:
            if not (value == int(value) if math.isfinite(value) else False) or not 0 < value <= MAX_PARAM_SIZE:
                raise WorkloadError(source, path, f"must be a whole number in 1..{MAX_PARAM_SIZE}, got {value!r}")

    for key, value in params.items():
        if isinstance(value, (list, tuple)):
            walk(value, f"params.{key}")


def workload_from_dict(raw: Any, source: str) -> Workload:
    """Validate a raw workload mapping.

    Raises:
        WorkloadError: naming ``source`` and the field.

    Example:
        >>> raw = {"name": "tiny", "family": "mlp", "source": "hand written",
        ...        "params": {"input_features": 8, "hidden": [16], "num_classes": 2}}
        >>> workload_from_dict(raw, "tiny.yaml").build(batch_size=1).parameters
        178.0
        >>> workload_from_dict({**raw, "family": "mpl"}, "tiny.yaml")
        Traceback (most recent call last):
        ...
        simulator.errors.WorkloadError: tiny.yaml: family: unknown family 'mpl'; did you mean 'mlp'?
    """
    if not isinstance(raw, dict):
        raise WorkloadError(source, "", f"expected a mapping at the top level, got {type(raw).__name__}")
    check_no_bools(raw, WorkloadFile, source, WorkloadError)
    try:
        wf = WorkloadFile.model_validate(raw)
    except ValidationError as exc:
        raise spec_error_from_validation(exc, source, WorkloadFile, WorkloadError) from None
    if wf.family not in FAMILIES:
        close = difflib.get_close_matches(wf.family, list(FAMILIES), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(FAMILIES))}"
        raise WorkloadError(source, "family", f"unknown family {wf.family!r}{hint}")
    fam = FAMILIES[wf.family]
    check_no_bools(wf.params, fam.params, source, WorkloadError, prefix="params")
    _check_list_sizes(wf.params, source)
    try:
        params = fam.params.model_validate(wf.params)
    except ValidationError as exc:
        err = spec_error_from_validation(exc, source, fam.params, WorkloadError)
        raise WorkloadError(source, "params." + err.field if err.field else "params", err.message) from None
    return Workload(name=wf.name, family=wf.family, params=params, source=source, description=wf.description,
                    defaults=dict(wf.defaults), published=wf.published, task=fam.task,
                    uses_seq_len=fam.uses_seq_len, uses_image_size=fam.uses_image_size)


@functools.lru_cache(maxsize=256)
def _load_path(path_text: str, unsupported: str = "error", suffix: str = "",
               stamp: tuple[int, int] = (0, 0)) -> Workload:
    """Load the file at ``path_text`` (resolved) as ``suffix`` says: the suffix of the name the user gave,
    so a symlink ``model.onnx -> blob`` is read as ONNX. ``stamp`` (:func:`~simulator.yamlio.file_stamp`)
    keys the cache by the file's state: an edited file is read again."""
    path = Path(path_text)
    suffix = suffix or path.suffix.lower()
    if suffix == ".onnx":
        from ..extras import require

        require("onnx", f"{path}: reading an ONNX model")
        from .importers.onnx_import import load_onnx

        return load_onnx(path, unsupported=unsupported)
    if suffix == ".csv":
        from .importers.scalesim_csv import load_scalesim_csv

        return load_scalesim_csv(path)
    if suffix == ".json":
        from .importers.hf_config import load_hf_config

        return load_hf_config(path)
    return workload_from_dict(read_yaml_file(path), str(path))


def load_workload(name_or_path: "str | Path | Workload", *, unsupported: str = "error") -> Workload:
    """Load a workload by zoo name (``"resnet50"``) or path (``.yaml``, ``.onnx``, SCALE-Sim ``.csv``, or a
    Hugging Face ``config.json`` of a decoder LLM: :mod:`simulator.workload.importers.hf_config`).

    ``unsupported="fallback"`` lets an ONNX model with ops we cannot map run anyway, each such op
    simulated as an element-wise op (1 FLOP per output element, its inputs read, outputs written).

    Raises:
        WorkloadError: unknown name, or an invalid file (file and field named).

    Example:
        >>> load_workload("resnet50").family
        'resnet'
        >>> load_workload("resnet5")
        Traceback (most recent call last):
        ...
        simulator.errors.WorkloadError: resnet5: no such workload name or file; did you mean resnet50, resnet152, resnet34?
    """
    if isinstance(name_or_path, Workload):
        return name_or_path
    text = str(name_or_path)
    if text in zoo():
        return _load_path(str(zoo()[text]))
    path = Path(text)
    try:
        exists = path.exists()
        resolved = path.resolve() if exists else path
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
        raise WorkloadError(text, "", f"no such workload name or file ({getattr(exc, 'strerror', None) or exc})") \
            from None
    if path.suffix.lower() in (".yaml", ".yml", ".onnx", ".csv", ".json") or exists:
        if not exists:
            raise WorkloadError(text, "", "no such file")
        if unsupported not in ("error", "fallback"):
            raise WorkloadError(text, "unsupported", f"must be 'error' or 'fallback', got {unsupported!r}")
        return _load_path(str(resolved), unsupported, path.suffix.lower(), file_stamp(resolved))
    close = difflib.get_close_matches(text, list(zoo()), n=3) if len(text) <= 200 else []
    hint = f"; did you mean {', '.join(close)}?" if close else "; `python -m simulator list workloads` shows the names"
    raise WorkloadError(text, "", f"no such workload name or file{hint}")
