"""Workload cells of the measurement rows -> zoo workload names, and the workloads the zoo lacks."""
from __future__ import annotations

import re

# workload string (regex, case-insensitive) -> zoo name; first match wins
WORKLOADS: tuple[tuple[str, str], ...] = (
    # MaxText's synthetic decoders of the per-generation tables (workloads/maxtext-*.yaml)
    *((rf"(?<![\d.]){size}B dense decoder LLM training \(MaxText", f"maxtext-{size}b")
      for size in (16, 22, 32, 52, 64, 128, 256, 512, 1024)),
    (r"se-resnext101-32x4d", "se-resnext101-32x4d"),
    (r"(?<!se-)resnext101-32x4d", "resnext101-32x4d"),
    (r"resnet-50|resnet50", "resnet50"),
    (r"stable diffusion xl", "sdxl"),
    (r"stable diffusion v2", "sd2-unet"),
    (r"bert-large|bert-99", "bert-large"),
    (r"bert-base", "bert-base"),
    (r"gpt-j", "gptj-6b"),
    (r"llama 7b|llama-2-7b|llama2-7b", "llama2-7b"),
    (r"llama[ -]?2[ -]13b", "llama2-13b"),
    (r"mixtral[ -]8x7b", "mixtral-8x7b"),
    (r"llama[ -]?2[ -]70b|llama 70b|llama2-70b", "llama2-70b"),
    (r"llama[ -]?3(\.\d)?[ -]405b", "llama3.1-405b"),
    (r"llama[ -]?3\.[1-3][ -]70b", "llama3.1-70b"),  # Llama 3.1 / 3.3: 128K context
    (r"llama[ -]?3[ -]70b", "llama3-70b"),
    (r"llama[ -]?3\.[1-3][ -]8b", "llama3.1-8b"),
    (r"llama[ -]?3[ -]8b", "llama3-8b"),
    (r"phi-4", "phi-4"),
    (r"efficientnet-b0(?!\d)", "efficientnet-b0"),
    (r"mobilenet v1", "mobilenet-v1"),
    (r"mobilenet v2", "mobilenet-v2"),
    (r"resnet-18|resnet18", "resnet18"),
    (r"resnet-34|resnet34", "resnet34"),
    (r"resnet-101|resnet101", "resnet101"),
    (r"resnet-152|resnet152", "resnet152"),
    (r"vit-base-patch16|vit-b/16|vit-base", "vit-b16"),
    (r"inception v1", "googlenet"),
    (r"vgg16", "vgg16"),
    (r"vgg11", "vgg11"),
    (r"alexnet conv layers", "alexnet-conv"),
    (r"gpt 1\.7b", "megatron-gpt-1.7b"),
    (r"gpt 16b", "megatron-gpt-16b"),
    (r"gpt 177b", "megatron-gpt-177b"),
    (r"gpt 462b", "megatron-gpt-462b"),
    (r"gpt-3 175b", "gpt3-175b"),
)

# Workloads rows name that the zoo does not hold, with what is missing (regex, case-insensitive)
# Detectors whose backbone is in the zoo: refused rather than simulated as the bare backbone (TPU
# rows; the FPGA SSD rows F007-F049 still map to their backbones, for their owner to decide)
BACKBONE_ONLY = (r"\bssd\b", "SSD detection (a MobileNet backbone plus the SSD box-predictor layers and the box "
                              "decoding / NMS post-processing) is not in the zoo: only the classification backbone is")
NOT_IN_ZOO: tuple[tuple[str, str], ...] = (
    (r"deepseek", "DeepSeek-V3 (multi-head latent attention, 256 routed + 1 shared expert) is not in the zoo"),
    (r"llama-4", "Llama 4 Scout (16 routed + 1 shared expert, chunked attention) is not in the zoo"),
)


def zoo_name_of(wl: str) -> str | None:
    for pattern, name in WORKLOADS:
        if re.search(pattern, wl, re.I):
            return name
    return None
