"""LLM generation: prefill and decode of a decoder model (``simulator.generate``), shown when the API has it."""
from __future__ import annotations

from typing import Any

import streamlit as st

import simulator as sim
from explorer.charts import decode_figures
from explorer.format import BOUND_SHORT, fmt_bytes, fmt_si, fmt_time
from explorer.state import (TIME_LIMIT_S, Scenario, Upload, UploadError, is_system, upload_workload,
                            workload_table)
from explorer.views import show_any_result


@st.cache_data(show_spinner=False, max_entries=128)
def _generate(workload: str, upload_digest: str | None, _upload: Upload | None, hardware: str, batch_size: int,
              prompt_len: int, output_len: int, precision: str, tensor_parallel: int = 1,
              stack: str = "default") -> Any:
    wl = upload_workload(upload_digest, _upload) if _upload else workload
    extra: dict[str, Any] = {"stack": "default" if stack == "eager" else stack}  # eager host: one device only
    if tensor_parallel > 1 or is_system(sim.load_hardware(hardware)):
        extra.update(devices=tensor_parallel, parallelism=f"tp={tensor_parallel}")
    return sim.generate(wl, hardware, batch_size=batch_size, prompt_len=prompt_len, output_len=output_len,
                        precision=precision, time_limit_s=TIME_LIMIT_S, **extra)


def _text_workloads(sc: Scenario) -> tuple[list[str], int]:
    names = [w["name"] for w in workload_table() if w.get("task") == "text"] or [w["name"] for w in workload_table()]
    if sc.upload is not None:
        names = [sc.workload] + names
    pref = [sc.workload, "llama2-7b", "gpt2"]
    return names, next((names.index(p) for p in pref if p in names), 0)


def _generation_metrics(g: Any) -> None:
    c = st.columns(4)
    c[0].metric("Time to first token", fmt_time(g.ttft_s), help="the prefill of the prompt")
    c[1].metric("Time per output token", fmt_time(g.tpot_s), help="mean decode step")
    c[2].metric("Throughput (tokens/s)", fmt_si(g.tokens_per_s), help=f"over {fmt_time(g.total_time_s)} in all")
    fit = "fits" if g.fits_in_memory else "does NOT fit"
    c[3].metric("Peak memory", fmt_bytes(g.peak_memory_bytes), f"of {fmt_bytes(g.memory_capacity_bytes)} · {fit}",
                delta_color="normal" if g.fits_in_memory else "inverse", delta_arrow="off")
    c = st.columns(4)
    c[0].metric("KV cache", fmt_bytes(g.kv_cache_bytes), help=f"weights {fmt_bytes(g.weight_bytes)}")
    c[1].metric("Energy per token", f"{g.energy_per_token_j * 1e3:.3g} mJ")
    c[2].metric("Average power", f"{g.average_power_w:.0f} W")
    bound = {k: BOUND_SHORT.get(str(v), str(v).replace("_", " ")) for k, v in dict(g.bottleneck).items()}
    c[3].metric("Decode bottleneck", bound.get("decode", "n/a"), f"prefill: {bound.get('prefill', 'n/a')}",
                delta_color="off", delta_arrow="off")


def generation_view(g: Any) -> None:
    """Headline numbers and per-position decode charts of a GenerationResult."""
    _generation_metrics(g)
    samples = getattr(g, "decode", ())
    if samples:
        steps, mem = decode_figures(samples, g.memory_capacity_bytes)
        cc = st.columns(2)
        cc[0].plotly_chart(steps, key="gen_steps")
        cc[1].plotly_chart(mem, key="gen_mem")
    if hasattr(g, "to_json"):
        st.download_button("Generation JSON", g.to_json().encode(), "generation.json", "application/json",
                           key="dl_gen")


def page_generate(sc: Scenario) -> None:
    """Prompt and output lengths and batch for a decoder model on the sidebar device."""
    st.title("LLM generation")
    names, idx = _text_workloads(sc)
    c = st.columns(5)
    model = c[0].selectbox("Decoder model", names, index=idx, key="gen_model")
    prompt = c[1].number_input("Prompt tokens", 1, 131072, 512, key="gen_prompt")
    out = c[2].number_input("Generated tokens", 1, 131072, 128, key="gen_out")
    batch = c[3].number_input("Sequences in the batch", 1, 4096, 8, key="gen_batch")
    tp = c[4].number_input("Tensor-parallel devices", 1, 64, 1, key="gen_tp",
                           help="serve on this many devices of the sidebar's kind, the model split Megatron-style")
    where = f"{int(tp)} x {sc.device}" if tp > 1 else sc.device
    st.caption(f"{model} on {where} · {sc.precision}")
    upload = sc.upload if (sc.upload is not None and model == sc.workload) else None
    with st.spinner("Simulating generation..."):
        try:
            g = _generate(model, upload.digest if upload else None, upload, sc.device, int(batch), int(prompt),
                          int(out), sc.precision, int(tp), sc.stack)
        except (sim.SimulatorError, UploadError) as exc:
            st.error(str(exc))
            return
        except Exception as exc:
            st.error(f"generate: {type(exc).__name__}: {exc}")
            return
    if hasattr(g, "ttft_s"):
        generation_view(g)
    else:
        show_any_result(g, "gen")
