"""Writes the tiny fixed workspace inputs of the TUI tests (run once; outputs are committed).

Seeded, hand-sized data: 36 accounts (30 customers, 6 prospects), about 200
invoice lines in 2024-2025 (analysis date 2025-12-31 in the tests), 12
contacts, and ``new_accounts.csv`` for the import test: 4 new accounts plus one
row without an id (rejected) and one update of an existing account.
Column names are those of a CRM export, so the mapping is exercised.
"""

import csv
import datetime as dt
import random
from pathlib import Path

HERE = Path(__file__).parent
rnd = random.Random(20251231)
INDUSTRIES = ["Retail", "Manufacturing", "Logistics", "Software"]
COUNTRIES = ["DE", "FR", "NL", "AT"]
LINES = ["Tools", "Consumables", "Service"]


def write(name, header, rows):
    with (HERE / name).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


accounts = []
for i in range(1, 37):
    accounts.append([
        f"C{i:03d}", f"Firm {i:02d} [{INDUSTRIES[i % 4][:3]}] GmbH", INDUSTRIES[i % 4],
        COUNTRIES[i % 4], 10 * rnd.randint(1, 300), ["gold", "silver", "bronze"][i % 3],
    ])
write("accounts.csv", ["Account ID", "Account Name", "Industry", "Billing Country",
                       "Employees", "Tier"], accounts)

tx = []
invoice = 1000
for i in range(1, 31):  # C031..C036 stay prospects
    size = 1 + (i % 7)
    for _ in range(rnd.randint(2, 10)):
        invoice += 1
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rnd.randint(0, 730))
        amount = round(rnd.uniform(50, 900) * size, 2)
        tx.append([f"C{i:03d}", day.isoformat(), f"INV{invoice}", f"{amount:.2f}",
                   f"{amount * rnd.uniform(0.15, 0.4):.2f}", f"P{rnd.randint(1, 9)}",
                   LINES[rnd.randint(0, 2)]])
tx.sort(key=lambda r: (r[1], r[2]))
write("transactions.csv", ["Customer ID", "Invoice Date", "Invoice No", "Net Amount",
                           "Gross Profit", "Product", "Product Line"], tx)

contacts = []
roles = ["decision maker", "influencer", "user", "buyer", "gatekeeper"]
for k in range(1, 13):
    acc = f"C{(k * 5) % 36 + 1:03d}"
    contacts.append([f"P{k:03d}", acc, f"Person {k:02d}", ["CEO", "Buyer", "CTO"][k % 3],
                     roles[k % 5], f"person{k}@example.com"])
write("contacts.csv", ["Contact ID", "Account ID", "Full Name", "Job Title", "Buying Role",
                       "Email"], contacts)

write("new_accounts.csv", ["Account ID", "Account Name", "Industry", "Billing Country",
                           "Employees", "Tier"], [
    ["C101", "Newco 1 AG", "Retail", "DE", "120", "bronze"],
    ["C102", "Newco 2 SA", "Software", "FR", "40", "silver"],
    ["", "Nameless Ltd", "Retail", "NL", "10", "bronze"],
    ["C103", "Newco 3 BV", "Logistics", "NL", "75", "gold"],
    ["C104", "Newco 4 GmbH", "Manufacturing", "AT", "980", "gold"],
    ["C001", "Firm 01 renamed", "Manufacturing", "FR", "20", "silver"],
])
