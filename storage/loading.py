"""Loading workspace tables into canonical polars frames.

Rows travel SQLite -> Arrow (ADBC's SQLite driver) -> polars with no Python
object per row. The ADBC reader runs in a child process
(``storage.cache_snapshot``, whose docstring explains why it must not share a
process with ``sqlite3``) and writes LZ4 Arrow IPC files; this side reads them
and applies the canonical dtypes.

Those files are kept as a derived cache in ``<workspace>.cache/``, named by a
hash of the data version the child read in the same read transaction as the
rows. A load first asks SQLite for the current ``data_version()`` and uses a
cache file only if it was written for exactly that version, so a stale cache is
never used; the SQLite file stays the single source of truth and the cache
directory can be deleted at any time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from storage import tempfiles
from storage.errors import WorkspaceError
from storage.schema import ACCOUNT_COLUMNS, CONTACT_COLUMNS, TRANSACTION_COLUMNS

if TYPE_CHECKING:
    from storage.workspace import Workspace

# Bump when the cached file layout changes, so old cache files are ignored.
CACHE_FORMAT = "3"
TABLES = ("accounts", "transactions", "contacts")
# Transactions tables at least this long are read by two children at once.
SPLIT_MIN_ROWS = 1_000_000
_REPO_ROOT = Path(__file__).resolve().parents[1]

ACCOUNT_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Utf8(),
    "name": pl.Utf8(),
    "industry": pl.Utf8(),
    "country": pl.Utf8(),
    "region": pl.Utf8(),
    "employees": pl.Int64(),
    "annual_revenue": pl.Float64(),
    "founded_year": pl.Int64(),
    "legal_form": pl.Utf8(),
    "ownership": pl.Utf8(),
    "business_phase": pl.Utf8(),
    "purchasing_organisation": pl.Utf8(),
    "buying_driver": pl.Utf8(),
    "offer_type": pl.Utf8(),
    "buying_center_size": pl.Int64(),
    "collaboration": pl.Utf8(),
    "technologies": pl.Utf8(),
    "touchpoint_preference": pl.Utf8(),
    "is_customer": pl.Boolean(),
}

TRANSACTION_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Utf8(),
    "date": pl.Date(),
    "amount": pl.Float64(),
    "margin": pl.Float64(),
    "invoice_id": pl.Utf8(),
    "product": pl.Utf8(),
    "product_line": pl.Utf8(),
    "channel": pl.Utf8(),
    "quantity": pl.Float64(),
    "unit_price": pl.Float64(),
    "orders": pl.Int64(),
}

CONTACT_SCHEMA: dict[str, pl.DataType] = {
    "contact_id": pl.Utf8(),
    "account_id": pl.Utf8(),
    "name": pl.Utf8(),
    "title": pl.Utf8(),
    "function": pl.Utf8(),
    "seniority": pl.Utf8(),
    "decision_role": pl.Utf8(),
    "preferred_channel": pl.Utf8(),
    "email": pl.Utf8(),
}

RUN_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Utf8(),
    "segment": pl.Utf8(),
    "revenue": pl.Float64(),
}

_SCHEMAS = {
    "accounts": ACCOUNT_SCHEMA,
    "transactions": TRANSACTION_SCHEMA,
    "contacts": CONTACT_SCHEMA,
}
assert list(ACCOUNT_SCHEMA) == list(ACCOUNT_COLUMNS)
assert list(TRANSACTION_SCHEMA) == list(TRANSACTION_COLUMNS)
assert list(CONTACT_SCHEMA) == list(CONTACT_COLUMNS)


class LoadingMixin:
    """``ws.load_accounts()``, ``load_transactions()``, ``load_contacts()``, ``load_tables()``.

    Loads read the last committed state (they do not see the uncommitted rows
    of a ``ws.write()`` block in progress).
    """

    def load_accounts(self: Workspace) -> pl.DataFrame:
        """Accounts in canonical dtypes, then the attribute columns imports added.

        ``is_customer`` is the stored value when it is not null, otherwise
        whether the account has any transaction.
        """
        return self.load_tables(("accounts",))["accounts"]

    def load_transactions(self: Workspace) -> pl.DataFrame:
        """Transactions in canonical dtypes (``date`` as ``pl.Date``), in stored order."""
        return self.load_tables(("transactions",))["transactions"]

    def load_contacts(self: Workspace) -> pl.DataFrame:
        """Contacts in canonical dtypes."""
        return self.load_tables(("contacts",))["contacts"]

    def load_tables(self: Workspace, kinds: tuple[str, ...] = TABLES) -> dict[str, pl.DataFrame]:
        """Several tables at once; those not cached are read in one consistent snapshot."""
        for kind in kinds:
            if kind not in TABLES:
                raise ValueError(f"unknown table {kind!r}; expected one of {', '.join(TABLES)}")
        frames: dict[str, pl.DataFrame] = {}
        version = None
        if self.cache_enabled:
            version = self.data_version()
            found = {k: _cached_parts(self.cache_dir, k, version) for k in kinds}
            frames = _assemble({k: parts for k, parts in found.items() if parts})
        missing = [k for k in kinds if k not in frames]
        if missing:
            fresh, fresh_version = self._snapshot(missing)
            if frames and fresh_version != version:
                # a write landed after the cache lookup: read everything anew so
                # the frames come from one state of the data
                fresh, _ = self._snapshot(list(kinds))
            frames.update(fresh)
        return {kind: frames[kind] for kind in kinds}

    def _snapshot(self: Workspace, kinds: list[str]) -> tuple[dict[str, pl.DataFrame], str]:
        """Read ``kinds`` through ADBC children; keep their files as cache when enabled.

        Returns the frames and the data version they were read at.

        Large transaction tables are read by two children at once (rowid halves,
        one per core); the halves are used only if both children saw the same
        data version, else everything is read again by one child.
        """
        out_dir: Path | None = None
        if self.cache_enabled:
            try:
                self.cache_dir.mkdir(exist_ok=True)
                out_dir = self.cache_dir
                _remove_stale_temps(self.cache_dir)
            except OSError:
                pass  # a read-only place: load without caching
        with contextlib.ExitStack() as stack:
            keep = out_dir is not None
            if out_dir is None:
                out_dir = stack.enter_context(tempfiles.work_dir(self.path, "segscope-load"))
            tag = f"{os.getpid()}.{id(self)}"
            jobs = self._plan(kinds)
            results = run_snapshot_children(self.path, jobs, out_dir, tag)
            if len({r["version"] for r in results}) > 1:  # a write landed in between
                _remove_files(results)
                results = run_snapshot_children(self.path, [list(kinds)], out_dir, tag)
            files: dict[str, list[Path]] = {}
            for result in results:
                for spec, name in result["files"].items():
                    files.setdefault(spec.split("@", 1)[0], []).append(Path(name))
            frames = _assemble({kind: files[kind] for kind in kinds})
            for kind in kinds:
                if kind not in frames:
                    raise WorkspaceError(
                        f"cannot load {kind} from {self.path}: the snapshot file is unreadable"
                    )
                if keep:
                    _install_cache_files(files[kind], self.cache_dir, kind, results[0]["version"])
                else:
                    for part in files[kind]:
                        with contextlib.suppress(OSError):
                            part.unlink()
        return frames, results[0]["version"]

    def _plan(self: Workspace, kinds: list[str]) -> list[list[str]]:
        """The kinds each child reads: one child, or two splitting transactions by rowid."""
        if "transactions" not in kinds or (os.cpu_count() or 1) < 2:
            return [list(kinds)]
        with self.committed() as conn:
            top = conn.execute("SELECT coalesce(max(id), 0) FROM transactions").fetchone()[0]
        if top < SPLIT_MIN_ROWS:
            return [list(kinds)]
        middle = top // 2
        first = [k for k in kinds if k != "transactions"] + [f"transactions@:{middle}"]
        return [first, [f"transactions@{middle}:"]]


def _remove_stale_temps(cache_dir: Path, age: float = 3600.0) -> None:
    """Delete temporary files that a killed load left behind (older than ``age`` seconds)."""
    now = time.time()
    for tmp in cache_dir.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > age:
                tmp.unlink()


def _remove_files(results: list[dict]) -> None:
    for result in results:
        for name in result["files"].values():
            with contextlib.suppress(OSError):
                os.unlink(name)


def run_snapshot_children(path: Path, jobs: list[list[str]], out_dir: Path, tag: str) -> list[dict]:
    """Run one ``storage.cache_snapshot`` child per job, at the same time; their results."""
    planned = []
    for number, kinds in enumerate(jobs):
        files = {
            spec: str(out_dir / f".{spec.replace('@', '.').replace(':', '-')}.{tag}.{number}.tmp")
            for spec in kinds
        }
        planned.append((kinds, files))
    return run_children_jobs(path, planned)


def run_children_jobs(path: Path, jobs: list[tuple[list[str], dict[str, str]]]) -> list[dict]:
    """Start every child, then wait for all; on any failure or interrupt, kill and clean up."""
    running = []
    results: list[dict] = []
    try:
        for kinds, files in jobs:
            running.append(_start_child(path, kinds, files))
        failure: WorkspaceError | None = None
        for kinds, proc, files in running:
            try:
                results.append(_finish_child(path, kinds, proc, files))
            except WorkspaceError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
    except BaseException:
        for _, proc, _ in running:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for _, files in jobs:
            for name in files.values():
                with contextlib.suppress(OSError):
                    os.unlink(name)
        raise
    return results


def child_env() -> dict[str, str]:
    """This process's environment with the repository on ``PYTHONPATH``, for a
    ``python -m storage.…`` child."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_REPO_ROOT), env.get("PYTHONPATH", "")) if p
    )
    return env


