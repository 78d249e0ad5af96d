"""Benchmark of the workbench: first paint, opening Accounts, sorting it.

    .venv/bin/python bench/bench_tui.py                       # demo workspace + 100k accounts
    .venv/bin/python bench/bench_tui.py --accounts 1000000    # a bigger one
    .venv/bin/python bench/bench_tui.py --skip-demo --accounts 0 --synthetic 1000000

First paint is measured from the command: a child process is started
(``python bench/bench_tui.py --child PATH``) and the time runs from just before
the spawn until the child, running the App headless (``App.run_test`` at
120x40), sees the Overview showing data (``OverviewScreen.painted_with_data``).
It includes interpreter start-up, imports, opening the workspace, loading the
frames, the per-account frame, the active model and the first render; it does
not include building the workspace.

Accounts: in one headless App, once the tables are loaded (they load after the
first paint when the per-account frame came from the workspace cache), the time
from pressing ``2`` to the table being mounted over all rows, then the time from
pressing ``]`` (sort descending by the cursor column, revenue) to the sorted rows
being in the table; the polars sort alone is timed too. Each figure is the
median of ``--repeat`` runs. Model editor: see ``_model_editor``.

The big workspace is generated with ``sample_data.generate`` (seed 11) and
imported with ``storage.importer`` once, then kept in ``bench/.cache/``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "bench" / ".cache"
SIZE = (120, 40)


# -- the child: one headless start ---------------------------------------------

async def key_until(pilot, key: str, condition, what: str, timeout: float = 60.0) -> float:
    """Seconds from a key arriving (as a terminal would send it) to its effect painted.

    ``pilot.press`` waits for the process to look idle twice per key (at least
    40 ms, more while any thread works), which would count the harness: here
    the key event is posted to the App, the loop yields until ``condition()``
    holds, and then one screen update is rendered (``pilot.pause(0)``).
    """
    from textual import events

    app = pilot.app
    started = time.perf_counter()
    app.post_message(events.Key(key, key if len(key) == 1 else None))
    deadline = started + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)
    await pilot.pause(0)
    return time.perf_counter() - started


async def wait_until(pilot, condition, what: str, timeout: float = 120.0) -> None:
    """Poll ``condition`` between screen updates; fail (not hang) after ``timeout`` s."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            notices = getattr(pilot.app, "notices", [])
            raise RuntimeError(f"timed out waiting for {what}; notices: {notices[-3:]}")
        await pilot.pause(0.002)


async def _first_paint(path: Path) -> float:
    from tui.launch import open_state, skip_optional_pandas

    # the same steps as `segscope PATH` (tui.launch.run_app)
    skip_optional_pandas()
    state = open_state(path, preload=True)
    from tui.app import SegscopeApp
    from tui.config import UserConfig

    app = SegscopeApp(state, config=UserConfig(), persist_theme=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: getattr(app.screen, "painted_with_data", False),
                         "the Overview")
        painted = time.time()
    state.workspace.close()
    return painted


def child(path: str) -> None:
    # imports start here, as they do for `segscope PATH`
    painted = asyncio.run(_first_paint(Path(path)))
    print(f"PAINTED {painted:.6f}", flush=True)


def first_paint(path: Path) -> float:
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = tempfile.mkdtemp()  # no user settings in the measurement
    started = time.time()
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(path)],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("PAINTED "))
    return float(line.split()[1]) - started


# -- Accounts: open and sort ---------------------------------------------------

async def _accounts(path: Path, synthetic: int = 0) -> dict[str, float]:
    from storage.workspace import Workspace
    from tui.app import SegscopeApp
    from tui.config import UserConfig
    from tui.screens.accounts import AccountsScreen, sort_frame
    from tui.state import WorkbenchState

    ws = Workspace.open(path)
    state = synthetic_state(ws, synthetic) if synthetic else WorkbenchState(ws)
    app = SegscopeApp(state, config=UserConfig(), persist_theme=False)
    figures: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: getattr(app.screen, "painted_with_data", False),
                         "the Overview")
        # the tables load after the first paint when the frame came from the cache:
        # let that finish, as it did before the Overview painted until the cache existed
        await wait_until(pilot, lambda: state.tables_loaded, "the tables")
        started = time.perf_counter()
        await pilot.press("2")
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        await wait_until(pilot, lambda: screen._table() is not None, "the Accounts table")
        await pilot.pause()
        figures["open_accounts_s"] = time.perf_counter() - started
        table = screen._table()
        figures["rows"] = float(screen._view.height)
        revenue = screen._view.columns.index("revenue")
        table.move_cursor(column=revenue)
        await pilot.pause()
        before = screen.views_shown
        figures["sort_in_app_s"] = await key_until(
            pilot, "right_square_bracket", lambda: screen.views_shown > before, "the sorted view")
        table = screen._table()
        table.focus()
        await pilot.pause()
        pages = []
        for _ in range(20):
            row = table.cursor_row
            pages.append(await key_until(
                pilot, "pagedown", lambda r=row: table.cursor_row > r, "the next page"))
        figures["pagedown_x20_s"] = sum(pages)
        view = screen._view
        started = time.perf_counter()
        sort_frame(view, "revenue", descending=False)
        figures["polars_sort_s"] = time.perf_counter() - started
        first = view["revenue"][0]
        top = view["revenue"].max()
        assert first == top, "the table was not sorted"
    ws.close()
    return figures


