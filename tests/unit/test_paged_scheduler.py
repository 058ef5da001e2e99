"""The paged iteration scheduler (engine/llm_serving.py) on traces small enough to work out by hand:
chunked prefill under a token budget, preemption by recompute and by swap, prefix caching, reserved
admission; and its refusals."""
from __future__ import annotations

import pytest

from simulator.engine.llm_serving import IterationWork, PagedRun, run_paged

ONE_SECOND = lambda w: (1.0, 0.0)  # noqa: E731  every iteration takes 1 s: times count iterations


def _recorder(cost=ONE_SECOND):
    seen: list[IterationWork] = []

    def iteration(w: IterationWork):
        seen.append(w)
        return cost(w)
    return seen, iteration


def test_three_requests_chunked_prefill_schedule_by_hand():
    """Budget 8 tokens per iteration, blocks of 4, 1 s per iteration.

    A (t=0, prompt 10, 2 outputs), B (t=0, prompt 5, 3 outputs), C (t=1.5, prompt 3, 1 output).
      it 1 [0,1]: A gets 8 of its 10 prompt tokens; the budget is spent, B waits.
      it 2 [1,2]: A its last 2 (past 8), B admitted with its 5 (C not there yet at t=1): both first tokens at 2.
      it 3 [2,3]: A and B decode (past 10 and 5); C admitted with 3: A done (2 outputs), C done (1 output).
      it 4 [3,4]: B decodes (past 6): its 3rd output, done.
    """
    seen, cost = _recorder()
    t = run_paged(PagedRun(arrivals_s=[0.0, 0.0, 1.5], prompt_len=[10, 5, 3], output_len=[2, 3, 1],
                           iteration=cost, kv_blocks=100, block_tokens=4, token_budget=8, chunked_prefill=True))
    assert t.start_s == (0.0, 1.0, 2.0)
    assert t.first_token_s == (2.0, 2.0, 3.0)
    assert t.finish_s == (3.0, 4.0, 3.0)
    assert seen == [IterationWork(decode=0, decode_past=0, chunks=1, chunk_tokens=8, chunk_past=0),
                    IterationWork(decode=0, decode_past=0, chunks=2, chunk_tokens=7, chunk_past=8),
                    IterationWork(decode=2, decode_past=15, chunks=1, chunk_tokens=3, chunk_past=0),
                    IterationWork(decode=1, decode_past=6, chunks=0, chunk_tokens=0, chunk_past=0)]
    assert [b.phase for b in t.batches] == ["prefill", "prefill", "mixed", "decode"]
    # blocks after each iteration: A 2 (8 tokens); A 3 + B 2; A and C leave, B 2 (6 tokens); B leaves
    assert [u for _, _, u in t.kv_samples] == [2, 5, 2, 0]


def test_without_chunking_a_prompt_waits_for_a_budget_that_holds_it_whole():
    """Same trace, budget 12, no chunking: A (10) alone in it 1 (B's 5 would pass 12); B joins it 2 with
    A's first decode (1 + 5 = 6 tokens); C (t=1.5) joins it 3."""
    t = run_paged(PagedRun(arrivals_s=[0.0, 0.0, 1.5], prompt_len=[10, 5, 3], output_len=[2, 3, 1],
                           iteration=ONE_SECOND, kv_blocks=100, block_tokens=4, token_budget=12,
                           chunked_prefill=False))
    assert t.first_token_s == (1.0, 2.0, 3.0)
    assert t.finish_s == (2.0, 4.0, 3.0)


def test_recompute_preemption_by_hand():
    """Two requests of prompt 4, 6 outputs, blocks of 4 tokens, 4 blocks in all, 1 s per iteration.
    Each reaches 8 cached tokens (2 blocks) after it 5; in it 6 both need a 3rd block and none is free:
    B (admitted last) is preempted, dropping its 8 cached tokens; A takes a block and finishes at 6.
    At t = 6 B prefills again its 4 prompt + 5 produced tokens (3 blocks) and emits its 6th token."""
    seen, cost = _recorder()
    t = run_paged(PagedRun(arrivals_s=[0.0, 0.0], prompt_len=[4, 4], output_len=[6, 6], iteration=cost,
                           kv_blocks=4, block_tokens=4, token_budget=None))
    assert t.finish_s == (6.0, 7.0)
    assert t.first_token_s == (1.0, 1.0)
    assert t.preemptions == ((5.0, 0, 1, "recompute", 8),)
    assert seen[-1] == IterationWork(decode=0, decode_past=0, chunks=1, chunk_tokens=9, chunk_past=0)


