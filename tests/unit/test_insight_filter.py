"""The filter language: examples, errors, and properties (mask == matches == a hand-written predicate)."""

from __future__ import annotations

import fnmatch
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from materia_tui.insight.filter import STATUSES, Filter, FilterError, compile_filter
from materia_tui.state import CandidateStatus

FIELDS = {"x": "number", "salt_rejection": "number", "polymer": "category", "layers": "category"}
Row = dict[str, object]
Predicate = Callable[[Row], bool]


@dataclass(frozen=True)
class Encoded:
    """A dictionary-encoded column, as a columnar store keeps a categorical one."""

    codes: np.ndarray
    categories: Sequence[object]


ROWS: list[Row] = [
    {
        "id": "c-1-0",
        "iteration": 1,
        "status": "evaluated",
        "front": True,
        "feasible": True,
        "x": 0.5,
        "salt_rejection": 96.0,
        "polymer": "PA",
        "layers": 3,
    },
    {
        "id": "c-1-1",
        "iteration": 1,
        "status": "failed",
        "front": False,
        "feasible": False,
        "x": None,
        "salt_rejection": None,
        "polymer": "PVDF",
        "layers": 1,
    },
    {
        "id": "c-2-0",
        "iteration": 2,
        "status": "infeasible",
        "front": False,
        "feasible": False,
        "x": 2.5,
        "salt_rejection": 91.0,
        "polymer": "pa",
        "layers": "many",
    },
    {
        "id": "c-12-0",
        "iteration": 12,
        "status": "proposed",
        "front": False,
        "feasible": True,
        "x": math.nan,
        "polymer": "PE S",
        "layers": None,
    },
]


def columns_of(rows: list[Row], style: int = 0) -> dict[str, object]:
    """The rows as columns: numpy arrays, lists or dictionary-encoded, per ``style``."""
    names = ["id", "iteration", "status", "front", "feasible", "x", "salt_rejection", "polymer", "layers"]
    columns: dict[str, object] = {}
    for name in names:
        values = [row.get(name) for row in rows]
        if name in ("x", "salt_rejection", "iteration") and style != 1:
            columns[name] = np.array([math.nan if v is None else v for v in values], dtype=float)
        elif name in ("front", "feasible") and style != 1:
            columns[name] = np.array(values, dtype=bool)
        elif name in ("polymer", "status") and style == 2:
            categories = sorted({v for v in values if v is not None})
            codes = np.array([-1 if v is None else categories.index(v) for v in values])
            columns[name] = Encoded(codes, categories)
        elif name == "id" and style == 2:
            columns[name] = np.array(values, dtype=str)
        else:
            columns[name] = values
    return columns


def select(text: str, rows: list[Row] = ROWS) -> list[str]:
    compiled = compile_filter(text, FIELDS)
    by_rows = [str(row["id"]) for row in rows if compiled.matches(row)]
    for style in range(3):
        mask = compiled.mask(columns_of(rows, style))  # type: ignore[arg-type]
        assert [str(row["id"]) for row, hit in zip(rows, mask, strict=True) if hit] == by_rows, style
    return by_rows


# ----- the language by example ----------------------------------------------------------


def test_the_issues_examples() -> None:
    assert select("status:failed") == ["c-1-1"]
    assert select("polymer=PA") == ["c-1-0", "c-2-0"]  # text ignores case
    assert select("salt_rejection>95") == ["c-1-0"]
    assert select("it>=10") == ["c-12-0"]
    assert select("front") == ["c-1-0"]


def test_boolean_operators_precedence_and_spellings() -> None:
    assert select("polymer=PA AND NOT front") == ["c-2-0"]
    assert select("polymer=PA & !front") == ["c-2-0"]
    assert select("polymer=PA && ! front") == ["c-2-0"]
    assert select("polymer=PA not front") == ["c-2-0"]  # juxtaposition is AND
    assert select("front or status:failed and it>=1") == ["c-1-0", "c-1-1"]  # AND binds tighter
    assert select("(front or status:failed) and it>=2") == []
    assert select("front | status:failed || it=12") == ["c-1-0", "c-1-1", "c-12-0"]
    assert select("not not front") == ["c-1-0"]
    assert select("NoT (x > 1 Or x < 1)") == ["c-1-1", "c-12-0"]


