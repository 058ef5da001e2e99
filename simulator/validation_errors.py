"""Turn a pydantic ValidationError into one clear :class:`SpecError` naming file and field.

Also :func:`check_no_bools`: pydantic (lax mode) reads YAML's ``true`` / ``yes`` / ``on`` as the
number 1, so ``sm_count: yes`` would silently mean one SM; loaders call it before validating.
"""
from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .errors import SpecError


def _allowed_keys(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at ``loc`` (best effort), to suggest a fix for an unknown key."""
    from typing import get_args

    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            # a discriminated-union tag (e.g. 'gpu') or unknown part: keep the current model
            continue
        ann = fields[part].annotation
        candidates = [ann, *get_args(ann)]
        nxt = None
        for c in candidates:
            for cc in [c, *get_args(c)]:
                if isinstance(cc, type) and issubclass(cc, BaseModel):
                    nxt = cc
                    break
            if nxt:
                break
        current = nxt
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def spec_error_from_validation(exc: ValidationError, source: str, model: type[BaseModel] | None = None,
                               error_type: type[SpecError] = SpecError) -> SpecError:
    """Build one error from the first problem pydantic found, with a suggestion for typos.

    The union tag pydantic inserts into locations (``'gpu'``) is dropped from the field path.
    """
    errors = exc.errors()
    # an unknown key (a typo) explains the 'missing' error of the key it was meant to be: report it first
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(p for p in first["loc"] if p not in ("gpu", "tpu", "cpu", "fpga", "asic", "system", "[key]"))
    path = ".".join(str(p) for p in loc)
    msg = first["msg"]
    if first["type"] == "value_error" and msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if first["type"] == "extra_forbidden" and loc:
        options = _allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), options, n=1)
        msg = f"unknown key {loc[-1]!r}" + (f"; did you mean {close[0]!r}?" if close else
                                           (f"; allowed keys: {', '.join(options)}" if options else ""))
    elif first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] in ("union_tag_invalid", "union_tag_not_found"):
        path = ".".join(filter(None, [path, "kind"]))
    if first["type"] == "union_tag_invalid":
        tag = (first.get("ctx") or {}).get("tag", first.get("input"))
        msg = f"unknown kind {tag!r}; expected one of cpu, gpu, tpu, fpga, asic, system"
    elif first["type"] == "union_tag_not_found":
        msg = "field 'kind' is missing; expected one of cpu, gpu, tpu, fpga, asic, system"
    extra = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
    return error_type(source, path, msg + extra)


def _leaves(ann: Any) -> set[Any]:
    """Every type named inside an annotation (through Annotated, Optional, unions, containers)."""
    if ann is Any or isinstance(ann, typing.TypeVar):
        return {Any}
    origin = get_origin(ann)
    if origin is None:
        return {ann}
    if origin is typing.Literal:
        return {type(a) for a in get_args(ann)}
    out: set[Any] = set() if origin in (Union, types.UnionType, typing.Annotated) else {origin}
    args = get_args(ann)[:1] if origin is typing.Annotated else get_args(ann)
    for arg in args:
        if arg is not Ellipsis:
            out |= _leaves(arg)
    return out


def _first_bool(value: Any, path: str) -> str | None:
    if isinstance(value, bool):
        return path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for k, v in items:
        found = _first_bool(v, f"{path}.{k}" if path else str(k))
        if found is not None:
            return found
    return None


def _pick_model(models: list[type[BaseModel]], value: dict) -> type[BaseModel] | None:
    """The model a mapping is meant for: by its ``kind`` literal, else the one whose fields cover most keys."""
    def score(m: type[BaseModel]) -> tuple[int, int]:
        kind = m.model_fields.get("kind")
        tag = kind is not None and value.get("kind") in get_args(kind.annotation)
        return (int(tag), sum(k in m.model_fields for k in value))
    return max(models, key=score) if models else None


def find_misplaced_bool(value: Any, ann: Any, path: str = "") -> str | None:
    """Dotted path of the first ``true``/``false`` where ``ann`` (a model or annotation) expects no bool.

    Example:
        >>> class M(BaseModel):
        ...     n: int
        ...     flag: bool = False
        >>> find_misplaced_bool({"n": True, "flag": True}, M)
        'n'
        >>> find_misplaced_bool({"n": 3, "flag": True}, M) is None
        True
    """
    leaves = _leaves(ann)
    if bool in leaves or Any in leaves or object in leaves:
        return None
    models = [t for t in leaves if isinstance(t, type) and issubclass(t, BaseModel)]
    if not models:
        return _first_bool(value, path)
    if isinstance(value, bool):
        return path
    if isinstance(value, dict):
        model = _pick_model(models, value)
        for key, item in value.items():
            if model is not None and key in model.model_fields:
                found = find_misplaced_bool(item, model.model_fields[key].annotation, f"{path}.{key}" if path else str(key))
                if found is not None:
                    return found
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = find_misplaced_bool(item, ann, f"{path}.{i}" if path else str(i))
            if found is not None:
                return found
    return None


def check_no_bools(raw: Any, model: Any, source: str, error_type: type[SpecError] = SpecError,
                   prefix: str = "") -> None:
    """Raise ``error_type`` naming the field when a ``true``/``false`` stands where a number or text belongs.

    Raises:
        SpecError: e.g. ``gpu.yaml: compute.sm_count: expected a number or text, got a boolean ...``.
    """
    found = find_misplaced_bool(raw, model)
    if found is not None:
        field = ".".join(filter(None, [prefix, found]))
        raise error_type(source, field, "expected a number or text, got a boolean "
                                        "(YAML reads true/false/yes/no/on/off as booleans)")
