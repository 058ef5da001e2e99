"""SCALE-Sim importers: a bad .cfg or topology .csv gives one clear error naming file, key / row and column."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator.errors import SpecError, WorkloadError
from simulator.spec.loader import load_hardware
from simulator.spec.models import Dataflow
from simulator.spec.scalesim_cfg import load_scalesim_cfg, spec_name
from simulator.workload.importers.scalesim_csv import load_scalesim_csv
from simulator.workload.loader import load_workload

GOOD_CFG = """[general]
run_name = unit

[architecture_presets]
ArrayHeight:    16
ArrayWidth:     8
IfmapSramSzkB:    64
FilterSramSzkB:   32
OfmapSramSzkB:    16
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 12
Dataflow : os
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[sparsity]
SparsitySupport : false

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
GEMM_HEADER = "Layer, M, N, K,\n"
POS = "must be a positive integer up to 10000000, got"
DATAFLOW = "must be one of os, ws, is (lower case),"
DENSE = "only a dense N:M sparsity column (e.g. 1:1) is accepted, got"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def cfg_error(tmp_path: Path, text: str | bytes, name: str = "bad.cfg") -> str:
    path = write(tmp_path, name, text)
    with pytest.raises(SpecError) as info:
        load_scalesim_cfg(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": "), message
    return message


def csv_error(tmp_path: Path, text: str | bytes, name: str = "bad.csv") -> str:
    path = write(tmp_path, name, text)
    with pytest.raises(WorkloadError) as info:
        load_scalesim_csv(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": "), message
    return message


# -- cfg: the good case ---------------------------------------------------------------------------
def test_good_cfg_maps_to_asic_spec(tmp_path):
    spec = load_scalesim_cfg(write(tmp_path, "My Array_v2.cfg", GOOD_CFG))
    c = spec.compute
    assert (spec.kind, spec.name) == ("asic", "my-array_v2")
    assert (c.pe_rows, c.pe_cols, c.arrays, c.dataflow, c.clock_ghz) == (16, 8, 1, Dataflow.OS, 1.0)
    assert set(c.macs_per_pe_per_cycle.values()) == {1}
    assert [m.name for m in spec.memory] == ["sram", "dram"]
    assert spec.level("sram").capacity_bytes == (64 + 32 + 16) * 1024
    assert spec.level("dram").bandwidth_gbs == 12.0  # 12 words/cycle x 1 B x 1 GHz
    assert "Horowitz ISSCC 2014" in spec.power.source


def test_load_hardware_routes_cfg_files(tmp_path):
    assert load_hardware(write(tmp_path, "routed.cfg", GOOD_CFG)).name == "routed"


def test_keys_are_case_insensitive_like_scalesim(tmp_path):
    spec = load_scalesim_cfg(write(tmp_path, "c.cfg", GOOD_CFG.replace("ArrayHeight", "arrayheight")))
    assert spec.compute.pe_rows == 16


def test_calc_mode_without_bandwidth_uses_scalesim_default(tmp_path):
    spec = load_scalesim_cfg(write(tmp_path, "c.cfg", GOOD_CFG.replace("Bandwidth : 12\n", "")))
    assert spec.level("dram").bandwidth_gbs == 10.0


def test_spec_name_sanitises_stems():
    assert spec_name(Path("__.cfg")) == "scalesim-cfg"
    assert spec_name(Path("Eyeriss (v1).cfg")) == "eyeriss-v1"


