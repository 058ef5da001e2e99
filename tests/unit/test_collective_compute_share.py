"""A collective overlapped with the layers that also holds the device's compute stream for a share of
its link time (``efficiency.collective_compute_share``, fitted on the multi-chip TPU training rows)."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cost.collectives import Collective, LinkModel
from simulator.engine.cluster import Fabrics, GroupShape, run_cluster
from simulator.parallel.layout import Parallelism
from simulator.parallel.plan import ClusterPlan, Segment, StagePlan

LINK = LinkModel(bandwidth_bps=100e9, latency_s=0.0)


def _fab(share: float) -> Fabrics:
    return Fabrics(intra=LINK, inter=None, intra_energy_j_per_byte=0.0, inter_energy_j_per_byte=0.0,
                   groups={"zero": GroupShape(4, 1), "dp": GroupShape(4, 1), "tp": GroupShape(1, 1)},
                   pipeline_link="intra", compute_share=share)


def _plan(compute_s: float, gather_bytes: float, *, overlap: bool = True) -> ClusterPlan:
    # one forward pass: a weight gather issued beside a compute segment, waited for at the pass's end
    fwd = (Segment(collective=Collective.ALL_GATHER, group="zero", nbytes=gather_bytes, overlap=overlap, label="ag"),
           Segment(duration_s=compute_s, label="layer"))
    stage = StagePlan(stage=0, forward=fwd, backward=(), optimizer=(), static_bytes={},
                      activation_bytes_per_microbatch=0.0, boundary_bytes=0.0, params=0.0)
    return ClusterPlan(stages=(stage,), parallelism=Parallelism(data=4, zero_stage=3), microbatches=1,
                       microbatch_size=1)


def test_overlapped_gather_takes_its_share_from_the_compute_stream_by_hand():
    # ring all-gather of 4 GB over 4 ranks at 100 GB/s: 3 steps of 1 GB = 30 ms on the link.
    # share 0: the 50 ms layer hides it, step 50 ms. share 0.4: the stream first spends
    # 0.4 x 30 = 12 ms on the gather, then the 50 ms layer: 62 ms (the link finished at 30 ms).
    assert run_cluster(_plan(0.05, 4e9), _fab(0.0), device_name="d", training=False).end_s == pytest.approx(0.05)
    ct = run_cluster(_plan(0.05, 4e9), _fab(0.4), device_name="d", training=False)
    assert ct.end_s == pytest.approx(0.062)
    assert ct.stats[0].busy_s == pytest.approx(0.062)


def test_a_gather_longer_than_the_layer_still_bounds_the_pass():
    # 30 ms gather, 10 ms layer, share 0.5: stream 15 + 10 = 25 ms, the link ends at 30 ms: step 30 ms
    ct = run_cluster(_plan(0.01, 4e9), _fab(0.5), device_name="d", training=False)
    assert ct.end_s == pytest.approx(0.03)


def test_a_blocking_collective_is_not_charged_twice():
    # the stream already waits the whole 30 ms for a blocking gather: 30 + 50 = 80 ms whatever the share
    for share in (0.0, 0.7):
        ct = run_cluster(_plan(0.05, 4e9, overlap=False), _fab(share), device_name="d", training=False)
        assert ct.end_s == pytest.approx(0.08)


@settings(max_examples=25, deadline=None)
@given(a=st.floats(0.0, 1.0), b=st.floats(0.0, 1.0), compute=st.floats(1e-3, 0.2), nbytes=st.floats(1e6, 2e10))
def test_a_larger_share_never_makes_a_step_faster(a, b, compute, nbytes):
    lo, hi = sorted((a, b))
    t_lo = run_cluster(_plan(compute, nbytes), _fab(lo), device_name="d", training=False).end_s
    t_hi = run_cluster(_plan(compute, nbytes), _fab(hi), device_name="d", training=False).end_s
    assert t_hi >= t_lo - 1e-12
    # and never slower than running the collective and the layer one after the other
    serial = run_cluster(_plan(compute, nbytes, overlap=False), _fab(0.0), device_name="d", training=False).end_s
    assert t_hi <= serial + 1e-12


def test_the_share_reaches_a_simulated_tpu_step_and_zero_leaves_it_unchanged():
    import simulator as sim
    from simulator.spec.loader import load_hardware

    kw = dict(mode="training", batch_size=16, seq_len=128, devices=8, parallelism="dp=8,zero=3")
    hw = load_hardware("google-tpu-v5e")
    base = sim.simulate("gpt2", hw, **kw).step_time_s
    off = sim.simulate("gpt2", load_hardware("google-tpu-v5e", {"efficiency.collective_compute_share": 0.0}),
                       **kw).step_time_s
    on = sim.simulate("gpt2", load_hardware("google-tpu-v5e", {"efficiency.collective_compute_share": 1.0}),
                      **kw).step_time_s
    assert off <= base <= on
    assert off < on


def test_the_efficiency_block_writes_the_share_only_where_it_was_fitted():
    from validation.spec_writer import efficiency_block

    params = {"compute": 0.8, "memory": 0.8, "collective_compute_share": 0.0}
    assert "collective_compute_share" not in efficiency_block(params, {}, "f")
    assert "collective_compute_share: 0.4" in efficiency_block({**params, "collective_compute_share": 0.4}, {}, "f")


def test_fabrics_default_has_no_share():
    fab = replace(_fab(0.3), compute_share=0.0)
    assert Fabrics(intra=LINK, inter=None, intra_energy_j_per_byte=0.0, inter_energy_j_per_byte=0.0, groups={},
                   pipeline_link="intra").compute_share == 0.0 == fab.compute_share


@settings(max_examples=50, deadline=None)
@given(exp=st.integers(0, 13), three=st.booleans(), dims=st.integers(1, 3))
def test_a_slice_shape_holds_every_chip_on_the_torus_dimensions(exp, three, dims):
    from simulator.run.placement import slice_shape

    n = 2 ** exp * (3 if three else 1)
    shape = slice_shape(n, dims)
    assert len(shape) == dims and list(shape) == sorted(shape)
    prod = 1
    for s in shape:
        prod *= s
    assert prod == n
    if not three and dims > 1:
        assert shape[-1] <= 2 * shape[0]  # powers of two stay within a factor 2 of cubic


def test_a_single_slice_tpu_is_a_torus_of_its_dimensions_not_a_ring():
    # v5p-1024 = 512 chips = 8 x 8 x 8: a ring all-reduce crosses 7 + 7 + 7 = 21 neighbour steps per
    # half, not 511. With 1.5 us per step and 600 GB/s, an all-reduce of 512 KiB takes
    # 2 x (21 x 1.5 us + 511/512 x 524288 B / 600e9 B/s) = 2 x (31.5 + 0.8718) us = 64.74 us
    from simulator.cost.collectives import collective_time_s
    from simulator.run.placement import _link, implicit_system
    from simulator.spec.loader import load_hardware

    system = implicit_system(load_hardware("google-tpu-v5p"), 512)
    assert system.intra_node.dims == (8, 8, 8)
    link = replace(_link(system.intra_node), bandwidth_bps=600e9)
    t = collective_time_s(Collective.ALL_REDUCE, n=512, nbytes=524288, link=link)
    assert t == pytest.approx(2 * (21 * 1.5e-6 + 511 / 512 * 524288 / 600e9))
    assert implicit_system(load_hardware("google-tpu-v6e"), 256).intra_node.dims == (16, 16)
