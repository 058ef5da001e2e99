"""Sequence-length distributions: datasets of variable-length samples, and how a batch of them runs.

A batch of variable-length sequences runs one of three ways:

* ``padded``: every sequence padded to the longest allowed (``max_len``): what a fixed-shape engine
  does; the work of ``max_len`` tokens per sample.
* ``unpadded``: variable-length kernels (FlashAttention's varlen API, TensorRT's and NVIDIA's MLPerf
  BERT "unpadded" plugins, Megatron's packed sequences with cu_seqlens): per-token ops run on the real
  tokens only, ``mean`` per sample, and attention on each sequence's own square, ``E[L^2]`` scores
  per sample.
* ``packed``: sequences concatenated into rows of ``max_len`` with a block-diagonal mask: the same
  work as unpadded (the padding at the end of each row is small) and one attention square per
  original sequence.

A simulation at a single shape reproduces the unpadded work exactly in both terms: the graph's
per-token ops are built at ``seq_len = mean`` and its attention at ``attn_len = sqrt(E[L^2])``, so
a batch of B samples has ``B * mean`` tokens and ``B * E[L^2]`` attention scores.

Distributions are named files ``workloads/distributions/<name>.yaml`` (quantiles with their
source), a CSV of lengths (one column ``length``, or the first column), or a list of lengths.
"""
from __future__ import annotations

import csv
import functools
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..bundled import data_root
from ..errors import ScenarioError, WorkloadError
from ..yamlio import read_bounded_text, read_yaml_file

PACKINGS = ("padded", "unpadded", "packed")
MAX_LENGTHS_FILE_BYTES = 20_000_000


@dataclass(frozen=True)
class LengthDist:
    """A distribution of sequence lengths (tokens): ``mean``, ``mean_square`` (E[L^2]), ``max_len``.

    Example:
        >>> d = lengths_from([100, 300])
        >>> d.mean, d.mean_square, d.max_len, d.attention_len
        (200.0, 50000.0, 300, 224)
    """

    name: str
    mean: float
    mean_square: float
    max_len: int
    source: str = ""
    quantiles: tuple[tuple[float, float], ...] = ()

    def quantile(self, q: float) -> float:
        """The length at cumulative probability ``q`` (linear between the known quantiles).

        Example:
            >>> lengths_from([100, 200, 300, 400]).quantile(0.5)
            250.0
        """
        pts = self.quantiles
        for (p0, a), (p1, b) in zip(pts, pts[1:]):
            if p0 <= q <= p1:
                return a if p1 == p0 else a + (b - a) * (q - p0) / (p1 - p0)
        return float(self.max_len)

    @property
    def attention_len(self) -> int:
        """sqrt(E[L^2]), rounded: the square attention of that side has the distribution's mean scores."""
        return max(1, round(math.sqrt(self.mean_square)))

    def shape(self, packing: str) -> tuple[int, int | None]:
        """(seq_len, attn_len) a graph is built at for ``packing`` (see the module docstring).

        Raises:
            ScenarioError: an unknown packing.

        Example:
            >>> lengths_from([100, 300]).shape("unpadded"), lengths_from([100, 300]).shape("padded")
            ((200, 224), (300, None))
        """
        if packing not in PACKINGS:
            raise ScenarioError(f"packing: must be one of {', '.join(PACKINGS)}, got {packing!r}")
        if packing == "padded":
            return self.max_len, None
        return max(1, round(self.mean)), self.attention_len


def lengths_from(values: Sequence[float], name: str = "lengths", source: str = "") -> LengthDist:
    """The distribution of a list of lengths (every length a positive number).

    Raises:
        ScenarioError: an empty list or a length that is not a positive finite number.
    """
    xs = [float(v) for v in values]
    if not xs or not all(math.isfinite(x) and x > 0 for x in xs):
        raise ScenarioError(f"{name}: lengths must be a non-empty list of positive numbers")
    xs.sort()
    n = len(xs)
    qs = tuple((i / (n - 1) if n > 1 else 1.0, x) for i, x in enumerate(xs)) if n > 1 else ((0.0, xs[0]), (1.0, xs[0]))
    return LengthDist(name=name, mean=sum(xs) / n, mean_square=sum(x * x for x in xs) / n,
                      max_len=int(math.ceil(max(xs))), source=source, quantiles=qs)


