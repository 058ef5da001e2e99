"""LLM request traces: a CSV file of requests, or a named synthetic mix with its sources.

A :class:`RequestTrace` is what a serving run replays: per request its arrival time (s), prompt and
output lengths (tokens), and an optional prefix group (requests of one group share their first
``prefix_len`` prompt tokens, e.g. a system prompt; prefix caching reuses that part's KV cache).

* :func:`load_requests` reads ``arrival_s, prompt_len, output_len[, prefix_id, prefix_len]`` (CSV with a
  header; ``prefix_len`` is required with ``prefix_id``: how many of the prompt's first tokens the
  group shares).
* :func:`request_mix` draws a named mix from ``request_mixes/<name>.yaml`` (bundled; each distribution
  parameter with its source): Poisson (or all-at-once) arrivals at ``rate_per_s`` for ``duration_s``,
  lognormal prompt and output lengths, prefix groups. Deterministic: the same seed gives the same
  trace, and a higher rate with the same seed compresses the same arrival pattern (common random
  numbers), so the rate is the only thing that changes.
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..bundled import data_root
from ..errors import InputError, ScenarioError, SpecError
from ..validation_errors import spec_error_from_validation
from ..yamlio import read_bounded_text, read_yaml_file

__all__ = ["RequestTrace", "load_requests", "request_mix", "list_request_mixes", "fit_to_context", "MAX_REQUESTS"]

MAX_REQUESTS = 1_000_000  # ~400-800 B of per-request trace each: under 1 GB
MAX_TOKENS = 10_000_000
MAX_CSV_BYTES = 512 * 1024 * 1024
COLUMNS = ("arrival_s", "prompt_len", "output_len", "prefix_id", "prefix_len")


@dataclass(frozen=True, eq=False)
class RequestTrace:
    """Requests to serve, in arrival order. Times in s, lengths in tokens; ``prefix_id`` -1 for none.

    Example:
        >>> t = RequestTrace.build([0.0, 0.5], [100, 200], [10, 20], name="two")
        >>> len(t), t.prompt_tokens, t.output_tokens, t.duration_s
        (2, 300, 30, 0.5)
    """

    arrival_s: np.ndarray = field(repr=False)
    prompt_len: np.ndarray = field(repr=False)
    output_len: np.ndarray = field(repr=False)
    prefix_id: np.ndarray = field(repr=False)
    prefix_len: np.ndarray = field(repr=False)
    name: str = "trace"
    source: str = ""

    @classmethod
    def build(cls, arrival_s, prompt_len, output_len, prefix_id=None, prefix_len=None, *, name: str = "trace",
              source: str = "") -> "RequestTrace":
        """A trace from sequences, checked: same lengths, times non-decreasing and finite, lengths >= 1,
        a prefix no longer than its prompt.

        Raises:
            ScenarioError: naming the field and the first bad request.
        """
        t = np.asarray(arrival_s, dtype=float)
        n = len(t)
        p = np.asarray(prompt_len, dtype=np.int64)
        o = np.asarray(output_len, dtype=np.int64)
        g = np.full(n, -1, dtype=np.int64) if prefix_id is None else np.asarray(prefix_id, dtype=np.int64)
        q = np.zeros(n, dtype=np.int64) if prefix_len is None else np.asarray(prefix_len, dtype=np.int64)
        if not 1 <= n <= MAX_REQUESTS:
            raise ScenarioError(f"requests: a trace needs 1..{MAX_REQUESTS} requests, got {n}")
        for key, a in (("prompt_len", p), ("output_len", o), ("prefix_id", g), ("prefix_len", q)):
            if len(a) != n:
                raise ScenarioError(f"{key}: {len(a)} values for {n} arrivals")
        checks = (("arrival_s", ~np.isfinite(t) | (t < 0), "must be finite and >= 0"),
                  ("arrival_s", np.r_[False, np.diff(t) < 0], "must be non-decreasing"),
                  ("prompt_len", (p < 1) | (p > MAX_TOKENS), f"must be in 1..{MAX_TOKENS}"),
                  ("output_len", (o < 1) | (o > MAX_TOKENS), f"must be in 1..{MAX_TOKENS}"),
                  ("prefix_len", (q < 0) | (q > p), "must be in 0..prompt_len"),
                  ("prefix_len", (g >= 0) & (q == 0), "must be > 0 for a request in a prefix group"))
        for key, bad, what in checks:
            if bad.any():
                raise ScenarioError(f"{key}: {what} (request {int(np.argmax(bad))})")
        q = np.where(g >= 0, q, 0)
        return cls(t, p, o, g, q, name=name, source=source)

    def __len__(self) -> int:
        return len(self.arrival_s)

    @property
    def duration_s(self) -> float:
        """Time from the first arrival to the last (s)."""
        return float(self.arrival_s[-1] - self.arrival_s[0])

    @property
    def rate_per_s(self) -> float:
        """Mean arrival rate (requests/s); inf when every request arrives at once."""
        d = self.duration_s
        return (len(self) - 1) / d if d > 0 else math.inf

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens of every request."""
        return int(self.prompt_len.sum())

    @property
    def output_tokens(self) -> int:
        """Output tokens of every request."""
        return int(self.output_len.sum())

    def head(self, n: int) -> "RequestTrace":
        """The first ``n`` requests."""
        return RequestTrace(self.arrival_s[:n], self.prompt_len[:n], self.output_len[:n], self.prefix_id[:n],
                            self.prefix_len[:n], name=self.name, source=self.source)

    def to_csv(self) -> str:
        """The trace as CSV text that :func:`load_requests` reads back."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(COLUMNS)
        for row in zip(self.arrival_s.tolist(), self.prompt_len.tolist(), self.output_len.tolist(),
                       self.prefix_id.tolist(), self.prefix_len.tolist()):
            w.writerow((repr(row[0]), *row[1:]))
        return out.getvalue()

    def summary(self) -> dict:
        """Counts and mean lengths, JSON-ready."""
        grouped = self.prefix_id >= 0
        return {"name": self.name, "requests": len(self), "duration_s": self.duration_s,
                "rate_per_s": self.rate_per_s, "prompt_len_mean": float(self.prompt_len.mean()),
                "output_len_mean": float(self.output_len.mean()), "prefix_groups": int(len(np.unique(
                    self.prefix_id[grouped]))), "prefix_share": float(grouped.mean()), "source": self.source}


def _cell(path: Path, line: int, key: str, text: str | None, *, integer: bool) -> float:
    if text is None or not text.strip():
        raise InputError(f"{path}: line {line}: {key}: missing value")
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"{path}: line {line}: {key}: not a number: {text!r}") from None
    if not math.isfinite(v) or (integer and v != int(v)):
        raise InputError(f"{path}: line {line}: {key}: bad value {text!r}")
    return v


def load_requests(path: "str | Path") -> RequestTrace:
    """Read a request trace CSV: a header with ``arrival_s``, ``prompt_len``, ``output_len`` and
    optionally ``prefix_id`` with ``prefix_len``; one request per line, arrivals non-decreasing.

    Raises:
        InputError: unreadable file, missing column, bad number (naming file, line and column).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "r.csv")
        >>> _ = open(p, "w").write("arrival_s,prompt_len,output_len\\n0.0,128,16\\n0.25,64,8\\n")
        >>> t = load_requests(p)
        >>> len(t), t.prompt_len.tolist()
        (2, [128, 64])
    """
    p = Path(path)
    text = read_bounded_text(p, limit_bytes=MAX_CSV_BYTES, what="a request trace CSV", error_type=SpecError,
                             encoding="utf-8-sig")
    rows = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(rows) < 2:
        raise InputError(f"{p}: a request trace needs a header line and at least one request")
    reader = csv.reader(rows)
    header = [h.strip() for h in next(reader)]
    missing = [c for c in COLUMNS[:3] if c not in header]
    if missing:
        raise InputError(f"{p}: line 1: missing column(s) {', '.join(missing)}; the header needs "
                         f"arrival_s, prompt_len, output_len[, prefix_id, prefix_len], got {header}")
    if ("prefix_id" in header) != ("prefix_len" in header):
        raise InputError(f"{p}: line 1: prefix_id and prefix_len go together (prefix_len: the prompt tokens "
                         "the group shares)")
    idx = {c: header.index(c) for c in COLUMNS if c in header}
    cols: dict[str, list[float]] = {c: [] for c in idx}
    for k, cells in enumerate(reader, start=2):
        if len(cells) < len(header):
            raise InputError(f"{p}: line {k}: {len(cells)} cells for {len(header)} columns")
        for c, j in idx.items():
            cols[c].append(_cell(p, k, c, cells[j], integer=c != "arrival_s"))
    if len(cols["arrival_s"]) > MAX_REQUESTS:
        raise InputError(f"{p}: more than {MAX_REQUESTS} requests")
    try:
        return RequestTrace.build(cols["arrival_s"], cols["prompt_len"], cols["output_len"], cols.get("prefix_id"),
                                  cols.get("prefix_len"), name=p.stem, source=str(p))
    except ScenarioError as exc:
        line = re.search(r"request (\d+)", str(exc))
        where = f"line {int(line.group(1)) + 2}: " if line else ""
        raise InputError(f"{p}: {where}{exc}") from None


class _Lengths(BaseModel):
    """A lognormal token-length distribution: ``median`` (or ``mean``) of the lengths, ``sigma`` of the
    underlying normal, clipped to 1..``max``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    dist: Literal["lognormal"] = "lognormal"
    median: float | None = Field(default=None, gt=0, le=MAX_TOKENS)
    mean: float | None = Field(default=None, gt=0, le=MAX_TOKENS)
    sigma: float = Field(ge=0, le=4)
    max: int = Field(gt=0, le=MAX_TOKENS)
    source: str = Field(min_length=3)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        mu = math.log(self.median) if self.median else math.log(self.mean) - self.sigma ** 2 / 2
        return np.clip(np.rint(rng.lognormal(mu, self.sigma, size=n)), 1, self.max).astype(np.int64)


