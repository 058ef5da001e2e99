"""A system's ``topology`` and ``dims`` shape its collectives (issue #22, defect 13): hand computations of
the torus, ring and switch forms, the schema's checks, and the same system under each topology."""
from __future__ import annotations

import pytest
import yaml

from simulator.cost.collectives import Collective, LinkModel, collective_time_s, torus_spans
from simulator.errors import SpecError
from simulator.run.cluster import collective_benchmark
from simulator.spec.loader import raw_spec, spec_from_dict

A, B, S = 2e-6, 1e11, 1e6  # latency per step (s), bandwidth per rank (B/s), bytes per rank


def _t(kind, n, topology="switch", dims=()):
    return collective_time_s(kind, n=n, nbytes=S, link=LinkModel(B, A, topology=topology, dims=dims))


def test_a_torus_runs_one_ring_per_dimension():
    # 16 ranks on 4 x 4: 3 + 3 latency steps per reduce-scatter instead of 15; same bandwidth term
    assert _t(Collective.ALL_REDUCE, 16, "torus", (4, 4)) == pytest.approx(2 * 6 * A + 2 * 15 / 16 * S / B)
    assert _t(Collective.ALL_REDUCE, 16) == pytest.approx(2 * 15 * A + 2 * 15 / 16 * S / B)
    assert _t(Collective.ALL_GATHER, 8, "torus", (4, 4)) == pytest.approx((3 + 1) * A + 7 / 8 * S / B)  # spans 4 x 2
    assert torus_spans(4096, (16, 16, 16)) == (16, 16, 16)  # a v4 pod: 45 steps, not 4,095


def test_all_to_all_on_neighbour_links_is_bisection_bound():
    assert _t(Collective.ALL_TO_ALL, 16) == pytest.approx(15 * A + 15 / 16 * S / B)  # a switch: direct
    assert _t(Collective.ALL_TO_ALL, 16, "ring") == pytest.approx(15 * A + 4 * 15 / 16 * S / B)  # 16 / 4
    assert _t(Collective.ALL_TO_ALL, 16, "torus", (4, 4)) == pytest.approx(2 * (3 * A + 3 / 4 * S / B))
    assert _t(Collective.P2P, 16, "ring") == _t(Collective.P2P, 16)  # a neighbour is one hop anywhere


def _system(topology: str, dims: list[int] | None = None, devices: int = 16) -> dict:
    raw = raw_spec("trn1-32xl")
    raw["intra_node"]["topology"] = topology
    raw["intra_node"].pop("dims", None)
    if dims is not None:
        raw["intra_node"]["dims"] = dims
    raw["devices_per_node"] = devices
    return raw


@pytest.mark.parametrize("topology,dims,message", [
    ("switch", [4, 4], "dims (the torus shape) only apply to topology torus, not switch"),
    ("torus", None, "a torus needs dims, its shape (e.g. [16, 16, 16])"),
    ("torus", [4, 8], "intra_node.dims [4, 8] hold 32 devices, but devices_per_node is 16"),
])
def test_the_schema_refuses_dims_that_cannot_shape_the_fabric(topology, dims, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        spec_from_dict(_system(topology, dims), "sys.yaml")


def test_the_same_system_under_each_topology(tmp_path):
    times = {}
    for name, topo, dims in (("sw", "switch", None), ("ring", "ring", None), ("torus", "torus", [4, 4])):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({**_system(topo, dims), "name": f"sys-{name}"}))
        for kind, nbytes in (("all_reduce", 1024.0), ("all_to_all", 2.0**30)):
            times[name, kind] = collective_benchmark(str(path), collective=kind, nbytes=nbytes,
                                                     devices=16)["time_s"]
    assert times["torus", "all_reduce"] < times["sw", "all_reduce"]  # latency-bound: fewer steps
    assert times["ring", "all_reduce"] == pytest.approx(times["sw", "all_reduce"])  # a ring algorithm on a ring
    assert times["sw", "all_to_all"] < times["torus", "all_to_all"] < times["ring", "all_to_all"]  # bisection


def test_a_declared_pcie_tree_shares_its_bridge_like_an_implicit_one(tmp_path):
    raw = _system("pcie_tree", devices=4)
    raw["intra_node"]["link"] = "pcie"
    path = tmp_path / "pcie.yaml"
    path.write_text(yaml.safe_dump({**raw, "name": "sys-pcie"}))
    shared = collective_benchmark(str(path), collective="p2p", nbytes=2.0**30, devices=4)["busbw_gbs"]
    raw["intra_node"]["topology"] = "switch"
    path.write_text(yaml.safe_dump({**raw, "name": "sys-switch"}))
    direct = collective_benchmark(str(path), collective="p2p", nbytes=2.0**30, devices=4)["busbw_gbs"]
    assert shared == pytest.approx(direct / 2, rel=1e-3)  # 4 devices on one bridge: half each
