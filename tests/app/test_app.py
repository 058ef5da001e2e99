"""The Streamlit explorer (app.py) driven headless with streamlit.testing.v1.AppTest.

Every page renders on its defaults without exceptions, every control changes what it should, bad
YAML edits and bad uploads are reported with st.error while the app keeps working.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

import simulator as sim

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
TIMEOUT = 60


def _module():
    """app.py imported as a module (its main() only runs as __main__)."""
    if "accsim_app" not in sys.modules:
        spec = importlib.util.spec_from_file_location("accsim_app", APP)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["accsim_app"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["accsim_app"]


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    return at.run()


def goto(at: AppTest, url_path: str) -> AppTest:
    """Switch to a page registered by st.navigation with a callable (AppTest.switch_page needs files)."""
    pages = at._registered_pages  # filled by the first run
    hashes = [h for h, info in pages.items() if info.get("url_pathname") == url_path]
    assert hashes, f"page {url_path!r} not registered; have {[i.get('url_pathname') for i in pages.values()]}"
    at._page_hash = hashes[0]
    return at.run()


def metric(at: AppTest, label: str):
    found = [m for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return found[0]


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture(scope="module")
def home() -> AppTest:
    at = fresh()
    ok(at)
    return at


# -- every page renders with defaults ---------------------------------------------------------------------------


def test_default_page_shows_headline_metrics_with_no_input(home):
    labels = {m.label for m in home.metric}
    for want in ("Step time", "Throughput (samples/s)", "Peak memory", "Energy per step", "Average power",
                 "Cloud cost per step", "Bottleneck", "Utilization"):
        assert want in labels
    assert not home.error, [e.value for e in home.error]
    r = sim.simulate("resnet50", "nvidia-h100-sxm", mode="training", batch_size=256, precision="bf16")
    assert metric(home, "Step time").value == _module().fmt_time(r.step_time_s)
    assert metric(home, "Peak memory").delta.endswith("fits")
    # one or two comparison devices side by side, with deltas against the sidebar device
    side_by_side = [m for m in home.metric if m.delta and m.delta.endswith("%") and m.label not in labels - {m.label}]
    assert len(home.multiselect) >= 1 and sum(len(ms.value) for ms in home.multiselect) >= 1
    assert side_by_side
    assert len(home.download_button) >= 3  # ops CSV, result JSON, Chrome trace


@pytest.mark.parametrize("url_path", ["what-if", "workload"])
def test_other_pages_render(url_path):
    at = goto(fresh(), url_path)
    ok(at)
    assert at.metric, f"{url_path} shows no metrics"
    assert not at.error, [e.value for e in at.error]


@pytest.mark.skipif(not hasattr(sim, "generate"), reason="simulator.generate not in this tree")
def test_generation_page_renders():
    at = fresh()
    at.session_state["gen_model"] = "gpt2"  # small: keeps the suite fast
    goto(at, "generate")
    ok(at)
    assert not at.error, [e.value for e in at.error]
    before = metric(at, "Time to first token").value
    at.number_input(key="gen_prompt").set_value(256).run()
    ok(at)
    assert metric(at, "Time to first token").value != before
    one = metric(at, "Time per output token").value
    at.number_input(key="gen_tp").set_value(2).run()  # gpt2's 12 heads split over 2 devices
    ok(at)
    assert not at.error, [e.value for e in at.error]
    assert metric(at, "Time per output token").value != one


def test_scaleout_page_renders_and_follows_the_layout():
    at = fresh()
    at.selectbox(key="workload").set_value("gpt2").run()
    at.radio(key="mode").set_value("Training step").run()
    at.number_input(key="batch_size").set_value(64).run()
    at.number_input(key="seq_len").set_value(256).run()
    goto(at, "scale-out")
    ok(at)
    assert not at.error, [e.value for e in at.error]
    before = metric(at, "Step time").value
    assert metric(at, "Scaling efficiency").value.endswith("%")
    assert at.get("plotly_chart"), "the weak-scaling curve is drawn"
    at.number_input(key="so_tp").set_value(2).run()
    ok(at)
    assert not at.error, [e.value for e in at.error]
    assert metric(at, "Step time").value != before
    at.number_input(key="so_tp").set_value(3).run()  # 8 devices do not split into tp=3
    assert any("multiple of tensor" in e.value for e in at.error)


@pytest.mark.skipif(not hasattr(sim, "serve"), reason="simulator.serve not in this tree")
def test_serving_page_renders():
    at = goto(fresh(), "serve")
    ok(at)
    assert not at.error, [e.value for e in at.error]
    before = metric(at, "Latency p99").value
    at.number_input(key="srv_rate").set_value(2000.0)
    at.number_input(key="srv_slo").set_value(5.0)
    at.run()
    ok(at)
    assert metric(at, "Latency p99").value != before
    assert metric(at, "SLO attainment").value.endswith("%")


@pytest.mark.skipif(not hasattr(sim, "sweep"), reason="simulator.sweep not in this tree")
def test_sweep_page_renders():
    at = goto(fresh(), "sweep")
    ok(at)


def test_optional_pages_follow_the_api():
    at = fresh()
    paths = {info.get("url_pathname") for info in at._registered_pages.values()}
    for fn, path in (("generate", "generate"), ("serve", "serve"), ("sweep", "sweep")):
        assert (path in paths) == hasattr(sim, fn)


def test_optional_pages_render_against_a_stand_in_api(monkeypatch):
    """Pages for API that other modules add work (or fail politely) whatever those return."""
    import pandas as pd

    def serve(workload, hardware, *, arrival_rate=1.0, num_requests=10, precision="bf16"):
        return {"p50_latency_s": 0.1 * arrival_rate, "requests": num_requests, "hardware": hardware}

    def sweep(workload, space, *, mode="training", executor=None, progress=True):
        return pd.DataFrame([{"hardware": h, "batch_size": b, "precision": p, "step_time_s": 0.001 * b,
                              "cost_usd": 1e-6 * b, "status": "ok"}
                             for h in space["hardware"] for b in space["batch_size"] for p in space["precision"]])

    missing = [n for n, fn in (("serve", serve), ("sweep", sweep)) if not hasattr(sim, n)]
    if not missing:
        pytest.skip("serve and sweep both exist; their real pages are tested above")
    for name in missing:
        monkeypatch.setattr(sim, name, locals()[name], raising=False)
    at = fresh()
    for path in missing:
        goto(at, path)
        ok(at)
        assert at.metric or at.json


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_every_chart_tab_renders():
    at = fresh()
    titles = chart_titles(at)
    assert any(t.startswith("Roofline") for t in titles)
    assert "Bottleneck breakdown" in titles and "Memory breakdown at peak vs capacity" in titles
    for tab, want in (("Timeline", "Timeline of ops"), ("Memory", "Memory over time"), ("Power", "Power over time"),
                      ("Breakdowns", "Bottleneck breakdown")):
        at.session_state["tabs_sim"] = tab
        at.run()
        ok(at)
        assert any(t.startswith(want) for t in chart_titles(at)), (tab, chart_titles(at))
    at.session_state["tabs_sim"] = "Ops"
    at.run()
    ok(at)
    assert any(len(d.value) > 100 for d in at.dataframe)  # the per-op table


# -- every control changes what it should ----------------------------------------------------------------------


def test_changing_the_device_changes_the_headline(home):
    at = fresh()
    before = metric(at, "Step time").value
    other = next(h["name"] for h in sim.list_hardware() if h["name"] != "nvidia-h100-sxm")
    at.selectbox(key="device").set_value(other).run()
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
    at = fresh()
    at.number_input(key="batch_size").set_value(1).run()
    at.radio(key="mode").set_value("Inference batch").run()
    default = metric(at, "Step time").value
    at.selectbox(key="stack").set_value("PyTorch eager").run()
    ok(at)
    eager = metric(at, "Step time").value
    at.selectbox(key="stack").set_value("PyTorch torch.compile (Inductor, CUDA graphs)").run()
    ok(at)
    assert len({default, eager, metric(at, "Step time").value}) == 3


def test_infeasible_device_is_an_error_not_a_crash():
    """A device without a compute path for the precision is reported inline; others still compare."""
    rows = sim.list_hardware()
    fpga = next((h["name"] for h in rows if h["kind"] == "fpga"), None)
    if fpga is None:
        pytest.skip("no FPGA spec bundled")
    at = fresh()
    at.selectbox(key="device").set_value(fpga).run()
    ok(at)
    try:
        sim.simulate("resnet50", fpga, mode="training", batch_size=256, precision="bf16")
    except sim.SimulatorError as exc:
        assert any(fpga in e.value for e in at.error), [e.value for e in at.error]
        assert str(exc).split(":")[0] in " ".join(e.value for e in at.error)
    else:
        assert metric(at, "Step time").value


def test_system_device_on_every_page():
    systems = [h["name"] for h in sim.list_hardware() if h["kind"] == "system"]
    if "dgx-h100" not in systems:
        pytest.skip("no dgx-h100 system spec bundled")
    at = fresh()
    before = metric(at, "Step time").value
    at.selectbox(key="device").set_value("dgx-h100").run()
    ok(at)
    assert metric(at, "Step time").value != before
    at.session_state["tabs_sim"] = "Power"
    at.run()
    ok(at)
    goto(at, "what-if")
    ok(at)
    assert at.slider(key="s_clock").disabled and not at.slider(key="s_link").disabled
    base = metric(at, "Step time").value
    at.slider(key="s_link").set_value(0.25).run()
    ok(at)
    assert metric(at, "Step time").value != base  # 8-way data parallel: the all-reduce slows down
    assert not at.error, [e.value for e in at.error]


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
    pickers = [ms for ms in at.multiselect if ms.key and ms.key.startswith("compare_")]
    assert {ms.key for ms in pickers} >= {"compare_gpu"}
    for ms in pickers:
        ms.set_value([])
    at.run()
    ok(at)
    assert "Side by side" not in [s.value for s in at.subheader]
    gpu = at.multiselect(key="compare_gpu")
    gpu.set_value([n for n in gpu.options if n != "nvidia-h100-sxm"][:2]).run()
    ok(at)
    assert "Side by side" in [s.value for s in at.subheader]
    # a device of another kind, if any is bundled
    other = [ms for ms in at.multiselect if ms.key and ms.key.startswith("compare_") and ms.key != "compare_gpu"]
    if other and other[0].options:
        other[0].set_value(other[0].options[:1]).run()
        ok(at)
        assert len([m for m in at.metric if m.delta and m.delta.endswith("%")]) >= 3


def test_whatif_sliders_move_the_metrics_against_the_unmodified_device():
    at = goto(fresh(), "what-if")
    assert not metric(at, "Step time").delta  # unchanged device: no delta
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
    ok(at)
    assert metric(at, "Step time").value != faster.value
    assert metric(at, "Average power").value != power
    assert not at.error, [e.value for e in at.error]


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
    # a valid edit is simulated: halve HBM bandwidth
    edited = good.replace("bandwidth_gbs: 3350", "bandwidth_gbs: 1675")
    assert edited != good
    at.text_area[0].input(edited).run()
    ok(at)
    assert not at.error
    assert metric(at, "Step time").delta.startswith("+")
    assert any(b.label == "Download edited YAML" for b in at.download_button)


# -- uploads --------------------------------------------------------------------------------------------------


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


def test_good_upload_loads_and_leaves_no_file_behind(tmp_path):
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
    sources = [(REPO / "explorer" / "state.py").read_text()] + \
        [p.read_text() for p in sorted((REPO / "explorer" / "pages").glob("*.py"))]
    calls = sum(src.count(f"sim.{fn}(") for src in sources for fn in ("simulate", "generate", "serve", "sweep"))
    limited = sum(src.count("time_limit_s=TIME_LIMIT_S") for src in sources)
    assert calls == limited >= 5


def test_upload_in_the_app_good_and_bad():
    at = fresh()
    at.radio(key="wl_source").set_value("Upload a file").run()
    ok(at)
    uploader = at.file_uploader(key="upload")
    uploader.set_value(("broken.onnx", b"not an onnx model", "application/octet-stream")).run()
    ok(at)
    assert any("broken.onnx" in e.value for e in at.error), [e.value for e in at.error]
    at.file_uploader(key="upload").set_value(("mlp.yaml", (REPO / "workloads" / "mlp.yaml").read_bytes(),
                                              "application/x-yaml")).run()
    ok(at)
    assert not at.error, [e.value for e in at.error]
    assert metric(at, "Step time").value


def test_helpers():
    app = _module()
    assert app.overrides_key({"b": 1, "a": 2}) == app.overrides_key({"a": 2, "b": 1}) == (("a", 2), ("b", 1))
    hw = sim.load_hardware("nvidia-h100-sxm")
    ov = app.whatif_overrides(hw, {"clock": 2.0, "units": 1.0, "bandwidth": 0.5, "capacity": 1.0, "link": 2.0})
    assert ov["compute.clock_ghz"] == pytest.approx(2 * hw.compute.clock_ghz)
    assert ov["memory.hbm.bandwidth_gbs"] == pytest.approx(hw.main_memory.bandwidth_gbs / 2)
    assert sim.load_hardware("nvidia-h100-sxm", ov).compute.clock_ghz == pytest.approx(2 * hw.compute.clock_ghz)
    r = sim.simulate("mlp", "nvidia-h100-sxm", batch_size=64)
    xs, ys = app.power_series(r, hw.power.idle_w)
    assert xs == sorted(xs) and min(ys) >= hw.power.idle_w and xs[-1] == pytest.approx(r.step_time_s)
    assert app.cost_per_step(r, hw) == pytest.approx(hw.price.cloud_usd_per_hour * r.step_time_s / 3600)
    assert app.fmt_usd(5.22e-5) == "$0.0000522" and app.fmt_usd(None) == "n/a"
    fig = app.roofline_figure(r, hw)
    assert any(t.mode == "markers" for t in fig.data)


def test_accuracy_page_shows_the_validation_rows_and_the_band():
    at = goto(fresh(), "accuracy")
    ok(at)
    if not sim.validation_rows():
        assert at.info, "without validation results the page says how to produce them"
        return
    assert metric(at, "Band for gpu results").value.startswith("x/÷")
    assert len(at.dataframe) >= 2 and at.get("plotly_chart")
    kinds = at.selectbox(key="acc_kind").options
    assert "gpu" in kinds
    other = next(k for k in kinds if k != "gpu")
    at.selectbox(key="acc_kind").set_value(other).run()
    ok(at)
    assert metric(at, f"Band for {other} results")
