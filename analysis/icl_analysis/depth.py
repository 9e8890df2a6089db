"""Beyond the paper (issue 11): do deeper linear-attention models learn across random covariances?

ZFB's Figure 1 layout with the lsa-L models added, and the gap to OLS against depth, measured."""
import re

import numpy as np

from .figures import _log_ticks, _save, _select, plt
from .sweep import _group

_DEEP = re.compile(r"^lsa-(\d+)$")


def depths(t):
    """The lsa-L rows present, as {L: name}, by depth."""
    found = {int(m.group(1)): name for name in set(t["predictor"]) if (m := _DEEP.match(name))}
    return dict(sorted(found.items()))


def softmax_models(t):
    """The softmax-L-H rows present, by depth then heads."""
    names = [n for n in set(t["predictor"]) if re.match(r"^softmax-\d+-\d+$", n)]
    return sorted(names, key=lambda n: tuple(int(x) for x in n.split("-")[1:]))


def _tests(t):
    shifts = set(t["shift"][np.isin(t["predictor"], list(depths(t).values()) + softmax_models(t))])
    scale = lambda s: float(s.split("=")[1]) if s.startswith("random-cov-scale") else 0.0
    return sorted(shifts, key=scale)


def _series(t, predictor, **where):
    r = _select(t, predictor=predictor, **where)
    order = np.argsort(t["M"][r])
    return t["M"][r][order], t["risk"][r][order], t["stderr"][r][order]


def _setting(t):
    deep = np.isin(t["predictor"], list(depths(t).values()) + softmax_models(t))
    return int(t["d"][deep].max()), int(t["N"][deep].max())


def depth_panels(t, folder, name):
    """Rows: training covariance; columns: test law; error / d against M for ZFB's one layer (black),
    lsa-L (colour by L, solid), lsa-L-gd (same colour, crosses), L steps of preconditioned GD with a
    tuned step (same colour, dashed), softmax models (red) and OLS (grey, dotted)."""
    d, n = _setting(t)
    # ZFB's two training laws first, then any other covariance the deep models were trained on.
    deep = np.isin(t["predictor"], list(depths(t).values()) + softmax_models(t))
    present = set(t["covariance"][deep])
    trainings = [c for c in ("identity", "random-exp") if c in present] + \
        sorted(present - {"identity", "random-exp"})
    tests = _tests(t)
    drawn_names = set(t["predictor"])
    fig, axes = plt.subplots(len(trainings), len(tests), figsize=(3.6 * len(tests), 3.2 * len(trainings)),
                             squeeze=False)
    colours = plt.cm.viridis(np.linspace(0, 0.85, max(len(depths(t)), 1)))
    softmax_colours = plt.cm.autumn(np.linspace(0.0, 0.75, max(len(softmax_models(t)), 1)))
    for row, training in enumerate(trainings):
        for col, test in enumerate(tests):
            ax = axes[row][col]
            where = dict(d=d, N=n, covariance=training, shift=test)
            # The y range: three decades above the zero predictor's error (one layer at c = 9 is
            # hundreds of times worse than zero), down to OLS; a model that diverged (risks up to
            # 1e45 were seen) is drawn off scale with a note.
            _, zero, _ = _series(t, "zero", **where)
            ceiling = 1e3 * (zero.max() / d) if len(zero) else np.inf
            off_scale = []

            def draw(model, **style):
                if model not in drawn_names:
                    return
                m, risk, se = _series(t, model, **where)
                if not len(m):
                    return
                if np.nanmax(risk / d) > ceiling:
                    off_scale.append(model)
                ax.errorbar(m, risk / d, yerr=se / d, ms=3, lw=1, capsize=1.5, label=model, **style)

            draw("lsa", fmt="k-o")
            for colour, (depth, model) in zip(colours, depths(t).items()):
                draw(model, fmt="-o", color=colour)
                draw(f"{model}-gd", fmt="x", linestyle=(0, (5, 2)), color=colour)
                m, risk, _ = _series(t, f"pgd-{depth}", **where)
                if len(m):
                    ax.plot(m, risk / d, "--", color=colour, lw=1, label=f"{depth}-step PGD")
            # Softmax models in reds (darker: deeper and more heads), the line style cycling.
            styles = ("-.", (0, (3, 1, 1, 1)), (0, (1, 1)))
            for k, model in enumerate(softmax_models(t)):
                draw(model, fmt="s", linestyle=styles[k % len(styles)],
                     color=softmax_colours[k])
            m, risk, _ = _series(t, "ols", **where)
            if len(m):
                ax.plot(m, np.maximum(risk, 1e-6 * d) / d, ":", color="grey", lw=1.5, label="OLS")
            ax.set(xscale="log", yscale="log", xlabel="M", ylabel="error / d")
            ax.set_title(f"train {training}\ntest {test}", fontsize=8)
            if np.isfinite(ceiling):
                bottom = max(ax.get_ylim()[0], ceiling * 1e-6)
                ax.set_ylim(bottom, ceiling)
            _log_ticks(ax, "x")
            if off_scale:
                ax.text(0.02, 0.98, "off scale: " + ", ".join(off_scale), transform=ax.transAxes,
                        va="top", fontsize=6, color="tab:red")
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=6)
    fig.suptitle(f"deeper linear attention across random covariances (d = {d}, N = {n}); "
                 "error bars ±1 standard error", fontsize=9)
    fig.tight_layout()
    return _save(fig, folder, name)


