"""The MLPerf rows of the 40 GB A100 PCIe card (v0.7-v1.1) run on the 80 GB card's spec with the
40 GB card's own HBM: 1555 GB/s and 40 GiB (NVIDIA A100 datasheet), not 1935 GB/s and 80 GiB."""
from simulator.spec.loader import catalogue, load_hardware

from validation.devices import resolve_device
from validation.rows import read_calibration


def test_a100_pcie_40gb_maps_to_its_own_hbm():
    name, overrides = resolve_device("NVIDIA A100-PCIe-40GB", catalogue())
    hw = load_hardware(name, overrides)
    # 40 GiB = 40 * 2**30 = 42_949_672_960 bytes
    assert name == "nvidia-a100-pcie"
    assert hw.main_memory.bandwidth_gbs == 1555.0
    assert hw.main_memory.capacity_bytes == 42_949_672_960
    # the 80 GB card keeps the spec's own figures
    assert load_hardware(*resolve_device("NVIDIA A100-PCIe-80GB", catalogue())).main_memory.bandwidth_gbs == 1935


def test_the_new_singlestream_rows_are_all_valid_p90_latencies():
    # every J041-J072 row is one 90th-percentile SingleStream latency of one NVIDIA TensorRT run; the
    # v3.0 A100 PCIe 80 GB pair (J063/J064) is not taken: it is external row G005/G006, never fitted
    rows = [r for r in read_calibration() if 41 <= int(r.id[1:]) <= 72 and r.id.startswith("J")]
    assert len(rows) == 30
    assert all(r.metric == "latency_ms" and "SingleStream" in r.workload and "90th percentile" in r.source for r in rows)
