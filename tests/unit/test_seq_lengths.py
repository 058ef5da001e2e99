"""Datasets of variable-length samples: padded, unpadded and packed execution, by hand."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import simulator as sim
from simulator.errors import ScenarioError
from simulator.workload.lengths import from_quantiles, lengths_from, load_lengths
from simulator.workload.ops import OpKind, attention_scores


def test_unpadded_graph_has_the_real_tokens_and_each_sequences_square():
    lengths = [100, 300]  # mean 200, E[L^2] = 50,000: sqrt 223.6 -> 224
    sc_seq, attn = lengths_from(lengths).shape("unpadded")
    g = sim.load_workload("bert-base").build(batch_size=2, seq_len=sc_seq, attn_len=attn)
    assert g.op("embed").output_elems == 2 * 200 * 768                 # tokens: 2 x mean
    att = next(g.op(n) for n in g.order if g.op(n).kind == OpKind.ATTENTION)
    assert attention_scores(att) == pytest.approx(2 * 12 * 224 ** 2)   # batch x heads x sqrt(E[L^2])^2


def test_padded_runs_at_the_longest_and_packed_as_unpadded(tmp_path):
    kw = dict(batch_size=32, precision="fp16", stack="tensorrt")
    dist = [64, 128, 256, 384]
    padded = sim.simulate("bert-large", "nvidia-a100-sxm-80gb", seq_len_distribution=dist, packing="padded", **kw)
    unpadded = sim.simulate("bert-large", "nvidia-a100-sxm-80gb", seq_len_distribution=dist, **kw)
    packed = sim.simulate("bert-large", "nvidia-a100-sxm-80gb", seq_len_distribution=dist, packing="packed", **kw)
    assert padded.seq_len == 384 and unpadded.seq_len == 208
    assert unpadded.step_time_s == packed.step_time_s < padded.step_time_s
    csv = tmp_path / "lengths.csv"
    csv.write_text("length\n" + "\n".join(map(str, dist)) + "\n")
    again = sim.simulate("bert-large", "nvidia-a100-sxm-80gb", seq_len_distribution=str(csv), **kw)
    assert again.step_time_s == unpadded.step_time_s


def test_quantile_moments_by_hand():
    d = from_quantiles({0.0: 0.0, 0.5: 100.0, 1.0: 100.0}, "half", "hand")  # uniform [0,100] half, 100 half
    assert d.mean == pytest.approx(75.0) and d.mean_square == pytest.approx(0.5 * 10000 / 3 + 0.5 * 10000)
    scaled = from_quantiles({0.0: 0.0, 1.0: 100.0}, "u", "hand", mean=100.0)  # published mean wins
    assert scaled.mean == 100.0 and scaled.mean_square == pytest.approx(4 * 10000 / 3)


def test_bad_distributions_are_refused():
    with pytest.raises(ScenarioError, match="not a bundled distribution"):
        load_lengths("no-such-dataset")
    with pytest.raises(ScenarioError, match="positive"):
        lengths_from([0, 5])
    with pytest.raises(ScenarioError, match="not both"):
        sim.simulate("bert-base", "nvidia-t4", seq_len=128, seq_len_distribution=[64])
    with pytest.raises(ScenarioError, match="packing"):
        sim.simulate("bert-base", "nvidia-t4", seq_len_distribution=[64], packing="zip")


@given(xs=st.lists(st.integers(1, 512), min_size=1, max_size=40))
def test_unpadded_never_exceeds_padded_work(xs):
    d = lengths_from(xs)
    seq, attn = d.shape("unpadded")
    assert seq <= d.max_len + 1 and attn <= d.max_len + 1       # rounding can add at most one token
    assert d.mean_square >= d.mean ** 2 - 1e-9                   # E[L^2] >= E[L]^2
