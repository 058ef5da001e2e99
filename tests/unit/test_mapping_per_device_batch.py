"""A batch cell that names a per-device batch ("256/device", "16/core", "32/gpu") is data-parallel
over the row's devices within a node; a bare global batch over several devices is refused."""
from validation.batching import batch_of
from validation.rows import Row


def _row(batch: str, n: int) -> Row:
    return Row(id="T1", device="Intel Gaudi2", n_devices=n, workload="ResNet-50 training", mode="training",
               precision="bf16", batch_size=batch, shape="224x224", metric="images_per_s", value=1.0,
               software="", notes="")


def test_per_device_batch_cells_scale_over_the_devices():
    for cell in ("256/device (2048 global)", "256/gpu", "256/core"):
        assert batch_of(_row(cell, 8), 8, "resnet50", "asic")[:3] == (256, 8, 1)


def test_a_global_batch_over_several_devices_is_refused():
    batch, scale, _, why = batch_of(_row("2048", 8), 8, "resnet50", "asic")
    assert batch is None and scale == 1 and "global batch" in why


def test_gaudi2_mlperf_resnet_throughput_rows_are_one_node_data_parallel():
    from validation.mapping import map_rows
    from validation.rows import read_calibration

    rows = [r for r in read_calibration() if r.id in {"A001", "A002", "A003"}]
    for case in map_rows(rows):
        assert (case.task, case.mode, case.batch, case.scale, case.precision) == ("model", "training", 256, 8.0, "bf16")
        assert case.family == "asic-intel-gaudi2" and case.category == "training"
