"""Power over time: the timeline integrates to the step energy, stays under a cap, and throttling is accounted."""
from __future__ import annotations

import pytest

import simulator as sim


@pytest.mark.parametrize("kw", [dict(workload="mlp", hardware="nvidia-t4", batch_size=64),
                                dict(workload="resnet18", hardware="nvidia-t4", batch_size=8, mode="training",
                                     image_size=64)])
def test_timeline_integrates_to_energy(kw):
    r = sim.simulate(**kw)
    df = r.power_timeline
    assert (df.power_w * df.duration_s).sum() == pytest.approx(r.energy_j, rel=1e-9)
    assert df.time_s.iloc[0] == 0.0 and df.end_s.iloc[-1] == pytest.approx(r.step_time_s)
    parts = df.idle_w + df.compute_w + df.memory_w + df.communication_w
    assert (parts - df.power_w).abs().max() < 1e-9
    assert df.idle_w.iloc[0] == pytest.approx(sim.load_hardware(kw["hardware"]).power.idle_w, rel=1e-12)
    assert r.energy_per_sample_j == pytest.approx(r.energy_j / kw["batch_size"])


def test_power_cap_bounds_power_and_throttled_fraction_is_added_time():
    free = sim.simulate("mlp", "nvidia-t4", batch_size=4096)
    capped = sim.simulate("mlp", "nvidia-t4", batch_size=4096, power_cap_w=20)
    assert free.power_timeline.power_w.max() > 20
    assert capped.power_timeline.power_w.max() <= 20 * (1 + 1e-9)
    assert free.power_timeline.power_w.max() <= 70 * (1 + 1e-9)  # the T4's own 70 W limit holds too
    # one compute stream: the time throttling added is exactly the difference of the two steps
    added = capped.step_time_s - free.step_time_s
    assert capped.throttled_fraction * capped.step_time_s - free.throttled_fraction * free.step_time_s \
        == pytest.approx(added, rel=1e-9)
    assert capped.to_dict()["throttled_fraction"] == capped.throttled_fraction
    # the same work: arithmetic and memory energy unchanged; idle over the longer step; active power
    # lowered in proportion to the cap, over the stretched ops
    hw = sim.load_hardware("nvidia-t4")
    f, c = free.extra["energy_breakdown_j"], capped.extra["energy_breakdown_j"]
    for key in f:
        if key not in ("idle", "active"):
            assert c[key] == pytest.approx(f[key], rel=1e-9), key
    assert c["idle"] == pytest.approx(hw.power.idle_w * capped.step_time_s)
    scale = (20 - hw.power.idle_w) / (hw.power.tdp_w - hw.power.idle_w)
    assert c["active"] == pytest.approx(hw.power.active_w * scale * capped.step_time_s, rel=1e-6)


def test_starved_device_shows_idle_power_while_waiting():
    r = sim.simulate("resnet18", "nvidia-h100-sxm", batch_size=64, image_size=64, input_workers=1)
    df = r.power_timeline
    idle = sim.load_hardware("nvidia-h100-sxm").power.idle_w
    tail = df[df.time_s >= r.input_pipeline["device_step_time_s"] - 1e-15]
    assert tail.power_w.to_numpy() == pytest.approx([idle] * len(tail), abs=1e-9)
    assert tail.end_s.iloc[-1] == pytest.approx(r.step_time_s)
    assert (df.power_w * df.duration_s).sum() == pytest.approx(r.energy_j, rel=1e-9)