def depth_summary(t):
    """Per training covariance and test law, at the largest M: the gap to OLS relative to the zero
    predictor, (risk − risk_OLS) / risk_zero, for ZFB's one layer and every lsa-L, next to L steps of
    preconditioned GD. Returns (rows, statement)."""
    d, n = _setting(t)
    rows, sentences = [], []
    for training in ("identity", "random-exp"):
        for test in _tests(t):
            where = dict(d=d, N=n, covariance=training, shift=test)
            present = _select(t, **where)
            if not present.any():
                continue
            m = int(t["M"][present].max())

            def value(predictor):
                r = _select(t, predictor=predictor, M=m, **where)
                return (float(t["risk"][r][0]), float(t["stderr"][r][0])) if r.any() else (np.nan, np.nan)

            ols, zero = value("ols")[0], value("zero")[0]
            if not np.isfinite(zero) or zero <= 0:
                continue
            row = {"training": training, "test": test, "M": m}
            gaps = {}
            for label, predictor in [("lsa", "lsa")] + [(f"lsa-{k}", name) for k, name in depths(t).items()]:
                risk, stderr = value(predictor)
                row[label] = (risk - ols) / zero
                row[label + " ±"] = stderr / zero
                gaps[label] = row[label]
            for name in softmax_models(t):
                risk, _ = value(name)
                row[name] = (risk - ols) / zero
            for k in depths(t):
                risk, _ = value(f"pgd-{k}")
                row[f"pgd-{k}"] = (risk - ols) / zero
            rows.append(row)
            deep = [gaps[f"lsa-{k}"] for k in depths(t) if np.isfinite(gaps.get(f"lsa-{k}", np.nan))]
            if len(deep) >= 2:
                ks = list(depths(t))
                first, last = deep[0], deep[-1]
                falls = all(b < a for a, b in zip(deep, deep[1:]))
                trend = ("falls at every added layer" if falls else
                         "falls overall" if last < first else "does not fall")
                per_layer = (last / first) ** (1 / (len(deep) - 1)) if first > 0 and last > 0 else np.nan
                sentences.append(
                    f"trained on {training}, tested on {test} (M = {m}): the gap to OLS {trend}, "
                    f"from {first:.3g} at L = {ks[0]} to {last:.3g} at L = {ks[-1]}"
                    + (f" (x{per_layer:.2f} per layer)" if np.isfinite(per_layer) else "")
                    + f"; {ks[-1]}-step PGD: {row[f'pgd-{ks[-1]}']:.3g}")
    statement = " ".join(f"{s[0].upper()}{s[1:]}." for s in sentences)
    return rows, statement


def training_curves(models, winners, folder, name):
    """Per training covariance: the minibatch loss curves of every replicate of each group's
    winner (`winners`: {group: training label}), against step, with the loss of the hand-built
    L-step preconditioned-GD weights (held-out prompts) dashed in the same colour: has training
    levelled off, and where relative to what the construction gives?"""
    curves = {}
    for entry in models.values():
        attrs = entry["attrs"]
        if "step" not in entry or winners.get(_group(attrs)) != attrs.get("training", ""):
            continue
        curves.setdefault(str(attrs["covariance"]), {}).setdefault(str(attrs["model"]), []).append(entry)
    trainings = sorted(curves, key=lambda c: (c != "identity", c))
    fig, axes = plt.subplots(1, max(len(trainings), 1), figsize=(5.2 * max(len(trainings), 1), 3.8),
                             squeeze=False)
    for ax, training in zip(axes[0], trainings):
        names = sorted(curves[training], key=lambda n: (n.startswith("softmax"), n))
        colours = plt.cm.tab20(np.arange(len(names)) % 20)
        for colour, model in zip(colours, names):
            for i, entry in enumerate(curves[training][model]):
                steps, loss = np.asarray(entry["step"], float), np.asarray(entry["loss"], float)
                ax.plot(steps[: len(loss)], loss[: len(steps)], lw=0.7, color=colour, alpha=0.7,
                        label=model if i == 0 else None)
            reference = float(curves[training][model][0]["attrs"].get("reference_loss", np.nan))
            if np.isfinite(reference):
                ax.axhline(reference, color=colour, ls="--", lw=0.8)
        ax.set(yscale="log", xlabel="step", ylabel="minibatch loss ½(ŷ − y)²",
               title=f"trained on {training}")
        bottom, top = ax.get_ylim()
        ax.set_ylim(max(bottom, top * 1e-6), top)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle("winners' training curves, every replicate; dashed: hand-built L-step PGD weights",
                 fontsize=9)
    fig.tight_layout()
    return _save(fig, folder, name)
