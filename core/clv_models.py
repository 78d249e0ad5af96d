"""BG/NBD and Gamma-Gamma: likelihoods, maximum-likelihood fits and predictions.

DOMAIN.md, "Customer lifetime value": BG/NBD (Fader, Hardie & Lee 2005,
"Counting your customers the easy way", Marketing Science 24(2)) for the number
of future purchases and Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV:
using iso-value curves", JMR 42(4); Fader & Hardie note 025) for spend per
purchase, fitted by maximum likelihood on the calibration summary.

Inputs are plain arrays so the functions serve any caller:

- ``x``: repeat purchase days in the calibration period (``repeat_frequency``),
- ``tx``: the BG/NBD *recency*, i.e. the age at the last purchase (last minus
  first purchase), called ``bgnbd_recency`` in segscope so it is never confused
  with the RFM ``recency_days`` (time *since* the last purchase),
- ``T``: calibration end minus first purchase (``t_age``),
- ``m``: mean spend over the repeat purchase days (``monetary_value``),

all times in one unit (weeks by default).

Both fits maximise the log-likelihood over log-parameters with L-BFGS-B and
analytic gradients, from several starting points; standard errors come from a
numerical Hessian (central differences of the analytic gradient) and the delta
method, ``se(theta) = theta * se(log theta)``, which is exact at the optimum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1
from threadpoolctl import threadpool_limits

from core.errors import SegscopeError

# Log-parameters are kept inside [-LOG_BOUND, LOG_BOUND]; a fit that ends on a
# bound is degenerate (a parameter running to 0 or infinity) and is reported.
LOG_BOUND = 16.0
# A parameter whose standard error on the log scale exceeds this (its 95 %
# interval spans a factor of e^12) is not identified; the fit is refused.
MAX_SE_LOG = 3.0


class ClvFitError(SegscopeError):
    """A BG/NBD or Gamma-Gamma fit that did not converge or is degenerate."""


@dataclass(frozen=True)
class ModelFit:
    """A fitted model: parameters with standard errors and the log-likelihood."""

    model: str
    params: dict[str, float]
    std_errors: dict[str, float]
    log_likelihood: float
    n_customers: int
    iterations: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __getitem__(self, name: str) -> float:
        return self.params[name]

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "params": dict(self.params),
            "std_errors": {k: (v if np.isfinite(v) else None) for k, v in self.std_errors.items()},
            "log_likelihood": self.log_likelihood,
            "n_customers": self.n_customers,
            "iterations": self.iterations,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- BG/NBD


def bgnbd_log_likelihood_terms(
    params: Sequence[float], x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood, FHL 2005 eq. (6).

    L = B(a, b+x)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+tx)^(r+x))
    computed in logs (the second term as ln a - ln(b+x-1) relative to the first).
    """
    r, alpha, a, b = params
    x = np.asarray(x, dtype=float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(a3, -np.inf)
    xr = x[repeat]
    a4[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + tx[repeat])
    return a1 + a2 + np.logaddexp(a3, a4)


def _by_unique_x(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct repeat counts and the index of each row's count.

    The special functions of the likelihoods depend on x only through
    Gamma(. + x) and digamma(. + x); x takes few distinct values (0, 1, 2, ...),
    so they are evaluated once per distinct x and gathered.
    """
    xu, inverse = np.unique(x, return_inverse=True)
    return xu, inverse.ravel()


def _bgnbd_neg_ll_and_grad(
    log_params: np.ndarray,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    w: np.ndarray,
    x_unique: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray]:
    r, alpha, a, b = np.exp(log_params)
    xu, xi = x_unique if x_unique is not None else _by_unique_x(x)
    log_t = np.log(alpha + T)
    log_tx = np.log(alpha + tx)
    # ln L = Gamma part (per distinct x) + r ln alpha + ln(exp(a3) + exp(a4)), with
    # a3 = -(r+x) ln(alpha+T), a4 = ln a - ln(b+x-1) - (r+x) ln(alpha+tx) (x > 0 only)
    safe_xu = np.where(xu > 0, xu, 1.0)
    a4_const = np.where(xu > 0, np.log(a) - np.log(b + safe_xu - 1), -np.inf)
    a3 = -(r + x) * log_t
    diff = a4_const[xi] - (r + x) * log_tx - a3  # a4 - a3, -inf where x = 0
    lse = a3 + np.maximum(diff, 0.0) + np.log1p(np.exp(-np.abs(diff)))
    w4 = expit(diff)  # posterior weight of the "dropped out after tx" branch
    w3 = 1.0 - w4
    g_x = (
        gammaln(r + xu) - gammaln(r) + gammaln(a + b) + gammaln(b + xu) - gammaln(b)
        - gammaln(a + b + xu)
    )
    psi_rx = digamma(r + xu) - digamma(r)
    psi_abx = digamma(a + b) - digamma(a + b + xu)
    psi_bx = digamma(b + xu) - digamma(b)
    inv_bx1 = np.where(xu > 0, 1.0 / (b + safe_xu - 1), 0.0)
    ll = float(np.dot(w, g_x[xi] + lse)) + r * np.log(alpha) * float(w.sum())
    d_r = psi_rx[xi] + np.log(alpha) - w3 * log_t - w4 * log_tx
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + tx))
    d_a = psi_abx[xi] + w4 / a
    d_b = psi_abx[xi] + psi_bx[xi] - w4 * inv_bx1[xi]
    grad = np.array([np.dot(w, d_r) * r, np.dot(w, d_alpha) * alpha, np.dot(w, d_a) * a,
                     np.dot(w, d_b) * b])
    return -ll, -grad


def bgnbd_expected_purchases(
    params: Sequence[float], t: float | np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[Y(t) | x, tx, T]: expected purchases in (T, T+t], FHL 2005 eq. (10).

    The hypergeometric term is rewritten with Euler's transformation,
    ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)
      = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z),  z = t/(alpha+T+t),
    which keeps the series well conditioned for customers with many purchases.
    """
    return bgnbd_purchase_front(params, t, x, T) * bgnbd_p_alive(params, x, tx, T)


def bgnbd_purchase_front(
    params: Sequence[float], t: float | np.ndarray, x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[Y(t) | x, tx, T] / P(alive | x, tx, T): depends on (x, T) only, not on tx.

    (a+b+x-1)/(a-1) * [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)],
    z = t/(alpha+T+t). Scoring evaluates it once per distinct (x, T).
    """
    r, alpha, a, b = params
    if abs(a - 1.0) < 1e-9:  # the closed form has a removable singularity at a = 1
        a = 1.0 + 1e-9
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    t = np.asarray(t, dtype=float)
    z = t / (alpha + T + t)
    hyp = np.power(1.0 - z, a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    return (a + b + x - 1.0) / (a - 1.0) * (1.0 - hyp)


def bgnbd_p_alive(
    params: Sequence[float], x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive | x, tx, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+tx))^(r+x))."""
    r, alpha, a, b = params
    x, tx, T = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(tx, dtype=float), np.asarray(T, dtype=float)
    )
    repeat = x > 0
    safe_x = np.where(repeat, x, 1.0)  # keeps ln(b+x-1) finite where it is not used
    u = np.log(a) - np.log(b + safe_x - 1.0) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    return np.where(repeat, expit(-u), 1.0)


def bgnbd_unconditional_expected(params: Sequence[float], t: float | np.ndarray) -> np.ndarray:
    """E[X(t)] for a new customer, FHL 2005 eq. (9)."""
    r, alpha, a, b = params
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    return (a + b - 1.0) / (a - 1.0) * (
        1.0 - np.power(alpha / (alpha + t), r) * hyp2f1(r, b, a + b - 1.0, z)
    )


# ----------------------------------------------------------------------- Gamma-Gamma


def gamma_gamma_log_likelihood_terms(
    params: Sequence[float], m: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend m over x repeat days.

    f(m | p, q, gamma, x) = Gamma(px+q) / (Gamma(px) Gamma(q))
        * gamma^q m^(px-1) x^(px) / (gamma + m x)^(px+q)
    (Fader & Hardie note 025, eq. 4).
    """
    p, q, g = params
    m = np.asarray(m, dtype=float)
    x = np.asarray(x, dtype=float)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + g)
    )


def _gg_neg_ll_and_grad(
    log_params: np.ndarray,
    m: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    x_unique: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray]:
    p, q, g = np.exp(log_params)
    xu, xi = x_unique if x_unique is not None else _by_unique_x(x)
    pxu = p * xu
    g_x = gammaln(pxu + q) - gammaln(pxu) - gammaln(q) + pxu * np.log(xu)
    psi_q = digamma(pxu + q)
    d_p_x = xu * (psi_q - digamma(pxu) + np.log(xu))
    d_q_x = psi_q - digamma(q)
    px = p * x
    log_m = np.log(m)
    log_xm_g = np.log(x * m + g)
    ll = g_x[xi] + q * np.log(g) + (px - 1.0) * log_m - (px + q) * log_xm_g
    d_p = d_p_x[xi] + x * (log_m - log_xm_g)
    d_q = d_q_x[xi] + np.log(g) - log_xm_g
    d_g = q / g - (px + q) / (x * m + g)
    grad = np.array([np.dot(w, d_p) * p, np.dot(w, d_q) * q, np.dot(w, d_g) * g])
    return -float(np.dot(w, ll)), -grad


def gamma_gamma_expected_spend(
    params: Sequence[float], m: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """E[M | m, x] = (q-1)/(px+q-1) * p gamma/(q-1) + px/(px+q-1) * m.

    For x = 0 this is the population mean p gamma / (q - 1) (q > 1 required).
    """
    p, q, g = params
    m = np.nan_to_num(np.asarray(m, dtype=float), nan=0.0)
    x = np.asarray(x, dtype=float)
    return (p * (g + m * x)) / (p * x + q - 1.0)


# ---------------------------------------------------------------------- fitting core


def _numerical_hessian(
    grad: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, step: float = 1e-5
) -> np.ndarray:
    k = theta.size
    h = np.zeros((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        h[:, i] = (grad(theta + e) - grad(theta - e)) / (2 * step)
    return (h + h.T) / 2


def _fit(
    model: str,
    names: tuple[str, ...],
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    starts: list[np.ndarray],
    n_customers: int,
    ridge: frozenset[str] = frozenset(),
) -> tuple[np.ndarray, float, np.ndarray, int, tuple[str, ...]]:
    # Elementwise numpy work; a multi-threaded BLAS dot on a busy machine only
    # spins (measured 25x slower), so the whole fit runs on one BLAS thread.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_single_thread(model, names, objective, starts, n_customers, ridge)


def _fit_single_thread(
    model: str,
    names: tuple[str, ...],
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    starts: list[np.ndarray],
    n_customers: int,
    ridge: frozenset[str] = frozenset(),
) -> tuple[np.ndarray, float, np.ndarray, int, tuple[str, ...]]:
    best = None
    messages = []
    for start in starts:
        # further starting points only when the previous ones failed
        if best is not None and best.success and _interior(best.x):
            break
        res = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-LOG_BOUND, LOG_BOUND)] * len(names),
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-8},
        )
        if not np.isfinite(res.fun):
            messages.append("non-finite likelihood")
            continue
        if not res.success:
            messages.append(str(res.message))
        if best is None or res.fun < best.fun:
            best = res
    if best is None or not np.isfinite(best.fun):
        raise ClvFitError(
            f"{model} fit on {n_customers} customers did not converge from any starting "
            f"point ({'; '.join(messages) or 'no finite likelihood'})"
        )
    on_bound = {n for n, v in zip(names, best.x, strict=True) if abs(v) >= LOG_BOUND - 1e-6}
    grad_norm = float(np.max(np.abs(objective(best.x)[1])))
    # The gradient is of the summed log-likelihood, so scale the tolerance by n.
    if not on_bound and grad_norm > 1e-3 * max(1.0, n_customers) ** 0.5:
        raise ClvFitError(
            f"{model} fit on {n_customers} customers did not converge "
            f"(largest gradient {grad_norm:.3g} after {best.nit} iterations: {best.message})"
        )
    hess = _numerical_hessian(lambda th: objective(th)[1], best.x)
    se_log = _log_scale_errors(hess)
    weak = [n for n, v in zip(names, se_log, strict=True) if n in on_bound or not v <= MAX_SE_LOG]
    notes: list[str] = []
    if weak:
        if not set(weak) <= ridge:
            raise ClvFitError(
                f"{model} fit on {n_customers} customers is degenerate: {', '.join(weak)} "
                "not identified by the data (ran to 0 or infinity, or a flat likelihood)"
            )
        notes.append(
            f"{model}: {', '.join(weak)} not identified by the data (a flat ridge: the "
            "customers look alike on this dimension); predictions are still defined, but do "
            "not read these parameters"
        )
        se_log = np.where([n in weak for n in names], np.nan, se_log)
    theta = np.exp(best.x)
    return theta, -float(best.fun), theta * se_log, int(best.nit), tuple(notes)


def _log_scale_errors(hess: np.ndarray) -> np.ndarray:
    """Standard errors of the log-parameters from the Hessian of -LL.

    Directions of (numerically) zero or negative curvature are flat: every
    parameter loading on one gets an infinite error.
    """
    w, v = np.linalg.eigh(hess)
    tol = 1e-9 * max(float(np.max(np.abs(w))), 1e-300)
    var = np.zeros(hess.shape[0])
    for j in range(len(w)):
        if w[j] > tol:
            var += v[:, j] ** 2 / w[j]
        else:
            var = np.where(np.abs(v[:, j]) > 0.1, np.inf, var)
    return np.sqrt(var)


def _interior(theta: np.ndarray) -> bool:
    return bool(np.all(np.abs(theta) < LOG_BOUND - 1e-6))


def _compress(*cols: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows with their counts: the likelihood only depends on them."""
    stacked = np.column_stack(cols)
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype(float)


def fit_bgnbd(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> ModelFit:
    """Fit BG/NBD (r, alpha, a, b) by maximum likelihood (FHL 2005).

    Raises ClvFitError when the optimiser does not converge or a parameter runs
    to a bound.
    """
    x = np.asarray(x, dtype=float)
    tx = np.asarray(tx, dtype=float)
    T = np.asarray(T, dtype=float)
    n = x.size
    if n == 0:
        raise ClvFitError("BG/NBD fit: no customers with a purchase in the calibration period")
    if np.any(tx > T + 1e-9) or np.any(tx < 0) or np.any(x < 0):
        raise ClvFitError("BG/NBD fit: inconsistent summary (need 0 <= recency <= T, x >= 0)")
    (ux, utx, uT), w = _compress(x, tx, T)
    x_unique = _by_unique_x(ux)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return _bgnbd_neg_ll_and_grad(theta, ux, utx, uT, w, x_unique)

    scale = max(float(np.mean(T)), 1e-6)
    starts = [
        np.log([1.0, scale, 1.0, 1.0]),
        np.log([0.5, scale / 4, 0.5, 2.0]),
        np.zeros(4),
    ]
    # a, b -> infinity with a/(a+b) fixed is the same dropout probability for
    # everyone: a ridge the data may not resolve (ditto q, gamma in Gamma-Gamma).
    theta, ll, se, nit, notes = _fit("BG/NBD", ("r", "alpha", "a", "b"), objective, starts, n,
                                     frozenset({"a", "b"}))
    names = ("r", "alpha", "a", "b")
    return ModelFit(
        model="bgnbd",
        params=dict(zip(names, map(float, theta), strict=True)),
        std_errors=dict(zip(names, map(float, se), strict=True)),
        log_likelihood=ll,
        n_customers=n,
        iterations=nit,
        notes=notes,
    )


def fit_gamma_gamma(m: np.ndarray, x: np.ndarray) -> ModelFit:
    """Fit Gamma-Gamma (p, q, gamma) on repeat buyers' mean spend (Fader & Hardie note 025).

    Only customers with x > 0 and m > 0 are used (non-positive mean spend
    cannot come from the model); the count left out is noted in the result.
    Raises ClvFitError on non-convergence, a degenerate fit, or q <= 1 (the
    expected spend p gamma / (q - 1) would not exist).
    """
    m = np.asarray(m, dtype=float)
    x = np.asarray(x, dtype=float)
    use = (x > 0) & np.isfinite(m) & (m > 0)
    dropped = int(((x > 0) & ~use).sum())
    m, x = m[use], x[use]
    n = m.size
    if n == 0:
        raise ClvFitError("Gamma-Gamma fit: no repeat buyers with positive spend")
    (um, ux), w = _compress(m, x)
    x_unique = _by_unique_x(ux)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return _gg_neg_ll_and_grad(theta, um, ux, w, x_unique)

    mean_m = float(np.mean(m))
    starts = [np.log([1.0, 2.0, mean_m]), np.log([5.0, 5.0, mean_m]), np.zeros(3)]
    theta, ll, se, nit, fit_notes = _fit("Gamma-Gamma", ("p", "q", "gamma"), objective,
                                         starts, n, frozenset({"q", "gamma"}))
    if theta[1] <= 1.0:
        raise ClvFitError(
            f"Gamma-Gamma fit on {n} repeat buyers gives q = {theta[1]:.3g} <= 1: the "
            "expected spend per purchase does not exist (spend too heavy-tailed)"
        )
    notes: tuple[str, ...] = fit_notes
    if dropped:
        notes += (f"{dropped} repeat buyers with non-positive mean spend left out of the fit",)
    names = ("p", "q", "gamma")
    return ModelFit(
        model="gamma-gamma",
        params=dict(zip(names, map(float, theta), strict=True)),
        std_errors=dict(zip(names, map(float, se), strict=True)),
        log_likelihood=ll,
        n_customers=n,
        iterations=nit,
        notes=notes,
    )
