"""Migration matrix between two runs: by hand and against a plain-Python count."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import polars as pl
import pytest

from core.errors import UsageError
from core.runs import GONE, NEW, migration_matrix

RUN_A = pl.DataFrame(
    {"account_id": ["a", "b", "c", "d", "e"],
     "segment": ["X", "X", "Y", "Y", "Y"],
     "revenue": [10.0, 20.0, 30.0, 40.0, 50.0]}
)  # fmt: skip
RUN_B = pl.DataFrame(
    {"account_id": ["a", "b", "c", "d", "f"],
     "segment": ["X", "Y", "Y", "X", "Y"],
     "revenue": [11.0, 22.0, 33.0, None, 7.0]}
)  # fmt: skip


def test_by_hand() -> None:
    m = migration_matrix(RUN_A, RUN_B)
    long = {(r["from_segment"], r["to_segment"]): (r["accounts"], r["revenue"])
            for r in m.long.to_dicts()}  # fmt: skip
    assert long == {
        ("X", "X"): (1, 11.0),
        ("X", "Y"): (1, 22.0),
        ("Y", "Y"): (1, 33.0),
        ("Y", "X"): (1, 0.0),  # d has no revenue in B
        ("Y", GONE): (1, 50.0),  # e: revenue as frozen in A
        (NEW, "Y"): (1, 7.0),
    }
    assert m.accounts.columns == ["from_segment", "X", "Y", GONE]
    assert m.accounts.rows() == [("X", 1, 1, 0), ("Y", 1, 1, 1), (NEW, 0, 1, 0)]
    assert m.wide("revenue").row(1) == ("Y", 0.0, 33.0, 50.0)
    assert m.stayed_share == pytest.approx(2 / 4)
    assert m.long.row(0)[:2] == ("X", "X") and m.long.row(-1)[:2] == (NEW, "Y")


def test_preferred_order() -> None:
    m = migration_matrix(RUN_A, RUN_B, order=["Y", "Z", "X"])
    assert m.accounts["from_segment"].to_list() == ["Y", "X", NEW]
    assert m.accounts.columns == ["from_segment", "Y", "X", GONE]


def test_bad_runs() -> None:
    with pytest.raises(UsageError, match="run B lacks column"):
        migration_matrix(RUN_A, RUN_B.drop("segment"))
    with pytest.raises(UsageError, match="more than once"):
        migration_matrix(pl.concat([RUN_A, RUN_A]), RUN_B)
    with pytest.raises(UsageError, match="--by must be"):
        migration_matrix(RUN_A, RUN_B).wide("x")


def test_against_plain_python() -> None:
    rng = np.random.default_rng(5)
    ids_a = [f"k{i}" for i in range(0, 900)]
    ids_b = [f"k{i}" for i in range(100, 1000)]
    seg_a = rng.choice(["P", "Q", "R"], len(ids_a)).tolist()
    seg_b = rng.choice(["P", "Q", "S"], len(ids_b)).tolist()
    rev_a = rng.uniform(0, 100, len(ids_a)).round(2).tolist()
    rev_b = rng.uniform(0, 100, len(ids_b)).round(2).tolist()
    a = pl.DataFrame({"account_id": ids_a, "segment": seg_a, "revenue": rev_a})
    b = pl.DataFrame({"account_id": ids_b, "segment": seg_b, "revenue": rev_b})
    m = migration_matrix(a, b)

    in_a = {i: (s, r) for i, s, r in zip(ids_a, seg_a, rev_a, strict=True)}
    in_b = {i: (s, r) for i, s, r in zip(ids_b, seg_b, rev_b, strict=True)}
    counts: Counter = Counter()
    money: defaultdict = defaultdict(float)
    for acc in set(in_a) | set(in_b):
        frm = in_a[acc][0] if acc in in_a else NEW
        to = in_b[acc][0] if acc in in_b else GONE
        counts[(frm, to)] += 1
        money[(frm, to)] += in_b[acc][1] if acc in in_b else in_a[acc][1]
    got = {(r["from_segment"], r["to_segment"]): r for r in m.long.to_dicts()}
    assert set(got) == set(counts)
    for key, n in counts.items():
        assert got[key]["accounts"] == n
        assert got[key]["revenue"] == pytest.approx(money[key])
    assert m.accounts.select(pl.exclude("from_segment")).sum_horizontal().sum() == 1000
