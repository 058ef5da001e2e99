"""The Streamlit explorer (app.py) driven headless with streamlit.testing.v1.AppTest.

Every page renders on its defaults without exceptions, every control changes what it should, bad
input is reported with st.error while the app keeps working, and each defect of issue 20 has its
test (search ``# defect``). Each test stays on a small workload where it can: AppTest runs are slow.
"""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

import simulator as sim

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
TIMEOUT = 90


def _module():
    """app.py imported as a module (its main() only runs as __main__)."""
    if "accsim_app" not in sys.modules:
        spec = importlib.util.spec_from_file_location("accsim_app", APP)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["accsim_app"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["accsim_app"]


def fresh(query: dict | None = None, **state) -> AppTest:
    """A new session (optionally opened on a URL's query ``query``, with ``state`` set before the first run)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if query:
        at.query_params.update(query)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def goto(at: AppTest, url_path: str) -> AppTest:
    """Switch to a page registered by st.navigation with a callable (AppTest.switch_page needs files)."""
    pages = at._registered_pages  # filled by the first run
    want = "" if url_path == "simulate" else url_path  # the default page has the bare URL
    hashes = [h for h, info in pages.items() if info.get("url_pathname") == want]
    assert hashes, f"page {url_path!r} not registered; have {[i.get('url_pathname') for i in pages.values()]}"
    at._page_hash = hashes[0]
    return at.run()


def metric(at: AppTest, label: str):
    found = [m for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return found[0]


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def no_errors(at: AppTest) -> None:
    ok(at)
    assert not at.error, [e.value for e in at.error]


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def chart(at: AppTest, title_start: str) -> dict:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [s for s in specs if s["layout"]["title"]["text"].startswith(title_start)]
    assert found, f"no chart {title_start!r}; have {chart_titles(at)}"
    return found[0]


def band_value(value: str) -> str:
    """The number of a headline value without its band: '48.3 ms (33.9-68.9)' -> '48.3 ms'."""
    return value.split(" (")[0]


@pytest.fixture(scope="module")
def home() -> AppTest:
    at = fresh()
    ok(at)
    return at


# -- every page renders with defaults ---------------------------------------------------------------------------


def test_default_page_shows_headline_metrics_with_bands(home):
    labels = {m.label for m in home.metric}
    for want in ("Step time", "Throughput (samples/s)", "Peak memory", "Energy per sample", "Average power",
                 "Cost per 1M samples", "Bottleneck", "Utilization"):
        assert want in labels
    assert not home.error, [e.value for e in home.error]
    r = sim.simulate("resnet50", "nvidia-h100-sxm", mode="training", batch_size=256)
    step = metric(home, "Step time").value
    assert band_value(step) == sim.readable.seconds(r.step_time_s)
    lo, hi = r.step_time_band_s
    # the band as a range after the number, in the number's unit: "48.3 ms (33.9-68.9)"
    assert step.endswith(f"({sim.readable.seconds(lo)[:-3]}-{sim.readable.seconds(hi)[:-3]})"), step
    assert metric(home, "Peak memory").delta.endswith("fits")
    assert len(home.download_button) >= 5  # comparison CSV, ops CSV, result JSON, Chrome trace, scenario, report
    assert {"Scenario JSON", "Report (HTML)", "Comparison CSV"} <= {b.label for b in home.download_button}


@pytest.mark.parametrize("url_path", ["what-if", "workload", "devices"])
def test_other_pages_render(url_path):
    at = goto(fresh(), url_path)
    no_errors(at)
    assert at.metric or at.dataframe, f"{url_path} shows nothing"


def test_every_page_is_registered():
    at = fresh()
    paths = {info.get("url_pathname") or "simulate" for info in at._registered_pages.values()}  # default: ""
    assert paths >= {"simulate", "what-if", "workload", "scale-out", "generate", "serve", "sweep", "devices",
                     "accuracy"}


def test_every_chart_tab_renders():
    at = fresh()
    titles = chart_titles(at)
    assert any(t.startswith("Roofline") for t in titles)
    for tab, want in (("Timeline", "Timeline of ops"), ("Memory", "Memory over time"), ("Power", "Power over time"),
                      ("Breakdowns", "Bottleneck breakdown")):
        at.session_state["tabs_sim"] = tab
        at.run()
        ok(at)
        assert any(t.startswith(want) for t in chart_titles(at)), (tab, chart_titles(at))
    at.session_state["tabs_sim"] = "Ops"
    at.run()
    ok(at)
    ops = max((d.value for d in at.dataframe), key=len)
    assert len(ops) > 100 and "duration (µs)" in ops.columns  # the per-op table, in display units


# -- every control changes what it should ----------------------------------------------------------------------


def test_changing_the_device_changes_the_headline():
    at = fresh()
    before = metric(at, "Step time").value
    at.selectbox(key="device").set_value("nvidia-a100-sxm-80gb").run()
    ok(at)
    assert metric(at, "Step time").value != before


def test_batch_size_precision_mode_and_optimizer_change_the_headline():
    at = fresh()
    seen = [metric(at, "Step time").value]
    for widget, value in ((at.number_input(key="batch_size"), 64), (at.selectbox(key="precision"), "fp32"),
                          (at.selectbox(key="optimizer"), "sgd"), (at.radio(key="mode"), "Inference batch")):
        widget.set_value(value).run()
        ok(at)
        seen.append(metric(at, "Step time").value)
    assert len(set(seen)) == len(seen), seen
    assert at.selectbox(key="optimizer").disabled


def test_software_stack_changes_the_headline():
    at = fresh(batch_size=1, mode="Inference batch")
    default = metric(at, "Step time").value
    at.selectbox(key="stack").set_value("PyTorch eager").run()
    ok(at)
    eager = metric(at, "Step time").value
    at.selectbox(key="stack").set_value("PyTorch torch.compile (Inductor, CUDA graphs)").run()
    ok(at)
    assert len({default, eager, metric(at, "Step time").value}) == 3


def test_cost_basis_changes_the_cost():
    at = fresh()
    cloud = metric(at, "Cost per 1M samples").value
    at.selectbox(key="cost_basis").set_value("owned").run()
    ok(at)
    owned = metric(at, "Cost per 1M samples").value
    assert owned != cloud and "3 years" in metric(at, "Cost per 1M samples").help


def test_workload_change_resets_shape_and_shows_seq_len():
    at = fresh()
    at.selectbox(key="workload").set_value("gpt2").run()
    ok(at)
    assert at.number_input(key="batch_size").value == sim.load_workload("gpt2").defaults["batch_size"]
    before = metric(at, "Throughput (tokens/s)").value
    at.number_input(key="seq_len").set_value(256).run()
    ok(at)
    assert metric(at, "Throughput (tokens/s)").value != before


def test_image_size_changes_the_headline():
    at = fresh()
    before = metric(at, "Step time").value
    at.number_input(key="image_size").set_value(160).run()
    ok(at)
    assert metric(at, "Step time").value != before


def test_comparison_devices_can_be_changed():
    at = fresh()
    pick = at.multiselect(key="compare")
    pick.set_value([]).run()
    ok(at)
    assert "Side by side, per device" not in [s.value for s in at.subheader]
    at.multiselect(key="compare").set_value(["nvidia-l4", "intel-xeon-platinum-8480"]).run()
    ok(at)
    assert "Side by side, per device" in [s.value for s in at.subheader]
    table = at.dataframe[0].value
    assert list(table["device"]) == ["H100 SXM5 80GB", "L4 24GB", "Xeon Platinum 8480+"] or len(table) == 3


def test_chooser_labels_are_whole_names_with_their_kind():  # defect 7: chips cut to "NVIDIA…"
    at = fresh()
    pick = at.multiselect(key="compare")
    assert len([m for m in at.multiselect if m.key and m.key.startswith("compare")]) == 1  # one full-width chooser
    for label in pick.options:
        kind, _, name = label.partition(" · ")
        assert kind in {"CPU", "GPU", "TPU", "FPGA", "ASIC", "SYSTEM"} and name and len(label) <= 72, label
        assert not name.startswith(("NVIDIA ", "AMD ", "Google ")), label  # the vendor is not repeated


# -- defect 1 and 2: the sweep never crowns what cannot run; every device on the chart ---------------------------


def test_sweep_ranks_nothing_when_nothing_fits():  # defect 1
    at = fresh(workload="llama2-7b", batch_size=1, seq_len=4096, sw_devices=["nvidia-h100-sxm", "nvidia-a100-sxm-80gb"],
               sw_batches="1, 8", sw_prec=["bf16"])
    goto(at, "sweep")
    ok(at)
    assert metric(at, "Points that fit").value == "0 of 4"
    assert not [m for m in at.metric if m.label.startswith(("Most", "Lowest"))]
    assert any("nothing is recommended" in e.value for e in at.error)
    table = at.dataframe[0].value
    assert table["why not / note"].str.startswith("does not fit").all()


def test_sweep_ranks_by_throughput_and_cost_per_unit_among_points_that_fit():  # defect 1
    at = fresh(workload="gpt2", mode="Inference batch", batch_size=8, seq_len=128,
               sw_devices=["nvidia-h100-sxm", "nvidia-a100-sxm-80gb"], sw_batches="1, 32", sw_prec=["native"])
    goto(at, "sweep")
    no_errors(at)
    # per step the batch of 1 is fastest and cheapest; per token the batch of 32 wins
    assert "batch 32" in metric(at, "Most tokens/s per device").delta
    assert "batch 32" in metric(at, "Lowest $ per 1M tokens").delta
    assert metric(at, "Lowest $ per 1M tokens").value.startswith("$")


def test_sweep_plots_every_device_priced_or_not():  # defect 2
    at = fresh(workload="mlp", mode="Inference batch", batch_size=64,
               sw_devices=["nvidia-h100-sxm", "amd-mi300x", "mit-eyeriss"], sw_batches="64", sw_prec=["native"])
    goto(at, "sweep")
    no_errors(at)
    fig = chart(at, "Design space")
    names = {t.get("name") for t in fig["data"] if t.get("x")}
    assert {"GPU · H100 SXM5 80GB", "GPU · Instinct MI300X 192GB", "ASIC · Eyeriss (v1, 65 nm)"} <= names, names
    # the research chip has no price: it is on the energy panel (x2/y2), not dropped
    eyeriss = [t for t in fig["data"] if t.get("name") == "ASIC · Eyeriss (v1, 65 nm)"]
    assert all(t.get("xaxis") == "x2" for t in eyeriss)


def test_sweep_batch_list_follows_a_new_workload():  # defect 7: stale batch list
    at = goto(fresh(), "sweep")
    assert at.text_input(key="sw_batches").value == "64, 128, 256"
    at.text_input(key="sw_batches").set_value("3, 5").run()
    at.selectbox(key="workload").set_value("mlp").run()
    ok(at)
    b = sim.load_workload("mlp").defaults["batch_size"]
    assert at.text_input(key="sw_batches").value == f"{max(1, b // 4)}, {max(1, b // 2)}, {b}"


# -- defect 4 and 6: one device's gap never blanks the page; systems compared per device ------------------------


def test_fpga_as_sidebar_device_runs_in_its_own_precision_and_keeps_the_others():  # defect 4
    at = fresh(mode="Inference batch", batch_size=8, precision="bf16", device="amd-zcu102")
    ok(at)
    assert metric(at, "Step time").value  # the FPGA's own headline, in int8
    assert any("no compute path for bf16" in i.value and "native int8" in i.value for i in at.info), \
        [i.value for i in at.info]
    assert len(at.dataframe[0].value) == 3  # the comparison devices still run
    at.radio(key="mode").set_value("Training step").run()  # the FPGA cannot train at all
    ok(at)
    assert any("amd-zcu102 cannot run this" in e.value for e in at.error)
    assert "Side by side, per device" in [s.value for s in at.subheader]
    assert "Most samples/s per device" in {m.label for m in at.metric}


def test_systems_are_compared_per_device():  # defect 6
    at = fresh(compare=["dgx-h100", "tpu-v4-pod"])
    no_errors(at)
    table = at.dataframe[0].value.set_index("device")
    dgx_name, pod = "DGX H100 (8 x H100 SXM5)", "TPU v4 pod (4,096 chips, 3D torus)"
    assert table.loc[dgx_name, "devices"] == 8 and table.loc[dgx_name, "batch / device"] == 256
    assert table.loc[pod, "devices"] == 4096 and table.loc[pod, "batch / device"] == 256
    assert (table["status"] == "ok").all()  # no "batch must be a multiple of 4096"
    # per device, a DGX is within a few % of one H100 (not "-80 %" for splitting the batch over 8)
    h100 = float(table.loc["H100 SXM5 80GB", "samples/s per device"].split()[0])
    dgx = float(table.loc[dgx_name, "samples/s per device"].split()[0])
    assert abs(dgx / h100 - 1) < 0.2, (h100, dgx)
    assert any("per device" in c.value for c in at.caption)


# -- defect 3 and 5: serving lengths and SLOs, generation's memory, energy, power, context, encoders -------------


def test_serving_uses_the_lengths_slos_and_tensor_parallelism_given():  # defect 3
    at = fresh(srv_model="gpt2", srv_prompt=256, srv_out=32, srv_n=60, srv_rate=20.0, srv_ttft=0.0, srv_tpot=0.0)
    goto(at, "serve")
    no_errors(at)
    assert any("256 prompt and 32 output tokens" in c.value for c in at.caption)
    ttft = metric(at, "TTFT p99").value
    assert metric(at, "SLO attainment").value == "n/a"
    # 960 tokens, not 384: GPT-2's prefill kernels at 256 and 384 tokens all sit at the H100's per-kernel floor
    at.number_input(key="srv_prompt").set_value(960).run()
    no_errors(at)
    assert metric(at, "TTFT p99").value != ttft
    at.number_input(key="srv_ttft").set_value(0.001).run()  # nobody gets a first token in 1 µs
    assert metric(at, "SLO attainment").value == "0.0%"
    at.selectbox(key="srv_tp").set_value(2).run()
    no_errors(at)
    assert any("2 x nvidia-h100-sxm" in c.value for c in at.caption)


def test_serving_runs_a_production_engine_scheduler():
    """The vLLM / SGLang / TensorRT-LLM policies (paged KV, chunked prefill) are a batching choice."""
    at = fresh(srv_model="gpt2", srv_prompt=256, srv_out=32, srv_n=60, srv_rate=20.0)
    goto(at, "serve")
    assert any("continuous batching" in c.value for c in at.caption)
    for engine in ("vllm", "sglang", "tensorrt-llm"):
        at.selectbox(key="srv_batching").set_value(engine).run()
        no_errors(at)
        assert any(f"{engine} scheduler" in c.value for c in at.caption), engine
        assert metric(at, "TTFT p99").value not in ("", "n/a"), engine


def test_serving_preset_fills_lengths_and_slos():
    at = goto(fresh(srv_model="gpt2", srv_n=60), "serve")
    at.selectbox(key="srv_preset").set_value("Code completion").run()
    ok(at)
    assert (at.number_input(key="srv_prompt").value, at.number_input(key="srv_out").value) == (1500, 13)
    assert (at.number_input(key="srv_ttft").value, at.number_input(key="srv_tpot").value) == (450.0, 40.0)
    assert any("Splitwise" in c.value for c in at.caption)


def test_generation_page_renders_and_follows_its_controls():
    at = fresh(gen_model="gpt2", gen_prompt=128, gen_out=16, gen_batch=4)
    goto(at, "generate")
    no_errors(at)
    before = metric(at, "Time to first token").value
    at.number_input(key="gen_prompt").set_value(256).run()
    no_errors(at)
    assert metric(at, "Time to first token").value != before
    one = metric(at, "Time per output token").value
    at.selectbox(key="gen_tp").set_value(2).run()  # gpt2's 12 heads split over 2 devices
    no_errors(at)
    assert metric(at, "Time per output token").value != one
    # per device, with the group's total beside it
    assert metric(at, "KV cache per device").delta.endswith("over 2 devices")
    assert metric(at, "Average power per device").delta.endswith("for all 2")
    assert "e+" not in metric(at, "Energy per token").value and "e-" not in metric(at, "Energy per token").value


def test_generation_that_does_not_fit_says_so_and_how_many_devices_would():  # defect 5
    at = fresh(gen_model="llama2-70b", gen_prompt=512, gen_out=16, gen_batch=4)
    goto(at, "generate")
    ok(at)
    box = " ".join(e.value for e in at.error)
    assert "DOES NOT FIT" in box and "Minimum devices to fit: 2" in box, box
    at.button(key="gen_fit").click().run()
    ok(at)
    assert at.selectbox(key="gen_tp").value == 2
    assert not any("DOES NOT FIT" in e.value for e in at.error)


def test_generation_warns_past_the_context_and_offers_only_decoders():  # defect 5
    at = fresh(workload="bert-base", gen_prompt=32768, gen_out=16, gen_batch=1)
    goto(at, "generate")
    ok(at)
    assert "bert-base" not in at.selectbox(key="gen_model").options  # an encoder is never preselected
    assert at.selectbox(key="gen_model").value == "llama2-7b"
    assert any("past llama2-7b's context of 4096" in w.value for w in at.warning)
    assert not any("/" in e.value for e in at.error)  # never a server path


def test_generation_compares_devices_breaks_time_down_and_sweeps_the_batch():
    at = fresh(gen_model="gpt2", gen_prompt=128, gen_out=8, gen_batch=2, gen_devices=["nvidia-a100-sxm-80gb"])
    goto(at, "generate")
    no_errors(at)
    table = at.dataframe[0].value
    assert list(table["device"]) == ["nvidia-h100-sxm", "nvidia-a100-sxm-80gb"]
    assert {"TTFT", "TPOT", "tokens/s per device", "$ per 1M tokens"} <= set(table.columns)
    fig = chart(at, "Where the time goes")
    cats = {t["x"][0] for t in fig["data"]}
    assert cats == {"GEMM", "attention", "other ops", "communication", "overhead"}
    prefill_gemm = next(t["y"][0] for t in fig["data"] if t["x"][0] == "GEMM" and t.get("xaxis", "x") == "x")
    assert prefill_gemm > 0
    at.session_state["gen_tabs"] = "Batch trade-off"
    at.session_state["gen_sweep_max"] = 4
    at.run()
    no_errors(at)
    trade = chart(at, "Latency vs throughput")
    assert len(trade["data"]) == 4  # TTFT and TPOT for each of the two devices
    assert all(len(t["x"]) == 3 for t in trade["data"])  # batches 1, 2, 4


def test_generation_preset_fills_the_lengths():
    at = goto(fresh(gen_model="gpt2"), "generate")
    at.selectbox(key="gen_preset").set_value("Batch offline").run()
    ok(at)
    assert (at.number_input(key="gen_prompt").value, at.number_input(key="gen_out").value,
            at.number_input(key="gen_batch").value) == (161, 338, 256)
    assert any("ShareGPT" in c.value for c in at.caption)


# -- defect 7, the smaller ones ---------------------------------------------------------------------------------


def test_no_micro_dollar_costs_anywhere(home):
    values = [m.value for m in home.metric] + [str(v) for d in home.dataframe for v in d.value.to_numpy().ravel()]
    assert not [v for v in values if re.search(r"\$0\.0000", v)]
    assert metric(home, "Cost per 1M samples").value.startswith("$")


def test_tables_read_in_units(home):
    table = home.dataframe[0].value
    assert table["peak memory / device"].str.endswith("GiB").all()
    assert table["step time"].str.endswith("ms").all()


def test_cpu_band_is_labelled_pooled():  # defect 7: the pooled band shown as the CPU's own
    if sim.validation_band("cpu") is None or sim.validation_band("cpu")["measured"]:
        pytest.skip("the CPU has a band of its own in this tree")
    at = fresh(device="intel-xeon-platinum-8480", batch_size=8, compare=[])
    ok(at)
    assert metric(at, "Step time").value.endswith(", pooled)")
    assert "pooled" in metric(at, "Step time").help
    at = goto(fresh(acc_kind="cpu"), "accuracy")
    assert metric(at, "Band for cpu results").value.endswith("(pooled)")


def test_accuracy_page_shows_the_rows_the_band_and_readable_ticks():  # defect 7: unreadable log ticks
    at = goto(fresh(), "accuracy")
    ok(at)
    if not sim.validation_rows():
        assert at.info, "without validation results the page says how to produce them"
        return
    assert metric(at, "Band for gpu results").value.startswith("x/÷")
    fig = chart(at, "Predicted / measured")
    assert fig["layout"]["yaxis"]["type"] == "log" and "1x" in fig["layout"]["yaxis"]["ticktext"]
    other = next(k for k in at.selectbox(key="acc_kind").options if k != "gpu")
    at.selectbox(key="acc_kind").set_value(other).run()
    ok(at)
    assert metric(at, f"Band for {other} results")


def test_unit_count_slider_counts_units_on_a_one_core_tpu():  # defect 7: the slider did nothing
    at = goto(fresh(device="google-tpu-v5e"), "what-if")
    ok(at)
    s = at.slider(key="s_unit_count")
    assert (s.value, s.min, s.max) == (1, 1, 4)
    base = metric(at, "Step time").value
    s.set_value(2).run()
    ok(at)
    assert metric(at, "Step time").value != base
    assert any("compute.cores_per_chip" in c.value for c in at.caption)


def test_whatif_compares_achieved_compute_not_utilisation():  # defect 7: utilisation deltas read as regressions
    at = goto(fresh(), "what-if")
    assert not metric(at, "Step time").delta  # unchanged device: no delta
    at.slider(key="s_clock").set_value(2.0).run()
    ok(at)
    achieved = metric(at, "Achieved compute")
    assert achieved.delta.startswith("+") and "own peak" in achieved.help
    assert "Utilization" not in {m.label for m in at.metric}


def test_whatif_sliders_move_the_metrics_against_the_unmodified_device():
    at = goto(fresh(), "what-if")
    base = metric(at, "Step time").value
    at.slider(key="s_bw").set_value(2.0).run()
    ok(at)
    faster = metric(at, "Step time")
    assert faster.value != base and faster.delta.startswith("-")
    power = metric(at, "Average power").value
    for key, value in (("s_clock", 0.5), ("s_units", 2.0), ("s_cap", 0.25), ("s_link", 2.0)):
        at.slider(key=key).set_value(value)
    at.slider(key="s_cap_w").set_value(at.slider(key="s_cap_w").min)
    at.run()
    no_errors(at)
    assert metric(at, "Step time").value != faster.value
    assert metric(at, "Average power").value != power


def test_scaleout_follows_the_layout_and_plots_efficiency():  # defect 7: the weak-scaling chart
    at = fresh(workload="gpt2", mode="Training step", batch_size=64, seq_len=256)
    goto(at, "scale-out")
    no_errors(at)
    before = metric(at, "Step time").value
    assert not [t for t in chart_titles(at) if t.startswith("Weak scaling")]  # drawn only on demand (slow at scale)
    at.session_state["so_tabs"] = "Weak scaling"
    at.run()
    fig = chart(at, "Weak scaling: efficiency")
    ys = fig["data"][0]["y"]
    assert max(ys) <= 100.5 and fig["layout"]["yaxis"]["title"]["text"] == "scaling efficiency (%)"
    at.number_input(key="so_tp").set_value(2).run()
    no_errors(at)
    assert metric(at, "Step time").value != before
    at.number_input(key="so_tp").set_value(3).run()  # 8 devices do not split into tp=3
    assert any("multiple of tensor" in e.value for e in at.error)


def test_system_device_on_every_page():
    at = fresh(device="dgx-h100", compare=[])
    no_errors(at)
    assert metric(at, "Throughput (samples/s per device)").value
    assert metric(at, "Average power per device").value.endswith("W")
    at.session_state["tabs_sim"] = "Power"
    at.run()
    ok(at)
    goto(at, "what-if")
    ok(at)
    assert at.slider(key="s_clock").disabled and not at.slider(key="s_link").disabled
    base = metric(at, "Step time").value
    at.slider(key="s_link").set_value(0.25).run()
    no_errors(at)
    assert metric(at, "Step time").value != base  # 8-way data parallel: the all-reduce slows down


# -- scenario A vs B, custom devices, sharing -------------------------------------------------------------------


def test_scenario_a_vs_b_on_one_device():
    at = fresh(cmp_mode="Scenario A vs B", b_precision="fp8", b_batch=64)
    no_errors(at)
    step = metric(at, "Step time")
    assert step.delta and step.delta.endswith("%")  # B against A
    table = at.dataframe[0].value
    assert len(table) == 2 and list(table["precision"]) == ["bf16", "fp8"]


def test_custom_device_from_numbers_is_usable_everywhere():
    at = goto(fresh(), "devices")
    at.text_input(key="cd_name").set_value("half-h100")
    at.number_input(key="cd_bw").set_value(1675.0)
    at.button[0].click()  # the form's submit button
    at.run()
    no_errors(at)
    assert any("Added half-h100" in s.value for s in at.success)
    assert "GPU · My accelerator (custom)" in at.selectbox(key="device").options
    at.selectbox(key="device").set_value("half-h100").run()
    goto(at, "simulate")
    no_errors(at)
    assert metric(at, "Step time").value and metric(at, "Cost per 1M samples").value.startswith("$")


def test_custom_device_yaml_upload_reports_the_field():
    at = goto(fresh(), "devices")
    text = sim.hardware_yaml("nvidia-l4").replace("name: nvidia-l4", "name: my-l4").replace("sm_count: 58",
                                                                                            "sm_count: -1")
    at.file_uploader(key="cd_yaml").set_value(("my-l4.yaml", text.encode(), "application/x-yaml")).run()
    ok(at)
    assert any("my-l4.yaml" in e.value and "compute.sm_count" in e.value for e in at.error), \
        [e.value for e in at.error]
    good = text.replace("sm_count: -1", "sm_count: 58")
    at.file_uploader(key="cd_yaml").set_value(("my-l4.yaml", good.encode(), "application/x-yaml")).run()
    ok(at)
    assert "GPU · L4 24GB (custom)" in at.selectbox(key="device").options


def test_a_copied_url_reproduces_the_page():
    at = fresh(workload="gpt2")
    at.number_input(key="batch_size").set_value(4).run()
    at.multiselect(key="compare").set_value(["nvidia-l4"]).run()
    goto(at, "generate")
    at.number_input(key="gen_prompt").set_value(200).run()
    at.number_input(key="gen_out").set_value(20).run()
    ok(at)
    url = dict(at.query_params)
    assert url["workload"] == "gpt2" and url["gen_prompt"] == "200"
    shown = metric(at, "Time to first token").value
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.query_params.update(url)
    again.run()
    goto(again, "generate")
    ok(again)
    assert again.number_input(key="gen_prompt").value == 200 and again.number_input(key="batch_size").value == 4
    assert metric(again, "Time to first token").value == shown
    bad = fresh({"batch_size": "lots", "device": "no-such-device", "precision": "fp3"})  # a mangled URL
    no_errors(bad)
    assert bad.number_input(key="batch_size").value == 256 and bad.selectbox(key="device").value == "nvidia-h100-sxm"


def test_a_scenario_file_round_trips():
    at = fresh(workload="mlp", batch_size=32, compare=["nvidia-l4"])
    ok(at)
    from explorer import share  # noqa: F401 - the format the share box writes
    scenario = {"accsim_scenario": 1, "page": "sweep",
                "values": {"workload": "mlp", "batch_size": 48, "sw_batches": "8, 16", "mode": "Inference batch"},
                "custom_devices": {}}
    other = fresh()
    other.file_uploader(key="scenario_file").set_value(("s.json", json.dumps(scenario).encode(), "application/json"))
    other.run()
    other.run()
    ok(other)
    assert other.number_input(key="batch_size").value == 48
    assert other.text_input(key="sw_batches").value == "8, 16"
    assert metric(other, "Points that fit")
    broken = fresh()
    broken.file_uploader(key="scenario_file").set_value(("x.json", b"{}", "application/json")).run()
    ok(broken)
    assert any("not an accsim scenario" in e.value for e in broken.error)


# -- bad input --------------------------------------------------------------------------------------------------


def test_bad_yaml_edit_shows_an_error_and_the_app_keeps_working():
    at = goto(fresh(), "what-if")
    area = at.text_area[0]
    good = area.value
    area.input(good + "\nbogus_key: 1\n").run()
    ok(at)
    assert any("bogus_key" in e.value for e in at.error), [e.value for e in at.error]
    at.text_area[0].input("name: [unclosed").run()
    ok(at)
    assert any("invalid YAML" in e.value for e in at.error)
    assert metric(at, "Step time").value  # still simulating the catalogue device
    edited = good.replace("bandwidth_gbs: 3350", "bandwidth_gbs: 1675")
    assert edited != good
    at.text_area[0].input(edited).run()
    no_errors(at)
    assert metric(at, "Step time").delta.startswith("+")
    assert any(b.label == "Download edited YAML" for b in at.download_button)


def test_bad_uploads_are_rejected_with_one_line_messages():
    app = _module()
    bad = [("x.onnx", b"\x00garbage"), ("x.yaml", b"name: [unclosed"), ("x.csv", b"a,b\n1"), ("x.exe", b"MZ"),
           ("x.yaml", b""), ("x.yaml", b"family: nope\nname: x\nsource: abc\nparams: {}\n")]
    for name, data in bad:
        with pytest.raises(app.UploadError) as info:
            app.load_upload(name, data)
        assert "\n" not in str(info.value) and str(info.value).startswith(name)
    with pytest.raises(app.UploadError, match="limit"):
        app.load_upload("big.yaml", b"x" * (app.MAX_UPLOAD_BYTES + 1))


def test_good_upload_loads_and_leaves_no_file_behind():
    app = _module()
    wl = app.load_upload("mlp.yaml", (REPO / "workloads" / "mlp.yaml").read_bytes())
    assert wl.family == "mlp"
    assert not Path(wl.source).exists()  # the temporary directory is gone


def test_an_upload_with_a_long_or_odd_name_loads_by_its_suffix():
    """Issue #22: 300 x 'a' + '.yaml' raised an uncaught OSError; '....onnx' was parsed as YAML."""
    app = _module()
    yaml_bytes = (REPO / "workloads" / "mlp.yaml").read_bytes()
    assert app.load_upload("a" * 300 + ".yaml", yaml_bytes).family == "mlp"
    onnx_bytes = (REPO / "workloads" / "examples" / "mlp.onnx").read_bytes()
    assert app.load_upload("....onnx", onnx_bytes).family == "onnx"
    with pytest.raises(app.UploadError) as info:
        app.load_upload("....onnx", b"name: x\n")  # read as ONNX (and refused as one), never as YAML
    assert "ONNX" in str(info.value) and "\n" not in str(info.value)


def test_every_explorer_simulation_has_a_time_limit():
    _module()  # imports the explorer package
    assert 0 < sys.modules["explorer.state"].TIME_LIMIT_S <= 600
    sources = [p.read_text() for p in sorted((REPO / "explorer").glob("*.py"))] + \
        [p.read_text() for p in sorted((REPO / "explorer" / "pages").glob("*.py"))]
    calls = sum(src.count(f"sim.{fn}(") for src in sources for fn in ("simulate", "generate", "serve", "sweep"))
    limited = sum(src.count("time_limit_s=TIME_LIMIT_S") for src in sources)
    assert calls == limited >= 4  # simulate, generate, serve and the cluster run, all in explorer/calls.py


def test_upload_in_the_app_good_and_bad():
    at = fresh(wl_source="Upload a file")
    ok(at)
    at.file_uploader(key="upload").set_value(("broken.onnx", b"not an onnx model", "application/octet-stream")).run()
    ok(at)
    assert any("broken.onnx" in e.value for e in at.error), [e.value for e in at.error]
    at.file_uploader(key="upload").set_value(("mlp.yaml", (REPO / "workloads" / "mlp.yaml").read_bytes(),
                                              "application/x-yaml")).run()
    no_errors(at)
    assert metric(at, "Step time").value


def test_helpers():
    app = _module()
    assert app.overrides_key({"b": 1, "a": 2}) == app.overrides_key({"a": 2, "b": 1}) == (("a", 2), ("b", 1))
    hw = sim.load_hardware("nvidia-h100-sxm")
    ov = app.whatif_overrides(hw, {"clock": 2.0, "units": 1.0, "bandwidth": 0.5, "capacity": 1.0, "link": 2.0})
    assert ov["compute.clock_ghz"] == pytest.approx(2 * hw.compute.clock_ghz)
    assert ov["memory.hbm.bandwidth_gbs"] == pytest.approx(hw.main_memory.bandwidth_gbs / 2)
    v5e = sim.load_hardware("google-tpu-v5e")
    assert app.whatif_overrides(v5e, {"clock": 1, "units": 1, "unit_count": 3, "bandwidth": 1, "capacity": 1,
                                      "link": 1}) == {"compute.cores_per_chip": 3}
    r = sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64)
    xs, ys = app.power_series(r, hw.power.idle_w)
    assert xs == sorted(xs) and min(ys) >= hw.power.idle_w and xs[-1] == pytest.approx(r.step_time_s)
    # $2.99 per hour, one device, 64 samples per step: per million samples
    assert app.per_million(2.99, 1, r.step_time_s, 64) == pytest.approx(2.99 * r.step_time_s / 3600 / 64 * 1e6)
    assert app.fmt_usd(5.22e-5) == "$0.0000522" and app.fmt_usd(None) == "n/a"
    fig = app.roofline_figure(r, hw)
    assert any(t.mode == "markers" for t in fig.data)


