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
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from storage.errors import WorkspaceError
from storage.schema import ACCOUNT_COLUMNS, CONTACT_COLUMNS, TRANSACTION_COLUMNS

if TYPE_CHECKING:
    from storage.workspace import Workspace

# Bump when the cached file layout changes, so old cache files are ignored.
CACHE_FORMAT = "2"
TABLES = ("accounts", "transactions", "contacts")
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
        if self.cache_enabled:
            version = self.data_version()
            for kind in kinds:
                cached = _read_ipc(_cache_file(self.cache_dir, kind, version), kind)
                if cached is not None:
                    frames[kind] = cached
        missing = [k for k in kinds if k not in frames]
        if missing:
            frames.update(self._snapshot(missing))
        return {kind: frames[kind] for kind in kinds}

    def _snapshot(self: Workspace, kinds: list[str]) -> dict[str, pl.DataFrame]:
        """Read ``kinds`` through the ADBC child; keep its files as cache when enabled."""
        if self.cache_enabled:
            try:
                self.cache_dir.mkdir(exist_ok=True)
                out_dir = self.cache_dir
            except OSError:
                out_dir = None  # a read-only place: load without caching
        else:
            out_dir = None
        with contextlib.ExitStack() as stack:
            if out_dir is None:
                out_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="segscope-")))
            tmp = {k: str(out_dir / f".{k}.{os.getpid()}.{id(self)}.tmp") for k in kinds}
            result = run_snapshot_child(self.path, kinds, tmp)
            frames: dict[str, pl.DataFrame] = {}
            for kind in kinds:
                frame = _read_ipc(Path(tmp[kind]), kind)
                if frame is None:
                    raise WorkspaceError(
                        f"cannot load {kind} from {self.path}: the snapshot file is unreadable"
                    )
                frames[kind] = frame
                if self.cache_enabled and out_dir == self.cache_dir:
                    _install_cache_file(Path(tmp[kind]), self.cache_dir, kind, result["version"])
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp[kind])
        return frames


def run_snapshot_child(path: Path, kinds: list[str], files: dict[str, str]) -> dict:
    """Run ``storage.cache_snapshot`` in a child process; its parsed JSON result."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_REPO_ROOT), env.get("PYTHONPATH", "")) if p
    )
    request = json.dumps({"path": str(path), "kinds": kinds, "files": files})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "storage.cache_snapshot"],
            input=request,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    except OSError as exc:
        raise WorkspaceError(f"cannot load data from {path}: {exc}") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        why = lines[-1] if lines else f"reader exited with code {done.returncode}"
        raise WorkspaceError(f"cannot load {', '.join(kinds)} from {path}: {why}")
    return json.loads(done.stdout)


def load_run_frame(ws: Workspace, run_id: int) -> pl.DataFrame:
    """``account_id, segment, revenue`` of run ``run_id`` (not cached: ids can be reused)."""
    kind = f"run:{int(run_id)}"
    with tempfile.TemporaryDirectory(prefix="segscope-") as tmp:
        file = str(Path(tmp) / "run.arrow")
        run_snapshot_child(ws.path, [kind], {kind: file})
        frame = _read_ipc(Path(file), "run")
    if frame is None:
        raise WorkspaceError(f"cannot load run {run_id} from {ws.path}")
    return frame


def _cache_file(cache_dir: Path, kind: str, version: str) -> Path:
    key = hashlib.sha256(f"{CACHE_FORMAT}:{kind}:{version}".encode()).hexdigest()[:24]
    return cache_dir / f"{kind}-{key}.arrow"


def _install_cache_file(tmp: Path, cache_dir: Path, kind: str, version: str) -> None:
    """Rename the child's file to its versioned name and drop older files of that kind."""
    target = _cache_file(cache_dir, kind, version)
    try:
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return
    for old in cache_dir.glob(f"{kind}-*.arrow"):
        if old != target:
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