# -- cfg: the bad cases ---------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "expected"), [
    (("[architecture_presets]", "[architecture_preset]"),
     "architecture_preset: unknown section; did you mean [architecture_presets]?"),
    (("[general]", "[ramulator]"),
     "ramulator: unknown section; known: general, architecture_presets, layout, sparsity, "
                                 "run_presets, network_presets"),
    (("ArrayWidth:     8\n", ""), "architecture_presets.ArrayWidth: missing key"),
    (("Dataflow : os\n", ""), "architecture_presets.Dataflow: missing key"),
    (("IfmapSramSzkB:    64", "IfmapSramSzkB: 64.5"),
     "architecture_presets.IfmapSramSzkB: must be a positive integer, got '64.5'"),
    (("OfmapSramSzkB:    16", "OfmapSramSzkB: lots"),
     "architecture_presets.OfmapSramSzkB: must be a positive integer, got 'lots'"),
    (("ArrayHeight:    16", "ArrayHeight: 0"), "architecture_presets.ArrayHeight: must be in 1..65536, got 0"),
    (("ArrayWidth:     8", "ArrayWidth: -8"), "architecture_presets.ArrayWidth: must be a positive integer, got '-8'"),
    (("ArrayHeight:    16", "ArrayHeight: 16 # rows"),
     "architecture_presets.ArrayHeight: must be a positive integer, got '16 # rows'"),
    (("Dataflow : os", "Dataflow : rs"), f"architecture_presets.Dataflow: {DATAFLOW} got 'rs'"),
    (("Dataflow : os", "Dataflow : WS"), f"architecture_presets.Dataflow: {DATAFLOW} got 'WS'"),
    (("ArrayHeight:    16", "ArrayHieght: 16"),
     "architecture_presets.ArrayHieght: unknown key; did you mean ArrayHeight?"),
    (("MemoryBanks:   1", "MemoryBanks: 1\nArrayWidth: 4"), "architecture_presets.ArrayWidth: duplicate key (line 16)"),
    (("MemoryBanks:   1", "MemoryBanks: 1\narraywidth: 4"),
     "architecture_presets.arraywidth: duplicate key (also spelt ArrayWidth)"),
    (("InterfaceBandwidth: CALC", "InterfaceBandwidth: FAST"),
     "run_presets.InterfaceBandwidth: must be CALC or USER, got 'FAST'"),
    (("InterfaceBandwidth: CALC\n", ""), "run_presets.InterfaceBandwidth: missing key"),
    (("[run_presets]\nInterfaceBandwidth: CALC\nUseRamulatorTrace: False\n", ""), "run_presets: missing section"),
    (("SparsitySupport : false", "SparsitySupport : true"),
     "sparsity.SparsitySupport: sparsity is not modelled; set it to false (got 'true')"),
    (("Bandwidth : 12", "Bandwidth : fast"),
     "architecture_presets.Bandwidth: must be a positive integer (words per cycle), got 'fast'"),
    (("[general]", "[general]\n[general]"), "general: duplicate section (line 2)"),
])
def test_bad_cfg(tmp_path, change, expected):
    old, new = change
    assert old in GOOD_CFG
    assert cfg_error(tmp_path, GOOD_CFG.replace(old, new, 1)).endswith(expected)


def test_user_mode_needs_bandwidth(tmp_path):
    text = GOOD_CFG.replace("Bandwidth : 12\n", "").replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER")
    assert cfg_error(tmp_path, text).endswith(
        "architecture_presets.Bandwidth: missing key (required with InterfaceBandwidth: USER)")


def test_missing_architecture_section(tmp_path):
    text = "[general]\nrun_name = x\n[run_presets]\nInterfaceBandwidth: CALC\n"
    assert cfg_error(tmp_path, text).endswith("architecture_presets: missing section")


def test_yaml_is_not_a_cfg(tmp_path):
    assert cfg_error(tmp_path, "name: tpu\nkind: asic\n").endswith(
        "not a SCALE-Sim cfg: line 1 comes before any [section]")


def test_binary_cfg(tmp_path):
    assert cfg_error(tmp_path, b"\x7fELF\x02\x01\x01\x00\x00").endswith("not a SCALE-Sim cfg: the file is binary")


def test_non_utf8_cfg(tmp_path):
    message = cfg_error(tmp_path, b"[general]\nrun_name = \xff\xfe\n")
    assert message.endswith("not a SCALE-Sim cfg: not UTF-8 text (byte 21)")


def test_oversized_cfg(tmp_path):
    assert re.search(r"file is [\d,]+ bytes, above the limit of 1,048,576 bytes for a SCALE-Sim cfg", cfg_error(tmp_path, GOOD_CFG + "#" * 2**20))


def test_missing_cfg_file(tmp_path):
    with pytest.raises(SpecError, match=r"nope\.cfg: cannot read file"):
        load_scalesim_cfg(tmp_path / "nope.cfg")


# -- csv: the good cases --------------------------------------------------------------------------
def test_conv_rows_become_a_chain_with_scalesim_sizes(tmp_path):
    path = write(tmp_path, "Tiny Net.csv", CONV_HEADER + "c1,9,9,3,3,2,4,2,\nc2,4,4,1,1,4,6,1,\n")
    wl = load_scalesim_csv(path)
    assert (wl.name, wl.family, wl.params, wl.task, wl.uses_seq_len, wl.uses_image_size) == (
        "tiny-net", "scalesim-csv", None, "image", False, False)
    g = wl.build(batch_size=2)
    c1, c2 = g.ops
    assert c1.gemms[0].m == 2 * 4 * 4 and (c1.gemms[0].n, c1.gemms[0].k) == (4, 18)  # ceil((9-3+2)/2) = 4
    assert c1.flops == c1.gemms[0].flops and c1.output_elems == 2 * 4 * 16
    assert g.predecessors("c2") == ["c1"]


def test_gemm_rows_without_trailing_comma_and_blank_lines(tmp_path):
    wl = load_workload(write(tmp_path, "g.csv", GEMM_HEADER + "\nfc1,3,5,7\n\nfc2,1,2,3,\n"))
    fc1, fc2 = wl.build(batch_size=4).ops
    assert (fc1.gemms[0].m, fc1.gemms[0].n, fc1.gemms[0].k) == (12, 5, 7)
    assert fc2.name == "fc2"


