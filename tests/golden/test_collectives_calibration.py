"""Collective bandwidths played in the engine against published nccl-tests / rccl-tests figures.

Rows from validation/data/measurements.csv. The link efficiency is the documented default
(simulator/spec/system.py, DEFAULT_LINK_EFFICIENCY = 0.8), not fitted to these rows; the bounds
below state how far off the model is today.
"""
from __future__ import annotations

import pytest

from simulator.run.cluster import collective_benchmark


@pytest.mark.parametrize("row,hardware,devices,collective,nbytes,measured,tolerance", [
    # M022: 8 x MI300X, RCCL all_reduce_perf busbw at 8 GiB over xGMI: 316.55 GB/s (we predict ~358, +13%)
    ("M022", "amd-mi300x", 8, "all_reduce", 8589934592, 316.55, 0.15),
    # M025: 8 x A100 NVLink, nccl-tests sendrecv busbw at 1 GiB: 195.56 GB/s (we predict ~240, +23%)
    ("M025", "dgx-a100", 8, "p2p", 2**30, 195.56, 0.25),
])
def test_bus_bandwidth_against_published(row, hardware, devices, collective, nbytes, measured, tolerance):
    got = collective_benchmark(hardware, collective=collective, nbytes=nbytes, devices=devices)["busbw_gbs"]
    assert got == pytest.approx(measured, rel=tolerance), f"{row}: predicted {got:.1f} vs measured {measured}"


def test_bus_bandwidth_tends_to_the_link_rate_for_large_messages():
    big = collective_benchmark("dgx-h100", nbytes=8 * 2**30)["busbw_gbs"]
    small = collective_benchmark("dgx-h100", nbytes=1024)["busbw_gbs"]
    assert big == pytest.approx(450 * 0.8, rel=0.01)  # NVLink4 per direction x link efficiency
    assert small < 1.0  # latency-bound


def test_two_nodes_are_bound_by_the_slower_level():
    one = collective_benchmark("dgx-h100", nbytes=2**33, devices=8)["busbw_gbs"]
    two = collective_benchmark("dgx-h100", nbytes=2**33, devices=16)["busbw_gbs"]
    slow = collective_benchmark("dgx-a100", nbytes=2**33, devices=16)["busbw_gbs"]
    assert two <= one * 1.01
    assert slow < two
