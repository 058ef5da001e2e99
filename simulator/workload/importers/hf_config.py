"""Read a Hugging Face ``config.json`` of a decoder LLM as a ``transformer`` :class:`Workload`.

Only the file is read (no network, no weights, no ``transformers`` import). The ``model_type`` picks a
mapping from the architecture's config keys onto :class:`~simulator.workload.families.transformer.TransformerParams`;
each mapping encodes what that architecture's modelling code builds (defaults taken from the
``transformers`` config classes: an absent key means the class default, e.g. Gemma ties its
embeddings, Llama does not). What does not change the work or the weights is ignored: rotary
scaling and theta, norm epsilons, dropout, sliding windows (the attention is costed over the whole
context), logit soft-capping, Gemma's embedding scale and Gemma 2's extra norms (2 x hidden
parameters per layer, under 0.01 % of the model). Quantization configs are ignored too: choose the
format with ``precision`` / ``weight_precision``.

Supported ``model_type`` values: :data:`MODEL_TYPES`. Anything else is refused with the list.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

from pydantic import ValidationError

from ...errors import WorkloadError
from ...yamlio import read_bounded_text
from ..families import FAMILIES
from ..workload import Workload

__all__ = ["load_hf_config", "hf_params", "MODEL_TYPES"]

MAX_JSON_BYTES = 1024 * 1024  # config.json files are a few kB; tokenizer files are not configs
DEFAULT_SEQ_CAP = 4096  # default seq_len: the model's context, at most this (a 128k default would be slow)
_MISSING = object()


class _Config:
    """Typed reads of one config mapping; every error names the file and the key."""

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.raw, self.source = raw, source

    def _get(self, key: str, default: Any) -> Any:
        v = self.raw.get(key, default)
        if v is _MISSING:
            raise WorkloadError(self.source, key, f"missing (needed for model_type {self.raw.get('model_type')!r})")
        return v

    def integer(self, key: str, default: Any = _MISSING, *, zero: bool = False) -> int:
        v = self._get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < (0 if zero else 1) or v > 10**8:
            raise WorkloadError(self.source, key, f"must be a {'non-negative' if zero else 'positive'} "
                                                  f"integer up to 1e8, got {v!r}")
        return v

    def opt_int(self, key: str) -> int | None:
        return None if self.raw.get(key) is None else self.integer(key)

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        v = self._get(key, default)
        if not isinstance(v, bool):
            raise WorkloadError(self.source, key, f"must be true or false, got {v!r}")
        return v

    def act(self, key: str, default: str, gated: bool) -> str:
        v = self._get(key, default)
        if not isinstance(v, str):
            raise WorkloadError(self.source, key, f"must be an activation name, got {v!r}")
        if v in ("silu", "swish"):
            return "swiglu" if gated else "relu"  # a plain SiLU MLP costs like ReLU's one op per element
        if v.startswith("gelu"):
            return "geglu" if gated else "gelu"
        if v == "relu":
            return "relu"
        raise WorkloadError(self.source, key, f"unsupported activation {v!r}; known: silu, gelu*, relu")

    def only(self, key: str, allowed: Any) -> None:
        """Refuse a value other than ``allowed`` (absent counts as allowed)."""
        v = self.raw.get(key, allowed)
        if v != allowed:
            raise WorkloadError(self.source, key, f"{v!r} is not supported (only {allowed!r}): the MoE layers "
                                                  "would not be every layer after the dense ones")


def _llama_like(c: _Config, *, tie: bool, qkv_bias: bool | None = None, act: str = "hidden_act",
                act_default: str = "silu") -> dict[str, Any]:
    """Llama and its descendants: pre-RMSNorm, rotary, gated MLP, GQA, no biases unless stated."""
    heads = c.integer("num_attention_heads")
    bias = c.flag("attention_bias", False)
    out = dict(layers=c.integer("num_hidden_layers"), hidden=c.integer("hidden_size"), heads=heads,
               kv_heads=c.integer("num_key_value_heads", heads), head_dim=c.opt_int("head_dim"),
               ffn=c.integer("intermediate_size"), ffn_activation=c.act(act, act_default, True),
               vocab=c.integer("vocab_size"), positions="rotary", max_positions=c.integer("max_position_embeddings", 2048),
               norm="rmsnorm", norm_position="pre", causal=True, qkv_bias=bias if qkv_bias is None else qkv_bias,
               out_bias=bias, mlp_bias=c.flag("mlp_bias", False), tie_embeddings=c.flag("tie_word_embeddings", tie))
    return out


def _llama(c: _Config) -> dict[str, Any]:
    return _llama_like(c, tie=False)


def _qwen2(c: _Config) -> dict[str, Any]:
    return _llama_like(c, tie=False, qkv_bias=True)  # Qwen2: biases on q, k, v; none on o


def _gemma(c: _Config) -> dict[str, Any]:
    # Gemma's config names the activation hidden_activation (hidden_act in early files); it ties embeddings
    key = "hidden_activation" if "hidden_activation" in c.raw else "hidden_act"
    return _llama_like(c, tie=True, act=key, act_default="gelu_pytorch_tanh")


def _mixtral(c: _Config) -> dict[str, Any]:
    out = _llama_like(c, tie=False)
    out.update(experts=c.integer("num_local_experts"), top_k=c.integer("num_experts_per_tok"))
    return out


def _qwen2_moe(c: _Config) -> dict[str, Any]:
    out = _llama_like(c, tie=False, qkv_bias=True)
    c.only("decoder_sparse_step", 1)
    c.only("mlp_only_layers", [])
    shared = c.integer("shared_expert_intermediate_size", 0, zero=True)
    out.update(experts=c.integer("num_experts"), top_k=c.integer("num_experts_per_tok"),
               expert_ffn=c.integer("moe_intermediate_size"), shared_expert_ffn=shared, shared_expert_gate=shared > 0)
    return out


def _qwen3(c: _Config) -> dict[str, Any]:
    return _llama_like(c, tie=False)  # no q/k/v bias; the q/k norms are 2 x head_dim parameters per layer


def _qwen3_moe(c: _Config) -> dict[str, Any]:
    out = _llama_like(c, tie=False)
    c.only("decoder_sparse_step", 1)
    c.only("mlp_only_layers", [])
    out.update(experts=c.integer("num_experts"), top_k=c.integer("num_experts_per_tok"),
               expert_ffn=c.integer("moe_intermediate_size"))
    return out


def _deepseek(c: _Config) -> dict[str, Any]:
    """DeepSeek-MoE (``model_type: deepseek``): fine-grained routed experts plus shared ones, the
    first ``first_k_dense_replace`` layers dense."""
    out = _llama_like(c, tie=False)
    c.only("moe_layer_freq", 1)
    width = c.integer("moe_intermediate_size")
    out.update(experts=c.integer("n_routed_experts"), top_k=c.integer("num_experts_per_tok"), expert_ffn=width,
               shared_expert_ffn=c.integer("n_shared_experts", 0, zero=True) * width,
               first_dense_layers=c.integer("first_k_dense_replace", 0, zero=True))
    return out


def _gpt2(c: _Config) -> dict[str, Any]:
    hidden = c.integer("n_embd")
    return dict(layers=c.integer("n_layer"), hidden=hidden, heads=c.integer("n_head"), ffn=c.opt_int("n_inner") or 4 * hidden,
                ffn_activation=c.act("activation_function", "gelu_new", False), vocab=c.integer("vocab_size"),
                positions="learned", max_positions=c.integer("n_positions", 1024), norm="layernorm",
                norm_position="pre", causal=True, tie_embeddings=c.flag("tie_word_embeddings", True))


def _gptj(c: _Config) -> dict[str, Any]:
    hidden = c.integer("n_embd")
    return dict(layers=c.integer("n_layer"), hidden=hidden, heads=c.integer("n_head"), ffn=c.opt_int("n_inner") or 4 * hidden,
                ffn_activation=c.act("activation_function", "gelu_new", False), vocab=c.integer("vocab_size"),
                positions="rotary", max_positions=c.integer("n_positions", 2048), norm="layernorm",
                norm_position="pre", causal=True, parallel_residual=True, qkv_bias=False, out_bias=False,
                mlp_bias=True, lm_head_bias=True, tie_embeddings=c.flag("tie_word_embeddings", False))


def _gpt_neox(c: _Config) -> dict[str, Any]:
    # GPT-NeoX's parallel residual normalises attention and MLP inputs separately (one LayerNorm more per
    # layer than GPT-J's: 2 x hidden parameters, ignored)
    bias = c.flag("attention_bias", True)
    return dict(layers=c.integer("num_hidden_layers"), hidden=c.integer("hidden_size"), heads=c.integer("num_attention_heads"),
                ffn=c.integer("intermediate_size"), ffn_activation=c.act("hidden_act", "gelu", False),
                vocab=c.integer("vocab_size"), positions="rotary", max_positions=c.integer("max_position_embeddings", 2048),
                norm="layernorm", norm_position="pre", causal=True,
                parallel_residual=c.flag("use_parallel_residual", True), qkv_bias=bias, out_bias=bias,
                mlp_bias=True, tie_embeddings=c.flag("tie_word_embeddings", False))


# model_type -> mapping; the families each covers are in the docstring of load_hf_config
MODEL_TYPES: dict[str, Callable[[_Config], dict[str, Any]]] = {
    "llama": _llama, "mistral": _llama, "phi3": _llama, "qwen2": _qwen2, "qwen3": _qwen3, "gemma": _gemma,
    "gemma2": _gemma, "mixtral": _mixtral, "qwen2_moe": _qwen2_moe, "qwen3_moe": _qwen3_moe, "deepseek": _deepseek,
    "gpt2": _gpt2, "gptj": _gptj, "gpt_neox": _gpt_neox,
}


def hf_params(raw: Any, source: str) -> dict[str, Any]:
    """The ``transformer`` family params of a parsed ``config.json`` mapping.

    Raises:
        WorkloadError: not a mapping, no or unknown ``model_type``, or a key missing or of the wrong type
            (naming ``source`` and the key).

    Example:
        >>> p = hf_params({"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
        ...                "num_attention_heads": 32, "intermediate_size": 11008, "vocab_size": 32000}, "x.json")
        >>> p["kv_heads"], p["ffn_activation"], p["tie_embeddings"]
        (32, 'swiglu', False)
    """
    if not isinstance(raw, dict):
        raise WorkloadError(source, "", f"expected a JSON object at the top level, got {type(raw).__name__}")
    kind = raw.get("model_type")
    if isinstance(raw.get("text_config"), dict) and kind not in MODEL_TYPES:
        raise WorkloadError(source, "model_type", f"{kind!r} is a multimodal wrapper; give the text model's config")
    if kind not in MODEL_TYPES:
        raise WorkloadError(source, "model_type", f"unsupported {kind!r}; supported: {', '.join(sorted(MODEL_TYPES))}")
    return {k: v for k, v in MODEL_TYPES[kind](_Config(raw, source)).items() if v is not None}


def _name(raw: dict[str, Any], path: Path) -> str:
    named = raw.get("_name_or_path")
    if isinstance(named, str) and named.strip():
        text = named.rstrip("/").rsplit("/", 1)[-1]
    else:
        text = path.parent.name if path.stem == "config" and path.parent.name else path.stem
    return re.sub(r"[^a-z0-9_.\-]", "-", text.lower())[:80] or "hf-model"


def load_hf_config(path: Path) -> Workload:
    """A decoder LLM from its Hugging Face ``config.json`` (read locally; never downloaded).

    Covers Llama 2/3/3.1 and Mistral (``llama``, ``mistral``), Mixtral, Qwen2/2.5 and Qwen3 (with their
    MoE variants), Gemma and Gemma 2, Phi-3 (``phi3``), GPT-2, GPT-J, GPT-NeoX / Pythia, and
    DeepSeek-MoE (``deepseek``: routed plus shared experts, dense first layers). The workload's name is
    the config's ``_name_or_path`` (or its folder for a file called ``config.json``); its default shape
    is batch 1 at the model's context length, capped at 4,096 tokens.

    Raises:
        WorkloadError: unreadable or invalid JSON, unknown ``model_type``, or a bad key (file and key named).

    Example:
        >>> from simulator.bundled import data_root
        >>> wl = load_hf_config(data_root("hf_configs") / "llama-2-7b.json")
        >>> wl.name, wl.params.layers, round(wl.build(batch_size=1, seq_len=8).parameters / 1e9, 3)
        ('llama-2-7b-hf', 32, 6.738)
    """
    source = str(path)
    text = read_bounded_text(path, limit_bytes=MAX_JSON_BYTES, what="a Hugging Face config.json",
                             error_type=WorkloadError)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkloadError(source, "", f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    params = hf_params(raw, source)
    fam = FAMILIES["transformer"]
    try:
        p = fam.params.model_validate(params)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise WorkloadError(source, "", f"maps to an invalid transformer ({'.'.join(map(str, err['loc']))}: "
                                        f"{err['msg']})") from None
    seq = min(p.max_positions or DEFAULT_SEQ_CAP, DEFAULT_SEQ_CAP)
    return Workload(name=_name(raw, path), family="transformer", params=p, source=source,
                    description=f"Hugging Face {raw['model_type']} config", defaults={"batch_size": 1, "seq_len": seq},
                    task=fam.task, uses_seq_len=fam.uses_seq_len, uses_image_size=fam.uses_image_size)
