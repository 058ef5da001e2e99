"""LLM generation: prefill and decode of a decoder model (``simulator.generate``) for a use case, on the
sidebar device and any others, with where the time goes, the batch trade-off and the devices needed to fit.

Memory is per device (each holds its share of the weights and KV cache); power per device with the
group's total beside it; throughput and cost per device.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from explorer import report
from explorer.calls import Outcome, generate, price
from explorer.charts import decode_figures, phase_figure, tradeoff_figure
from explorer.format import bound_label, fmt_bytes, fmt_energy, fmt_si, fmt_time, fmt_usd, per_million, with_band
from explorer.llm import (DECODE_SAMPLES, breakdown_table, context_warning, length_defaults, min_devices, model_choice,
                          phase_breakdown, preset_caption, preset_controls, tp_degrees)
from explorer.presets import NAMES, PRESETS
from explorer.share import init
from explorer.state import Scenario, device_labels
from explorer.views import Column, lazy_tabs, price_help, table

SWEEP_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def _controls(sc: Scenario) -> dict[str, Any]:
    c = st.columns([2, 2, 1, 1, 1, 1])
    preset = preset_controls("gen", c[0])
    model = model_choice(sc, "gen_model", c[1])
    length_defaults("gen")
    init("gen_batch", PRESETS[NAMES[0]].batch, lo=1, hi=4096)
    prompt = int(c[2].number_input("Prompt tokens", 1, 131072, key="gen_prompt"))
    out = int(c[3].number_input("Output tokens", 1, 131072, key="gen_out"))
    batch = int(c[4].number_input("Sequences", 1, 4096, key="gen_batch", help="sequences generated together"))
    degrees = tp_degrees(model)
    init("gen_tp", 1, degrees)
    tp = int(c[5].selectbox("Tensor parallel", degrees, key="gen_tp",
                            help="devices per model copy, the model split Megatron-style (degrees that divide the "
                                 "attention heads)"))
    labels = device_labels()
    others = [n for n in labels if n != sc.device]
    init("gen_devices", [], others)
    more = st.multiselect("Compare on", others, key="gen_devices", format_func=lambda n: labels.get(n, n),
                          help="Other devices, each at the same tensor parallelism")
    return {"preset": preset, "model": model, "prompt": prompt, "out": out, "batch": batch, "tp": tp,
            "devices": [sc.device] + more}


def _run(sc: Scenario, k: dict[str, Any], device: str, batch: int | None = None, tp: int | None = None,
         samples: int = DECODE_SAMPLES) -> Outcome:
    return generate(sc, k["model"], device, batch_size=batch or k["batch"], prompt_len=k["prompt"],
                    output_len=k["out"], tensor_parallel=tp or k["tp"], decode_samples=samples)


def _cost(g: Any, device: str, basis: str, tp: int) -> tuple[float | None, dict[str, Any] | None]:
    p = price(device, basis)
    tokens = g.batch_size * g.output_len
    return (per_million(p["usd_per_device_hour"], tp, g.total_time_s, tokens) if p else None), p


def _metrics(g: Any, device: str, kind: str, tp: int, basis: str) -> None:
    c = st.columns(4)
    c[0].metric("Time to first token", with_band(g.ttft_s, kind), help="the prefill of the prompt")
    c[1].metric("Time per output token", with_band(g.tpot_s, kind), help="mean decode step")
    c[2].metric("Tokens/s" + (" per device" if tp > 1 else ""), with_band(g.tokens_per_s / tp, kind, fmt_si),
                help=f"output tokens over {fmt_time(g.total_time_s)}" + (f"; all {tp} devices "
                                                                         f"{fmt_si(g.tokens_per_s)}/s" if tp > 1 else ""))
    cost, p = _cost(g, device, basis, tp)
    c[3].metric("Cost per 1M output tokens", fmt_usd(cost), help=price_help(p, basis))
    c = st.columns(4)
    fit = "fits" if g.fits_in_memory else "DOES NOT FIT"
    c[0].metric("Peak memory per device", fmt_bytes(g.peak_memory_bytes), f"of {fmt_bytes(g.memory_capacity_bytes)} · {fit}",
                delta_color="normal" if g.fits_in_memory else "inverse", delta_arrow="off",
                help=f"weights {fmt_bytes(g.weight_bytes)} per device")
    c[1].metric("KV cache per device", fmt_bytes(g.kv_cache_bytes / tp),
                f"{fmt_bytes(g.kv_cache_bytes)} over {tp} devices" if tp > 1 else None, delta_color="off",
                delta_arrow="off", help="the whole sequences' cache, prompt + output tokens, reserved per batch")
    c[2].metric("Energy per token", with_band(g.energy_per_token_j, kind, fmt_energy))
    c[3].metric("Average power per device", f"{g.average_power_w / tp:.0f} W",
                f"{g.average_power_w:.0f} W for all {tp}" if tp > 1 else None, delta_color="off", delta_arrow="off")
    bound = {k: bound_label(str(v)) for k, v in dict(g.bottleneck).items()}
    st.caption(f"Bottleneck: prefill {bound.get('prefill', 'n/a')}, decode {bound.get('decode', 'n/a')} · "
               f"ran in {g.effective_precision or g.precision}")
    report.add_metrics(f"{g.workload} on {tp} x {device}", [
        ("TTFT", with_band(g.ttft_s, kind)), ("TPOT", with_band(g.tpot_s, kind)),
        ("Tokens/s per device", fmt_si(g.tokens_per_s / tp)), ("Cost per 1M output tokens", fmt_usd(cost)),
        ("Peak memory per device", f"{fmt_bytes(g.peak_memory_bytes)} ({fit})")])


def _apply_tp(n: int) -> None:
    st.session_state["gen_tp"] = n


def _not_fitting(sc: Scenario, k: dict[str, Any], g: Any) -> None:
    found = min_devices(sc, k["model"], sc.device, batch=k["batch"], prompt=k["prompt"], output=k["out"],
                        peak_bytes=g.peak_memory_bytes * k["tp"], capacity_bytes=g.memory_capacity_bytes)
    where = f"{k['tp']} x " if k["tp"] > 1 else ""
    msg = (f"**DOES NOT FIT** on {where}{sc.device}: needs {fmt_bytes(g.peak_memory_bytes)} per device, has "
           f"{fmt_bytes(g.memory_capacity_bytes)} (largest term: {g.memory_dominant.replace('_', ' ')}). "
           "The times below assume memory it does not have.")
    if found:
        n, o = found
        msg += f" **Minimum devices to fit: {n}** (tensor parallel {n}, {fmt_bytes(o.result.peak_memory_bytes)} each)."
    else:
        msg += " No tensor-parallel degree up to the model's heads fits: use fewer sequences or shorter ones."
    st.error(msg)
    if found and found[0] in tp_degrees(k["model"]):
        st.button(f"Use tensor parallel {found[0]}", key="gen_fit", on_click=_apply_tp, args=(found[0],))


def _comparison(sc: Scenario, k: dict[str, Any], outs: dict[str, Outcome]) -> None:
    rows = []
    for d, o in outs.items():
        row: dict[str, Any] = {"device": d}
        if o.ok:
            g = o.result
            cost, p = _cost(g, d, sc.cost_basis, k["tp"])
            row.update(ttft_s=g.ttft_s, tpot_s=g.tpot_s, tokens_per_s_per_device=g.tokens_per_s / k["tp"],
                       usd_per_million_tokens=cost, peak_memory_bytes_per_device=g.peak_memory_bytes,
                       capacity_bytes=g.memory_capacity_bytes, fits=bool(g.fits_in_memory),
                       energy_j_per_token=g.energy_per_token_j, precision=g.effective_precision or g.precision,
                       status="ok" if g.fits_in_memory else "does not fit")
        else:
            row.update(fits=False, status=o.error)
        rows.append(row)
    df = pd.DataFrame(rows)
    cols: list[Column] = [("device", "device", None), ("precision", "precision", None), ("ttft_s", "TTFT", fmt_time),
                          ("tpot_s", "TPOT", fmt_time), ("tokens_per_s_per_device", "tokens/s per device", fmt_si),
                          ("usd_per_million_tokens", "$ per 1M tokens", fmt_usd),
                          ("peak_memory_bytes_per_device", "memory / device", fmt_bytes),
                          ("capacity_bytes", "capacity", fmt_bytes), ("energy_j_per_token", "energy / token", fmt_energy),
                          ("status", "status", None)]
    st.subheader(f"On {len(outs)} devices (tensor parallel {k['tp']} each)")
    table(df, "Generation comparison", key="gen_cmp", columns=cols, infeasible=~df["fits"])


def _batch_sweep(sc: Scenario, k: dict[str, Any], where: Any) -> None:
    init("gen_sweep_max", 64, list(SWEEP_BATCHES))
    top = where.select_slider("Largest batch", list(SWEEP_BATCHES), key="gen_sweep_max")
    batches = [b for b in SWEEP_BATCHES if b <= top]
    rows, bar = [], where.progress(0.0, text="Batch sweep...")
    todo = [(d, b) for d in k["devices"] for b in batches]
    for i, (d, b) in enumerate(todo):
        o = _run(sc, k, d, batch=b, samples=4)
        bar.progress((i + 1) / len(todo), text=f"Batch sweep: {d} at batch {b}")
        if o.ok:
            g = o.result
            rows.append({"device": d, "batch": b, "tokens_per_s": g.tokens_per_s / k["tp"], "ttft_s": g.ttft_s,
                         "tpot_s": g.tpot_s, "fits": bool(g.fits_in_memory)})
    bar.empty()
    if rows:
        df = pd.DataFrame(rows)
        where.plotly_chart(tradeoff_figure(df), key="gen_tradeoff")
        where.caption("Larger batches raise throughput per device until memory or compute runs out, at the price of "
                      "longer first tokens and steps; crosses do not fit.")


def _details(sc: Scenario, k: dict[str, Any], g: Any) -> None:
    tabs, is_open = lazy_tabs(["Where the time goes", "Batch trade-off", "Decode over the context"], "gen_tabs")
    if is_open("Where the time goes"):
        mix = None
        if k["tp"] > 1:  # a tensor-parallel trace merges ops: split its compute by a one-device op mix
            m = _run(sc, k, sc.device, tp=1, samples=2)
            mix = m.result if m.ok else None
        b = phase_breakdown(g, mix)
        tabs["Where the time goes"].plotly_chart(phase_figure(b), key="gen_phases")
        tabs["Where the time goes"].dataframe(breakdown_table(b), hide_index=True)
        if mix is not None:
            tabs["Where the time goes"].caption("Compute split into GEMM, attention and other ops by one device's op "
                                                "mix (a tensor-parallel trace merges the ops between all-reduces).")
    if is_open("Batch trade-off"):
        _batch_sweep(sc, k, tabs["Batch trade-off"])
    if is_open("Decode over the context"):
        steps, mem = decode_figures(g.decode, g.memory_capacity_bytes)
        cc = tabs["Decode over the context"].columns(2)
        cc[0].plotly_chart(steps, key="gen_steps")
        cc[1].plotly_chart(mem, key="gen_mem")


def page_generate(sc: Scenario) -> None:
    """Use case, model, lengths, batch and tensor parallelism; generation on the sidebar device and others."""
    st.title("LLM generation")
    k = _controls(sc)
    preset_caption(k["preset"], k["prompt"], k["out"])
    context_warning(k["model"], k["prompt"], k["out"])
    where = f"{k['tp']} x {sc.device}" if k["tp"] > 1 else sc.device
    st.caption(f"{k['model']} on {where} · {sc.precision_label} · batch {k['batch']}")
    with st.spinner("Simulating generation..."):
        outs = {d: _run(sc, k, d) for d in k["devices"]}
    main = outs[sc.device]
    if not main.ok:
        st.error(f"{sc.device}: {main.error}")
    else:
        if main.note:
            st.info(main.note + ".")
        g = main.result
        if not g.fits_in_memory:
            _not_fitting(sc, k, g)
        _metrics(g, sc.device, g.prefill.kind, k["tp"], sc.cost_basis)
    if len(outs) > 1:
        _comparison(sc, k, outs)
    if main.ok:
        _details(sc, k, main.result)
        st.download_button("Generation JSON", main.result.to_json().encode(), "generation.json", "application/json",
                           key="dl_gen")
