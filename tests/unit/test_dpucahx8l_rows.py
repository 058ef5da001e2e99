"""The DPUCAHX8L (low-latency HBM DPU) rows: F039 carries the Vitis AI 1.4.1 zoo's corrected U280 cell.

The 1.4 zoo README's U280 2x DPUCAHX8L table printed cf_resnet50 541.6 fps and cf_resnet18 155.6; the
1.4.1 README (tag v1.4.1, @5e500db2, same file) prints 160.5 and 542.3: the two 1.4 cells were
transposed. The check that exposed it is the cross-board ratio: every other model runs 1.7-1.8x as fast
on the U280's two 250 MHz kernels as on the U50's one 333 MHz kernel (same file, v1.4 tables).
"""
from __future__ import annotations

from validation.crossval import source_key
from validation.rows import DATA, read_rows

FPGA = {r.id: r for r in read_rows(DATA / "fpga.csv")}

# (U280 2x DPUCAHX8L fps, U50 1x DPUCAHX8L fps), Vitis AI 1.4 zoo README, models other than the ResNets
OTHER_MODELS = {
    "cf_inceptionv1": (640.3, 350.9),   # 1.825
    "cf_inceptionv3": (188.5, 109.2),   # 1.726
    "cf_mobilenetv2": (2042.4, 1155.0),  # 1.768
}


def test_f039_is_the_corrected_141_figure():
    r = FPGA["F039"]
    assert r.value == 160.5
    assert "(tag v1.4.1)" in r.source and "@5e500db2" in r.source
    # the 1.4.1 copy is the same document as the 1.4 one: a leave-one-source-out fold still holds
    # all three DPUCAHX8L rows together
    assert source_key(r.source) == source_key(FPGA["F038"].source) == source_key(FPGA["F040"].source) \
        == "github:Xilinx/Vitis-AI models/AI-Model-Zoo/README.md"


def test_u280_over_u50_resnet50_ratio_matches_the_other_models():
    # by hand: 160.5 / 88.3 = 1.818, inside 1.726 .. 1.825 (the table above) widened by 5 % each way;
    # the 1.4 cell it replaces gave 541.6 / 88.3 = 6.13
    ratio = FPGA["F039"].value / FPGA["F038"].value
    assert abs(ratio - 1.8177) < 1e-3
    lo = min(a / b for a, b in OTHER_MODELS.values())
    hi = max(a / b for a, b in OTHER_MODELS.values())
    assert 0.95 * lo <= ratio <= 1.05 * hi


def test_every_dpucahx8l_resnet50_row_is_slower_than_resnet18_on_its_board():
    # the law the transposed cell broke: ResNet-50 (7.7 GOPs) cannot run faster than ResNet-18
    # (3.65 GOPs) on the same overlay; 1.4 U50: 88.3 < 323.9, 1.4.1 U280: 160.5 < 542.3
    resnet18 = {"F038": 323.9, "F039": 542.3}
    for rid, r18 in resnet18.items():
        assert FPGA[rid].value < r18 * 3.65 / 7.7 * 2.5   # per-op rate within 2.5x of ResNet-18's
        assert FPGA[rid].value < r18


def test_the_hbm_pass_time_is_taken_back_in_the_fold_of_its_own_document():
    # dpu.hbm_pass_element_ns was derived from other cells of the zoo README the three rows come from:
    # the fold that holds the rows out must predict them without it (the schema default, 0)
    from simulator.spec.loader import load_hardware
    from validation.crossval import DERIVED_SPEC_VALUES, derived_overrides
    from validation.families import family_of

    doc = source_key(FPGA["F038"].source)
    for name in ("amd-alveo-u50-dpucahx8l", "amd-alveo-u280-dpucahx8l"):
        fam = family_of(name, "fpga")
        assert load_hardware(name).compute.dpu.hbm_pass_element_ns > 0
        over = derived_overrides(fam, doc)
        assert over == {"compute.dpu.hbm_pass_element_ns": 0.0}
        assert load_hardware(name, over).compute.dpu.hbm_pass_element_ns == 0.0
    # every derived value names a document some row comes from (a renamed source cannot switch it off)
    docs = {source_key(r.source) for r in FPGA.values()}
    assert all(doc in docs for entries in DERIVED_SPEC_VALUES.values() for _, doc, _ in entries)
