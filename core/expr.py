"""A small, safe expression language for rule conditions, compiled to polars.

DOMAIN.md: "`rule`: ordered (label, condition) pairs in a safe expression
language (never Python `eval`)". User text goes through a tokenizer and a
recursive-descent parser into an AST, is type-checked against the frame
schema, and only then becomes a ``pl.Expr``. Nothing is ever evaluated as
Python.

The language (keywords are case-insensitive):

- values: numbers (``12``, ``3.5``, ``1e6``), text in ``'single'`` or
  ``"double"`` quotes (a quote is doubled to escape it: ``'O''Neil'``),
  ``TRUE`` / ``FALSE``, dates written as text ``'2024-01-31'`` where they are
  compared with a date column;
- columns: bare names (``revenue``, ``margin_pct``) or, for names with spaces
  or that clash with a keyword, ```backticks``` or ``[brackets]``; a bare name
  that differs only in case from one column resolves to it;
- arithmetic ``+ - * /`` and unary minus on numbers; ``x / 0`` is NULL (as in
  SQL), never infinity;
- comparisons ``= == != <> < <= > >=`` between two numbers, two texts
  (case-sensitive, byte order), two booleans or two dates;
- ``x [NOT] IN (v1, v2, ...)`` with literal values, ``x [NOT] BETWEEN lo AND
  hi`` (both ends included), ``x IS [NOT] NULL``;
- text matching ``x [NOT] CONTAINS 'abc'``, ``x [NOT] STARTS WITH 'ab'``,
  ``x [NOT] ENDS WITH 'bc'``: literal substrings (no wildcards, no regex) and
  always case-insensitive, because CRM text is typed by hand;
- ``NOT``, ``AND``, ``OR`` (that precedence) and parentheses.

A NaN in a float column is treated as NULL. NULL follows SQL three-valued
logic (``NULL > 3`` is NULL, ``NULL OR TRUE`` is TRUE); a rule whose
condition is NULL for an account does not match it.

Errors are :class:`ExpressionError` with ``.position``, the 0-based character
offset in the text, and a message that says what was expected there.

Limits (issue 11): an expression has at most ``MAX_LENGTH`` characters,
``MAX_NESTING`` levels of parentheses, NOT and unary minus, and a tree at most
``MAX_DEPTH`` operators deep (a chain ``a OR b OR c ...`` counts one level per
operator); a number has at most ``MAX_NUMBER_DIGITS`` characters and must be
finite. The parser and the type checker recurse, so these limits keep them far
from Python's recursion limit, also inside the workbench's worker threads.
Text that is not valid Unicode (a lone surrogate, as a non-UTF-8 byte on the
command line becomes) is refused with its position.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from core.errors import UsageError

__all__ = [
    "ExpressionError",
    "compile_expression",
    "validate_expression",
    "parse",
    "check",
    "to_text",
    "referenced_columns",
]


class ExpressionError(UsageError):
    """An expression the user typed is wrong; ``position`` is a 0-based offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


# ---------------------------------------------------------------- tokenizer

KEYWORDS = frozenset(
    {
        "AND",
        "OR",
        "NOT",
        "IN",
        "BETWEEN",
        "IS",
        "NULL",
        "TRUE",
        "FALSE",
        "CONTAINS",
        "STARTS",
        "ENDS",
        "WITH",
    }
)
_COMPARISONS = ("==", "!=", "<>", "<=", ">=", "=", "<", ">")
_PUNCT = "+-*/(),"
_DIGITS = frozenset("0123456789")
_NUMBER_RE = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT64_MAX = 2**63 - 1
MAX_LENGTH = 10_000
MAX_NESTING = 50
MAX_DEPTH = 100
MAX_NUMBER_DIGITS = 100
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _shown(c: str) -> str:
    """A character for a message: itself if printable, else its code point."""
    return c if c.isprintable() and not _SURROGATE_RE.match(c) else f"U+{ord(c):04X}"


@dataclass(frozen=True)
class Token:
    kind: str  # NUMBER STRING IDENT QIDENT KW OP END
    value: Any
    pos: int
    text: str  # as typed, for messages


