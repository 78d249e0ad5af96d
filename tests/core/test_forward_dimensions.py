"""The potential, clv and cluster dimensions, the "Value x Potential" starter
model and the forward columns (core.forward_dimensions, core.forward_frame)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from core.dimensions import DimensionError
from core.forward_dimensions import (
    ClusterDimension,
    ClvDimension,
    PotentialDimension,
    cached_potential,
    uses_forward_columns,
)
from core.forward_frame import add_forward_columns, forward_columns
from core.model import ModelError, SegmentationModel, model_from_json, model_to_json
from core.segment import assign_segments


def levels_of(frame: pl.DataFrame, dim) -> list[str]:
    return assign_segments(frame, SegmentationModel("m", (dim,)))[dim.name].cast(str).to_list()


def reference_tertiles(values: list[float | None], labels: list[str], missing: str) -> list[str]:
    """Plain-Python reference: linear-interpolated 1/3 and 2/3 quantiles of the
    non-null values, left-closed bins [lo, hi)."""
    known = sorted(v for v in values if v is not None)
    cuts = []
    for p in (1 / 3, 2 / 3):
        pos = p * (len(known) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(known) - 1)
        cuts.append(known[lo] + (known[hi] - known[lo]) * (pos - lo))
    out = []
    for v in values:
        if v is None:
            out.append(missing)
        else:
            out.append(labels[sum(v >= c for c in cuts)])
    return out


# ------------------------------------------------------------------ by hand

TINY = pl.DataFrame(
    {
        "account_id": ["a", "b", "c", "d", "e", "f", "g"],
        "revenue": [10.0, 0.0, 30.0, 5.0, 0.0, 80.0, 20.0],
        # potential = max(prediction, revenue), as core.potential writes it
        "potential": [40.0, 25.0, 30.0, 100.0, None, 80.0, 60.0],
        "headroom": [30.0, 25.0, 0.0, 95.0, None, 0.0, 40.0],
        "share_of_wallet": [0.25, 0.0, 1.0, 0.05, None, 1.0, 1 / 3],
        "clv": [120.0, None, 900.0, 15.0, None, 2400.0, 300.0],
    }
)


def test_potential_tertiles_by_hand() -> None:
    # potential known for 6 accounts: 25 30 40 60 80 100
    # 1/3 quantile: position 5/3 = 1.667 -> 30 + (40-30) * 0.667 = 36.667
    # 2/3 quantile: position 10/3 = 3.333 -> 60 + (80-60) * 0.333 = 66.667
    dim = PotentialDimension("Potential", column="potential")
    got = levels_of(TINY, dim)
    assert got == ["Medium", "Low", "Low", "High", "Not estimated", "High", "Medium"]
    assert got == reference_tertiles(TINY["potential"].to_list(), ["Low", "Medium", "High"],
                                     "Not estimated")


def test_potential_cuts_and_headroom_by_hand() -> None:
    dim = PotentialDimension("Room", column="headroom", cuts=(1.0, 50.0),
                             labels=("None", "Some", "Lots"), missing_label="?")
    assert dim.quantiles is None  # cut points replace the default tertiles
    # headroom 30 25 0 95 null 0 40: [1, 50) is "Some"
    assert levels_of(TINY, dim) == ["Some", "Some", "None", "Lots", "?", "None", "Some"]


def test_share_of_wallet_right_closed() -> None:
    dim = PotentialDimension("SoW", column="share_of_wallet", cuts=(0.25, 0.999),
                             labels=("Low", "Mid", "Full"), right_closed=True)
    # (.., 0.25] Low, (0.25, 0.999] Mid, > 0.999 Full
    assert levels_of(TINY, dim) == ["Low", "Low", "Full", "Low", "Not estimated", "Full", "Mid"]


def test_clv_tertiles_by_hand_and_missing() -> None:
    # clv known: 15 120 300 900 2400; 1/3 -> pos 1.333: 120 + 180*0.333 = 180;
    # 2/3 -> pos 2.667: 300 + 600*0.667 = 700
    dim = ClvDimension()
    got = levels_of(TINY, dim)
    assert got == ["Low", "No CLV", "High", "Low", "No CLV", "High", "Medium"]
    assert got == reference_tertiles(TINY["clv"].to_list(), ["Low", "Medium", "High"], "No CLV")


def test_clv_without_the_column_says_what_to_do() -> None:
    with pytest.raises(DimensionError, match=r"dimension 'CLV' \(clv\): the accounts have no "
                                             r"CLV yet.*Targeting screen"):
        levels_of(TINY.drop("clv"), ClvDimension())


def test_potential_without_firmographics_says_what_is_missing() -> None:
    with pytest.raises(DimensionError, match=r"dimension 'Potential' \(potential\): potential "
                                             r"needs firmographic columns"):
        levels_of(TINY.drop("potential"), PotentialDimension(column="potential"))


def test_bad_specs_name_the_dimension() -> None:
    with pytest.raises(ModelError, match=r"'P' \(potential\): column must be one of"):
        PotentialDimension("P", column="revenue")
    with pytest.raises(ModelError, match=r"'P' \(potential\): 3 bins need 3 labels"):
        PotentialDimension("P", labels=("a", "b"))
    with pytest.raises(ModelError, match=r"'P' \(potential\): quantile must be between"):
        PotentialDimension("P", quantile=1.5)
    with pytest.raises(ModelError, match=r"'V' \(clv\): cuts must be strictly increasing"):
        ClvDimension("V", cuts=(5.0, 1.0), labels=("a", "b", "c"))
    with pytest.raises(ModelError, match=r"'K' \(cluster\): features must be a non-empty"):
        ClusterDimension("K")
    with pytest.raises(ModelError, match=r"'K' \(cluster\): k must be"):
        ClusterDimension("K", features=("x",), k=1)
    with pytest.raises(ModelError, match=r"'K' \(cluster\): 2 clusters need 2 names"):
        ClusterDimension("K", features=("x",), k=2, cluster_names=("one",))
    with pytest.raises(ModelError, match=r"'K' \(cluster\): method must be"):
        ClusterDimension("K", features=("x",), method="dbscan")


def test_json_round_trip_of_every_forward_kind() -> None:
    model = SegmentationModel(
        "Forward",
        (
            PotentialDimension("Pot", column="headroom", quantiles=(0.5, 0.9),
                               labels=("L", "M", "H"), quantile=0.7),
            ClvDimension("Life", cuts=(100.0, 1000.0), labels=("low", "mid", "top")),
            ClusterDimension("Groups", features=("employees", "industry"), k=3,
                             cluster_names=("x", "y", "z"), method="gmm", seed=4),
        ),
    )
    text = model_to_json(model)
    back = model_from_json(text)
    assert back == model
    assert model_to_json(back) == text
    assert uses_forward_columns(model)
    assert not uses_forward_columns(SegmentationModel("c", (model.dimensions[2],)))


def test_value_x_potential_starter_model() -> None:
    from core.starter_models import STARTER_MODELS, starter_model_specs

    spec = starter_model_specs()["Value x Potential"]
    model = model_from_json(spec)
    assert model == next(m for m in STARTER_MODELS if m.name == "Value x Potential")
    assert [d.kind for d in model.dimensions] == ["abc", "potential"]
    frame = TINY.with_columns(pl.Series("abc_class", ["B", "C", "A", "C", "C", "A", "B"]))
    segments = assign_segments(frame, model)["segment"].cast(str).to_list()
    # headroom known: 0 0 25 30 40 95; 1/3 -> pos 1.667: 0 + 25*0.667 = 16.667;
    # 2/3 -> pos 3.333: 30 + 10*0.333 = 33.333
    assert segments == [
        "B · Medium headroom", "C · Medium headroom", "A · Low headroom",
        "C · High headroom", "C · Not estimated", "A · Low headroom",
        "B · High headroom",
    ]


# ------------------------------------------------------------------ generated data


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dt.date]:
    """sample_data.generate, 1,500 accounts (seed 42), as the per-account frame."""
    from core.frame import account_frame
    from sample_data.generate import GeneratorConfig, generate

    out: Path = tmp_path_factory.mktemp("gen")
    generate(GeneratorConfig(accounts=1500, seed=42, transactions_per_customer=8), out)
    accounts = pl.read_csv(out / "accounts.csv", infer_schema_length=0).with_columns(
        pl.col("employees", "founded_year", "buying_center_size").cast(pl.Int64),
        pl.col("annual_revenue").cast(pl.Float64),
    )
    tx = pl.read_csv(out / "transactions.csv", infer_schema_length=0).select(
        "account_id",
        pl.col("date").str.to_date(),
        pl.col("amount").cast(pl.Float64),
        pl.col("margin").cast(pl.Float64),
        "invoice_id",
        "product_line",
    )
    truth = pl.read_csv(out / "_truth.csv")
    as_of = dt.date(2026, 1, 1)
    return account_frame(accounts, tx, as_of=as_of), tx, truth, as_of


def test_cluster_dimension_recovers_the_planted_groups(generated) -> None:
    frame, _, truth, _ = generated
    dim = ClusterDimension(
        "Behaviour", features=("buying_driver", "offer_type", "buying_center_size",
                               "collaboration"), k=3,
    )
    assignments = assign_segments(frame, SegmentationModel("Clusters", (dim,)))
    joined = assignments.join(truth, on="account_id")
    assert joined.height == frame.height
    ari = adjusted_rand_score(joined["behaviour_group"].to_list(),
                              joined["Behaviour"].cast(str).to_list())
    print(f"cluster dimension vs the generator's behaviour groups: ARI = {ari:.3f}")
    assert ari >= 0.7
    # levels: the cluster names, largest cluster first
    fitted = dim.fit(frame)
    counts = assignments["Behaviour"].value_counts()
    sizes = dict(zip(counts["Behaviour"].cast(str), counts["count"], strict=True))
    labels = [fitted.names[i] for i in range(fitted.k)]
    assert list(assignments["Behaviour"].dtype.categories) == labels
    assert [sizes[n] for n in labels] == sorted(sizes.values(), reverse=True)
    renamed = ClusterDimension("Behaviour", features=dim.features, k=3,
                               cluster_names=("Big", "Middle", "Small"))
    again = assign_segments(frame, SegmentationModel("Clusters", (renamed,)))
    mapping = dict(zip(labels, ("Big", "Middle", "Small"), strict=True))
    assert again["Behaviour"].cast(str).to_list() == [
        mapping[x] for x in assignments["Behaviour"].cast(str).to_list()
    ]


def test_behaviour_clusters_starter_model(generated) -> None:
    from core.starter_models import STARTER_MODELS, starter_model_specs

    model = model_from_json(starter_model_specs()["Behaviour clusters"])
    assert model == next(m for m in STARTER_MODELS if m.name == "Behaviour clusters")
    frame, _, truth, _ = generated
    assignments = assign_segments(frame, model)
    k = assignments["segment"].n_unique()
    assert 2 <= k <= 6  # suggested by silhouette over k_range (2, 6)
    ari = adjusted_rand_score(truth.sort("account_id")["behaviour_group"].to_list(),
                              assignments.sort("account_id")["segment"].cast(str).to_list())
    print(f"Behaviour clusters starter: k = {k}, ARI = {ari:.3f}")
    assert ari > 0.4


def test_cluster_unknown_feature_is_named(generated) -> None:
    frame = generated[0]
    with pytest.raises(DimensionError, match=r"'K' \(cluster\): unknown feature column "
                                             r"'employes' \(did you mean 'employees'"):
        levels_of(frame, ClusterDimension("K", features=("employes",)))


def test_forward_columns_match_the_core_fits(generated) -> None:
    from core.clv import customer_lifetime_value
    from core.potential import fit_potential

    frame, tx, _, as_of = generated
    steps: list[tuple[int, int, str]] = []
    res = forward_columns(frame, tx, as_of=as_of, progress=lambda d, t, w: steps.append((d, t, w)))
    assert res.messages == ()
    assert steps[0] == (1, 7, "potential") and steps[-1] == (7, 7, "done")
    pot = fit_potential(frame).frame
    clv = customer_lifetime_value(tx, as_of - dt.timedelta(days=1)).frame
    assert res.frame["account_id"].to_list() == frame["account_id"].to_list()
    np.testing.assert_allclose(res.frame["potential"].to_numpy(), pot["potential"].to_numpy())
    np.testing.assert_allclose(res.frame["headroom"].to_numpy(), pot["headroom"].to_numpy())
    by_id = dict(zip(clv["account_id"], clv["clv"], strict=True))
    expected = [by_id.get(a) for a in frame["account_id"]]
    got = res.frame["clv"].to_list()
    assert [g is None for g in got] == [e is None for e in expected]
    np.testing.assert_allclose([g for g in got if g is not None],
                               [e for e in expected if e is not None])
    # the potential dimension gives the same levels with or without the joined columns
    full = add_forward_columns(frame, res)
    for column in ("potential", "headroom", "share_of_wallet"):
        dim = PotentialDimension(column=column)
        assert levels_of(full, dim) == levels_of(frame, dim)
    assert set(levels_of(full, ClvDimension())) == {"Low", "Medium", "High", "No CLV"}


def test_forward_columns_cancel_and_cache(generated) -> None:
    from core.forward_frame import ForwardCancelled

    frame, tx, _, as_of = generated
    first = cached_potential(frame)
    assert cached_potential(frame) is first  # same inputs: no second fit
    with pytest.raises(ForwardCancelled):
        forward_columns(frame, tx, as_of=as_of, cancelled=lambda: True)


def test_forward_columns_say_when_the_data_cannot_support_a_fit() -> None:
    frame = pl.DataFrame({"account_id": ["a", "b"], "revenue": [10.0, 0.0],
                          "employees": [5, 50]})
    tx = pl.DataFrame({"account_id": ["a"], "date": [dt.date(2025, 3, 1)], "amount": [10.0],
                       "margin": [None]}, schema_overrides={"margin": pl.Float64})
    res = forward_columns(frame, tx, as_of=dt.date(2026, 1, 1))
    assert res.messages[0].startswith("potential not estimated: potential needs at least 10 "
                                      "customers")
    assert res.frame["potential"].null_count() == 2
    # one customer: CLV falls back to the labelled simple formula and says so
    assert res.messages[1].startswith("CLV: simple retention formula used")
    full = add_forward_columns(frame, res)
    assert "potential" not in full.columns and "clv" in full.columns
