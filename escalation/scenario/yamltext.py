"""Reading YAML text that a user wrote (scenario, sweep and calibration files, ``--set`` and
``--param`` values) safely: whatever the text, the result is data or a :class:`yaml.YAMLError`
with the line and the problem, never a traceback, a hang or gigabytes of memory.

On top of :class:`yaml.SafeLoader` the reader refuses:

- a key written twice in one mapping (YAML would silently keep the last);
- an impossible date (``2020-02-30``), which PyYAML lets escape as a bare ``ValueError``;
- nesting deeper than :data:`MAX_DEPTH` levels (PyYAML composes recursively and would hit
  Python's recursion limit);
- a document whose anchors and aliases expand to more than :data:`MAX_VALUES` values, or nest
  deeper than :data:`MAX_DEPTH` once expanded (an "alias bomb": a few lines that every later
  copy, merge or message multiplies into gigabytes), and an alias that contains itself.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

#: Deepest nesting of mappings and lists a file or value may have (a scenario needs about 6).
MAX_DEPTH = 50
#: Most values (keys, scalars, lists and mappings) a document may hold once its aliases are
#: expanded; the shipped baseline with everything it extends holds a few thousand.
MAX_VALUES = 100_000

MERGE_TAG = "tag:yaml.org,2002:merge"


class Problem(yaml.MarkedYAMLError):
    """What the reader refuses, with the place in the text (``problem_mark``)."""


class _Loader(yaml.SafeLoader):
    """:class:`yaml.SafeLoader` with the checks listed in the module's docstring."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise Problem(
                    problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> Node | None:
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == MERGE_TAG:
                    continue
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise Problem(
                        problem=f"key {key_node.value!r} is written more than once in this "
                        "mapping; write each key once",
                        problem_mark=key_node.start_mark,
                    )
                seen.add(key)
        # PyYAML also hands it other nodes (`!!map` on a scalar) and raises its own error for
        # them; the stubs admit only mapping nodes
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]

    def construct_yaml_timestamp(self, node: Node) -> Any:
        """A date, or an impossible one (2020-02-30) as its text: the schema then refuses it
        under its key path, where a date is expected."""
        try:
            # any node, as PyYAML passes it (the base refuses one that is not a scalar); the
            # stubs admit only scalar nodes
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except ValueError:
            return node.value


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _check_expansion(root: Node) -> None:
    """Refuse a node graph that expands to more than MAX_VALUES values or MAX_DEPTH levels, or
    that contains itself. Shared nodes (aliases) are measured once, so this is linear in the
    text however large the expansion."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            visiting.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > MAX_VALUES or depth[key] > MAX_DEPTH:
                raise Problem(
                    problem=f"expands, through its anchors (&) and aliases (*), to more than "
                    f"{MAX_VALUES:,} values or {MAX_DEPTH} levels; write the values out",
                    problem_mark=node.start_mark,
                )
            continue
        if key in size:
            continue
        if key in visiting:
            raise Problem(problem="an alias (*) contains itself", problem_mark=node.start_mark)
        visiting.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml(text: str) -> Any:
    """The data in one YAML document ``text``. Raises :class:`yaml.YAMLError` (with
    ``problem`` and ``problem_mark`` where the text is at fault) for broken YAML and for
    everything the module's docstring lists."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def describe(exc: yaml.YAMLError) -> tuple[int | None, str]:
    """The line (1-based, if known) and the problem a YAML error names."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return (mark.line + 1 if mark is not None else None), problem
