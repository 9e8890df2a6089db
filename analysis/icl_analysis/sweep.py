"""Training sweeps: the winner of each group by validation loss (the same ranking as
`icl-study select`, never by test risk), and the test risk of the winner's points with its mean
and spread over replicates and a bootstrap interval over seeds and prompts."""
import numpy as np

from .load import load, load_models


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _group(attrs):
    """The selection group of a model, named as icl-study select names it."""
    return (f"d={int(attrs['d'])};N={int(attrs['N'])};covariance={_text(attrs['covariance'])};"
            f"task={_text(attrs['task'])};model={_text(attrs['model'])}")


def winners(path, predictor="lsa", bootstrap=2000, seed=0, models=None):
    """One row per point axes (d, N, M, shift, covariance, task, model) of each group's winning
    variant (`ranking`): the test risk of `predictor` averaged over the replicates, its spread
    (standard deviation over replicates) and a 95% bootstrap interval that resamples the replicates
    (seeds) and redraws each estimate from its standard error (prompts). `models`: the file's
    load_models, when the caller has them already."""
    data = load(path)
    points = data["points"]
    models = load_models(path) if models is None else models
    best = {row["group"]: row["training"] for row in ranking(models) if row["selected"]}
    winning_keys = set()
    for key, entry in models.items():
        attrs = entry["attrs"]
        if best.get(_group(attrs)) == _text(attrs.get("training", "")):
            winning_keys.add(key)
    estimates = data["estimates"][predictor]
    series = {}
    for i in np.flatnonzero(points["status"] == 1):
        if points["model_key"][i] not in winning_keys:
            continue
        axes = tuple(points[c][i] for c in ("d", "N", "M", "shift", "covariance", "task", "model"))
        series.setdefault((axes, points["training"][i]), []).append(
            (estimates["risk"][i], estimates["stderr"][i]))
    rng = np.random.default_rng(seed)
    rows = []
    for (axes, label), values in series.items():
        risks = np.array([v[0] for v in values])
        errors = np.array([v[1] for v in values])
        k = len(risks)
        picks = rng.integers(0, k, size=(bootstrap, k))
        draws = (risks[picks] + rng.normal(0.0, 1.0, size=(bootstrap, k)) * errors[picks]).mean(axis=1)
        low, high = np.quantile(draws, [0.025, 0.975])
        rows.append(dict(zip(("d", "N", "M", "shift", "covariance", "task", "model"), axes),
                         training=label, predictor=predictor, replicates=k,
                         mean=float(risks.mean()),
                         spread=float(risks.std(ddof=1)) if k > 1 else float("nan"),
                         low=float(low), high=float(high)))
    return rows


def ranking(models):
    """Every candidate of every group of a file's models (load_models), as `icl-study select` ranks
    them: those that trained further first (successive halving), then by mean validation loss over
    replicates. Rows: group, training, replicates, validation_loss (mean), spread (over replicates),
    eliminated_at_steps (0: trained in full), diverged, selected (the group's winner: first, with a
    finite loss). A model without a validation loss (a file from before selection) is an error."""
    groups = {}
    for key, entry in models.items():
        attrs = entry["attrs"]
        if "validation_loss" not in attrs:
            raise ValueError(f"model {key} has no validation loss (written before selection existed)")
        key = (_group(attrs), _text(attrs.get("training", "")))
        row = groups.setdefault(key, {"losses": [], "eliminated": 0, "diverged": False})
        row["losses"].append(float(attrs["validation_loss"]))
        row["eliminated"] = int(attrs.get("eliminated_at_steps", 0))
        row["diverged"] |= "diverged" in attrs
    rows = []
    for (group, label), row in groups.items():
        losses = np.array(row["losses"])
        rows.append({"group": group, "training": label, "replicates": len(losses),
                     "validation_loss": float(losses.mean()),
                     "spread": float(losses.std(ddof=1)) if len(losses) > 1 else float("nan"),
                     "eliminated_at_steps": row["eliminated"], "diverged": row["diverged"]})
    reached = lambda r: r["eliminated_at_steps"] or np.inf  # noqa: E731
    rows.sort(key=lambda r: (r["group"], -reached(r), r["validation_loss"]))
    for i, r in enumerate(rows):
        first = i == 0 or rows[i - 1]["group"] != r["group"]
        r["selected"] = bool(first and np.isfinite(r["validation_loss"]))
    return rows


def is_sweep(models):
    """Whether a file's models (load_models) come from a training sweep (swept settings or
    replicates)."""
    return any(_text(e["attrs"].get("training", "")) or int(e["attrs"].get("replicate", 0)) > 0
               for e in models.values())
