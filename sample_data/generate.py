"""Seeded generator of a realistic B2B customer base.

    python -m sample_data.generate --accounts 2000 --seed 7 --out sample_data/demo

writes ``accounts.csv``, ``transactions.csv`` (``.csv.gz`` with ``--gzip``),
``contacts.csv`` in the canonical column names of docs/architecture.md, and
``_truth.csv`` (the planted behaviour group and trajectory of every account,
for tests only). The planted structure is described in sample_data/README.md.

Everything is vectorised (numpy + polars) and transactions are produced in
blocks of customers, so a million accounts with twenty million invoice lines
fit in a few GB. Output is byte-identical for the same arguments: every block
draws from its own generator seeded by (seed, purpose, block number).
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from sample_data import vocab as V

DEFAULT_END = date(2025, 12, 31)
# Customers per transaction block; fixed so that output never depends on memory.
BLOCK_CUSTOMERS = 50_000
EPOCH = date(1970, 1, 1)
# Catalogue prices come from their own fixed seed so every data set shares one catalogue.
CATALOGUE_SEED = 20251231
RETURN_SHARE = 0.02


@dataclass(frozen=True)
class GeneratorConfig:
    accounts: int
    seed: int = 42
    end_date: date = DEFAULT_END
    years: int = 3
    transactions_per_customer: float = 34.0
    customer_share: float = 0.60
    gzip: bool = False
    parquet: bool = False


@dataclass
class Population:
    """Per-account state, including what is hidden from the output files."""

    account_ids: pl.Series
    domains: pl.Series
    industry: np.ndarray
    group: np.ndarray
    phase: np.ndarray
    employees: np.ndarray
    buying_center_size: np.ndarray
    is_customer: np.ndarray
    annual_spend: np.ndarray
    start_day: np.ndarray
    end_day: np.ndarray
    growth: np.ndarray
    pause_start: np.ndarray
    pause_end: np.ndarray
    trajectory: np.ndarray


# ---------------------------------------------------------------- helpers


def _choice_rows(
    rng: np.random.Generator, table: Sequence[Sequence[float]], rows: np.ndarray
) -> np.ndarray:
    """One draw per element: category index from the probability row ``table[rows[i]]``."""
    p = np.asarray(table, dtype=np.float64)
    cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(rows))
    return (u[:, None] >= cum[rows]).sum(axis=1).astype(np.int64)


def _choice(rng: np.random.Generator, probs: Sequence[float], n: int) -> np.ndarray:
    return _choice_rows(rng, [probs], np.zeros(n, dtype=np.int64))


def _strings(values: Sequence[str]) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String)


def window(cfg: GeneratorConfig) -> tuple[date, int]:
    """First day of the history and its length in days (``years`` whole years to ``end_date``)."""
    end = cfg.end_date
    try:
        before = end.replace(year=end.year - cfg.years)
    except ValueError:  # 29 February
        before = end.replace(year=end.year - cfg.years, day=28)
    start = before + timedelta(days=1)
    return start, (end - start).days + 1


def seasonal_weights(start: date, n_days: int) -> np.ndarray:
    """Relative order intensity per day: weekdays, a summer dip, a Q4/March peak, Christmas."""
    epoch_day = np.arange(n_days) + (start - EPOCH).days
    weekday = (epoch_day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    dates = np.datetime64(start) + np.arange(n_days)
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    day_of_month = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    month_w = np.array([0.85, 0.95, 1.15, 1.0, 1.0, 1.05, 0.9, 0.65, 1.05, 1.1, 1.15, 0.9])
    w = month_w[month] * np.where(weekday < 5, 1.0, np.where(weekday == 5, 0.05, 0.0))
    holidays = ((month == 11) & (day_of_month >= 24)) | ((month == 0) & (day_of_month == 1))
    return np.where(holidays, w * 0.1, w)


def catalogue() -> pl.DataFrame:
    """The product catalogue: product, product_line, list_price, line index."""
    rng = np.random.default_rng(CATALOGUE_SEED)
    rows = []
    for li, (line, code, _margin, log_price, nouns) in enumerate(V.PRODUCT_LINES):
        for ni, noun in enumerate(nouns):
            for vi, variant in enumerate(V.PRODUCT_VARIANTS):
                price = float(np.round(np.exp(log_price + rng.normal(0, 0.5)), 2))
                number = 100 + 10 * ni + vi
                rows.append((f"{code}-{number} {variant} {noun}", line, max(price, 0.5), li))
    return pl.DataFrame(
        rows, schema=["product", "product_line", "list_price", "line"], orient="row"
    )


# ---------------------------------------------------------------- accounts


def generate_population(cfg: GeneratorConfig) -> tuple[pl.DataFrame, Population]:
    """The accounts frame (canonical columns) and the hidden per-account state."""
    n = cfg.accounts
    rng = np.random.default_rng([cfg.seed, 1])
    _, n_days = window(cfg)
    years = n_days / 365.25

    industry = _choice(rng, [i[1] for i in V.INDUSTRIES], n)
    country = _choice(rng, [c[2] for c in V.COUNTRIES], n)
    group = _choice_rows(rng, [i[5] for i in V.INDUSTRIES], industry)
    phase = _choice(rng, V.PHASE_WEIGHTS, n)

    ind_mu = np.array([i[2] for i in V.INDUSTRIES])
    group_size = np.array([-0.2, 0.6, 0.0])
    log_emp = ind_mu[industry] + np.array(V.PHASE_SIZE_SHIFT)[phase] + group_size[group]
    log_emp = log_emp + rng.normal(0.0, 1.35, n)
    employees = np.clip(np.rint(np.exp(log_emp)), 1, 250_000).astype(np.int64)
    rev_per_emp = np.array([i[3] for i in V.INDUSTRIES])[industry]
    annual_revenue = employees * rev_per_emp * np.exp(rng.normal(0.0, 0.45, n))
    annual_revenue = np.maximum(np.round(annual_revenue, -3), 1000.0)

    age_lo = np.array([a[0] for a in V.PHASE_AGE])[phase]
    age_hi = np.array([a[1] for a in V.PHASE_AGE])[phase]
    # log-uniform ages within the phase's range: old firms are rarer
    age = np.floor(np.exp(rng.uniform(np.log1p(age_lo), np.log1p(age_hi + 1)))) - 1
    founded_year = (cfg.end_date.year - np.clip(age, 0, None)).astype(np.int64)

    large = employees >= 1000
    legal_idx = np.zeros(n, dtype=np.int64)
    legal_forms: list[str] = []
    offsets = []
    for ci, (_c, _r, _w, forms) in enumerate(V.COUNTRIES):
        offsets.append(len(legal_forms))
        legal_forms.extend(f[0] for f in forms)
        mask = country == ci
        if not mask.any():
            continue
        small_p = [f[1] * (0.3 if f[2] else 1.0) for f in forms]
        large_p = [f[1] * (6.0 if f[2] else 1.0) for f in forms]
        picks = _choice_rows(rng, [small_p, large_p], large[mask].astype(np.int64))
        legal_idx[mask] = offsets[ci] + picks
    ownership = _choice_rows(
        rng, [V.OWNERSHIP_WEIGHTS_SMALL, V.OWNERSHIP_WEIGHTS_LARGE], large.astype(np.int64)
    )

    driver = _choice_rows(rng, V.BUYING_DRIVER_P, group)
    offer = _choice_rows(rng, V.OFFER_TYPE_P, group)
    collab = _choice_rows(rng, V.COLLABORATION_P, group)
    porg = _choice_rows(rng, V.PURCHASING_ORG_P, group)
    touch = _choice_rows(rng, V.TOUCHPOINT_P, group)
    bc_lo = np.array([b[0] for b in V.BUYING_CENTER])[group]
    bc_n = np.array([b[1] for b in V.BUYING_CENTER])[group]
    bc_p = np.array([b[2] for b in V.BUYING_CENTER])[group]
    bcs = (bc_lo + rng.binomial(bc_n, bc_p)).astype(np.int64)
    tech_p = np.asarray(V.TECHNOLOGY_P)[group]
    tech = rng.random((n, len(V.TECHNOLOGIES))) < tech_p

    # Customers: bigger accounts are likelier to buy already.
    z = (np.log(employees) - np.log(employees).mean()) / max(np.log(employees).std(), 1e-9)
    base = np.log(cfg.customer_share / (1 - cfg.customer_share))
    is_customer = rng.random(n) < 1 / (1 + np.exp(-(base + 0.45 * z)))

    # Spend per year: size with elasticity 0.6, industry, behaviour group, and a
    # wide idiosyncratic factor (share of wallet we happen to hold).
    ind_spend = np.array([i[4] for i in V.INDUSTRIES])[industry]
    annual_spend = (
        1500.0
        * employees**0.6
        * ind_spend
        * np.array(V.GROUP_SPEND)[group]
        * np.exp(rng.normal(0.0, 0.9, n))
    )

    # Timelines (days from the first day of the history).
    new = rng.random(n) < 0.25
    # a newly won customer starts with a smaller share of its wallet
    annual_spend = np.where(new, 0.75 * annual_spend, annual_spend)
    start_day = np.where(new, rng.integers(0, max(n_days - 30, 1), n), 0)
    remaining_years = (n_days - start_day) / 365.25
    churn_p = 1 - (1 - np.array(V.GROUP_CHURN)[group]) ** remaining_years
    churn = (rng.random(n) < churn_p) & (n_days - start_day > 150)
    churn_day = (
        start_day + 90 + (rng.random(n) * np.maximum(n_days - start_day - 90, 1)).astype(np.int64)
    )
    end_day = np.where(churn, np.minimum(churn_day, n_days - 1), n_days - 1)
    growth = rng.normal(0.01, 0.25, n) + np.array(V.PHASE_GROWTH)[phase] - np.where(churn, 0.3, 0.0)
    paused = (rng.random(n) < 0.04) & ~new & ~churn
    pause_start = np.where(paused, rng.integers(60, max(n_days // 2, 61), n), -1)
    pause_end = np.where(paused, pause_start + rng.integers(200, 420, n), -1)

    trajectory = np.select(
        [~is_customer, churn, new, paused, growth > 0.12, growth < -0.12],
        ["prospect", "churned", "new", "paused", "growing", "contracting"],
        "stable",
    )

    width = max(7, len(str(n)))
    ids = pl.Series("account_id", np.arange(1, n + 1)).cast(pl.String).str.zfill(width)
    account_ids = ("ACC-" + ids).alias("account_id")

    # Names: syllable pair, an industry word (most of the time), the legal form.
    pre = rng.integers(0, len(V.COMPANY_PREFIX), n)
    suf = rng.integers(0, len(V.COMPANY_SUFFIX), n)
    stem = _strings(V.COMPANY_PREFIX).gather(pre) + _strings(V.COMPANY_SUFFIX).gather(suf)
    words = [w for i in V.INDUSTRIES for w in i[6]]
    word_off = np.cumsum([0] + [len(i[6]) for i in V.INDUSTRIES])[:-1]
    word_n = np.array([len(i[6]) for i in V.INDUSTRIES])
    word = word_off[industry] + (rng.random(n) * word_n[industry]).astype(np.int64)
    has_word = rng.random(n) < 0.7
    public = industry == [i[0] for i in V.INDUSTRIES].index("Public sector")
    legal = _strings(legal_forms).gather(legal_idx)
    legal = pl.select(
        pl.when(pl.lit(pl.Series(public))).then(pl.lit("public body")).otherwise(pl.lit(legal))
    ).to_series()
    own = _strings(V.OWNERSHIP).gather(ownership)
    own = pl.select(
        pl.when(pl.lit(pl.Series(public))).then(pl.lit("public")).otherwise(pl.lit(own))
    ).to_series()

    frame = pl.DataFrame(
        {
            "account_id": account_ids,
            "stem": stem,
            "word": _strings(words).gather(word),
            "has_word": has_word | public,
            "public": public,
            "legal_form": legal,
            "industry": _strings([i[0] for i in V.INDUSTRIES]).gather(industry),
            "country": _strings([c[0] for c in V.COUNTRIES]).gather(country),
            "region": _strings([c[1] for c in V.COUNTRIES]).gather(country),
            "employees": employees,
            "annual_revenue": annual_revenue.astype(np.int64),
            "founded_year": founded_year,
            "ownership": own,
            "business_phase": _strings(V.PHASES).gather(phase),
            "purchasing_organisation": _strings(V.PURCHASING_ORG).gather(porg),
            "buying_driver": _strings(V.BUYING_DRIVERS).gather(driver),
            "offer_type": _strings(V.OFFER_TYPES).gather(offer),
            "buying_center_size": bcs,
            "collaboration": _strings(V.COLLABORATION).gather(collab),
            "touchpoint_preference": _strings(V.TOUCHPOINTS).gather(touch),
        }
    )
    tech_exprs = [
        pl.when(pl.lit(pl.Series(tech[:, j]))).then(pl.lit(name))
        for j, name in enumerate(V.TECHNOLOGIES)
    ]
    technologies = pl.select(
        pl.concat_list(tech_exprs).list.drop_nulls().list.join(";")
    ).to_series()

    # A realistic share of gaps in the CRM (never in the behaviour fields).
    gaps = rng.random((n, 4))
    accounts = frame.with_columns(
        technologies=technologies,
        name=pl.when(pl.col("public"))
        .then(pl.col("stem") + " " + pl.col("word"))
        .when(pl.col("has_word"))
        .then(pl.col("stem") + " " + pl.col("word") + " " + pl.col("legal_form"))
        .otherwise(pl.col("stem") + " " + pl.col("legal_form")),
    ).with_columns(
        annual_revenue=pl.when(pl.lit(pl.Series(gaps[:, 0] < 0.04)))
        .then(None)
        .otherwise(pl.col("annual_revenue")),
        founded_year=pl.when(pl.lit(pl.Series(gaps[:, 1] < 0.03)))
        .then(None)
        .otherwise(pl.col("founded_year")),
        technologies=pl.when(pl.lit(pl.Series((gaps[:, 2] < 0.08) | ~tech.any(axis=1))))
        .then(None)
        .otherwise(pl.col("technologies")),
        touchpoint_preference=pl.when(pl.lit(pl.Series(gaps[:, 3] < 0.05)))
        .then(None)
        .otherwise(pl.col("touchpoint_preference")),
    )
    accounts = accounts.select(
        "account_id",
        "name",
        "industry",
        "country",
        "region",
        "employees",
        "annual_revenue",
        "founded_year",
        "legal_form",
        "ownership",
        "business_phase",
        "purchasing_organisation",
        "buying_driver",
        "offer_type",
        "buying_center_size",
        "collaboration",
        "technologies",
        "touchpoint_preference",
    )
    domains = (frame["stem"].str.to_lowercase() + ".example").alias("domain")
    _ = years
    pop = Population(
        account_ids=account_ids,
        domains=domains,
        industry=industry,
        group=group,
        phase=phase,
        employees=employees,
        buying_center_size=bcs,
        is_customer=is_customer,
        annual_spend=annual_spend,
        start_day=start_day,
        end_day=end_day,
        growth=growth,
        pause_start=pause_start,
        pause_end=pause_end,
        trajectory=trajectory,
    )
    return accounts, pop


# ---------------------------------------------------------------- transactions


def _orders_per_customer(
    cfg: GeneratorConfig, pop: Population, customers: np.ndarray
) -> np.ndarray:
    """Expected orders per customer, so that lines average ``transactions_per_customer``."""
    active_years = (pop.end_day[customers] - pop.start_day[customers] + 1) / 365.25
    # frequency grows with the square root of spend; lines accrue over the active time
    weight = np.sqrt(pop.annual_spend[customers]) * active_years
    lines = cfg.transactions_per_customer * (1 - RETURN_SHARE) * weight / weight.mean()
    lines_per_order = 1 + np.asarray(V.GROUP_EXTRA_LINES)[pop.group[customers]]
    return lines / lines_per_order


def _transaction_block(
    cfg: GeneratorConfig,
    pop: Population,
    customers: np.ndarray,
    expected_orders: np.ndarray,
    block: int,
    invoice_offset: int,
    credit_offset: int,
    cat: pl.DataFrame,
    season_cum: np.ndarray,
) -> tuple[pl.DataFrame, int, int]:
    """Invoice lines (and credit notes) of one block of customers."""
    rng = np.random.default_rng([cfg.seed, 2, block])
    _, n_days = window(cfg)
    start_epoch = (window(cfg)[0] - EPOCH).days
    nc = len(customers)
    grp = pop.group[customers]
    ind = pop.industry[customers]
    start = pop.start_day[customers]
    end = pop.end_day[customers]

    # Orders: stochastic rounding of the expected count, at least one.
    n_orders = np.floor(expected_orders).astype(np.int64)
    n_orders += rng.random(nc) < (expected_orders - n_orders)
    n_orders = np.maximum(n_orders, 1)
    oc = np.repeat(np.arange(nc), n_orders)

    # Order dates: exponential growth trajectory in "business time", mapped back
    # through the cumulative seasonal weights (no Sundays, a thin August, ...).
    active_years = (end - start + 1) / 365.25
    k = (pop.growth[customers] * active_years)[oc]
    u = rng.random(len(oc))
    small = np.abs(k) < 1e-6
    k_safe = np.where(small, 1.0, k)
    x = np.where(small, u, np.log1p(u * np.expm1(k_safe)) / k_safe)
    lo = season_cum[start[oc]]
    hi = season_cum[end[oc] + 1]
    day = np.searchsorted(season_cum, lo + x * (hi - lo), side="right") - 1
    day = np.clip(day, start[oc], end[oc])

    order = np.lexsort((day, oc))
    oc, day = oc[order], day[order]
    first = np.ones(len(oc), dtype=bool)
    first[1:] = oc[1:] != oc[:-1]
    ps = pop.pause_start[customers][oc]
    pe = pop.pause_end[customers][oc]
    keep = first | ~((day >= ps) & (day < pe))
    oc, day = oc[keep], day[keep]
    n_ord = len(oc)
    kept_orders = np.bincount(oc, minlength=nc)

    spend_total = pop.annual_spend[customers] * active_years
    order_value = (spend_total / kept_orders)[oc] * np.exp(rng.normal(-0.18, 0.6, n_ord))
    channel = _choice_rows(rng, V.CHANNEL_P, grp[oc])
    invoice_no = invoice_offset + np.arange(n_ord)

    # Lines of each order.
    n_lines = 1 + rng.poisson(np.asarray(V.GROUP_EXTRA_LINES)[grp[oc]])
    lo_ = np.repeat(np.arange(n_ord), n_lines)
    share = np.exp(rng.normal(0.0, 0.8, len(lo_)))
    share /= np.bincount(lo_, weights=share)[lo_]
    value = order_value[lo_] * share
    lc = oc[lo_]
    affinity = (
        np.asarray(V.INDUSTRY_LINE_AFFINITY)[:, None, :] * np.asarray(V.GROUP_LINE_AFFINITY)[None]
    )
    affinity = affinity.reshape(-1, affinity.shape[-1])
    pline = _choice_rows(rng, affinity, ind[lc] * 3 + grp[lc])
    per_line = len(cat) // len(V.PRODUCT_LINES)
    product = pline * per_line + np.floor(per_line * rng.random(len(lo_)) ** 1.8).astype(np.int64)
    list_price = cat["list_price"].to_numpy()[product]
    unit_price = np.round(
        list_price
        * (1 - np.asarray(V.GROUP_DISCOUNT)[grp[lc]])
        * np.exp(rng.normal(0, 0.03, len(lo_))),
        2,
    )
    unit_price = np.maximum(unit_price, 0.01)
    quantity = np.maximum(np.rint(value / unit_price), 1.0)
    margin_pct = (
        np.asarray([p[2] for p in V.PRODUCT_LINES])[pline]
        + np.asarray(V.GROUP_MARGIN_SHIFT)[grp[lc]]
        + rng.normal(0, 0.03, len(lo_))
    )
    margin_pct = np.clip(margin_pct, -0.05, 0.65)

    # Returns: about 2 % of lines come back 5-45 days later on a credit note.
    ret = np.flatnonzero(rng.random(len(lo_)) < RETURN_SHARE / (1 - RETURN_SHARE))
    ret_day = day[lo_[ret]] + rng.integers(5, 46, len(ret))
    # credit notes are booked on working days: a weekend moves to the Monday
    ret_weekday = (ret_day + start_epoch + 3) % 7
    ret_day = ret_day + np.where(ret_weekday == 5, 2, np.where(ret_weekday == 6, 1, 0))
    ret = ret[ret_day < n_days]
    ret_day = ret_day[ret_day < n_days]
    ret_qty = -np.maximum(np.floor(quantity[ret] * rng.uniform(0.1, 1.0, len(ret))), 1.0)
    credit_no = credit_offset + np.arange(len(ret))

    all_cust = np.concatenate([lc, lc[ret]])
    all_day = np.concatenate([day[lo_], ret_day])
    kind = np.concatenate([np.zeros(len(lo_), np.int64), np.ones(len(ret), np.int64)])
    doc = np.concatenate([invoice_no[lo_], credit_no])
    prod = np.concatenate([product, product[ret]])
    price = np.concatenate([unit_price, unit_price[ret]])
    qty = np.concatenate([quantity, ret_qty])
    pct = np.concatenate([margin_pct, margin_pct[ret]])
    chan = np.concatenate([channel[lo_], channel[lo_[ret]]])
    amount = np.round(qty * price, 2) + 0.0
    margin = np.round(amount * pct, 2) + 0.0

    order = np.lexsort((np.arange(len(all_cust)), doc, kind, all_day, all_cust))
    acct = customers[all_cust[order]]
    frame = pl.DataFrame(
        {
            "kind": kind[order],
            "doc": doc[order],
            "date": pl.Series(all_day[order] + start_epoch, dtype=pl.Int32).cast(pl.Date),
            "account_id": pop.account_ids.gather(acct),
            "product": cat["product"].gather(prod[order]),
            "product_line": cat["product_line"].gather(prod[order]),
            "quantity": qty[order].astype(np.int64),
            "unit_price": price[order],
            "amount": amount[order],
            "margin": margin[order],
            "channel": _strings(V.CHANNELS).gather(chan[order]),
        }
    )
    frame = frame.select(
        pl.when(pl.col("kind") == 0)
        .then("INV-" + pl.col("doc").cast(pl.String).str.zfill(9))
        .otherwise("CN-" + pl.col("doc").cast(pl.String).str.zfill(8))
        .alias("invoice_id"),
        "date",
        "account_id",
        "product",
        "product_line",
        "quantity",
        "unit_price",
        "amount",
        "margin",
        "channel",
    )
    return frame, n_ord, len(ret)


def write_transactions(
    cfg: GeneratorConfig, pop: Population, sink: BinaryIO, recent: list | None = None
) -> int:
    """Write all invoice lines to ``sink`` block by block; returns the number of lines.

    ``recent``, when given, receives per block the net amount of each customer
    over the last 365 days of the history (``account_id``, ``revenue``).
    """
    start, n_days = window(cfg)
    w = seasonal_weights(start, n_days)
    season_cum = np.concatenate([[0.0], np.cumsum(w)])
    cat = catalogue()
    customers = np.flatnonzero(pop.is_customer)
    expected = _orders_per_customer(cfg, pop, customers)
    invoice_offset, credit_offset, lines = 1, 1, 0
    for block, lo in enumerate(range(0, len(customers), BLOCK_CUSTOMERS)):
        sl = slice(lo, lo + BLOCK_CUSTOMERS)
        frame, n_inv, n_cn = _transaction_block(
            cfg,
            pop,
            customers[sl],
            expected[sl],
            block,
            invoice_offset,
            credit_offset,
            cat,
            season_cum,
        )
        invoice_offset += n_inv
        credit_offset += n_cn
        lines += frame.height
        if recent is not None:
            since = cfg.end_date - timedelta(days=364)
            recent.append(
                frame.filter(pl.col("date") >= since)
                .group_by("account_id")
                .agg(revenue=pl.col("amount").sum())
            )
        frame.write_csv(sink, include_header=block == 0, float_precision=2)
        del frame
    if len(customers) == 0:
        sink.write(
            b"invoice_id,date,account_id,product,product_line,quantity,unit_price,amount,margin,channel\n"
        )
    return lines


# ---------------------------------------------------------------- contacts


def generate_contacts(cfg: GeneratorConfig, pop: Population) -> pl.DataFrame:
    """Buying-centre members: customers know most of theirs, prospects zero to two people."""
    rng = np.random.default_rng([cfg.seed, 3])
    n = len(pop.group)
    bcs = pop.buying_center_size
    known = bcs - rng.binomial(bcs, 0.17) + (rng.random(n) < 0.1)
    prospect_n = _choice(rng, (0.40, 0.42, 0.18), n)
    n_contacts = np.clip(np.where(pop.is_customer, known, prospect_n), 0, 12)
    n_contacts = np.where(pop.is_customer, np.maximum(n_contacts, 1), n_contacts)
    acc = np.repeat(np.arange(n), n_contacts)
    total = len(acc)
    starts = np.cumsum(n_contacts) - n_contacts
    pos = np.arange(total) - np.repeat(starts, n_contacts)
    grp = pop.group[acc]

    role = _choice_rows(rng, V.ROLE_P, grp)
    role = np.where(pos == 0, 0, np.where(pos == 1, 3, role))
    seniority = _choice_rows(rng, V.SENIORITY_P, role)
    function = _choice_rows(rng, V.FUNCTION_P, role)
    titles = [t for f in V.FUNCTIONS for t in V.TITLES[f]]
    title = function * len(V.SENIORITIES) + seniority
    channel = _choice_rows(rng, V.CONTACT_CHANNEL_P, grp)

    first_names = [a + b for a in V.FIRST_A for b in V.FIRST_B]
    last_names = [a + b for a in V.LAST_A for b in V.LAST_B]
    first = _strings(first_names).gather(rng.integers(0, len(first_names), total))
    last = _strings(last_names).gather(rng.integers(0, len(last_names), total))
    no_email = pl.Series(rng.random(total) < 0.06)
    width = max(7, len(str(total)))
    contact_ids = "CON-" + pl.Series(np.arange(1, total + 1)).cast(pl.String).str.zfill(width)
    frame = pl.DataFrame(
        {
            "contact_id": contact_ids,
            "account_id": pop.account_ids.gather(acc),
            "first": first,
            "last": last,
            "title": _strings(titles).gather(title),
            "function": _strings(V.FUNCTIONS).gather(function),
            "seniority": _strings(V.SENIORITIES).gather(seniority),
            "decision_role": _strings(V.DECISION_ROLES).gather(role),
            "preferred_channel": _strings(V.CONTACT_CHANNELS).gather(channel),
            "domain": pop.domains.gather(acc),
            "no_email": no_email,
        }
    )
    return frame.select(
        "contact_id",
        "account_id",
        (pl.col("first") + " " + pl.col("last")).alias("name"),
        "title",
        "function",
        "seniority",
        "decision_role",
        "preferred_channel",
        pl.when(pl.col("no_email"))
        .then(None)
        .otherwise(
            pl.col("first").str.to_lowercase()
            + "."
            + pl.col("last").str.to_lowercase()
            + "@"
            + pl.col("domain")
        )
        .alias("email"),
    )


# ---------------------------------------------------------------- activities

# Activity types with their default minutes (DOMAIN.md "Coverage") and each
# behaviour group's mix of effort (share of minutes): solution buyers are
# visited, price-driven ones mailed and called.
ACTIVITY_TYPES = (("Visit", 120.0), ("Meeting", 60.0), ("Call", 15.0), ("Email", 5.0))
ACTIVITY_MIX = ((0.05, 0.15, 0.45, 0.35), (0.50, 0.25, 0.15, 0.10), (0.10, 0.20, 0.45, 0.25))
# Minutes of effort a year on an account of average (planned) headroom.
MEAN_MINUTES = 480.0


def generate_activities(
    cfg: GeneratorConfig, pop: Population, accounts: pl.DataFrame, recent: pl.DataFrame
) -> tuple[pl.DataFrame, np.ndarray]:
    """CRM activities over the last two years, and the planted coverage of each
    account ("over", "under" or None) in the last year.

    Reps work the customers of their region that bought in the last year, in
    proportion to sqrt(headroom x potential) as the generator sees them (the
    top-peer wallet of the profile; headroom = wallet minus the last year's
    revenue), and not at all where the headroom is under 40 % of the
    potential. Planted in the last year: about 4 % of those customers, among
    the steady ones with the least headroom, get 25-50 hours (over-covered);
    30 % of the steady ones in the top tenth of headroom get one e-mail
    (under-covered).
    """
    rng = np.random.default_rng([cfg.seed, 4])
    n = len(pop.group)
    start, n_days = window(cfg)
    rev = np.zeros(n)
    if recent.height:
        index = pl.DataFrame({"account_id": pop.account_ids, "i": np.arange(n)})
        got = index.join(recent, on="account_id", how="inner")
        rev[got["i"].to_numpy()] = got["revenue"].to_numpy()
    # What a sales team can see of an account's wallet: its size, industry and
    # buying behaviour, scaled to what the top fifth of the active customers of
    # that profile spend: the potential core.potential models.
    ind_spend = np.array([i[4] for i in V.INDUSTRIES])[pop.industry]
    profile = 1500.0 * pop.employees**0.6 * ind_spend * np.array(V.GROUP_SPEND)[pop.group]
    active = rev > 0
    top_peer = float(np.quantile(rev[active] / profile[active], 0.8)) if active.any() else 1.0
    potential = top_peer * profile
    headroom = np.maximum(potential - np.maximum(rev, 0.0), 0.0)
    # effort grows with headroom and size (their geometric mean); none where the
    # account already buys most of what it could (headroom under 40 % of potential)
    planned = np.where(active & (headroom >= 0.4 * potential), np.sqrt(headroom * potential), 0.0)
    mean_planned = planned[active].mean() if active.any() else 1.0
    minutes = MEAN_MINUTES * planned / max(mean_planned, 1e-9)
    minutes = minutes * np.exp(rng.normal(0.0, 0.2, n))

    plant = np.full(n, None, dtype=object)
    steady = active & np.isin(pop.trajectory, ["stable", "growing", "contracting"])
    low = np.flatnonzero(steady & (headroom <= 0.1 * potential))
    n_over = min(len(low), max(5, int(round(0.04 * active.sum()))))
    over = rng.choice(low, size=n_over, replace=False) if n_over else np.array([], int)
    big = np.flatnonzero(steady & (headroom >= np.quantile(headroom[active], 0.9))) if (
        active.any()) else np.array([], int)
    n_under = min(len(big), max(3, int(round(0.3 * len(big)))))
    under = rng.choice(big, size=n_under, replace=False) if n_under else np.array([], int)
    plant[over] = "over"
    plant[under] = "under"
    last_year = minutes.copy()
    last_year[over] = 1500.0 + 1500.0 * rng.random(len(over))
    last_year[under] = 0.0

    parts = []
    mix = np.asarray(ACTIVITY_MIX)[pop.group]
    for year, (budget, first_day) in enumerate(((minutes, n_days - 730), (last_year,
                                                                          n_days - 365))):
        lo = max(first_day, 0)
        # stochastic rounding: counts whose expected minutes are the budget's
        counts = [np.floor(budget * mix[:, k] / m + rng.random(n)).astype(np.int64)
                  for k, (_t, m) in enumerate(ACTIVITY_TYPES)]
        if year == 1:
            for k in range(len(ACTIVITY_TYPES)):
                counts[k][under] = 0
            counts[3][under] = 1  # one e-mail a year
        for k, (name, default) in enumerate(ACTIVITY_TYPES):
            acc = np.repeat(np.arange(n), counts[k])
            # customers are worked while they buy
            first = np.maximum(pop.start_day[acc], lo)
            last = pop.end_day[acc]
            last = np.where(last < first, first, np.minimum(last, lo + 364))
            day = first + (rng.random(len(acc)) * (last - first + 1)).astype(np.int64)
            # weekends move to the Friday before
            weekday = (np.asarray(day) + start.weekday()) % 7
            day = day - np.where(weekday >= 5, weekday - 4, 0)
            given = rng.random(len(acc)) < (0.5 if default >= 60 else 0.3 if default >= 15
                                            else 0.0)
            dur = np.round(default * np.exp(rng.normal(0.0, 0.25, len(acc))) / 5.0) * 5.0
            parts.append(pl.DataFrame({
                "acc": acc,
                "day": day.astype(np.int64),
                "type": pl.Series([name] * len(acc), dtype=pl.String),
                "duration": pl.Series(np.where(given, np.maximum(dur, 5.0), np.nan)),
            }))
    acts = pl.concat(parts).filter(pl.col("day") >= 0).sort(["day", "acc", "type"])

    regions = accounts["region"].to_numpy()
    owner = np.empty(n, dtype=object)
    first_names = [a + b for a in V.FIRST_A for b in V.FIRST_B]
    last_names = [a + b for a in V.LAST_A for b in V.LAST_B]
    for region in sorted(set(regions)):
        members = np.flatnonzero(regions == region)
        reps = max(1, int(np.ceil(active[members].sum() / 120)))
        names = [f"{first_names[rng.integers(len(first_names))]} "
                 f"{last_names[rng.integers(len(last_names))]}" for _ in range(reps)]
        owner[members] = np.asarray(names, dtype=object)[rng.integers(0, reps, len(members))]
    width = max(8, len(str(acts.height)))
    frame = acts.select(
        ("ACT-" + pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(width))
        .alias("Activity ID"),
        pop.account_ids.gather(acts["acc"]).alias("Account ID"),
        (pl.col("day") + (start - EPOCH).days).cast(pl.Int32).cast(pl.Date)
        .alias("Activity Date"),
        pl.col("type").alias("Activity Type"),
        pl.Series(owner, dtype=pl.String).gather(acts["acc"]).alias("Assigned To"),
        pl.col("duration").fill_nan(None).cast(pl.Int64).alias("Duration (minutes)"),
    )
    return frame, plant


# ---------------------------------------------------------------- driver


def generate(cfg: GeneratorConfig, out: Path) -> dict[str, int]:
    """Write the data set into ``out``; returns row counts per file."""
    if cfg.accounts < 1:
        raise ValueError("--accounts must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    accounts, pop = generate_population(cfg)
    accounts.write_csv(out / "accounts.csv")
    contacts = generate_contacts(cfg, pop)
    contacts.write_csv(out / "contacts.csv")
    tx_name = "transactions.csv.gz" if cfg.gzip else "transactions.csv"
    stale = out / ("transactions.csv" if cfg.gzip else "transactions.csv.gz")
    if stale.exists():
        stale.unlink()
    recent: list[pl.DataFrame] = []
    with open(out / tx_name, "wb") as raw:
        if cfg.gzip:
            # filename="" and mtime=0 keep the gzip header free of anything that varies
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
                lines = write_transactions(cfg, pop, gz, recent)
        else:
            lines = write_transactions(cfg, pop, raw, recent)
    recent_revenue = (
        pl.concat(recent).group_by("account_id").agg(pl.col("revenue").sum())
        if recent
        else pl.DataFrame(schema={"account_id": pl.String, "revenue": pl.Float64})
    )
    activities, plant = generate_activities(cfg, pop, accounts, recent_revenue)
    act_name = "activities.csv.gz" if cfg.gzip else "activities.csv"
    stale = out / ("activities.csv" if cfg.gzip else "activities.csv.gz")
    if stale.exists():
        stale.unlink()
    if cfg.gzip:
        with open(out / act_name, "wb") as raw, gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6
        ) as gz:
            activities.write_csv(gz)
    else:
        activities.write_csv(out / act_name)
    pl.DataFrame(
        {
            "account_id": pop.account_ids,
            "behaviour_group": _strings(V.GROUPS).gather(pop.group),
            "trajectory": pl.Series(pop.trajectory).cast(pl.String),
            "coverage_plant": pl.Series(plant.tolist(), dtype=pl.String),
        }
    ).write_csv(out / "_truth.csv")
    if cfg.parquet:
        write_parquet_copies(out, tx_name)
    return {
        "accounts": accounts.height,
        "customers": int(pop.is_customer.sum()),
        "transactions": lines,
        "contacts": contacts.height,
        "activities": activities.height,
    }


# Canonical dtypes (docs/architecture.md) for the Parquet copies.
PARQUET_SCHEMAS: dict[str, dict[str, type[pl.DataType]]] = {
    "accounts": {
        "employees": pl.Int64, "annual_revenue": pl.Float64, "founded_year": pl.Int64,
        "buying_center_size": pl.Int64,
    },
    "transactions": {
        "date": pl.Date, "quantity": pl.Float64, "unit_price": pl.Float64,
        "amount": pl.Float64, "margin": pl.Float64,
    },
    "contacts": {},
}  # fmt: skip


def write_parquet_copies(out: Path, tx_name: str = "transactions.csv") -> None:
    """``accounts/transactions/contacts.parquet`` beside the CSVs, in canonical dtypes."""
    for kind, source in (
        ("accounts", "accounts.csv"),
        ("transactions", tx_name),
        ("contacts", "contacts.csv"),
    ):
        path = out / source
        if source.endswith(".gz"):  # scan_csv cannot stream gzip; gzipped sets are small
            frame = pl.read_csv(path, infer_schema=False).lazy()
        else:
            frame = pl.scan_csv(path, infer_schema=False)
        frame = frame.with_columns(
            pl.col(c).str.to_date("%Y-%m-%d") if t is pl.Date else pl.col(c).cast(t)
            for c, t in PARQUET_SCHEMAS[kind].items()
        )
        frame.sink_parquet(out / f"{kind}.parquet")


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sample_data.generate",
        description="Generate a seeded B2B customer base (accounts, invoice lines, contacts).",
    )
    parser.add_argument(
        "--accounts", type=int, required=True, help="number of accounts (customers and prospects)"
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="random seed (same seed, same bytes); default 42"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output directory (created if missing)"
    )
    parser.add_argument(
        "--transactions-per-customer",
        type=float,
        default=34.0,
        help="average invoice lines per customer over the history, returns included; default 34",
    )
    parser.add_argument(
        "--end-date",
        type=_parse_date,
        default=DEFAULT_END,
        help="last day of the history (default 2025-12-31)",
    )
    parser.add_argument(
        "--years", type=int, default=3, help="length of the history in years (default 3)"
    )
    parser.add_argument(
        "--customer-share",
        type=float,
        default=0.60,
        help="share of accounts that buy (default 0.60)",
    )
    parser.add_argument(
        "--parquet",
        action="store_true",
        help="also write accounts/transactions/contacts.parquet in the canonical dtypes",
    )
    parser.add_argument(
        "--gzip", action="store_true", help="write transactions.csv.gz instead of transactions.csv"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.accounts < 1 or args.years < 1 or not 0 < args.customer_share < 1:
        print(
            "generate: --accounts and --years must be >= 1 and --customer-share in (0, 1)",
            file=sys.stderr,
        )
        return 2
    cfg = GeneratorConfig(
        accounts=args.accounts,
        seed=args.seed,
        end_date=args.end_date,
        years=args.years,
        transactions_per_customer=args.transactions_per_customer,
        customer_share=args.customer_share,
        gzip=args.gzip,
        parquet=args.parquet,
    )
    t0 = time.perf_counter()
    counts = generate(cfg, args.out)
    elapsed = time.perf_counter() - t0
    summary = ", ".join(f"{v:,} {k}" for k, v in counts.items())
    print(f"wrote {summary} to {args.out} in {elapsed:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
