"""Mapping the columns of an import file onto segscope's canonical columns.

Column names are compared after normalising them: lower case, every character
that is not a letter or digit removed, so ``Billing State/Province``,
``billing_state_province`` and ``BillingStateProvince`` are the same name. Each
canonical column lists the names common CRM and ERP exports use for it, most
specific first; a source column is used for one target only.

Targets besides the canonical columns (docs/architecture.md):
- transactions: none; unmapped columns (``Country``, ``Description`` when a
  product code exists, ...) are ignored and reported;
- contacts: ``first_name`` and ``last_name`` are joined into ``name``;
- activities: none; unmapped columns are ignored and reported;
- accounts: every unrecognised column is kept as an account attribute under a
  snake_case name (``Billing City`` -> ``billing_city``).

``SOURCE=TARGET`` overrides (``--map``) win over guesses; ``SOURCE=`` ignores
a column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from core.errors import UsageError
from storage.readers import ImportFileError
from storage.schema import (
    ACCOUNT_COLUMNS,
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    TRANSACTION_COLUMNS,
)

KINDS = ("accounts", "transactions", "contacts", "activities")

# Names in priority order; each is normalised with ``normalise`` before use.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {
        "account_id": (
            "account_id",
            "Account ID",
            "Account Number",
            "Account No",
            "Record ID",
            "Company ID",
            "Customer ID",
            "CustomerID",
            "Customer No",
            "Customer Number",
            "Client ID",
            "Organisation ID",
            "Organization ID",
            "ID",
            "Account",  # CRM exports keyed by the company name (Maven CRM "account")
        ),
        "name": (
            "name",
            "Account Name",
            "Company name",
            "Company",
            "Customer Name",
            "Organisation",
            "Organization",
            "Organisation Name",
            "Organization Name",
        ),
        "industry": ("industry", "Industry", "Sector", "Vertical", "Industry Sector"),
        "country": (
            "country",
            "Billing Country",
            "Country/Region",
            "Country",
            "Shipping Country",
            "Country Name",
            "Country Code",
        ),
        "region": (
            "region",
            "Billing State/Province",
            "Billing State",
            "State/Region",
            "State/Province",
            "State",
            "Region",
            "Province",
        ),
        "employees": (
            "employees",
            "Employees",
            "Number of Employees",
            "Employee Count",
            "No of Employees",
            "Headcount",
            "Staff",
        ),
        "annual_revenue": (
            "annual_revenue",
            "Annual Revenue",
            "Revenue",
            "Turnover",
            "Annual Turnover",
        ),
        "founded_year": (
            "founded_year",
            "Year Founded",
            "Founded",
            "Founded Year",
            "Year Established",
            "Established",
        ),
        "legal_form": ("legal_form", "Legal Form", "Legal Entity Type", "Company Type"),
        "ownership": ("ownership", "Ownership"),
        "business_phase": ("business_phase", "Business Phase", "Phase"),
        "purchasing_organisation": (
            "purchasing_organisation",
            "Purchasing Organization",
            "Purchasing",
        ),
        "buying_driver": ("buying_driver", "Buying Driver"),
        "offer_type": ("offer_type", "Offer Type"),
        "buying_center_size": (
            "buying_center_size",
            "Buying Centre Size",
            "Buying Center",
            "Buying Centre",
        ),
        "collaboration": ("collaboration", "Willingness to Collaborate"),
        "technologies": ("technologies", "Technologies", "Technology", "Tech Stack"),
        "touchpoint_preference": ("touchpoint_preference", "Preferred Touchpoint"),
        "is_customer": ("is_customer", "Customer", "Is Customer"),
    },
    "transactions": {
        "account_id": (
            "account_id",
            "Customer ID",
            "CustomerID",
            "Customer No",
            "Customer Number",
            "Customer",
            "Account ID",
            "Account Number",
            "Account",
            "Client ID",
            "Sold-to Party",
            "Debtor",
            "Company ID",
        ),
        "date": (
            "date",
            "Invoice Date",
            "InvoiceDate",
            "Order Date",
            "Transaction Date",
            "Posting Date",
            "Document Date",
            "Billing Date",
            "Sale Date",
            "Date",
            "Close Date",  # won opportunities of a CRM pipeline export
        ),
        "amount": (
            "amount",
            "Net Amount",
            "Line Total",
            "Amount",
            "Net Sales",
            "Sales Amount",
            "Revenue",
            "Sales",
            "Line Amount",
            "Total",
            "Net Value",
            "Value",
            "Close Value",
            "Deal Value",
        ),
        "margin": (
            "margin",
            "Contribution Margin",
            "Gross Profit",
            "Gross Margin",
            "Margin",
            "Profit",
        ),
        "invoice_id": (
            "invoice_id",
            "Invoice No",
            "InvoiceNo",
            "Invoice Number",
            "Invoice",
            "Invoice ID",
            "Order ID",
            "Order No",
            "Order Number",
            "Document No",
            "Document Number",
            "Billing Document",
            "Opportunity ID",  # a pipeline export: re-importing it replaces each deal
            "Deal ID",
        ),
        "product": (
            "product",
            "StockCode",
            "Stock Code",
            "SKU",
            "Product ID",
            "Product Code",
            "Item Code",
            "Article Number",
            "Material",
            "Product",
            "Item",
        ),
        "product_line": (
            "product_line",
            "Product Line",
            "Product Category",
            "Category",
            "Product Group",
            "Material Group",
        ),
        "channel": ("channel", "Sales Channel", "Channel"),
        "quantity": ("quantity", "Quantity", "Qty", "Units", "Quantity Ordered"),
        "unit_price": (
            "unit_price",
            "Unit Price",
            "UnitPrice",
            "Price",
            "Price Each",
            "Net Price",
        ),
    },
    "contacts": {
        "contact_id": ("contact_id", "Contact ID", "Record ID", "Person ID", "ID"),
        "account_id": (
            "account_id",
            "Account ID",
            "Associated Company ID",
            "Company ID",
            "Customer ID",
            "CustomerID",
            "Account Number",
        ),
        "name": ("name", "Full Name", "Contact Name", "Name"),
        "first_name": ("first_name", "First Name", "Given Name", "Firstname"),
        "last_name": ("last_name", "Last Name", "Surname", "Family Name", "Lastname"),
        "title": ("title", "Job Title", "Title", "Position"),
        "function": ("function", "Department", "Function", "Business Function"),
        "seniority": ("seniority", "Seniority", "Seniority Level", "Management Level"),
        "decision_role": (
            "decision_role",
            "Buying Role",
            "Decision Role",
            "Buying Center Role",
            "Buying Centre Role",
            "Role",
        ),
        "preferred_channel": ("preferred_channel", "Preferred Channel"),
        "email": ("email", "Email", "Email Address", "E-mail", "Mail"),
    },
    # CRM activity exports: Salesforce tasks and events (AccountId before WhatId,
    # which may name an opportunity), HubSpot engagements (associated company).
    "activities": {
        "account_id": (
            "account_id",
            "AccountId",
            "Account ID",
            "Associated Company ID",
            "Associated Company IDs",
            "Associated Company",
            "Company ID",
            "Customer ID",
            "CustomerID",
            "WhatId",
            "Related To ID",
        ),
        "date": (
            "date",
            "ActivityDate",
            "Activity Date",
            "ActivityDateTime",
            "StartDateTime",
            "hs_timestamp",
            "Timestamp",
            "Activity Timestamp",
            "Engagement Date",
            "Date",
            "Created Date",
            "CreatedDate",
        ),
        "type": (
            "type",
            "Activity Type",
            "Engagement Type",
            "hs_engagement_type",
            "hs_activity_type",
            "TaskSubtype",
            "EventSubtype",
            "Type",
            "Subtype",
        ),
        "owner": (
            "owner",
            "OwnerId",
            "Owner ID",
            "hubspot_owner_id",
            "HubSpot Owner ID",
            "Activity Owner",
            "Assigned To",
            "Activity assigned to",
            "Owner",
            "Sales Rep",
        ),
        "duration_minutes": (
            "duration_minutes",
            "DurationInMinutes",
            "Duration In Minutes",
            "Duration (minutes)",
            "Duration Minutes",
            "Duration",
        ),
        "activity_id": (
            "activity_id", "Activity ID", "Engagement ID", "hs_object_id", "Record ID", "Id", "ID",
        ),
        "subject": ("subject", "Subject", "hs_engagement_title", "Title"),
    },
}

# Per-account aggregates of purchases (issue 14): what the account bought from
# us, summarised elsewhere, as opposed to its own turnover (annual_revenue).
# They become account attributes under these names; AGGREGATES_NOTE says what
# they can and cannot feed.
AGGREGATE_ALIASES: dict[str, tuple[str, ...]] = {
    "revenue_12m": (
        "revenue_12m", "Revenue 12m", "Revenue 12 Months", "Revenue Last 12 Months",
        "Revenue LTM", "Sales 12m", "Sales Last 12 Months", "Total Revenue", "Total Sales",
        "Total Spend", "Monetary", "Monetary Value", "Purchase Value", "Spend",
    ),
    "margin_12m": ("margin_12m", "Margin 12m", "Total Margin", "Gross Profit 12m"),
    "orders_12m": (
        "orders_12m", "Orders 12m", "Orders", "Number of Orders", "Order Count", "Total Orders",
        "Frequency", "Purchase Count", "Number of Purchases", "Invoices",
    ),
    # not first_purchase/last_purchase: those are metrics computed from lines
    "first_purchase_date": (
        "first_purchase_date", "first_purchase", "First Purchase", "First Purchase Date",
        "First Order Date", "First Order", "Customer Since",
    ),
    "last_purchase_date": (
        "last_purchase_date", "last_purchase", "Last Purchase", "Last Purchase Date",
        "Last Order Date", "Last Order", "Recency Date",
    ),
}
# Bare names that mean the account's turnover in a CRM export but what it bought
# from us in a file of purchase aggregates.
AMBIGUOUS_REVENUE = ("Revenue", "Sales")
AGGREGATES_NOTE = (
    "per-account aggregates ({found}) are kept as account attributes: bins, rules, categories, "
    "filters and the Accounts table can use them; the metrics computed from invoice lines "
    "(revenue, orders, recency, frequency, growth, ABC and RFM from them, the revenue bridge, "
    "CLV, potential) cannot, as they need dated lines: import the lines, or summarise them "
    "where they live (segscope import WS SOURCE --summarise)"
)

# When ``Description`` is the only thing that names the product, use it.
PRODUCT_FALLBACKS = ("Description", "Product Name", "Item Description", "Product Description")

CANONICAL: dict[str, tuple[str, ...]] = {
    "accounts": tuple(ACCOUNT_COLUMNS),
    "transactions": tuple(TRANSACTION_COLUMNS),
    "contacts": tuple(CONTACT_COLUMNS),
    "activities": tuple(ACTIVITY_COLUMNS),
}
# Targets a mapping may name that are not stored columns themselves.
PSEUDO_TARGETS = {"contacts": ("first_name", "last_name")}
# Attribute names that would clash with the table or SQLite.
RESERVED = {"import_id", "rowid", "oid", "_rowid_", "id"}

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(name: str) -> str:
    """``'Billing State/Province'`` -> ``'billingstateprovince'``."""
    return _NON_ALNUM.sub("", name.lower())


def attribute_name(column: str) -> str:
    """A safe snake_case column name for an unknown account column."""
    name = re.sub(r"[^0-9a-z]+", "_", column.strip().lower()).strip("_")
    if not name:
        name = "attribute"
    if name[0].isdigit():
        name = f"a_{name}"
    if name in RESERVED or name in ACCOUNT_COLUMNS:
        name = f"attr_{name}"
    return name


def targets(kind: str) -> tuple[str, ...]:
    """Every name a mapping may send a column to for ``kind``."""
    check_kind(kind)
    return CANONICAL[kind] + PSEUDO_TARGETS.get(kind, ())


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UsageError(f"unknown kind '{kind}'; expected one of {', '.join(KINDS)}")


def guess_mapping(columns: Sequence[str], kind: str) -> dict[str, str]:
    """{source column: target} for the columns recognised (and, for accounts, kept).

    Columns left out of the result are ignored by the import.
    """
    check_kind(kind)
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalise(col), col)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for target, aliases in ALIASES[kind].items():
        for alias in aliases:
            source = by_norm.get(normalise(alias))
            if source is not None and source not in used:
                mapping[source] = target
                used.add(source)
                break
    if kind == "transactions" and "product" not in mapping.values():
        for alias in PRODUCT_FALLBACKS:
            source = by_norm.get(normalise(alias))
            if source is not None and source not in used:
                mapping[source] = "product"
                used.add(source)
                break
    if kind == "accounts":
        _map_aggregates(by_norm, mapping, used)
        taken = set(mapping.values())
        for col in columns:
            if col in used or not col.strip():
                continue
            name = attribute_name(col)
            while name in taken:
                name = f"{name}_2"
            mapping[col] = name
            taken.add(name)
    return mapping


def _map_aggregates(by_norm: Mapping[str, str], mapping: dict[str, str], used: set[str]) -> None:
    """Per-account purchase aggregates onto their own attribute names; a bare
    ``Revenue`` beside them is one of them, not the account's turnover."""
    found = False
    for target, aliases in AGGREGATE_ALIASES.items():
        for alias in aliases:
            source = by_norm.get(normalise(alias))
            if source is not None and source not in used:
                mapping[source] = target
                used.add(source)
                found = True
                break
    if not found or "revenue_12m" in mapping.values():
        return
    for source, target in list(mapping.items()):
        if target == "annual_revenue" and normalise(source) in {
            normalise(a) for a in AMBIGUOUS_REVENUE
        }:
            mapping[source] = "revenue_12m"


