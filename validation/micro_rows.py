"""Rows of one-op micro-benchmarks: a GEMM (BLAS / MAMF finders) or a bandwidth stream (BabelStream,
bandwidthTest, reductions), simulated as one op each by :mod:`validation.predict`."""
from __future__ import annotations

import re

from .cases import Case, Unexpressible, refuse
from .cells import first_int, parse_precision
from .rows import Row


def gemm_case(row: Row, base: dict, kind: str) -> Case | Unexpressible:
    dims = [int(x) for x in re.findall(r"\d+", row.shape)]
    if "M=N=K" in row.shape and dims:
        m = n = k = dims[0]
    elif len(dims) >= 3:
        m, n, k = dims[:3]
    else:
        return refuse(row, "GEMM shape not stated", kind)
    count = first_int(row.batch_size) or 1
    prec = parse_precision(row.precision, kind)
    if prec is None:
        return refuse(row, "precision not stated", kind)
    sweep = "max achievable" in row.workload.lower()
    assumptions = ("MAMF shape string read as MxNxK",) if "best shape" in row.shape else ()
    if sweep:
        assumptions += ("max achievable = the model's best over mamf-finder's shape sweep "
                        "(validation.predict.mamf_shapes), the reported shape included",)
    c_out, assumed = gemm_c_of(row)
    return Case(**base, task="gemm", category="gemm", precision=prec, gemm=(m, n, k, count), gemm_sweep=sweep,
                gemm_c=c_out, assumptions=assumptions + assumed)


# BLAS benchmarks that state their C/D types and beta (rocblas-bench --c_type/--d_type/--beta, quoted in
# the row's notes): a 32-bit C/D (FP32 or INT32) of a 16- or 8-bit GEMM is written, and read as well
# when beta != 0, at 4 bytes per element. On a short-K GEMM that traffic outweighs A and B: the MI300X
# acceptance GEMMs (M013/M014, 1024x2048x512 x5) move 84 MB of C and D against 16 MB of A and B.
C_TYPE = re.compile(r"C and D (FP32|INT32)", re.I)
BETA = re.compile(r"--beta ([\d.]+)")


def gemm_c_of(row: Row) -> tuple[tuple[str, bool], tuple[str, ...]]:
    """((C/D format, C read), assumptions) of a GEMM row from the benchmark command its notes quote."""
    wide, beta = C_TYPE.search(row.notes), BETA.search(row.notes)
    if not (wide or beta):
        return ("", False), ()
    reads = beta is not None and float(beta.group(1)) != 0.0
    fmt = "fp32" if wide else ""
    said = [f"C and D {wide.group(1).upper()} (4 bytes per element)"] if wide else []
    said += [f"beta {beta.group(1)}: C read before D is written"] if reads else []
    return (fmt, reads), ("; ".join(said),)


def stream_case(row: Row, base: dict) -> Case | Unexpressible:
    wl = row.workload.lower()
    mb = re.search(r"([\d.]+)\s*MB", row.shape)
    if "triad" in wl:
        # a[i] = b[i] + s * c[i]: read 2 arrays, write 1 (BabelStream counts 3 x array bytes)
        return Case(**base, task="stream", category="stream", precision="fp32",
                    stream=(3 * float(mb.group(1)) * 1e6, 2))
    if "babelstream copy" in wl:
        return Case(**base, task="stream", category="stream", precision="fp32", stream=(2 * float(mb.group(1)) * 1e6, 1))
    if "device-to-device" in wl:
        # bandwidthTest counts read + write: 2 x size / time
        return Case(**base, task="stream", category="stream", precision="fp32", stream=(2 * float(mb.group(1)) * 1e6, 1),
                    assumptions=("32 MB copy: fits in the 40-50 MB L2 of A100/H100 but is counted as HBM traffic",))
    if "reduction" in wl:
        n = 2 ** 30 if "2^30" in row.shape else first_int(row.shape)
        return Case(**base, task="stream", category="stream", precision="fp32", stream=(4.0 * n, 0),
                    assumptions=("reduction of fp32 elements: read-only traffic",))
    return refuse(row, "unknown bandwidth benchmark", base["kind"])
