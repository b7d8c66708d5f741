"""The filter language of ``/`` and ``export --where``: parse once, evaluate on columns or rows.

Grammar (keywords and field names case-insensitive)::

    filter     := or?                          (empty: everything matches)
    or         := and (("OR" | "|" | "||") and)*
    and        := not (("AND" | "&" | "&&")? not)*   (juxtaposition is AND)
    not        := ("NOT" | "!") not | primary
    primary    := "(" or ")" | field op value | field
    op         := "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | ":"

Examples: ``status:failed``, ``polymer=PA``, ``salt_rejection>95``,
``it>=10``, ``front``, ``polymer=PA and not (status:failed or it<3)``,
``"pore size" > 0.5``, ``id:c-12*``.

Fields: every parameter and objective the caller declares (an objective
means its measured value), and the built-ins ``it``/``iteration``,
``status`` (proposed, evaluated, infeasible, failed), ``front`` and
``feasible`` (flags: alone, or ``front=false``) and ``id``. A built-in wins
over a campaign field of the same name written plainly; quoted, the name is
the campaign's field. A name that is not a plain word, or that is a keyword,
is written in quotes. ``:`` is ``=`` (it reads well for statuses).

Values: numbers, bare words or quoted strings (``'...'`` or ``"..."``,
backslash escapes the quote). Text equality (``=``, ``:``, ``!=``) ignores
case, and ``*`` in the value matches any run of characters. Ordering
(``< <= > >=``) needs a number. A declared ``number`` field needs a number
for every operator; a ``category`` field compares numbers as numbers and
anything else as text (a parameter declared categorical with numeric
choices still orders numerically).

Missing values (absent, None, NaN, a column not given) never match a
comparison, ``!=`` included: ``x != 1`` is "x is present and not 1", while
``not x = 1`` also matches the rows without x.

``compile_filter`` raises ``FilterError(message, position)`` for every bad
input, a one-line message fit to show inline; nothing else escapes it.
``Filter.mask(columns)`` evaluates with numpy over whole columns, and
``Filter.matches(row)`` on one row; both follow the same rules (the
per-value function is the reference, the numeric fast path agrees with it).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Literal

from materia_tui.insight.filter_tree import (
    ORDERING,
    BoolArray,
    Column,
    Columns,
    Compare,
    EncodedColumn,
    Everything,
    Field,
    Join,
    Node,
    Not,
    Value,
)

__all__ = ["STATUSES", "Column", "EncodedColumn", "FieldKind", "Filter", "FilterError", "compile_filter"]

FieldKind = Literal["number", "category"]
STATUSES = ("proposed", "evaluated", "infeasible", "failed")  # state's CandidateStatus (a test checks)
MAX_LENGTH = 4096
MAX_DEPTH = 64

_ITERATION = Field("iteration", "number")
_BUILTINS: dict[str, Field] = {
    "it": _ITERATION,
    "iteration": _ITERATION,
    "status": Field("status", "status"),
    "front": Field("front", "flag"),
    "feasible": Field("feasible", "flag"),
    "id": Field("id", "category"),
}
_KEYWORDS = {"and", "or", "not"}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPECIAL = set("()&|!=<>:\"'")
_OPERATORS = ("<=", ">=", "!=", "==", "<", ">", "=", ":")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


class FilterError(ValueError):
    """A filter that cannot be compiled: ``message`` (one line) at ``position`` (0-based)."""

    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position
        super().__init__(f"column {position + 1}: {message}")

    @property
    def column(self) -> int:
        return self.position + 1


# ----- tokens --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["(", ")", "and", "or", "not", "op", "word", "string", "end"]
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, i))  # type: ignore[arg-type]
            i += 1
        elif char in "&|":
            width = 2 if text[i : i + 2] in ("&&", "||") else 1
            tokens.append(_Token("and" if char == "&" else "or", text[i : i + width], i))
            i += width
        elif char in "\"'":
            value, end = _read_string(text, i)
            tokens.append(_Token("string", value, i))
            i = end
        elif op := next((o for o in _OPERATORS if text.startswith(o, i)), None):
            tokens.append(_Token("op", "=" if op == "==" else op, i))
            i += len(op)
        elif char == "!":
            tokens.append(_Token("not", char, i))
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in _SPECIAL:
                i += 1
            word = text[start:i]
            keyword = word.casefold()
            tokens.append(_Token(keyword if keyword in _KEYWORDS else "word", word, start))  # type: ignore[arg-type]
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            chars.append(text[i + 1])
            i += 2
        elif char == quote:
            return "".join(chars), i + 1
        else:
            chars.append(char)
            i += 1
    raise FilterError(f"the quote {quote} opened here is never closed", start)


# ----- the parser ----------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, FieldKind]) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.fields = fields
        self.folded: dict[str, list[str]] = {}
        for name in fields:
            self.folded.setdefault(name.casefold(), []).append(name)
        self.used: set[str] = set()
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def parse(self) -> Node:
        if self.token.kind == "end":
            return Everything()
        node = self.parse_or()
        token = self.token
        if token.kind == ")":
            raise FilterError("')' without a matching '('", token.position)
        if token.kind != "end":
            raise FilterError(f"unexpected {_describe(token)}", token.position)
        return node

    def nested(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"the filter nests deeper than {MAX_DEPTH} levels", position)

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.token.kind == "or":
            self.advance()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Join(False, tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_not()]
        while self.token.kind in ("and", "not", "(", "word", "string"):
            if self.token.kind == "and":
                self.advance()
            children.append(self.parse_not())
        return children[0] if len(children) == 1 else Join(True, tuple(children))

    def parse_not(self) -> Node:
        token = self.token
        if token.kind != "not":
            return self.parse_primary()
        self.advance()
        self.nested(token.position)
        child = self.parse_not()
        self.depth -= 1
        return Not(child)

    def parse_primary(self) -> Node:
        token = self.advance()
        if token.kind == "(":
            self.nested(token.position)
            node = self.parse_or()
            self.depth -= 1
            if self.token.kind != ")":
                raise FilterError(
                    f"the '(' at column {token.position + 1} is never closed", self.token.position
                )
            self.advance()
            return node
        if token.kind == "end":
            previous = self.tokens[-2] if len(self.tokens) > 1 else None
            where = f" after {_describe(previous)}" if previous is not None else ""
            raise FilterError(f"a field or '(' is missing{where}", token.position)
        if token.kind not in ("word", "string"):
            raise FilterError(f"expected a field or '(', found {_describe(token)}", token.position)
        field = self.resolve(token)
        if self.token.kind != "op":
            if field.kind != "flag":
                example = "status:failed" if field.kind == "status" else f"{token.text}=..."
                raise FilterError(f"'{token.text}' needs a comparison, e.g. {example}", token.position)
            return Compare(field, "=", Value("true", None, None, True))
        op = self.advance()
        value = self.advance()
        if value.kind not in ("word", "string"):
            raise FilterError(f"a value is missing after '{op.text}'", value.position)
        return Compare(field, op.text, self.literal(field, token.text, op, value))

    def resolve(self, token: _Token) -> Field:
        name = token.text
        builtin = _BUILTINS.get(name.casefold())
        if builtin is not None and token.kind == "word":
            self.used.add(builtin.column)
            return builtin
        kind = self.fields.get(name)
        if kind is None and token.kind == "word":
            same = self.folded.get(name.casefold(), [])
            if len(same) == 1:
                name, kind = same[0], self.fields[same[0]]
        if kind is None:
            if builtin is not None:
                self.used.add(builtin.column)
                return builtin
            close = difflib.get_close_matches(name, [*self.fields, *_BUILTINS], n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise FilterError(f"unknown field '{_clip(name)}'{hint}", token.position)
        self.used.add(name)
        return Field(name, "number" if kind == "number" else "category")

    def literal(self, field: Field, name: str, op: _Token, value: _Token) -> Value:
        text = value.text
        number = float(text) if _NUMBER.fullmatch(text) else None
        if number is not None and not math.isfinite(number):
            number = None
        shown = _clip(text)
        if field.kind in ("flag", "status") and op.text in ORDERING:
            raise FilterError(f"'{op.text}' does not apply to {name}", op.position)
        if field.kind == "flag":
            folded = text.casefold()
            if folded not in _TRUE | _FALSE:
                raise FilterError(f"{name} is true or false, not '{shown}'", value.position)
            return Value(folded, None, None, folded in _TRUE)
        if op.text in ORDERING and number is None:
            raise FilterError(f"'{op.text}' compares numbers; '{shown}' is not a number", value.position)
        if field.kind == "number" and number is None:
            raise FilterError(f"{_clip(name)} is a number; '{shown}' is not", value.position)
        folded = text.casefold()
        if field.kind == "status" and "*" not in folded and folded not in STATUSES:
            close = difflib.get_close_matches(folded, STATUSES, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else "statuses: " + ", ".join(STATUSES)
            raise FilterError(f"unknown status '{shown}' ({hint})", value.position)
        pattern = None
        if "*" in folded:
            pattern = re.compile(".*".join(re.escape(part) for part in folded.split("*")), re.DOTALL)
        return Value(folded, number, pattern, None)


def _describe(token: _Token) -> str:
    return "the end" if token.kind == "end" else f"'{_clip(token.text)}'"


def _clip(text: str, width: int = 40) -> str:
    flat = "".join(c if c.isprintable() else "?" for c in text)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# ----- the compiled filter ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filter:
    """A compiled filter: evaluate with ``mask`` (columns) or ``matches`` (one row)."""

    text: str
    fields: frozenset[str]  # the column names it reads (built-ins by their column name)
    _root: Node = dataclass_field(repr=False)

    @property
    def matches_everything(self) -> bool:
        return isinstance(self._root, Everything)

    def matches(self, row: Mapping[str, object]) -> bool:
        """Whether one row passes. ``row`` maps field columns to values: parameter and
        objective names (measured values), ``iteration``, ``status``, ``front``,
        ``feasible``, ``id``; an absent key is a missing value."""
        return self._root.matches(row)

    def mask(self, columns: Mapping[str, Column], n_rows: int | None = None) -> BoolArray:
        """Which rows pass, as a boolean array. ``columns`` maps the same names as a
        row to columns of equal length: numpy arrays (numbers as float with NaN for
        missing: the fast path), lists, or dictionary-encoded columns
        (``EncodedColumn``: evaluated once per category). Only ``fields`` are read;
        ``n_rows`` is needed when ``columns`` is empty."""
        return self._root.mask(Columns(columns, n_rows))


def compile_filter(text: str, known_fields: Mapping[str, FieldKind] | Iterable[str] = ()) -> Filter:
    """Parse ``text`` once. ``known_fields``: the campaign's parameters and objectives,
    each ``"number"`` or ``"category"`` (plain names: ``"category"``, which compares
    numbers as numbers and text as text). Raises only ``FilterError``."""
    if not isinstance(text, str):
        raise FilterError("a filter is text", 0)
    if len(text) > MAX_LENGTH:
        raise FilterError(f"the filter is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if isinstance(known_fields, Mapping):
        fields: dict[str, FieldKind] = dict(known_fields)
    else:
        fields = {name: "category" for name in known_fields}
    parser = _Parser(text, fields)
    root = parser.parse()
    return Filter(text, frozenset(parser.used), root)
