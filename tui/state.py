"""What the workbench knows about the open workspace, without any Textual.

``WorkbenchState`` is owned by the App (``app.state``). It loads the three
canonical frames from the workspace, keeps the per-account frame
(``core.frame.account_frame``) cached per ``workspace.data_version()`` and as-of
date, and holds the active segmentation model with its assignments and
profiles. Loading and computing are plain method calls, so the App runs them in
thread workers and the tests call them directly.

Thread safety: one lock serialises the methods that load or compute; readers
get whole frames that are swapped in at the end of each step, never half-built
ones. polars frames are immutable, so a screen may keep a reference to a frame
while a worker builds the next one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from core.model import SegmentationModel
    from storage.workspace import Workspace

ACTIVE_MODEL_SETTING = "tui.active_model"


@dataclass(frozen=True)
class Totals:
    """The headline numbers of the Overview."""

    accounts: int
    customers: int
    prospects: int
    revenue: float
    margin: float | None


class WorkbenchState:
    """The open workspace's frames, the cached per-account frame and the active model."""

    def __init__(self, workspace: Workspace, *, as_of: date | None = None) -> None:
        self.workspace = workspace
        self._fixed_as_of = as_of
        self._lock = threading.RLock()  # loading/computing the frame, the model, segments
        self._tables_lock = threading.Lock()  # loading the tables (taken after _lock, never before)
        self._data_key: str | None = None  # the data version the state shows
        self._tables_key: str | None = None  # the data version of the loaded tables
        self._frame_key: tuple[str | None, date | None] | None = None
        self._accounts: pl.DataFrame | None = None
        self._transactions: pl.DataFrame | None = None
        self._contacts: pl.DataFrame | None = None
        self._frame: pl.DataFrame | None = None
        self._unsaved_frame: tuple[str, date | None, pl.DataFrame] | None = None
        self._as_of: date | None = as_of
        self._computed_for: tuple[object, object] | None = None
        self._overview: tuple[object, object, object, Any] | None = None
        self._preload: threading.Thread | None = None
        self.active_model: SegmentationModel | None = None
        self.assignments: pl.DataFrame | None = None
        self.profiles: pl.DataFrame | None = None
        self.last_error: str | None = None

    # -- data ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The workspace's display name (file name without extension)."""
        return self.workspace.path.stem

    @property
    def loaded(self) -> bool:
        """True once the per-account frame (or the tables) of the workspace are in memory."""
        return self._accounts is not None or self._fresh_frame() is not None

    @property
    def as_of(self) -> date | None:
        """The analysis date: fixed at construction, else the default from the transactions."""
        return self._as_of

    # The tables load lazily: after ``load_cached_frame`` the state shows a
    # workspace whose tables are not read yet; the first reader of one of them
    # loads all three (or waits for the worker already loading them). Before
    # anything was loaded they are None.

    def _ensure_tables(self) -> None:
        if self._data_key is not None and self._tables_key != self._data_key:
            self.reload()

    @property
    def accounts(self) -> pl.DataFrame | None:
        self._ensure_tables()
        return self._accounts

    @accounts.setter
    def accounts(self, value: pl.DataFrame | None) -> None:
        self._accounts = value

    @property
    def transactions(self) -> pl.DataFrame | None:
        self._ensure_tables()
        return self._transactions

    @transactions.setter
    def transactions(self, value: pl.DataFrame | None) -> None:
        self._transactions = value

    @property
    def contacts(self) -> pl.DataFrame | None:
        self._ensure_tables()
        return self._contacts

    @contacts.setter
    def contacts(self, value: pl.DataFrame | None) -> None:
        self._contacts = value

    @property
    def account_count(self) -> int | None:
        """How many accounts the data shown has (None before loading); never loads."""
        frame = self._fresh_frame()
        if frame is not None:
            return frame.height
        return None if self._accounts is None else self._accounts.height

    @property
    def tables_loaded(self) -> bool:
        """Whether the tables of the data version shown are in memory (no loading)."""
        return self._accounts is not None and (
            self._data_key is None or self._tables_key == self._data_key
        )

    def reload(self) -> bool:
        """(Re)load the frames if the workspace data changed; True when something was loaded.

        Call after an import (in a worker). The per-account frame is rebuilt
        lazily on next access of ``frame``.
        """
        with self._tables_lock:
            key = self.workspace.data_version()
            if key == self._tables_key and self._accounts is not None:
                self._data_key = key
                return False
            ws = self.workspace
            if hasattr(ws, "load_tables"):  # one consistent snapshot, one reader process
                tables = ws.load_tables(("accounts", "transactions", "contacts"))
                accounts = tables["accounts"]
                transactions = tables["transactions"]
                contacts = tables["contacts"]
            else:
                accounts = ws.load_accounts()
                transactions = ws.load_transactions()
                contacts = ws.load_contacts()
            as_of = self._fixed_as_of
            if as_of is None and transactions.height:
                from core.metrics import default_as_of

                as_of = default_as_of(transactions)
            # tables first, keys last: a reader that sees the new keys sees the new tables
            self._accounts, self._transactions, self._contacts = accounts, transactions, contacts
            self._as_of = as_of
            self._tables_key = key
            self._data_key = key
            return True

    def load_cached_frame(self) -> bool:
        """Take the per-account frame from the workspace's cache, if it was kept for
        exactly the current data (``tui.frame_cache``); True when the state shows it.

        The tables are not loaded: they load on first access (or in the
        background, ``load_tables``), so a big workspace paints its Overview
        without reading every transaction first.
        """
        with self._lock:
            key = self.workspace.data_version()
            if key == self._data_key and self._fresh_frame() is not None:
                return True
            from tui.frame_cache import read_frame

            found = read_frame(self.workspace, key, self._fixed_as_of)
            if found is None:
                return False
            frame, as_of = found
            self._frame, self._frame_key = frame, (key, as_of)
            self._unsaved_frame = None
            self._as_of = as_of
            self._data_key = key
            return True

    def load_tables(self) -> None:
        """Load the tables of the data shown, if not loaded yet (run in a worker)."""
        self._ensure_tables()

    def save_frame_cache(self) -> None:
        """Keep a frame built from the tables in the workspace's cache for the next start."""
        pending = self._unsaved_frame
        if pending is None:
            return
        self._unsaved_frame = None
        from tui.frame_cache import write_frame

        key, as_of, frame = pending
        write_frame(self.workspace, key, self._fixed_as_of, as_of, frame)

    def prepare(self) -> None:
        """Everything the first screen needs: the per-account frame (from the cache
        when it can), the active model and its segments. Runs in a worker or in the
        preload thread; a second call finds the work done."""
        with self._lock:
            if not self.load_cached_frame():
                self.reload()
                _ = self.frame
            if self.active_model is None:
                self.set_active_model(None)
            self.ensure_computed()

    def start_preload(self) -> None:
        """Start ``prepare`` in a thread now, while the caller imports the user interface.

        Errors are left for the App's load worker, whose own ``prepare`` call
        (waiting for this one) meets them again and reports them.
        """
        def run() -> None:
            try:
                self.prepare()
                self.overview()
            except Exception:
                pass

        self._preload = threading.Thread(target=run, name="segscope-preload", daemon=True)
        self._preload.start()

    def _fresh_frame(self) -> pl.DataFrame | None:
        frame = self._frame
        if frame is not None and self._frame_key == (self._data_key, self._as_of):
            return frame
        return None

    @property
    def frame(self) -> pl.DataFrame:
        """The per-account frame (``core.frame.account_frame``), cached per data version."""
        frame = self._fresh_frame()  # no lock: readers never wait for a table load
        if frame is not None:
            return frame
        with self._lock:
            if self._accounts is None or self._data_key is None:
                self.reload()
            self._ensure_tables()
            with self._tables_lock:  # the tables and the keys of one load, not of two
                accounts, transactions = self._accounts, self._transactions
                key = (self._data_key, self._as_of)
            if self._frame is None or self._frame_key != key:
                from core.frame import account_frame

                assert accounts is not None and transactions is not None
                self._frame = account_frame(accounts, transactions, as_of=key[1])
                self._frame_key = key
                if key[0] is not None:
                    self._unsaved_frame = (key[0], key[1], self._frame)
            return self._frame

    def attach_forward(self, forward: Any, frame_key: object) -> bool:
        """Join the forward-looking columns (``core.forward_frame``: potential,
        share_of_wallet, headroom, clv, p_alive) onto the cached frame, if it is
        still the frame of ``frame_key`` (``self.frame_key`` when the fit started)."""
        with self._lock:
            if self._frame is None or self._frame_key != frame_key:
                return False
            from core.forward_frame import add_forward_columns

            self._frame = add_forward_columns(self._frame, forward)
            return True

    @property
    def frame_key(self) -> object:
        """Changes whenever the per-account frame is rebuilt (data version, as-of date)."""
        return self._frame_key

    def frame_with_segments(self) -> pl.DataFrame:
        """The per-account frame with the active model's ``segment`` column (null if none)."""
        frame = self.frame
        assignments = self.assignments
        if assignments is None or "segment" not in assignments.columns:
            return frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias("segment"))
        from core.profile import aligned_segments

        # Text, not the model's Enum: the filter box and the table treat it like any label.
        segment = aligned_segments(frame, assignments).cast(pl.Utf8)
        return frame.drop("segment", strict=False).with_columns(segment)

    def overview(self) -> Any:  # -> tui.overview_data.OverviewData
        """What the Overview draws, computed once per frame, segments and model."""
        with self._lock:
            frame, assignments, model = self.frame, self.assignments, self.active_model
            done = self._overview
            if done is not None and done[0] is frame and done[1] is assignments \
                    and done[2] is model:
                return done[3]
            from tui.overview_data import overview_data

            data = overview_data(self)
            self._overview = (frame, assignments, model, data)
            return data

    def totals(self) -> Totals:
        frame = self.frame
        is_customer = (
            frame["is_customer"].fill_null(False)
            if "is_customer" in frame.columns
            else frame["revenue"].fill_null(0) != 0
        )
        customers = int(is_customer.sum())
        margin: float | None = None
        if "margin" in frame.columns and frame["margin"].null_count() < frame.height:
            margin = float(frame["margin"].fill_null(0).sum())
        return Totals(
            accounts=frame.height,
            customers=customers,
            prospects=frame.height - customers,
            revenue=float(frame["revenue"].fill_null(0).sum()) if frame.height else 0.0,
            margin=margin,
        )

    def last_import_time(self) -> str | None:
        """When the newest import was committed (ISO text as stored), or None."""
        try:
            row = self.workspace.conn.execute("SELECT max(created_at) FROM imports").fetchone()
        except Exception:
            return None
        return None if row is None else row[0]

    # -- models --------------------------------------------------------------

    def _stored_model_names(self) -> list[str]:
        listed: Any = self.workspace.list_models()
        names: list[str] = []
        for item in listed:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, tuple | list):
                names.append(str(item[0]))
            elif isinstance(item, dict):
                names.append(str(item["name"]))
            else:
                names.append(str(getattr(item, "name", item)))
        return names

    def _starter_models(self) -> list[SegmentationModel]:
        try:
            from core.starter_models import STARTER_MODELS
        except ImportError:
            return []
        return list(STARTER_MODELS)

    def model_names(self) -> list[str]:
        """Saved models first, then the starter models not saved under the same name."""
        stored = self._stored_model_names()
        starters = [m.name for m in self._starter_models() if m.name not in stored]
        return stored + starters

    def get_model(self, name: str) -> SegmentationModel:
        """A saved model by name, else a starter model; KeyError if neither exists."""
        if name in self._stored_model_names():
            from core.model import model_from_json

            return model_from_json(self.workspace.get_model(name))
        for model in self._starter_models():
            if model.name == name:
                return model
        raise KeyError(name)

    def _remembered_model_name(self) -> str | None:
        getter = getattr(self.workspace, "get_setting", None)
        if getter is None:
            return None
        try:
            value = getter(ACTIVE_MODEL_SETTING)
        except Exception:
            return None
        return value if isinstance(value, str) else None

    def _remember_model_name(self, name: str) -> None:
        setter = getattr(self.workspace, "set_setting", None)
        if setter is not None:
            setter(ACTIVE_MODEL_SETTING, name)

    def set_active_model(self, name: str | None) -> SegmentationModel | None:
        """Make ``name`` the active model (None: the remembered one, else the first).

        Clears assignments and profiles; call ``recompute()`` (in a worker) next.
        """
        with self._lock:
            names = self.model_names()
            if name is None:
                remembered = self._remembered_model_name()
                name = remembered if remembered in names else (names[0] if names else None)
            if name is None:
                self.active_model = None
            else:
                self.active_model = self.get_model(name)
                if name != self._remembered_model_name():
                    self._remember_model_name(name)
            self.assignments = None
            self.profiles = None
            return self.active_model

    def save_model(self, model: SegmentationModel) -> None:
        """Save ``model`` in the workspace; if it is the active model's name, it becomes active."""
        from core.model import model_to_json, rule_columns, validate_rules

        # a bad rule condition is refused here, naming the dimension and rule (issue 11)
        frame = self.frame
        validate_rules(model, rule_columns(frame.schema) if frame.height else None)
        with self._lock:
            self.workspace.save_model(model.name, model_to_json(model))
            if self.active_model is None or self.active_model.name == model.name:
                self.active_model = model
                self.assignments = None
                self.profiles = None

    def recompute(self) -> pl.DataFrame | None:
        """Assign the active model's segments and profile them, from the cached frame."""
        with self._lock:
            model = self.active_model
            if model is None:
                self.assignments = None
                self.profiles = None
                return None
            from core.model import assign_segments

            frame = self.frame
            assignments = assign_segments(frame, model)
            try:
                from core.profile import segment_profiles
            except ImportError:  # profiles are optional for the screens of this part
                profiles = None
            else:
                profiles = segment_profiles(frame, assignments)
            self.assignments, self.profiles = assignments, profiles
            self._computed_for = (frame, model)
            return assignments

    def ensure_computed(self) -> pl.DataFrame | None:
        """``recompute()``, unless the segments shown were computed from this very frame
        and model (the preload thread already did it)."""
        with self._lock:
            done = self._computed_for
            if (
                self.assignments is not None
                and done is not None
                and done[0] is self.frame
                and done[1] is self.active_model
            ):
                return self.assignments
            return self.recompute()

    # -- one account ---------------------------------------------------------

    def account_transactions(self, account_id: str) -> pl.DataFrame:
        tx = self.transactions
        if tx is None:
            return pl.DataFrame()
        return tx.filter(pl.col("account_id") == account_id).sort("date", descending=True)

    def account_contacts(self, account_id: str) -> pl.DataFrame:
        contacts = self.contacts
        if contacts is None:
            return pl.DataFrame()
        return contacts.filter(pl.col("account_id") == account_id)

    def monthly_revenue(self, account_id: str, months: int = 24) -> list[float]:
        """Net revenue per calendar month: the ``months`` months up to ``as_of`` (excluded)."""
        as_of = self.as_of
        tx = self.account_transactions(account_id)
        if as_of is None or tx.is_empty():
            return [0.0] * months
        index = {}
        y, m = as_of.year, as_of.month
        for i in range(months - 1, -1, -1):
            index[(y, m)] = i
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        values = [0.0] * months
        per_month = (
            tx.filter(pl.col("date") < as_of)  # like the metrics: as_of itself is not seen
            .group_by(pl.col("date").dt.year().alias("y"), pl.col("date").dt.month().alias("m"))
            .agg(pl.col("amount").sum())
        )
        for row in per_month.iter_rows(named=True):
            i = index.get((row["y"], row["m"]))
            if i is not None:
                values[i] = float(row["amount"])
        return values
