"""What the LLM pages (generation, serving) share: the model and use-case controls, the context-length
check, "minimum devices to fit" and the split of prefill and decode time into GEMM, attention, other
ops, communication and overhead."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

import simulator as sim
from explorer.calls import Outcome, generate
from explorer.presets import CUSTOM, NAMES, PRESETS
from explorer.share import init
from explorer.state import Scenario, decoder_names

DECODE_SAMPLES = 8  # decode positions simulated per generation; the rest interpolated (step time is linear in context)
GEMM_OPS = ("matmul", "linear", "conv", "gemm", "batched_matmul")


def model_choice(sc: Scenario, key: str, where: Any, *, allow_sidebar: bool = False) -> str:
    """A decoder model (or, with ``allow_sidebar``, the sidebar's workload whatever it is)."""
    names = list(decoder_names())
    if sc.upload is not None or (allow_sidebar and sc.workload not in names):
        names = [sc.workload] + names
    # LLM first: the sidebar's workload when it generates text (or was uploaded), else a Llama
    default = sc.workload if sc.workload in names and (sc.is_llm or sc.upload is not None) else \
        next((n for n in ("llama2-7b", "gpt2") if n in names), names[0])
    init(key, default, names)
    return where.selectbox("Model", names, key=key, help="Decoder transformers of the zoo (those with a KV cache)")


def _apply_preset(prefix: str) -> None:
    p = PRESETS.get(st.session_state.get(f"{prefix}_preset"))
    if p is None:
        return
    ss = st.session_state
    ss[f"{prefix}_prompt"], ss[f"{prefix}_out"] = p.prompt, p.output
    if prefix == "gen":
        ss["gen_batch"] = p.batch
    ss[f"{prefix}_ttft"], ss[f"{prefix}_tpot"] = p.ttft_ms, p.tpot_ms
    if prefix == "srv":
        ss["srv_rate"] = p.rate_per_s


def preset_controls(prefix: str, where: Any) -> str:
    """The use-case chooser; choosing one fills the lengths (and SLOs) below it, which stay editable."""
    init(f"{prefix}_preset", NAMES[0], NAMES)
    name = where.selectbox("Use case", NAMES, key=f"{prefix}_preset", on_change=_apply_preset, args=(prefix,),
                           help="Fills the token lengths, concurrency and SLOs from published traffic; every number "
                                "stays editable")
    return name


def preset_caption(name: str, prompt: int, output: int) -> None:
    p = PRESETS.get(name)
    if p is None or (p.prompt, p.output) != (prompt, output):
        st.caption(f"{prompt} prompt and {output} output tokens per request, as entered (the sidebar's sequence "
                   "length is not used on this page).")
    else:
        st.caption(f"**{name}**: {p.prompt} prompt and {p.output} output tokens. Source: {p.source}.")


def length_defaults(prefix: str) -> None:
    """Register the lengths and SLOs with the first preset's values."""
    p = PRESETS[NAMES[0]]
    init(f"{prefix}_prompt", p.prompt, lo=1, hi=131072)
    init(f"{prefix}_out", p.output, lo=1, hi=131072)
    init(f"{prefix}_ttft", p.ttft_ms, lo=0.0, hi=1e7)
    init(f"{prefix}_tpot", p.tpot_ms, lo=0.0, hi=1e7)


def context_warning(model: str, prompt: int, output: int) -> None:
    """Say so when prompt + output run past the model's trained context (the simulator would not refuse)."""
    try:
        limit = getattr(sim.load_workload(model).params, "max_positions", None)
    except sim.SimulatorError:
        return
    if limit and prompt + output > limit:
        st.warning(f"{prompt} + {output} = {prompt + output} tokens is past {model}'s context of {limit} tokens: "
                   "the model was not trained for it (the times are extrapolated; quality is not modelled).")


def tp_degrees(model: str) -> list[int]:
    """Tensor-parallel degrees that split the model's attention heads evenly."""
    try:
        p = sim.load_workload(model).params
        heads = int(getattr(p, "heads", 0) or 0)
    except sim.SimulatorError:
        heads = 0
    return [d for d in (1, 2, 4, 8, 16, 32, 64) if heads and heads % d == 0] or [1]


def min_devices(sc: Scenario, model: str, device: str, *, batch: int, prompt: int, output: int,
                peak_bytes: float, capacity_bytes: float) -> tuple[int, Outcome] | None:
    """The fewest tensor-parallel devices on which the generation fits, or None if no degree does.

    Starts at ``ceil(peak / capacity)`` (weights and KV cache split over the devices) and checks each
    candidate degree with a quick generation until one fits.
    """
    need = math.ceil(peak_bytes / capacity_bytes) if capacity_bytes else 2
    for n in [d for d in tp_degrees(model) if d >= max(2, need)][:3]:
        o = generate(sc, model, device, batch_size=batch, prompt_len=prompt, output_len=output, tensor_parallel=n,
                     decode_samples=2)
        if o.ok and o.result.fits_in_memory:
            return n, o
    return None


def _split(r: sim.SimulationResult) -> dict[str, float]:
    """One step's time by category. A tensor-parallel trace merges the ops between all-reduces, so its
    compute is one "merged" category the caller splits by a one-device op mix."""
    ops = r.ops
    n_dev = int(r.summary.get("devices") or 1)
    per_dev = ops[ops["device"] == ops["device"].iloc[0]] if len(ops) else ops
    busy = float(per_dev["duration_s"].sum())
    comm = float(r.communication_time_s) if n_dev > 1 and hasattr(r, "communication_time_s") else 0.0
    idle = max(0.0, r.step_time_s - busy - comm)
    if n_dev > 1:
        return {"merged": busy, "communication": comm, "overhead": idle}
    by = per_dev.groupby("op_type")["duration_s"].sum()
    overhead_ops = float(per_dev.loc[per_dev["bound"] == "overhead", "duration_s"].sum())
    gemm = float(by[[t for t in by.index if t in GEMM_OPS]].sum())
    attention = float(by.get("attention", 0.0))
    return {"GEMM": gemm, "attention": attention, "other ops": max(0.0, busy - gemm - attention - overhead_ops),
            "communication": 0.0, "overhead": idle + overhead_ops}


def _mean(parts: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for p in parts for k in p}
    return {k: sum(p.get(k, 0.0) for p in parts) / len(parts) for k in keys}


def phase_breakdown(g: Any, mix: Any = None) -> dict[str, dict[str, float]]:
    """Prefill and one mean decode step in GEMM, attention, other ops, communication and overhead (s).

    ``mix``: a one-device generation of the same shape whose op mix splits a tensor-parallel run's merged
    compute time.
    """
    out = {"prefill": _split(g.prefill),
           "decode step (mean)": _mean([_split(d.result) for d in g.decode]) if g.decode else {}}
    if mix is None:
        return out
    ref = {"prefill": _split(mix.prefill),
           "decode step (mean)": _mean([_split(d.result) for d in mix.decode]) if mix.decode else {}}
    for phase, parts in out.items():
        merged = parts.pop("merged", 0.0)
        cats = {k: ref[phase].get(k, 0.0) for k in ("GEMM", "attention", "other ops")}
        total = sum(cats.values()) or 1.0
        for k, v in cats.items():
            parts[k] = merged * v / total
    return out


def breakdown_table(b: dict[str, dict[str, float]]) -> pd.DataFrame:
    cats = ["GEMM", "attention", "other ops", "communication", "overhead"]
    return pd.DataFrame([{"phase": p, **{f"{c} (ms)": round(parts.get(c, 0.0) * 1e3, 4) for c in cats}}
                         for p, parts in b.items()])


__all__ = ["CUSTOM", "DECODE_SAMPLES", "breakdown_table", "context_warning", "length_defaults", "min_devices",
           "model_choice", "phase_breakdown", "preset_caption", "preset_controls", "tp_degrees"]