# -- Model editor: keystroke -> updated counts ---------------------------------

async def _model_editor(path: Path, keystrokes: int = 6, synthetic: int = 0) -> dict[str, float]:
    """Type into the editor's "min segment size" box and time each key to new counts.

    Each key changes the draft (0 -> 1 -> 0 ...), which starts the debounced
    worker (``ModelEditorScreen.DEBOUNCE_SECONDS`` as shipped); the time runs from
    the key press to the recomputed level and segment tables being filled and
    painted. The worker's own time (``LiveResult.elapsed_ms``) is kept too.
    """
    from textual.widgets import Input

    from storage.workspace import Workspace
    from tui.app import SegscopeApp
    from tui.config import UserConfig
    from tui.screens.model_editor import ModelEditorScreen
    from tui.state import WorkbenchState

    ws = Workspace.open(path)
    state = synthetic_state(ws, synthetic) if synthetic else WorkbenchState(ws)
    app = SegscopeApp(state, config=UserConfig(), persist_theme=False)
    keys, computes = [], []
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: getattr(app.screen, "painted_with_data", False),
                         "the Overview")
        await pilot.press("4")
        screen = app.screen
        assert isinstance(screen, ModelEditorScreen)
        await wait_until(pilot, lambda: screen.last_result is not None, "the first counts")
        box = screen.query_one("#min-size", Input)
        box.focus()
        box.value = "0"
        await pilot.pause(0.5)
        for i in range(keystrokes):
            before = screen._shown_generation
            keys.append(await key_until(
                pilot, "1" if i % 2 == 0 else "backspace",
                lambda b=before: screen._shown_generation > b, "new counts"))
            computes.append(screen.last_result.elapsed_ms / 1000)
            await pilot.pause(0.3)
        figures = {
            "editor_key_s": statistics.median(keys),
            "editor_compute_s": statistics.median(computes),
            "debounce_s": screen.DEBOUNCE_SECONDS,
        }
    ws.close()
    return figures


def print_editor(figures: dict[str, float]) -> None:
    print(f"  model editor key -> counts shown:            {figures['editor_key_s'] * 1000:.0f} ms"
          f"  (worker {figures['editor_compute_s'] * 1000:.0f} ms; keys 0.3 s apart, so no"
          f" debounce wait: {figures['debounce_s'] * 1000:.0f} ms only within a burst)")


# -- a synthetic per-account frame (Accounts at sizes not worth importing) ------

def synthetic_frame(n: int, seed: int = 5):
    """n accounts with the per-account frame's column types (ids, text, floats, dates)."""
    import datetime as dt

    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    revenue = np.round(rng.pareto(1.3, n) * 2000, 2)
    revenue[rng.random(n) < 0.35] = 0.0
    industries = np.array(["Retail", "Manufacturing", "Logistics", "Software", "Energy"])
    return pl.DataFrame({
        "account_id": [f"S{i:07d}" for i in range(n)],
        "name": [f"Synthetic {i} GmbH" for i in range(n)],
        "industry": industries[rng.integers(0, 5, n)],
        "country": np.array(["DE", "FR", "NL", "AT", "PL"])[rng.integers(0, 5, n)],
        "employees": rng.integers(1, 20000, n),
        "revenue": revenue,
        "margin": np.round(revenue * rng.uniform(0.1, 0.4, n), 2),
        "margin_pct": np.round(rng.uniform(0.1, 0.4, n), 4),
        "recency_days": rng.integers(0, 1000, n),
        "frequency": rng.integers(0, 60, n),
        "orders": rng.integers(0, 60, n),
        "growth": np.round(rng.normal(0, 0.5, n), 4),
        "last_purchase": (
            np.datetime64(dt.date(2025, 12, 1)) - rng.integers(0, 900, n).astype("timedelta64[D]")
        ),
        "abc_class": np.array(["A", "B", "C"])[rng.integers(0, 3, n)],
        "is_customer": revenue > 0,
    })


def synthetic_state(ws, n: int):
    import datetime as dt

    import polars as pl

    from tui.state import WorkbenchState

    frame = synthetic_frame(n)

    class SyntheticState(WorkbenchState):
        def reload(self) -> bool:
            self.accounts = frame.select("account_id", "name")
            self.transactions = pl.DataFrame(
                schema={"account_id": pl.Utf8, "date": pl.Date, "amount": pl.Float64})
            self.contacts = pl.DataFrame(schema={"account_id": pl.Utf8})
            self._data_key, self._as_of = "synthetic", dt.date(2025, 12, 31)
            self._tables_key = self._data_key
            self._frame, self._frame_key = frame, (self._data_key, self._as_of)
            return True

        def set_active_model(self, name=None):
            return None

        def recompute(self):
            self.assignments = frame.select("account_id", segment=pl.col("abc_class"))
            return self.assignments

    return SyntheticState(ws)


