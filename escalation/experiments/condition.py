"""Conditions on outcomes, as a user writes them: ``attacks_on_us < 1000 and spiral < 0.2``.

A small grammar, parsed here and never handed to ``eval``::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" condition ")" | comparison
    comparison := term OP term (OP term)?        OP: < <= > >= == !=
    term       := operand (("*" | "/") operand)*
    operand    := NAME | NUMBER                  NUMBER may carry a sign and an exponent

``a < x < b`` is ``a < x and x < b``; ``attacks_on_us / 55 < 20`` divides by a number (55
months, to speak of a monthly rate). Names are the outcome columns of the table the condition
is evaluated on; :func:`parse_condition` refuses any other with the list of known ones.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import numpy as np
import pandas as pd

from escalation.errors import UserError, did_you_mean

_TOKEN = re.compile(
    r"\s*(?:(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<op><=|>=|==|!=|<|>)"
    r"|(?P<punct>[()*/]))"
)
_COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_WORDS = {"and", "or", "not"}


class Name(NamedTuple):
    """An outcome column."""

    name: str


class Number(NamedTuple):
    value: float


class Arithmetic(NamedTuple):
    """``left * right`` or ``left / right``."""

    left: Term
    op: str
    right: Term


class Compare(NamedTuple):
    left: Term
    op: str
    right: Term


class Both(NamedTuple):
    """Every part holds (``and``)."""

    parts: tuple[Node, ...]


class Either(NamedTuple):
    """Some part holds (``or``)."""

    parts: tuple[Node, ...]


class Negation(NamedTuple):
    part: Node


type Term = Name | Number | Arithmetic
type Node = Compare | Both | Either | Negation


class Token(NamedTuple):
    kind: str
    text: str
    at: int


class ConditionError(UserError):
    """A condition that does not parse, or names an unknown outcome."""

    def __init__(self, condition: str, problem: str) -> None:
        super().__init__(f"condition {condition!r}: {problem}")


class Condition(NamedTuple):
    """A parsed condition: its text, its tree and the outcome names it uses."""

    text: str
    tree: Node
    names: tuple[str, ...]

    def evaluate(self, table: pd.DataFrame) -> np.ndarray:
        """Which rows of ``table`` meet the condition (a missing value meets no comparison)."""
        return _holds(self.tree, table)

    def counts(self, table: pd.DataFrame) -> list[tuple[str, int]]:
        """Each comparison of the condition, as text, with how many rows of ``table`` meet it
        (to say which part a condition that nothing meets fails on)."""
        return [(describe(c), int(_holds(c, table).sum())) for c in _comparisons(self.tree)]


def _tokens(text: str) -> Iterator[Token]:
    at = 0
    while at < len(text):
        if text[at:].strip() == "":
            return
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            stripped = len(text[at:]) - len(text[at:].lstrip())
            raise ConditionError(
                text,
                f"unexpected {text[at + stripped]!r} at character {at + stripped + 1}; expected "
                "outcome names, numbers, comparisons (< <= > >= == !=), * or /, parentheses, "
                "and, or, not",
            )
        group = match.lastgroup or ""
        word = match.group(group)
        kind = word if group == "name" and word in _WORDS else group
        yield Token(kind, word, match.start(group) + 1)
        at = match.end()


class _Parser:
    """Recursive descent over the tokens of one condition."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = list(_tokens(text))
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ConditionError(self.text, "ends too early; expected an outcome or a number")
        self.i += 1
        return token

    def fail(self, token: Token, expected: str) -> ConditionError:
        return ConditionError(
            self.text, f"unexpected {token.text!r} at character {token.at}; expected {expected}"
        )

    def parse(self) -> Node:
        if not self.tokens:
            raise ConditionError(self.text, "is empty; expected e.g. 'attacks_on_us < 1000'")
        tree = self.either()
        if (token := self.peek()) is not None:
            raise self.fail(token, "'and', 'or' or the end")
        return tree

    def either(self) -> Node:
        parts = [self.both()]
        while (token := self.peek()) is not None and token.kind == "or":
            self.i += 1
            parts.append(self.both())
        return parts[0] if len(parts) == 1 else Either(tuple(parts))

    def both(self) -> Node:
        parts = [self.negation()]
        while (token := self.peek()) is not None and token.kind == "and":
            self.i += 1
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Both(tuple(parts))

    def negation(self) -> Node:
        token = self.peek()
        if token is not None and token.kind == "not":
            self.i += 1
            return Negation(self.negation())
        if token is not None and token.text == "(":
            self.i += 1
            inner = self.either()
            closing = self.peek()
            if closing is None:
                raise ConditionError(self.text, "ends before the ')' that closes a '('")
            if closing.text != ")":
                raise self.fail(closing, "')', 'and' or 'or'")
            self.i += 1
            return inner
        return self.comparison()

    def comparison(self) -> Node:
        left = self.term()
        token = self.take()
        if token.kind != "op":
            raise self.fail(token, "a comparison (< <= > >= == !=)")
        middle = self.term()
        first = Compare(left, token.text, middle)
        if (more := self.peek()) is None or more.kind != "op":
            return first
        self.i += 1
        return Both((first, Compare(middle, more.text, self.term())))

    def term(self) -> Term:
        out = self.operand()
        while (token := self.peek()) is not None and token.text in ("*", "/"):
            self.i += 1
            out = Arithmetic(out, token.text, self.operand())
        return out

    def operand(self) -> Term:
        token = self.take()
        if token.kind == "number":
            return Number(float(token.text))
        if token.kind == "name":
            return Name(token.text)
        raise self.fail(token, "an outcome name or a number")


