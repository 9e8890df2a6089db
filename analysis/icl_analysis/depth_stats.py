"""The depth study's statistics (issue 19): does depth learn across random covariances, judged
from tuned, replicated training with intervals rather than from point estimates.

* Each (model, training law) is represented by the winner of its training sweep (chosen on
  validation loss, never test risk), with all of its replicates (independent seeds).
* The gap to OLS relative to the zero predictor, (risk − risk_OLS) / risk_zero, per replicate; its
  mean and median over replicates, with 95% bootstrap intervals that resample the replicates
  (seeds) and redraw every estimate from its standard error (prompts). OLS and zero are redrawn
  once per bootstrap draw and shared by every model, so a difference between two models does not
  carry their noise.
* M <= N (inside the training length) and M > N (beyond it) are summarised apart.
* The growth of the error with the test covariance's scale c, against what the polynomial degree
  of the model predicts. Scaling the inputs by sqrt(c) scales a prediction of degree k by c^(k/2),
  so at large c the error relative to the zero predictor (whose risk grows as c) grows as
  c^(k - 1). L steps of gradient descent, and the hand-built weights that implement them, have
  degree k = 2L + 1: exponent 2L. A general lsa-L is a polynomial of degree 3^L (each layer is
  cubic in its input): exponent 3^L - 1. The two agree at L = 1. The measured exponent is local
  (between the two largest scales), and lower-order terms can put it on either side of the limit."""
import re

import numpy as np

from .sweep import _group, ranking

LEVEL = 0.95


def interval(draws, axis=0):
    """The central 95% percentile interval of bootstrap draws."""
    return (np.quantile(draws, (1 - LEVEL) / 2, axis=axis),
            np.quantile(draws, (1 + LEVEL) / 2, axis=axis))


def bootstrap_gaps(series, ols, zero, draws=4000, seed=0):
    """series: {name: (risks, stderrs)}, each an array (replicates R, test points K); ols and zero:
    (risks, stderrs), arrays (K,). Returns {name: {"mean", "median": (K,) estimates over
    replicates; "mean_draws", "median_draws": (draws, K)}}."""
    rng = np.random.default_rng(seed)
    ols_risk, ols_se = (np.asarray(a, float) for a in ols)
    zero_risk, zero_se = (np.asarray(a, float) for a in zero)
    ols_draws = ols_risk + rng.normal(size=(draws, len(ols_risk))) * ols_se
    zero_draws = zero_risk + rng.normal(size=(draws, len(zero_risk))) * zero_se
    result = {}
    for name, (risks, stderrs) in series.items():
        risks, stderrs = np.atleast_2d(risks).astype(float), np.atleast_2d(stderrs).astype(float)
        replicates = risks.shape[0]
        gaps = (risks - ols_risk) / zero_risk
        picks = rng.integers(0, replicates, size=(draws, replicates))
        redrawn = risks[picks] + rng.normal(size=picks.shape + (risks.shape[1],)) * stderrs[picks]
        drawn_gaps = (redrawn - ols_draws[:, None, :]) / zero_draws[:, None, :]
        result[name] = {"mean": gaps.mean(axis=0), "median": np.median(gaps, axis=0),
                        "per_replicate": gaps,
                        "mean_draws": drawn_gaps.mean(axis=1),
                        "median_draws": np.median(drawn_gaps, axis=1)}
    return result


def compare(draws_a, draws_b):
    """a − b from paired bootstrap draws (draws,): estimate (the draws' median), interval and a
    verdict: 'lower' or 'higher' when the interval excludes 0, else 'no resolvable difference'."""
    difference = np.asarray(draws_a) - np.asarray(draws_b)
    lo, hi = interval(difference)
    verdict = "lower" if hi < 0 else "higher" if lo > 0 else "no resolvable difference"
    return float(np.median(difference)), float(lo), float(hi), verdict


