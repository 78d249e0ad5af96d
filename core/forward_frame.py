"""The forward-looking columns of the per-account frame: potential and CLV.

``forward_columns`` runs the two expensive fits of DOMAIN.md ("Account
potential" with ``core.potential.fit_potential``, "Customer lifetime value"
with ``core.clv.customer_lifetime_value``) and returns one row per account of
the frame with ``potential, share_of_wallet, headroom, clv, p_alive``;
``add_forward_columns`` joins them onto the per-account frame, where the
``potential`` / ``clv`` dimensions, the segment profiles and the Targeting
screen read them.

When the data cannot support a fit (too few customers, no firmographics, too
few purchases) that fit's columns stay null and ``ForwardResult.messages``
says what is missing; the other fit is still used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from core.errors import SegscopeError

__all__ = [
    "FORWARD_COLUMNS",
    "ForwardCancelled",
    "ForwardResult",
    "add_forward_columns",
    "forward_columns",
]

FORWARD_COLUMNS: tuple[str, ...] = ("potential", "share_of_wallet", "headroom", "clv", "p_alive")
# progress steps: the potential fits (folds + 1 full fit) then the CLV fit
CLV_STEPS = 1

# progress(done, total, what)
Progress = Callable[[int, int, str], None]


class ForwardCancelled(SegscopeError):
    """The computation was cancelled (``cancelled()`` returned True)."""


@dataclass(frozen=True)
class ForwardResult:
    """account_id + FORWARD_COLUMNS (null where a fit was not possible), the fits and messages."""

    frame: pl.DataFrame
    potential: Any = None  # core.potential.PotentialResult | None
    clv: Any = None  # core.clv.ClvResult | None
    messages: tuple[str, ...] = field(default_factory=tuple)

    @property
    def has_potential(self) -> bool:
        return self.potential is not None

    @property
    def has_clv(self) -> bool:
        return self.clv is not None


def forward_columns(
    frame: pl.DataFrame,
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | None = None,
    quantile: float = 0.8,
    n_splits: int = 5,
    horizon_months: int = 24,
    annual_discount_rate: float = 0.10,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    zero_amount_is_purchase: bool = False,
) -> ForwardResult:
    """Potential, share of wallet, headroom (DOMAIN.md "Account potential") and
    CLV with P(alive) (DOMAIN.md "Customer lifetime value") for every account of ``frame``.

    ``as_of`` is the analysis date of the frame (exclusive, as in
    ``core.metrics``): CLV is calibrated on transactions up to the day before
    it (default: the last transaction date). The potential fit is the cached
    one of ``core.forward_dimensions.cached_potential``, so the ``potential``
    dimension and this function fit once per input. ``progress(done, total,
    what)`` after each fit; ``cancelled()`` is checked between fits and raises
    ``ForwardCancelled``. ``zero_amount_is_purchase`` counts days netting exactly
    0 as purchases in the CLV fit (the papers' CDNOW convention).
    """
    from core.clv import customer_lifetime_value
    from core.forward_dimensions import cached_potential

    total = n_splits + 1 + CLV_STEPS
    messages: list[str] = []

    def check() -> None:
        if cancelled is not None and cancelled():
            raise ForwardCancelled("computing potential and CLV was cancelled")

    def potential_step(done: int, _total: int) -> None:
        if progress is not None:
            progress(min(done, n_splits + 1), total, "potential")
        check()

    check()
    out = frame.select(pl.col("account_id").cast(pl.Utf8))
    potential = None
    try:
        potential = cached_potential(frame, quantile=quantile, progress=potential_step)
    except ForwardCancelled:
        raise
    except SegscopeError as exc:
        messages.append(f"potential not estimated: {exc}")
    if potential is not None:
        out = out.with_columns(
            potential.frame.select("potential", "share_of_wallet", "headroom")
        )
    else:
        out = out.with_columns(
            pl.lit(None, dtype=pl.Float64).alias(c)
            for c in ("potential", "share_of_wallet", "headroom")
        )
    if progress is not None:
        progress(n_splits + 1, total, "customer lifetime value")
    check()
    clv = None
    calibration_end = as_of - dt.timedelta(days=1) if as_of is not None else None
    try:
        if transactions.height == 0:
            raise SegscopeError("the workspace has no transactions")
        clv = customer_lifetime_value(
            transactions, calibration_end, horizon_months=horizon_months,
            annual_discount_rate=annual_discount_rate,
            zero_amount_is_purchase=zero_amount_is_purchase,
        )
    except SegscopeError as exc:
        messages.append(f"CLV not estimated: {exc}")
    if clv is not None:
        if clv.method != "bgnbd-gamma-gamma" and clv.notes:
            messages.append(f"CLV: {clv.notes[0]}")
        out = out.join(
            clv.frame.select(pl.col("account_id").cast(pl.Utf8), "clv", "p_alive"),
            on="account_id", how="left", maintain_order="left",
        )
    else:
        out = out.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("clv"),
            pl.lit(None, dtype=pl.Float64).alias("p_alive"),
        )
    if progress is not None:
        progress(total, total, "done")
    return ForwardResult(frame=out, potential=potential, clv=clv, messages=tuple(messages))


def add_forward_columns(frame: pl.DataFrame, forward: pl.DataFrame | ForwardResult) -> pl.DataFrame:
    """``frame`` with the forward columns joined on account_id (replacing older ones);
    a fit that was not possible leaves its columns out, so the dimensions say why."""
    fwd = forward.frame if isinstance(forward, ForwardResult) else forward
    keep = [c for c in FORWARD_COLUMNS if c in fwd.columns and fwd[c].null_count() < fwd.height]
    base = frame.drop([c for c in FORWARD_COLUMNS if c in frame.columns])
    if not keep:
        return base
    return base.join(
        fwd.select("account_id", *keep), on="account_id", how="left", maintain_order="left"
    )
