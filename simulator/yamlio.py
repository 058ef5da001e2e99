"""Safe YAML reading shared by every loader: no code execution, no duplicate keys, bounded size.

``yaml.SafeLoader`` never constructs Python objects; on top of it we refuse duplicate keys,
documents over :data:`MAX_FILE_BYTES`, more than :data:`MAX_ALIASES` aliases (billion-laughs
bombs) and nesting deeper than :data:`MAX_DEPTH`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ALIASES = 50
MAX_DEPTH = 40


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases and nesting and rejects duplicate mapping keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} YAML aliases (possible alias bomb)")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.YAMLError(f"document nested deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"unhashable mapping key {key!r}", key_node.start_mark) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml_text(text: str, source: str) -> Any:
    """Parse YAML ``text``; errors become :class:`SpecError` naming ``source`` and the line.

    Example:
        >>> parse_yaml_text("a: 1", "x.yaml")
        {'a': 1}
    """
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise SpecError(source, "", f"file is larger than the {MAX_FILE_BYTES // 1024} KiB limit")
    if "\x00" in text:
        raise SpecError(source, "", "file is binary, not YAML text")
    try:
        loader = _StrictLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SpecError(source, "", f"invalid YAML: {exc.problem or exc.context}{where}") from None
    except yaml.YAMLError as exc:
        raise SpecError(source, "", f"invalid YAML: {exc}") from None
    except RecursionError:
        raise SpecError(source, "", "document is nested too deeply") from None


def read_yaml_file(path: Path) -> Any:
    """Read and parse a YAML file with the limits above.

    Raises:
        SpecError: missing, unreadable, too large, binary or malformed file.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SpecError(str(path), "", f"cannot read file: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise SpecError(str(path), "", f"file is larger than the {MAX_FILE_BYTES // 1024} KiB limit")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(str(path), "", f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(str(path), "", "file is not UTF-8 text (binary?)") from None
    return parse_yaml_text(text, str(path))
