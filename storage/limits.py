"""Bounds on what a workspace may hold, so that no stored value can break a later computation.

Metrics and the revenue bridge net amounts in integer cents (int64, about 9.2e18
cents). A bound of one billion per transaction line is far above any real
invoice line, and even 90 million lines all at the bound still sum inside int64.
Quantities and unit prices get the same bound. Values past a bound, and inf or
nan, are rejected rows with a reason at import, and refused in a restored or
opened workspace.
"""

MAX_ABS_AMOUNT = 1_000_000_000.0
MAX_ABS_QUANTITY = 1_000_000_000.0
MAX_ABS_UNIT_PRICE = 1_000_000_000.0

# Import files. A file wider than this is refused before anything is parsed;
# SQLite itself allows 2,000 columns in a table (SQLITE_MAX_COLUMN), and
# account attributes from every import add up in the one accounts table.
MAX_IMPORT_COLUMNS = 1_000
# SQLite's default SQLITE_MAX_COLUMN: the accounts table can never be wider.
SQLITE_MAX_COLUMNS = 2_000

# XLSX: a reader allocates the sheet's whole used range (first to last cell,
# however empty the cells between): one value in XFD1048576 asks for 17
# billion cells. The used range is checked from the sheet's XML first.
MAX_XLSX_ROWS = 1_048_576  # Excel's own row limit
MAX_XLSX_COLUMNS = MAX_IMPORT_COLUMNS
MAX_XLSX_CELLS = 20_000_000  # 1M rows x 20 columns; about 1 GB while being read
# Uncompressed size of one sheet's XML (or of the shared strings): about
# 40 bytes a cell, so 20M cells stay well below it.
MAX_XLSX_PART_BYTES = 2 * 1024**3

# Other numbers (annual revenue, employees, founded year, numeric account
# attributes): finite and within ±1e15, so they stay exact as doubles and fit
# an int64.
MAX_ABS_OTHER_NUMBER = 1e15

# A gzip-compressed CSV is unpacked in memory: at most this many bytes
# (a plain CSV file that large is streamed instead).
MAX_GZIP_BYTES = 4 * 1024**3
