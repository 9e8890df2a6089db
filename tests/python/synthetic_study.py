"""A result file of the paper study's shape whose 'measured' risks are the exact risks of a chosen
one-layer model plus Gaussian Monte Carlo noise, and whose theory column is the closed form of the
correct model: the right model's file must pass every claim, a wrong model's must fail them.

The exact risks come from icl_analysis.theory (docs/mathematics.md, sections 4 and 6); the theory
columns are what icl-study writes for the model that gradient flow provably reaches."""
import h5py
import numpy as np

from icl_analysis import theory

DIM = 5
ANISOTROPIC = np.diag([2.5, 1.2, 0.7, 0.4, 0.2])
COVARIANCES = {"identity": np.eye(DIM), "diag:2.5,1.2,0.7,0.4,0.2": ANISOTROPIC}
N_VALUES = (10, 20, 40, 80)
M_VALUES = (10, 20, 40, 80, 160, 640)
# The floor block: B measured at very long prompts over N wide enough for the 1/N² regime.
FLOOR_N = (10, 40, 160, 640, 2560)
FLOOR_M = (10**5, 10**6, 10**7)
SHIFT_M = (5, 10, 20, 40, 80)
RANDOM_M = (10, 20, 40, 100, 200)
SCALES = (1 / 3, 1 / 2, 2, 3)
RELATIVE_STDERR = 0.004  # about what 50 000 prompts give


class Model:
    """The model whose risks the file reports: the right one, or one of the deliberate errors.

    scale:  the preconditioner is scale·Γ⁻¹ (and scale·b(N)·I under random covariances);
    extra_n: Γ is built with N + extra_n;
    tolerates_covariate_shift: under scale-x the model keeps its unshifted error relative to the
        zero predictor (what ZFB prove it cannot do);
    learns_random_covariances: under random covariances its error falls to OLS's as M grows;
    nonlinear_error: its nonlinear-task risks are off by this fraction."""

    def __init__(self, scale=1.0, extra_n=0, tolerates_covariate_shift=False, learns_random_covariances=False,
                 nonlinear_error=None):
        self.scale, self.extra_n = scale, extra_n
        # The relative error of the nonlinear tasks' risks (default: twice the preconditioner's).
        self.nonlinear_error = 2 * (scale - 1) if nonlinear_error is None else nonlinear_error
        self.tolerates_covariate_shift = tolerates_covariate_shift
        self.learns_random_covariances = learns_random_covariances

    def preconditioner(self, covariance, n):
        return self.scale * theory.flow_limit(covariance, n + self.extra_n)

    def random_scale(self, n):
        return self.scale * theory.random_exp_limit(DIM, n)


def _weights(v):
    """W_PV and W_KQ of the balanced split u = ‖V‖_F^{1/2}, U = V/u."""
    u = np.sqrt(np.linalg.norm(v))
    w_pv, w_kq = np.zeros((DIM + 1, DIM + 1)), np.zeros((DIM + 1, DIM + 1))
    w_pv[DIM, DIM] = u
    w_kq[:DIM, :DIM] = v / u
    return w_pv, w_kq


def _shift_law(shift):
    """(test covariance Λ', query second moment Q, task second moment Ω, prompt noise, query noise)
    on identity training inputs, or None for shifts without a closed form."""
    eye = np.eye(DIM)
    if shift == "none":
        return eye, eye, eye, 0.0, 0.0
    name, _, value = shift.partition("=")
    if name == "task-scale":
        return eye, eye, float(value) ** 2 * eye, 0.0, 0.0
    if name == "noisy":
        return eye, eye, eye, float(value) ** 2, float(value) ** 2
    if name == "query-cov":
        return eye, ANISOTROPIC, eye, 0.0, 0.0
    if name == "scale-x":
        return float(value) ** 2 * eye, float(value) ** 2 * eye, eye, 0.0, 0.0
    return None


