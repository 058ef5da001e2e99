"""A multi-device run executes the graph a single device runs under the same stack: the stack's
fused regions, output scans and attention fusion limit apply on both paths (the data-parallel
replica of an inference batch does the same work as one device given its share of the batch)."""
import pytest

import simulator as sim

CASES = [
    # OpenVINO's int8 MHA is unfused past K 512 / N 256 (attention_fusion_limit): 2.4 % slower when applied
    ("bert-large", "openvino", "int8"),
    # Intel's MLPerf harness scans every class logit once per image (output_scans): 8 % of the step
    ("retinanet-resnext50", "intel-mlperf", "int8"),
]


@pytest.mark.parametrize("workload,stack,precision", CASES)
def test_data_parallel_replica_runs_what_one_device_runs(workload, stack, precision):
    one = sim.simulate(workload, "intel-xeon-platinum-8480", mode="inference", batch_size=2, precision=precision,
                       stack=stack)
    two = sim.simulate(workload, "intel-xeon-platinum-8480", mode="inference", batch_size=4, precision=precision,
                       stack=stack, devices=2, parallelism="dp=2")
    assert two.step_time_s == pytest.approx(one.step_time_s, rel=2e-3)


def test_output_scan_is_in_the_partitioned_graph():
    from simulator.run.graphs import forward_graph
    from simulator.scenario import make_scenario
    from simulator.workload.loader import load_workload
    from simulator.workload.postprocess import SCAN_OP

    wl = load_workload("retinanet-resnext50")
    infer = make_scenario(mode="inference", batch_size=2, precision="int8", stack="intel-mlperf")
    assert SCAN_OP in forward_graph(wl, infer, 1).op_map
    assert SCAN_OP not in forward_graph(wl, make_scenario(mode="inference", batch_size=2, precision="int8"), 1).op_map
