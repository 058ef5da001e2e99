"""Safe YAML reading shared by every loader: no code execution, no duplicate keys, bounded size.

``yaml.SafeLoader`` never constructs Python objects; on top of it we refuse duplicate keys and merge
keys, documents over :data:`MAX_FILE_BYTES`, more than :data:`MAX_ALIASES` aliases (billion-laughs
bombs), recursive aliases (a list that contains itself), more than :data:`MAX_NODES` nodes and nesting deeper than :data:`MAX_DEPTH`. Scanning and
parsing run in libyaml's C code when PyYAML has it (pure Python scans ~100 KB/s, so a 2 MB file of
junk would take many seconds); composing stays in Python so that the limits above apply as the
document is read, before anything large is built. Every failure is one :class:`SpecError` on one line.

Exponent floats without a dot (``1e9``) are read as numbers, as YAML 1.2 does (PyYAML's YAML 1.1
would read them as text).
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from .errors import SpecError

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ALIASES = 50
MAX_DEPTH = 40
MAX_NODES = 20_000  # the largest bundled spec has ~300 nodes
MAX_INPUT_FILE_BYTES = 512 * 2**20  # the largest input file any loader reads (an ONNX model)

try:  # libyaml's scanner and parser, with our Python composer and constructor on top
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser as _Parser  # type: ignore[assignment]
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _PyParser(Reader, Scanner, _Parser):  # type: ignore[misc,valid-type]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _Parser.__init__(self)

    _Parser = _PyParser  # type: ignore[misc,assignment]


class _Resolver(Resolver):
    """YAML 1.1 implicit types plus YAML 1.2 exponent floats without a dot (``1e9``, ``-2.5E-3`` is 1.1 already)."""


_Resolver.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
                                list("-+0123456789"))
_MERGE = "tag:yaml.org,2002:merge"


class _StrictLoader(Composer, SafeConstructor, _Resolver, _Parser):  # type: ignore[misc,valid-type]
    """Safe loader that counts aliases, nodes and nesting and rejects duplicate and merge keys."""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        _Resolver.__init__(self)
        self._aliases = 0
        self._depth = 0
        self._nodes = 0
        self._open: set[str] = set()  # anchors of the nodes being composed (an alias to one is a cycle)

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} YAML aliases (possible alias bomb)")
            event = self.peek_event()
            if event.anchor in self._open:
                raise yaml.composer.ComposerError(None, None, f"recursive alias *{event.anchor} (a value that "
                                                  "contains itself)", event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise yaml.YAMLError(f"more than {MAX_NODES} YAML nodes (values, lists and mappings)")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.YAMLError(f"document nested deeper than {MAX_DEPTH} levels")
        anchor = None if self.check_event(yaml.AliasEvent) else self.peek_event().anchor
        if anchor is not None:
            self._open.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open.discard(anchor)

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                raise yaml.constructor.ConstructorError(
                    None, None, "merge keys (<<) are not supported; write the keys out", key_node.start_mark)
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


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_yaml_text(text: str, source: str) -> Any:
    """Parse YAML ``text``; errors become :class:`SpecError` naming ``source`` and the line.

    Raises:
        SpecError: too large, binary, malformed, an alias bomb, too many nodes, too deep, a duplicate key.

    Example:
        >>> parse_yaml_text("a: 1", "x.yaml")
        {'a': 1}
        >>> parse_yaml_text("a: 1\\na: 2", "x.yaml")
        Traceback (most recent call last):
        ...
        simulator.errors.SpecError: x.yaml: invalid YAML: duplicate key 'a' (line 2, column 1)
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
        what = "; ".join(filter(None, [exc.context, exc.problem]))
        raise SpecError(source, "", f"invalid YAML: {_one_line(what)}{where}") from None
    except yaml.YAMLError as exc:
        raise SpecError(source, "", f"invalid YAML: {_one_line(exc)}") from None
    except RecursionError:
        raise SpecError(source, "", "document is nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # e.g. a 5,000-digit integer, a date 2020-13-45
        raise SpecError(source, "", f"invalid YAML value: {_one_line(exc)}") from None


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


# open without blocking (a FIFO would wait for a writer forever) and without becoming a terminal's owner
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


def read_file_bytes(path: "str | Path", *, limit_bytes: int, what: str,
                    error_type: type[SpecError] = SpecError) -> bytes:
    """Read an untrusted file, refusing anything but a regular file of at most ``limit_bytes`` bytes.

    The one way every loader reads a user's file. The file is opened without blocking and checked with
    ``fstat`` on the opened descriptor (so a symlink swapped after a check cannot slip through): a
    FIFO, ``/dev/zero``, a terminal, a folder or a socket is refused before one byte is read, and at
    most ``limit_bytes + 1`` bytes are ever read, so a file that grows while it is read is refused too.

    Args:
        path: the file (symlinks are followed to what they name).
        limit_bytes: the largest size accepted.
        what: what the file should be, for messages (``"a hardware spec"``).
        error_type: the :class:`SpecError` subclass to raise (``WorkloadError`` for workloads).

    Raises:
        SpecError: (or ``error_type``) missing or unreadable, not a regular file, larger than ``limit_bytes``.

    Example:
        >>> read_file_bytes("/dev/zero", limit_bytes=10, what="a hardware spec")
        Traceback (most recent call last):
        ...
        simulator.errors.SpecError: /dev/zero: a character device, not a regular file; give a hardware spec as a regular file
    """
    source = str(path)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        raise error_type(source[:300], "", f"cannot read file: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _file_kind(info.st_mode)
            raise error_type(source, "", f"{kind}, not a regular file; give {what} as a regular file"
                             if kind != "not a regular file" else f"not a regular file; give {what} as one")
        if info.st_size > limit_bytes:
            raise error_type(source, "", f"file is {info.st_size:,} bytes, above the limit of {limit_bytes:,} bytes "
                                         f"for {what}")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit_bytes:
                raise error_type(source, "", f"file grew past the limit of {limit_bytes:,} bytes for {what} "
                                             "while it was read")
        return b"".join(chunks)
    except OSError as exc:
        raise error_type(source, "", f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def file_stamp(path: "str | Path") -> tuple[int, int]:
    """(modification time in ns, size) of ``path``, or (0, 0) when it cannot be read: part of a loader
    cache's key, so an edited file is read again instead of served stale. ``stat`` never opens the file.

    Example:
        >>> file_stamp("no/such/file")
        (0, 0)
    """
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)


def read_bounded_text(path: Path, *, limit_bytes: int, what: str, error_type: type[SpecError] = SpecError,
                      encoding: str = "utf-8") -> str:
    """Read an untrusted text file (a SCALE-Sim cfg or topology...) with one clear error per problem.

    Args:
        path: the file.
        limit_bytes: largest size accepted.
        what: what the file should be, for messages (``"a SCALE-Sim cfg"``).
        error_type: the :class:`SpecError` subclass to raise (``WorkloadError`` for workloads).
        encoding: ``"utf-8"`` or ``"utf-8-sig"`` (accepts a byte-order mark).

    Raises:
        SpecError: (or ``error_type``) missing or unreadable, not a regular file, larger than
            ``limit_bytes``, binary, not UTF-8 (see :func:`read_file_bytes`).

    Example:
        >>> read_bounded_text(Path("no/such.cfg"), limit_bytes=10, what="a cfg")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        simulator.errors.SpecError: no/such.cfg: cannot read file: ...
    """
    source = str(path)
    data = read_file_bytes(path, limit_bytes=limit_bytes, what=what, error_type=error_type)
    if b"\0" in data:
        raise error_type(source, "", f"not {what}: the file is binary")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise error_type(source, "", f"not {what}: not UTF-8 text (byte {exc.start})") from None


def read_yaml_file(path: Path) -> Any:
    """Read and parse a YAML file with the limits above.

    Raises:
        SpecError: missing, unreadable, not a regular file (a FIFO, a device), too large, binary or
            malformed file.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     p = Path(tmp) / "chip.yaml"
        ...     _ = p.write_text("bandwidth_gbs: 1e3\\nname: chip\\n")
        ...     read_yaml_file(p)
        {'bandwidth_gbs': 1000.0, 'name': 'chip'}
        >>> read_yaml_file(Path("no/such/file.yaml"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        simulator.errors.SpecError: no/such/file.yaml: cannot read file: ...
    """
    raw = read_file_bytes(path, limit_bytes=MAX_FILE_BYTES, what="a YAML file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(str(path), "", f"file is not UTF-8 text (binary?): bad byte at offset {exc.start}") from None
    return parse_yaml_text(text, str(path))