def build(path, model, seed=1, floor_block=True):
    rng = np.random.default_rng(seed)
    points = {c: [] for c in ("d", "N", "M", "shift", "covariance", "task")}
    risks = {p: ([], [], []) for p in ("lsa", "ols", "zero")}  # risk, stderr, theory
    models = {}

    def add(n, m, shift, covariance, task, lsa_true, lsa_theory, ols, zero):
        for column, value in zip(points, (DIM, n, m, shift, covariance, task)):
            points[column].append(value)
        stderr = RELATIVE_STDERR * lsa_true
        for name, (true, se, th) in (("lsa", (lsa_true, stderr, lsa_theory)), ("ols", (ols, 0.0, ols)),
                                     ("zero", (zero, 0.0, zero))):
            risks[name][0].append(true + (rng.normal(0.0, se) if se > 0 else 0.0))
            risks[name][1].append(se)
            risks[name][2].append(th)

    def add_model(n, covariance, v):
        w_pv, w_kq = _weights(v)
        key = f"d={DIM};N={n};covariance={covariance};task=linear"
        entry = {"W_PV": w_pv, "W_KQ": w_kq, "attrs": {"d": DIM, "N": n, "covariance": covariance,
                                                         "task": "linear", "method": "flow", "model": "lsa"}}
        if covariance in COVARIANCES:
            entry["Lambda"] = COVARIANCES[covariance]
        models[key] = entry

    # Theorem 4.2 and the rates: every (N, M) for two covariances, and the floor block.
    for covariance, lam in COVARIANCES.items():
        floor_n = FLOOR_N if floor_block else ()
        for n in sorted(set(N_VALUES) | set(floor_n)):
            v, right = model.preconditioner(lam, n), theory.flow_limit(lam, n)
            add_model(n, covariance, v)
            a, b = theory.fixed_preconditioner_terms(v, lam)
            a0, b0 = theory.fixed_preconditioner_terms(right, lam)
            lengths = (M_VALUES if n in N_VALUES else ()) + (FLOOR_M if n in floor_n else ())
            for m in lengths:
                add(n, m, "none", covariance, "linear", a / m + b, a0 / m + b0, 0.0, np.trace(lam))
    # A nonlinear task: its closed form is taken as given (the linear one plus a best-linear risk);
    # a wrong model is off by the same factor as its preconditioner.
    lam = COVARIANCES["identity"]
    for n in (10, 40, 160):
        for m in (10, 40, 160):
            a0, b0 = theory.fixed_preconditioner_terms(theory.flow_limit(lam, n), lam)
            closed_form = a0 / m + b0 + 0.3
            add(n, m, "none", "identity", "relu", closed_form * (1 + model.nonlinear_error), closed_form,
                0.3 + DIM / m, DIM + 0.3)
    # Shifts at N = 40 on identity inputs.
    n = 40
    right, v = theory.flow_limit(lam, n), model.preconditioner(lam, n)
    shifts = ["none", "task-scale=2", "noisy=1", "query-cov=power:1", "overlapping-query"] + \
             [f"scale-x={c:.10g}" for c in SCALES]
    a_none, b_none = theory.fixed_preconditioner_terms(v, lam)
    for shift in shifts:
        law = _shift_law(shift)
        for m in SHIFT_M:
            if law is None:
                add(n, m, shift, "identity", "linear", a_none / m + b_none, np.nan, 0.0, np.trace(lam))
                continue
            test, query, task, noise, query_noise = law
            a, b = theory.fixed_preconditioner_terms(v, test, query, task, noise)
            a0, b0 = theory.fixed_preconditioner_terms(right, test, query, task, noise)
            zero = np.trace(query @ task) + query_noise
            true = a / m + b + query_noise
            if model.tolerates_covariate_shift and shift.startswith("scale-x"):
                true = zero * (a_none / m + b_none) / np.trace(lam)
            add(n, m, shift, "identity", "linear", true, a0 / m + b0 + query_noise,
                0.0 if m >= DIM and noise == 0 else np.nan, zero)
    # Random covariances (training and testing on scale·diag(Exp(1))).
    for n in (40, 100):
        b_right, b_model = theory.random_exp_limit(DIM, n), model.random_scale(n)
        add_model(n, "random-exp", b_model * np.eye(DIM))
        for shift, c in (("random-cov-scale=1", 1.0), ("random-cov-scale=4", 4.0)):
            for m in RANDOM_M:
                true = theory.random_exp_risk(DIM, b_model, c, m)
                if model.learns_random_covariances:
                    true = c * DIM * DIM / m
                add(n, m, shift, "random-exp", "linear", true, theory.random_exp_risk(DIM, b_right, c, m), 0.0,
                    c * DIM)
    _write(path, points, risks, models)
    return path


def _write(path, points, risks, models):
    count = len(points["d"])
    with h5py.File(path, "w") as f:
        f.attrs.update({"program": "icl-study", "schema_version": 1, "study": "synthetic", "seed": 1,
                        "config": "", "version": "test", "git_commit": "none", "created": "now",
                        "mpi_ranks": 1, "omp_threads": 1, "rng": "-", "hostname": "-", "shift": "0/1"})
        group = f.create_group("points")
        for column, values in points.items():
            if isinstance(values[0], str):
                group.create_dataset(column, data=values, dtype=h5py.string_dtype())
            else:
                group[column] = np.asarray(values)
        group["status"] = np.ones(count, dtype=np.uint8)
        f.create_dataset("predictors", data=list(risks), dtype=h5py.string_dtype())
        for name, (risk, stderr, closed_form) in risks.items():
            estimates = f.create_group(f"estimates/{name}")
            estimates["risk"], estimates["stderr"] = np.asarray(risk), np.asarray(stderr)
            estimates["prompts"] = np.full(count, 50000)
            f.require_group("theory")[name] = np.asarray(closed_form)
        for key, entry in models.items():
            group = f.require_group("models").create_group(key)
            group.attrs.update(entry["attrs"])
            for name in ("W_PV", "W_KQ", "Lambda"):
                if name in entry:
                    group[name] = entry[name]
            group["loss"] = np.zeros(1)
