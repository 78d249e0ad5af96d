"""The sample generator: determinism and the structure planted on purpose.

Each property below is one that later features rely on (see
sample_data/README.md): a Pareto-like revenue curve, spend that depends on
size and industry, three recoverable purchasing-behaviour groups, about 40 %
prospects, returns, and buying centres that match the contacts.
"""

from __future__ import annotations

import gzip
import math
import statistics
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from sample_data.generate import GeneratorConfig, generate, main, window

N_ACCOUNTS = 3000
SEED = 11
ACCOUNT_COLUMNS = [
    "account_id", "name", "industry", "country", "region", "employees", "annual_revenue",
    "founded_year", "legal_form", "ownership", "business_phase", "purchasing_organisation",
    "buying_driver", "offer_type", "buying_center_size", "collaboration", "technologies",
    "touchpoint_preference",
]  # fmt: skip
TRANSACTION_COLUMNS = [
    "invoice_id", "date", "account_id", "product", "product_line", "quantity", "unit_price",
    "amount", "margin", "channel",
]  # fmt: skip
CONTACT_COLUMNS = [
    "contact_id", "account_id", "name", "title", "function", "seniority", "decision_role",
    "preferred_channel", "email",
]  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    out = tmp_path_factory.mktemp("sample")
    generate(GeneratorConfig(accounts=N_ACCOUNTS, seed=SEED), out)
    return {
        "accounts": pl.read_csv(out / "accounts.csv", infer_schema=False),
        "transactions": pl.read_csv(out / "transactions.csv", infer_schema=False).with_columns(
            pl.col("date").str.to_date(),
            pl.col("quantity", "unit_price", "amount", "margin").cast(pl.Float64),
        ),
        "contacts": pl.read_csv(out / "contacts.csv", infer_schema=False),
        "truth": pl.read_csv(out / "_truth.csv", infer_schema=False),
    }


def _revenue_by_account(tx: pl.DataFrame) -> dict[str, float]:
    # plain Python on purpose: an independent reference for the polars checks
    totals: dict[str, float] = defaultdict(float)
    for account, amount in zip(tx["account_id"], tx["amount"], strict=True):
        totals[account] += amount
    return dict(totals)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------- determinism and CLI


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        assert main(["--accounts", "250", "--seed", str(seed), "--out", str(tmp_path / name)]) == 0
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert set(a) == {"accounts.csv", "transactions.csv", "contacts.csv", "activities.csv",
                      "_truth.csv"}
    assert a == b
    assert a["accounts.csv"] != c["accounts.csv"]
    assert a["transactions.csv"] != c["transactions.csv"]


def test_gzip_output_is_deterministic_and_holds_the_same_csv(tmp_path: Path) -> None:
    main(["--accounts", "200", "--seed", "3", "--out", str(tmp_path / "plain")])
    for name in ("z1", "z2"):
        main(["--accounts", "200", "--seed", "3", "--gzip", "--out", str(tmp_path / name)])
    z1 = (tmp_path / "z1" / "transactions.csv.gz").read_bytes()
    assert z1 == (tmp_path / "z2" / "transactions.csv.gz").read_bytes()
    assert gzip.decompress(z1) == (tmp_path / "plain" / "transactions.csv").read_bytes()
    assert not (tmp_path / "z1" / "transactions.csv").exists()


