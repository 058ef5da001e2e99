"""Share and save: every control's value round-trips through the URL (``st.query_params``) and a scenario
JSON file.

Every control is created through :func:`init`, which records its default, takes its value from the
URL or an uploaded scenario when one is waiting, and checks it against the control's options (a bad
value from a URL falls back to the default, never an exception). :func:`publish`, at the end of every
run, writes the controls drawn in that run that differ from their defaults back to the URL, so a
copied URL reproduces the page (its path names the page). Custom devices travel too: those made from
numbers in the URL, every one in the scenario JSON.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

import streamlit as st

DEFAULTS: dict[str, Any] = {}  # control key -> its default (the same for every session)
PENDING = "_share_pending"  # values from the URL or a scenario file not yet given to their control
SEEN = "_share_seen"  # controls drawn in this run
CUSTOM = "custom_devices"  # name -> {"how": "numbers" | "yaml", ...}
SCENARIO_VERSION = 1


def start_run() -> None:
    """Call first in every run: on a session's first run, the URL's values wait for their controls."""
    ss = st.session_state
    if PENDING not in ss:
        ss[PENDING] = {k: (v if len(v) > 1 else v[0]) for k in st.query_params
                       for v in [st.query_params.get_all(k)]}
        _take_custom(ss[PENDING].pop("cd", None))
    ss[SEEN] = set()


def _take_custom(text: Any) -> None:
    if not text:
        return
    try:
        data = json.loads(text) if isinstance(text, str) else text
        if isinstance(data, dict):
            st.session_state.setdefault(CUSTOM, {}).update(
                {str(k): v for k, v in data.items() if isinstance(v, dict) and v.get("how") in ("numbers", "yaml")})
    except ValueError:
        pass  # a mangled URL part is ignored: the devices are simply not there


def _decode(raw: Any, default: Any) -> Any:
    """``raw`` (URL text or JSON value) as the type of ``default``; raises ValueError if it cannot be."""
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("1", "true", "yes"):
            return True
        if str(raw).lower() in ("0", "false", "no"):
            return False
        raise ValueError(raw)
    if isinstance(default, int):
        return int(float(raw)) if not isinstance(raw, bool) else int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, (list, tuple)):
        items = raw if isinstance(raw, (list, tuple)) else ([] if raw in ("", None) else [raw])
        return [str(x) for x in items]
    return raw if default is None and not isinstance(raw, str) else str(raw)


def _valid(value: Any, options: Sequence[Any] | None, lo: float | None, hi: float | None) -> bool:
    if options is not None:
        values = value if isinstance(value, list) else [value]
        if any(v not in options for v in values):
            return False
    if lo is not None and value < lo:
        return False
    return not (hi is not None and value > hi)


def init(key: str, default: Any, options: Sequence[Any] | None = None, *, lo: float | None = None,
         hi: float | None = None) -> None:
    """Before drawing the control ``key``: register its default and give it its value (waiting URL or
    scenario value, else the session's, else ``default``), within ``options`` or ``lo..hi``.

    Draw the control with ``key=`` and no ``value``/``index``/``default`` argument afterwards.
    """
    DEFAULTS[key] = default
    ss = st.session_state
    ss.setdefault(SEEN, set()).add(key)
    pending = ss.get(PENDING, {})
    if key in pending:
        raw = pending.pop(key)
        try:
            value = _decode(raw, default)
            if _valid(value, options, lo, hi):
                ss[key] = value
        except (TypeError, ValueError):
            pass
    if key in ss and not _valid(ss[key], options, lo, hi):
        ss[key] = [v for v in ss[key] if v in options] if isinstance(ss[key], list) else default
    ss.setdefault(key, default)


def _encode(value: Any) -> str | list[str]:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def current_values(only_changed: bool = True) -> dict[str, Any]:
    """The values of the controls drawn in this run (those off their default when ``only_changed``)."""
    ss = st.session_state
    out = {}
    for key in sorted(ss.get(SEEN, ())):
        if key in ss and (not only_changed or ss[key] != DEFAULTS.get(key)):
            value = ss[key]
            out[key] = list(value) if isinstance(value, tuple) else value
    return out


def publish() -> None:
    """At the end of a run: the URL holds this page's non-default controls and the custom devices from numbers."""
    params: dict[str, Any] = {k: _encode(v) for k, v in current_values().items()}
    numbers = {n: d for n, d in st.session_state.get(CUSTOM, {}).items() if d.get("how") == "numbers"}
    if numbers:
        params["cd"] = json.dumps(numbers, sort_keys=True, separators=(",", ":"))
    now = {k: st.query_params.get_all(k) for k in st.query_params}
    if now != {k: (v if isinstance(v, list) else [v]) for k, v in params.items()}:
        st.query_params.from_dict(params)


def scenario_json(page: str) -> str:
    """This page's scenario (every control drawn, default or not, and every custom device) as JSON."""
    return json.dumps({"accsim_scenario": SCENARIO_VERSION, "page": page, "values": current_values(False),
                       "custom_devices": st.session_state.get(CUSTOM, {})}, indent=1, sort_keys=True)


def load_scenario(text: bytes | str) -> str:
    """Queue a scenario file's values for their controls; returns the page it names.

    Raises:
        ValueError: not a scenario file (one line for ``st.error``).
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("accsim_scenario") != SCENARIO_VERSION \
            or not isinstance(data.get("values"), dict):
        raise ValueError("not an accsim scenario file (no 'accsim_scenario': 1 with 'values')")
    st.session_state.setdefault(PENDING, {}).update(data["values"])
    _take_custom(data.get("custom_devices"))
    return str(data.get("page", ""))
