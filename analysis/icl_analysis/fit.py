"""Convergence-rate fits: risk = a M^(-alpha) + b over M, slopes over N."""
import warnings

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit


def power_law(m, a, alpha, b):
    return a * np.power(m, -alpha) + b


def fit_power_law(m, risk, stderr, bootstrap=300, seed=0):
    """Weighted nonlinear least squares (weights 1/stderr²) of risk = a M^-alpha + b, with 95%
    intervals for alpha and b from a parametric bootstrap (risk redrawn as N(risk, stderr²) and
    refitted). Returns None when there are fewer than four points or the fit fails."""
    m, risk, stderr = (np.asarray(x, dtype=float) for x in (m, risk, stderr))
    if len(m) < 4 or not np.all(np.isfinite(risk)) or not np.all(stderr > 0):
        return None

    def one_fit(values, p0=None, maxfev=20000):
        if p0 is None:
            p0 = (max(values[0] - values[-1], 1e-12) * m[0], 1.0, max(values[-1] * 0.5, 0.0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            params, _ = curve_fit(power_law, m, values, p0=p0, sigma=stderr, absolute_sigma=True,
                                  bounds=([0.0, 0.0, 0.0], [np.inf, 5.0, np.inf]), maxfev=maxfev)
        return params

    try:
        a, alpha, b = one_fit(risk)
    except (RuntimeError, ValueError):
        return None
    rng = np.random.default_rng(seed)
    samples = []
    # Each refit starts from the fit itself, with a bounded effort: a series that is no power law
    # (an untrained deep model's risks, say) must not keep the report busy for minutes.
    start = (max(a, 1e-300), min(max(alpha, 1e-9), 5.0 - 1e-9), max(b, 0.0))
    failures = 0
    for _ in range(bootstrap):
        try:
            samples.append(one_fit(risk + rng.normal(0.0, stderr), p0=start, maxfev=2000))
        except (RuntimeError, ValueError):
            failures += 1
            if failures >= 20 and not samples:
                break  # the refits do not converge: no interval
            continue
    samples = np.array(samples)
    residual = (risk - power_law(m, a, alpha, b)) / stderr
    result = {"a": a, "alpha": alpha, "b": b, "chi2": float(residual @ residual), "dof": len(m) - 3}
    for index, name in ((1, "alpha"), (2, "b")):
        lo, hi = (np.percentile(samples[:, index], [2.5, 97.5]) if len(samples) > 10 else (np.nan, np.nan))
        result[f"{name}_lo"], result[f"{name}_hi"] = float(lo), float(hi)
    result["b_samples"] = samples[:, 2] if len(samples) else np.array([])
    return result


def log_log_slope(x, y, y_stderr=None):
    """Weighted least-squares slope of log y against log x with a 95% interval (normal
    approximation). Returns (slope, lo, hi) or None."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = (x > 0) & (y > 0) & np.isfinite(y)
    if keep.sum() < 3:
        return None
    lx, ly = np.log(x[keep]), np.log(y[keep])
    if y_stderr is None:
        w = np.ones_like(lx)
    else:
        rel = np.asarray(y_stderr, dtype=float)[keep] / y[keep]
        # Exact values (stderr 0, e.g. the zero predictor under the sufficient-statistic sampler)
        # and values lost in their own error (a floor of rounding size) are clipped, so that the
        # weights stay finite and the normal equations solvable.
        w = 1.0 / np.clip(rel, 1e-12, 1e6) ** 2
    design = np.vstack([np.ones_like(lx), lx]).T
    try:
        cov = np.linalg.inv(design.T @ (design * w[:, None]))
    except np.linalg.LinAlgError:
        return None
    coef = cov @ design.T @ (w * ly)
    residual = ly - design @ coef
    dof = max(len(lx) - 2, 1)
    scale = max((w * residual**2).sum() / dof, 1.0) if y_stderr is not None else (residual**2).sum() / dof
    if y_stderr is None:
        cov = np.linalg.inv(design.T @ design) * scale
    else:
        cov = cov * scale
    se = float(np.sqrt(max(cov[1, 1], 0.0)))
    return float(coef[1]), float(coef[1] - 1.96 * se), float(coef[1] + 1.96 * se)


def affine_in_inverse_m(m, theory):
    """Theory risks of a fixed preconditioner are exactly A/M + B: return (A, B) from the two largest M
    (None if unavailable)."""
    m, theory = np.asarray(m, dtype=float), np.asarray(theory, dtype=float)
    keep = np.isfinite(theory)
    if keep.sum() < 2:
        return None
    order = np.argsort(m[keep])
    m1, m2 = m[keep][order][-2:]
    r1, r2 = theory[keep][order][-2:]
    slope = (r1 - r2) / (1.0 / m1 - 1.0 / m2)
    return slope, r2 - slope / m2


def affine_fit(m, risk, stderr):
    """Weighted least squares of risk = A/M + B (exact for any fixed preconditioner): ((A, B), cov)."""
    design = np.vstack([1.0 / np.asarray(m, dtype=float), np.ones(len(m))]).T
    weights = 1.0 / np.asarray(stderr, dtype=float) ** 2
    cov = np.linalg.inv(design.T @ (design * weights[:, None]))
    return cov @ design.T @ (weights * np.asarray(risk, dtype=float)), cov


def exact_affine(m, values):
    """(A, B) of values that are exactly A/M + B (the closed forms), by least squares over every M."""
    design = np.vstack([1.0 / np.asarray(m, dtype=float), np.ones(len(m))]).T
    return np.linalg.lstsq(design, np.asarray(values, dtype=float), rcond=None)[0]