class _Prefix(BaseModel):
    """Shared prompt prefixes: ``share`` of the requests belong to one of ``groups`` groups (uniformly),
    and share the group's first ``tokens`` tokens (at most the request's prompt)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    groups: int = Field(ge=0, le=10**6)
    tokens: int = Field(gt=0, le=MAX_TOKENS)
    share: float = Field(ge=0, le=1)
    source: str = Field(min_length=3)


class _Arrival(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    process: Literal["poisson", "offline"]
    source: str = Field(min_length=3)


class RequestMix(BaseModel):
    """A named synthetic request mix (``request_mixes/<name>.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    description: str
    arrival: _Arrival
    prompt_len: _Lengths
    output_len: _Lengths
    prefix: _Prefix | None = None


def _mix_path(name: str) -> Path:
    root = data_root("request_mixes")
    named = {p.stem: p for p in sorted(root.glob("*.yaml"))}
    if name in named:
        return named[name]
    path = Path(name)
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        return path
    raise ScenarioError(f"request mix: unknown {name!r}; choose {', '.join(named)} or give a mix YAML file")


def load_request_mix(name: str) -> RequestMix:
    """The mix called ``name`` (bundled) or read from a YAML path.

    Raises:
        ScenarioError: unknown name; SpecError: an invalid file (naming the key).
    """
    path = _mix_path(name)
    try:
        return RequestMix.model_validate(read_yaml_file(path))
    except ValidationError as exc:
        raise spec_error_from_validation(exc, str(path), RequestMix) from None


def list_request_mixes() -> list[dict[str, str]]:
    """The bundled mixes: ``{"name", "description"}`` each.

    Example:
        >>> sorted(m["name"] for m in list_request_mixes())
        ['batch-offline', 'chat', 'code', 'rag']
    """
    return [{"name": p.stem, "description": load_request_mix(p.stem).description}
            for p in sorted(data_root("request_mixes").glob("*.yaml"))]


def request_mix(name: str, *, rate_per_s: float, duration_s: float, seed: int = 0) -> RequestTrace:
    """``rate_per_s x duration_s`` requests of mix ``name`` (``chat``, ``rag``, ``code``, ``batch-offline``
    or a mix YAML path). Poisson mixes draw exponential gaps at ``rate_per_s``; ``offline`` ones arrive
    all at t = 0. Arrivals, lengths and prefix groups come from three independent child generators of
    ``numpy.random.default_rng(seed)`` (one per column), so changing the rate keeps every request's
    lengths and group and rescales the times.

    Raises:
        ScenarioError: unknown mix, non-positive rate or duration, too many requests.

    Example:
        >>> t = request_mix("chat", rate_per_s=20, duration_s=60, seed=1)
        >>> len(t), float(t.arrival_s[0]), t.name
        (1200, 0.0, 'chat')
        >>> u = request_mix("chat", rate_per_s=40, duration_s=60, seed=1)      # twice the rate, same requests
        >>> bool((u.output_len[:1200] == t.output_len).all()), bool(abs(u.arrival_s[:1200] * 2 - t.arrival_s).max() < 1e-9)
        (True, True)
    """
    for key, v in (("rate_per_s", rate_per_s), ("duration_s", duration_s)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
            raise ScenarioError(f"{key}: must be a positive number, got {v!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ScenarioError(f"seed: must be an integer, got {seed!r}")
    n = int(round(rate_per_s * duration_s))
    if not 1 <= n <= MAX_REQUESTS:
        raise ScenarioError(f"rate_per_s x duration_s: {n} requests; must be in 1..{MAX_REQUESTS}")
    mix = load_request_mix(name)
    # one child generator per column: each request keeps its lengths and group at any n >= its index
    r_arrival, r_prompt, r_output, r_member, r_group = np.random.default_rng(seed).spawn(5)
    if mix.arrival.process == "offline":
        t = np.zeros(n)
    else:
        gaps = r_arrival.standard_exponential(n)
        gaps[0] = 0.0
        t = np.cumsum(gaps) / rate_per_s
    prompts, outs = mix.prompt_len.draw(n, r_prompt), mix.output_len.draw(n, r_output)
    group = np.full(n, -1, dtype=np.int64)
    plen = np.zeros(n, dtype=np.int64)
    pre = mix.prefix
    if pre is not None and pre.groups and pre.share > 0:
        member = r_member.random(n) < pre.share
        g = r_group.integers(0, pre.groups, size=n)
        group = np.where(member, g, -1)
        plen = np.where(member, np.minimum(pre.tokens, prompts), 0)
    return RequestTrace.build(t, prompts, outs, group, plen, name=mix.name,
                              source=f"request mix {mix.name!r} (seed {seed})")


def fit_to_context(trace: "RequestTrace", limit: int) -> tuple["RequestTrace", int]:
    """``trace`` with every request fitted to a model's context of ``limit`` tokens (0: none), and
    how many were cut: the output
    kept (at most the context less one prompt token), the prompt cut to what is left, as chat
    front-ends drop a conversation's oldest turns after its system prompt (the shared prefix, kept
    up to the prompt that is left).

    Example:
        >>> t = RequestTrace.build([0.0, 1.0], [6000, 100], [180, 10], [0, -1], [5000, 0])
        >>> fitted, cut = fit_to_context(t, 4096)                      # Llama 2's context
        >>> fitted.prompt_len.tolist(), fitted.output_len.tolist(), fitted.prefix_len.tolist(), cut
        ([3916, 100], [180, 10], [3916, 0], 1)
    """
    if limit <= 1:
        return trace, 0
    outs = np.minimum(trace.output_len, limit - 1)
    prompts = np.minimum(trace.prompt_len, limit - outs)
    cut = int(np.count_nonzero((prompts != trace.prompt_len) | (outs != trace.output_len)))
    if not cut:
        return trace, 0
    return RequestTrace.build(trace.arrival_s, prompts, outs, trace.prefix_id, np.minimum(trace.prefix_len, prompts),
                              name=trace.name), cut