def test_help_and_bad_arguments(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "--transactions-per-customer" in capsys.readouterr().out
    assert main(["--accounts", "0", "--out", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        main(["--accounts", "10", "--out", str(tmp_path), "--end-date", "31/12/2025"])


def test_transactions_per_customer_sets_the_volume(tmp_path: Path) -> None:
    counts = generate(
        GeneratorConfig(accounts=1000, seed=2, transactions_per_customer=20), tmp_path
    )
    per_customer = counts["transactions"] / counts["customers"]
    assert 17 <= per_customer <= 23


def test_committed_demo_is_what_the_documented_command_writes(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parents[1] / "sample_data" / "demo"
    # the command documented in sample_data/README.md
    argv = "--accounts 2000 --seed 7 --transactions-per-customer 50 --gzip".split()
    assert main([*argv, "--out", str(tmp_path)]) == 0
    assert _files(tmp_path) == _files(demo)
    tx = pl.read_csv(demo / "transactions.csv.gz")
    contacts = pl.read_csv(demo / "contacts.csv")
    assert 55_000 <= tx.height <= 65_000
    assert 4_500 <= contacts.height <= 5_500
    assert sum(p.stat().st_size for p in demo.iterdir()) < 4_000_000


# ---------------------------------------------------------------- shape


def test_files_use_the_canonical_columns(data: dict[str, pl.DataFrame]) -> None:
    assert data["accounts"].columns == ACCOUNT_COLUMNS
    assert data["transactions"].columns == TRANSACTION_COLUMNS
    assert data["contacts"].columns == CONTACT_COLUMNS
    accounts = data["accounts"]
    assert accounts.height == N_ACCOUNTS
    assert accounts["account_id"].n_unique() == N_ACCOUNTS
    assert data["contacts"]["contact_id"].n_unique() == data["contacts"].height
    # every id referenced exists
    ids = set(accounts["account_id"])
    assert set(data["transactions"]["account_id"]) <= ids
    assert set(data["contacts"]["account_id"]) <= ids


def test_history_is_three_years_to_the_end_date(data: dict[str, pl.DataFrame]) -> None:
    start, n_days = window(GeneratorConfig(accounts=1))
    assert start == date(2023, 1, 1) and n_days == 1096
    tx = data["transactions"]
    assert tx["date"].min() >= date(2023, 1, 1)
    assert tx["date"].max() <= date(2025, 12, 31)
    years = Counter(d.year for d in tx["date"])
    assert set(years) == {2023, 2024, 2025}


def test_amount_is_quantity_times_unit_price_and_margin_is_a_share_of_it(
    data: dict[str, pl.DataFrame],
) -> None:
    tx = data["transactions"]
    for q, p, a, m in tx.select("quantity", "unit_price", "amount", "margin").iter_rows():
        assert a == pytest.approx(round(q * p, 2), abs=0.006)
        assert a != 0
        if abs(a) >= 10:  # margin % is clipped to [-5 %, 65 %] before rounding to cents
            assert -0.051 <= m / a <= 0.651
    invoices = tx.filter(pl.col("invoice_id").str.starts_with("INV-"))
    # an invoice belongs to one account and one day
    per_invoice = invoices.group_by("invoice_id").agg(
        pl.col("account_id").n_unique().alias("a"), pl.col("date").n_unique().alias("d")
    )
    assert per_invoice["a"].max() == 1 and per_invoice["d"].max() == 1
    lines_per_invoice = invoices.height / per_invoice.height
    assert 1.5 < lines_per_invoice < 3.5


def test_missing_values_only_where_documented(data: dict[str, pl.DataFrame]) -> None:
    nulls = {c: data["accounts"][c].null_count() for c in ACCOUNT_COLUMNS}
    allowed = {"annual_revenue", "founded_year", "technologies", "touchpoint_preference"}
    assert {c for c, n in nulls.items() if n} == allowed
    assert all(nulls[c] < 0.15 * N_ACCOUNTS for c in allowed)


# ---------------------------------------------------------------- planted structure


def test_about_forty_percent_prospects(data: dict[str, pl.DataFrame]) -> None:
    buyers = set(data["transactions"]["account_id"])
    prospects = [a for a in data["accounts"]["account_id"] if a not in buyers]
    assert 0.35 <= len(prospects) / N_ACCOUNTS <= 0.45
    truth = dict(data["truth"].select("account_id", "trajectory").iter_rows())
    assert {a for a, t in truth.items() if t == "prospect"} == set(prospects)


def test_revenue_is_pareto_like(data: dict[str, pl.DataFrame]) -> None:
    revenue = sorted(_revenue_by_account(data["transactions"]).values(), reverse=True)
    top = math.ceil(0.2 * len(revenue))
    share = sum(revenue[:top]) / sum(revenue)
    assert 0.70 <= share <= 0.85
    # the same share computed with polars agrees
    by_polars = (
        data["transactions"].group_by("account_id").agg(pl.col("amount").sum())["amount"]
        .sort(descending=True)
    )  # fmt: skip
    assert by_polars.head(top).sum() / by_polars.sum() == pytest.approx(share)


def test_spend_depends_on_size_and_industry(data: dict[str, pl.DataFrame]) -> None:
    revenue = _revenue_by_account(data["transactions"])
    rows = [
        (math.log(revenue[a]), math.log(int(e)), ind)
        for a, e, ind in data["accounts"].select("account_id", "employees", "industry").iter_rows()
        if revenue.get(a, 0) > 0
    ]
    log_rev, log_emp, industry = zip(*rows, strict=True)
    assert statistics.correlation(log_rev, log_emp) > 0.4
    by_industry: dict[str, list[float]] = defaultdict(list)
    for lr, ind in zip(log_rev, industry, strict=True):
        by_industry[ind].append(lr)
    means = {k: statistics.fmean(v) for k, v in by_industry.items()}
    assert len(means) == 10
    # heavy buyers of industrial supplies spend far more than IT services or retail
    assert means["Energy"] - means["IT services"] > 1.0
    assert means["Manufacturing"] - means["Retail"] > 0.7
    # and the account's own turnover grows with its head count
    both = data["accounts"].drop_nulls("annual_revenue")
    log_turnover = [math.log(int(x)) for x in both["annual_revenue"]]
    assert statistics.correlation(log_turnover, [math.log(int(x)) for x in both["employees"]]) > 0.7


def _accounts_with_truth(data: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return (
        data["accounts"]
        .join(data["truth"], on="account_id")
        .with_columns(pl.col("buying_center_size").cast(pl.Int64))
    )


def test_behaviour_groups_are_separated(data: dict[str, pl.DataFrame]) -> None:
    frame = _accounts_with_truth(data)
    sizes = {
        g: (s.min(), s.max(), s.mean())
        for (g,), s in ((k, d["buying_center_size"]) for k, d in frame.group_by("behaviour_group"))
    }
    assert sizes["price-driven"][:2] == (1, 3)
    assert sizes["delivery-driven"][:2] == (3, 5)
    assert sizes["solution"][:2] == (5, 12)
    modal = {
        (g, col): Counter(frame.filter(pl.col("behaviour_group") == g)[col]).most_common(1)[0]
        for g in ("price-driven", "solution", "delivery-driven")
        for col in ("buying_driver", "offer_type", "collaboration", "purchasing_organisation")
    }
    assert modal["price-driven", "buying_driver"][0] == "price"
    assert modal["solution", "buying_driver"][0] == "performance"
    assert modal["delivery-driven", "buying_driver"][0] == "delivery"
    assert modal["solution", "offer_type"][0] == "customised"
    assert modal["price-driven", "collaboration"][0] == "low"
    assert modal["solution", "collaboration"][0] == "high"
    assert modal["delivery-driven", "collaboration"][0] == "medium"
    assert modal["price-driven", "purchasing_organisation"][0] == "centralised"
    assert modal["solution", "purchasing_organisation"][0] == "decentralised"


def test_behaviour_groups_are_recoverable_by_clustering(data: dict[str, pl.DataFrame]) -> None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    frame = _accounts_with_truth(data)
    levels = {
        "buying_driver": ("price", "performance", "delivery"),
        "offer_type": ("standard", "customised"),
        "collaboration": ("low", "medium", "high"),
        "purchasing_organisation": ("centralised", "decentralised"),
    }
    features = frame.select(
        pl.col("buying_center_size") / 4,
        *[
            (pl.col(c) == v).cast(pl.Float64).alias(f"{c}={v}")
            for c, vs in levels.items()
            for v in vs
        ],
    ).to_numpy()
    labels = KMeans(n_clusters=3, n_init=4, random_state=0).fit_predict(features)
    assert adjusted_rand_score(frame["behaviour_group"].to_list(), labels) > 0.6


def test_price_driven_buyers_get_the_lowest_margin(data: dict[str, pl.DataFrame]) -> None:
    tx = data["transactions"].join(data["truth"], on="account_id")
    pct = {g: d["margin"].sum() / d["amount"].sum() for (g,), d in tx.group_by("behaviour_group")}
    assert pct["price-driven"] < pct["delivery-driven"] < pct["solution"]
    assert pct["solution"] - pct["price-driven"] > 0.1
    lines = tx.group_by("product_line").agg(
        (pl.col("margin").sum() / pl.col("amount").sum()).alias("p")
    )
    p = dict(lines.iter_rows())
    assert p["Packaging"] < p["Engineering services"]


def test_returns_are_negative_credit_note_lines(data: dict[str, pl.DataFrame]) -> None:
    tx = data["transactions"]
    returns = tx.filter(pl.col("amount") < 0)
    assert 0.01 <= returns.height / tx.height <= 0.03
    assert returns["invoice_id"].str.starts_with("CN-").all()
    assert (returns["quantity"] < 0).all() and returns["margin"].sum() < 0
    assert (tx.filter(pl.col("amount") > 0)["invoice_id"].str.starts_with("INV-")).all()
    # each return is of a product the account bought before
    bought = (
        tx.filter(pl.col("amount") > 0)
        .group_by("account_id", "product")
        .agg(pl.col("date").min().alias("first"))
    )
    matched = returns.join(bought, on=["account_id", "product"], how="left")
    assert matched["first"].null_count() == 0
    assert (matched["date"] > matched["first"]).all()


def test_seasonality_and_working_days(data: dict[str, pl.DataFrame]) -> None:
    sales = data["transactions"].filter(pl.col("amount") > 0)
    weekdays = Counter(d.isoweekday() for d in sales["date"])
    assert weekdays[7] == 0
    assert weekdays[6] < 0.08 * weekdays[3]  # a few Saturday deliveries
    months = Counter(d.month for d in sales["date"])
    assert months[8] < 0.8 * months[10]


def _median_date(dates: pl.Series) -> date:
    return sorted(dates)[len(dates) // 2]


def test_trajectories_show_in_the_history(data: dict[str, pl.DataFrame]) -> None:
    tx = data["transactions"].filter(pl.col("amount") > 0)
    per = (
        tx.group_by("account_id")
        .agg(
            pl.col("date").min().alias("first"),
            pl.col("date").max().alias("last"),
            pl.col("amount").filter(pl.col("date").dt.year() == 2023).sum().alias("y1"),
            pl.col("amount").filter(pl.col("date").dt.year() == 2025).sum().alias("y3"),
        )
        .join(data["truth"], on="account_id")
    )
    by = {t: d for (t,), d in per.group_by("trajectory")}
    assert set(by) == {"churned", "new", "paused", "growing", "stable", "contracting"}
    # new customers start later than the first weeks, churned ones stop before the end
    assert _median_date(by["new"]["first"]) > date(2024, 1, 1)
    assert _median_date(by["churned"]["last"]) < date(2025, 6, 1)
    assert by["churned"]["y3"].sum() < 0.5 * by["churned"]["y1"].sum()
    growing = by["growing"]["y3"].sum() / by["growing"]["y1"].sum()
    contracting = by["contracting"]["y3"].sum() / by["contracting"]["y1"].sum()
    assert growing > 1.2 and contracting < 0.85


def test_contacts_follow_the_buying_centre(data: dict[str, pl.DataFrame]) -> None:
    contacts = data["contacts"]
    buyers = set(data["transactions"]["account_id"])
    counts = Counter(contacts["account_id"])
    pairs = [
        (int(size), counts.get(a, 0))
        for a, size in data["accounts"].select("account_id", "buying_center_size").iter_rows()
        if a in buyers
    ]
    assert all(1 <= n <= 12 for _, n in pairs)
    assert all(n <= size + 1 for size, n in pairs)
    assert statistics.correlation([s for s, _ in pairs], [n for _, n in pairs]) > 0.8
    # prospects: at most two known people
    assert max(n for a, n in counts.items() if a not in buyers) <= 2
    roles = Counter(contacts["decision_role"])
    assert set(roles) == {"decision maker", "influencer", "user", "buyer", "gatekeeper"}
    # the first contact of every account is its decision maker
    first = contacts.group_by("account_id", maintain_order=True).first()
    assert (first["decision_role"] == "decision maker").all()
    emails = contacts["email"].drop_nulls()
    assert emails.str.contains(r"^[a-z]+\.[a-z]+@[a-z]+\.example$").all()
    assert 0.9 < emails.len() / contacts.height < 1.0


def test_parquet_copies_hold_the_csv_data_in_canonical_dtypes(tmp_path: Path) -> None:
    generate(GeneratorConfig(accounts=200, seed=4, parquet=True), tmp_path)
    tx = pl.read_parquet(tmp_path / "transactions.parquet")
    assert tx.schema["date"] == pl.Date and tx.schema["amount"] == pl.Float64
    assert tx.schema["quantity"] == pl.Float64
    from_csv = pl.read_csv(tmp_path / "transactions.csv", try_parse_dates=True)
    assert tx["date"].to_list() == from_csv["date"].to_list()
    assert tx["amount"].to_list() == from_csv["amount"].to_list()
    accounts = pl.read_parquet(tmp_path / "accounts.parquet")
    assert accounts.schema["employees"] == pl.Int64
    assert accounts.schema["annual_revenue"] == pl.Float64
    assert accounts.columns == ACCOUNT_COLUMNS
    assert pl.read_parquet(tmp_path / "contacts.parquet").columns == CONTACT_COLUMNS