def _describe(tok: Token) -> str:
    if tok.kind == "END":
        return "end of text"
    if tok.kind == "NUMBER":
        return f"number {tok.text}"
    if tok.kind == "STRING":
        return f"text {tok.text}"
    if tok.kind in ("IDENT", "QIDENT"):
        return f"column name {tok.text}"
    return f"'{tok.text}'"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an END token."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        start = i
        if c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            m = _NUMBER_RE.match(text, i)
            assert m is not None
            raw = m.group(0)
            i = m.end()
            if len(raw) > MAX_NUMBER_DIGITS:
                raise ExpressionError(
                    f"at position {start}: number has {len(raw):,} characters; "
                    f"at most {MAX_NUMBER_DIGITS} are allowed",
                    start,
                )
            if i < n and (text[i].isalnum() or text[i] in "_."):
                end = i
                while end < n and (text[end].isalnum() or text[end] in "_."):
                    end += 1
                shown = "".join(_shown(ch) for ch in text[start : min(end, start + 40)])
                raise ExpressionError(f"at position {start}: malformed number '{shown}'", start)
            if m.group(2) is None and "." not in raw:
                value: Any = int(raw)
                if value > _INT64_MAX:
                    value = float(raw)
            else:
                value = float(raw)
            if isinstance(value, float) and not math.isfinite(value):
                raise ExpressionError(
                    f"at position {start}: number {raw} is too large "
                    "(the largest is about 1.8e308)",
                    start,
                )
            tokens.append(Token("NUMBER", value, start, raw))
        elif c in "'\"":
            quote, i, parts = c, i + 1, []
            while True:
                if i >= n:
                    raise ExpressionError(
                        f"at position {start}: text starting here is missing its closing {quote}",
                        start,
                    )
                if text[i] == quote:
                    if i + 1 < n and text[i + 1] == quote:
                        parts.append(quote)
                        i += 2
                        continue
                    i += 1
                    break
                parts.append(text[i])
                i += 1
            tokens.append(Token("STRING", "".join(parts), start, text[start:i]))
        elif c in "`[":
            close = "`" if c == "`" else "]"
            end = text.find(close, i + 1)
            if end < 0:
                raise ExpressionError(
                    f"at position {start}: column name starting here is missing "
                    f"its closing {close}",
                    start,
                )
            name = text[i + 1 : end]
            if not name.strip():
                raise ExpressionError(f"at position {start}: empty column name", start)
            i = end + 1
            tokens.append(Token("QIDENT", name, start, text[start:i]))
        elif c.isalpha() or c == "_":
            m = _IDENT_RE.match(text, i)
            if m is None:  # a non-ASCII letter
                raise ExpressionError(
                    f"at position {start}: unexpected character '{_shown(c)}' "
                    "(quote column names with `backticks`)",
                    start,
                )
            word = m.group(0)
            i = m.end()
            if word.upper() in KEYWORDS:
                tokens.append(Token("KW", word.upper(), start, word))
            else:
                tokens.append(Token("IDENT", word, start, word))
        else:
            for op in _COMPARISONS:
                if text.startswith(op, i):
                    tokens.append(Token("OP", op, start, op))
                    i += len(op)
                    break
            else:
                if c in _PUNCT:
                    tokens.append(Token("OP", c, start, c))
                    i += 1
                else:
                    raise ExpressionError(
                        f"at position {start}: unexpected character '{_shown(c)}'", start
                    )
    tokens.append(Token("END", None, n, ""))
    return tokens


# ---------------------------------------------------------------- AST


@dataclass(frozen=True)
class Literal:
    value: Any  # int | float | str | bool
    pos: int = 0


@dataclass(frozen=True)
class Column:
    name: str
    pos: int = 0


@dataclass(frozen=True)
class Negate:
    operand: Node
    pos: int = 0


@dataclass(frozen=True)
class Arith:
    op: str  # + - * /
    left: Node
    right: Node
    pos: int = 0  # of the operator


@dataclass(frozen=True)
class Compare:
    op: str  # normalised: = != < <= > >=
    left: Node
    right: Node
    pos: int = 0


@dataclass(frozen=True)
class Logical:
    op: str  # AND | OR
    left: Node
    right: Node
    pos: int = 0


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int = 0


