"""Benchmark of the forward-looking core: CLV, potential, clusters, lookalikes.

    .venv/bin/python bench/bench_forward.py --accounts 100000
    .venv/bin/python bench/bench_forward.py --accounts 100000 \\
        --lifetimes-python /tmp/ltvenv/bin/python      # also compare with `lifetimes`

Data: the project's seeded sample generator (sample_data.generate: 60 %
customers, ~34 invoice lines per customer over three years, planted behaviour
groups), made in memory. Timed steps (wall clock, 2 cores):

- CLV: ``customer_lifetime_value`` from invoice lines (calibration summary,
  BG/NBD + Gamma-Gamma fits with Hessian SEs, 24-month discounted CLV), and
  the two fits alone on the summary;
- potential: ``fit_potential`` (5-fold out-of-fold quantile boosting) on the
  per-account metric frame;
- clusters: ``fit_clusters`` on 6 features with k = 8 (and, for the record,
  the adjusted Rand index of k = 3 on the behaviour features against the
  generator's planted groups);
- lookalikes: ``score_lookalikes`` with the top-20 %-revenue customers as the
  ideal set: CV and fit on its stratified training sample (50k customers),
  every prospect scored, the 3 nearest ideal customers (among 10k) listed for
  the best 50k prospects; the per-step times and the notes are reported.

Every step reports wall-clock seconds, the process CPU seconds (the machine
may be shared: CPU time is what the step costs on a quiet core) and its
target from issue 5; the load average at the start and end is recorded.

``--lifetimes-python`` points at a Python that has ``lifetimes`` installed (a
throwaway venv; it is not a segscope dependency): the same calibration summary
is fitted there with BetaGeoFitter and GammaGammaFitter and the parameters
and times are compared.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.cluster import _CACHE, fit_clusters  # noqa: E402
from core.clv import calibration_summary, customer_lifetime_value  # noqa: E402
from core.clv_models import fit_bgnbd, fit_gamma_gamma  # noqa: E402
from core.lookalike import score_lookalikes  # noqa: E402
from core.metrics import account_metrics  # noqa: E402
from core.potential import fit_potential  # noqa: E402
from sample_data.generate import (  # noqa: E402
    GeneratorConfig,
    generate_population,
    write_transactions,
)

CLUSTER_FEATURES = ["employees", "annual_revenue", "buying_center_size", "buying_driver",
                    "offer_type", "collaboration"]
BEHAVIOUR = ["buying_driver", "offer_type", "buying_center_size", "collaboration"]

LIFETIMES_SCRIPT = r"""
import json, sys, time
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
s = pd.read_parquet(sys.argv[1])
t = time.perf_counter()
bg = BetaGeoFitter(penalizer_coef=0.0).fit(s["x"], s["tx"], s["T"])
t_bg = time.perf_counter() - t
rep = s[s["x"] > 0]
t = time.perf_counter()
gg = GammaGammaFitter(penalizer_coef=0.0).fit(rep["x"], rep["m"])
t_gg = time.perf_counter() - t
print(json.dumps({"bgnbd": {k: float(v) for k, v in bg.params_.items()},
                  "gamma_gamma": {k: float(v) for k, v in gg.params_.items()},
                  "t_bgnbd": t_bg, "t_gg": t_gg}))