def test_missing_values_never_match_a_comparison() -> None:
    assert select("x != 1") == ["c-1-0", "c-2-0"]  # present and not 1
    assert select("not x = 1") == ["c-1-0", "c-1-1", "c-2-0", "c-12-0"]
    assert select("x <= 100") == ["c-1-0", "c-2-0"]
    assert select("layers != 3") == ["c-1-1", "c-2-0"]
    assert select("salt_rejection < 1000") == ["c-1-0", "c-2-0"]


def test_values_quotes_wildcards_numbers_and_flags() -> None:
    assert select("polymer='PE S'") == ["c-12-0"]
    assert select('polymer:"pe s"') == ["c-12-0"]
    assert select("polymer=P*") == ["c-1-0", "c-1-1", "c-2-0", "c-12-0"]
    assert select("polymer=*s") == ["c-12-0"]
    assert select("id:c-1-*") == ["c-1-0", "c-1-1"]
    assert select("layers=3") == ["c-1-0"]
    assert select("layers>=1") == ["c-1-0", "c-1-1"]  # text is never ordered
    assert select("layers=MANY") == ["c-2-0"]
    assert select("x>-1e1 and x<2.5") == ["c-1-0"]
    assert select("x==2.5") == ["c-2-0"]
    assert select("feasible=false") == ["c-1-1", "c-2-0"]
    assert select("front:no feasible:yes") == ["c-12-0"]
    assert select("front != true") == ["c-1-1", "c-2-0", "c-12-0"]
    assert select("iteration=1") == ["c-1-0", "c-1-1"]
    assert select("status:EVALUATED") == ["c-1-0"]
    assert select("status!=failed") == ["c-1-0", "c-2-0", "c-12-0"]
    assert select("X>1") == ["c-2-0"]  # field names ignore case
    assert select("") == ["c-1-0", "c-1-1", "c-2-0", "c-12-0"]


def test_quoted_field_names_and_builtins_win() -> None:
    fields = {"pore size": "number", "and": "category", "status": "number"}
    compiled = compile_filter('"pore size" > 1 and "and" = x and status:failed', fields)
    assert compiled.fields == {"pore size", "and", "status"}
    assert compiled.matches({"pore size": 2.0, "and": "X", "status": "failed"})
    assert not compiled.matches({"pore size": 2.0, "and": "X", "status": "evaluated"})


def test_fields_lists_the_columns_read_and_plain_names_are_categories() -> None:
    compiled = compile_filter("it>3 or front or Polymer=PA", ["polymer"])
    assert compiled.fields == {"iteration", "front", "polymer"}
    assert compile_filter("", FIELDS).matches_everything
    assert compile_filter("   ", FIELDS).mask({}, n_rows=3).tolist() == [True] * 3


def test_a_column_not_given_is_missing_everywhere() -> None:
    compiled = compile_filter("x > 0 or not polymer=PA", FIELDS)
    assert compiled.mask({"x": np.array([1.0, -1.0])}).tolist() == [True, True]
    assert compiled.mask({"x": [None, -1.0]}).tolist() == [True, True]
    with pytest.raises(ValueError):
        compiled.mask({})
    with pytest.raises(ValueError):
        compiled.mask({"x": np.zeros(2), "polymer": ["PA"]})


def test_odd_values_in_columns() -> None:
    compiled = compile_filter("x > 1", FIELDS)
    rows: list[object] = ["3", 2, True, None, float("nan"), [1], 5.5]
    # text is not a number in a number field; True counts as 1
    assert compiled.mask({"x": rows}).tolist() == [False, True, False, False, False, False, True]
    assert [compiled.matches({"x": v}) for v in rows] == [False, True, False, False, False, False, True]
    as_text = compile_filter("polymer = true", FIELDS)
    assert as_text.mask({"polymer": np.array([True, False])}).tolist() == [True, False]
    assert as_text.matches({"polymer": True})


