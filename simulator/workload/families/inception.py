"""Inception v3 (Szegedy et al. 2016), as torchvision builds it: factorised 1xn / nx1 convolutions,
grid-size reduction blocks, BN after every conv. The auxiliary classifier is training-only and left out.
"""
from __future__ import annotations

from pydantic import Field

from ..graph import GraphBuilder, Tensor
from . import Family, FamilyParams, Shape, register


class InceptionV3Params(FamilyParams):
    """Inception v3 head size and input channels.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> load_workload("inception-v3").params.num_classes
        1000
    """

    in_channels: int = Field(default=3, gt=0, le=1024)
    num_classes: int = Field(default=1000, gt=0, le=10**6)


def _cba(b: GraphBuilder, name: str, x: Tensor, ch: int, k: int | tuple[int, int], stride: int = 1,
         pad: int | tuple[int, int] = 0) -> Tensor:
    """torchvision ``BasicConv2d``: conv (no bias) -> BN -> ReLU, explicit padding."""
    y = b.norm(f"{name}.bn", b.conv(f"{name}.conv", x, ch, k, stride=stride, pad=pad))
    return b.act(f"{name}.relu", y)


def _block_a(b: GraphBuilder, n: str, x: Tensor, pool_features: int) -> Tensor:
    y1 = _cba(b, f"{n}.b1", x, 64, 1)
    y5 = _cba(b, f"{n}.b5_2", _cba(b, f"{n}.b5_1", x, 48, 1), 64, 5, pad=2)
    y3 = _cba(b, f"{n}.b3_1", x, 64, 1)
    y3 = _cba(b, f"{n}.b3_3", _cba(b, f"{n}.b3_2", y3, 96, 3, pad=1), 96, 3, pad=1)
    yp = _cba(b, f"{n}.pool_proj", b.pool(f"{n}.pool", x, 3, 1, 1), pool_features, 1)
    return b.concat(f"{n}.concat", [y1, y5, y3, yp])


def _block_b(b: GraphBuilder, n: str, x: Tensor) -> Tensor:
    y3 = _cba(b, f"{n}.b3", x, 384, 3, stride=2)
    yd = _cba(b, f"{n}.b3d_2", _cba(b, f"{n}.b3d_1", x, 64, 1), 96, 3, pad=1)
    yd = _cba(b, f"{n}.b3d_3", yd, 96, 3, stride=2)
    return b.concat(f"{n}.concat", [y3, yd, b.pool(f"{n}.pool", x, 3, 2)])


def _block_c(b: GraphBuilder, n: str, x: Tensor, c7: int) -> Tensor:
    y1 = _cba(b, f"{n}.b1", x, 192, 1)
    y7 = _cba(b, f"{n}.b7_2", _cba(b, f"{n}.b7_1", x, c7, 1), c7, (1, 7), pad=(0, 3))
    y7 = _cba(b, f"{n}.b7_3", y7, 192, (7, 1), pad=(3, 0))
    yd = _cba(b, f"{n}.b7d_1", x, c7, 1)
    for i, (k, p, ch) in enumerate((((7, 1), (3, 0), c7), ((1, 7), (0, 3), c7), ((7, 1), (3, 0), c7),
                                    ((1, 7), (0, 3), 192)), start=2):
        yd = _cba(b, f"{n}.b7d_{i}", yd, ch, k, pad=p)
    yp = _cba(b, f"{n}.pool_proj", b.pool(f"{n}.pool", x, 3, 1, 1), 192, 1)
    return b.concat(f"{n}.concat", [y1, y7, yd, yp])


def _block_d(b: GraphBuilder, n: str, x: Tensor) -> Tensor:
    y3 = _cba(b, f"{n}.b3_2", _cba(b, f"{n}.b3_1", x, 192, 1), 320, 3, stride=2)
    y7 = _cba(b, f"{n}.b7_2", _cba(b, f"{n}.b7_1", x, 192, 1), 192, (1, 7), pad=(0, 3))
    y7 = _cba(b, f"{n}.b7_4", _cba(b, f"{n}.b7_3", y7, 192, (7, 1), pad=(3, 0)), 192, 3, stride=2)
    return b.concat(f"{n}.concat", [y3, y7, b.pool(f"{n}.pool", x, 3, 2)])


def _split(b: GraphBuilder, n: str, x: Tensor) -> list[Tensor]:
    """The 1x3 and 3x1 pair an InceptionE branch ends in."""
    return [_cba(b, f"{n}a", x, 384, (1, 3), pad=(0, 1)), _cba(b, f"{n}b", x, 384, (3, 1), pad=(1, 0))]


def _block_e(b: GraphBuilder, n: str, x: Tensor) -> Tensor:
    y1 = _cba(b, f"{n}.b1", x, 320, 1)
    y3 = _split(b, f"{n}.b3_2", _cba(b, f"{n}.b3_1", x, 384, 1))
    yd = _cba(b, f"{n}.b3d_2", _cba(b, f"{n}.b3d_1", x, 448, 1), 384, 3, pad=1)
    yp = _cba(b, f"{n}.pool_proj", b.pool(f"{n}.pool", x, 3, 1, 1), 192, 1)
    return b.concat(f"{n}.concat", [y1, *y3, *_split(b, f"{n}.b3d_3", yd), yp])


def build_inception_v3(b: GraphBuilder, p: InceptionV3Params, s: Shape) -> None:
    """Build the ``inception_v3`` family into ``b`` at shape ``s`` (images ``s.image_size`` square,
    299 in the paper).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("inception-v3", batch=1)
        >>> build_inception_v3(b, load_workload("inception-v3").params, Shape(batch_size=1, seq_len=1, image_size=299))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        23.83
    """
    x = b.input((s.batch_size, p.in_channels, s.image_size, s.image_size))
    x = _cba(b, "Conv2d_1a", x, 32, 3, stride=2)
    x = _cba(b, "Conv2d_2b", _cba(b, "Conv2d_2a", x, 32, 3), 64, 3, pad=1)
    x = _cba(b, "Conv2d_3b", b.pool("maxpool1", x, 3, 2), 80, 1)
    x = b.pool("maxpool2", _cba(b, "Conv2d_4a", x, 192, 3), 3, 2)
    for name, pf in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        x = _block_a(b, name, x, pf)
    x = _block_b(b, "Mixed_6a", x)
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        x = _block_c(b, name, x, c7)
    x = _block_e(b, "Mixed_7c", _block_e(b, "Mixed_7b", _block_d(b, "Mixed_7a", x)))
    x = b.flatten(b.global_pool("avgpool", x))
    b.loss("loss", b.linear("fc", x, p.num_classes))


register("inception_v3", Family(InceptionV3Params, build_inception_v3, task="image", uses_seq_len=False,
                                uses_image_size=True))
