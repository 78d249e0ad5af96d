"""core.cluster: planted behaviour groups are recovered; encoding and naming by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from core.cluster import _CACHE, cluster_levels, design_matrix, fit_clusters
from core.errors import UsageError

FEATURES = ["buying_driver", "offer_type", "buying_center_size", "collaboration"]


def planted_groups(n: int = 3000, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    """Three purchasing-behaviour groups (traditional, solution, partnership buyers).

    Each group has a dominant value (probability 0.8) for buying_driver,
    offer_type and collaboration, and its own buying-centre size (Poisson
    means 2, 6 and 12, plus one).
    """
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    drivers = ["price", "performance", "delivery"]
    offers = ["standard", "customised", "customised"]
    collab = ["low", "medium", "high"]

    def pick(values: list[str], dominant: list[str]) -> list[str]:
        out = []
        for g in group:
            if rng.random() < 0.8:
                out.append(dominant[g])
            else:
                out.append(values[rng.integers(0, len(values))])
        return out

    frame = pl.DataFrame(
        {
            "account_id": [f"a{i:05d}" for i in range(n)],
            "buying_driver": pick(drivers, drivers),
            "offer_type": pick(["standard", "customised"], offers),
            "buying_center_size": 1 + rng.poisson(np.array([2, 6, 12])[group]),
            "collaboration": pick(collab, collab),
            "employees": rng.integers(5, 5000, n),  # not a clustering feature here
        }
    )
    return frame, group


@pytest.fixture(scope="module")
def planted() -> tuple[pl.DataFrame, np.ndarray]:
    return planted_groups()


def test_kmeans_recovers_planted_groups(planted) -> None:
    frame, truth = planted
    res = fit_clusters(frame, FEATURES, k_range=(2, 6), seed=0)
    ari = adjusted_rand_score(truth, res.frame["cluster_id"].to_numpy())
    print(f"kmeans ARI = {ari:.3f}, silhouette by k = {res.silhouette}")
    assert res.k == 3
    assert ari >= 0.8
    assert set(res.silhouette) == {2, 3, 4, 5, 6}
    assert max(res.silhouette, key=res.silhouette.get) == 3


def test_gmm_recovers_planted_groups(planted) -> None:
    frame, truth = planted
    res = fit_clusters(frame, FEATURES, k=3, method="gmm", seed=0)
    ari = adjusted_rand_score(truth, res.frame["cluster_id"].to_numpy())
    print(f"gmm ARI = {ari:.3f}")
    assert ari >= 0.8


def test_clusters_are_named_by_their_traits(planted) -> None:
    frame, truth = planted
    res = fit_clusters(frame, FEATURES, k=3, seed=0)
    labels = res.frame["cluster_id"].to_numpy()
    # the cluster holding most of planted group 2 (big buying centres, high collaboration)
    big = int(np.bincount(labels[truth == 2]).argmax())
    small = int(np.bincount(labels[truth == 0]).argmax())
    assert "High buying_center_size" in res.traits[big][:3]
    assert "collaboration: high" in res.traits[big][:3]  # generic values keep their column
    assert "delivery" in res.traits[big][:3]
    assert {"price", "standard", "collaboration: low"} <= set(res.traits[small][:3])
    assert "Low buying_center_size" in res.traits[small]
    assert res.names[big] == " · ".join(res.traits[big][:2])
    assert len(set(res.names.values())) == 3
    assert res.frame["cluster"].n_unique() == 3
    # ids are renumbered by size
    sizes = [res.sizes[c] for c in range(3)]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == frame.height
    assert cluster_levels(res).columns == ["account_id", "level"]


def test_results_are_cached_and_deterministic(planted) -> None:
    frame, _ = planted
    _CACHE.clear()
    a = fit_clusters(frame, FEATURES, k=4, seed=1)
    b = fit_clusters(frame, FEATURES, k=4, seed=1)
    assert not a.cached and b.cached
    assert a.frame.equals(b.frame)
    _CACHE.clear()
    c = fit_clusters(frame, FEATURES, k=4, seed=1)
    assert not c.cached and c.frame.equals(a.frame)


def test_design_matrix_by_hand() -> None:
    frame = pl.DataFrame(
        {
            "revenue": [0.0, 9.0, 99.0, None],
            "kind": ["x", None, "y", "x"],
            "score": [1.0, 2.0, 3.0, 4.0],
        }
    )
    dm = design_matrix(frame, ["revenue", "kind", "score"])
    assert dm.columns == ("revenue", "kind=(missing)", "kind=x", "kind=y", "score")
    assert dm.logged == ("revenue",)  # a money column; score is not skewed
    logged = np.log1p([0.0, 9.0, 99.0])
    filled = np.append(logged, np.median(logged))  # null -> median of the logged values
    np.testing.assert_allclose(dm.X[:, 0], (filled - filled.mean()) / filled.std())
    np.testing.assert_array_equal(dm.X[:, 1:4], [[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]])
    s = np.array([1.0, 2, 3, 4])
    np.testing.assert_allclose(dm.X[:, 4], (s - s.mean()) / s.std())


def test_bad_arguments() -> None:
    frame, _ = planted_groups(n=50)
    with pytest.raises(UsageError, match="unknown feature columns: nope"):
        fit_clusters(frame, ["nope"])
    with pytest.raises(UsageError, match="method"):
        fit_clusters(frame, FEATURES, method="dbscan")
    with pytest.raises(UsageError, match="k must be at least 2"):
        fit_clusters(frame, FEATURES, k=1)


def test_recovers_the_sample_generators_behaviour_groups() -> None:
    """The generator's planted purchasing-behaviour groups (sample_data, seed 42).

    Measured: ARI 0.805 with k = 3 here (0.79-0.87 over other seeds, 0.837 on
    100k accounts). The silhouette prefers k = 5 on this data (ARI 0.61): the
    generator's groups overlap more than the test's own planted ones, so the
    analyst should set k when the number of groups is known.
    """
    from sample_data.generate import GeneratorConfig, generate_population

    accounts, pop = generate_population(GeneratorConfig(accounts=3000, seed=42))
    res = fit_clusters(accounts, FEATURES, k=3, seed=0)
    ari = adjusted_rand_score(pop.group, res.frame["cluster_id"].to_numpy())
    print(f"sample generator groups: ARI = {ari:.3f}")
    assert ari >= 0.78