def _names(node: Node | Term) -> Iterator[str]:
    match node:
        case Name(name):
            yield name
        case Number():
            return
        case Arithmetic(left, _, right) | Compare(left, _, right):
            yield from _names(left)
            yield from _names(right)
        case Both(parts) | Either(parts):
            for part in parts:
                yield from _names(part)
        case Negation(part):
            yield from _names(part)


def _comparisons(node: Node) -> Iterator[Compare]:
    match node:
        case Compare():
            yield node
        case Both(parts) | Either(parts):
            for part in parts:
                yield from _comparisons(part)
        case Negation(part):
            yield from _comparisons(part)


def describe(node: Node | Term) -> str:
    """A node or term as text, in the grammar it was parsed from."""
    match node:
        case Name(name):
            return name
        case Number(value):
            return f"{value:g}"
        case Arithmetic(left, op, right) | Compare(left, op, right):
            return f"{describe(left)} {op} {describe(right)}"
        case Both(parts):
            return " and ".join(f"({describe(p)})" for p in parts)
        case Either(parts):
            return " or ".join(f"({describe(p)})" for p in parts)
        case Negation(part):
            return f"not ({describe(part)})"
    raise TypeError(node)  # pragma: no cover - the parser builds no other node


def parse_condition(
    text: str, known: Iterable[str], *, not_outcomes: Iterable[str] = ()
) -> Condition:
    """Parse ``text`` into a :class:`Condition` whose names are all ``known`` outcomes. A name
    in ``not_outcomes`` (a swept parameter, say) is refused as such; any other unknown name is
    refused with the known ones listed."""
    tree = _Parser(text).parse()
    known = list(known)
    names = tuple(dict.fromkeys(_names(tree)))
    if not names:
        raise ConditionError(text, "names no outcome; expected e.g. 'attacks_on_us < 1000'")
    for name in names:
        if name in set(not_outcomes):
            raise ConditionError(
                text,
                f"{name!r} is a swept parameter, not an outcome; expected one of: "
                + ", ".join(known),
            )
        if name not in known:
            raise ConditionError(
                text,
                f"unknown outcome {name!r}{did_you_mean(name, known)}; expected one of: "
                + ", ".join(known),
            )
    return Condition(text, tree, names)


def _value(term: Term, table: pd.DataFrame) -> np.ndarray:
    match term:
        case Name(name):
            return table[name].to_numpy(dtype=float)
        case Number(value):
            return np.full(len(table), value)
        case Arithmetic(left, op, right):
            a, b = _value(left, table), _value(right, table)
            if op == "*":
                return a * b
            with np.errstate(divide="ignore", invalid="ignore"):
                return a / b
    raise TypeError(term)  # pragma: no cover - the parser builds no other term


def _holds(node: Node, table: pd.DataFrame) -> np.ndarray:
    match node:
        case Compare(left, op, right):
            with np.errstate(invalid="ignore"):
                return np.asarray(_COMPARE[op](_value(left, table), _value(right, table)))
        case Both(parts):
            return np.logical_and.reduce([_holds(p, table) for p in parts])
        case Either(parts):
            return np.logical_or.reduce([_holds(p, table) for p in parts])
        case Negation(part):
            return ~_holds(part, table)
    raise TypeError(node)  # pragma: no cover - the parser builds no other node