def scale_exponent(by_scale, draws=4000, seed=0):
    """by_scale: {c: (risks (R,), stderrs (R,), zero_risk, zero_stderr)} at one M. The local
    exponent s of error / zero-risk ∝ c^s between the two largest scales, from the replicates'
    mean, with a bootstrap interval (replicates and prompts). Returns (s, lo, hi)."""
    scales = sorted(by_scale)[-2:]
    if len(scales) < 2:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(seed)
    logs, drawn = [], []
    for c in scales:
        risks, stderrs, zero, zero_se = by_scale[c]
        risks, stderrs = np.atleast_1d(risks).astype(float), np.atleast_1d(stderrs).astype(float)
        logs.append(np.log(risks.mean() / zero))
        picks = rng.integers(0, len(risks), size=(draws, len(risks)))
        redrawn = (risks[picks] + rng.normal(size=picks.shape) * stderrs[picks]).mean(axis=1)
        zeros = zero + rng.normal(size=draws) * zero_se
        drawn.append(np.log(np.maximum(redrawn, 1e-300) / zeros))
    width = np.log(scales[1] / scales[0])
    slope = (logs[1] - logs[0]) / width
    lo, hi = interval((drawn[1] - drawn[0]) / width)
    return float(slope), float(lo), float(hi)


def predicted_exponents(model):
    """The limits of the exponent that the polynomial degree gives, as {label: exponent}: for
    L-step GD (pgd-L) 2L; for lsa-L and lsa-L-gd both 2L (if the weights keep the GD structure) and
    3^L - 1 (general weights); 2 for ZFB's one layer; {} for softmax models, whose normalised
    attention is no polynomial."""
    if model == "lsa":
        return {"degree 3": 2}
    found = re.match(r"^(p?gd|lsa)-(\d+)(-gd)?$", model)
    if not found:
        return {}
    depth = int(found.group(2))
    if found.group(1) != "lsa" or depth == 1:
        return {f"degree {2 * depth + 1}": 2 * depth}
    return {f"GD structure, degree {2 * depth + 1}": 2 * depth,
            f"general, degree {3 ** depth}": 3 ** depth - 1}