def test_dense_sparsity_column_and_bom_are_accepted(tmp_path):
    text = "\ufeff" + CONV_HEADER.replace("Strides,", "Strides, Sparsity,") + "c1,9,9,3,3,2,4,1,4:4,\n"
    assert len(load_scalesim_csv(write(tmp_path, "s.csv", text)).build().ops) == 1


def test_dp_layer_is_depthwise_like_scalesim(tmp_path):
    op, = load_scalesim_csv(write(tmp_path, "dw.csv", CONV_HEADER + "DPconv,12,12,3,3,6,1,1,\n")).build().ops
    assert op.gemms[0].count == 6 and op.gemms[0].k == 9 and op.gemms[0].n == 1
    assert dict(op.attrs)["groups"] == 6


# -- csv: the bad cases ---------------------------------------------------------------------------
@pytest.mark.parametrize(("rows", "expected"), [
    ("c1,9,9,3,3,2,4,\n", "row 2, column 8 (Strides): expected 8 columns, got 7"),
    ("c1,9,9,3,3,2,4,1,1,\n", "row 2, column 9 (extra): " + DENSE + " '1'"),
    ("c1,9,9,3,3,2,4,1,1:1,1,\n", "row 2, column 9 (extra): expected 8 columns, got 10"),
    ("c1,9,9,3,3,2,4,1,2:4,\n", "row 2, column 9 (extra): " + DENSE + " '2:4'"),
    ("c1,9,9,3,3,two,4,1,\n", "row 2, column 6 (Channels): " + POS + " 'two'"),
    ("c1,9,9,3,3,2.5,4,1,\n", "row 2, column 6 (Channels): " + POS + " '2.5'"),
    ("c1,9,9,3,3,2,0,1,\n", "row 2, column 7 (Num Filter): " + POS + " '0'"),
    ("c1,9,9,3,3,2,4,-1,\n", "row 2, column 8 (Strides): " + POS + " '-1'"),
    ("c1,9,9,3,3,2,4,,\n", "row 2, column 8 (Strides): " + POS + " ''"),
    ("c1,9,9,3,3,2,4,1,\nc2,5,5,7,3,2,4,1,\n",
     "row 3, column 4 (Filter Height): filter height 7 larger than IFMAP height 5"),
    ("c1,9,4,3,5,2,4,1,\n", "row 2, column 5 (Filter Width): filter width 5 larger than IFMAP width 4"),
    (",9,9,3,3,2,4,1,\n", "row 2, column 1 (Layer name): layer name must be 1 to 200 characters"),
    ("c1,9,9,3,3,2,4,1,\n\nc1,9,9,3,3,2,4,1,\n",
     "row 4, column 1 (Layer name): duplicate layer name 'c1' (first on row 2)"),
    ("c1,99999999,9,3,3,2,4,1,\n", "row 2, column 2 (IFMAP Height): " + POS + " '99999999'"),
])
def test_bad_conv_csv(tmp_path, rows, expected):
    assert csv_error(tmp_path, CONV_HEADER + rows).endswith(expected)


@pytest.mark.parametrize(("rows", "expected"), [
    ("fc,1,2,\n", "row 2, column 4 (K): expected 4 columns, got 3"),
    ("fc,1,2,x,\n", "row 2, column 4 (K): " + POS + " 'x'"),
    ("fc,0,2,3,\n", "row 2, column 2 (M): " + POS + " '0'"),
    ("fc,1,2,3,4,5,\n", "row 2, column 5 (extra): expected 4 columns, got 6"),
])
def test_bad_gemm_csv(tmp_path, rows, expected):
    assert csv_error(tmp_path, GEMM_HEADER + rows).endswith(expected)


def test_empty_csv(tmp_path):
    assert csv_error(tmp_path, "\n \n").endswith("empty file: expected a header row and at least one layer")


def test_header_only_csv(tmp_path):
    assert csv_error(tmp_path, CONV_HEADER).endswith("row 2: no layers: the file has only a header")


def test_unknown_header(tmp_path):
    assert csv_error(tmp_path, "name,size\nx,3\n").endswith(
        "row 1: not a SCALE-Sim topology header: expected 8 conv columns (Layer name, IFMAP Height, IFMAP Width, "
        "Filter Height, Filter Width, Channels, Num Filter, Strides) or GEMM columns (Layer name, M, N, K), "
        "got 2 cells")


def test_binary_csv(tmp_path):
    assert csv_error(tmp_path, b"PK\x03\x04\x00\x00binary").endswith("not a SCALE-Sim topology CSV: the file is binary")


def test_oversized_csv(tmp_path):
    big = CONV_HEADER + "".join(f"layer_{i},9,9,3,3,2,4,1,\n" for i in range(100_000))
    assert re.search(r"file is [\d,]+ bytes, above the limit of 2,097,152 bytes for a SCALE-Sim topology CSV", csv_error(tmp_path, big))


def test_missing_csv_via_load_workload(tmp_path):
    with pytest.raises(WorkloadError, match=r"nope\.csv: no such file"):
        load_workload(tmp_path / "nope.csv")
