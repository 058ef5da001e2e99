"""Load hardware specs: the bundled catalogue (``hardware_specs/``, found by :mod:`simulator.bundled`),
paths to YAML files, and what-if overrides.

The raw dict never leaves this module: callers get a validated, frozen spec.
"""
from __future__ import annotations

import copy
import difflib
import functools
from pathlib import Path
from typing import Any, Mapping

from pydantic import TypeAdapter, ValidationError

from ..bundled import data_root
from ..errors import SpecError
from ..validation_errors import check_no_bools, spec_error_from_validation
from ..yamlio import file_stamp, read_yaml_file
from .models import HardwareSpec, _DeviceBase
from .system import torus_shape

SPEC_ROOT = data_root("hardware_specs")
_ADAPTER: TypeAdapter = TypeAdapter(HardwareSpec)


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, Path]:
    """Map of every bundled device and system name to its YAML file. Raises nothing.

    Example:
        >>> catalogue()["nvidia-l4"].relative_to(SPEC_ROOT).as_posix()
        'gpu/nvidia-l4.yaml'
    """
    found: dict[str, Path] = {}
    for path in sorted(SPEC_ROOT.glob("*/*.yaml")):
        found[path.stem] = path
    return found


def list_hardware() -> list[dict[str, str]]:
    """Every bundled device as ``{"name", "kind", "display_name", "vendor"}``, sorted by kind then name.

    Raises:
        SpecError: a bundled file is invalid (the golden tests keep this from happening).

    Example:
        >>> any(d["name"] == "nvidia-h100-sxm" for d in list_hardware())
        True
    """
    rows = []
    for name in catalogue():
        spec = load_hardware(name)
        rows.append({"name": name, "kind": spec.kind, "display_name": spec.display_name, "vendor": spec.vendor})
    return sorted(rows, key=lambda r: (r["kind"], r["name"]))


