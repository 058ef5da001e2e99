"""Turn a pydantic ValidationError into one clear :class:`SpecError` naming file and field."""
from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import SpecError


def _allowed_keys(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at ``loc`` (best effort), to suggest a fix for an unknown key."""
    from typing import get_args, get_origin

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
    first = exc.errors()[0]
    loc = tuple(p for p in first["loc"] if p not in ("gpu", "tpu", "cpu", "fpga", "asic", "system"))
    path = ".".join(str(p) for p in loc)
    msg = first["msg"]
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
