"""The fast paths of issue 21 give exactly what the full paths give: the SimPy-free chain run of a
device where nothing contends against :class:`DeviceSim`, and the per-graph cost cache against
computing every op's cost afresh."""
from __future__ import annotations

import simpy
from hypothesis import given
from hypothesis import strategies as st

from simulator.cost.base import Bound, CostOptions, Numerics, OpCost
from simulator.cost.dispatch import op_cost
from simulator.engine.run import ChainRun, DeviceRun, DeviceSim, WeightStream, run_device
from simulator.run import costcache
from simulator.run.device import cached_inputs, op_costs
from simulator.run.graphs import GraphCache, build_graph
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.testing import compute_graphs
from simulator.units import Precision
from simulator.workload.loader import load_workload
from simulator.workload.ops import OpKind

DURATIONS = (0.0, 1e-300, 1e-18, 1e-6, 2.5e-6, 3e-6, 0.1, 1.0)


def _full_run(spec: DeviceRun):
    env = simpy.Environment()
    sim = DeviceSim(env, spec)
    env.process(sim.step())
    env.run()
    return sim.trace()


def _cost(d: float, flops: float) -> OpCost:
    return OpCost(duration_s=d, compute_s=d, memory_s=0.0, overhead_s=0.0, flops=flops, bytes_by_level={"_main": 3.0},
                  level_s={}, bound=Bound.MEMORY, dynamic_energy_j=d * 7.0, compute_cycles=5, throttled_s=d / 3)


@given(graph=compute_graphs(max_ops=14), data=st.data())
def test_the_chain_run_is_the_simpy_run_on_random_graphs(graph, data):
    order = graph.order
    durations = {n: data.draw(st.sampled_from(DURATIONS)) for n in order}
    tail = data.draw(st.integers(0, len(order) - 1))   # the last ops run once after the passes, like an optimizer
    spec = DeviceRun(device="d:0", graph=graph, costs={n: _cost(durations[n], float(i)) for i, n in enumerate(order)},
                     out_bytes={n: data.draw(st.sampled_from((0.0, 1.0, 64.0, 1e9))) for n in order},
                     scratch_bytes={n: data.draw(st.sampled_from((0.0, 8.0))) for n in order},
                     static_bytes=data.draw(st.sampled_from((0.0, 100.0))), repeat=data.draw(st.integers(1, 3)),
                     once_at_end=frozenset(order[len(order) - tail:]),
                     startup_s=data.draw(st.sampled_from((0.0, 0.5))))
    assert ChainRun(spec).trace() == _full_run(spec)


def _real_spec(workload: str, hardware: str, mode: str, **kw) -> DeviceRun:
    hw = load_hardware(hardware)
    sc = make_scenario(mode=mode, batch_size=4, seq_len=64)
    _, graph = build_graph(load_workload(workload), sc)
    numerics = Numerics(Precision.BF16, Precision.BF16, training=mode == "training")
    costs = op_costs(graph, hw, numerics, CostOptions())
    once = frozenset(n for n in graph.order if graph.op(n).kind == OpKind.OPTIMIZER)
    return DeviceRun(device="x:0", graph=graph, costs=costs, out_bytes={n: graph.op(n).output_elems * 2.0 for n in graph.order},
                     scratch_bytes={n: 0.0 for n in graph.order}, static_bytes=1e9, once_at_end=once, **kw)


def test_the_chain_run_is_the_simpy_run_on_real_training_steps():
    for workload in ("resnet50", "gpt2", "inception-v3"):
        spec = _real_spec(workload, "nvidia-h100-sxm", "training", repeat=2)
        chain = run_device(spec)   # nothing contends: the chain run
        assert chain == _full_run(spec)
        assert len(chain.events) == 2 * len(spec.graph) - len(spec.once_at_end)


def test_contended_runs_keep_the_simpy_engine():
    """A weight stream or an eager host interacts with the compute stream: run_device plays them in
    SimPy, and they do differ from the chain (which would ignore them)."""
    base = _real_spec("resnet50", "google-tpu-v4", "inference")
    streamed = DeviceRun(**{**base.__dict__, "weight_stream": WeightStream(
        bytes_by_op={n: 1e6 for n in base.graph.order}, bandwidth_bps=1e9, latency_s=1e-6, energy_j_per_byte=0.0)})
    eager = DeviceRun(**{**base.__dict__, "dispatch_s": 1e-3})
    for spec in (streamed, eager):
        full = run_device(spec)
        assert full == _full_run(spec)
        assert full.end_s > ChainRun(spec).trace().end_s


