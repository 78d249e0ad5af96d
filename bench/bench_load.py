"""Benchmark: open a workspace and have accounts and transactions as polars frames.

    .venv/bin/python bench/bench_load.py                       # 1M accounts / 20M transactions
    .venv/bin/python bench/bench_load.py --accounts 100000 --transactions 2000000

The workspace is built once (bench/data/load-<source>-<N>-<M>.segscope, reused
on later runs; ``--rebuild`` to force) from bench/data/big/{accounts,transactions}.parquet
(``python -m sample_data.generate ... --out bench/data/big``) when those hold N
accounts and about M lines, else from a seeded synthetic set (skewed lines per
account, 40 % prospects, 3 % returns). Rows go in through
``sqlite3.executemany`` in one transaction with the indexes built afterwards.

Each scenario runs in a fresh process and reports wall time from before
``Workspace.open`` until both frames exist, and peak RSS (the process, and its
children: the cold load reads SQLite in a child process):

- ``cold``: no cache directory; the ADBC reader child reads SQLite and leaves
  the Arrow IPC cache behind.
- ``warm``: the cache for the current data version is there.
- ``baseline``: ``pl.read_database`` on a plain ``sqlite3`` connection.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.loading import ACCOUNT_SCHEMA, TRANSACTION_SCHEMA  # noqa: E402
from storage.workspace import Workspace, cache_dir_for  # noqa: E402

DATA = ROOT / "bench" / "data"
BIG = DATA / "big"
INDEXES = {
    "transactions_account": "CREATE INDEX transactions_account ON transactions(account_id)",
    "transactions_invoice": "CREATE INDEX transactions_invoice ON transactions(invoice_id)",
}
ACCOUNT_COLS = list(ACCOUNT_SCHEMA)
TX_COLS = list(TRANSACTION_SCHEMA)


def synthesise(n_accounts: int, n_tx: int, seed: int = 11) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical accounts and transactions (date as days since 1970) with a skewed spread."""
    rng = np.random.default_rng(seed)
    ids = pl.Series("account_id", np.arange(n_accounts)).cast(pl.Utf8).str.zfill(7)
    ids = pl.lit("ACC") + ids
    industries = np.array(["Manufacturing", "Retail", "IT", "Health", "Logistics", "Energy"])
    countries = np.array(["DE", "FR", "NL", "AT", "CH", "IT", "ES", "PL"])
    accounts = pl.DataFrame(
        {
            "i": np.arange(n_accounts),
            "industry": industries[rng.integers(0, len(industries), n_accounts)],
            "country": countries[rng.integers(0, len(countries), n_accounts)],
            "employees": rng.lognormal(4, 1.3, n_accounts).astype(np.int64) + 1,
            "annual_revenue": np.round(rng.lognormal(15, 1.5, n_accounts), 0),
            "founded_year": rng.integers(1900, 2024, n_accounts),
            "buying_center_size": rng.integers(1, 12, n_accounts),
        }
    ).select(
        account_id=pl.lit("ACC") + pl.col("i").cast(pl.Utf8).str.zfill(7),
        name=pl.lit("Company ") + pl.col("i").cast(pl.Utf8),
        industry=pl.col("industry"),
        country=pl.col("country"),
        employees=pl.col("employees"),
        annual_revenue=pl.col("annual_revenue"),
        founded_year=pl.col("founded_year"),
        buying_center_size=pl.col("buying_center_size"),
    )
    del ids
    n_customers = max(1, int(n_accounts * 0.6))
    weights = rng.pareto(1.5, n_customers) + 0.05
    weights /= weights.sum()
    acct = rng.choice(n_customers, size=n_tx, p=weights)
    days = rng.integers(19358, 19358 + 3 * 365, n_tx)  # 2023-01-01 .. 2025-12-30
    order = np.argsort(days, kind="stable")
    acct, days = acct[order], days[order]
    amount = np.round(rng.lognormal(5.0, 1.2, n_tx), 2)
    amount[rng.random(n_tx) < 0.03] *= -1
    products = rng.integers(0, 400, n_tx)
    tx = pl.DataFrame(
        {
            "a": acct,
            "date": days,
            "amount": amount,
            "margin": np.round(amount * rng.uniform(0.1, 0.45, n_tx), 2),
            "inv": (np.arange(n_tx) // 3),
            "p": products,
            "quantity": rng.integers(1, 20, n_tx).astype(np.float64),
        }
    ).select(
        account_id=pl.lit("ACC") + pl.col("a").cast(pl.Utf8).str.zfill(7),
        date=pl.col("date"),
        amount=pl.col("amount"),
        margin=pl.col("margin"),
        invoice_id=pl.lit("INV") + pl.col("inv").cast(pl.Utf8),
        product=pl.lit("P") + pl.col("p").cast(pl.Utf8).str.zfill(4),
        product_line=pl.lit("Line ") + (pl.col("p") % 12).cast(pl.Utf8),
        channel=pl.when(pl.col("p") % 3 == 0).then(pl.lit("web")).otherwise(pl.lit("field")),
        quantity=pl.col("quantity"),
        unit_price=(pl.col("amount") / pl.col("quantity")).round(2),
    )
    return accounts, tx


def big_set_matches(n_accounts: int, n_tx: int) -> bool:
    """True when bench/data/big holds the generator's Parquet set of about the requested size."""
    acc_file, tx_file = BIG / "accounts.parquet", BIG / "transactions.parquet"
    if not (acc_file.exists() and tx_file.exists()):
        return False
    accounts = pl.scan_parquet(acc_file).select(pl.len()).collect().item()
    lines = pl.scan_parquet(tx_file).select(pl.len()).collect().item()
    return accounts == n_accounts and abs(lines - n_tx) <= 0.01 * n_tx


def source_frames(n_accounts: int, n_tx: int, big: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    if big:
        accounts = pl.read_parquet(BIG / "accounts.parquet")
        tx = pl.read_parquet(BIG / "transactions.parquet")
        tx = tx.with_columns(pl.col("date").cast(pl.Date).cast(pl.Int32))
        return (
            accounts.select([c for c in ACCOUNT_COLS if c in accounts.columns]),
            tx.select([c for c in TX_COLS if c in tx.columns]),
        )
    return synthesise(n_accounts, n_tx)


def _insert(conn, table: str, frame: pl.DataFrame, chunk: int = 500_000) -> None:
    cols = ", ".join(frame.columns)
    marks = ", ".join("?" for _ in frame.columns)
    sql = f"INSERT INTO {table}({cols}) VALUES ({marks})"
    for part in frame.iter_slices(chunk):
        conn.executemany(sql, part.iter_rows())


def build(path: Path, n_accounts: int, n_tx: int, big: bool) -> float:
    start = time.perf_counter()
    accounts, tx = source_frames(n_accounts, n_tx, big)
    with Workspace.create(path, overwrite=True, cache=False) as ws:
        ws.conn.execute("PRAGMA cache_size = -400000")  # 400 MB for the bulk insert
        with ws.write() as db:
            for name in INDEXES:
                db.execute(f"DROP INDEX {name}")
            _insert(ws.conn, "accounts", accounts)
            del accounts
            _insert(ws.conn, "transactions", tx)
            del tx
            for sql in INDEXES.values():
                db.execute(sql)
        ws.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - start


def _peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def scenario(name: str, path: Path) -> dict:
    """Run one measurement in this process; the caller runs each in a fresh process."""
    start = time.perf_counter()
    if name == "baseline":
        import sqlite3

        conn = sqlite3.connect(path)
        accounts = pl.read_database(f"SELECT {', '.join(ACCOUNT_COLS)} FROM accounts", conn)
        tx = pl.read_database(f"SELECT {', '.join(TX_COLS)} FROM transactions", conn)
        tx = tx.with_columns(pl.col("date").cast(pl.Int32).cast(pl.Date))
        conn.close()
        opened = start
    else:
        ws = Workspace.open(path)
        opened = time.perf_counter()
        frames = ws.load_tables(("accounts", "transactions"))
        accounts, tx = frames["accounts"], frames["transactions"]
        ws.close()
    total = time.perf_counter() - start
    own, kids = _peak_rss_mb()
    return {
        "scenario": name,
        "open_s": round(opened - start, 3),
        "total_s": round(total, 3),
        "accounts": accounts.height,
        "transactions": tx.height,
        "rss_mb": round(own),
        "child_rss_mb": round(kids),
    }


def run_scenario(name: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--scenario", name, "--workspace", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"scenario {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=20_000_000)
    parser.add_argument("--workspace", type=Path, help="workspace to build or reuse")
    parser.add_argument("--rebuild", action="store_true", help="build the workspace again")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each scenario (best kept)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--source",
        choices=("auto", "big", "synthetic"),
        default="auto",
        help="rows from bench/data/big/*.parquet (sample_data.generate) or synthesised;"
        " auto uses the big set when its size matches",
    )
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    big = args.source == "big" or (
        args.source == "auto" and big_set_matches(args.accounts, args.transactions)
    )
    name = "big" if big else "synthetic"
    path = args.workspace or DATA / f"load-{name}-{args.accounts}-{args.transactions}.segscope"
    if args.scenario:
        print(json.dumps(scenario(args.scenario, path)))
        return 0

    path.parent.mkdir(parents=True, exist_ok=True)
    if args.rebuild or not path.exists():
        print(
            f"building {path} from the {name} set ({args.accounts:,} accounts, about"
            f" {args.transactions:,} lines)...",
            file=sys.stderr,
        )
        seconds = build(path, args.accounts, args.transactions, big)
        print(f"built in {seconds:.1f} s ({path.stat().st_size / 1e9:.2f} GB)", file=sys.stderr)

    results = []
    for name in ("cold", "warm", "baseline"):
        if name == "baseline" and args.skip_baseline:
            continue
        best = None
        for _ in range(max(1, args.repeat)):
            if name == "cold":
                shutil.rmtree(cache_dir_for(path), ignore_errors=True)
            result = run_scenario(name, path)
            if best is None or result["total_s"] < best["total_s"]:
                best = result
        results.append(best)

    cache = cache_dir_for(path)
    cache_mb = sum(f.stat().st_size for f in cache.glob("*")) / 1e6 if cache.exists() else 0
    print(
        f"workspace {path.name}: {path.stat().st_size / 1e6:.0f} MB, cache {cache_mb:.0f} MB,"
        f" {os.cpu_count()} CPUs"
    )
    print(
        f"{'scenario':<10}{'open s':>8}{'total s':>9}{'accounts':>11}{'lines':>12}"
        f"{'RSS MB':>8}{'child MB':>10}"
    )
    for r in results:
        print(
            f"{r['scenario']:<10}{r['open_s']:>8.2f}{r['total_s']:>9.2f}{r['accounts']:>11,}"
            f"{r['transactions']:>12,}{r['rss_mb']:>8}{r['child_rss_mb']:>10}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