def test_swap_preemption_by_hand():
    """As above with swap: B's 2 blocks go to the host (0.1 s each, added to it 6: A finishes at 6.2);
    in it 7 B comes back (2 blocks copied in, 0.2 s, plus a 3rd block for its next token) and emits its
    6th token at 6.2 + 1.2."""
    t = run_paged(PagedRun(arrivals_s=[0.0, 0.0], prompt_len=[4, 4], output_len=[6, 6], iteration=ONE_SECOND,
                           kv_blocks=4, block_tokens=4, token_budget=None, preemption="swap", swap_blocks=10,
                           swap_s_per_block=0.1))
    assert t.finish_s == pytest.approx((6.2, 7.4))
    assert t.preemptions == ((5.0, 0, 1, "swap", 8),)


def test_swap_falls_back_to_recompute_when_the_host_is_full():
    t = run_paged(PagedRun(arrivals_s=[0.0, 0.0], prompt_len=[4, 4], output_len=[6, 6], iteration=ONE_SECOND,
                           kv_blocks=4, block_tokens=4, token_budget=None, preemption="swap", swap_blocks=1,
                           swap_s_per_block=0.1))
    assert t.preemptions[0][3] == "recompute" and t.finish_s == (6.0, 7.0)


def test_reserving_the_whole_request_never_preempts():
    """TensorRT-LLM's GUARANTEED_NO_EVICT: each needs ceil((4 + 6) / 4) = 3 blocks at admission; with 4
    blocks only A runs, B starts when A leaves at 6 and finishes 6 iterations later."""
    t = run_paged(PagedRun(arrivals_s=[0.0, 0.0], prompt_len=[4, 4], output_len=[6, 6], iteration=ONE_SECOND,
                           kv_blocks=4, block_tokens=4, token_budget=None, reserve_full=True))
    assert t.preemptions == ()
    assert t.start_s == (0.0, 6.0) and t.finish_s == (6.0, 12.0)


def test_prefix_cache_hit_skips_the_shared_blocks_by_hand():
    """Prefill costs 1 s + 0.1 s per new token. A and B (t = 5) share an 8-token prefix of their 10-token
    prompts: A prefills 10 tokens (2 s); B finds 8 cached tokens (2 whole blocks) and prefills 2 after
    them (1.2 s). Hit rate: 8 of the 20 prompt tokens looked up."""
    cost = lambda w: (1.0 + 0.1 * w.chunk_tokens, 0.0)  # noqa: E731
    run = dict(arrivals_s=[0.0, 5.0], prompt_len=[10, 10], output_len=[1, 1], iteration=cost, kv_blocks=16,
               block_tokens=4, prefix_id=[3, 3], prefix_len=[8, 8])
    cached = run_paged(PagedRun(**run, prefix_caching=True))
    assert cached.finish_s == pytest.approx((2.0, 6.2))
    assert cached.prefix_hit_tokens == 8 and cached.prefix_query_tokens == 20
    plain = run_paged(PagedRun(**run, prefix_caching=False))
    assert plain.finish_s == pytest.approx((2.0, 7.0)) and plain.prefix_hit_tokens == 0


def test_a_fully_cached_prompt_still_computes_its_last_token():
    """A prompt of exactly its 8-token prefix: vLLM recomputes the last block's tokens so that the
    model has a position to emit from: the hit is 4 tokens (one block), not 8."""
    cost = lambda w: (1.0 + 0.1 * w.chunk_tokens, 0.0)  # noqa: E731
    t = run_paged(PagedRun(arrivals_s=[0.0, 5.0], prompt_len=[8, 8], output_len=[1, 1], iteration=cost, kv_blocks=16,
                           block_tokens=4, prefix_id=[0, 0], prefix_len=[8, 8], prefix_caching=True))
    assert t.prefix_hit_tokens == 4 and t.finish_s[1] == pytest.approx(6.4)


