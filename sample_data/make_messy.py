"""Write the hand-made messy import files in ``sample_data/messy/``.

    python -m sample_data.make_messy

Each file is small and every bad row is bad on purpose; sample_data/README.md
lists which rows are bad, why, and the accepted/rejected counts the importer
must report (tests/test_demo_import.py checks them). Row numbers are the ones
a spreadsheet shows: the header is row 1.
"""

from __future__ import annotations

from pathlib import Path

MESSY_DIR = Path(__file__).resolve().parent / "messy"

# A Salesforce-style account export from a German Excel: cp1252, ';' separated,
# decimal comma, CRLF line ends, an extra "Account Owner" column.
ACCOUNTS = [
    "Account ID;Account Name;Industry;Billing Country;Employees;Annual Revenue;Year Founded;Account Owner",  # noqa: E501
    "M-1001;Müller Präzisionstechnik GmbH;Manufacturing;Germany;120;18500000,50;1987;Jürgen Weiß",
    "M-1002;Société Lumière d'Outillage SAS;Wholesale;France;45;9200000;1994;Zoë Lefèvre",
    "M-1003;Åkerlund Logistik AB;Logistics;Sweden;;4300000,75;2005;Jürgen Weiß",
    "M-1004;Núñez Construcciones SL;Construction;Spain;about 50;2100000;2011;Zoë Lefèvre",
    "M-1002;Société Lumière d'Outillage SAS;Wholesale;France;48;9350000;1994;Zoë Lefèvre",
    ";Ohne Nummer GmbH;Retail;Austria;12;800000;2016;Jürgen Weiß",
    "M-1006;Øresund Værktøj ApS;Wholesale;Denmark;30;;1999;Jürgen Weiß",
    "M-1007;Caffè Brügger Srl;Retail;Italy;8;950000,00;;Zoë Lefèvre",
    "M-1008;Šimek Stroje s.r.o.;Manufacturing;Czechia;75;6400000;2001;€-Team Ost",
    "M-1009;O'Brien & Sons Ltd;Construction;Ireland;250;31000000;1962;Zoë Lefèvre",
    "M-1010;Weiß Energie AG;Energy;Germany;1800;412000000,25;1921;Jürgen Weiß",
]

# An ERP invoice-line export: UTF-8, ',' separated, dates d/m/Y throughout
# (13/02/2024 makes the order unambiguous), one Excel serial date. The bad
# amount is a typo (letter O for zero): "n/a" would be an empty cell, and an
# empty amount is derived from quantity x unit price.
TRANSACTIONS = [
    "Invoice Number,Invoice Date,Customer ID,Product Code,Quantity,Unit Price,Net Amount",
    "R-24001,05/01/2024,M-1001,FX-100,10,2.50,25.00",
    "R-24001,05/01/2024,M-1001,HY-111,2,120.00,240.00",
    "R-24002,13/02/2024,M-1002,PK-120,100,1.10,110.00",
    "R-24003,31/02/2024,M-1003,TL-130,1,85.00,85.00",
    "R-24004,15/03/2024,M-1004,,,,",
    "R-24005,20/03/2024,M-1006,SF-101,5,12.00,6O.00",
    "R-24006,02/04/2024,M-9999,EL-110,3,40.00,120.00",
    "G-24001,10/04/2024,M-1001,FX-100,-4,2.50,-10.00",
    "R-24007,45396,M-1007,SP-140,6,15.00,90.00",
    "R-24008,30/04/2024,M-1008,AU-121,1,410.00,410.00",
    "R-24009,06/05/2024,M-1009,ES-100,8,115.00,920.00",
    "R-24010,31/12/2024,M-1010,HY-100,4,250.00,1000.00",
]

# The same kind of export from a US system: m/d/Y dates (12/31/2024 makes the
# order unambiguous) and no amount column, so amount = quantity x unit price.
TRANSACTIONS_US = [
    "Invoice No,Order Date,Customer No,SKU,Qty,Unit Price",
    "U-1,1/5/2024,M-1001,FX-100,10,2.5",  # noqa: E501
    "U-2,12/31/2024,M-1009,TL-131,3,19.99",
    "U-3,2/29/2024,M-1010,EL-112,7,4.25",
    "U-4,2/30/2024,M-1010,EL-112,7,4.25",
]

# A HubSpot-style contact export: first and last name in separate columns.
CONTACTS = [
    "Record ID,First Name,Last Name,Job Title,Associated Company ID,Email,Buying Role",
    "P-1,Anna,Bergström,Head of Procurement,M-1001,anna.bergstrom@mueller.example,decision maker",
    "P-2,Luca,Ferretti,Buyer,M-1001,luca.ferretti@mueller.example,buyer",
    "P-3,Inès,Dubois,Plant Director,M-1002,ines.dubois@lumiere.example,influencer",
    "P-4,Tom,Nobody,Buyer,M-4040,tom.nobody@unknown.example,buyer",
    "P-5,Eva,Kessler,Office Manager,,eva.kessler@example.example,gatekeeper",
    "P-6,Jonas,Lindholm,Engineering Manager,M-1010,jonas.lindholm@weiss.example,user",
]


def write_all(folder: Path = MESSY_DIR) -> list[Path]:
    """Write the messy files into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [
        ("accounts_messy.csv", ACCOUNTS, "cp1252", "\r\n"),
        ("transactions_messy.csv", TRANSACTIONS, "utf-8", "\n"),
        ("transactions_messy_us.csv", TRANSACTIONS_US, "utf-8", "\n"),
        ("contacts_messy.csv", CONTACTS, "utf-8", "\n"),
    ]
    paths = []
    for name, lines, encoding, newline in files:
        path = folder / name
        path.write_bytes((newline.join(lines) + newline).encode(encoding))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_all():
        print(written)