@dataclass(frozen=True)
class InList:
    operand: Node
    items: tuple[Literal, ...]
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class Between:
    operand: Node
    low: Node
    high: Node
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class IsNull:
    operand: Node
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class TextMatch:
    kind: str  # CONTAINS | STARTS | ENDS
    operand: Node
    pattern: Node
    negated: bool = False
    pos: int = 0


Node = (
    Literal
    | Column
    | Negate
    | Arith
    | Compare
    | Logical
    | Not
    | InList
    | Between
    | IsNull
    | TextMatch
)

_CMP_NORMAL = {
    "==": "=",
    "<>": "!=",
    "=": "=",
    "!=": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0

    def _enter(self, tok: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ExpressionError(
                f"at position {tok.pos}: the expression nests more than {MAX_NESTING} levels "
                "deep (parentheses, NOT or '-'); simplify it",
                tok.pos,
            )

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def _is_kw(self, *words: str) -> bool:
        return self.tok.kind == "KW" and self.tok.value in words

    def _is_op(self, *ops: str) -> bool:
        return self.tok.kind == "OP" and self.tok.value in ops

    def _fail(self, expected: str) -> ExpressionError:
        tok = self.tok
        after = ""
        if self.i > 0:
            after = f" after '{self.tokens[self.i - 1].text}'"
        return ExpressionError(
            f"at position {tok.pos}: expected {expected}{after}, found {_describe(tok)}", tok.pos
        )

    def _expect_kw(self, word: str) -> Token:
        if not self._is_kw(word):
            raise self._fail(word)
        return self._advance()

    def parse(self) -> Node:
        if self.tok.kind == "END":
            raise ExpressionError("at position 0: the expression is empty", 0)
        node = self.or_expr()
        if self.tok.kind != "END":
            raise self._fail("AND, OR or the end of the expression")
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self._is_kw("OR"):
            op = self._advance()
            node = Logical("OR", node, self.and_expr(), op.pos)
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self._is_kw("AND"):
            op = self._advance()
            node = Logical("AND", node, self.not_expr(), op.pos)
        return node

    def not_expr(self) -> Node:
        if self._is_kw("NOT"):
            op = self._advance()
            self._enter(op)
            node = Not(self.not_expr(), op.pos)
            self.nesting -= 1
            return node
        return self.predicate()

    def predicate(self) -> Node:
        left = self.additive()
        tok = self.tok
        if tok.kind == "OP" and tok.value in _CMP_NORMAL:
            self._advance()
            return Compare(_CMP_NORMAL[tok.value], left, self.additive(), tok.pos)
        if self._is_kw("IS"):
            self._advance()
            negated = False
            if self._is_kw("NOT"):
                self._advance()
                negated = True
            self._expect_kw("NULL")
            return IsNull(left, negated, tok.pos)
        negated = False
        if self._is_kw("NOT"):
            nxt = self.tokens[self.i + 1]
            if nxt.kind == "KW" and nxt.value in ("IN", "BETWEEN", "CONTAINS", "STARTS", "ENDS"):
                self._advance()
                negated = True
            else:
                self._advance()
                raise self._fail("IN, BETWEEN, CONTAINS, STARTS WITH or ENDS WITH")
        if self._is_kw("IN"):
            self._advance()
            return InList(left, self._in_items(), negated, tok.pos)
        if self._is_kw("BETWEEN"):
            self._advance()
            low = self.additive()
            self._expect_kw("AND")
            high = self.additive()
            return Between(left, low, high, negated, tok.pos)
        if self._is_kw("CONTAINS", "STARTS", "ENDS"):
            kind = self._advance().value
            if kind != "CONTAINS":
                self._expect_kw("WITH")
            return TextMatch(kind, left, self.additive(), negated, tok.pos)
        return left

    def _in_items(self) -> tuple[Literal, ...]:
        if not self._is_op("("):
            raise self._fail("'(' to start the list")
        self._advance()
        items: list[Literal] = []
        while True:
            items.append(self._literal_item())
            if self._is_op(","):
                self._advance()
                continue
            if self._is_op(")"):
                self._advance()
                return tuple(items)
            raise self._fail("',' or ')'")

    def _literal_item(self) -> Literal:
        tok = self.tok
        sign = 1
        if self._is_op("-") and self.tokens[self.i + 1].kind == "NUMBER":
            self._advance()
            sign = -1
            tok = self.tok
        if tok.kind in ("NUMBER", "STRING"):
            self._advance()
            value = tok.value if sign == 1 else -tok.value
            return Literal(value, tok.pos)
        if self._is_kw("TRUE", "FALSE"):
            self._advance()
            return Literal(tok.value == "TRUE", tok.pos)
        raise self._fail("a number, a quoted text, TRUE or FALSE in the list")

    def additive(self) -> Node:
        node = self.multiplicative()
        while self._is_op("+", "-"):
            op = self._advance()
            node = Arith(op.value, node, self.multiplicative(), op.pos)
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self._is_op("*", "/"):
            op = self._advance()
            node = Arith(op.value, node, self.unary(), op.pos)
        return node

    def unary(self) -> Node:
        if self._is_op("-", "+"):
            op = self._advance()
            self._enter(op)
            node = self.unary()
            self.nesting -= 1
            return Negate(node, op.pos) if op.value == "-" else node
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind in ("NUMBER", "STRING"):
            self._advance()
            return Literal(tok.value, tok.pos)
        if tok.kind in ("IDENT", "QIDENT"):
            self._advance()
            return Column(tok.value, tok.pos)
        if self._is_kw("TRUE", "FALSE"):
            self._advance()
            return Literal(tok.value == "TRUE", tok.pos)
        if self._is_op("("):
            self._enter(self._advance())
            node = self.or_expr()
            if not self._is_op(")"):
                raise self._fail("')'")
            self._advance()
            self.nesting -= 1
            return node
        if self._is_kw("NULL"):
            raise ExpressionError(
                f"at position {tok.pos}: NULL can only be tested with IS NULL or IS NOT NULL",
                tok.pos,
            )
        raise self._fail("a value")


def _children(node: Node) -> list[Node]:
    out = [getattr(node, a, None) for a in ("left", "right", "operand", "low", "high", "pattern")]
    return [c for c in out if c is not None]


def _check_depth(node: Node) -> None:
    """Refuse a tree deeper than MAX_DEPTH (walked without recursion)."""
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH and not isinstance(current, Literal | Column):  # leaves are free
            raise ExpressionError(
                f"at position {current.pos}: the expression is more than {MAX_DEPTH} operators "
                "deep; split it, or use IN (...) instead of a long chain of OR",
                current.pos,
            )
        stack.extend((child, depth + 1) for child in _children(current))


def parse(text: str) -> Node:
    """Parse ``text`` into an AST, raising :class:`ExpressionError`.

    Text longer than ``MAX_LENGTH``, nested deeper than ``MAX_NESTING``, with a
    tree deeper than ``MAX_DEPTH`` or holding a lone surrogate is refused.
    """
    if not isinstance(text, str):
        raise ExpressionError("at position 0: the expression must be text", 0)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"at position {MAX_LENGTH}: the expression has {len(text):,} characters; "
            f"at most {MAX_LENGTH:,} are allowed",
            MAX_LENGTH,
        )
    bad = _SURROGATE_RE.search(text)
    if bad is not None:
        raise ExpressionError(
            f"at position {bad.start()}: {_shown(bad.group())} is not valid text "
            "(a byte that is not UTF-8?); retype the expression",
            bad.start(),
        )
    node = _Parser(text).parse()
    _check_depth(node)
    return node


# ---------------------------------------------------------------- type checking

NUM, TEXT, BOOL, DATE = "number", "text", "true/false", "date"
_TYPE_WORD = {NUM: "a number", TEXT: "text", BOOL: "true/false", DATE: "a date"}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _dtype_kind(dtype: Any) -> str | None:
    if dtype.is_numeric():
        return NUM
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum | pl.Categorical):
        return TEXT
    if dtype == pl.Boolean:
        return BOOL
    if dtype == pl.Date:
        return DATE
    return None


