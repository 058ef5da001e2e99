"""Optional dependencies: which extra brings which feature, and one check that names it when missing.

The core needs only what pyproject.toml's ``dependencies`` lists; ``accsim[app]`` adds the Streamlit
explorer, ``[onnx]`` ONNX import, ``[dask]`` sweeps on a Dask cluster, ``[dev]`` the test suite.
"""
from __future__ import annotations

import importlib.util

from .errors import MissingExtraError

__all__ = ["EXTRAS", "require", "missing"]

# extra -> the top-level modules it provides (what ``import`` needs)
EXTRAS: dict[str, tuple[str, ...]] = {"app": ("streamlit", "plotly"), "onnx": ("onnx",),
                                      "dask": ("distributed",), "dev": ("hypothesis",)}


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (empty when it is installed).

    Raises:
        KeyError: ``extra`` is not one of :data:`EXTRAS`.

    Example:
        >>> missing("app") in ([], ["streamlit"], ["plotly"], ["streamlit", "plotly"])
        True
    """
    return [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]


def require(extra: str, feature: str) -> None:
    """Raise :class:`~simulator.errors.MissingExtraError` (CLI exit 2) if ``extra`` is not installed.

    Example:
        >>> require("onnx", "ONNX import") if not missing("onnx") else None
    """
    gone = missing(extra)
    if gone:
        raise MissingExtraError(feature, extra, gone)
