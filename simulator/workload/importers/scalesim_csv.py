"""Read a SCALE-Sim topology CSV (conv or GEMM format) as a :class:`~simulator.workload.workload.Workload`.

Two formats, told apart by the header (SCALE-Sim itself is told by a command-line flag)::

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
    Conv1,224,224,7,7,3,64,2,

    Layer, M, N, K,
    FC1,128,512,1536,

A header whose 2nd to 4th cells are ``M, N, K`` is GEMM; a header of 8 cells is conv. Every row is one
layer and keeps its name; the layers run as a chain, in file order. A trailing comma is expected (as
SCALE-Sim, which drops the last cell) but not required. An optional last column of N:M sparsity is
accepted only when dense (N == M), since sparsity is not modelled.

Semantics copied from SCALE-Sim 3.0.0 so that the GEMMs match its own:

* conv has no padding (the topology bakes it into the IFMAP size) and one stride for both axes;
  output size = ceil((H - FH + S) / S), which is SCALE-Sim's, not the floor of frameworks.
  The GEMM is M = batch * output pixels, N = filters, K = FH * FW * C.
* a conv layer whose name contains ``DP`` is depthwise: SCALE-Sim runs it as C layers of one channel
  each; here it is one op with ``Gemm(count=C)`` and K = FH * FW.
* GEMM rows give M, N, K; M is multiplied by the batch size (SCALE-Sim topologies are batch 1).

Row numbers in errors are 1-based line numbers of the file (the header is row 1).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from ...errors import WorkloadError
from ...yamlio import read_bounded_text
from ..families import Shape
from ..graph import MAX_OPS, ComputeGraph, GraphBuilder
from ..workload import Workload
from ..ops import Gemm, Op, OpKind, ceil_div, matmul

MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_DIM = 10**7
MAX_LAYER_MACS = 10**18
CONV_COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
                "Num Filter", "Strides")
GEMM_COLUMNS = ("Layer name", "M", "N", "K")


@dataclass(frozen=True)
class Layer:
    """One row of a topology: ``dims`` in the order of its format's columns (after the name)."""

    name: str
    row: int
    dims: tuple[int, ...]


def _read_lines(path: Path) -> list[str]:
    text = read_bounded_text(path, limit_bytes=MAX_CSV_BYTES, what="a SCALE-Sim topology CSV",
                             error_type=WorkloadError, encoding="utf-8-sig")
    return text.splitlines()


def _cells(line: str) -> list[str]:
    cells = [c.strip() for c in line.split(",")]
    if len(cells) > 1 and cells[-1] == "":
        cells.pop()  # the trailing comma SCALE-Sim expects
    return cells


def _where(row: int, col: int, columns: tuple[str, ...]) -> str:
    name = columns[col] if col < len(columns) else "extra"
    return f"row {row}, column {col + 1} ({name})"


def _detect(header: list[str], source: str) -> tuple[str, ...]:
    low = [c.lower() for c in header]
    if len(low) in (4, 5) and low[1:4] == ["m", "n", "k"]:
        return GEMM_COLUMNS
    if len(low) in (8, 9):
        return CONV_COLUMNS
    raise WorkloadError(source, "row 1", "not a SCALE-Sim topology header: expected 8 conv columns ("
                        + ", ".join(CONV_COLUMNS) + ") or GEMM columns (Layer name, M, N, K), "
                        f"got {len(header)} cells")


def _parse_row(cells: list[str], row: int, columns: tuple[str, ...], source: str) -> Layer:
    n = len(columns)
    if len(cells) == n + 1:
        ratio = re.fullmatch(r"(\d+)\s*:\s*(\d+)", cells[-1])
        if not ratio or ratio.group(1) != ratio.group(2):
            raise WorkloadError(source, _where(row, n, columns),
                                f"only a dense N:M sparsity column (e.g. 1:1) is accepted, got {cells[-1]!r}")
        cells = cells[:n]
    if len(cells) != n:
        col = min(len(cells), n)
        raise WorkloadError(source, _where(row, col, columns), f"expected {n} columns, got {len(cells)}")
    if not cells[0] or len(cells[0]) > 200:
        raise WorkloadError(source, _where(row, 0, columns), "layer name must be 1 to 200 characters")
    dims = []
    for col in range(1, n):
        text = cells[col]
        if not re.fullmatch(r"\+?\d{1,12}", text) or not 0 < int(text) <= MAX_DIM:
            raise WorkloadError(source, _where(row, col, columns),
                                f"must be a positive integer up to {MAX_DIM}, got {text!r}")
        dims.append(int(text))
    if columns is CONV_COLUMNS:
        h, w, fh, fw = dims[:4]
        if fh > h:
            raise WorkloadError(source, _where(row, 3, columns), f"filter height {fh} larger than IFMAP height {h}")
        if fw > w:
            raise WorkloadError(source, _where(row, 4, columns), f"filter width {fw} larger than IFMAP width {w}")
    return Layer(name=cells[0], row=row, dims=tuple(dims))