def _literal_kind(value: Any) -> str:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int | float):
        return NUM
    return TEXT


class _Checker:
    """Resolves columns and infers a type for every node (errors carry positions)."""

    def __init__(self, columns: Mapping[str, Any]) -> None:
        self.columns = dict(columns)
        self.lower: dict[str, list[str]] = {}
        for name in self.columns:
            self.lower.setdefault(name.lower(), []).append(name)
        self.resolved: dict[int, str] = {}  # id(Column node) -> real column name
        self.dates: dict[int, dt.date] = {}  # id(Literal node) -> parsed date

    def resolve(self, node: Column) -> str:
        if node.name in self.columns:
            return node.name
        same = self.lower.get(node.name.lower(), [])
        if len(same) == 1:
            return same[0]
        near = difflib.get_close_matches(node.name, list(self.columns), n=3, cutoff=0.6)
        if not near:
            near = difflib.get_close_matches(
                node.name.lower(), [c.lower() for c in self.columns], n=3, cutoff=0.6
            )
            near = [self.lower[c][0] for c in near]
        msg = f"unknown column '{node.name}' at position {node.pos}"
        if near:
            quoted = [f"'{c}'" for c in near]
            options = (
                quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
            )
            msg += f"; did you mean {options}?"
        raise ExpressionError(msg, node.pos)

    def kind(self, node: Node) -> str:
        if isinstance(node, Literal):
            return _literal_kind(node.value)
        if isinstance(node, Column):
            name = self.resolve(node)
            self.resolved[id(node)] = name
            kind = _dtype_kind(self.columns[name])
            if kind is None:
                raise ExpressionError(
                    f"at position {node.pos}: column '{name}' has type {self.columns[name]}, "
                    "which conditions cannot use",
                    node.pos,
                )
            return kind
        if isinstance(node, Negate):
            self._need(node.operand, NUM, "'-'")
            return NUM
        if isinstance(node, Arith):
            self._need(node.left, NUM, f"'{node.op}'")
            self._need(node.right, NUM, f"'{node.op}'")
            return NUM
        if isinstance(node, Logical):
            self._need(node.left, BOOL, node.op)
            self._need(node.right, BOOL, node.op)
            return BOOL
        if isinstance(node, Not):
            self._need(node.operand, BOOL, "NOT")
            return BOOL
        if isinstance(node, Compare):
            self._comparable(node.left, node.right, node.pos, f"'{node.op}'")
            if node.op not in ("=", "!=") and BOOL in (self.kind(node.left),):
                raise ExpressionError(
                    f"at position {node.pos}: true/false values can only be compared with = or !=",
                    node.pos,
                )
            return BOOL
        if isinstance(node, Between):
            self._comparable(node.operand, node.low, node.pos, "BETWEEN")
            self._comparable(node.operand, node.high, node.pos, "BETWEEN")
            return BOOL
        if isinstance(node, InList):
            for item in node.items:
                self._comparable(node.operand, item, item.pos, "IN")
            return BOOL
        if isinstance(node, IsNull):
            self.kind(node.operand)
            return BOOL
        if isinstance(node, TextMatch):
            word = {"CONTAINS": "CONTAINS", "STARTS": "STARTS WITH", "ENDS": "ENDS WITH"}[node.kind]
            self._need(node.operand, TEXT, word)
            self._need(node.pattern, TEXT, word)
            return BOOL
        raise AssertionError(f"unknown node {node!r}")  # pragma: no cover

    def _need(self, node: Node, want: str, op: str) -> None:
        got = self.kind(node)
        if got != want:
            what = _what(node, self)
            raise ExpressionError(
                f"at position {_pos(node)}: {op} needs {_TYPE_WORD[want]}, but {what} is "
                f"{_TYPE_WORD[got]}",
                _pos(node),
            )

    def _comparable(self, left: Node, right: Node, pos: int, op: str) -> None:
        lk, rk = self.kind(left), self.kind(right)
        if lk == rk:
            return
        # A quoted 'YYYY-MM-DD' compared with a date column is a date.
        for date_side, other, other_kind in ((left, right, rk), (right, left, lk)):
            if self.kind(date_side) == DATE and other_kind == TEXT:
                if isinstance(other, Literal) and isinstance(other.value, str):
                    self.dates[id(other)] = _parse_date(other.value, other.pos)
                    return
                raise ExpressionError(
                    f"at position {_pos(other)}: a date can only be compared with a date or a "
                    "quoted 'YYYY-MM-DD'",
                    _pos(other),
                )
        raise ExpressionError(
            f"at position {pos}: cannot compare {_what(left, self)} ({_TYPE_WORD[lk]}) with "
            f"{_what(right, self)} ({_TYPE_WORD[rk]}) using {op}",
            pos,
        )