def mapping_notes(columns: Sequence[str], mapping: Mapping[str, str], kind: str) -> list[str]:
    """What the mapping decided that a person should know (the aggregates it
    recognised, a bare revenue column read as turnover), one sentence each."""
    if kind != "accounts":
        return []
    notes = []
    aggregates = [f"{s} -> {t}" for s, t in mapping.items() if t in AGGREGATE_ALIASES]
    if aggregates:
        notes.append(AGGREGATES_NOTE.format(found=", ".join(aggregates)))
    for source, target in mapping.items():
        if target == "annual_revenue" and normalise(source) in {
            normalise(a) for a in AMBIGUOUS_REVENUE
        }:
            notes.append(
                f"'{source}' was read as the account's own turnover (annual_revenue); if it is "
                f"what the account bought from you, import it with --map '{source}=revenue_12m'"
            )
    return notes


def parse_overrides(items: Iterable[str]) -> dict[str, str | None]:
    """``['Customer No=account_id', 'Notes=']`` -> ``{'Customer No': 'account_id', 'Notes': None}``.

    ``SOURCE=`` (empty target) ignores the column.
    """
    overrides: dict[str, str | None] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(
                f"--map '{item}' is not SOURCE=TARGET (use 'SOURCE=' to ignore a column)"
            )
        source, target = item.rsplit("=", 1)
        source = source.strip()
        if not source:
            raise UsageError(f"--map '{item}' names no source column")
        overrides[source] = target.strip() or None
    return overrides


