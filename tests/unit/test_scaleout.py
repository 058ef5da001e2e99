"""Scale-out: collectives by hand, pipeline bubbles, parallelism parsing, ZeRO memory, symmetry."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.cost.collectives import Algorithm, Collective, LinkModel, bus_bandwidth, collective_time_s
from simulator.engine.cluster import Fabrics, GroupShape, phases, run_cluster, schedule
from simulator.errors import ScenarioError
from simulator.parallel.layout import Parallelism, parse_parallelism
from simulator.parallel.plan import ClusterPlan, Segment, StagePlan

LINK = LinkModel(bandwidth_bps=100e9, latency_s=2e-6)


def test_two_gpu_ring_all_reduce_by_hand():
    # 2 ranks: 2 (n-1) = 2 steps of S/2 bytes: 2 * (2 us + 0.5 GB / 100 GB/s) = 10.004 ms
    t = collective_time_s(Collective.ALL_REDUCE, n=2, nbytes=1e9, link=LINK)
    assert t == pytest.approx(2 * (2e-6 + 0.5e9 / 100e9))


def test_ring_bus_bandwidth_tends_to_link_bandwidth():
    for n in (2, 8, 64):
        t = collective_time_s(Collective.ALL_REDUCE, n=n, nbytes=8 * 2**30, link=LINK)
        assert bus_bandwidth(n=n, nbytes=8 * 2**30, time_s=t) == pytest.approx(100e9, rel=0.01)
    small = collective_time_s(Collective.ALL_REDUCE, n=64, nbytes=1e3, link=LINK)
    assert bus_bandwidth(n=64, nbytes=1e3, time_s=small) < 1e9  # latency-bound


def test_other_collectives_by_hand():
    s = 8e9
    assert collective_time_s(Collective.ALL_GATHER, n=4, nbytes=s, link=LINK) == pytest.approx(3 * (2e-6 + s / 4 / 100e9))
    assert collective_time_s(Collective.ALL_TO_ALL, n=4, nbytes=s, link=LINK) == pytest.approx(3 * 2e-6 + 0.75 * s / 100e9)
    assert collective_time_s(Collective.P2P, n=2, nbytes=s, link=LINK) == pytest.approx(2e-6 + s / 100e9)
    assert collective_time_s(Collective.ALL_REDUCE, n=8, nbytes=s, link=LINK, algorithm=Algorithm.TREE) == \
        pytest.approx(6 * 2e-6 + 2 * s / 100e9)
    assert collective_time_s(Collective.ALL_REDUCE, n=1, nbytes=s, link=LINK) == 0.0


def test_hierarchical_all_reduce_is_pipelined_over_both_levels():
    fab = Fabrics(intra=LinkModel(400e9, 0.0), inter=LinkModel(50e9, 0.0), intra_energy_j_per_byte=0,
                  inter_energy_j_per_byte=0, groups={}, pipeline_link="inter")
    ph = phases(Collective.ALL_REDUCE, 8e9, GroupShape(intra=8, nodes=4), fab)
    intra = 2 * 7 * 1e9 / 400e9            # reduce-scatter + all-gather in the node
    inter = 2 * 3 * (1e9 / 4) / 50e9       # ring all-reduce of S/8 over 4 nodes
    assert ph == [(("intra", "inter"), pytest.approx(max(intra, inter) + min(intra, inter) / 8))]
    assert phases(Collective.ALL_REDUCE, 8e9, GroupShape(intra=8, nodes=1), fab)[0][0] == ("intra",)
    assert phases(Collective.ALL_REDUCE, 8e9, GroupShape(intra=1, nodes=4), fab)[0][0] == ("inter",)


def test_1f1b_schedule_order():
    assert schedule(3, 4, 4, "1f1b") == [("F", 0), ("B", 0), ("F", 1), ("B", 1), ("F", 2), ("B", 2), ("F", 3), ("B", 3)]
    assert schedule(0, 4, 4, "gpipe")[:4] == [("F", k) for k in range(4)]


def _uniform_plan(p: int, m: int, tf: float, tb: float) -> ClusterPlan:
    st = [StagePlan(stage=s, forward=(Segment(duration_s=tf, label="f"),), backward=(Segment(duration_s=tb, label="b"),),
                    optimizer=(), static_bytes={}, activation_bytes_per_microbatch=1.0, boundary_bytes=0.0, params=0)
          for s in range(p)]
    return ClusterPlan(stages=tuple(st), parallelism=Parallelism(pipeline=p), microbatches=m, microbatch_size=1)


@pytest.mark.parametrize("sched", ["1f1b", "gpipe"])
@pytest.mark.parametrize("p,m", [(4, 4), (4, 8), (2, 6)])
def test_pipeline_bubble_is_p_minus_1_over_m_plus_p_minus_1(p, m, sched):
    from dataclasses import replace

    plan = _uniform_plan(p, m, 1.0, 2.0)
    plan = replace(plan, parallelism=Parallelism(pipeline=p, schedule=sched))
    fab = Fabrics(intra=LINK, inter=None, intra_energy_j_per_byte=0, inter_energy_j_per_byte=0, groups={},
                  pipeline_link="intra")
    ct = run_cluster(plan, fab, device_name="d", training=True)
    assert ct.end_s == pytest.approx((m + p - 1) * 3.0, rel=1e-3)
    for st in ct.stats:
        idle = ct.end_s - st.busy_s
        assert idle / ct.end_s == pytest.approx((p - 1) / (m + p - 1), rel=1e-3)


@pytest.mark.parametrize("sched", ["1f1b", "gpipe"])
@pytest.mark.parametrize("m", [1, 4, 12])
def test_pipeline_bubble_fraction_of_4_stages_without_communication_is_the_schedule_formula(m, sched):
    from dataclasses import replace

    from simulator.run.cluster import _idle_fractions

    plan = replace(_uniform_plan(4, m, 1.0, 2.0), parallelism=Parallelism(pipeline=4, schedule=sched))
    fab = Fabrics(intra=LinkModel(bandwidth_bps=100e9, latency_s=0.0), inter=None, intra_energy_j_per_byte=0,
                  inter_energy_j_per_byte=0, groups={}, pipeline_link="intra")
    ct = run_cluster(plan, fab, device_name="d", training=True)
    idle = _idle_fractions(plan, ct, True)
    assert idle["pipeline_bubble_fraction"] == pytest.approx(3 / (m + 3))   # (p-1)/(m+p-1), by hand
    assert idle["exposed_communication_fraction"] == 0.0
    assert idle["other_idle_fraction"] == pytest.approx(0.0, abs=1e-12)


def test_schedule_idle_of_an_interleaved_pipeline_is_smaller_by_the_chunk_count():
    # Narayanan et al. (SC21), sec. 2.2: with v chunks per rank the bubble is (p-1)/v micro-batch times
    from simulator.engine.bubble import schedule_idle_s

    p, m, v = 4, 8, 2
    st = [StagePlan(stage=s, forward=(Segment(duration_s=0.5),), backward=(Segment(duration_s=1.0),),
                    optimizer=(), static_bytes={}, activation_bytes_per_microbatch=1.0, boundary_bytes=0.0, params=0)
          for s in range(p * v)]
    plan = ClusterPlan(stages=tuple(st), parallelism=Parallelism(pipeline=p, virtual_stages=v), microbatches=m,
                       microbatch_size=1)
    assert schedule_idle_s(plan, True) == pytest.approx([(p - 1) * 1.5] * p)


def test_idle_fractions_split_the_idle_time_of_a_real_pipeline():
    r = sim.simulate("gpt2", "dgx-h100", mode="training", batch_size=32, seq_len=256, devices=8,
                     parallelism="dp=2,pp=4", microbatches=8)
    busy = sum(d["busy_s"] for d in r.per_device) / len(r.per_device) / r.step_time_s
    parts = r.pipeline_bubble_fraction + r.exposed_communication_fraction + r.other_idle_fraction
    assert busy + parts == pytest.approx(1.0)
    assert r.bubble_fraction == r.pipeline_bubble_fraction
    assert 0.5 * 3 / 11 < r.pipeline_bubble_fraction < 1.5 * 3 / 11   # unequal stages: near (p-1)/(m+p-1)
    assert r.to_dict()["exposed_communication_fraction"] == r.exposed_communication_fraction


def test_1f1b_keeps_fewer_microbatches_in_flight_than_gpipe():
    from dataclasses import replace

    fab = Fabrics(intra=LINK, inter=None, intra_energy_j_per_byte=0, inter_energy_j_per_byte=0, groups={},
                  pipeline_link="intra")
    plan = _uniform_plan(4, 8, 1.0, 2.0)
    one = run_cluster(plan, fab, device_name="d", training=True)
    gp = run_cluster(replace(plan, parallelism=Parallelism(pipeline=4, schedule="gpipe")), fab, device_name="d",
                     training=True)
    assert one.stats[0].ledger.peak == 4.0  # stage 0 holds p micro-batches
    assert gp.stats[0].ledger.peak == 8.0   # GPipe holds all m


@pytest.mark.parametrize("value,msg", [
    ("dp=2,tp=2,pp=2", None), ({"data": 8}, None), ("dp=3,tp=2", "devices = 8"), ("dp=8,xx=1", "unknown key"),
    ("dp=8,zero=4", "zero_stage"), ("dp=8,schedule=zb", "schedule"), ("dp=a", "integer"), ("dp", "KEY=N"),
])
def test_parse_parallelism(value, msg):
    if msg is None:
        assert parse_parallelism(value, 8).devices == 8
    else:
        with pytest.raises(ScenarioError, match=msg):
            parse_parallelism(value, 8)


def test_zero_stages_never_grow_per_device_memory():
    peaks = []
    for z in range(4):
        r = sim.simulate("gpt2", "dgx-h100", mode="training", batch_size=16, seq_len=256,
                         parallelism={"data": 8, "zero_stage": z})
        peaks.append(r.per_device[0]["peak_memory_bytes"])
    assert peaks == sorted(peaks, reverse=True)
    assert peaks[3] < peaks[0]


def test_symmetric_shortcut_matches_full_simulation_on_small_clusters():
    for par in ("dp=8", "pp=4,dp=2", "tp=4,dp=2", "dp=2,tp=2,pp=2", "dp=2,tp=2,pp=2,vp=2"):
        kw = dict(mode="training", batch_size=16, seq_len=256, devices=8, parallelism=par)
        sym = sim.simulate("gpt2", "nvidia-h100-sxm", **kw)
        full = sim.simulate("gpt2", "nvidia-h100-sxm", symmetric=False, **kw)
        # identical when groups do not compete for a link; within 1% when they do (hold-and-wait)
        assert full.step_time_s == pytest.approx(sym.step_time_s, rel=0.01), par


def test_data_parallel_scaling_and_fields():
    one = sim.simulate("resnet50", "nvidia-a100-sxm-80gb", mode="training", batch_size=256)
    eight = sim.simulate("resnet50", "dgx-a100", mode="training", batch_size=8 * 256)
    assert eight.devices == 8
    assert 6.0 < eight.throughput_samples_per_s / one.throughput_samples_per_s <= 8.0
    assert 0.75 < eight.scaling_efficiency <= 1.0
    assert eight.bubble_fraction < 0.1
    assert {"busy_s", "idle_s", "communication_s", "peak_memory_bytes"} <= set(eight.per_device[0])


def test_more_devices_than_the_system_allows():
    with pytest.raises(ScenarioError, match="at most 128 nodes"):
        sim.simulate("gpt2", "h100-ib-cluster-1024", mode="training", batch_size=2048, seq_len=128, devices=2048)
    with pytest.raises(ScenarioError, match="tensor parallelism is modelled for transformer"):
        sim.simulate("resnet50", "dgx-h100", mode="training", batch_size=64, parallelism="tp=8")


def test_power_cap_throttling_is_reported_for_clusters():
    free = sim.simulate("resnet50", "nvidia-h100-sxm", mode="training", batch_size=64, devices=2)
    capped = sim.simulate("resnet50", "nvidia-h100-sxm", mode="training", batch_size=64, devices=2, power_cap_w=200)
    assert free.throttled_fraction == 0.0
    assert capped.step_time_s > free.step_time_s
    assert 0.0 < capped.throttled_fraction < 1.0


def test_cluster_refuses_a_precision_the_device_lacks():
    with pytest.raises(sim.InfeasibleError, match="no compute path for bf16"):
        sim.simulate("mlp", "google-edge-tpu", devices=2, precision="bf16")
