"""Bounded parsing of untrusted JSON, Python literals and YAML found next to training logs.

Every reader that parses structured text goes through here, so one file (or one line)
nested a thousand deep, or a YAML "billion laughs" alias bomb, becomes a typed error the
reader turns into a warning naming the file, instead of a ``RecursionError`` or a hang.

The bounds are far above what real logs and configs use and far below what breaks the
interpreter or the machine.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

# Real metric records and configs nest fewer than 10 levels (an HF ``log_history`` entry is 3,
# a Lightning hparams tree rarely 6); 100 leaves ample room and stays far under Python's
# recursion limit (1000) even when a caller walks the parsed data recursively.
MAX_NESTING = 100
# A YAML config uses a handful of anchors; an alias bomb needs many to grow exponentially.
MAX_YAML_ALIASES = 1_000
# Nodes of a YAML document once every alias is expanded: the largest real hparams/config
# files hold a few thousand; a million keeps the walk well under a second.
MAX_YAML_NODES = 1_000_000
# A config or meta file over this size is no config: refuse before parsing it.
MAX_YAML_BYTES = 16 * 1024 * 1024

# A JSON string literal (escapes included): its brackets do not nest.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
# A Python string literal, single or double quoted (for ``ast.literal_eval`` input).
_PY_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', re.DOTALL)
_OPEN = np.frombuffer(b"[{(", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]})", dtype=np.uint8)


class TooComplex(ValueError):
    """Structured text nested or aliased beyond the bounds above (a ValueError, like bad JSON)."""


class YamlTooComplex(yaml.YAMLError):
    """A YAML document beyond the bounds (a YAMLError, so YAML callers report it as bad YAML)."""


def nesting_depth(text: str, *, python: bool = False) -> int:
    """How deep brackets nest in ``text``, string literals ignored (0 for flat text).

    Cheap when it matters: text with fewer opening brackets than :data:`MAX_NESTING`
    cannot nest deeper and is answered by counting alone.
    """
    opens = text.count("[") + text.count("{") + (text.count("(") if python else 0)
    if opens <= MAX_NESTING:
        return min(opens, MAX_NESTING)
    bare = (_PY_STRING if python else _JSON_STRING).sub("", text)
    codes = np.frombuffer(bare.encode("utf-8", errors="replace"), dtype=np.uint8)
    step = np.isin(codes, _OPEN).astype(np.int32) - np.isin(codes, _CLOSE).astype(np.int32)
    return int(np.cumsum(step).max(initial=0))


def check_nesting(text: str, *, python: bool = False) -> None:
    """Raise :class:`TooComplex` when ``text`` nests deeper than :data:`MAX_NESTING`."""
    depth = nesting_depth(text, python=python)
    if depth > MAX_NESTING:
        raise TooComplex(f"nested more than {MAX_NESTING} levels deep")


def json_loads(text: str | bytes, **kwargs: Any) -> Any:
    """``json.loads`` that refuses nesting deeper than :data:`MAX_NESTING` (:class:`TooComplex`)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    check_nesting(text)
    try:
        return json.loads(text, **kwargs)
    except RecursionError:  # only reachable if the bound were raised past the interpreter's
        raise TooComplex("nested too deeply to read") from None


def json_load_file(path: Path, **kwargs: Any) -> Any:
    """A whole JSON file through :func:`json_loads` (read as UTF-8)."""
    return json_loads(Path(path).read_text(encoding="utf-8"), **kwargs)


def literal_eval(text: str) -> Any:
    """``ast.literal_eval`` bounded like :func:`json_loads` (a printed Python dict or list)."""
    check_nesting(text, python=True)
    try:
        return ast.literal_eval(text)
    except (RecursionError, MemoryError):
        raise TooComplex("nested too deeply to read") from None


class BoundedSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses alias bombs and deep nesting before constructing anything.

    PyYAML builds aliases as shared references, so ``safe_load`` of a billion-laughs file is
    quick; the blow-up comes when the data is walked. The composed node graph is therefore
    measured as if every alias were expanded (memoised, so the check itself is linear) and
    refused past :data:`MAX_YAML_NODES`; recursive aliases are refused outright.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise YamlTooComplex(f"more than {MAX_YAML_ALIASES} aliases (an alias bomb?)")
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise YamlTooComplex(f"nested more than {MAX_NESTING} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node: Any) -> Any:  # noqa: D102 - PyYAML hook
        _check_expanded_size(node)
        return super().construct_document(node)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expanded_size(root: Any) -> None:
    """Raise when ``root`` expands past :data:`MAX_YAML_NODES` nodes or refers to itself."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > MAX_YAML_NODES:
                raise YamlTooComplex(f"expands to more than {MAX_YAML_NODES:,} values (an alias bomb?)")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YamlTooComplex("an alias refers to the node that contains it (endless data)")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)


def yaml_load_text(text: str, loader: type[BoundedSafeLoader] = BoundedSafeLoader) -> Any:
    """Parse YAML text with ``loader`` (a :class:`BoundedSafeLoader` subclass)."""
    return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass


def yaml_load_file(path: Path, loader: type[BoundedSafeLoader] = BoundedSafeLoader) -> Any:
    """Parse a YAML file, refusing files over :data:`MAX_YAML_BYTES` (raises ``yaml.YAMLError``)."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise YamlTooComplex(f"{size:,} bytes: too large for a config file (limit {MAX_YAML_BYTES:,})")
    return yaml_load_text(path.read_text(encoding="utf-8"), loader)