def test_graph_costs_are_each_ops_own_cost_and_are_kept_per_device():
    hw = load_hardware("nvidia-l4")
    numerics = Numerics(Precision.FP16, Precision.FP16, training=True)
    _, graph = build_graph(load_workload("resnet50"), make_scenario(mode="training", batch_size=2))
    costs = op_costs(graph, hw, numerics, CostOptions())
    hits = cached_inputs(graph, hw, numerics)
    for n in graph.order:
        assert costs[n] == op_cost(graph.op(n), hw, numerics, CostOptions(cached_input_elems=hits.get(n, 0.0)))
    assert op_costs(graph, hw, numerics, CostOptions()) is costs        # kept with the graph
    other = load_hardware("nvidia-l4", {"compute.clock_ghz": 1.0})        # a what-if device: its own costs
    assert op_costs(graph, other, numerics, CostOptions()) is not costs
    for i in range(costcache.COSTS_PER_GRAPH):
        op_costs(graph, hw, numerics, CostOptions(power_cap_w=60.0 + i))
    assert len(graph.memo["costs"]) == costcache.COSTS_PER_GRAPH
    assert op_costs(graph, hw, numerics, CostOptions()) is not costs    # evicted, computed again, equal
    assert op_costs(graph, hw, numerics, CostOptions()) == costs


def test_the_graph_cache_serves_every_graph_of_a_generation():
    import simulator as sim
    from simulator.run import graphs

    sim.generate("gpt2", "nvidia-h100-sxm", batch_size=1, prompt_len=32, output_len=40)
    before = graphs._GRAPHS.hits, graphs._GRAPHS.misses
    sim.generate("gpt2", "nvidia-h100-sxm", batch_size=1, prompt_len=32, output_len=40)
    assert graphs._GRAPHS.misses == before[1]                 # 17 graphs, all served again
    assert graphs._GRAPHS.hits - before[0] == 17


def test_the_graph_cache_is_bounded_by_graphs_and_ops():
    c = GraphCache(max_graphs=3, max_ops=100)
    for i in range(5):
        c.put(i, str(i), ops=10)
    assert [c.get(i) for i in range(5)] == [None, None, "2", "3", "4"]
    c.put("huge", "h", ops=1000)                      # alone over the budget: kept, the rest dropped
    assert c.get("huge") == "h" and c.get(4) is None and c.ops == 1000


def _numeric_leaves(raw, path=()):
    if isinstance(raw, dict):
        for k, v in raw.items():
            yield from _numeric_leaves(v, (*path, k))
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        yield path, raw


def test_cached_inputs_read_only_the_memory_sizes_the_cost_cache_keys_them_by():
    """run/costcache keeps cached_inputs per (kind, memory level sizes, numerics): every other
    numeric field of a spec, changed, must leave the answer alone (else that key would be wrong)."""
    _, graph = build_graph(load_workload("resnet18"), make_scenario(mode="training", batch_size=2))
    for name in ("nvidia-l4", "google-tpu-v4", "intel-xeon-platinum-8480", "mit-eyeriss", "amd-alveo-u250"):
        hw = load_hardware(name)
        numerics = Numerics(Precision.FP32, Precision.FP32, training=True)
        want = cached_inputs(graph, hw, numerics)
        memory = hw.model_dump(mode="json")["memory"]
        names = [m["name"] for m in memory]
        raw = {k: v for k, v in hw.model_dump(mode="json").items() if k != "memory"}
        paths = list(_numeric_leaves(raw))
        paths += [(("memory", lvl, k), v) for lvl, m in zip(names, memory) for k, v in m.items()
                  if k != "capacity_bytes" and isinstance(v, (int, float)) and not isinstance(v, bool)]
        changed = 0
        for path, value in paths:
            try:
                other = load_hardware(name, {".".join(map(str, path)): value * 2 if value else 1})
            except Exception:  # noqa: BLE001 - a value the schema refuses (an int field, a bound)
                continue
            changed += 1
            assert cached_inputs(graph, other, numerics) == want, path
        assert changed > 10, changed


LAYOUTS = [dict(data=2, tensor=2, pipeline=2), dict(data=4, pipeline=2, virtual_stages=2), dict(data=2, tensor=4),
           dict(data=2, tensor=2, pipeline=2, zero_stage=3), dict(data=4, tensor=2, tp_overlap=True),
           dict(data=2, tensor=2, pipeline=2, sequence_parallel=True, schedule="gpipe"), dict(pipeline=4),
           dict(data=2, tensor=2, pipeline=2, expert=2)]


def _cluster_outputs(kw):
    import simulator as sim

    r = sim.simulate(**kw)
    return r.to_json(), tuple(r.events), tuple(r.memory_timeline)


