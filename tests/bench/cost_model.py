"""The partition's cost model against measured per-point times (issues 9c and 21).

    /usr/bin/python3 tests/bench/cost_model.py results/paper.h5

Prints the correlation of predicted and measured seconds per point and the spread of their ratio.
Then re-fits the plain sampler's coefficients (estimated_point_seconds in
src/evaluation/monte_carlo.cpp) to the measured one-core times by non-negative least squares on
the same terms: a constant per prompt, the d(M + 2) normals, and each predictor's own term. The fit
is what the C++ coefficients are set from after a change of speed (docs: README "Performance")."""
import sys

import h5py
import numpy as np
from scipy.optimize import nnls

# Per-prompt terms of the plain sampler's cost model, as in estimated_point_seconds (the one-layer
# models; the deep ones and gd-L are priced by their own formulas and left out of the fit).
TERMS = {
    "per prompt": lambda d, m: np.ones_like(d),
    "normals d(M+2)": lambda d, m: d * (m + 2),
    "ols M d min(M, d)": lambda d, m: m * d * np.minimum(m, d),
    "knn3 M d": lambda d, m: m * d,
    "lsa M d + d^2": lambda d, m: m * d + d * d,
    "lsa-theory d^2": lambda d, m: d * d,
}
NEEDS = {"ols M d min(M, d)": "ols", "knn3 M d": "knn3", "lsa M d + d^2": "lsa",
         "lsa-theory d^2": "lsa-theory"}


def fit_plain(f, done, measured_one_core):
    """Coefficients (seconds) of each term, fitted to the plain sampler's points."""
    sampler = np.array([s.decode() if isinstance(s, bytes) else s for s in f["points/sampler"][()]])
    predictors = list(f["estimates"].keys())
    prompts = f[f"estimates/{predictors[0]}/prompts"][()].astype(float)
    d = f["points/d"][()].astype(float)
    m = f["points/M"][()].astype(float)
    use = done & (sampler == "plain")
    if use.sum() < 10:
        print(f"fit: only {use.sum()} points on the plain sampler; run with study.sampler=plain")
        return
    names = [t for t in TERMS if t not in NEEDS or NEEDS[t] in predictors]
    design = np.column_stack([prompts[use] * TERMS[t](d[use], m[use]) for t in names])
    target = measured_one_core[use]
    # Relative errors matter (the partition balances proportions): weight each point by 1/time.
    weight = 1.0 / target
    coefficients, _ = nnls(design * weight[:, None], target * weight)
    fitted = design @ coefficients
    print(f"\nfit of the plain sampler's per-prompt terms ({use.sum()} points, weighted least "
          "squares on relative error, non-negative):")
    for name, value in zip(names, coefficients):
        print(f"  {name:20s} {value:.3g} s")
    ratio = fitted / target
    print(f"  fitted/measured: correlation {np.corrcoef(fitted, target)[0, 1]:.4f}, median ratio "
          f"{np.median(ratio):.3f} (10% {np.percentile(ratio, 10):.3f}, 90% "
          f"{np.percentile(ratio, 90):.3f})")


def main(path):
    with h5py.File(path, "r") as f:
        done = f["points/status"][()] == 1
        measured = f["points/seconds"][()][done]
        predicted = f["points/estimated_seconds"][()][done]
        threads = int(f.attrs["omp_threads"])
    # A point's wall time on T threads is about its one-core time / T.
    predicted = predicted / threads
    ratio = predicted / measured
    print(f"{path}: {done.sum()} points, {measured.sum():.1f} s measured, {predicted.sum():.1f} s predicted")
    print(f"correlation(predicted, measured) = {np.corrcoef(predicted, measured)[0, 1]:.4f}")
    print(f"log-correlation                 = {np.corrcoef(np.log(predicted), np.log(measured))[0, 1]:.4f}")
    print(f"predicted / measured: median {np.median(ratio):.3f}, 10% {np.percentile(ratio, 10):.3f}, "
          f"90% {np.percentile(ratio, 90):.3f}")
    with h5py.File(path, "r") as f:
        done_all = f["points/status"][()] == 1
        one_core = np.zeros(done_all.shape)
        one_core[done_all] = f["points/seconds"][()][done_all] * threads
        fit_plain(f, done_all, one_core)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/paper.h5")
