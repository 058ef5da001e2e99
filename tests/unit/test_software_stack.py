"""Software stacks: eager host dispatch in the engine, compiled pointwise fusion, validation of the option."""
from __future__ import annotations

import re

import pytest

import simulator as sim
from simulator.cost.base import Numerics
from simulator.cost.dispatch import op_cost
from simulator.engine.run import DeviceRun, run_device
from simulator.errors import ScenarioError
from simulator.errors import SpecError
from simulator.scenario import fuses_pointwise, make_scenario
from simulator.spec.loader import load_hardware
from simulator.spec.stack import STACK_ROOT, list_stacks, load_stack
from simulator.units import Precision
from simulator.workload.loader import load_workload

EAGER_DISPATCH_US = load_stack("eager").host_dispatch_us


def _chain_run(dispatch_s: float):
    g = load_workload("mlp").build(batch_size=64)  # a chain of ops
    hw = load_hardware("nvidia-h100-sxm")
    costs = {n: op_cost(g.op(n), hw, Numerics(Precision.BF16, Precision.BF16)) for n in g.order}
    trace = run_device(DeviceRun(device="d", graph=g, costs=costs, out_bytes={n: 0.0 for n in g.order},
                                 scratch_bytes={n: 0.0 for n in g.order}, static_bytes=0.0, dispatch_s=dispatch_s))
    return g, costs, trace


def test_a_slow_host_paces_the_device_by_hand():
    g, costs, trace = _chain_run(1.0)  # every op far shorter than a second of dispatch
    n = len(g.order)
    assert trace.end_s == pytest.approx(n * 1.0 + costs[g.order[-1]].duration_s)


def test_a_fast_host_only_delays_the_first_op():
    g, costs, trace = _chain_run(1e-9)
    assert trace.end_s == pytest.approx(1e-9 + sum(c.duration_s for c in costs.values()))


def test_eager_batch_one_is_host_bound_and_large_batch_hides_the_host():
    kw = dict(precision="fp16")
    small = sim.simulate("resnet50", "nvidia-a100-sxm-40gb", batch_size=1, stack="eager", **kw)
    assert small.bottleneck == "host"
    assert small.step_time_s >= small.summary["op_count"] * EAGER_DISPATCH_US * 1e-6
    big_eager = sim.simulate("resnet50", "nvidia-a100-sxm-40gb", batch_size=256, stack="eager", **kw)
    big = sim.simulate("resnet50", "nvidia-a100-sxm-40gb", batch_size=256, **kw)
    assert big_eager.step_time_s == pytest.approx(big.step_time_s, rel=0.01)
    slower_host = sim.simulate("resnet50", "nvidia-a100-sxm-40gb", batch_size=1, stack="eager", dispatch_us=50, **kw)
    assert slower_host.step_time_s > small.step_time_s


def test_compiled_inference_fuses_pointwise_ops_and_is_never_slower():
    default = sim.simulate("resnet50", "nvidia-t4", batch_size=64, precision="fp16")
    compiled = sim.simulate("resnet50", "nvidia-t4", batch_size=64, precision="fp16", stack="compiled")
    assert compiled.summary["op_count"] < default.summary["op_count"]
    assert compiled.step_time_s < default.step_time_s
    assert compiled.extra["stack"] == "compiled"
    # training keeps its per-op passes
    t_default = sim.simulate("resnet50", "nvidia-t4", mode="training", batch_size=16, precision="fp16")
    t_compiled = sim.simulate("resnet50", "nvidia-t4", mode="training", batch_size=16, precision="fp16",
                              stack="compiled")
    assert t_compiled.summary["op_count"] == t_default.summary["op_count"]


def test_bad_stacks_are_refused():
    with pytest.raises(ScenarioError, match="stack: unknown"):
        make_scenario(stack="jit")
    with pytest.raises(ScenarioError, match="dispatch_us"):
        make_scenario(stack="eager", dispatch_us=-1)
    with pytest.raises(ScenarioError, match="one device"):
        sim.simulate("gpt2", "dgx-h100", mode="training", batch_size=16, seq_len=128, stack="eager")


NAMED = ("tensorrt", "torch-eager", "torch-compile", "tf-graph", "xla", "openvino", "onednn", "vitis-ai", "neuron",
         "tflite")


def test_every_named_stack_is_bundled_with_a_source():
    names = {s["name"] for s in list_stacks()}
    assert set(NAMED) | {"default", "eager", "compiled"} <= names
    for name in names:
        st = load_stack(name)
        assert st.name == name and len(st.source) > 20
        if st.host_dispatch_us and "ESTIMATE" not in st.source:
            assert st.fitted_to, f"{name}: a fitted host time says what it was fitted to"