"""


REPLICATE = 25
CDNOW = ROOT / "tests" / "data" / "cdnow" / "CDNOW_sample.txt"


def cdnow_summary(times: int) -> tuple[np.ndarray, ...]:
    """The CDNOW calibration summary (39 weeks from 1997-01-01), each customer ``times`` times."""
    import datetime as dt

    rows = [line.split() for line in CDNOW.read_text().splitlines() if line.strip()]
    tr = pl.DataFrame({"account_id": [r[1] for r in rows], "date": [r[2] for r in rows],
                       "amount": [float(r[4]) for r in rows]}).with_columns(
        pl.col("date").str.to_date("%Y%m%d"))
    s = calibration_summary(tr, dt.date(1997, 9, 30), zero_amount_is_purchase=True)
    cols = [s[c].to_numpy().astype(float) for c in
            ("repeat_frequency", "bgnbd_recency", "t_age", "monetary_value")]
    return tuple(np.tile(c, times) for c in cols)


def compare_lifetimes(python: Path, x, tx, T, m, bg, gg, t_bg, t_gg) -> dict:  # noqa: ANN001
    """Fit the same summary with lifetimes in ``python``; agreement and time ratio."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "summary.parquet"
        pl.DataFrame({"x": x, "tx": tx, "T": T, "m": np.nan_to_num(m)}).write_parquet(path)
        script = Path(d) / "fit.py"
        script.write_text(LIFETIMES_SCRIPT)
        out = subprocess.run([str(python), str(script), str(path)], capture_output=True,
                             text=True)
    ours = {**bg.params, **gg.params}
    result: dict[str, object] = {
        "customers": int(len(x)),
        "segscope_params": {k: round(v, 4) for k, v in ours.items()},
        "segscope_fit_s": round(t_bg + t_gg, 2),
    }
    if out.returncode != 0:
        result["lifetimes_error"] = (out.stderr.strip().splitlines() or ["?"])[-1]
        return result
    lt = json.loads(out.stdout.strip().splitlines()[-1])
    theirs = {**lt["bgnbd"], "p": lt["gamma_gamma"]["p"], "q": lt["gamma_gamma"]["q"],
              "gamma": lt["gamma_gamma"]["v"]}
    rel = {k: abs(ours[k] - theirs[k]) / abs(theirs[k]) for k in ours}
    result.update(
        lifetimes_params={k: round(v, 4) for k, v in theirs.items()},
        max_rel_param_diff=float(f"{max(rel.values()):.2e}"),
        lifetimes_fit_s=round(lt["t_bgnbd"] + lt["t_gg"], 2),
        time_ratio_lifetimes_over_segscope=round(
            (lt["t_bgnbd"] + lt["t_gg"]) / (t_bg + t_gg), 1),
    )
    return result


# Issue 5 performance targets, seconds on 2 cores at 1M accounts.
TARGETS = {"clv": 20.0, "potential": 60.0, "clusters": 10.0, "lookalikes": 30.0}
CPU: dict[str, float] = {}  # process CPU seconds of the last timed call per function


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN201
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    CPU[fn.__name__] = time.process_time() - c
    return out, time.perf_counter() - t


