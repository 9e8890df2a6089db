"""The depth study's statistics (analysis/icl_analysis/depth_stats.py) against planted answers:
two models whose gap to OLS differs by a known amount, two that do not differ, the coverage of the
intervals over many synthetic studies, a planted growth exponent, and loss curves that have or have
not levelled off. Each check has its negative control beside it."""
import sys

import numpy as np

from conftest import ROOT

sys.path.insert(0, str(ROOT / "analysis"))
from icl_analysis import depth_stats as ds  # noqa: E402

OLS = (np.array([1.0, 0.5, 0.2]), np.array([0.02, 0.01, 0.005]))
ZERO = (np.array([10.0, 10.0, 10.0]), np.array([0.2, 0.2, 0.2]))


def synthetic(gap, replicates, rng, spread=0.03, prompt_se=0.1):
    """risk = OLS + gap · zero per replicate, with a seed-to-seed spread of the gap and prompt noise
    of standard error prompt_se (as the estimates of a run would have)."""
    gaps = gap + spread * rng.normal(size=(replicates, 1))
    risks = OLS[0] + gaps * ZERO[0] + prompt_se * rng.normal(size=(replicates, 3))
    return risks, np.full_like(risks, prompt_se)


def regime(result, name, statistic="mean"):
    return result[name][f"{statistic}_draws"].mean(axis=1)


def test_planted_difference_is_found_with_its_size():
    rng = np.random.default_rng(1)
    series = {"a": synthetic(0.20, 5, rng), "b": synthetic(0.30, 5, rng)}
    result = ds.bootstrap_gaps(series, OLS, ZERO, draws=4000, seed=2)
    estimate, lo, hi, verdict = ds.compare(regime(result, "a"), regime(result, "b"))
    assert verdict == "lower"
    assert lo < -0.1 < hi  # the planted difference lies in the interval
    assert abs(estimate + 0.1) < 0.05
    # The gap itself: each model's interval covers its planted value.
    for name, planted in (("a", 0.2), ("b", 0.3)):
        low, high = ds.interval(regime(result, name))
        assert low < planted < high


def test_planted_null_is_not_called_a_difference():
    rng = np.random.default_rng(3)
    series = {"a": synthetic(0.25, 5, rng), "b": synthetic(0.25, 5, rng)}
    result = ds.bootstrap_gaps(series, OLS, ZERO, draws=4000, seed=4)
    _, lo, hi, verdict = ds.compare(regime(result, "a"), regime(result, "b"))
    assert verdict == "no resolvable difference" and lo < 0 < hi
    # Negative control: the same data with b shifted by the planted 0.1 is called a difference.
    shifted = (series["b"][0] + 0.1 * ZERO[0], series["b"][1])
    result = ds.bootstrap_gaps({"a": series["a"], "b": shifted}, OLS, ZERO, draws=4000, seed=4)
    assert ds.compare(regime(result, "a"), regime(result, "b"))[3] == "lower"


def test_intervals_cover_the_planted_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(5)
    studies, covered, null_calls = 200, 0, 0
    for _ in range(studies):
        series = {"a": synthetic(0.20, 5, rng), "b": synthetic(0.30, 5, rng),
                  "c": synthetic(0.20, 5, rng)}
        result = ds.bootstrap_gaps(series, OLS, ZERO, draws=800, seed=int(rng.integers(1 << 31)))
        _, lo, hi, _ = ds.compare(regime(result, "a"), regime(result, "b"))
        covered += lo < -0.1 < hi
        null_calls += ds.compare(regime(result, "a"), regime(result, "c"))[3] != "no resolvable difference"
    # A percentile bootstrap over 5 seeds is somewhat narrow; 0.85 is its stated floor here.
    assert covered / studies > 0.85, covered
    assert null_calls / studies < 0.15, null_calls


def test_medians_resist_a_diverged_replicate_where_means_do_not():
    rng = np.random.default_rng(6)
    risks, stderrs = synthetic(0.2, 5, rng)
    risks[0] *= 1e6  # one seed blew up on rare prompts
    result = ds.bootstrap_gaps({"a": (risks, stderrs)}, OLS, ZERO, draws=2000, seed=7)
    assert abs(result["a"]["median"].mean() - 0.2) < 0.05
    assert result["a"]["mean"].mean() > 1e4  # the negative control: the mean is ruined