def _resolve_source(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    cat = catalogue()
    if text in cat:
        return cat[text]
    path = Path(text)
    try:
        exists = path.exists()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        exists = False
    if path.suffix.lower() in (".yaml", ".yml", ".cfg") or exists:
        return path
    close = difflib.get_close_matches(text, list(cat), n=3) if len(text) <= 200 else []
    hint = f"; did you mean {', '.join(close)}?" if close else "; `python -m simulator list hardware` shows the names"
    raise SpecError(text, "", f"no such hardware name or file{hint}")


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Return a copy of ``raw`` with dotted-path ``overrides`` set.

    A path part that names an item of a list of named blocks selects it by ``name``
    (``memory.hbm.bandwidth_gbs``); an integer part selects by position. A leading
    ``hardware.`` is ignored so sweep keys can be passed as they are.

    Raises:
        SpecError: the path does not exist in the spec.

    Example:
        >>> apply_overrides({"memory": [{"name": "hbm", "bandwidth_gbs": 1}]},
        ...                 {"memory.hbm.bandwidth_gbs": 2}, "x")["memory"][0]["bandwidth_gbs"]
        2
    """
    if not isinstance(overrides, Mapping):
        raise SpecError(source, "overrides", f"expected a mapping of dotted spec paths to values, got {overrides!r}")
    out = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        if not isinstance(dotted, str) or not dotted:
            raise SpecError(source, "overrides", f"an override key must be a dotted spec path, got {dotted!r}")
        parts = dotted.split(".")
        if parts and parts[0] == "hardware":
            parts = parts[1:]
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            here = ".".join(parts[: i + 1])
            if isinstance(node, list):
                idx = next((j for j, item in enumerate(node) if isinstance(item, dict) and item.get("name") == part), None)
                if idx is None and part.isdigit() and int(part) < len(node):
                    idx = int(part)
                if idx is None:
                    names = [item.get("name") for item in node if isinstance(item, dict)]
                    raise SpecError(source, here, f"override path not found; items here: {names}")
                if last:
                    node[idx] = value
                else:
                    node = node[idx]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                elif part not in node or node[part] is None:
                    raise SpecError(source, here, f"override path not found; keys here: {sorted(node)}")
                else:
                    node = node[part]
            else:
                raise SpecError(source, here, "override path goes through a value, not a block")
    _reshape_torus(out, overrides)
    return out


def _reshape_torus(out: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """A system run on a smaller (or larger) slice than its spec's: ``devices_per_node`` /
    ``max_nodes`` overridden without the torus ``dims`` get the most nearly cubic torus of that size
    and the same rank (:func:`~simulator.spec.system.torus_shape`), not a refusal."""
    keys = {k.removeprefix("hardware.") for k in overrides if isinstance(k, str)}
    for size_key, fabric_key in (("devices_per_node", "intra_node"), ("max_nodes", "inter_node")):
        fabric = out.get(fabric_key)
        size = out.get(size_key)
        if (size_key in keys and f"{fabric_key}.dims" not in keys and isinstance(fabric, dict)
                and fabric.get("dims") and isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= 10**7):
            fabric["dims"] = list(torus_shape(size, len(fabric["dims"])))


def spec_from_dict(raw: Any, source: str) -> _DeviceBase:
    """Validate a raw mapping into a frozen hardware spec.

    Raises:
        SpecError: naming ``source`` and the key path of the first problem.

    Example:
        >>> raw = raw_spec("nvidia-l4")
        >>> raw["memory"][1]["bandwidth_gbs"] = 600
        >>> spec_from_dict(raw, "my.yaml").main_memory.bandwidth_gbs
        600.0
        >>> raw["compute"]["sm_countt"] = 1
        >>> spec_from_dict(raw, "my.yaml")
        Traceback (most recent call last):
        ...
        simulator.errors.SpecError: my.yaml: compute.sm_countt: unknown key 'sm_countt'; did you mean 'sm_count'?
    """
    if not isinstance(raw, dict):
        raise SpecError(source, "", f"expected a mapping at the top level, got {type(raw).__name__}")
    if raw.get("kind") == "system":
        from .system import SystemSpec

        check_no_bools(raw, SystemSpec, source)
        try:
            return SystemSpec.model_validate(raw)
        except ValidationError as exc:
            raise spec_error_from_validation(exc, source, SystemSpec) from None
    check_no_bools(raw, HardwareSpec, source)
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        kind = raw.get("kind")
        from .models import SPEC_CLASSES

        model = SPEC_CLASSES.get(kind if isinstance(kind, str) else "")
        raise spec_error_from_validation(exc, source, model) from None


@functools.lru_cache(maxsize=256)
def _load_cached(path_text: str, stamp: tuple[int, int] = (0, 0)) -> _DeviceBase:  # stamp: see file_stamp
    path = Path(path_text)
    if path.suffix.lower() == ".cfg":
        from .scalesim_cfg import load_scalesim_cfg

        return load_scalesim_cfg(path)
    raw = read_yaml_file(path)
    return spec_from_dict(raw, str(path))


def raw_spec(name_or_path: str | Path) -> dict[str, Any]:
    """The raw YAML mapping of a spec (for editing in the app); validated first.

    Raises:
        SpecError: unknown name, unreadable or invalid file.

    Example:
        >>> list(raw_spec("nvidia-l4"))[:4]
        ['name', 'display_name', 'vendor', 'kind']
    """
    path = _resolve_source(name_or_path)
    _load_cached(str(path), file_stamp(path))
    return read_yaml_file(path)


def load_hardware(name_or_path: "str | Path | _DeviceBase", overrides: Mapping[str, Any] | None = None) -> _DeviceBase:
    """Load a device by catalogue name (``"nvidia-h100-sxm"``) or path (YAML, or a SCALE-Sim ``.cfg``).

    Args:
        name_or_path: a catalogue name, a file path, or an already loaded spec.
        overrides: what-if changes as dotted paths, e.g. ``{"memory.hbm.bandwidth_gbs": 4000}``.

    Raises:
        SpecError: unknown name, unreadable or invalid file, or a bad override (file and field named).

    Example:
        >>> load_hardware("nvidia-h100-sxm").kind
        'gpu'
        >>> load_hardware("nvidia-h100-sxm", {"memory.hbm.bandwidth_gbs": 6700}).main_memory.bandwidth_gbs
        6700.0
        >>> load_hardware("nvidia-h100")
        Traceback (most recent call last):
        ...
        simulator.errors.SpecError: nvidia-h100: no such hardware name or file; did you mean nvidia-h200, nvidia-gh200, nvidia-h100-sxm?
    """
    from .system import SystemSpec

    if isinstance(name_or_path, (_DeviceBase, SystemSpec)):
        if not overrides:
            return name_or_path
        raw = name_or_path.model_dump(mode="json")
        return spec_from_dict(apply_overrides(raw, overrides, name_or_path.name), name_or_path.name)
    path = _resolve_source(name_or_path)
    spec = _load_cached(str(path), file_stamp(path))
    if not overrides:
        return spec
    raw = spec.model_dump(mode="json")
    return spec_from_dict(apply_overrides(raw, overrides, str(path)), str(path))
