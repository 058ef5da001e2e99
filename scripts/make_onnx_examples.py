"""Build the example ONNX models in ``workloads/examples/`` from small torch models of our own.

Run with a Python that has torch (CPU is enough)::

    python scripts/make_onnx_examples.py            # writes workloads/examples/*.onnx

No pretrained weights are downloaded: every model is initialised from a fixed seed, so the files
depend only on the torch version. Models mirror bundled workloads so the tests can compare an
imported graph against the family-built one:

* ``resnet18.onnx`` - torchvision's ResNet-18 structure (11,689,512 parameters), written here so
  torchvision is not needed; batch normalisation is kept as its own op (not folded into the
  convolutions), so parameter counts match the family build.
* ``mlp.onnx`` - ``workloads/mlp.yaml``: 784-1024-1024-10 with ReLU.
* ``tiny-encoder.onnx`` - a 2-layer post-norm transformer encoder (hidden 128, 4 heads, FFN 512,
  vocab 1000, learned positions up to 128) matching ``TransformerParams(layers=2, hidden=128,
  heads=4, ffn=512, vocab=1000, max_positions=128, norm_position="post", causal=False,
  lm_head=False)``.

* ``tiny-encoder-dynamo.onnx`` (+ ``.onnx.data``) - the same encoder through torch's newer
  ``dynamo=True`` exporter (needs ``onnxscript``; skipped with a note when it is missing). Its
  weights live in an external data file, it uses the ``Gelu`` op, and the exporter's optimiser
  merges initializers that hold equal values: the freshly initialised layer-norm scales (all ones)
  and shifts (all zeros) become one tensor each, so the file holds 540,160 parameters, 1,024 fewer
  than the model (a trained model has distinct values and keeps them all).

The others use the TorchScript exporter (``dynamo=False``), which needs no extra package. The batch
dimension (and the sequence dimension of the encoders) is exported as symbolic, so the importer can
build the graphs at any batch size.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch
from torch import nn

OUT = Path(__file__).resolve().parents[1] / "workloads" / "examples"
OPSET = 17


class BasicBlock(nn.Module):
    """ResNet basic block, as torchvision defines it."""

    def __init__(self, inp: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.down = None
        if stride != 1 or inp != planes:
            self.down = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (self.down(x) if self.down is not None else x))


class ResNet18(nn.Module):
    """torchvision.models.resnet18 without torchvision."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        layers, inp = [], 64
        for stage, planes in enumerate((64, 128, 256, 512)):
            for i in range(2):
                layers.append(BasicBlock(inp, planes, 2 if (i == 0 and stage > 0) else 1))
                inp = planes
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


class Mlp(nn.Module):
    """workloads/mlp.yaml: 784-1024-1024-10."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                                 nn.Linear(1024, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class EncoderLayer(nn.Module):
    """Post-norm encoder layer with explicit matmuls (a fused qkv projection, like the family build)."""

    def __init__(self, hidden: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.heads, self.dim = heads, hidden // heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden)
        self.up = nn.Linear(hidden, ffn)
        self.act = nn.GELU()
        self.down = nn.Linear(ffn, hidden)
        self.ln2 = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, h = x.shape
        q, k, v = self.qkv(x).view(b, s, 3, self.heads, self.dim).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.dim), dim=-1)
        a = (att @ v).transpose(1, 2).reshape(b, s, h)
        x = self.ln1(x + self.out(a))
        return self.ln2(x + self.down(self.act(self.up(x))))


class TinyEncoder(nn.Module):
    """Token + learned position embeddings, embedding layer norm, post-norm encoder layers."""

    def __init__(self, vocab: int = 1000, hidden: int = 128, heads: int = 4, ffn: int = 512, layers: int = 2,
                 max_positions: int = 128) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_positions, hidden)
        self.ln = nn.LayerNorm(hidden)
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads, ffn) for _ in range(layers))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.ln(self.tok(ids) + self.pos(positions))
        for layer in self.layers:
            x = layer(x)
        return x


def export(model: nn.Module, example: torch.Tensor, path: Path, dynamic: dict[str, dict[int, str]]) -> None:
    """Export in eval mode, keeping BatchNormalization as an op (``TrainingMode.PRESERVE`` with the model
    in eval mode and no constant folding into the convolutions)."""
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (example,), str(path), input_names=["input"], output_names=["output"],
                      dynamic_axes=dynamic, opset_version=OPSET, dynamo=False, do_constant_folding=False)
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")


def export_dynamo(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """Export with torch.export (``dynamo=True``): symbolic batch and sequence, weights in ``<name>.data``."""
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError:
        print(f"skipped {path.name}: the dynamo exporter needs onnxscript (pip install onnxscript)")
        return
    model.eval()
    batch, seq = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("seq", min=2, max=128)
    program = torch.onnx.export(model, (example,), dynamic_shapes={"ids": {0: batch, 1: seq}}, dynamo=True)
    program.save(str(path), external_data=True)
    print(f"{path}: {path.stat().st_size / 1e6:.2f} MB + {path.with_suffix('.onnx.data').stat().st_size / 1e6:.1f} MB "
          "external data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.manual_seed(0)
    batch = {"input": {0: "batch"}, "output": {0: "batch"}}
    export(ResNet18(), torch.randn(1, 3, 224, 224), args.out / "resnet18.onnx", batch)
    export(Mlp(), torch.randn(1, 784), args.out / "mlp.onnx", batch)
    seq = {"input": {0: "batch", 1: "seq"}, "output": {0: "batch", 1: "seq"}}
    export(TinyEncoder(), torch.randint(0, 1000, (1, 16)), args.out / "tiny-encoder.onnx", seq)
    torch.manual_seed(0)
    export_dynamo(TinyEncoder(), torch.randint(0, 1000, (2, 16)), args.out / "tiny-encoder-dynamo.onnx")


if __name__ == "__main__":
    main()
