"""Run every benchmark in sequence and keep each one's output in bench/out/.

    .venv/bin/python -m bench.run_all            # full size (1M accounts / 20M lines)
    .venv/bin/python -m bench.run_all --small    # 100k accounts / 2M lines, minutes

The full-size set is generated once into bench/data/big by
``python -m sample_data.generate --accounts 1000000 --seed 1 --out bench/data/big --parquet``
(about 20M invoice lines, 2.2 GB of CSV; not committed). Figures go into
bench/README.md by hand, with the machine and load they were measured on.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def plan(small: bool) -> list[tuple[str, list[str]]]:
    if small:
        return [
            ("bench_import", ["--accounts", "100000", "--transactions", "2000000"]),
            ("bench_load", ["--accounts", "100000", "--transactions", "2000000"]),
            ("bench_core", ["--accounts", "100000", "--synthetic"]),
            ("bench_segment", ["--accounts", "100000"]),
            ("bench_forward", ["--accounts", "100000"]),
            ("bench_tui", ["--accounts", "100000"]),
        ]
    return [
        ("bench_import", []),
        ("bench_load", []),
        ("bench_core", []),
        ("bench_segment", ["--accounts", "100000", "1000000"]),
        ("bench_forward", []),
        ("bench_tui", ["--accounts", "1000000"]),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="100k accounts instead of 1M")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (e.g. bench_core)")
    args = parser.parse_args()
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    failed = []
    for name, extra in plan(args.small):
        if args.only and name not in args.only:
            continue
        log = out_dir / f"{name}{'_small' if args.small else ''}.txt"
        print(f"== {name} {' '.join(extra)} -> {log}", flush=True)
        started = time.perf_counter()
        with log.open("w") as fh:
            proc = subprocess.run(
                [sys.executable, str(HERE / f"{name}.py"), *extra],
                stdout=fh,
                stderr=subprocess.STDOUT,
                cwd=HERE.parent,
            )
        print(f"   exit {proc.returncode} in {time.perf_counter() - started:.0f} s", flush=True)
        if proc.returncode:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
