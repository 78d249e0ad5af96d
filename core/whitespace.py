"""White space and cross-sell: what an account's peers buy that it does not.

DOMAIN.md, "White space and cross-sell": over the window, the **account x
product line** revenue matrix (product when the lines carry no product line).
**Penetration** of a line in a segment = share of the segment's customers with
positive revenue on it. An account's **white space** = the lines it does not
buy that its **peers** do, where peers are the customers of its segment (or
its k nearest customers by profile, k default 25): for each such line,
``expected value = peer penetration x median peer revenue on that line``.
**Next best lines** = the top white-space lines of an account by expected
value; a segment's white space = the sum over its accounts.

The choices this module makes where DOMAIN.md is silent:

- Window = ``[as_of - window_months, as_of)``, money netted per account and
  line in integer cents (``core.metrics.cents``), as every metric does.
- The line column is ``product_line`` when that column carries a value on
  some window line, else ``product``; window lines without a line value are
  left out of the matrix.
- An account *buys* a line when its net window revenue on it is > 0 (a line
  of returns only is not bought: it is white space like any other).
- A **customer** (for penetration and as a peer) is an account with a
  positive net revenue on at least one line in the window.
- An account is never its own peer: with ``peers="segment"`` its peers are
  the other customers of its segment; the penetration shown per segment
  (``penetration``) counts all of the segment's customers.
- The median peer revenue on a line is the median over the peers that buy
  it (a peer that does not buy the line is what the penetration counts).
- Rankings compare values to a millionth of a currency unit (so float noise
  never decides), then ties go to the line name (next best lines) or the
  account id (accounts), so results are the same from run to run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from core.errors import UsageError
from core.metrics import cents, default_as_of
from core.periods import shift_months

DEFAULT_K = 25
PEER_MODES = ("segment", "nearest")
# What "profile" means for nearest peers (DOMAIN.md says "by profile"): the
# firmographics every account has, customers and prospects alike, so a
# prospect finds its peers the same way a customer does.
DEFAULT_PROFILE = ("employees", "annual_revenue", "industry", "region")
# money and head counts span orders of magnitude; a log keeps one giant from
# deciding every distance
_LOG_FEATURES = frozenset({"employees", "annual_revenue", "revenue", "margin", "frequency",
                           "orders", "avg_order_value", "potential", "headroom", "clv"})


@dataclass(frozen=True)
class WhiteSpace:
    """The result of ``white_space``.

    - ``line_column``: "product_line" or "product" (what a line is here).
    - ``matrix``: ``account_id, line, revenue`` (net window revenue, one row per
      account and line it has window lines on; the long form of the matrix).
    - ``penetration``: ``segment, line, customers, buyers, penetration,
      median_revenue`` (every line with a buyer in the segment).
    - ``lines``: ``account_id, segment, line, peers, peer_buyers,
      peer_penetration, median_peer_revenue, expected_value, rank`` (one row per
      white-space line of an account, rank 1 = its next best line).
    - ``accounts``: ``account_id, segment, peers, white_space_value,
      white_space_lines, next_best_lines`` (list of the top ``top`` lines),
      largest white-space value first (ties by account id).
    - ``segments``: ``segment, accounts, customers, white_space_value``.
    """

    line_column: str
    peers: str
    k: int | None
    profile: tuple[str, ...]
    as_of: dt.date
    window_months: int
    matrix: pl.DataFrame
    penetration: pl.DataFrame
    lines: pl.DataFrame
    accounts: pl.DataFrame
    segments: pl.DataFrame

    def wide_matrix(self) -> pl.DataFrame:
        """account x line revenue, one column per line (0 where no revenue)."""
        if self.matrix.is_empty():
            return pl.DataFrame({"account_id": []}, schema={"account_id": pl.String})
        return (
            self.matrix.sort("line")
            .pivot(on="line", index="account_id", values="revenue")
            .fill_null(0.0)
            .sort("account_id")
        )

    def penetration_table(self) -> pl.DataFrame:
        """segment x line penetration, one column per line (0 where nobody buys it)."""
        if self.penetration.is_empty():
            return pl.DataFrame({"segment": []}, schema={"segment": pl.String})
        return (
            self.penetration.sort("line")
            .pivot(on="line", index="segment", values="penetration")
            .fill_null(0.0)
            .sort("segment")
        )


def line_column_of(transactions: pl.DataFrame) -> str:
    """``product_line`` when the lines carry one, else ``product``."""
    cols = transactions.columns
    if "product_line" in cols and transactions["product_line"].null_count() < transactions.height:
        return "product_line"
    if "product" in cols:
        return "product"
    if "product_line" in cols:
        return "product_line"
    raise UsageError("white space needs a product or product_line column on the transactions; "
                     "import transactions that name what was bought")


def line_matrix(
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | None = None,
    window_months: int = 12,
    line_column: str | None = None,
) -> pl.DataFrame:
    """Net window revenue per account and line: ``account_id, line, revenue``.

    The account x product line matrix of DOMAIN.md in long form (accounts with
    no window line on a line have no row for it), summed in integer cents.
    """
    if not isinstance(window_months, int) or window_months < 1:
        raise UsageError(f"window must be a whole number of months >= 1, got {window_months!r}")
    col = line_column or line_column_of(transactions)
    as_of = as_of or default_as_of(transactions)
    start = shift_months(as_of, -window_months)
    return (
        transactions.lazy()
        .filter(
            (pl.col("date") >= start) & (pl.col("date") < as_of)
            & pl.col(col).is_not_null() & pl.col("amount").is_not_null()
        )
        .group_by(pl.col("account_id").cast(pl.String),
                  pl.col(col).cast(pl.String).alias("line"))
        .agg(cents("amount").sum().alias("_c"))
        .select("account_id", "line", (pl.col("_c") / 100).alias("revenue"))
        .sort("account_id", "line")
        .collect()
    )


def profile_matrix(frame: pl.DataFrame, profile: Sequence[str]) -> np.ndarray:
    """The profile features as a matrix in which Euclidean distance is the peer distance.

    Numeric features (money and head counts through log1p) are standardised
    (mean 0, sd 1 over ``frame``; a missing value sits at the mean, 0). A text
    feature is one-hot with each column scaled by 1/sqrt(2), so that two
    accounts with different values are 1 apart on it (as one standard
    deviation), and a missing value is a category of its own.
    """
    blocks: list[np.ndarray] = []
    for name in profile:
        s = frame[name]
        if s.dtype.is_numeric() or s.dtype == pl.Boolean:
            v = s.cast(pl.Float64).fill_nan(None).to_numpy().astype(float)
            if name in _LOG_FEATURES:
                v = np.sign(v) * np.log1p(np.abs(v))
            ok = np.isfinite(v)
            if not ok.any():
                continue
            mean = v[ok].mean()
            sd = v[ok].std()
            z = np.where(ok, (v - mean) / sd if sd > 0 else 0.0, 0.0)
            blocks.append(z[:, None])
        else:
            t = s.cast(pl.String).fill_null("(missing)")
            cats = sorted(t.unique().to_list())
            codes = t.replace_strict({c: i for i, c in enumerate(cats)},
                                     return_dtype=pl.Int64).to_numpy()
            block = np.zeros((len(codes), len(cats)))
            block[np.arange(len(codes)), codes] = 1.0 / np.sqrt(2.0)
            blocks.append(block)
    if not blocks:
        return np.zeros((frame.height, 1))
    return np.hstack(blocks)


def nearest_customers(
    frame: pl.DataFrame,
    customers: pl.Series,
    *,
    k: int = DEFAULT_K,
    profile: Sequence[str] = DEFAULT_PROFILE,
) -> pl.DataFrame:
    """Each account's ``k`` nearest customers by profile: ``account_id, peer_id, distance``.

    Distance: Euclidean over ``profile_matrix(frame, profile)`` (features
    scaled over all accounts of ``frame``). An account is not its own peer.
    Ties in distance go to the smaller customer id, so the peers are the same
    from run to run. Fewer than ``k`` customers: all of them.
    """
    if k < 1:
        raise UsageError(f"k must be 1 or more, got {k}")
    X = profile_matrix(frame, profile)
    ids = frame["account_id"].cast(pl.String).to_numpy()
    wanted = customers.cast(pl.String).implode()
    is_cust = frame["account_id"].cast(pl.String).is_in(wanted).to_numpy()
    cust_rows = np.flatnonzero(is_cust)
    # customers in id order: a stable sort of distances then breaks ties by id
    cust_rows = cust_rows[np.argsort(ids[cust_rows], kind="stable")]
    C = X[cust_rows]
    c_ids = ids[cust_rows]
    out_a: list[np.ndarray] = []
    out_p: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    if len(cust_rows) == 0:
        return pl.DataFrame(schema={"account_id": pl.String, "peer_id": pl.String,
                                    "distance": pl.Float64})
    chunk = max(1, 4_000_000 // max(len(cust_rows), 1))
    c_sq = (C * C).sum(axis=1)
    for lo in range(0, len(ids), chunk):
        A = X[lo:lo + chunk]
        d2 = (A * A).sum(axis=1)[:, None] + c_sq[None, :] - 2.0 * A @ C.T
        d2 = np.maximum(d2, 0.0)
        # round away float noise so equal profiles tie exactly (then id decides)
        d2 = np.round(d2, 9)
        self_mask = c_ids[None, :] == ids[lo:lo + chunk, None]
        d2[self_mask] = np.inf
        # an account's own column (inf) sorts last, so the first k are its peers
        take = np.argsort(d2, axis=1, kind="stable")[:, :min(k, len(cust_rows))]
        dist = np.take_along_axis(d2, take, axis=1)
        ok = np.isfinite(dist)
        rows = np.broadcast_to(np.arange(lo, lo + A.shape[0])[:, None], take.shape)
        out_a.append(ids[rows[ok]])
        out_p.append(c_ids[take[ok]])
        out_d.append(np.sqrt(dist[ok]))
    return pl.DataFrame(
        {
            "account_id": np.concatenate(out_a).astype(str) if out_a else [],
            "peer_id": np.concatenate(out_p).astype(str) if out_p else [],
            "distance": np.concatenate(out_d) if out_d else [],
        },
        schema={"account_id": pl.String, "peer_id": pl.String, "distance": pl.Float64},
    )


def white_space(
    transactions: pl.DataFrame,
    assignments: pl.DataFrame,
    *,
    frame: pl.DataFrame | None = None,
    as_of: dt.date | None = None,
    window_months: int = 12,
    peers: str = "segment",
    k: int = DEFAULT_K,
    profile: Sequence[str] | None = None,
    top: int = 3,
) -> WhiteSpace:
    """White space per account and segment (DOMAIN.md "White space and cross-sell").

    ``assignments``: ``account_id, segment`` for every account to consider
    (customers and prospects). ``peers="segment"``: an account's peers are
    the other customers of its segment; ``"nearest"``: its ``k`` nearest
    customers (any segment) by ``profile`` (see ``nearest_customers``), which
    needs ``frame`` (the per-account frame with the profile columns; default
    profile ``DEFAULT_PROFILE``, the columns of it that ``frame`` has).
    ``top``: how many next best lines ``accounts`` lists.
    """
    if peers not in PEER_MODES:
        raise UsageError(f"peers must be 'segment' or 'nearest', got {peers!r}")
    if top < 0:
        raise UsageError(f"top must be 0 or more, got {top}")
    as_of = as_of or default_as_of(transactions)
    col = line_column_of(transactions)
    matrix = line_matrix(transactions, as_of=as_of, window_months=window_months, line_column=col)
    assign = assignments.select(
        pl.col("account_id").cast(pl.String), pl.col("segment").cast(pl.String)
    )
    bought = matrix.filter(pl.col("revenue") > 0).join(assign, on="account_id", how="inner")
    customers = bought.select("account_id").unique()
    seg_customers = (
        bought.select("account_id", "segment").unique()
        .group_by("segment").agg(pl.len().cast(pl.Int64).alias("customers"))
    )
    penetration = (
        bought.group_by("segment", "line")
        .agg(pl.len().cast(pl.Int64).alias("buyers"),
             pl.col("revenue").median().alias("median_revenue"))
        .join(seg_customers, on="segment")
        .select("segment", "line", "customers", "buyers",
                (pl.col("buyers") / pl.col("customers")).alias("penetration"),
                "median_revenue")
        .sort("segment", "line")
    )
    own = bought.select("account_id", "line")
    is_cust = pl.col("account_id").is_in(customers["account_id"].implode())
    used_profile: tuple[str, ...] = ()
    if peers == "segment":
        # buyers of a line in the segment are all peers of a non-buyer (it is
        # not among them), so the counts come from the segment's table
        cand = (
            assign.join(seg_customers, on="segment", how="left")
            .with_columns(
                (pl.col("customers").fill_null(0)
                 - is_cust.cast(pl.Int64)).alias("peers")
            )
            .join(penetration.select("segment", "line", pl.col("buyers").alias("peer_buyers"),
                                     pl.col("median_revenue").alias("median_peer_revenue")),
                  on="segment", how="inner")
            .join(own, on=["account_id", "line"], how="anti")
        )
        peer_counts = assign.join(seg_customers, on="segment", how="left").select(
            "account_id", (pl.col("customers").fill_null(0) - is_cust.cast(pl.Int64)).alias("peers")
        )
    else:
        if frame is None:
            raise UsageError("nearest peers need the per-account frame (the profile columns)")
        wanted = tuple(profile) if profile is not None else DEFAULT_PROFILE
        missing = [c for c in wanted if c not in frame.columns] if profile is not None else []
        if missing:
            raise UsageError(f"profile columns not in the account frame: {', '.join(missing)}")
        used_profile = tuple(c for c in wanted if c in frame.columns
                             and frame[c].null_count() < frame.height)
        if not used_profile:
            raise UsageError(
                "nearest peers need a profile, but none of "
                f"{', '.join(wanted)} has a value; use peers by segment or give profile columns"
            )
        sub = frame.select(pl.col("account_id").cast(pl.String), *used_profile).join(
            assign.select("account_id"), on="account_id", how="semi"
        )
        pairs = nearest_customers(sub, customers["account_id"], k=k, profile=used_profile)
        peer_counts = pairs.group_by("account_id").agg(pl.len().cast(pl.Int64).alias("peers"))
        peer_counts = assign.select("account_id").join(peer_counts, on="account_id", how="left") \
            .with_columns(pl.col("peers").fill_null(0))
        cand = (
            pairs.join(bought.select(pl.col("account_id").alias("peer_id"), "line", "revenue"),
                       on="peer_id", how="inner")
            .group_by("account_id", "line")
            .agg(pl.len().cast(pl.Int64).alias("peer_buyers"),
                 pl.col("revenue").median().alias("median_peer_revenue"))
            .join(own, on=["account_id", "line"], how="anti")
            .join(peer_counts, on="account_id", how="left")
            .join(assign, on="account_id", how="left")
        )
    lines = (
        cand.filter(pl.col("peers") > 0)
        .with_columns((pl.col("peer_buyers") / pl.col("peers")).alias("peer_penetration"))
        .with_columns((pl.col("peer_penetration") * pl.col("median_peer_revenue"))
                      .alias("expected_value"))
        # float noise (1/3 x 15 against 1/2 x 10) must not decide a tie: rank on
        # the value to a millionth of a currency unit, then the line name
        .sort(["account_id", pl.col("expected_value").round(6), "line"],
              descending=[False, True, False])
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("account_id")
                      .alias("rank"))
        .select("account_id", "segment", "line", "peers", "peer_buyers", "peer_penetration",
                "median_peer_revenue", "expected_value", "rank")
    )
    per_account = lines.group_by("account_id").agg(
        pl.col("expected_value").sum().alias("white_space_value"),
        pl.len().cast(pl.Int64).alias("white_space_lines"),
        # rows are in rank order within an account (sorted above)
        pl.col("line").filter(pl.col("rank") <= top).alias("next_best_lines"),
    )
    accounts = (
        assign.join(peer_counts, on="account_id", how="left")
        .join(per_account, on="account_id", how="left")
        .with_columns(
            pl.col("white_space_value").fill_null(0.0),
            pl.col("white_space_lines").fill_null(0),
            pl.col("next_best_lines").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .sort([pl.col("white_space_value").round(6), "account_id"], descending=[True, False])
    )
    segments = (
        accounts.group_by("segment")
        .agg(pl.len().cast(pl.Int64).alias("accounts"),
             pl.col("white_space_value").sum())
        .join(seg_customers, on="segment", how="left")
        .with_columns(pl.col("customers").fill_null(0))
        .select("segment", "accounts", "customers", "white_space_value")
        .sort(["white_space_value", "segment"], descending=[True, False])
    )
    return WhiteSpace(
        line_column=col, peers=peers, k=k if peers == "nearest" else None,
        profile=used_profile, as_of=as_of, window_months=window_months, matrix=matrix,
        penetration=penetration, lines=lines, accounts=accounts, segments=segments,
    )
