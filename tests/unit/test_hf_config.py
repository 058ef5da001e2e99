"""Hugging Face config.json files as workloads: every bundled sample against its published parameter
count (source next to each figure), forward FLOPs against 2 x the parameters a token uses, the same
model from a config and from the zoo YAML, and one clear error per bad file."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import simulator as sim
from simulator.bundled import data_root
from simulator.errors import WorkloadError
from simulator.workload.importers.hf_config import MODEL_TYPES

HF = data_root("hf_configs")

# sample -> (published total parameters, source). Exact counts are what the HF model class
# instantiates (sum of p.numel()); rounded ones are the model card's.
PUBLISHED = {
    "llama-2-7b": (6_738_415_616, "HF LlamaForCausalLM(meta-llama/Llama-2-7b-hf) parameter count; Touvron et al. 2023 '7B'"),
    "llama-3.1-8b": (8_030_261_248, "HF LlamaForCausalLM(meta-llama/Llama-3.1-8B) parameter count; model card '8B'"),
    "llama-3.1-70b": (70_553_706_496, "HF LlamaForCausalLM(meta-llama/Llama-3.1-70B) parameter count; model card '70B'"),
    "mistral-7b": (7_241_732_096, "HF MistralForCausalLM(mistralai/Mistral-7B-v0.1) parameter count; Jiang et al. 2023 '7.3B'"),
    "mixtral-8x7b": (46_702_792_704, "HF MixtralForCausalLM(mistralai/Mixtral-8x7B-v0.1); Jiang et al. 2024 '47B total'"),
    "qwen2.5-7b": (7_615_616_512, "Qwen2.5-7B model card: 7.61B parameters (6.53B non-embedding)"),
    "qwen2.5-0.5b": (494_032_768, "Qwen2.5-0.5B model card: 0.49B parameters (0.36B non-embedding), tied embeddings"),
    "qwen1.5-moe-a2.7b": (14.3e9, "Qwen1.5-MoE-A2.7B model card: 14.3B parameters in total, 2.7B activated"),
    "deepseek-moe-16b": (16.4e9, "Dai et al. 2024, DeepSeekMoE (arXiv:2401.06066): 16.4B total parameters"),
    "gemma-7b": (8_537_680_896, "Gemma Team 2024 (arXiv:2403.08295) Table 2: 786,432,000 embedding + 7,751,248,896 non-embedding"),
    "gemma-2-9b": (9_241_705_984, "Gemma Team 2024 (arXiv:2408.00118) Table 1: 917,504,000 embedding + 8,324,201,984 non-embedding"),
    "phi-3-mini-4k": (3.8e9, "Abdin et al. 2024, Phi-3 technical report (arXiv:2404.14219): phi-3-mini, 3.8B parameters"),
    "gpt2": (124_439_808, "HF GPT2LMHeadModel(openai-community/gpt2) parameter count; Radford et al. 2019 '117M' (their count)"),
    "gpt-j-6b": (6_050_882_784, "HF GPTJForCausalLM(EleutherAI/gpt-j-6b) parameter count; model card 6,053,381,344"),
    "gpt-neox-20b": (20_554_567_680, "Black et al. 2022, GPT-NeoX-20B (arXiv:2204.06745) Table 1: 20,554,567,680"),
}
# parameters one token uses (MoE: the routed top-k plus shared experts), as published
ACTIVE = {
    "mixtral-8x7b": (12.9e9, 0.05e9, "Mistral AI, Mixtral of experts (2023): 12.9B active parameters per token"),
    "qwen1.5-moe-a2.7b": (2.7e9, 0.05e9, "Qwen1.5-MoE-A2.7B model card: 2.7B activated parameters"),
    "deepseek-moe-16b": (2.8e9, 0.05e9, "Dai et al. 2024 (arXiv:2401.06066) Table 1: 2.8B activated parameters"),
}


def test_every_sample_has_a_published_figure_and_a_source():
    samples = {p.stem for p in HF.glob("*.json")}
    assert samples == set(PUBLISHED)
    for path in HF.glob("*.json"):
        raw = json.loads(path.read_text())
        assert raw["_source"].startswith("https://huggingface.co/"), path
        assert raw["model_type"] in MODEL_TYPES


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameters_within_one_percent_of_the_published_count(name):
    published, _source = PUBLISHED[name]
    wl = sim.load_workload(HF / f"{name}.json")
    got = wl.build(batch_size=1, seq_len=8).parameters
    assert got == pytest.approx(published, rel=0.01)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_forward_flops_per_token_are_twice_the_parameters_it_uses(name):
    """One token through the model costs 2 FLOPs per weight it multiplies (a multiply and an add):
    every weight but the input embeddings (lookups) for dense models, the routed and shared experts
    for MoE. Norms, activations and attention over one token add under 0.5 % (GPT-2, the smallest)."""
    wl = sim.load_workload(HF / f"{name}.json")
    p = wl.params
    g = wl.build(batch_size=1, seq_len=1, logits="last")
    lookup = 0 if p.tie_embeddings else p.vocab * p.hidden   # tied: the LM head multiplies the table once
    lookup += p.max_positions * p.hidden if p.positions == "learned" else 0
    if name in ACTIVE:
        active, tolerance, _source = ACTIVE[name]
        assert g.flops / 2 + p.vocab * p.hidden == pytest.approx(active, abs=tolerance)
    else:
        assert g.flops / 2 + lookup == pytest.approx(g.parameters, rel=0.005)
        assert g.flops / 2 + lookup == pytest.approx(PUBLISHED[name][0], rel=0.01)


def test_llama_config_builds_the_zoo_llama():
    hf = sim.load_workload(HF / "llama-3.1-8b.json").params
    zoo = sim.load_workload("llama3-8b").params
    same = {k: v for k, v in zoo.model_dump().items() if k != "max_positions"}
    assert {k: v for k, v in hf.model_dump().items() if k != "max_positions"} == same


def test_mixtral_config_builds_the_zoo_mixtral():
    hf = sim.load_workload(HF / "mixtral-8x7b.json").build(batch_size=2, seq_len=64)
    zoo = sim.load_workload("mixtral-8x7b").build(batch_size=2, seq_len=64)
    assert (hf.parameters, hf.flops) == (zoo.parameters, zoo.flops)


def test_deepseek_has_a_dense_first_layer_and_shared_experts():
    wl = sim.load_workload(HF / "deepseek-moe-16b.json")
    p = wl.params
    assert (p.first_dense_layers, p.expert_ffn, p.shared_expert_ffn, p.experts, p.top_k) == (1, 1408, 2816, 64, 6)
    ops = {op.name for op in wl.build(batch_size=1, seq_len=4).ops}
    assert "h0.mlp.up" in ops and "h0.mlp.experts" not in ops
    assert {"h1.mlp.experts", "h1.mlp.shared.up", "h1.mlp.shared.down"} <= ops


def test_hand_count_of_a_tiny_qwen2_moe():
    """hidden 8, 1 layer, 2 heads of 4 (2 KV heads), 4 experts of 6, shared expert 10 with its gate,
    vocab 16: embed 128 + q/k/v 3*(64+8) + o 64 + router 32 + experts 4*3*8*6 + shared 3*8*10 + gate 8
    + norms 2*8 + final norm 8 + head 128."""
    cfg = {"model_type": "qwen2_moe", "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
           "num_key_value_heads": 2, "intermediate_size": 12, "vocab_size": 16, "num_experts": 4,
           "num_experts_per_tok": 2, "moe_intermediate_size": 6, "shared_expert_intermediate_size": 10}
    from simulator.workload.importers.hf_config import hf_params
    from simulator.workload.families.transformer import TransformerParams
    from simulator.workload.workload import Workload

    p = TransformerParams.model_validate(hf_params(cfg, "tiny.json"))
    g = Workload(name="tiny", family="transformer", params=p, source="tiny.json").build(batch_size=1, seq_len=2)
    assert g.parameters == 128 + 3 * 72 + 64 + 32 + 4 * 3 * 8 * 6 + 3 * 8 * 10 + 8 + 2 * 8 + 8 + 128


def _write(tmp_path, raw) -> str:
    path = tmp_path / "config.json"
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw))
    return str(path)


@pytest.mark.parametrize("raw, field, words", [
    ({"model_type": "bert", "hidden_size": 8}, "model_type", "unsupported 'bert'; supported: deepseek"),
    ({"hidden_size": 8}, "model_type", "unsupported None"),
    ({"model_type": "llama", "hidden_size": 8, "num_attention_heads": 2}, "num_hidden_layers", "missing"),
    ({"model_type": "llama", "hidden_size": "big", "num_hidden_layers": 2, "num_attention_heads": 2}, "hidden_size",
     "positive integer"),
    ({"model_type": "llama", "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
      "intermediate_size": 8, "vocab_size": 8, "tie_word_embeddings": "yes"}, "tie_word_embeddings", "true or false"),
    ({"model_type": "qwen2_moe", "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
      "intermediate_size": 8, "vocab_size": 8, "num_experts": 4, "num_experts_per_tok": 2,
      "moe_intermediate_size": 4, "decoder_sparse_step": 2}, "decoder_sparse_step", "not supported"),
    ({"model_type": "llama", "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 3,
      "intermediate_size": 8, "vocab_size": 8}, "", "invalid transformer"),
    ("{not json", "", "not valid JSON: line 1"),
    ("[1, 2]", "", "expected a JSON object"),
])
def test_bad_configs_give_one_clear_error(tmp_path, raw, field, words):
    path = _write(tmp_path, raw)
    with pytest.raises(WorkloadError) as exc:
        sim.load_workload(path)
    assert exc.value.field == field
    assert words in str(exc.value) and path in str(exc.value)


def test_cli_simulates_a_config_and_refuses_an_unknown_model_type(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "simulator", "simulate", "--workload", str(HF / "gpt2.json"),
                         "--hardware", "nvidia-l4", "--seq-len", "64", "--format", "json"],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["workload"] == "gpt2"
    bad = subprocess.run([sys.executable, "-m", "simulator", "simulate", "--workload",
                          _write(tmp_path, {"model_type": "t5"}), "--hardware", "nvidia-l4"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "model_type: unsupported 't5'" in bad.stderr
