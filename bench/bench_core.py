"""Benchmark of the per-account core: metric frame, ABC + RFM, bridge, account frame.

    .venv/bin/python bench/bench_core.py                    # 1M accounts / 20M transactions
    .venv/bin/python bench/bench_core.py --accounts 100000

Data: bench/data/big/{accounts,transactions}.{parquet,csv} when present (canonical
columns), else a synthetic set made with a seeded numpy generator (20
transactions per account on average, 30 % prospects, 3 % returns, lines grouped
by account in date order as the workspace holds an import of a sorted export).
The metric frame is also timed once on shuffled rows (the general hash path),
and the pandas notebook version (bench/pandas_baseline.py) runs on the same
frames for the speed-up. Times are the best of ``--repeat`` runs, wall and CPU
(all threads). Peak RSS is the process maximum (``resource.getrusage``), so it
includes data generation and, at the end, the pandas copy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIG = ROOT / "bench" / "data" / "big"


def synthesise(n_accounts: int, n_transactions: int | None = None, seed: int = 7
               ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical accounts and transactions frames, skewed like B2B sales."""
    rng = np.random.default_rng(seed)
    n_tx = n_transactions if n_transactions is not None else 20 * n_accounts
    n_customers = int(n_accounts * 0.7)
    # Skewed purchase counts: a few accounts carry many lines.
    weights = rng.pareto(1.5, n_customers) + 0.05
    weights /= weights.sum()
    acct = np.sort(rng.choice(n_customers, size=n_tx, p=weights))
    start = dt.date(2023, 1, 1).toordinal()
    span = dt.date(2025, 12, 31).toordinal() - start + 1
    days = rng.integers(0, span, n_tx)
    order = np.lexsort((days, acct))
    acct, days = acct[order], days[order]
    amount = np.round(rng.lognormal(5.0, 1.2, n_tx), 2)
    returns = rng.random(n_tx) < 0.03
    amount[returns] *= -1
    margin = np.round(amount * rng.uniform(0.05, 0.45, n_tx), 2)
    new_invoice = np.ones(n_tx, dtype=bool)
    new_invoice[1:] = (acct[1:] != acct[:-1]) | (days[1:] != days[:-1])
    invoice = np.cumsum(new_invoice)
    epoch = dt.date(1970, 1, 1).toordinal()
    lines = np.array([f"L{i:02d}" for i in range(25)])
    transactions = pl.DataFrame(
        {
            "acct": acct,
            "date": (days + start - epoch).astype("int32"),
            "amount": amount,
            "margin": margin,
            "invoice": invoice,
            "product_line": lines[rng.integers(0, 25, n_tx)],
        }
    ).select(
        (pl.lit("C") + pl.col("acct").cast(pl.Utf8).str.zfill(7)).alias("account_id"),
        pl.col("date").cast(pl.Date),
        pl.col("amount"),
        pl.col("margin"),
        (pl.lit("INV") + pl.col("invoice").cast(pl.Utf8).str.zfill(9)).alias("invoice_id"),
        pl.col("product_line"),
    )
    industries = np.array(["Manufacturing", "Retail", "Health", "Finance", "Logistics"])
    accounts = pl.DataFrame(
        {
            "account_id": [f"C{i:07d}" for i in range(n_accounts)],
            "industry": industries[rng.integers(0, 5, n_accounts)],
            "employees": rng.integers(5, 5000, n_accounts),
        }
    )
    return accounts, transactions


# The transaction columns core.metrics and core.bridge read: the benchmark (and
# its peak RSS) loads only these, as the workspace query does.
TX_COLUMNS = ("account_id", "date", "amount", "margin", "invoice_id", "product_line")


def _read_big() -> tuple[pl.DataFrame, pl.DataFrame] | None:
    frames = []
    for name in ("accounts", "transactions"):
        for ext in (".parquet", ".csv"):
            path = BIG / f"{name}{ext}"
            if path.exists():
                lf = pl.scan_parquet(path) if ext == ".parquet" else pl.scan_csv(
                    path, try_parse_dates=True)
                if name == "transactions":
                    present = lf.collect_schema().names()
                    lf = lf.select([c for c in TX_COLUMNS if c in present])
                frames.append(lf.collect())
                break
        else:
            return None
    accounts, transactions = frames
    transactions = transactions.with_columns(pl.col("date").cast(pl.Date),
                                             pl.col("account_id").cast(pl.Utf8))
    return accounts.with_columns(pl.col("account_id").cast(pl.Utf8)), transactions


