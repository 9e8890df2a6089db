"""icl-study against what a user would otherwise write: a vectorised NumPy estimator of the same
risks (README "Performance", issue 9b and 9.4).

    /usr/bin/python3 tests/bench/numpy_compare.py [build/bin/icl-study]

Cell: lsa-theory + gd1 + zero at d = 20, N = 40, covariance power:1 (Λ_i ∝ 1/i, trace d), M = 40
and M = 640; one thread each (OMP/OpenBLAS pinned to 1), the same number of prompts, the median of three rounds. Both sides
are timed as whole programs, wall time from start to exit: `icl-study run` (configuration, run,
result file), and a Python process that imports NumPy and runs the estimator. Prints, per cell:
prompts per second of NumPy, of icl-study's plain sampler and of its sufficient-statistic
sampler, the ratios, the estimates with their standard errors next to
the closed form, and the time each needs to reach a 0.1% relative standard error on lsa-theory
(from the measured per-prompt variance and rate)."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

D, N = 20, 40
PROMPTS = {40: 200_000, 640: 20_000}
BATCH = 2000
REPEATS = 3


def covariance():
    lam = 1.0 / np.arange(1, D + 1)
    return lam * D / lam.sum()


def numpy_estimate(m, prompts, seed=1):
    """Plain Monte Carlo, vectorised over batches of prompts: the squared errors of the three
    predictors, accumulated in float64."""
    rng = np.random.default_rng(seed)
    lam = covariance()
    root = np.sqrt(lam)
    gamma = (1 + 1 / N) * np.diag(lam) + lam.sum() / N * np.eye(D)
    v = np.linalg.inv(gamma)
    sums = np.zeros(3)
    squares = np.zeros(3)
    done = 0
    while done < prompts:
        b = min(BATCH, prompts - done)
        x = rng.standard_normal((b, m, D)) * root
        w = rng.standard_normal((b, D))
        xq = rng.standard_normal((b, D)) * root
        y = np.einsum("bmd,bd->bm", x, w)
        h = np.einsum("bmd,bm->bd", x, y) / m
        yq = np.einsum("bd,bd->b", w, xq)
        errors = np.stack([
            np.einsum("bd,bd->b", h @ v, xq) - yq,   # lsa-theory: hᵀ Γ⁻¹ x_q
            np.einsum("bd,bd->b", h, xq) - yq,       # gd1
            -yq,                                     # zero
        ]) ** 2
        sums += errors.sum(axis=1)
        squares += (errors ** 2).sum(axis=1)
        done += b
    mean = sums / prompts
    variance = (squares - prompts * mean ** 2) / (prompts - 1)
    return mean, np.sqrt(variance / prompts), variance


CONFIG = """[study]
name = "numpy-compare"
seed = 1
prompts = {prompts}
sampler = "{sampler}"
[grid]
d = [20]
N = [40]
M = [{m}]
covariance = ["power:1"]
[training]
method = "closed-form"
[evaluation]
predictors = ["lsa-theory", "gd1", "zero"]
"""


def numpy_program(m, prompts):
    """numpy_estimate as a whole program: a fresh interpreter that imports NumPy (this file) and
    runs it. Returns the wall time and the estimates."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--numpy", str(m), str(prompts)], check=True,
                         capture_output=True, text=True).stdout
    seconds = time.perf_counter() - start
    mean, se, variance = (np.array(v) for v in json.loads(out))
    return seconds, mean, se, variance


def icl_estimate(binary, m, prompts, sampler, folder):
    config = folder / f"{sampler}-{m}.toml"
    config.write_text(CONFIG.format(prompts=prompts, sampler=sampler, m=m))
    out = folder / f"{sampler}-{m}.h5"
    start = time.perf_counter()
    subprocess.run([binary, "run", config, "-o", out, "--threads", "1", "--progress", "off",
                    "--force"], check=True)
    seconds = time.perf_counter() - start
    rows = subprocess.run([binary, "export", out], check=True, capture_output=True,
                          text=True).stdout.splitlines()
    header = rows[0].split(",")
    table = [dict(zip(header, r.split(","))) for r in rows[1:]]
    mean = np.array([float(r["risk"]) for r in table])
    stderr = np.array([float(r["stderr"]) for r in table])
    theory = np.array([float(r["theory"]) for r in table])
    return seconds, mean, stderr, theory


def main(binary):
    print(f"d = {D}, N = {N}, covariance power:1, predictors lsa-theory, gd1, zero; one thread each")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for m, prompts in PROMPTS.items():
            # REPEATS rounds, the three programs one after another in each, and the median time
            # of each: a shared machine's slow spells hit all three alike.
            times = {"numpy": [], "plain": [], "sufficient": []}
            for _ in range(REPEATS):
                np_seconds, np_mean, np_se, np_var = numpy_program(m, prompts)
                plain = icl_estimate(binary, m, prompts, "plain", folder)
                sufficient = icl_estimate(binary, m, prompts, "sufficient", folder)
                for name, seconds in (("numpy", np_seconds), ("plain", plain[0]),
                                      ("sufficient", sufficient[0])):
                    times[name].append(seconds)
            rate = {name: prompts / float(np.median(t)) for name, t in times.items()}
            print(f"\nM = {m}, {prompts} prompts")
            print(f"  prompts/s: numpy {rate['numpy']:.0f}, icl-study plain {rate['plain']:.0f} "
                  f"({rate['plain'] / rate['numpy']:.1f}x numpy), sufficient {rate['sufficient']:.0f} "
                  f"({rate['sufficient'] / rate['numpy']:.1f}x numpy)")
            theory = plain[3]
            for k, name in enumerate(("lsa-theory", "gd1", "zero")):
                print(f"  {name:10s} theory {theory[k]:.5g}; numpy {np_mean[k]:.5g} ± {np_se[k]:.2g}; "
                      f"plain {plain[1][k]:.5g} ± {plain[2][k]:.2g}; sufficient {sufficient[1][k]:.5g} "
                      f"± {sufficient[2][k]:.2g}; variance reduction x"
                      + (f"{(plain[2][k] / sufficient[2][k]) ** 2:.3g}" if sufficient[2][k] > 0 else "inf (exact)"))
            # Time to a 0.1% relative standard error on lsa-theory: prompts needed = n (se/0.001 r)².
            def seconds_to_target(se, mean, prompts_per_second):
                needed = prompts * (se / (1e-3 * mean)) ** 2
                return needed / prompts_per_second
            t_np = seconds_to_target(np_se[0], np_mean[0], rate["numpy"])
            t_plain = seconds_to_target(plain[2][0], plain[1][0], rate["plain"])
            t_suff = seconds_to_target(sufficient[2][0], sufficient[1][0], rate["sufficient"])
            print(f"  time to 0.1% relative standard error on lsa-theory: numpy {t_np:.1f} s, "
                  f"plain {t_plain:.1f} s, sufficient {t_suff:.2f} s: sufficient is "
                  f"{t_plain / t_suff:.0f}x faster than plain and {t_np / t_suff:.0f}x faster than numpy")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--numpy":
        print(json.dumps([v.tolist() for v in numpy_estimate(int(sys.argv[2]), int(sys.argv[3]))]))
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "build/bin/icl-study")