def test_favicon_is_drawn_locally():  # defect 7: the favicon was fetched from outside
    png = _module().main.__globals__["favicon"]()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_weight_format_runs_mixed_precision_and_weight_only_quantization():
    at = fresh(mode="Inference batch", batch_size=1, precision="fp16", device="nvidia-v100-sxm2")
    ok(at)
    fp16 = band_value(metric(at, "Step time").value)
    at.selectbox(key="stack").set_value("PyTorch eager").run()
    eager = band_value(metric(at, "Step time").value)
    at.selectbox(key="weight_precision").set_value("fp32").run()  # torch.autocast: a cast kernel per weighted op
    no_errors(at)
    amp = band_value(metric(at, "Step time").value)
    assert amp != eager and fp16 != eager
    assert at.query_params.get("weight_precision") == "fp32"
    again = fresh(dict(at.query_params))  # the URL carries the weight format
    assert band_value(metric(again, "Step time").value) == amp


def test_weight_format_on_a_device_without_the_precision_falls_back_to_its_native_format():
    at = fresh(mode="Inference batch", batch_size=8, device="amd-zcu102", precision="bf16", weight_precision="int4")
    ok(at)
    assert metric(at, "Step time").value
    assert any("native int8" in i.value for i in at.info), [i.value for i in at.info]