def _parse_date(text: str, pos: int) -> dt.date:
    if _DATE_RE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise ExpressionError(
        f"at position {pos}: '{text}' is not a date; write dates as 'YYYY-MM-DD'", pos
    )


def _pos(node: Node) -> int:
    for attr in ("left", "operand"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(node, Not | Negate):
            return _pos(child)
    return node.pos


def _what(node: Node, checker: _Checker) -> str:
    if isinstance(node, Column):
        return f"column '{checker.resolved.get(id(node), node.name)}'"
    if isinstance(node, Literal):
        if isinstance(node.value, bool):
            return "TRUE" if node.value else "FALSE"
        if isinstance(node.value, str):
            return f"'{node.value}'"
        return str(node.value)
    return "the expression"


def check(text: str, columns: Mapping[str, Any], *, boolean: bool = True) -> tuple[Node, str]:
    """Parse and type-check ``text``; returns (ast, result type)."""
    node = parse(text)
    checker = _Checker(columns)
    kind = checker.kind(node)
    if boolean and kind != BOOL:
        raise ExpressionError(
            f"at position 0: a condition must be true or false (for example revenue > 1000), "
            f"but this expression is {_TYPE_WORD[kind]}",
            0,
        )
    return node, kind


# ---------------------------------------------------------------- compilation


def _has_column(node: Node) -> bool:
    if isinstance(node, Column):
        return True
    if isinstance(node, Literal):
        return False
    children = [getattr(node, a, None) for a in ("left", "right", "operand", "low", "high")]
    return any(_has_column(c) for c in children if c is not None)


def _compile(node: Node, checker: _Checker) -> pl.Expr:
    if isinstance(node, Literal):
        if id(node) in checker.dates:
            return pl.lit(checker.dates[id(node)], dtype=pl.Date)
        value = node.value
        if isinstance(value, float) and not math.isfinite(value):
            return pl.lit(value, dtype=pl.Float64)
        if isinstance(value, bool):
            return pl.lit(value, dtype=pl.Boolean)
        if isinstance(value, int):
            return pl.lit(value, dtype=pl.Int64)
        if isinstance(value, float):
            return pl.lit(value, dtype=pl.Float64)
        return pl.lit(value, dtype=pl.String)
    if isinstance(node, Column):
        name = checker.resolved[id(node)]
        col = pl.col(name)
        dtype = checker.columns[name]
        if _dtype_kind(dtype) == TEXT and dtype != pl.String:
            col = col.cast(pl.String)
        elif dtype.is_float():
            # polars orders NaN above every number; a missing measurement is NULL here
            col = col.fill_nan(None)
        return col
    if isinstance(node, Negate):
        return -_compile(node.operand, checker)
    if isinstance(node, Arith):
        left, right = _compile(node.left, checker), _compile(node.right, checker)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        # SQL semantics: division by zero is NULL, not infinity.
        return left / pl.when(right == 0).then(None).otherwise(right)
    if isinstance(node, Logical):
        left, right = _compile(node.left, checker), _compile(node.right, checker)
        return left & right if node.op == "AND" else left | right
    if isinstance(node, Not):
        return ~_compile(node.operand, checker)
    if isinstance(node, Compare):
        left, right = _compile(node.left, checker), _compile(node.right, checker)
        return {
            "=": left.__eq__,
            "!=": left.__ne__,
            "<": left.__lt__,
            "<=": left.__le__,
            ">": left.__gt__,
            ">=": left.__ge__,
        }[node.op](right)
    if isinstance(node, Between):
        x = _compile(node.operand, checker)
        expr = (x >= _compile(node.low, checker)) & (x <= _compile(node.high, checker))
        return ~expr if node.negated else expr
    if isinstance(node, InList):
        x = _compile(node.operand, checker)
        values = [
            checker.dates[id(item)] if id(item) in checker.dates else item.value
            for item in node.items
        ]
        kind = checker.kind(node.operand)
        dtype = {NUM: pl.Float64, TEXT: pl.String, BOOL: pl.Boolean, DATE: pl.Date}[kind]
        if kind == NUM:
            # polars 2 wants one dtype on both sides; float64 holds every int we accept
            values = [float(v) for v in values]
            x = x.cast(pl.Float64)
        if _has_column(node.operand):
            expr = x.is_in(pl.Series(values, dtype=dtype).implode(), nulls_equal=False)
        else:
            # is_in on a scalar does not broadcast; a constant list is short anyway
            expr = pl.any_horizontal([x == pl.lit(v, dtype=dtype) for v in values])
        return ~expr if node.negated else expr
    if isinstance(node, IsNull):
        x = _compile(node.operand, checker)
        return x.is_not_null() if node.negated else x.is_null()
    if isinstance(node, TextMatch):
        x = _compile(node.operand, checker).str.to_lowercase()
        pattern = _compile(node.pattern, checker).str.to_lowercase()
        if node.kind == "CONTAINS":
            expr = x.str.contains(pattern, literal=True)
        elif node.kind == "STARTS":
            expr = x.str.starts_with(pattern)
        else:
            expr = x.str.ends_with(pattern)
        return ~expr if node.negated else expr
    raise AssertionError(f"unknown node {node!r}")  # pragma: no cover


def compile_expression(text: str, columns: Mapping[str, Any], *, boolean: bool = True) -> pl.Expr:
    """Compile ``text`` into a polars expression over a frame with ``columns``.

    ``columns`` maps column names to polars dtypes (a frame's ``.schema``).
    With ``boolean=True`` (the default, for conditions) the expression must be
    true/false. Raises :class:`ExpressionError` with the position and what
    was expected; an unknown column names the nearest known columns.
    """
    node = parse(text)
    checker = _Checker(columns)
    kind = checker.kind(node)
    if boolean and kind != BOOL:
        raise ExpressionError(
            f"at position 0: a condition must be true or false (for example revenue > 1000), "
            f"but this expression is {_TYPE_WORD[kind]}",
            0,
        )
    return _compile(node, checker)


def validate_expression(
    text: str, columns: Mapping[str, Any], *, boolean: bool = True
) -> ExpressionError | None:
    """The error ``compile_expression`` would raise, or None; for inline UI hints."""
    try:
        check(text, columns, boolean=boolean)
    except ExpressionError as exc:
        return exc
    return None


def referenced_columns(text: str, columns: Mapping[str, Any]) -> set[str]:
    """The real column names an expression reads (after case resolution)."""
    node = parse(text)
    checker = _Checker(columns)
    checker.kind(node)
    return set(checker.resolved.values())


# ---------------------------------------------------------------- printing


def _quote_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _literal_text(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return _quote_text(value)


def _column_text(name: str) -> str:
    if _IDENT_RE.fullmatch(name) and name.upper() not in KEYWORDS:
        return name
    if "`" not in name:
        return f"`{name}`"
    return f"[{name}]"


def to_text(node: Node) -> str:
    """Print an AST back as expression text, fully parenthesised."""
    if isinstance(node, Literal):
        if (
            isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
            and node.value < 0
        ):
            return f"(-{_literal_text(-node.value)})"
        return _literal_text(node.value)
    if isinstance(node, Column):
        return _column_text(node.name)
    if isinstance(node, Negate):
        return f"(-{to_text(node.operand)})"
    if isinstance(node, Arith | Compare | Logical):
        return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
    if isinstance(node, Not):
        return f"(NOT {to_text(node.operand)})"
    neg = "NOT " if getattr(node, "negated", False) else ""
    if isinstance(node, InList):
        items = ", ".join(_literal_text(i.value) for i in node.items)
        return f"({to_text(node.operand)} {neg}IN ({items}))"
    if isinstance(node, Between):
        return (
            f"({to_text(node.operand)} {neg}BETWEEN {to_text(node.low)} AND {to_text(node.high)})"
        )
    if isinstance(node, IsNull):
        return f"({to_text(node.operand)} IS {'NOT ' if node.negated else ''}NULL)"
    if isinstance(node, TextMatch):
        word = {"CONTAINS": "CONTAINS", "STARTS": "STARTS WITH", "ENDS": "ENDS WITH"}[node.kind]
        return f"({to_text(node.operand)} {neg}{word} {to_text(node.pattern)})"
    raise AssertionError(f"unknown node {node!r}")  # pragma: no cover