# ----- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("polimer=PA", "unknown field 'polimer' (did you mean 'polymer'?)", 1),
        ("front and colour=red", "unknown field 'colour'", 11),
        ("status:faild", "unknown status 'faild' (did you mean 'failed'?)", 8),
        ("status:zzz", "unknown status 'zzz' (statuses: proposed, evaluated, infeasible, failed)", 8),
        ("salt_rejection>high", "'>' compares numbers; 'high' is not a number", 16),
        ("salt_rejection=high", "salt_rejection is a number; 'high' is not", 16),
        ("front>1", "'>' does not apply to front", 6),
        ("front=maybe", "front is true or false, not 'maybe'", 7),
        ("polymer", "'polymer' needs a comparison, e.g. polymer=...", 1),
        ("status", "'status' needs a comparison, e.g. status:failed", 1),
        ("x>", "a value is missing after '>'", 3),
        ("x> and front", "a value is missing after '>'", 4),
        ("(front", "the '(' at column 1 is never closed", 7),
        ("front)", "')' without a matching '('", 6),
        ("front and", "a field or '(' is missing after 'and'", 10),
        ("and front", "expected a field or '(', found 'and'", 1),
        ("=3", "expected a field or '(', found '='", 1),
        ("polymer='PA", "the quote ' opened here is never closed", 9),
        ("x>1 x", "'x' needs a comparison, e.g. x=...", 5),
        ("(" * 70 + "front" + ")" * 70, "the filter nests deeper than 64 levels", 65),
        ("!" * 70 + "front", "the filter nests deeper than 64 levels", 65),
    ],
)
def test_errors_say_what_and_where(text: str, message: str, column: int) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(text, FIELDS)
    assert caught.value.message == message
    assert caught.value.column == column == caught.value.position + 1
    assert str(caught.value) == f"column {column}: {message}"
    assert "\n" not in str(caught.value)


def test_long_and_odd_names_are_clipped_and_printable() -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter("a\x1b[31m" + "b" * 100 + "=1", FIELDS)
    assert "\x1b" not in caught.value.message and len(caught.value.message) < 80
    with pytest.raises(FilterError):
        compile_filter("x>1 " * 2000, FIELDS)


# ----- properties: mask == matches == the predicate written by hand ---------------------------


def missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    ":": operator.eq,
    "!=": operator.ne,
    "==": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def number_atom(field: str, column: str, op: str, literal: float) -> tuple[str, Predicate]:
    def predicate(row: Row) -> bool:
        value = row.get(column)
        return not missing(value) and ORDER[op](value, literal)

    return f"{field}{op}{literal:g}", predicate


def text_matches(value: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(value.casefold(), pattern.casefold())


def polymer_atom(op: str, literal: str) -> tuple[str, Predicate]:
    def predicate(row: Row) -> bool:
        value = row.get("polymer")
        if not isinstance(value, str):
            return False
        return text_matches(value, literal) != (op == "!=")

    quoted = f"'{literal}'" if " " in literal else literal
    return f"polymer {op} {quoted}", predicate


def layers_atom(op: str, literal: int) -> tuple[str, Predicate]:
    def predicate(row: Row) -> bool:
        value = row.get("layers")
        if value is None:
            return False
        if isinstance(value, int):
            return ORDER[op](value, literal)
        return op == "!="  # text against a number: never equal, never ordered

    return f"layers{op}{literal}", predicate


def status_atom(op: str, literal: str) -> tuple[str, Predicate]:
    return f"status{op}{literal}", lambda row: (row.get("status") == literal.lower()) != (op == "!=")


def flag_atom(name: str, spelled: str | None) -> tuple[str, Predicate]:
    if spelled is None:
        return name, lambda row: row.get(name) is True
    wanted = spelled.lower() in ("true", "yes", "1")
    return f"{name}={spelled}", lambda row: row.get(name) is wanted


OPS = ["=", ":", "!=", "==", "<", "<=", ">", ">="]
atoms = st.one_of(
    st.builds(
        number_atom,
        st.sampled_from(["x"]),
        st.just("x"),
        st.sampled_from(OPS),
        st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.5, 95.0]),
    ),
    st.builds(
        number_atom,
        st.sampled_from(["salt_rejection"]),
        st.just("salt_rejection"),
        st.sampled_from(OPS),
        st.sampled_from([90.0, 95.0, 96.5]),
    ),
    st.builds(
        number_atom,
        st.sampled_from(["it", "iteration", "IT"]),
        st.just("iteration"),
        st.sampled_from(OPS),
        st.sampled_from([1.0, 2.0, 10.0]),
    ),
    st.builds(
        polymer_atom,
        st.sampled_from(["=", ":", "!="]),
        st.sampled_from(["PA", "pa", "PVDF", "P*", "*a", "PE S", "*", "x*y"]),
    ),
    st.builds(layers_atom, st.sampled_from(OPS), st.sampled_from([0, 1, 3, 5])),
    st.builds(status_atom, st.sampled_from([":", "=", "!="]), st.sampled_from([*STATUSES, "FAILED"])),
    st.builds(
        flag_atom,
        st.sampled_from(["front", "feasible"]),
        st.sampled_from([None, "true", "False", "yes", "no", "1", "0"]),
    ),
)