def from_quantiles(q: dict[float, float], name: str, source: str, max_len: int | None = None,
                   mean: float | None = None) -> LengthDist:
    """Moments of a distribution given by quantiles (the CDF linear between them).

    ``mean`` (published) replaces the quantiles' mean when given; E[L^2] keeps the quantiles' shape,
    scaled to that mean.

    Example:
        >>> d = from_quantiles({0.0: 0.0, 1.0: 100.0}, "uniform", "hand")   # uniform on [0, 100]
        >>> d.mean, round(d.mean_square, 1)
        (50.0, 3333.3)
    """
    pts = sorted((float(p), float(v)) for p, v in q.items())
    if len(pts) < 2 or pts[0][0] != 0.0 or pts[-1][0] != 1.0:
        raise ScenarioError(f"{name}: quantiles need at least the 0.0 and 1.0 points")
    m1 = m2 = 0.0
    for (p0, a), (p1, b) in zip(pts, pts[1:]):
        w = p1 - p0
        m1 += w * (a + b) / 2
        m2 += w * (a * a + a * b + b * b) / 3  # E[X^2] of a uniform on [a, b]
    if mean is not None and m1 > 0:
        m2 *= (mean / m1) ** 2
        m1 = mean
    return LengthDist(name=name, mean=m1, mean_square=m2, max_len=int(max_len or math.ceil(pts[-1][1])),
                      source=source, quantiles=tuple(pts))


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, Path]:
    """Bundled distributions by name (``workloads/distributions/*.yaml``). Raises nothing."""
    root = data_root("workloads") / "distributions"
    return {p.stem: p for p in sorted(root.glob("*.yaml"))} if root.is_dir() else {}


def _from_yaml(path: Path, part: str) -> LengthDist:
    raw = read_yaml_file(path)
    block = raw.get(part) if isinstance(raw, dict) else None
    if not isinstance(block, dict) or not isinstance(block.get("quantiles"), dict):
        raise WorkloadError(str(path), part, "expected a mapping with quantiles (and optionally mean, count)")
    try:
        q = {float(k): float(v) for k, v in block["quantiles"].items()}
    except (TypeError, ValueError):
        raise WorkloadError(str(path), f"{part}.quantiles", "expected numbers") from None
    return from_quantiles(q, str(raw.get("name", path.stem)), str(raw.get("source", "")),
                          max_len=raw.get("max_len"), mean=block.get("mean"))


def _from_csv(path: Path) -> LengthDist:
    text = read_bounded_text(path, limit_bytes=MAX_LENGTHS_FILE_BYTES, what="a CSV of lengths")
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    col = header.index("length") if "length" in header else 0
    body = rows[1:] if header and not header[col].replace(".", "").isdigit() else rows
    try:
        return lengths_from([float(r[col]) for r in body if r], name=path.name, source=str(path))
    except (ValueError, IndexError):
        raise WorkloadError(str(path), "length", "every row needs a positive number") from None


def load_lengths(spec: "str | Path | Sequence[float] | LengthDist", part: str = "input") -> LengthDist:
    """A distribution by bundled name, YAML or CSV path, or list of lengths (``part``: which lengths
    of a generation dataset a YAML gives, ``input`` or ``output``).

    Raises:
        ScenarioError: an unknown name or bad list; WorkloadError: a bad file (file and field named).

    Example:
        >>> load_lengths([128, 256]).max_len
        256
    """
    if isinstance(spec, LengthDist):
        return spec
    if not isinstance(spec, (str, Path)):
        return lengths_from(list(spec))
    text = str(spec)
    if text in catalogue():
        return _from_yaml(catalogue()[text], part)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        return _from_yaml(path, part)
    if path.suffix.lower() == ".csv" and path.is_file():
        return _from_csv(path)
    known = ", ".join(catalogue()) or "none bundled"
    raise ScenarioError(f"seq_len_distribution: {text!r} is not a bundled distribution ({known}) or a .yaml/.csv file")
