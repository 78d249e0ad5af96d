"""storage.validation: number and date parsing, per-file decisions, row reasons."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.readers import ROW
from storage.validation import (
    Evidence,
    FileRules,
    decide_date_order,
    decide_decimal,
    decide_rules,
    parse_date,
    parse_number,
    validate,
)

EPOCH = dt.date(1970, 1, 1)


def numbers(values: list[str | None], style: str) -> list[float | None]:
    return (
        pl.DataFrame({"v": values}, schema={"v": pl.String})
        .select(parse_number(pl.col("v"), style).alias("v"))["v"]
        .to_list()
    )


def dates(values: list[str | None], order: str = "dmy") -> list[dt.date | None]:
    return (
        pl.DataFrame({"v": values}, schema={"v": pl.String})
        .select(parse_date(pl.col("v"), order).alias("v"))["v"]
        .to_list()
    )


@pytest.mark.parametrize(
    ("text", "point", "comma"),
    [
        ("1234.5", 1234.5, None),
        ("1,234.50", 1234.5, None),
        ("$1,234.50", 1234.5, None),
        ("€ 1.234,50", None, 1234.5),
        ("1.234,50 €", None, 1234.5),
        ("1234 EUR", 1234.0, 1234.0),
        ("12,5", None, 12.5),
        ("1 234,5", None, 1234.5),
        ("1'234.50", 1234.5, None),
        ("-12.50", -12.5, None),
        ("(12.50)", -12.5, None),
        ("12.50-", -12.5, None),
        ("-€5", -5.0, -5.0),
        ("1,234", 1234.0, 1.234),
        ("1.234", 1.234, 1234.0),
        ("1e3", 1000.0, None),
        ("abc", None, None),
        ("1,2,3", None, None),
        ("1.234.567", None, 1234567.0),
        ("6O.00", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_number_parsing_by_hand(text: str | None, point: float | None, comma: float | None) -> None:
    assert numbers([text], "point") == [point]
    assert numbers([text], "comma") == [comma]


@settings(max_examples=150, deadline=None)
@given(
    cents=st.integers(min_value=-(10**11), max_value=10**11),
    currency=st.sampled_from(["", "€ ", "$", "EUR "]),
)
def test_numbers_formatted_by_python_parse_back(cents: int, currency: str) -> None:
    value = cents / 100
    grouped_point = f"{value:,.2f}"  # Python's own formatting is the reference
    grouped_comma = grouped_point.replace(",", "_").replace(".", ",").replace("_", ".")
    plain_point = f"{value:.2f}"
    sign = "-" if value < 0 else ""
    with_currency = f"{sign}{currency}{abs(value):,.2f}"
    got_point = numbers([grouped_point, plain_point, with_currency], "point")
    got_comma = numbers([grouped_comma, plain_point.replace(".", ",")], "comma")
    for got in got_point + got_comma:
        assert got == pytest.approx(value, abs=1e-9)


def test_decimal_decision() -> None:
    assert decide_decimal(point_only=0, comma_only=3, separator=",") == "comma"
    assert decide_decimal(point_only=5, comma_only=1, separator=";") == "point"
    # No evidence: the delimiter decides.
    assert decide_decimal(0, 0, ";") == "comma"
    assert decide_decimal(0, 0, ",") == "point"
    assert decide_decimal(0, 0, "\t") == "point"


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2024-03-31", "dmy", dt.date(2024, 3, 31)),
        ("2010-12-01 08:26:00", "dmy", dt.date(2010, 12, 1)),
        ("2024-03-31T23:30:00Z", "dmy", dt.date(2024, 3, 31)),
        ("2024-03-31T23:30:00+02:00", "dmy", dt.date(2024, 3, 31)),
        ("2024-03-31 10:00:00.123456", "dmy", dt.date(2024, 3, 31)),
        ("2024/3/5", "dmy", dt.date(2024, 3, 5)),
        ("31/12/2024", "dmy", dt.date(2024, 12, 31)),
        ("12/31/2024", "mdy", dt.date(2024, 12, 31)),
        ("03/04/2024", "dmy", dt.date(2024, 4, 3)),
        ("03/04/2024", "mdy", dt.date(2024, 3, 4)),
        ("31.01.2024", "dmy", dt.date(2024, 1, 31)),
        ("5-1-24", "dmy", dt.date(2024, 1, 5)),
        ("1/5/69", "mdy", dt.date(1969, 1, 5)),
        ("12/1/2010 8:26", "mdy", dt.date(2010, 12, 1)),
        ("12/1/2010 8:26 PM", "mdy", dt.date(2010, 12, 1)),
        ("45396", "dmy", dt.date(2024, 4, 14)),  # Excel serial
        ("45396.75", "dmy", dt.date(2024, 4, 14)),
        ("20240131", "dmy", dt.date(2024, 1, 31)),
        ("01-Dec-2010", "dmy", dt.date(2010, 12, 1)),
        ("1 December 2010", "dmy", dt.date(2010, 12, 1)),
        ("31/02/2024", "dmy", None),
        ("2/30/2024", "mdy", None),
        ("12/31/2024", "dmy", None),
        ("2024-13-01", "dmy", None),
        ("0001-01-01", "dmy", None),
        ("yesterday", "dmy", None),
        ("2024-03-31garbage", "dmy", None),
        ("", "dmy", None),
    ],
)
def test_date_parsing_by_hand(text: str, order: str, expected: dt.date | None) -> None:
    assert dates([text], order) == [expected]


@settings(max_examples=60, deadline=None)
@given(day=st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2150, 12, 31)))
def test_dates_formatted_by_strftime_parse_back(day: dt.date) -> None:
    serial = str((day - dt.date(1899, 12, 30)).days)
    dmy = [day.strftime(f) for f in ("%d/%m/%Y", "%d.%m.%Y", "%d-%b-%Y")]
    mdy = [day.strftime("%m/%d/%Y"), f"{day.month}/{day.day}/{day.year} 14:05"]
    iso = [day.isoformat(), day.strftime("%Y-%m-%dT%H:%M:%SZ"), day.strftime("%Y%m%d"), serial]
    assert dates(dmy + iso, "dmy") == [day] * (len(dmy) + len(iso))
    assert dates(mdy + iso, "mdy") == [day] * (len(mdy) + len(iso))


def test_date_order_decision() -> None:
    assert decide_date_order(day_first=2, month_first=0) == "dmy"
    assert decide_date_order(day_first=0, month_first=1) == "mdy"
    assert decide_date_order(0, 0) == "dmy"  # ambiguous: day first
    assert decide_date_order(1, 5) == "mdy"  # mixed: the majority


def evidence_for(frame: pl.DataFrame, numbers: list[str], date_cols: list[str]) -> Evidence:
    ev = Evidence()
    ev.add(frame, numbers, date_cols)
    return ev


def test_ambiguous_dates_are_read_day_first_and_noted() -> None:
    frame = pl.DataFrame({"d": ["01/02/2024", "03/04/2024", "2024-05-06"]})
    rules = decide_rules(evidence_for(frame, [], ["d"]), ",", {}, {}, {"d": "date"})
    assert rules.date_order == {"d": "dmy"}
    assert any("ambiguous" in n and "day/month/year" in n for n in rules.notes)


def test_month_first_evidence_anywhere_in_the_column_decides() -> None:
    frame = pl.DataFrame({"d": ["01/02/2024"] * 5 + ["12/31/2024"]})
    rules = decide_rules(evidence_for(frame, [], ["d"]), ",", {}, {}, {"d": "date"})
    assert rules.date_order == {"d": "mdy"}
    assert rules.notes == ()


def test_evidence_over_batches_equals_evidence_over_the_whole() -> None:
    frame = pl.DataFrame(
        {
            "n": ["1,5", "2.000", "3", None, "7,25"],
            "d": ["13/01/2024", "01/02/2024", None, "x", "2024-01-01"],
        }
    )
    whole = evidence_for(frame, ["n"], ["d"])
    parts = Evidence()
    for i in range(0, 5, 2):
        parts.add(frame.slice(i, 2), ["n"], ["d"])
    # [present, point-only, comma-only, valid as point, valid as comma, with a separator];
    # the "valid" counts are only needed (and computed) for account attributes.
    assert parts.numbers == whole.numbers == {"n": [4, 0, 2, 0, 0, 3]}
    attr = Evidence()
    attr.add(frame, ["n"], [], attribute_sources=["n"])
    assert attr.numbers == {"n": [4, 0, 2, 2, 4, 3]}
    assert parts.dates == whole.dates == {"d": [1, 0, 2]}


def raw(columns: dict[str, list[str | None]]) -> pl.DataFrame:
    frame = pl.DataFrame(columns, schema={k: pl.String for k in columns})
    return frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))


def test_transaction_rows_reasons_and_derived_amount() -> None:
    frame = raw(
        {
            "Cust": ["A", "A", None, "B", "B", "C", "C"],
            "When": [
                "31/01/2024", "31/02/2024", "01/02/2024", "13/02/2024", "14/02/2024",
                "15/02/2024", "16/02/2024",
            ],
            "Qty": ["2", "1", "1", "abc", "-3", None, "1"],
            "Price": ["2,50", "1", "1", "1", "1,5", "4", None],
        }
    )  # fmt: skip
    mapping = {"Cust": "account_id", "When": "date", "Qty": "quantity", "Price": "unit_price"}
    rules = FileRules(decimal={"Qty": "comma", "Price": "comma"}, date_order={"When": "dmy"})
    result = validate(frame, "transactions", mapping, rules, list(mapping))
    acc = result.accepted
    assert acc[ROW].to_list() == [2, 6]
    assert acc["amount"].to_list() == [5.0, -4.5]  # 2 x 2.50; a return: -3 x 1.5
    assert acc["date"].to_list() == [
        (dt.date(2024, 1, 31) - EPOCH).days,
        (dt.date(2024, 2, 14) - EPOCH).days,
    ]
    assert acc["date"].dtype == pl.Int32
    rej = {r: reason for r, reason in result.rejected.select(ROW, "reason").iter_rows()}
    assert rej == {
        3: "date '31/02/2024' is not a valid date"
        " (this file's d/m/y dates are read as day/month/year)",
        4: "account_id is missing ('Cust' is empty)",
        5: "quantity 'abc' is not a number",
        7: "amount is missing (no amount, no quantity x unit price)",
        8: "amount is missing (no amount, no quantity x unit price)",
    }
    assert json.loads(result.rejected.filter(pl.col(ROW) == 5)["raw_json"][0]) == {
        "Cust": "B", "When": "13/02/2024", "Qty": "abc", "Price": "1",
    }  # fmt: skip


def test_several_problems_in_one_row_are_all_named() -> None:
    frame = raw({"id": ["A"], "emp": ["many"], "rev": ["lots"]})
    mapping = {"id": "account_id", "emp": "employees", "rev": "annual_revenue"}
    result = validate(frame, "accounts", mapping, FileRules({}, {}), list(mapping))
    assert result.rejected["reason"].to_list() == [
        "employees 'many' is not a number; annual_revenue 'lots' is not a number"
    ]
    assert result.rejected["rule"].to_list() == ["employees is not a number"]


def test_duplicate_ids_keep_the_first_valid_row() -> None:
    frame = raw(
        {
            "id": ["A-17", "A-18", "A-17", "A-19", "A-19", " A-18 "],
            "emp": ["10", "x", "12", "5", "6", "7"],
        }
    )
    mapping = {"id": "account_id", "emp": "employees"}
    result = validate(frame, "accounts", mapping, FileRules({}, {}), list(mapping))
    assert result.accepted.select(ROW, "account_id", "employees").rows() == [
        (2, "A-17", 10),
        (5, "A-19", 5),
        (7, "A-18", 7),  # row 3 was invalid, so row 7 is the first valid A-18
    ]
    rej = dict(result.rejected.select(ROW, "reason").iter_rows())
    assert rej == {
        3: "employees 'x' is not a number",
        4: "duplicate account_id 'A-17' (first seen on row 2; the first is kept)",
        6: "duplicate account_id 'A-19' (first seen on row 5; the first is kept)",
    }


def test_whole_numbers_and_booleans() -> None:
    frame = raw(
        {
            "id": ["A", "B", "C", "D"],
            "emp": ["12", "12.5", "1,200", None],
            "cust": ["yes", "no", "maybe", ""],
        }
    )
    mapping = {"id": "account_id", "emp": "employees", "cust": "is_customer"}
    result = validate(frame, "accounts", mapping, FileRules({"emp": "point"}, {}), list(mapping))
    assert result.accepted.select("account_id", "employees", "is_customer").rows() == [
        ("A", 12, True),
        ("D", None, None),
    ]
    assert result.accepted["employees"].dtype == pl.Int64
    assert dict(result.rejected.select(ROW, "reason").iter_rows()) == {
        3: "employees '12.5' is not a whole number",
        4: "is_customer 'maybe' is not yes/no (true/false, 1/0)",
    }


def test_contacts_names_are_joined_and_ids_derived() -> None:
    frame = raw({"acc": ["A", "A", "B"], "fn": ["Anna", None, "Bo"], "ln": ["Berg", "Solo", None]})
    mapping = {"acc": "account_id", "fn": "first_name", "ln": "last_name"}
    result = validate(frame, "contacts", mapping, FileRules({}, {}), list(mapping))
    assert result.accepted.select("contact_id", "name").rows() == [
        ("A-2", "Anna Berg"),
        ("A-3", "Solo"),
        ("B-4", "Bo"),
    ]


def test_reference_amounts_against_plain_python() -> None:
    """Independent reference: parse a messy column with plain Python and compare."""
    values = ["1.234,56", "-200,00", "12,5", "€ 99,90", "0,01", "1.000.000"]

    def reference(text: str) -> float:
        cleaned = text.replace("€", "").strip().replace(".", "").replace(",", ".")
        return float(cleaned)

    assert numbers(values, "comma") == pytest.approx([reference(v) for v in values])


def test_account_text_is_stripped_and_blank_is_null() -> None:
    frame = raw({"id": [" A ", "B"], "ind": ["  Food ", "   "]})
    mapping = {"id": "account_id", "ind": "industry"}
    result = validate(frame, "accounts", mapping, FileRules({}, {}), list(mapping))
    assert result.accepted.select("account_id", "industry").rows() == [("A", "Food"), ("B", None)]