def resolve_mapping(
    columns: Sequence[str],
    kind: str,
    overrides: Mapping[str, str | None] | None = None,
) -> dict[str, str]:
    """The guessed mapping with ``overrides`` applied and checked against the file."""
    mapping = guess_mapping(columns, kind)
    if not overrides:
        return mapping
    allowed = set(targets(kind))
    by_norm = {normalise(c): c for c in columns}
    for source, target in overrides.items():
        actual = source if source in columns else by_norm.get(normalise(source))
        if actual is None:
            raise UsageError(
                f"--map names column '{source}', which the file does not have; "
                f"its columns are {_listing(columns)}"
            )
        if target is None:
            mapping.pop(actual, None)
            continue
        if target not in allowed:
            if kind != "accounts":
                raise UsageError(
                    f"--map target '{target}' is not a {kind} column; "
                    f"expected one of {', '.join(sorted(allowed))}"
                )
            if target != attribute_name(target):
                raise UsageError(
                    f"--map target '{target}' is not a valid attribute name; "
                    f"try '{attribute_name(target)}'"
                )
        # The override takes the target from whichever column the guess gave it to.
        for other, t in list(mapping.items()):
            if t == target and other != actual:
                if kind == "accounts":
                    mapping[other] = _free_name(attribute_name(other), mapping)
                else:
                    del mapping[other]
        mapping[actual] = target
    return mapping


