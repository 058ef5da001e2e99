"""Design spaces of a sweep: which parameters vary, over which values, and how points are drawn.

A space maps a parameter to its values:

* ``"hardware"``: catalogue names or spec paths;
* ``"hardware.<dotted spec path>"``: what-if override values (``hardware.memory.hbm.bandwidth_gbs``);
* a run parameter of :func:`simulator.simulate`: ``workload``, ``mode``, ``batch_size``, ``seq_len``,
  ``image_size``, ``precision``, ``weight_precision``, ``optimizer``, ``checkpointing``,
  ``grad_accumulation``, ``fused_attention``, ``power_cap_w``.

A value is a list (every item is a candidate), a single scalar (fixed), or a numeric range
``{"min": 1000, "max": 8000, "log": true, "integer": false, "steps": 5}``. Ranges are drawn by the
``random`` and ``lhs`` (Latin hypercube) samplers; the ``grid`` sampler needs ``steps`` to split them.
Integer-valued run parameters (batch_size, seq_len, image_size, grad_accumulation) are rounded.
"""
from __future__ import annotations

import itertools
import json
import math
import sys
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import InputError

MAX_POINTS = 100_000  # the largest sweep we accept: beyond it, sample (random / lhs) instead
RUN_KEYS = ("workload", "mode", "batch_size", "seq_len", "image_size", "precision", "weight_precision", "optimizer",
            "checkpointing", "grad_accumulation", "fused_attention", "power_cap_w")
INT_KEYS = frozenset({"batch_size", "seq_len", "image_size", "grad_accumulation"})
SAMPLERS = ("grid", "random", "lhs")
_RANGE_KEYS = frozenset({"min", "max", "log", "integer", "steps"})


class SpaceError(InputError):
    """A sweep space is invalid; the message starts with the field path (``space.<key>``)."""


@dataclass(frozen=True)
class Range:
    """A numeric interval ``[min, max]``, uniform or log-uniform (``log``), optionally integer-valued.

    ``steps`` (grid sampler only): that many evenly (or log-evenly) spaced values, ends included.
    """

    min: float
    max: float
    log: bool = False
    integer: bool = False
    steps: int | None = None

    def at(self, u: float) -> float | int:
        """The value at fraction ``u`` in [0, 1] of the interval (log-spaced when ``log``)."""
        if self.log:
            x = math.exp(math.log(self.min) + u * (math.log(self.max) - math.log(self.min)))
        else:
            x = self.min + u * (self.max - self.min)
        x = min(max(x, self.min), self.max)
        # 6 significant digits: readable values whose JSON (and so point key) is stable
        return int(round(x)) if self.integer else float(f"{x:.6g}")

    def grid(self) -> list[float | int]:
        """``steps`` values from min to max (duplicates after integer rounding removed)."""
        n = self.steps or 1
        values = [self.at(i / (n - 1)) if n > 1 else self.at(0.0) for i in range(n)]
        return list(dict.fromkeys(values))


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _parse_range(key: str, spec: Mapping[str, Any]) -> Range:
    where = f"space.{key}"
    unknown = sorted(set(spec) - _RANGE_KEYS)
    if unknown:
        raise SpaceError(f"{where}.{unknown[0]}: unknown range key; allowed: min, max, log, integer, steps "
                         "(to sweep over whole blocks, give a list of values)")
    for bound in ("min", "max"):
        if bound not in spec:
            raise SpaceError(f"{where}.{bound}: a range needs both min and max")
        if not _is_number(spec[bound]):
            raise SpaceError(f"{where}.{bound}: must be a finite number, got {spec[bound]!r}")
    lo, hi = spec["min"], spec["max"]
    if lo > hi:
        raise SpaceError(f"{where}: min ({lo}) is above max ({hi})")
    log = spec.get("log", False)
    integer = spec.get("integer", key in INT_KEYS)
    for flag, val in (("log", log), ("integer", integer)):
        if not isinstance(val, bool):
            raise SpaceError(f"{where}.{flag}: must be true or false, got {val!r}")
    if log and lo <= 0:
        raise SpaceError(f"{where}.min: a log range needs min > 0, got {lo}")
    steps = spec.get("steps")
    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= MAX_POINTS):
        raise SpaceError(f"{where}.steps: must be an integer from 1 to {MAX_POINTS}, got {steps!r}")
    return Range(min=lo, max=hi, log=log, integer=integer, steps=steps)


def _plain(key: str, value: Any) -> Any:
    """``value`` as plain JSON data (numpy scalars unwrapped); points are hashed and stored as JSON."""
    np = sys.modules.get("numpy")  # a numpy scalar exists only once numpy is loaded: no import for it
    if np is not None and isinstance(value, np.generic):
        value = value.item()
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise SpaceError(f"space.{key}: values must be plain JSON data (text, numbers, lists, mappings), "
                         f"got {value!r}") from None
    return value