def test_a_stack_decides_fusion_dispatch_and_attention():
    trt = make_scenario(stack="tensorrt")
    assert fuses_pointwise(trt) and trt.fused_attention and trt.stack.host_dispatch_us == 0
    tf = make_scenario(stack="tf-graph")
    assert not fuses_pointwise(tf) and tf.fused_attention is False  # TF 1.x has no fused attention kernel
    assert make_scenario(stack="tf-graph", fused_attention=True).fused_attention  # the user's choice wins
    assert sim.simulate("mlp", "nvidia-t4", batch_size=1, stack="torch-eager").bottleneck == "host"


def test_inference_only_stacks_refuse_training():
    with pytest.raises(ScenarioError, match="tensorrt runs inference only"):
        make_scenario(mode="training", stack="tensorrt")


def test_a_stack_file_by_path_and_its_errors(tmp_path):
    text = (STACK_ROOT / "torch-eager.yaml").read_text()
    path = tmp_path / "mine.yaml"
    text = re.sub(r"^host_dispatch_us: .*$", "host_dispatch_us: 25.0", text, flags=re.M)
    path.write_text(text.replace("name: torch-eager", "name: mine").replace("host_dispatch_us: 25.0",
                                                                            "host_dispatch_us: 60"))
    assert make_scenario(stack=str(path)).stack.host_dispatch_us == 60
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("host_dispatch_us: 25.0", "host_dispatch_us: fast"))
    with pytest.raises(SpecError, match=re.escape(f"{bad}: host_dispatch_us")):
        load_stack(str(bad))



@pytest.mark.parametrize("key,value,fragment", [
    ("kernel_overhead_us", "-1", "greater than or equal to 0"),
    ("kernel_overhead_us", ".nan", "finite"),
    ("inputs_from_host", "maybe", "valid boolean"),
    ("norm_kernels", "[{workload: ''}]", "at least 1 character"),
    ("norm_kernels", "[{workload: bert-large, precisions: 5}]", "valid tuple"),
])
def test_bad_new_stack_fields_name_the_file_and_field(tmp_path, key, value, fragment):
    bad = tmp_path / "bad.yaml"
    bad.write_text((STACK_ROOT / "neuron.yaml").read_text() + f"\n{key}: {value}\n"
                   if key not in ("kernel_overhead_us", "inputs_from_host") else
                   re.sub(rf"^{key}: .*$", f"{key}: {value}", (STACK_ROOT / "neuron.yaml").read_text(), flags=re.M))
    with pytest.raises(SpecError) as exc:
        load_stack(str(bad))
    assert str(exc.value).startswith(f"{bad}: {key}") and fragment in str(exc.value)


def test_eager_stacks_run_the_attention_scale_and_mask_as_kernels_of_their_own():
    # DeepLearningExamples' BERT: scores / sqrt(d) and + mask, two element-wise kernels (torch-eager, tf-graph)
    eager = load_stack("torch-eager")
    assert eager.attention_score_passes == load_stack("tf-graph").attention_score_passes == 2
    assert load_stack("tensorrt").attention_score_passes == 0
    kw = dict(mode="inference", batch_size=8, seq_len=384, precision="fp16", fused_attention=False)
    with_passes = sim.simulate("bert-base", "nvidia-a100-sxm-80gb", stack=eager, **kw)
    without = sim.simulate("bert-base", "nvidia-a100-sxm-80gb", **kw,
                           stack=eager.model_copy(update={"attention_score_passes": 0}))
    # 12 layers x 12 heads x 384^2 scores x 8 sequences, each pass reading and writing 2 B
    extra = 12 * 12 * 384 * 384 * 8 * 2 * (2.0 + 2.0)
    moved = with_passes.ops.bytes_moved.sum() - without.ops.bytes_moved.sum()
    assert moved == pytest.approx(extra, rel=1e-9)
    assert with_passes.step_time_s > without.step_time_s


def test_the_generic_eager_stack_is_fitted_on_every_named_eager_stacks_rows():
    """`--stack eager` stands for an unnamed eager framework: its host time is the one fit over the named
    eager stacks' latency rows (validation.fit_stacks.fit_stacks), so its evidence is their union."""
    def ids(name):
        return set(load_stack(name).fitted_to.split(":", 1)[1].replace(" ", "").split(","))

    # (a stack fitted for its per-kernel gap, not a host time, is no eager stack: tensorrt-llm-0.6)
    named = [s["name"] for s in list_stacks() if s["name"] != "eager" and load_stack(s["name"]).fitted_to
             and load_stack(s["name"]).host_dispatch_us > 0]
    assert {"torch-eager", "tf-graph"} <= set(named)
    assert ids("eager") == set().union(*(ids(n) for n in named))
    times = [load_stack(n).host_dispatch_us for n in named]
    assert min(times) <= load_stack("eager").host_dispatch_us <= max(times)