def _start_child(path: Path, kinds: list[str], files: dict[str, str]):
    # The request goes on the command line (not stdin) so that all children
    # start reading at once.
    request = json.dumps({"path": str(path), "kinds": kinds, "files": files})
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "storage.cache_snapshot", request],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
    except OSError as exc:
        raise WorkspaceError(f"cannot load data from {path}: {exc}") from None
    return kinds, proc, files


def _finish_child(path: Path, kinds: list[str], proc: subprocess.Popen, files: dict) -> dict:
    out, err = proc.communicate()
    if proc.returncode != 0:
        lines = err.strip().splitlines()
        why = lines[-1] if lines else f"reader exited with code {proc.returncode}"
        names = ", ".join(k.split("@", 1)[0] for k in kinds)
        raise WorkspaceError(f"cannot load {names} from {path}: {why}")
    return json.loads(out)


def run_snapshot_child(path: Path, kinds: list[str], files: dict[str, str]) -> dict:
    """Run one ``storage.cache_snapshot`` child writing ``files``; its parsed JSON result."""
    return run_children_jobs(path, [(kinds, files)])[0]


def load_run_frame(ws: Workspace, run_id: int) -> pl.DataFrame:
    """``account_id, segment, revenue`` of run ``run_id`` (not cached: ids can be reused)."""
    kind = f"run:{int(run_id)}"
    with tempfiles.work_dir(ws.path, "segscope-run") as tmp:
        file = str(tmp / "run.arrow")
        run_snapshot_child(ws.path, [kind], {kind: file})
        frame = _read_ipc(Path(file), "run")
    if frame is None:
        raise WorkspaceError(f"cannot load run {run_id} from {ws.path}")
    return frame