@given(layout=st.sampled_from(LAYOUTS), hardware=st.sampled_from(["dgx-h100", "h100-ib-cluster-1024", "tpu-v4-pod"]),
       training=st.booleans(), microbatches=st.sampled_from([1, 2, 4]), symmetric=st.booleans())
def test_the_cluster_engine_without_request_events_is_the_reference_engine(layout, hardware, training, microbatches,
                                                                           symmetric):
    """Compute streams without resource requests and links taken without request events when free
    (ClusterSim's fast paths) give the reference engine's trace, event for event."""
    from simulator.engine.cluster import ClusterSim

    p = layout.get("pipeline", 1)
    m = p * max(1, microbatches // p) if layout.get("virtual_stages") else (microbatches if p > 1 else 1)
    workload = "mixtral-8x7b" if layout.get("expert") else "gpt2"
    devices = layout.get("data", 1) * layout.get("tensor", 1) * p
    kw = dict(workload=workload, hardware=hardware, mode="training" if training else "inference",
              batch_size=layout.get("data", 1) * m * 2, seq_len=128, devices=devices, parallelism=layout,
              microbatches=m, symmetric=symmetric, checkpointing="full" if training else "none")
    fast = _cluster_outputs(kw)
    try:
        ClusterSim.stream_requests = True
        reference = _cluster_outputs(kw)
    finally:
        ClusterSim.stream_requests = False
    assert fast == reference


def test_a_one_device_simulate_command_loads_none_of_the_heavy_libraries():
    """`python -m simulator simulate ... --format json` (issue 21's start-up target) never imports
    networkx, pandas, numpy or SimPy: features load on first use (a graph query, a table, a
    contended run, a big graph's vectorised costs)."""
    import subprocess
    import sys

    # (python -m simulator leaves with os._exit, past atexit: ask cli.main, which it runs, instead)
    code = ("import sys\n"
            "from simulator.cli import main\n"
            "code = main(['simulate', '--workload', 'resnet50', '--hardware', 'nvidia-h100-sxm', "
            "'--mode', 'training', '--format', 'json'])\n"
            "sys.stdout.flush()\n"
            "sys.stderr.write('LOADED ' + ','.join(m for m in ('networkx', 'pandas', 'numpy', 'simpy') "
            "if m in sys.modules) + '\\n')\n"
            "sys.exit(code)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert '"step_time_s"' in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "LOADED"
    # asked for, they load: a table, a graph query
    code = ("import sys, simulator as sim\n"
            "r = sim.simulate('mlp', 'nvidia-h100-sxm'); r.ops; sim.load_workload('mlp').build(batch_size=2).graph.edges\n"
            "print(sorted(m for m in ('networkx', 'pandas') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['networkx', 'pandas']"


@given(n=st.integers(1, 30), data=st.data())
def test_the_topological_order_is_networkx_lexicographic_order_with_or_without_the_shortcut(n, data):
    """Insertion order is returned as is only when it is what the index-keyed sort gives."""
    import networkx as nx

    from simulator.workload.digraph import DiGraph
    from simulator.workload.graph import _topological_order

    names = [f"op{i}" for i in range(n)]
    shuffled = data.draw(st.permutations(names)) if data.draw(st.booleans()) else names
    indices = data.draw(st.lists(st.integers(0, 3 * n), min_size=n, max_size=n, unique=data.draw(st.booleans())))
    g = DiGraph()
    for name, index in zip(shuffled, indices):
        g.add_node(name, index=index)
    for _ in range(data.draw(st.integers(0, 2 * n))):
        u, v = sorted(data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True)))
        if n > 1:
            g.add_edge(names[u], names[v])  # edges go from lower to higher name number: acyclic
    ref = list(nx.lexicographical_topological_sort(g.to_networkx(), key=lambda x: (g.nodes[x]["index"],
                                                                                  list(g).index(x))))
    assert _topological_order(g) == ref


def test_ops_built_by_the_direct_init_are_the_dataclass_ops():
    from dataclasses import fields, replace

    from simulator.workload.ops import Gemm, Op, Phase, matmul

    op = matmul("fc", batch=2, m=3, k=4, n=5)
    assert [f.name for f in fields(Op)] == list(op.__dict__)
    again = Op("fc", op.kind, op.flops, op.input_elems, op.output_elems, param_elems=op.param_elems,
               weight_read_elems=op.weight_read_elems, gemms=(Gemm(6, 5, 4),), attrs=op.attrs)
    assert again == op and hash(again) == hash(op) and repr(again) == repr(op)
    assert replace(op, phase=Phase.BACKWARD).phase is Phase.BACKWARD and op.phase is Phase.FORWARD
    try:
        op.name = "x"
    except AttributeError:
        pass
    else:
        raise AssertionError("an Op stays frozen")