def verdict(step: str, wall: float, cpu: float) -> dict[str, object]:
    target = TARGETS[step]
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "target_s": target,
            "meets_target_wall": wall <= target}


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def make_data(n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    cfg = GeneratorConfig(accounts=n, seed=seed)
    accounts, pop = generate_population(cfg)
    buf = io.BytesIO()
    write_transactions(cfg, pop, buf)
    buf.seek(0)
    tx = pl.read_csv(buf, schema_overrides={"invoice_id": pl.Utf8, "account_id": pl.Utf8})
    tx = tx.with_columns(pl.col("date").str.to_date())
    return accounts, tx, np.asarray(pop.group)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--lifetimes-python", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    figures: dict[str, object] = {"accounts": args.accounts, "load_average_start": load(),
                                  "cpus": os.cpu_count()}

    (accounts, tx, group), t_gen = timed(make_data, args.accounts, args.seed)
    figures.update(transactions=tx.height, generate_s=round(t_gen, 1))
    print(f"data: {args.accounts} accounts, {tx.height} invoice lines ({t_gen:.1f} s)")

    # --- CLV
    res, t_clv = timed(customer_lifetime_value, tx)
    summary, t_sum = timed(calibration_summary, tx)
    x = summary["repeat_frequency"].to_numpy().astype(float)
    tx_, T = summary["bgnbd_recency"].to_numpy(), summary["t_age"].to_numpy()
    m = summary["monetary_value"].to_numpy().astype(float)
    bg, t_bg = timed(fit_bgnbd, x, tx_, T)
    gg, t_gg = timed(fit_gamma_gamma, m, x)
    figures["clv"] = {
        "method": res.method, "customers": res.frame.height, "total_s": round(t_clv, 2),
        "summary_s": round(t_sum, 2), "bgnbd_fit_s": round(t_bg, 2),
        "gamma_gamma_fit_s": round(t_gg, 2),
        "bgnbd": {k: round(v, 4) for k, v in bg.params.items()},
        "gamma_gamma": {k: round(v, 4) for k, v in gg.params.items()},
        **verdict("clv", t_clv, CPU["customer_lifetime_value"]),
    }
    print(f"CLV ({res.method}) on {res.frame.height} customers: {t_clv:.2f} s "
          f"(summary {t_sum:.2f}, BG/NBD fit {t_bg:.2f}, GG fit {t_gg:.2f})")

    # --- potential
    metrics = account_metrics(accounts, tx)
    frame = accounts.join(metrics, on="account_id", how="left")
    pot, t_pot = timed(fit_potential, frame)
    figures["potential"] = {"total_s": round(t_pot, 2), **{
        k: pot.report.as_dict()[k] for k in ("calibration", "n_customers", "fit_rows_per_fold")},
        **verdict("potential", t_pot, CPU["fit_potential"])}
    print(f"potential: {t_pot:.2f} s, calibration {pot.report.calibration:.3f} (q = 0.8)")

    # --- clusters
    _CACHE.clear()
    cl, t_cl = timed(fit_clusters, frame, CLUSTER_FEATURES, k=8, seed=0)
    cpu_cl = CPU["fit_clusters"]
    _, t_cl_cached = timed(fit_clusters, frame, CLUSTER_FEATURES, k=8, seed=0)
    from sklearn.metrics import adjusted_rand_score

    beh, t_beh = timed(fit_clusters, frame, BEHAVIOUR, k=3, seed=0)
    ari = adjusted_rand_score(group, beh.frame["cluster_id"].to_numpy())
    figures["clusters"] = {"k8_6features_s": round(t_cl, 2), "cached_s": round(t_cl_cached, 2),
                           "behaviour_k3_s": round(t_beh, 2), "planted_group_ari": round(ari, 3),
                           **verdict("clusters", t_cl, cpu_cl)}
    print(f"clusters: k=8 on 6 features {t_cl:.2f} s (cached {t_cl_cached:.2f} s); "
          f"behaviour k=3 ARI vs planted groups {ari:.3f}")

    # --- lookalikes
    rev = frame["revenue"].fill_null(0)
    cut = rev.filter(rev > 0).quantile(0.8)
    ideal = (rev >= cut) & (rev > 0)
    look_frame = frame.with_columns(pl.col("first_purchase").is_not_null().alias("is_customer"))
    lk, t_lk = timed(score_lookalikes, look_frame, ideal)
    figures["lookalikes"] = {"total_s": round(t_lk, 2), "prospects": lk.n_prospects,
                             "cv_auc": round(lk.cv_auc, 3), "train_ideal": lk.train_ideal,
                             "train_other": lk.train_other, "reasons_for": lk.n_reasons,
                             "reference_ideal": lk.n_reference, "steps_s": lk.timings,
                             "notes": list(lk.notes),
                             **verdict("lookalikes", t_lk, CPU["score_lookalikes"])}
    print(f"lookalikes: {lk.n_prospects} prospects scored in {t_lk:.2f} s, CV AUC {lk.cv_auc:.3f}"
          f" (steps {lk.timings})")

    # --- lifetimes comparison: on this synthetic summary, and on the CDNOW
    # sample replicated 25 times (same MLE as the sample, 59k customers)
    if args.lifetimes_python:
        figures["lifetimes_synthetic"] = compare_lifetimes(
            args.lifetimes_python, x, tx_, T, m, bg, gg, t_bg, t_gg)
        cx, ctx, cT, cm = cdnow_summary(REPLICATE)
        cbg, t_cbg = timed(fit_bgnbd, cx, ctx, cT)
        cgg, t_cgg = timed(fit_gamma_gamma, cm, cx)
        figures["lifetimes_cdnow_x25"] = compare_lifetimes(
            args.lifetimes_python, cx, ctx, cT, cm, cbg, cgg, t_cbg, t_cgg)
        for key in ("lifetimes_synthetic", "lifetimes_cdnow_x25"):
            print(key, json.dumps(figures[key]))
    figures["load_average_end"] = load()
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