def plateaued(losses, tolerance=0.02):
    """Whether a loss curve (at least 20 records) has levelled off: the mean of its last tenth is within `tolerance`
    (relative) of the mean of the tenth before. Returns (plateaued, relative fall)."""
    losses = np.asarray(losses, float)
    tenth = max(len(losses) // 10, 1)
    if len(losses) < 20 or not np.isfinite(losses[-2 * tenth:]).all():
        return False, np.nan
    before, last = losses[-2 * tenth:-tenth].mean(), losses[-tenth:].mean()
    fall = (before - last) / before
    return bool(fall < tolerance), float(fall)


def winner_labels(models):
    """{selection group: the winning training label} (sweep.ranking: validation loss only); empty
    for a file written before models had a validation loss (every row is then its own winner)."""
    try:
        return {row["group"]: row["training"] for row in ranking(models) if row["selected"]}
    except ValueError:
        return {}


def _is_model(name):
    return name == "lsa" or re.match(r"^(lsa-\d+(-gd)?|softmax-\d+-\d+)$", name) is not None


def winners_only(t, models):
    """The rows of t whose model was trained by its group's winner (every row of a file that is
    not a sweep)."""
    labels = winner_labels(models)
    keep = np.zeros(len(t["risk"]), dtype=bool)
    for i in range(len(keep)):
        group = _group({"d": t["d"][i], "N": t["N"][i], "covariance": t["covariance"][i],
                        "task": t["task"][i], "model": t["model"][i]})
        keep[i] = labels.get(group, t["training"][i]) == t["training"][i]
    return {k: v[keep] for k, v in t.items()}


def replicate_means(t):
    """t (winners_only) with each (axes, model, predictor) collapsed over replicates: risk the
    mean, stderr that of the mean (the spread over replicates / sqrt(R), or the prompts' for one
    replicate). What the figures draw."""
    keys = ("d", "N", "M", "shift", "covariance", "task", "model", "predictor")
    groups = {}
    for i in range(len(t["risk"])):
        groups.setdefault(tuple(t[k][i] for k in keys), []).append(i)
    out = {k: [] for k in (*keys, "risk", "stderr", "theory", "heavy_tailed", "replicates")}
    for key, rows in groups.items():
        for name, value in zip(keys, key):
            out[name].append(value)
        risks = t["risk"][rows]
        distinct = len(set(t["replicate"][rows]))
        out["risk"].append(risks.mean())
        out["stderr"].append(risks.std(ddof=1) / np.sqrt(len(risks)) if distinct > 1 and
                             np.ptp(risks) > 0 else float(np.mean(t["stderr"][rows])))
        out["theory"].append(t["theory"][rows][0])
        out["heavy_tailed"].append(bool(np.any(t["heavy_tailed"][rows])))
        out["replicates"].append(distinct)
    return {k: np.array(v, dtype=object if k in ("shift", "covariance", "task", "model",
                                                  "predictor") else None) for k, v in out.items()}


def _own_rows(t, model, **where):
    mask = (t["model"] == model) & (t["predictor"] == model)
    for key, value in where.items():
        mask &= t[key] == value
    return mask


def _series(t, model, ms, predictor=None, **where):
    """(risks, stderrs) arrays (replicates, len(ms)) of a model's own rows (or of `predictor`'s
    rows at the model's points), replicates in order; NaN where a point is missing."""
    mask = (t["predictor"] == (predictor or model))
    if predictor is None:
        mask &= t["model"] == model
    for key, value in where.items():
        mask &= t[key] == value
    replicates = sorted(set(t["replicate"][mask])) if predictor is None else [None]
    risks = np.full((len(replicates), len(ms)), np.nan)
    stderrs = np.full_like(risks, np.nan)
    for i in np.flatnonzero(mask):
        r = 0 if predictor is not None else replicates.index(t["replicate"][i])
        if t["M"][i] in ms and np.isnan(risks[r, ms.index(t["M"][i])]):
            risks[r, ms.index(t["M"][i])] = t["risk"][i]
            stderrs[r, ms.index(t["M"][i])] = t["stderr"][i]
    return risks, stderrs


def deep_models(t):
    """The models of a depth study present in t, ZFB's one layer first, then lsa-L, lsa-L-gd and
    softmax-L-H by depth."""
    names = {m for m in set(t["model"]) if _is_model(m)}

    def order(name):
        numbers = [int(x) for x in re.findall(r"\d+", name)]
        return (name != "lsa", name.startswith("softmax"), numbers, name.endswith("-gd"))
    return sorted(names, key=order)


def _depth_of(model):
    found = re.findall(r"\d+", model)
    return int(found[0]) if found else 1


def gap_rows(t, draws=4000, seed=0):
    """Per training law, test law, regime (M <= N, M > N) and model: the gap to OLS relative to
    the zero predictor averaged over the regime's M values, its statistic over replicates (the
    median where the errors are heavy-tailed, else the mean), a 95% interval, and the difference
    to ZFB's one layer with its interval and verdict. L-step preconditioned GD (pgd-L, tuned on the
    training law) comes as a model of one replicate. t: winners_only of a tidy table."""
    names = deep_models(t)
    if "lsa" not in names:
        return []
    d, n = int(t["d"][_own_rows(t, names[-1])].max()), int(t["N"][_own_rows(t, names[-1])].max())
    rows = []
    for training in sorted(set(t["covariance"][_own_rows(t, "lsa")]),
                           key=lambda c: (c != "identity", c)):
        for test in sorted(set(t["shift"][_own_rows(t, "lsa", covariance=training)])):
            where = dict(d=d, N=n, covariance=training, shift=test)
            ms = sorted(set(int(m) for m in t["M"][_own_rows(t, "lsa", **where)]))
            ols = [a[0] for a in _series(t, "lsa", ms, "ols", **where)]
            zero = [a[0] for a in _series(t, "lsa", ms, "zero", **where)]
            if np.isnan(ols[0]).any() or np.isnan(zero[0]).any():
                continue
            series, heavy = {}, {}
            for name in names:
                risks, stderrs = _series(t, name, ms, **where)
                if len(risks) and not np.isnan(risks).any():
                    series[name] = (risks, stderrs)
                    heavy[name] = bool(np.any(t["heavy_tailed"][_own_rows(t, name, **where)]))
            for k in sorted({_depth_of(m) for m in series if m.startswith("lsa-")} | {1}):
                model = "lsa" if k == 1 else f"lsa-{k}"
                risks, stderrs = _series(t, model, ms, f"pgd-{k}", **where)
                if not np.isnan(risks).any():
                    series[f"pgd-{k}"], heavy[f"pgd-{k}"] = (risks, stderrs), False
            gaps = bootstrap_gaps(series, ols, zero, draws=draws, seed=seed)
            for regime, columns in (("M <= N", [j for j, m in enumerate(ms) if m <= n]),
                                    ("M > N", [j for j, m in enumerate(ms) if m > n])):
                if not columns:
                    continue
                for name, g in gaps.items():
                    per = g["per_replicate"][:, columns].mean(axis=1)
                    outlier = len(per) > 2 and np.max(per) > 10 * max(np.median(per), 1e-12)
                    statistic = "median" if heavy[name] or outlier else "mean"
                    draws_of = lambda x: x[f"{statistic}_draws"][:, columns].mean(axis=1)  # noqa
                    value = float(g[statistic][columns].mean())
                    lo, hi = interval(draws_of(g))
                    row = {"training": training, "test": test, "regime": regime,
                           "M": ",".join(str(ms[j]) for j in columns), "model": name,
                           "replicates": len(g["per_replicate"]), "statistic": statistic,
                           "gap": value, "gap_lo": float(lo), "gap_hi": float(hi)}
                    if name != "lsa":
                        # The same statistic for both, so that the difference is like for like.
                        one = gaps["lsa"][f"{statistic}_draws"][:, columns].mean(axis=1)
                        est, dlo, dhi, verdict = compare(draws_of(g), one)
                        row.update(vs_one_layer=est, vs_lo=dlo, vs_hi=dhi, verdict=verdict)
                    rows.append(row)
    return rows


def exponent_rows(t, draws=4000, seed=0):
    """Per training law and model: the local exponent of error / zero-risk against the test
    covariance's scale c (random-cov-scale=c, the two largest c) at the largest M <= N, with its
    interval, beside the limits the polynomial degree predicts (predicted_exponents) and a verdict.
    t: winners_only of a tidy table."""
    scaled = {s: float(s.split("=")[1]) for s in set(t["shift"]) if s.startswith("random-cov-scale=")}
    names = deep_models(t)
    if len(scaled) < 2 or "lsa" not in names:
        return []
    rows = []
    for training in sorted(set(t["covariance"][_own_rows(t, "lsa")]),
                           key=lambda c: (c != "identity", c)):
        d = int(t["d"][_own_rows(t, "lsa", covariance=training)].max())
        n = int(t["N"][_own_rows(t, "lsa", covariance=training, d=d)].max())
        ms = [int(m) for m in set(t["M"][_own_rows(t, "lsa", covariance=training, d=d, N=n)])
              if m <= n]
        if not ms:
            continue
        m = max(ms)
        candidates = [(name, name, None) for name in names] + \
            [(f"pgd-{k}", "lsa" if k == 1 else f"lsa-{k}", f"pgd-{k}")
             for k in sorted({_depth_of(x) for x in names if x.startswith("lsa-")} | {1})]
        for label, model, predictor in candidates:
            by_scale = {}
            for shift, c in scaled.items():
                where = dict(d=d, N=n, covariance=training, shift=shift)
                risks, stderrs = _series(t, model, [m], predictor, **where)
                zero, zero_se = _series(t, "lsa", [m], "zero", **where)
                if len(risks) and not np.isnan(risks).any() and not np.isnan(zero).any():
                    by_scale[c] = (risks[:, 0], stderrs[:, 0], zero[0, 0], zero_se[0, 0])
            if len(by_scale) < 2:
                continue
            s, lo, hi = scale_exponent(by_scale, draws=draws, seed=seed)
            predicted = predicted_exponents(label)
            inside = [f"{value} ({name})" for name, value in predicted.items() if lo <= value <= hi]
            verdict = ("no polynomial (softmax)" if not predicted else
                       "consistent with " + " and ".join(inside) if inside else
                       "consistent with neither" if len(predicted) > 1 else "not consistent")
            top = sorted(by_scale)[-2:]
            rows.append({"training": training, "model": label, "M": m,
                         "scales": f"{top[0]:g} to {top[1]:g}", "exponent": s, "lo": lo, "hi": hi,
                         "predicted": ", ".join(f"{v} ({k})" for k, v in predicted.items()) or "-",
                         "verdict": verdict})
    return rows


def training_rows(models):
    """Per group's winner: its hyperparameters, replicates, validation loss (mean, min, max over
    replicates) beside the reference (the hand-built weights of L steps of preconditioned GD, L*
    for ZFB's one layer, on the same held-out prompts), and how many replicates' loss curves
    levelled off (plateaued). For lsa-L-gd, whether training kept, improved on or left the
    weights it started from."""
    labels = winner_labels(models)
    groups = {}
    for entry in models.values():
        attrs = entry["attrs"]
        group = _group(attrs)
        if labels.get(group) != attrs.get("training", "") or "reference_loss" not in attrs:
            continue
        groups.setdefault(group, []).append(entry)
    rows = []
    for group, entries in groups.items():
        attrs = entries[0]["attrs"]
        losses = np.array([float(e["attrs"]["validation_loss"]) for e in entries])
        errors = np.array([float(e["attrs"].get("validation_stderr", np.nan)) for e in entries])
        reference = float(attrs["reference_loss"])
        reference_se = float(attrs.get("reference_stderr", 0.0))
        minibatch = [e for e in entries if "step" in e and len(e["loss"]) > 10]
        flat = [plateaued(e["loss"])[0] for e in minibatch]
        model = str(attrs["model"])
        row = {"model": model, "covariance": str(attrs["covariance"]),
               "training": str(attrs.get("training", "")) or "(not swept)",
               "replicates": len(entries), "validation_loss": float(losses.mean()),
               "validation_min": float(losses.min()), "validation_max": float(losses.max()),
               "reference_loss": reference, "reference_step": float(attrs.get("reference_step", 1)),
               "ratio": float(losses.mean() / reference),
               "plateaued": f"{sum(flat)}/{len(flat)}" if minibatch else "(gradient flow)"}
        if model.endswith("-gd"):
            margin = 2 * np.sqrt(np.mean(errors**2) / len(errors) + reference_se**2)
            row["from_gd_weights"] = ("left them for a worse loss" if losses.mean() > reference + margin
                                      else "improved on them" if losses.mean() < reference - margin
                                      else "kept their loss")
        rows.append(row)
    # A group without a winner: every candidate diverged in at least one replicate (a candidate's
    # loss is the mean over its replicates), so the model is absent from the study's tables.
    ranked = ranking(models) if labels else []
    for group in sorted({r["group"] for r in ranked} - {r["group"] for r in ranked if r["selected"]}):
        fields = dict(part.split("=", 1) for part in group.split(";"))
        rows.append({"model": fields["model"], "covariance": fields["covariance"],
                     "training": "(none: every candidate diverged in at least one replicate)",
                     "replicates": sum(r["replicates"] for r in ranked if r["group"] == group),
                     "validation_loss": np.inf, "plateaued": "-"})
    order = {name: i for i, name in enumerate(deep_models({"model": np.array([r["model"] for r in rows])}))}
    rows.sort(key=lambda r: (r["covariance"] != "identity", r["covariance"], order[r["model"]]))
    return rows


def _gap_text(row):
    return f"{row['gap']:.3g} [{row['gap_lo']:.3g}, {row['gap_hi']:.3g}]"


def statement(gaps, exponents, trainings):
    """The depth study's answer in sentences, every number from the rows with its interval."""
    sentences = []
    failed = [r for r in trainings if r["training"].startswith("(none")]
    if failed:
        sentences.append("No winner, because every candidate diverged in at least one replicate: " +
                         ", ".join(f"{r['model']} trained on {r['covariance']}" for r in failed) +
                         " (these models are absent from the comparisons below; lower learning rates "
                         "are the remedy)")
    minibatch = [r for r in trainings if "/" in r["plateaued"]]
    if minibatch:
        flat = sum(int(r["plateaued"].split("/")[0]) for r in minibatch)
        total = sum(int(r["plateaued"].split("/")[1]) for r in minibatch)
        worst = max(minibatch, key=lambda r: r["ratio"])
        sentences.append(
            f"Training: {flat} of {total} winning replicates' loss curves levelled off (last tenth "
            f"within 2% of the tenth before); the winners' validation loss over that of the "
            f"hand-built L-step preconditioned-GD weights ranges up to {worst['ratio']:.3g} "
            f"({worst['model']}, trained on {worst['covariance']})")
    for r in trainings:
        if "from_gd_weights" in r:
            sentences.append(f"{r['model']} trained on {r['covariance']}, started at the GD weights, "
                             f"{r['from_gd_weights']} (validation loss {r['validation_loss']:.3g} "
                             f"against {r['reference_loss']:.3g})")
    tests = {(r["training"], r["test"]) for r in gaps}
    for training, test, label in (("random-exp", "random-cov-scale=1",
                                   "Across random covariances (trained on random-exp, tested on random covariances of scale 1)"),
                                  ("identity", "test-cov=identity", "In distribution (identity)")):
        if (training, test) not in tests:
            continue
        for regime in ("M <= N", "M > N"):
            rows = [r for r in gaps if (r["training"], r["test"], r["regime"]) == (training, test, regime)]
            one = [r for r in rows if r["model"] == "lsa"]
            if not one:
                continue
            learned = [r for r in rows if r.get("verdict") == "lower" and not r["model"].startswith("pgd")]
            worse = [r for r in rows if r.get("verdict") == "higher" and not r["model"].startswith("pgd")]
            models = [r for r in rows if r["model"] != "lsa" and not r["model"].startswith("pgd")]
            closest = min(rows, key=lambda r: r["gap"]) if rows else None
            text = (f"{label}, {regime} (M = {one[0]['M']}): the gap to OLS of ZFB's one layer is "
                    f"{_gap_text(one[0])}; ")
            text += ("below it with 95% confidence: " + ", ".join(
                f"{r['model']} {_gap_text(r)}" for r in learned) if learned else
                "no deeper model is below it with 95% confidence")
            if worse:
                text += "; above it: " + ", ".join(f"{r['model']} {_gap_text(r)}" for r in worse)
            unresolved = [r["model"] for r in models if r.get("verdict") == "no resolvable difference"]
            if unresolved:
                text += "; not resolvably different: " + ", ".join(unresolved)
            pgd = [r for r in rows if r["model"].startswith("pgd")]
            if pgd:
                text += "; L-step preconditioned GD: " + ", ".join(f"{r['model']} {_gap_text(r)}" for r in pgd)
            if closest is not None:
                reached = closest["gap_lo"] <= 0
                text += (f"; closest to OLS: {closest['model']} ({'reaches' if reached else 'does not reach'} "
                         "OLS within its interval)")
            sentences.append(text)
    for training in sorted({r["training"] for r in exponents}):
        rows = [r for r in exponents if r["training"] == training]
        sentences.append(
            f"Growth with the test covariance's scale (trained on {training}, c = {rows[0]['scales']}, "
            f"M = {rows[0]['M']}): error / zero-risk grows as c^s with " + ", ".join(
                f"{r['model']} s = {r['exponent']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]"
                + ("" if r["predicted"] == "-" else f" ({r['verdict']}; predicted {r['predicted']})")
                for r in rows))
    return " ".join(f"{s[0].upper()}{s[1:]}." for s in sentences)