def test_planted_growth_exponent_is_recovered():
    # error / zero-risk = 0.01 c^4 + 0.3: the local exponent between c = 4 and 9 is known exactly.
    rng = np.random.default_rng(8)
    exact = lambda c: 0.01 * c**4 + 0.3  # noqa: E731
    by_scale = {}
    for c in (1.0, 4.0, 9.0):
        zero = 5.0 * c
        risks = exact(c) * zero * (1 + 0.01 * rng.normal(size=5))
        by_scale[c] = (risks, 0.005 * risks, zero, 0.005 * zero)
    s, lo, hi = ds.scale_exponent(by_scale, draws=2000, seed=9)
    local = np.log(exact(9) / exact(4)) / np.log(9 / 4)
    assert lo < local < hi and abs(s - local) < 0.05
    assert not lo < 2.0 < hi  # negative control: the exponent of a degree-3 model is excluded
    assert ds.predicted_exponents("lsa-2") == {"GD structure, degree 5": 4, "general, degree 9": 8}
    assert ds.predicted_exponents("pgd-3") == {"degree 7": 6}
    assert ds.predicted_exponents("lsa") == {"degree 3": 2}
    assert ds.predicted_exponents("softmax-2-4") == {}


def test_plateau_detection():
    steps = np.arange(200)
    rng = np.random.default_rng(10)
    flat = 0.5 + 0.5 * np.exp(-steps / 10) + 0.01 * rng.normal(size=200)
    falling = 0.5 + 5 * np.exp(-steps / 150)
    assert ds.plateaued(flat)[0]
    assert not ds.plateaued(falling)[0]
    assert not ds.plateaued(np.r_[flat[:-1], np.inf])[0]  # a diverged tail
    assert not ds.plateaued(flat[:15])[0]  # too short to judge


def test_winners_only_keeps_the_validation_winner_and_every_replicate():
    def model(label, replicate, loss, name="lsa-2"):
        return {"attrs": {"d": 5, "N": 10, "covariance": "identity", "task": "linear", "model": name,
                          "training": label, "replicate": replicate, "validation_loss": loss}}
    models = {"a0": model("lr=1", 0, 1.0), "a1": model("lr=1", 1, 1.2),
              "b0": model("lr=2", 0, 0.7), "b1": model("lr=2", 1, 0.9)}
    t = {"d": np.array([5] * 4), "N": np.array([10] * 4), "covariance": np.array(["identity"] * 4, dtype=object),
         "task": np.array(["linear"] * 4, dtype=object), "model": np.array(["lsa-2"] * 4, dtype=object),
         "training": np.array(["lr=1", "lr=1", "lr=2", "lr=2"], dtype=object),
         "replicate": np.array([0, 1, 0, 1]), "risk": np.array([1.0, 2.0, 3.0, 4.0])}
    kept = ds.winners_only(t, models)
    assert list(kept["training"]) == ["lr=2", "lr=2"] and list(kept["replicate"]) == [0, 1]
    # A file from before validation losses: every row stays.
    old = {k: {"attrs": {a: v for a, v in m["attrs"].items() if a != "validation_loss"}}
           for k, m in models.items()}
    assert len(ds.winners_only(t, old)["risk"]) == 4


def test_a_model_whose_every_candidate_diverged_is_reported_not_dropped():
    def model(name, label, replicate, loss):
        return {"attrs": {"d": 5, "N": 10, "covariance": "identity", "task": "linear", "model": name,
                          "training": label, "replicate": replicate, "validation_loss": loss,
                          "reference_loss": 1.0, "validation_stderr": 0.01}}
    models = {"a0": model("lsa-2", "lr=1", 0, 0.9), "a1": model("lsa-2", "lr=1", 1, 1.1),
              "b0": model("lsa-4", "lr=1", 0, 0.5), "b1": model("lsa-4", "lr=1", 1, np.inf),
              "c0": model("lsa-4", "lr=2", 0, np.inf), "c1": model("lsa-4", "lr=2", 1, 0.4)}
    rows = ds.training_rows(models)
    assert [r["model"] for r in rows] == ["lsa-2", "lsa-4"]
    assert rows[1]["training"].startswith("(none") and rows[1]["replicates"] == 4
    assert "No winner" in ds.statement([], [], rows) and "lsa-4 trained on identity" in ds.statement([], [], rows)
    # Negative control: with one candidate finite in every replicate there is a winner.
    models["c1"]["attrs"]["validation_loss"], models["c0"]["attrs"]["validation_loss"] = 0.4, 0.45
    assert "No winner" not in ds.statement([], [], ds.training_rows(models))


def test_gd_start_verdict_kept_improved_or_left():
    def models_with(losses):
        return {f"r{i}": {"attrs": {"d": 5, "N": 10, "covariance": "identity", "task": "linear",
                                    "model": "lsa-2-gd", "training": "", "replicate": i,
                                    "validation_loss": loss, "validation_stderr": 0.01,
                                    "reference_loss": 1.0, "reference_stderr": 0.01}}
                for i, loss in enumerate(losses)}
    verdict = lambda losses: ds.training_rows(models_with(losses))[0]["from_gd_weights"]  # noqa: E731
    assert verdict([1.0, 1.01, 0.99]) == "kept their loss"
    assert verdict([0.5, 0.6, 0.55]) == "improved on them"
    assert verdict([1.5, 1.4, 1.6]) == "left them for a worse loss"
