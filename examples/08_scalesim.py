"""Read a SCALE-Sim config and topology and print the stall-free compute cycles per layer.

accsim imports SCALE-Sim ``.cfg`` files as systolic ASICs and topology ``.csv`` files as
workloads; the per-op ``compute_cycles`` column matches SCALE-Sim's layer by layer.
Run from the repository root:  python examples/08_scalesim.py
"""
import simulator as sim

DATA = "tests/data/scalesim"
DATAFLOWS = ["os", "ws", "is"]

workload = sim.load_workload(f"{DATA}/conv_mix.csv")
cycles = {}
for dataflow in DATAFLOWS:
    hw = sim.load_hardware(f"{DATA}/sa_32x8_{dataflow}.cfg")
    ops = sim.simulate(workload, hw, batch_size=1).ops
    cycles[dataflow] = dict(zip(ops["name"], ops["compute_cycles"]))

print("SCALE-Sim topology conv_mix.csv on a 32x8 array: compute cycles per dataflow")
print(f"{'layer':<14}" + "".join(f"{d:>8}" for d in DATAFLOWS))
for layer in cycles["os"]:
    print(f"{layer:<14}" + "".join(f"{int(cycles[d][layer]):>8}" for d in DATAFLOWS))
print(f"{'total':<14}" + "".join(f"{int(sum(cycles[d].values())):>8}" for d in DATAFLOWS))