def parse_topology(path: Path) -> tuple[tuple[str, ...], tuple[Layer, ...]]:
    """The format's columns and the layers of a topology file, validated.

    Raises:
        WorkloadError: naming the file, the row and the column of the first problem.
    """
    source = str(path)
    lines = [(i + 1, line) for i, line in enumerate(_read_lines(path)) if line.strip()]
    if not lines:
        raise WorkloadError(source, "", "empty file: expected a header row and at least one layer")
    columns = _detect(_cells(lines[0][1]), source)
    layers: list[Layer] = []
    seen: dict[str, int] = {}
    for row, line in lines[1:]:
        layer = _parse_row(_cells(line), row, columns, source)
        if layer.name in seen:
            raise WorkloadError(source, _where(row, 0, columns),
                                f"duplicate layer name {layer.name!r} (first on row {seen[layer.name]})")
        seen[layer.name] = row
        if len(layers) >= MAX_OPS:
            raise WorkloadError(source, f"row {row}", f"more than {MAX_OPS} layers")
        layers.append(layer)
    if not layers:
        raise WorkloadError(source, "row 2", "no layers: the file has only a header")
    return columns, tuple(layers)


def conv_layer_op(layer: Layer, *, batch: int) -> tuple[Op, tuple[int, ...]]:
    """The CONV2D op of a conv row and its NCHW output shape, with SCALE-Sim's output size and GEMM.

    Example:
        >>> op, shape = conv_layer_op(Layer("c", 2, (224, 224, 7, 7, 3, 64, 2)), batch=1)
        >>> op.gemms[0], shape
        (Gemm(m=12100, n=64, k=147, count=1), (1, 64, 110, 110))
    """
    h, w, fh, fw, c, filters, s = layer.dims
    oh, ow = ceil_div(h - fh + s, s), ceil_div(w - fw + s, s)
    depthwise = "DP" in layer.name  # SCALE-Sim's own test (topology_utils.load_arrays_conv)
    groups = c if depthwise else 1
    gemm = Gemm(m=batch * oh * ow, n=filters, k=fh * fw * (c // groups), count=groups)
    out_ch = filters * groups
    params = gemm.k * gemm.n * groups
    op = Op(layer.name, OpKind.CONV2D, flops=float(gemm.flops), input_elems=batch * c * h * w,
            output_elems=batch * out_ch * oh * ow, param_elems=params, weight_read_elems=params, gemms=(gemm,),
            attrs=(("in_ch", c), ("out_ch", out_ch), ("h", h), ("w", w), ("kernel", f"{fh}x{fw}"), ("stride", s),
                   ("groups", groups), ("out_h", oh), ("out_w", ow), ("scalesim_row", layer.row)))
    return op, (batch, out_ch, oh, ow)


def gemm_layer_op(layer: Layer, *, batch: int) -> tuple[Op, tuple[int, ...]]:
    """The MATMUL op of a GEMM row (M x K) @ (K x N), M times ``batch``, and its output shape."""
    m, n, k = layer.dims
    op = matmul(layer.name, batch=batch, m=m, k=k, n=n, bias=False)
    return op.renamed(layer.name, attrs=op.attrs + (("scalesim_row", layer.row),)), (batch * m, n)


def build_topology(shape: Shape, *, columns: tuple[str, ...], layers: tuple[Layer, ...], name: str,
                   source: str) -> ComputeGraph:
    """The chain graph of a parsed topology at ``shape.batch_size`` (other shape fields are unused).

    Raises:
        WorkloadError: a layer is too large at this batch size.
    """
    batch = shape.batch_size
    fmt = "conv" if columns is CONV_COLUMNS else "gemm"
    b = GraphBuilder(name, batch=batch, source=source, meta={"format": f"scalesim-{fmt}"})
    x = None
    for layer in layers:
        op, out_shape = (conv_layer_op if fmt == "conv" else gemm_layer_op)(layer, batch=batch)
        if op.gemms[0].macs > MAX_LAYER_MACS:
            raise WorkloadError(source, f"row {layer.row}", f"layer {layer.name!r} has more than "
                                f"{MAX_LAYER_MACS:.0e} MACs at batch {batch}")
        if x is None:
            in_shape = (batch, *layer.dims[4:5], *layer.dims[:2]) if fmt == "conv" else (batch * layer.dims[0],
                                                                                       layer.dims[2])
            x = b.input(in_shape)
        x = b.add(op, [x], out_shape)
    return b.build()


def _workload_name(path: Path) -> str:
    name = re.sub(r"[^a-z0-9_.\-]+", "-", path.stem.lower()).strip("-._")[:80].rstrip("-._")
    return name or "scalesim-topology"


def load_scalesim_csv(path: str | Path) -> Workload:
    """Load a SCALE-Sim topology CSV (conv or GEMM format) as a workload built at any batch size.

    Raises:
        WorkloadError: unreadable, binary, empty or oversized file; wrong column count; a non-integer,
            zero or negative size; a filter larger than its IFMAP; a duplicate layer name
            (file, row and column named).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "mlp.csv"
        >>> _ = p.write_text("Layer, M, N, K,\\nfc1,1,256,784,\\nfc2,1,10,256,\\n")
        >>> wl = load_scalesim_csv(p)
        >>> [op.gemms[0] for op in wl.build(batch_size=8).ops]
        [Gemm(m=8, n=256, k=784, count=1), Gemm(m=8, n=10, k=256, count=1)]
    """
    path = Path(path)
    source = str(path)
    columns, layers = parse_topology(path)
    fmt = "conv" if columns is CONV_COLUMNS else "GEMM"
    name = _workload_name(path)
    builder = functools.partial(build_topology, columns=columns, layers=layers, name=name, source=source)
    return Workload(name=name, family="scalesim-csv", params=None, source=source,
                    description=f"SCALE-Sim {fmt} topology {path.name}: {len(layers)} layers in a chain",
                    defaults={"batch_size": 1}, task="image", uses_seq_len=False, uses_image_size=False,
                    builder=builder)