def combine(children: st.SearchStrategy[tuple[str, Predicate]]) -> st.SearchStrategy[tuple[str, Predicate]]:
    def negate(item: tuple[str, Predicate], spelling: str) -> tuple[str, Predicate]:
        text, predicate = item
        return f"{spelling}({text})", lambda row: not predicate(row)

    def join(
        left: tuple[str, Predicate], right: tuple[str, Predicate], spelling: str
    ) -> tuple[str, Predicate]:
        (lt, lp), (rt, rp) = left, right
        if spelling.strip().lower() in ("or", "|", "||"):
            return f"({lt}){spelling}({rt})", lambda row: lp(row) or rp(row)
        return f"({lt}){spelling}({rt})", lambda row: lp(row) and rp(row)

    return st.one_of(
        st.builds(negate, children, st.sampled_from(["not ", "NOT", "!", "! "])),
        st.builds(
            join,
            children,
            children,
            st.sampled_from([" and ", " AND ", "&", " && ", " ", " or ", " Or ", "|", " || "]),
        ),
    )


expressions = st.recursive(atoms, combine, max_leaves=12)

values_x = st.one_of(
    st.none(), st.just(math.nan), st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.5, 95.0]), st.floats(-100, 100)
)
rows_strategy = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["a", "b"]),
        "iteration": st.integers(1, 12),
        "status": st.sampled_from(STATUSES),
        "front": st.booleans(),
        "feasible": st.booleans(),
        "x": values_x,
        "salt_rejection": st.one_of(st.none(), st.sampled_from([90.0, 95.0, 96.5]), st.floats(80, 100)),
        "polymer": st.one_of(
            st.none(), st.sampled_from(["PA", "pa", "PAN", "PVDF", "PE S", "Pa", "xay", "xy"])
        ),
        "layers": st.one_of(st.none(), st.integers(0, 6), st.just("many")),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression=expressions, rows=st.lists(rows_strategy, min_size=1, max_size=25), style=st.integers(0, 2))
def test_mask_and_matches_agree_with_the_predicate(
    expression: tuple[str, Predicate], rows: list[Row], style: int
) -> None:
    text, predicate = expression
    compiled = compile_filter(text, FIELDS)
    expected = [predicate(row) for row in rows]
    assert [compiled.matches(row) for row in rows] == expected, text
    assert compiled.mask(columns_of(rows, style)).tolist() == expected, (text, style)  # type: ignore[arg-type]


# ----- fuzz: nothing but FilterError ---------------------------------------------------------

PIECES = [
    "(",
    ")",
    "and",
    "or",
    "not",
    "!",
    "&",
    "|",
    "x",
    "polymer",
    "layers",
    "=",
    "!=",
    ">",
    "<=",
    ":",
    "'",
    '"',
    "\\",
    "PA",
    "3",
    "-1e5",
    "1e999",
    " ",
    "front",
    "status",
    "failed",
    "*",
    "it",
    "id",
    "é",
    "\x00",
    "\n",
]


def exercise(text: str) -> None:
    try:
        compiled = compile_filter(text, FIELDS)
    except FilterError as error:
        assert error.position >= 0 and "\n" not in error.message
        return
    assert isinstance(compiled, Filter)
    mask = compiled.mask(columns_of(ROWS, 0))  # type: ignore[arg-type]
    assert mask.tolist() == [compiled.matches(row) for row in ROWS]


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_any_text_raises_nothing_but_filter_error(text: str) -> None:
    exercise(text)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=25).map("".join))
def test_near_miss_filters_raise_nothing_but_filter_error(text: str) -> None:
    exercise(text)


def test_the_statuses_are_the_states() -> None:
    assert get_args(CandidateStatus) == STATUSES


def test_not_text_is_a_filter_error() -> None:
    with pytest.raises(FilterError):
        compile_filter(42, FIELDS)  # type: ignore[arg-type]
