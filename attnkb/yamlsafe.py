"""Safe YAML for everything a note holds (front matter, ``attention`` blocks), with limits.

``yaml.safe_load`` builds no Python objects, but it is not safe against a hostile note: an alias
can point into itself (``a: &x [*x]``), a few hundred bytes of nested aliases expand to billions
of nodes ("billion laughs"), deep nesting overflows the recursive composer (the C one crashes the
process), and an impossible date raises ``ValueError`` rather than ``YAMLError``.

So we compose the node graph ourselves, from the C parser's flat event stream, without recursion,
and refuse a document before any expensive work when it nests deeper than ``MAX_DEPTH`` or when
its aliases reach more than ``MAX_ALIAS_NODES`` nodes in total. Every failure, construction
errors included, is a ``yaml.MarkedYAMLError`` carrying the line of the offending node.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, cast

import yaml
from yaml.constructor import ConstructorError
from yaml.error import Mark
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 64  # nested sequences and mappings
MAX_ALIAS_NODES = 10_000  # nodes reached through aliases, counted as if each alias were a copy

try:  # the C parser is ~10x faster than the pure-Python one
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Base = yaml.SafeLoader


class LimitError(yaml.MarkedYAMLError):
    """A document we refuse to expand: too deep, too many alias nodes, or an alias cycle."""


class _Loader(_Base):
    pass


def _reporting(constructor: Any) -> Any:
    """PyYAML's scalar constructors raise ValueError and friends for values such as
    ``2026-02-30`` or ``!!int abc``: report them as YAML errors at the node's line."""

    def construct(loader: Any, node: Node) -> Any:
        try:
            return constructor(loader, node)
        except (ValueError, TypeError, AttributeError, LookupError, OverflowError) as exc:
            kind = str(node.tag).rsplit(":", 1)[-1]
            shown = repr(node.value[:40]) if isinstance(node.value, str) else kind
            raise ConstructorError(None, None, f"invalid {kind} {shown}: {exc}", node.start_mark) from exc

    return construct


_Loader.yaml_constructors = {
    tag: fn if inspect.isgeneratorfunction(fn) else _reporting(fn)
    for tag, fn in _Base.yaml_constructors.items()
}


class _NumbersLoader(_Loader):
    """YAML 1.1 reads ``1e-3`` (no dot) as a string; YAML 1.2, JSON and every user read a number.

    For ``attention`` blocks only, where a value is a number or an error: front matter keeps
    PyYAML's reading, so a note's ``id: 1e5`` stays the text its author wrote.
    """


_NumbersLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load(text: str, exponent_floats: bool = False) -> tuple[Any, Node | None]:
    """The data of a single YAML document and its node tree (None, None when empty).

    ``exponent_floats`` reads ``1e-3`` as a number (see ``_NumbersLoader``). Raises
    ``yaml.YAMLError`` (with ``problem_mark``) for anything malformed or over a limit.
    """
    loader = (_NumbersLoader if exponent_floats else _Loader)(text)
    try:
        node = loader.get_single_node() if _plainly_within_limits(text) else _compose(loader)
        if node is None:
            return None, None
        return loader.construct_document(node), node
    except yaml.scanner.ScannerError as exc:
        # the libyaml of newer PyYAML wheels has a nesting limit of its own, met while it scans
        # ahead through a long run of "[" before our composer sees the level over MAX_DEPTH
        if exc.problem == "exceeded maximum nesting depth":
            raise _too_deep(exc.problem_mark) from exc
        raise
    finally:
        loader.dispose()


def _too_deep(mark: Any) -> LimitError:
    return LimitError(None, None, f"nested deeper than {MAX_DEPTH} levels; refusing it", mark)


def _plainly_within_limits(text: str) -> bool:
    """No alias, and too few indicators to nest MAX_DEPTH deep (every level of nesting needs
    one of ``[{-:?``): then the C composer is safe, and it is what most notes take."""
    return "*" not in text and sum(text.count(c) for c in "[{-:?") < MAX_DEPTH


def _mark(mark: object) -> Mark | None:
    """libyaml's events carry their own Mark class with PyYAML's fields (line, column, buffer);
    the stubs type the two apart, nodes and errors take either."""
    return cast("Mark | None", mark)