def measure_synthetic(n: int, repeat: int) -> None:
    from storage.workspace import Workspace

    CACHE.mkdir(parents=True, exist_ok=True)
    empty = CACHE / "empty.segscope"
    if not empty.exists():
        Workspace.create(empty).close()
    runs = [asyncio.run(_accounts(empty, synthetic=n)) for _ in range(repeat)]
    editor = asyncio.run(_model_editor(empty, synthetic=n))

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"synthetic per-account frame: {n:,} accounts (Accounts screen and Model editor)")
    print(f"  open Accounts (key 2 -> table mounted):      {med('open_accounts_s') * 1000:.0f} ms")
    print(f"  sort in the app (] -> sorted rows shown):    {med('sort_in_app_s') * 1000:.0f} ms")
    print(f"  20 x page down:                              {med('pagedown_x20_s') * 1000:.0f} ms")
    print(f"  polars sort alone:                           {med('polars_sort_s') * 1000:.0f} ms")
    print_editor(editor)


# -- workspaces ----------------------------------------------------------------

def demo_workspace() -> Path:
    from sample_data.demo import build_demo_workspace

    target = CACHE / "demo.segscope"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        build_demo_workspace(target)
    return target


def big_workspace(accounts: int) -> Path:
    target = CACHE / f"big_{accounts}.segscope"
    if target.exists():
        return target
    from storage.importer import commit_import, prepare_import
    from storage.workspace import Workspace

    CACHE.mkdir(parents=True, exist_ok=True)
    src = CACHE / f"src_{accounts}"
    if not (src / "accounts.csv").exists():
        subprocess.run(
            [sys.executable, "-m", "sample_data.generate", "--accounts", str(accounts),
             "--seed", "11", "--out", str(src)],
            check=True, cwd=ROOT,
        )
    started = time.perf_counter()
    tmp = target.with_suffix(".tmp")
    with Workspace.create(tmp, overwrite=True) as ws:
        for name, kind in (("accounts.csv", "accounts"), ("transactions.csv", "transactions")):
            commit_import(ws, prepare_import(src / name, kind))
    tmp.rename(target)
    print(f"  built {target.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return target


def measure(label: str, path: Path, repeat: int) -> None:
    first_paint(path)  # a first start may build the frame cache: not counted
    paints = [first_paint(path) for _ in range(repeat)]
    runs = [asyncio.run(_accounts(path)) for _ in range(repeat)]
    editor = asyncio.run(_model_editor(path))
    rows = int(runs[0]["rows"])

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"{label}: {rows:,} accounts")
    print(f"  first paint (command -> Overview with data): {statistics.median(paints):.2f} s"
          f"  (runs: {', '.join(f'{p:.2f}' for p in paints)})")
    print(f"  open Accounts (key 2 -> table mounted):      {med('open_accounts_s') * 1000:.0f} ms")
    print(f"  sort in the app (] -> sorted rows shown):    {med('sort_in_app_s') * 1000:.0f} ms")
    print(f"  20 x page down:                              {med('pagedown_x20_s') * 1000:.0f} ms")
    print(f"  polars sort alone:                           {med('polars_sort_s') * 1000:.0f} ms")
    print_editor(editor)


def measure_paint(label: str, path: Path, repeat: int) -> None:
    cold = first_paint(path)
    paints = [first_paint(path) for _ in range(repeat)]
    print(f"{label}:")
    print(f"  first start (may build the frame cache):     {cold:.2f} s")
    print(f"  first paint (command -> Overview with data): {statistics.median(paints):.2f} s"
          f"  (runs: {', '.join(f'{p:.2f}' for p in paints)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000,
                        help="size of the big workspace (default 100000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--synthetic", type=int, default=0,
                        help="also time the Accounts screen over a synthetic frame of N rows")
    parser.add_argument("--workspace", type=Path,
                        help="also measure an existing workspace (e.g. a 1M-account one)")
    parser.add_argument("--paint-only", action="store_true",
                        help="only the first paint (no Accounts, no Model editor)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(f"segscope TUI benchmark, {os.cpu_count()} cores, terminal {SIZE[0]}x{SIZE[1]}")
    run = measure_paint if args.paint_only else measure
    if not args.skip_demo:
        run("demo workspace", demo_workspace(), args.repeat)
    if args.accounts:
        run("generated workspace (seed 11)", big_workspace(args.accounts), args.repeat)
    if args.workspace:
        run(f"workspace {args.workspace.name}", args.workspace, args.repeat)
    if args.synthetic:
        measure_synthetic(args.synthetic, args.repeat)


if __name__ == "__main__":
    main()
