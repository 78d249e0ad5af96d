"""Workspaces built from the real-data slices (tests/data/real/*_tui.csv) and screen readers.

Used by test_real_data.py: each workspace is imported through storage as
the CLI does, with a saved "Value" model (ABC by revenue) active.
"""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

REAL = Path(__file__).resolve().parents[1] / "data" / "real"

# name -> (as of, [(file, kind, overrides)])
WORKSPACES: dict[str, tuple[date, list[tuple[str, str, dict[str, str] | None]]]] = {
    # only transactions (accounts are stubs), cancellations and missing ids
    "retail": (date(2011, 12, 10), [("online_retail_tui.csv", "transactions", None)]),
    # only transactions, converted from whitespace-separated text
    "cdnow": (date(1998, 7, 1), [("cdnow_tui.csv", "transactions",
                                  {"dollar_value": "amount", "number_of_cds": "quantity"})]),
    # accounts with firmographics + won deals; 9 accounts are prospects without history
    "maven": (date(2018, 1, 1), [("maven_accounts_tui.csv", "accounts", None),
                                 ("maven_won_tui.csv", "transactions", None)]),
    # transactions of one source, accounts of another (no id in common): issue 12, item 2
    "mixed": (date(2011, 12, 10), [("maven_accounts_tui.csv", "accounts", None),
                                   ("online_retail_tui.csv", "transactions", None)]),
    # only accounts, no id column: the rows are numbered
    "wholesale": (date(2025, 12, 31), [("wholesale_tui.csv", "accounts",
                                        {"#row": "account_id"})]),
}


def build_workspace(name: str, path: Path) -> Path:
    from core.model import AbcDimension, SegmentationModel, model_to_json
    from storage.importer import commit_import, prepare_import
    from storage.workspace import Workspace

    _, files = WORKSPACES[name]
    with Workspace.create(path) as ws:
        for file, kind, overrides in files:
            commit_import(ws, prepare_import(REAL / file, kind, overrides=overrides))
        ws.save_model("Value", model_to_json(SegmentationModel("Value", (AbcDimension(),))))
    return path


def screen_lines(app) -> list[str]:
    """The terminal as text, one string per row (read from Textual's SVG screenshot).

    Each text run of the SVG is placed at its column (x / the cell width), so
    spaces between runs are kept as the terminal shows them.
    """
    svg = app.export_screenshot()
    runs = re.findall(
        r'<text class="terminal-[^"]*" x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)"'
        r'[^>]*>([^<]*)</text>', svg)
    cell = 12.2  # Textual's SVG cell width
    rows: dict[float, dict[int, str]] = {}
    for x, y, _length, text in runs:
        row = rows.setdefault(float(y), {})
        start = round(float(x) / cell)
        for offset, char in enumerate(html.unescape(text).replace("\xa0", " ")):
            row[start + offset] = char
    lines = []
    for _, row in sorted(rows.items()):
        width = max(row) + 1 if row else 0
        lines.append("".join(row.get(i, " ") for i in range(width)).rstrip())
    return lines


EXCEPTION_WORDS = re.compile(
    r"Traceback|Error\b|Exception\b|ValueError|KeyError|TypeError|IndexError|"
    r"AttributeError|RuntimeError|ZeroDivision|window shape|\bFailed: "
)
# "2,669,26" (a thousands group cut short) or a figure that ends in an ellipsis
CLIPPED_NUMBER = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})*,\d{1,2}(?![\d,])|\d[.,]?…")


def problems_on_screen(lines: list[str]) -> list[str]:
    """Rows with exception text or a number clipped mid-figure."""
    found = []
    for line in lines:
        if EXCEPTION_WORDS.search(line):
            found.append(f"exception text: {line.strip()}")
        if CLIPPED_NUMBER.search(line):
            found.append(f"clipped number: {line.strip()}")
    return found
