"""A GEMM row whose notes quote the benchmark command's C/D types and beta is simulated with them:
the MI300X acceptance GEMMs (rocblas-bench --c_type s / i32_r --beta 1) write and read 32-bit C/D."""
from validation.mapping import map_rows
from validation.micro_rows import gemm_c_of
from validation.rows import Row, read_calibration


def _row(notes: str) -> Row:
    return Row(id="T1", device="AMD MI300X", n_devices=1, workload="gemm_strided_batched_ex 64x64x64 batch 2",
               mode="microbenchmark", precision="FP16", batch_size="2", shape="M=64,N=64,K=64", metric="tflops",
               value=1.0, software="", notes=notes)


def test_c_type_and_beta_are_read_from_the_quoted_command():
    assert gemm_c_of(_row("--c_type s --d_type s (C and D FP32), --alpha 1.1 --beta 1"))[0] == ("fp32", True)
    assert gemm_c_of(_row("(C and D INT32), --beta 0"))[0] == ("fp32", False)
    assert gemm_c_of(_row("--beta 0.5"))[0] == ("", True)
    assert gemm_c_of(_row("[trust=high] nothing said")) == (("", False), ())


def test_mi300x_acceptance_gemms_carry_their_32_bit_c_and_d():
    rows = [r for r in read_calibration() if r.id in {"M013", "M014"}]
    cases = map_rows(rows)
    assert len(cases) == 2
    for case in cases:
        assert case.task == "gemm" and case.gemm == (1024, 2048, 512, 5) and case.gemm_c == ("fp32", True)