def _check_key(key: Any) -> None:
    if not isinstance(key, str):
        raise SpaceError(f"space: parameter names must be text, got {key!r}")
    if key == "hardware" or key in RUN_KEYS:
        return
    if key.startswith("hardware.") and all(key.split(".")[1:]):
        return
    raise SpaceError(f"space.{key}: unknown parameter; use 'hardware', 'hardware.<dotted spec path>' "
                     f"or one of {', '.join(RUN_KEYS)}")


def parse_space(space: Mapping[str, Any]) -> dict[str, list[Any] | Range]:
    """Validate a space into ``{key: list of values | Range}``, keeping the key order.

    Raises:
        SpaceError: unknown key, empty list, bad range; the message names ``space.<key>``.

    Example:
        >>> parse_space({"hardware": "nvidia-h100-sxm", "batch_size": [32, 64]})
        {'hardware': ['nvidia-h100-sxm'], 'batch_size': [32, 64]}
    """
    if not isinstance(space, Mapping) or not space:
        raise SpaceError("space: must be a non-empty mapping of parameter -> values")
    out: dict[str, list[Any] | Range] = {}
    for key, value in space.items():
        _check_key(key)
        if isinstance(value, Mapping) and ("min" in value or "max" in value):
            out[key] = _parse_range(key, value)
        elif isinstance(value, (list, tuple)):
            if not value:
                raise SpaceError(f"space.{key}: empty list of values")
            out[key] = [_plain(key, v) for v in value]
        elif isinstance(value, Mapping):
            raise SpaceError(f"space.{key}: a mapping must be a range with min and max; "
                             "to set a whole block, give a list holding it")
        else:
            out[key] = [_plain(key, value)]
    if "hardware" not in out:
        raise SpaceError("space.hardware: required; name one or more devices")
    return out


def count_points(space: Mapping[str, list[Any] | Range], sampler: str, samples: int | None) -> int:
    """How many points ``sampler`` draws from ``space`` (before removing duplicates).

    Raises:
        SpaceError: unknown sampler, missing or misplaced ``samples``, a grid over a range without
            ``steps``, or more than :data:`MAX_POINTS` points.
    """
    if sampler not in SAMPLERS:
        raise SpaceError(f"sampler: unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
    if sampler == "grid":
        if samples is not None:
            raise SpaceError("samples: only used by the random and lhs samplers; a grid takes every combination")
        n = 1
        for key, values in space.items():
            if isinstance(values, Range) and values.steps is None:
                raise SpaceError(f"space.{key}: a range in a grid needs 'steps' (or use sampler random / lhs)")
            n *= len(values.grid()) if isinstance(values, Range) else len(values)
    else:
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            raise SpaceError(f"samples: the {sampler} sampler needs a positive number of samples, got {samples!r}")
        n = samples
    if n > MAX_POINTS:
        raise SpaceError(f"space: {n:,} points is more than the limit of {MAX_POINTS:,} points per sweep; "
                         "narrow the space or use sampler random / lhs with fewer samples")
    return n


def _grid(space: Mapping[str, list[Any] | Range]) -> list[dict[str, Any]]:
    keys = list(space)
    axes = [v.grid() if isinstance(v, Range) else v for v in space.values()]
    return [dict(zip(keys, combo)) for combo in itertools.product(*axes)]


def _draw(space: Mapping[str, list[Any] | Range], n: int, seed: int, latin: bool) -> list[dict[str, Any]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    columns: dict[str, list[Any]] = {}
    for key, values in space.items():
        if latin:  # one draw in each of n equal strata, strata shuffled per dimension
            u = (rng.permutation(n) + rng.random(n)) / n
        else:
            u = rng.random(n)
        if isinstance(values, Range):
            columns[key] = [values.at(float(x)) for x in u]
        else:
            columns[key] = [values[min(int(x * len(values)), len(values) - 1)] for x in u]
    return [{k: columns[k][i] for k in space} for i in range(n)]


def make_points(space: Mapping[str, Any], *, sampler: str = "grid", samples: int | None = None,
                seed: int = 0) -> list[dict[str, Any]]:
    """The parameter dicts of a sweep, in a deterministic order, duplicates removed.

    ``grid``: every combination (ranges split into ``steps`` values). ``random``: ``samples`` independent
    draws (lists uniformly, ranges uniform or log-uniform). ``lhs``: Latin hypercube, each dimension's
    [0, 1) split into ``samples`` strata drawn once each, so every list value and every part of a range
    is covered evenly. ``seed`` makes random and lhs reproducible.

    Raises:
        SpaceError: see :func:`parse_space` and :func:`count_points`.

    Example:
        >>> make_points({"hardware": ["a", "b"], "batch_size": [1, 2]})[:2]
        [{'hardware': 'a', 'batch_size': 1}, {'hardware': 'a', 'batch_size': 2}]
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpaceError(f"seed: must be a non-negative integer, got {seed!r}")
    parsed = parse_space(space)
    n = count_points(parsed, sampler, samples)
    points = _grid(parsed) if sampler == "grid" else _draw(parsed, n, seed, latin=sampler == "lhs")
    seen: dict[str, dict[str, Any]] = {}
    for p in points:
        seen.setdefault(json.dumps(p, sort_keys=True), p)
    return list(seen.values())