def _cache_key(kind: str, version: str) -> str:
    return hashlib.sha256(f"{CACHE_FORMAT}:{kind}:{version}".encode()).hexdigest()[:24]


def _cached_parts(cache_dir: Path, kind: str, version: str) -> list[Path] | None:
    """The cache files of ``kind`` for exactly ``version``, or None.

    A frame is cached as ``<kind>-<key>.p<i>of<n>.arrow`` parts (rowid order);
    it is used only when all ``n`` parts are there.
    """
    key = _cache_key(kind, version)
    names = sorted(cache_dir.glob(f"{kind}-{key}.p*of*.arrow")) if cache_dir.is_dir() else []
    if not names:
        return None
    count = int(names[0].name.rsplit("of", 1)[1].split(".", 1)[0])
    wanted = [cache_dir / f"{kind}-{key}.p{i}of{count}.arrow" for i in range(count)]
    return wanted if all(w.is_file() for w in wanted) else None


def _assemble(files: dict[str, list[Path]]) -> dict[str, pl.DataFrame]:
    """Read every part file (two at a time: polars releases the GIL) into one frame per kind.

    A kind with a missing or unreadable part is left out (a cache miss).
    """
    jobs = [(kind, path) for kind, paths in files.items() for path in paths]
    if len(jobs) > 1 and (os.cpu_count() or 1) > 1:
        with ThreadPoolExecutor(max_workers=2) as pool:
            read = list(pool.map(lambda job: _read_ipc(job[1], job[0]), jobs))
    else:
        read = [_read_ipc(path, kind) for kind, path in jobs]
    parts: dict[str, list[pl.DataFrame | None]] = {}
    for (kind, _), frame in zip(jobs, read, strict=True):
        parts.setdefault(kind, []).append(frame)
    out: dict[str, pl.DataFrame] = {}
    for kind, frames in parts.items():
        if any(f is None for f in frames):
            continue
        whole = [f for f in frames if f is not None]
        out[kind] = whole[0] if len(whole) == 1 else pl.concat(whole, rechunk=False)
    return out


def _install_cache_files(parts: list[Path], cache_dir: Path, kind: str, version: str) -> None:
    """Rename the children's files to their versioned names; drop older files of that kind."""
    key = _cache_key(kind, version)
    targets = [cache_dir / f"{kind}-{key}.p{i}of{len(parts)}.arrow" for i in range(len(parts))]
    try:
        for part, target in zip(parts, targets, strict=True):
            os.replace(part, target)
    except OSError:
        for part in parts:
            with contextlib.suppress(OSError):
                part.unlink()
        return
    for old in cache_dir.glob(f"{kind}-*.arrow"):
        if old not in targets:
            with contextlib.suppress(OSError):
                old.unlink()


def _read_ipc(path: Path, kind: str) -> pl.DataFrame | None:
    """A snapshot file as a canonical frame, or None if missing or damaged (a cache miss)."""
    if not path.is_file():
        return None
    try:
        raw = pl.read_ipc(path)
    except Exception:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    schema = RUN_SCHEMA if kind == "run" else _SCHEMAS[kind]
    # The child already wrote canonical Arrow types (string views, date32,
    # bool); these casts are no-ops that pin the polars dtypes.
    casts = []
    for name, dtype in raw.schema.items():
        wanted = schema.get(name)
        if wanted is None:  # an account attribute: REAL -> Float64, else Utf8
            wanted = pl.Float64() if dtype.is_float() else pl.Utf8()
        casts.append(pl.col(name).cast(wanted))
    return raw.select(casts)