def test_unused_cached_prefixes_are_evicted_before_anything_is_preempted():
    """Group 0's cached prefix (2 blocks) outlives A; B (another group) needs all 4 blocks: the entry
    is evicted, B is never preempted."""
    t = run_paged(PagedRun(arrivals_s=[0.0, 3.0], prompt_len=[8, 12], output_len=[1, 4], iteration=ONE_SECOND,
                           kv_blocks=4, block_tokens=4, token_budget=None, prefix_caching=True,
                           prefix_id=[0, 1], prefix_len=[8, 4]))
    assert t.preemptions == ()
    assert t.finish_s == (1.0, 7.0)


def test_max_num_seqs_caps_the_running_batch():
    t = run_paged(PagedRun(arrivals_s=[0.0] * 3, prompt_len=[4] * 3, output_len=[2] * 3, iteration=ONE_SECOND,
                           kv_blocks=100, block_tokens=4, max_num_seqs=2))
    assert t.finish_s == (2.0, 2.0, 4.0)


def test_replicas_share_the_queue():
    t = run_paged(PagedRun(arrivals_s=[0.0] * 3, prompt_len=[4] * 3, output_len=[2] * 3, iteration=ONE_SECOND,
                           kv_blocks=100, block_tokens=4, max_num_seqs=1, replicas=3))
    assert t.finish_s == (2.0, 2.0, 2.0) and sorted({b.replica for b in t.batches}) == [0, 1, 2]


@pytest.mark.parametrize("run, words", [
    (dict(prompt_len=[60], output_len=[10], kv_blocks=4, block_tokens=16), "need 5 KV blocks"),
    (dict(prompt_len=[600], output_len=[10], kv_blocks=400, token_budget=512, chunked_prefill=False),
     "enable chunked_prefill"),
    (dict(prompt_len=[6], output_len=[1], kv_blocks=4, preemption="evict"), "preemption: unknown 'evict'"),
])
def test_refusals_name_the_problem(run, words):
    with pytest.raises(ValueError, match=words):
        run_paged(PagedRun(arrivals_s=[0.0], iteration=ONE_SECOND, **run))


def test_same_inputs_same_trace():
    run = PagedRun(arrivals_s=[0.0, 0.1, 0.1, 0.4], prompt_len=[30, 7, 50, 9], output_len=[5, 9, 3, 12],
                   iteration=lambda w: (0.01 + 1e-4 * w.tokens, 1.0), kv_blocks=20, block_tokens=4, token_budget=16)
    assert run_paged(run) == run_paged(run)


def test_speculative_decoding_yields_the_expected_tokens_per_step_by_hand():
    """1.875 tokens per decode step (k = 3 draft tokens accepted with probability 0.5:
    (1 - 0.5^4) / (1 - 0.5)); a 1-token prompt and 8 outputs at 1 s per iteration: the prefill gives
    token 1 at t = 1; the steps then keep floor(1.875 t) - floor(1.875 (t - 1)) = 1, 2, 2, 2 tokens:
    outputs 2, 4, 6, 8, done at t = 5 (t = 8 without speculation)."""
    seen, cost = _recorder()
    t = run_paged(PagedRun(arrivals_s=[0.0], prompt_len=[1], output_len=[8], iteration=cost, kv_blocks=16,
                           block_tokens=4, tokens_per_decode=1.875))
    assert t.first_token_s == (1.0,) and t.finish_s == (5.0,)
    assert [w.decode for w in seen] == [0, 1, 1, 1, 1]
    assert [used for _, _, used in t.kv_samples] == [1, 1, 1, 2, 0]  # 1, 2, 4, 6 tokens cached; then freed


def test_a_prefilled_request_decodes_from_its_second_token():
    """The decode pool of a disaggregated deployment: prompt 10 and its first token arrive together;
    blocks of 4: ceil(11 / 4) = 3 blocks at admission; two decode steps (past 10, then 11) give
    tokens 2 and 3."""
    seen, cost = _recorder()
    t = run_paged(PagedRun(arrivals_s=[0.5], prompt_len=[10], output_len=[3], iteration=cost, kv_blocks=8,
                           block_tokens=4, prefilled=True))
    assert t.finish_s == (2.5,) and t.start_s == (0.5,)
    assert seen == [IterationWork(decode=1, decode_past=10, chunks=0, chunk_tokens=0, chunk_past=0),
                    IterationWork(decode=1, decode_past=11, chunks=0, chunk_tokens=0, chunk_past=0)]
    assert [used for _, _, used in t.kv_samples] == [3, 0] and t.prefix_hit_tokens == 0