def _free_name(name: str, mapping: Mapping[str, str]) -> str:
    taken = set(mapping.values())
    while name in taken or name in ACCOUNT_COLUMNS:
        name = f"{name}_2"
    return name


def _listing(columns: Sequence[str]) -> str:
    shown = ", ".join(f"'{c}'" for c in columns[:30])
    return shown + (f" and {len(columns) - 30} more" if len(columns) > 30 else "")


REQUIRED_HINT = {
    "account_id": "the account (customer) id",
    "date": "the invoice date",
    "amount": "the amount (or quantity and unit price)",
}


# ``--map '#row=account_id'``: the spreadsheet row number as a source column,
# for files that have no id column at all (UCI "Wholesale customers").
ROW_SOURCE = "#row"
_SPACED = re.compile(r"\S\s{2,}\S")


def check_required(
    columns: Sequence[str],
    kind: str,
    mapping: Mapping[str, str],
    path,
    *,
    sheet: str | None = None,
) -> None:
    """Raise ``ImportFileError`` when a column the kind needs has no source column.

    The message says what to do: ``--map``, ``#row`` for a file without ids,
    ``--sheet`` for a workbook, and that space-separated text is not read.
    """
    mapped = set(mapping.values())
    needed = ["account_id"]
    if kind in ("transactions", "activities"):
        needed.append("date")
    if kind == "transactions":
        if "amount" not in mapped and not {"quantity", "unit_price"} <= mapped:
            needed.append("amount")
    for target in needed:
        if target not in mapped:
            what = REQUIRED_HINT[target]
            if target == "date" and kind == "activities":
                what = "the activity date"
            where = f" (sheet '{sheet}')" if sheet else ""
            hint = f"Name the column with --map 'COLUMN={target}'"
            if target == "account_id" and kind == "accounts":
                hint += f", or number the rows with --map '{ROW_SOURCE}=account_id'"
            if sheet:
                hint += "; read another sheet with --sheet NAME"
            only = columns[0].strip() if len(columns) == 1 else ""
            if only and (_SPACED.search(only) or len(only.split()) >= 4):
                # polars reads no whitespace-separated text; say so instead of
                # listing one long column name
                raise ImportFileError(
                    f"{path}: the file has one column '{columns[0].strip()}': its fields "
                    "seem to be separated by spaces, which segscope does not read; "
                    "save it as CSV (comma, semicolon, tab or | between fields)"
                )
            raise ImportFileError(
                f"{path}{where}: no column for {what} ({target}) in this {kind} file; "
                f"its columns are {_listing(columns)}. {hint}"
            )
