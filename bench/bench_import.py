"""Benchmark: import accounts and transaction lines from CSV into a fresh workspace.

    .venv/bin/python bench/bench_import.py                                  # 1M / 20M
    .venv/bin/python bench/bench_import.py --accounts 100000 --transactions 2000000
    .venv/bin/python bench/bench_import.py --baselines none                 # segscope only

Input CSVs come from ``python -m sample_data.generate --accounts N --seed S``
(lines per customer chosen to give about ``--transactions`` lines), written
once to ``bench/data/import-N-M/`` and reused; ``bench/data/big/`` is used when
it holds a set of the requested size. Without the generator a synthetic set is
written instead.

Every scenario runs in a fresh process; each reports wall time and the peak
RSS of that process (``ru_maxrss``):

- ``segscope accounts``: ``prepare_import`` + ``commit_import`` of
  accounts.csv into a new workspace (the time includes reading, mapping,
  validating, hashing and the one transaction);
- ``segscope transactions``: the same for transactions.csv, into that
  workspace (so the accounts exist, as in real use);
- baselines measured in the same run, each into a fresh SQLite file:
  ``sqlite-utils insert_all`` with defaults over ``csv.DictReader`` rows, and
  pandas ``read_csv`` + ``to_sql`` with defaults. At full size they would take
  very long (sqlite-utils) or need ~20 GB (pandas on 20M lines), so by default
  they import the first ``--baseline-rows`` rows (1,000,000) and their
  full-size time is extrapolated linearly (marked as such).

Results are printed as a Markdown table and written to
``bench/out/import-N-M.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench" / "data"
OUT = ROOT / "bench" / "out"


# -- children ------------------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TreeRss:
    """Samples the RSS of this process plus its children every 50 ms (Linux).

    A large transactions file is written by a child process running beside
    this one, so the peak that matters is their sum at any moment.
    ``ru_maxrss`` cannot give it: a child's own figure starts at its parent's
    RSS at the fork.
    """

    def __init__(self) -> None:
        import threading

        self.peak_kb = 0
        self.child_peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _rss_kb(pid: int | str) -> int:
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _children(self) -> list[str]:
        import os

        me = os.getpid()
        kids: list[str] = []
        try:
            for task in os.listdir(f"/proc/{me}/task"):
                with open(f"/proc/{me}/task/{task}/children") as fh:
                    kids += fh.read().split()
        except OSError:
            pass
        return kids

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            children = sum(self._rss_kb(pid) for pid in self._children())
            self.child_peak_kb = max(self.child_peak_kb, children)
            self.peak_kb = max(self.peak_kb, self._rss_kb("self") + children)

    def stop(self) -> tuple[float, float]:
        """(peak of the sum, peak of the children) in MB."""
        self._stop.set()
        self._thread.join()
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return max(self.peak_kb, own) / 1024, self.child_peak_kb / 1024


def child_segscope(ws_path: str, file: str, kind: str, create: str) -> dict:
    from storage.importer import commit_import, prepare_import
    from storage.workspace import Workspace

    rss = TreeRss()
    started = time.perf_counter()
    ws = Workspace.create(ws_path) if create == "1" else Workspace.open(ws_path)
    prepared = prepare_import(file, kind)
    prepared_at = time.perf_counter()
    report = commit_import(ws, prepared)
    ws.close()
    done = time.perf_counter()
    peak_mb, writer_peak_mb = rss.stop()
    return {
        "seconds": done - started,
        "prepare_seconds": prepared_at - started,
        "commit_seconds": done - prepared_at,
        "rows": report.rows_accepted,
        "rejected": report.rows_rejected,
        "stub_accounts": report.stub_accounts,
        "peak_rss_mb": peak_mb,  # this process and its writer child together
        "writer_peak_rss_mb": writer_peak_mb,
    }


def child_sqlite_utils(db_path: str, file: str, table: str) -> dict:
    import csv

    import sqlite_utils

    started = time.perf_counter()
    db = sqlite_utils.Database(db_path)
    with open(file, newline="", encoding="utf-8") as fh:
        db[table].insert_all(csv.DictReader(fh))
    rows = db[table].count
    db.close()
    return {"seconds": time.perf_counter() - started, "rows": rows, "peak_rss_mb": _peak_mb()}


def child_pandas(db_path: str, file: str, table: str) -> dict:
    import sqlite3

    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_csv(file)
    conn = sqlite3.connect(db_path)
    frame.to_sql(table, conn, index=False)
    conn.commit()
    rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    conn.close()
    return {"seconds": time.perf_counter() - started, "rows": rows, "peak_rss_mb": _peak_mb()}


CHILDREN = {"segscope": child_segscope, "sqlite-utils": child_sqlite_utils, "pandas": child_pandas}


def run_child(name: str, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", name, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{name} {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- inputs --------------------------------------------------------------------


def _head_lines(src: Path, dst: Path, rows: int) -> None:
    """The header and the first ``rows`` lines of a CSV (no quoted newlines assumed)."""
    with src.open("rb") as fin, dst.open("wb") as fout:
        for i, line in enumerate(fin):
            if i > rows:
                break
            fout.write(line)


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b"")) - 1


def inputs(n_accounts: int, n_tx: int, seed: int) -> Path:
    big = DATA / "big"
    if (
        (big / "accounts.csv").exists()
        and (big / "transactions.csv").exists()
        and (n_accounts, n_tx) == (1_000_000, 20_000_000)
    ):
        return big
    out = DATA / f"import-{n_accounts}-{n_tx}"
    if (out / "accounts.csv").exists() and (out / "transactions.csv").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    generator = ROOT / "sample_data" / "generate.py"
    if generator.exists():
        per_customer = max(1.0, n_tx / (n_accounts * 0.6))
        subprocess.run(
            [sys.executable, "-m", "sample_data.generate", "--accounts", str(n_accounts),
             "--seed", str(seed), "--out", str(out),
             "--transactions-per-customer", f"{per_customer:.3f}"],
            check=True,
            cwd=ROOT,
        )  # fmt: skip
    else:
        synthesise(out, n_accounts, n_tx, seed)
    return out


def synthesise(out: Path, n_accounts: int, n_tx: int, seed: int) -> None:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    ids = pl.Series(np.arange(1, n_accounts + 1)).cast(pl.String).str.zfill(7)
    pl.DataFrame(
        {
            "account_id": "ACC-" + ids,
            "name": "Company " + ids,
            "industry": rng.choice(["Manufacturing", "Retail", "Energy"], n_accounts),
            "employees": rng.lognormal(4, 1.3, n_accounts).astype(np.int64) + 1,
            "annual_revenue": np.round(rng.lognormal(15, 1.5, n_accounts), 0),
        }
    ).write_csv(out / "accounts.csv")
    buyers = rng.integers(1, int(n_accounts * 0.6) + 1, n_tx)
    pl.DataFrame(
        {
            "invoice_id": pl.Series(np.arange(n_tx) // 3).cast(pl.String),
            "date": pl.Series(rng.integers(19000, 20100, n_tx)).cast(pl.Date),
            "account_id": "ACC-" + pl.Series(buyers).cast(pl.String).str.zfill(7),
            "amount": np.round(rng.lognormal(4, 1, n_tx), 2),
        }
    ).write_csv(out / "transactions.csv")


# -- main ----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--baseline-rows",
        type=int,
        default=1_000_000,
        help="baselines import at most the first N rows of each file (default 1,000,000; "
        "0 = all); their full-size time is extrapolated linearly and marked so",
    )
    parser.add_argument(
        "--baselines",
        default="accounts,transactions",
        help="which files the baselines import: accounts,transactions | accounts | none",
    )
    args = parser.parse_args()

    src = inputs(args.accounts, args.transactions, args.seed)
    accounts, lines = src / "accounts.csv", src / "transactions.csv"
    work = DATA / "import-run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sizes = {
        "accounts": _count_lines(accounts),
        "transactions": _count_lines(lines),
        "accounts_mb": accounts.stat().st_size / 1e6,
        "transactions_mb": lines.stat().st_size / 1e6,
    }
    print(
        f"input {src}: {sizes['accounts']:,} accounts ({sizes['accounts_mb']:.0f} MB), "
        f"{sizes['transactions']:,} transaction lines ({sizes['transactions_mb']:.0f} MB)",
        flush=True,
    )
    results: list[dict] = []

    def record(tool: str, what: str, result: dict) -> None:
        result = {"tool": tool, "file": what, **result}
        results.append(result)
        extra = ""
        if "prepare_seconds" in result:
            extra = (
                f" (prepare {result['prepare_seconds']:.1f} s,"
                f" commit {result['commit_seconds']:.1f} s)"
            )
        if "extrapolated_seconds" in result:
            extra = f" (extrapolated to all rows: {result['extrapolated_seconds']:.0f} s)"
        print(
            f"{tool:>13} {what:<12} {result['seconds']:8.1f} s  {result['rows']:>11,} rows  "
            f"peak RSS {result['peak_rss_mb']:,.0f} MB{extra}",
            flush=True,
        )

    ws = work / "bench.segscope"
    record("segscope", "accounts", run_child("segscope", str(ws), str(accounts), "accounts", "1"))
    record(
        "segscope", "transactions", run_child("segscope", str(ws), str(lines), "transactions", "0")
    )
    chosen = [] if args.baselines == "none" else args.baselines.split(",")
    for what, path in (("accounts", accounts), ("transactions", lines)):
        if what not in chosen:
            continue
        total = sizes[what]
        sample = path
        if args.baseline_rows and total > args.baseline_rows:
            sample = work / f"{what}-head.csv"
            _head_lines(path, sample, args.baseline_rows)
        for tool in ("sqlite-utils", "pandas"):
            db = work / f"{tool}-{what}.db"
            result = run_child(tool, str(db), str(sample), what)
            if result["rows"] < total:
                result["extrapolated_seconds"] = result["seconds"] * total / result["rows"]
            record(tool, what, result)
    shutil.rmtree(work, ignore_errors=True)

    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"import-{args.accounts}-{args.transactions}.json"
    out.write_text(json.dumps({"input": sizes, "results": results}, indent=2))
    print(
        "\n| tool | file | rows | seconds | all rows (s) | peak RSS (MB) |"
        "\n|---|---|---:|---:|---:|---:|"
    )
    for r in results:
        full = r.get("extrapolated_seconds")
        full_text = f"~{full:.0f} (extrapolated)" if full else f"{r['seconds']:.1f}"
        print(
            f"| {r['tool']} | {r['file']} | {r['rows']:,} | {r['seconds']:.1f} | {full_text} | "
            f"{r['peak_rss_mb']:,.0f} |"
        )
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        result = CHILDREN[sys.argv[2]](*sys.argv[3:])
        print(json.dumps(result))
    else:
        main()
