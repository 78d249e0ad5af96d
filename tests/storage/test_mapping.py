"""storage.mapping: export column names recognised, overrides, the no-id error."""

from __future__ import annotations

import pytest

from core.errors import UsageError
from storage.mapping import (
    attribute_name,
    check_required,
    guess_mapping,
    normalise,
    parse_overrides,
    resolve_mapping,
)
from storage.readers import ImportFileError


def test_normalise_ignores_case_space_and_punctuation() -> None:
    assert normalise("Billing State/Province") == "billingstateprovince"
    assert normalise(" billing_state-province ") == "billingstateprovince"
    assert normalise("Country/Region") == normalise("country region")


def test_salesforce_account_export() -> None:
    columns = [
        "Account ID", "Account Name", "Industry", "Billing Country",
        "Billing State/Province", "Employees", "Annual Revenue", "Type", "Ownership",
        "Account Owner",
    ]  # fmt: skip
    assert guess_mapping(columns, "accounts") == {
        "Account ID": "account_id",
        "Account Name": "name",
        "Industry": "industry",
        "Billing Country": "country",
        "Billing State/Province": "region",
        "Employees": "employees",
        "Annual Revenue": "annual_revenue",
        "Ownership": "ownership",
        # Not canonical: kept as account attributes.
        "Type": "type",
        "Account Owner": "account_owner",
    }


def test_hubspot_company_export_any_case() -> None:
    columns = [
        "RECORD ID", "company name", "Number of Employees", "Country/Region",
        "Industry", "Annual Revenue", "Lifecycle Stage",
    ]  # fmt: skip
    assert guess_mapping(columns, "accounts") == {
        "RECORD ID": "account_id",
        "company name": "name",
        "Number of Employees": "employees",
        "Country/Region": "country",
        "Industry": "industry",
        "Annual Revenue": "annual_revenue",
        "Lifecycle Stage": "lifecycle_stage",
    }


def test_uci_online_retail_invoice_lines() -> None:
    columns = [
        "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
        "CustomerID", "Country",
    ]  # fmt: skip
    assert guess_mapping(columns, "transactions") == {
        "InvoiceNo": "invoice_id",
        "StockCode": "product",
        "Quantity": "quantity",
        "InvoiceDate": "date",
        "UnitPrice": "unit_price",
        "CustomerID": "account_id",
    }


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (
            ["Invoice Number", "Invoice Date", "Customer No", "Qty", "Price", "Net Amount",
             "SKU", "Product Line", "Contribution Margin"],
            {"Invoice Number": "invoice_id", "Invoice Date": "date", "Customer No": "account_id",
             "Qty": "quantity", "Price": "unit_price", "Net Amount": "amount", "SKU": "product",
             "Product Line": "product_line", "Contribution Margin": "margin"},
        ),
        (
            ["invoice_no", "date", "customer_id", "line_total", "category", "gross_profit",
             "description"],
            {"invoice_no": "invoice_id", "date": "date", "customer_id": "account_id",
             "line_total": "amount", "category": "product_line", "gross_profit": "margin",
             "description": "product"},
        ),
        (
            ["Invoice", "Customer ID", "Invoice Date", "Revenue", "Product", "Margin"],
            {"Invoice": "invoice_id", "Customer ID": "account_id", "Invoice Date": "date",
             "Revenue": "amount", "Product": "product", "Margin": "margin"},
        ),
    ],
)  # fmt: skip
def test_erp_invoice_line_variants(columns: list[str], expected: dict[str, str]) -> None:
    assert guess_mapping(columns, "transactions") == expected


def test_contacts_export_with_first_and_last_name() -> None:
    columns = [
        "Contact ID", "Account ID", "First Name", "Last Name", "Job Title", "Department",
        "Seniority", "Email", "Buying Role", "Phone",
    ]  # fmt: skip
    assert guess_mapping(columns, "contacts") == {
        "Contact ID": "contact_id",
        "Account ID": "account_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Job Title": "title",
        "Department": "function",
        "Seniority": "seniority",
        "Buying Role": "decision_role",
        "Email": "email",
    }


def test_contacts_full_name_role_function() -> None:
    mapping = guess_mapping(
        ["Record ID", "Company ID", "Full Name", "Role", "Function"], "contacts"
    )
    assert mapping == {
        "Record ID": "contact_id",
        "Company ID": "account_id",
        "Full Name": "name",
        "Role": "decision_role",
        "Function": "function",
    }


def test_canonical_names_map_to_themselves() -> None:
    columns = ["account_id", "date", "amount", "margin", "invoice_id", "product",
               "product_line", "channel", "quantity", "unit_price"]  # fmt: skip
    assert guess_mapping(columns, "transactions") == {c: c for c in columns}


def test_attribute_names_are_safe_identifiers() -> None:
    assert attribute_name("Billing City") == "billing_city"
    assert attribute_name("2024 Score (%)") == "a_2024_score"
    assert attribute_name("import_id") == "attr_import_id"
    assert attribute_name("name") == "attr_name"
    assert attribute_name("!!!") == "attribute"


def test_overrides_take_a_target_and_ignore_a_column() -> None:
    columns = ["Kunde", "Datum", "Betrag", "Customer ID", "Notiz"]
    overrides = parse_overrides(["Kunde=account_id", "Datum=date", "Betrag=amount", "Customer ID="])
    mapping = resolve_mapping(columns, "transactions", overrides)
    assert mapping == {"Kunde": "account_id", "Datum": "date", "Betrag": "amount"}


def test_override_on_accounts_moves_the_guess_to_an_attribute() -> None:
    columns = ["Account ID", "Legacy Number", "Notes"]
    mapping = resolve_mapping(columns, "accounts", {"Legacy Number": "account_id", "Notes": None})
    assert mapping == {"Legacy Number": "account_id", "Account ID": "attr_account_id"}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["no-equals-sign"], "is not SOURCE=TARGET"),
        (["=account_id"], "names no source column"),
    ],
)
def test_bad_override_syntax(items: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_overrides(items)


def test_override_of_an_unknown_column_or_target() -> None:
    with pytest.raises(UsageError, match="which the file does not have; its columns are 'a', 'b'"):
        resolve_mapping(["a", "b"], "transactions", {"zzz": "date"})
    with pytest.raises(UsageError, match="'revenue_total' is not a transactions column"):
        resolve_mapping(["a", "b"], "transactions", {"a": "revenue_total"})


def test_file_without_id_column_lists_columns_and_hint() -> None:
    columns = ["Firma", "Umsatz"]
    mapping = guess_mapping(columns, "accounts")
    with pytest.raises(ImportFileError) as info:
        check_required(columns, "accounts", mapping, "x.csv")
    message = str(info.value)
    assert "no column for the account (customer) id (account_id)" in message
    assert "'Firma', 'Umsatz'" in message
    assert "--map 'COLUMN=account_id'" in message


def test_transactions_need_a_date_and_an_amount_or_quantity_and_price() -> None:
    columns = ["Customer ID", "Invoice Date", "Qty"]
    mapping = guess_mapping(columns, "transactions")
    with pytest.raises(ImportFileError, match=r"the amount \(or quantity and unit price\)"):
        check_required(columns, "transactions", mapping, "x.csv")
    columns = ["Customer ID", "Qty", "Price"]
    with pytest.raises(ImportFileError, match="the invoice date"):
        check_required(columns, "transactions", guess_mapping(columns, "transactions"), "x.csv")


def test_unknown_kind() -> None:
    with pytest.raises(UsageError, match="unknown kind 'leads'"):
        guess_mapping(["a"], "leads")
