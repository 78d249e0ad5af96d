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