class _Open:
    """A collection being composed: its node, its children and its expanded size so far."""

    __slots__ = ("anchor", "children", "node", "size")

    def __init__(self, node: Node, anchor: str | None):
        self.node, self.anchor, self.size = node, anchor, 1
        self.children: list[Node] = []


def _compose(loader: Any) -> Node | None:
    """PyYAML's Composer, made iterative and bounded."""
    loader.get_event()  # stream start
    if loader.check_event(StreamEndEvent):
        return None
    document = loader.get_event()
    anchors: dict[str, tuple[Node, int]] = {}  # anchor -> (node, expanded size)
    open_anchors: set[str] = set()
    stack: list[_Open] = []
    through_aliases = 0
    root: Node | None = None
    while root is None:
        event = loader.get_event()
        size = 1
        if isinstance(event, AliasEvent):
            if event.anchor in open_anchors:
                raise LimitError(
                    None, None, f"alias *{event.anchor} refers to itself", _mark(event.start_mark)
                )
            if event.anchor not in anchors:
                raise LimitError(
                    None, None, f"found undefined alias *{event.anchor}", _mark(event.start_mark)
                )
            node, size = anchors[event.anchor]
            through_aliases += size
            if through_aliases > MAX_ALIAS_NODES:
                raise LimitError(
                    None,
                    None,
                    f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes; refusing to expand them",
                    _mark(event.start_mark),
                )
        elif isinstance(event, ScalarEvent):
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(ScalarNode, event.value, event.implicit)
            node = ScalarNode(
                tag, event.value, _mark(event.start_mark), _mark(event.end_mark), style=event.style
            )
            _anchor(anchors, event, node, 1)
        elif isinstance(event, SequenceStartEvent | MappingStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise _too_deep(_mark(event.start_mark))
            kind = SequenceNode if isinstance(event, SequenceStartEvent) else MappingNode
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(kind, None, event.implicit)
            opened = kind(tag, [], _mark(event.start_mark), None, flow_style=event.flow_style)
            _anchor(anchors, event, opened, 0)
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            stack.append(_Open(opened, event.anchor))
            continue
        elif isinstance(event, CollectionEndEvent):
            done = stack.pop()
            node, size = done.node, done.size
            node.end_mark = _mark(event.end_mark)
            if isinstance(node, MappingNode):
                node.value = list(zip(done.children[::2], done.children[1::2], strict=True))
            else:
                node.value = done.children
            if done.anchor is not None:
                open_anchors.discard(done.anchor)
                anchors[done.anchor] = (node, size)
        else:  # pragma: no cover - the parser emits nothing else inside a document
            raise LimitError(None, None, f"unexpected {type(event).__name__}", _mark(event.start_mark))
        if stack:
            stack[-1].children.append(node)
            stack[-1].size += size
        else:
            root = node
    loader.get_event()  # document end
    if not loader.check_event(StreamEndEvent):
        event = loader.get_event()
        raise yaml.composer.ComposerError(
            "expected a single document in the stream",
            document.start_mark,
            "but found another document",
            _mark(event.start_mark),
        )
    return root


def _anchor(anchors: dict[str, tuple[Node, int]], event: Any, node: Node, size: int) -> None:
    if event.anchor is None:
        return
    if event.anchor in anchors:
        raise yaml.composer.ComposerError(
            f"found duplicate anchor {event.anchor!r}; first occurrence",
            anchors[event.anchor][0].start_mark,
            "second occurrence",
            _mark(event.start_mark),
        )
    anchors[event.anchor] = (node, size)


def duplicate_key(root: Node | None) -> ScalarNode | None:
    """The first key written twice in one mapping, anywhere in the tree (None when none is).

    PyYAML keeps the last value silently, while the lines we report (and the numbers
    ``--update`` rewrites) are found from the first: a block holding both is ambiguous.
    """
    stack, seen_nodes = [root] if root is not None else [], set()
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:  # aliases share nodes: visit each once
            continue
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in keys:
                        return key
                    keys.add(key.value)
                stack += [key, value]
        elif isinstance(node, SequenceNode):
            stack += node.value
    return None