def _timed(label: str, fn, repeat: int, rows: list[tuple[str, float, float]]):
    """Best wall time of ``repeat`` runs, with the CPU time of that run (all threads)."""
    best = (float("inf"), 0.0)
    result = None
    for _ in range(repeat):
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        best = min(best, (wall, cpu))
    rows.append((label, *best))
    print(f"  {label}: {best[0]:.3f} s", flush=True)
    return result


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=None,
                        help="synthesise this many accounts (default: read bench/data/big if "
                             "present, else 1,000,000)")
    parser.add_argument("--transactions", type=int, default=None,
                        help="default: 20 per account")
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the pandas baseline")
    parser.add_argument("--no-shuffled", action="store_true",
                        help="skip the metric frame on shuffled rows (the hash path)")
    parser.add_argument("--synthetic", action="store_true", help="ignore bench/data/big")
    parser.add_argument("--memory", action="store_true",
                        help="only load the data, compute the metric frame + ABC + RFM "
                             "and then the account frame once each, and report the "
                             "process's peak RSS after each (a process maximum)")
    args = parser.parse_args(argv)
    from core.abc import abc_classes
    from core.bridge import revenue_bridge
    from core.frame import account_frame
    from core.metrics import account_metrics, default_as_of
    from core.rfm import rfm_scores

    t0 = time.perf_counter()
    big = None if args.synthetic or args.accounts is not None else _read_big()
    if big is not None:
        accounts, transactions = big
        source = f"{BIG}"
    else:
        accounts, transactions = synthesise(args.accounts or 1_000_000, args.transactions)
        source = "synthetic (numpy seed 7, lines grouped by account as a workspace holds them)"
    print(f"data: {source}: {accounts.height:,} accounts, {transactions.height:,} transactions "
          f"({time.perf_counter() - t0:.1f} s to load/generate; "
          f"{transactions.estimated_size('mb'):,.0f} MB in memory); polars {pl.__version__}, "
          f"{pl.thread_pool_size()} threads, load average {os.getloadavg()[0]:.1f}")
    as_of = default_as_of(transactions)
    data_rss = _peak_rss_mb()

    rows: list[tuple[str, float, float]] = []
    if args.memory:
        metrics = _timed("metric frame", lambda: account_metrics(accounts, transactions,
                                                                 as_of=as_of), 1, rows)
        _timed("ABC + RFM", lambda: (abc_classes(metrics), rfm_scores(metrics)), 1, rows)
        metrics_rss = _peak_rss_mb()
        del metrics
        _timed("account frame (metrics + ABC + RFM + bridge class)",
               lambda: account_frame(accounts, transactions, as_of=as_of), 1, rows)
        for label, wall, cpu in rows:
            print(f"{label}: wall {wall:.3f} s, CPU {cpu:.3f} s")
        print(f"peak RSS: {data_rss:,.0f} MB with the data loaded, {metrics_rss:,.0f} MB "
              f"after metrics + ABC + RFM, {_peak_rss_mb():,.0f} MB after the account frame; "
              f"load average now {os.getloadavg()[0]:.1f}")
        return 0
    metrics = _timed("metric frame", lambda: account_metrics(accounts, transactions, as_of=as_of),
                     args.repeat, rows)
    _timed("ABC + RFM", lambda: (abc_classes(metrics), rfm_scores(metrics)), args.repeat, rows)
    _timed("revenue bridge (year)", lambda: revenue_bridge(transactions, as_of=as_of),
           args.repeat, rows)
    _timed("account frame (metrics + ABC + RFM + bridge class)",
           lambda: account_frame(accounts, transactions, as_of=as_of), args.repeat, rows)
    polars_rss = _peak_rss_mb()
    if not args.no_shuffled:
        shuffled = transactions.sample(fraction=1.0, shuffle=True, seed=1)
        _timed("metric frame, rows shuffled (hash path)",
               lambda: account_metrics(accounts, shuffled, as_of=as_of), 1, rows)
        del shuffled

    if not args.no_baseline:
        from bench.pandas_baseline import pandas_metrics_abc_rfm, to_pandas

        pdf_accounts, pdf_tx = to_pandas(accounts, transactions)
        _timed("pandas notebook: metrics + ABC + RFM",
               lambda: pandas_metrics_abc_rfm(pdf_accounts, pdf_tx, as_of), 1, rows)

    width = max(len(label) for label, _, _ in rows)
    print(f"\n{'step':<{width}}  wall s   CPU s")
    for label, wall, cpu in rows:
        print(f"{label:<{width}}  {wall:6.3f}  {cpu:6.3f}")
    if not args.no_baseline:
        timings = {label: wall for label, wall, _ in rows}
        ours = timings["metric frame"] + timings["ABC + RFM"]
        base = timings["pandas notebook: metrics + ABC + RFM"]
        print(f"\nspeed-up (pandas / polars, metrics + ABC + RFM): {base / ours:.1f}x")
    print(f"peak RSS: {data_rss:,.0f} MB with the data loaded, {polars_rss:,.0f} MB after the "
          f"polars steps (before the shuffled copy), "
          f"{_peak_rss_mb():,.0f} MB at the end (pandas copy); "
          f"load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
