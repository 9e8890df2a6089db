"""Figures: every function draws one figure type and saves it as PNG and PDF."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.ticker import LogFormatterSciNotation, LogLocator  # noqa: E402

from .fit import affine_fit, affine_in_inverse_m, exact_affine, power_law  # noqa: E402

# The widest y range a log axis may show (decades): beyond it a diverged model squashes the rest.
MAX_DECADES = 8
# Problems found by figure_problems in the figures saved so far: (figure name, problem).
PROBLEMS = []
ERROR_BAR_NOTE = "error bars: ±1 standard error (hidden by the marker where smaller)"


def figure_problems(fig, max_decades=MAX_DECADES):
    """The obvious failures of a figure, as sentences (empty when it has none): titles that overlap
    (subplot titles with each other or with the figure's title), a log y axis spanning more than
    `max_decades` decades (the figure's stated span), and measured series (lines with markers)
    drawn without error bars."""
    problems = []
    # Text layout only (no full draw: that would double the time a report spends on figures).
    renderer = fig.canvas.get_renderer()
    boxes = []
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        title = ax.title
        if title.get_text():
            boxes.append((title.get_text(), title.get_window_extent(renderer)))
        bottom, top = ax.get_ylim()
        if ax.get_yscale() == "log" and bottom > 0 and np.log10(top / bottom) > max_decades:
            problems.append(f"y axis of '{title.get_text()}' spans {np.log10(top / bottom):.0f} "
                            f"decades (at most {max_decades})")
        with_bars = {id(line) for container in ax.containers
                     if isinstance(container, ErrorbarContainer)
                     for line in [container.lines[0]] if line is not None}
        for line in ax.get_lines():
            measured = line.get_marker() not in (None, "None", "", " ") and len(line.get_xdata()) > 0
            if measured and id(line) not in with_bars and not line.get_label().startswith("_"):
                problems.append(f"'{line.get_label()}' in '{title.get_text()}' has no error bars")
    if fig._suptitle is not None and fig._suptitle.get_text():
        boxes.append((fig._suptitle.get_text(), fig._suptitle.get_window_extent(renderer)))
    for i, (first, a) in enumerate(boxes):
        for second, b in boxes[i + 1:]:
            if a.overlaps(b):
                problems.append(f"titles overlap: '{first}' and '{second}'")
    return problems


def _log_ticks(ax, axes="xy"):
    """Label more than one tick per decade where a log axis spans few decades (1, 2, 5)."""
    for name in axes:
        axis = ax.xaxis if name == "x" else ax.yaxis
        if axis.get_scale() != "log":
            continue
        low, high = ax.get_xlim() if name == "x" else ax.get_ylim()  # autoscales first
        if low > 0 and np.log10(high / low) < 2.5:
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(LogFormatterSciNotation(labelOnlyBase=False))
            axis.set_minor_formatter(plt.NullFormatter())


def _save(fig, folder, name, max_decades=MAX_DECADES):
    PROBLEMS.extend((name, problem) for problem in figure_problems(fig, max_decades))
    paths = []
    for extension in ("png", "pdf"):
        path = os.path.join(folder, f"{name}.{extension}")
        fig.savefig(path, dpi=130, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths[0]


def _select(t, **conditions):
    keep = np.ones(len(t["risk"]), dtype=bool)
    for key, value in conditions.items():
        keep &= t[key] == value
    return keep


def risk_against_m(t, fits, folder, name, d, covariance, task, predictor):
    """Risk against M on log-log axes, one colour per N: estimates (open circles, ±1 standard error),
    the closed form (solid, light) and the fitted a M^-alpha + b (dashed)."""
    rows = _select(t, d=d, covariance=covariance, task=task, shift="none", predictor=predictor)
    ns = sorted(set(t["N"][rows]))
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(ns)))
    for colour, n in zip(colours, ns):
        r = rows & (t["N"] == n)
        order = np.argsort(t["M"][r])
        m, risk, se, theory = (t[k][r][order] for k in ("M", "risk", "stderr", "theory"))
        ax.errorbar(m, risk, yerr=se, fmt="o", ms=4, mfc="none", color=colour, capsize=2,
                    label=f"N = {n}")
        affine = affine_in_inverse_m(m, theory)
        dense = np.geomspace(m.min(), m.max(), 200)
        if affine:
            ax.plot(dense, affine[0] / dense + affine[1], "-", color=colour, lw=2.5, alpha=0.35)
        fit = fits.get((d, n, "none", covariance, task, predictor))
        if fit:
            ax.plot(dense, power_law(dense, fit["a"], fit["alpha"], fit["b"]), "--", color=colour,
                    lw=1)
    ax.set(xscale="log", yscale="log", xlabel="test prompt length M",
           ylabel="risk E(ŷ − y)²", title=f"{predictor}: d = {d}, covariance {covariance}, task {task}")
    ax.plot([], [], "k-", lw=2.5, alpha=0.35, label="theory (Thm 4.2)")
    ax.plot([], [], "k--", lw=1, label="fit a·M^-α + b")
    ax.legend(fontsize=7, ncol=2, title=ERROR_BAR_NOTE, title_fontsize=6)
    ax.grid(True, which="both", alpha=0.3)
    _log_ticks(ax)
    return _save(fig, folder, name)


def risk_against_n(t, fits, folder, name, d, covariance, predictor):
    """Left: risk at M = N against N. Right: the fitted floor b against N, with theory."""
    rows = _select(t, d=d, covariance=covariance, task="linear", shift="none", predictor=predictor)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    diagonal = rows & (t["M"] == t["N"])
    order = np.argsort(t["N"][diagonal])
    n = t["N"][diagonal][order]
    left.errorbar(n, t["risk"][diagonal][order], yerr=t["stderr"][diagonal][order], fmt="o", ms=4,
                  label="measured")
    left.plot(n, t["theory"][diagonal][order], "k--", lw=1, label="theory")
    left.set(xscale="log", yscale="log", xlabel="N = M", ylabel="risk", title="risk at M = N (slope → −1)")
    left.legend(fontsize=8)
    # The floor is the M → ∞ limit B of risk = A/M + B (exact for a fixed preconditioner), fitted
    # by weighted least squares as the claims table does; the theory's B from the closed form.
    floors, errors, theory_floors, ns = [], [], [], []
    for n_value in sorted(set(t["N"][rows])):
        r = rows & (t["N"] == n_value) & (t["stderr"] > 0) & np.isfinite(t["theory"])
        if r.sum() < 3:
            continue
        (_, b), cov = affine_fit(t["M"][r], t["risk"][r], t["stderr"][r])
        ns.append(n_value)
        floors.append(b)
        errors.append(1.96 * np.sqrt(cov[1, 1]))
        theory_floors.append(exact_affine(t["M"][r], t["theory"][r])[1])
    if ns:
        right.errorbar(ns, floors, yerr=errors, fmt="o", ms=4, label="fitted floor B (95%)")
        right.plot(ns, theory_floors, "k--", lw=1, label="theory floor")
    right.set(xscale="log", yscale="log", xlabel="training prompt length N", ylabel="floor B",
              title="the 1/N² floor (slope → −2)")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        _log_ticks(ax)
    fig.suptitle(f"{predictor}: d = {d}, covariance {covariance}; {ERROR_BAR_NOTE}", fontsize=9)
    fig.tight_layout()
    return _save(fig, folder, name)


def shift_panels(t, folder, name, d, n, covariance, shifts, predictors):
    """Garg-style: error / d against M, one panel per shift, with the baselines and the zero line."""
    columns = min(4, len(shifts))
    rows_count = int(np.ceil(len(shifts) / columns))
    fig, axes = plt.subplots(rows_count, columns, figsize=(3.6 * columns, 3.0 * rows_count),
                             squeeze=False)
    shifted = _select(t, d=d, N=n, covariance=covariance, task="linear") & np.isin(t["shift"], shifts[1:])
    m_max = t["M"][shifted].max() if shifted.any() else np.inf
    for ax, shift in zip(axes.flat, shifts):
        top = 0.0
        for predictor in predictors:
            r = _select(t, d=d, N=n, covariance=covariance, task="linear", shift=shift, predictor=predictor)
            r &= t["M"] <= m_max
            if not r.any():
                continue
            order = np.argsort(t["M"][r])
            values, errors = t["risk"][r][order] / d, t["stderr"][r][order] / d
            if predictor == "zero":
                ax.errorbar(t["M"][r][order], values, yerr=errors, fmt="k-", lw=1, label=predictor)
            else:
                ax.errorbar(t["M"][r][order], values, yerr=errors, fmt="o-", ms=3, lw=1, capsize=2,
                            label=predictor)
            if predictor in ("zero", predictors[0]):
                top = max(top, values.max())
        ax.set_title(shift, fontsize=9)
        ax.set_xscale("log")
        _log_ticks(ax, "x")
        ax.grid(True, alpha=0.3)
        ax.set_xlabel("M")
        ax.set_ylabel("error / d")
        # Least squares at M ≈ d with label noise is unbounded in expectation: keep the scale readable.
        ax.set_ylim(0, 1.15 * top if top > 0 else None)
    for ax in list(axes.flat)[len(shifts):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"shifts: d = {d}, N = {n}, covariance {covariance} (zero predictor in black); "
                 f"{ERROR_BAR_NOTE}", fontsize=9)
    fig.tight_layout()
    return _save(fig, folder, name)


def random_covariance_panels(t, folder, name, d, tests, limits):
    """ZFB Figure 1, one layer: error / d against M per test law, trained on identity or random-exp,
    one line per N, with the M, N → ∞ limits (dotted)."""
    fig, axes = plt.subplots(1, len(tests), figsize=(4 * len(tests), 3.6), squeeze=False)
    styles = {"identity": "-", "random-exp": "--"}
    for ax, test in zip(axes.flat, tests):
        for training in ("identity", "random-exp"):
            for n in sorted(set(t["N"][_select(t, d=d, covariance=training, shift=test)])):
                r = _select(t, d=d, N=n, covariance=training, shift=test, task="linear", predictor="lsa")
                if not r.any():
                    r = _select(t, d=d, N=n, covariance=training, shift=test, task="linear",
                                predictor="lsa-theory")
                if not r.any():
                    continue
                order = np.argsort(t["M"][r])
                ax.errorbar(t["M"][r][order], t["risk"][r][order] / d,
                            yerr=t["stderr"][r][order] / d, fmt="o", linestyle=styles[training],
                            ms=3, lw=1, capsize=2, label=f"trained on {training}, N = {n}")
            limit = limits.get((training, test))
            if limit is not None and limit > 0:  # a limit of 0 has no place on a log axis
                ax.axhline(limit, ls=":", color="grey", lw=1)
                ax.annotate(f"limit, trained on {training}", (1.0, limit),
                            xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=6,
                            color="grey")
        ax.set(xscale="log", yscale="log", title=f"test: {test}", xlabel="M", ylabel="error / d")
        ax.grid(True, which="both", alpha=0.3)
        _log_ticks(ax)
    axes.flat[0].legend(fontsize=6)
    fig.suptitle(f"random covariances (d = {d}); dotted: M, N → ∞ limits; {ERROR_BAR_NOTE}",
                 fontsize=9)
    fig.tight_layout()
    return _save(fig, folder, name)


def training_trajectories(models, folder, name):
    """Loss gap and distance to the limit against time (flow) or step (SGD/Adam)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, model in sorted(models.items()):
        x = model.get("time", model.get("step"))
        if x is None or "distance" not in model:
            continue
        label = key.replace(";task=linear", "")
        loss = np.asarray(model["loss"])
        if "loss_gap" in model["attrs"]:
            # Flow: L_* = final loss − final gap; gaps below rounding are drawn at rounding level.
            minimum = loss[-1] - float(model["attrs"]["loss_gap"])
            curve = np.maximum(loss - minimum, 1e-16 * abs(minimum))
        else:
            curve = loss  # SGD/Adam: the minibatch loss itself
        # A log time axis: runs that converge early are not squashed against the axis (t = 0,
        # step 0 left out).
        x = np.asarray(x, dtype=float)
        shown = x[: len(curve)] > 0
        left.plot(x[: len(curve)][shown], curve[shown], lw=1, label=label)
        right.plot(x[x > 0], np.asarray(model["distance"])[x > 0], lw=1, label=label)
    left.set(xscale="log", yscale="log", xlabel="t (flow) or step",
             ylabel="L − L* (flow) or minibatch loss", title="loss gap")
    right.set(xscale="log", yscale="log", xlabel="t (flow) or step",
              ylabel="‖uU − V*‖_F / ‖V*‖_F", title="distance to the Theorem 4.1 limit")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        # Sixteen decades below the top: what double precision resolves, and the stated span.
        bottom, top = ax.get_ylim()
        ax.set_ylim(max(bottom, top * 1e-16), top)
    if len(models) <= 12:
        right.legend(fontsize=6)
    fig.tight_layout()
    # The flow's loss gap runs down to rounding (1e-16 of the loss): the span is the precision.
    return _save(fig, folder, name, max_decades=17)


def z_histogram(z, folder, name):
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    z = np.asarray(z)
    ax.hist(np.clip(z, -6, 6), bins=40, range=(-6, 6), density=True, alpha=0.7,
            label=f"{len(z)} estimates")
    grid = np.linspace(-6, 6, 300)
    ax.plot(grid, np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi), "k-", lw=1.2, label="N(0, 1)")
    for x in (-4, 4):
        ax.axvline(x, color="red", ls=":", lw=1)
    ax.set(xlabel="z = (risk − theory) / stderr", ylabel="density",
           title="Monte Carlo against the closed forms")
    ax.legend(fontsize=8)
    return _save(fig, folder, name)


def risk_against_axis(t, folder, name, axis, facet_axes, fixed, max_panels=12):
    """Risk against one grid axis (log x for numbers), one panel per combination of `facet_axes`
    (at most `max_panels`, the first in order), one line per predictor with ±1 standard-error
    bars; the other numeric axes at the values in `fixed` (stated in the title)."""
    rows = np.ones(len(t["risk"]), dtype=bool)
    for key, value in fixed.items():
        rows &= t[key] == value
    facets = sorted({tuple(t[a][i] for a in facet_axes) for i in np.flatnonzero(rows)})
    shown = facets[:max_panels]
    columns = min(4, max(len(shown), 1))
    count = int(np.ceil(len(shown) / columns)) if shown else 1
    fig, axes = plt.subplots(count, columns, figsize=(3.8 * columns, 3.1 * count), squeeze=False)
    for ax, facet in zip(axes.flat, shown):
        where = rows.copy()
        for a, value in zip(facet_axes, facet):
            where &= t[a] == value
        for predictor in sorted(set(t["predictor"][where])):
            r = where & (t["predictor"] == predictor)
            order = np.argsort(t[axis][r], kind="stable")
            ax.errorbar(t[axis][r][order], t["risk"][r][order], yerr=t["stderr"][r][order],
                        fmt="o-", ms=3, lw=1, capsize=2, label=predictor)
        title = ", ".join(f"{a} {v}" for a, v in zip(facet_axes, facet)) or "all points"
        ax.set_title(title if len(title) < 60 else title[:57] + "…", fontsize=7)
        if np.issubdtype(np.asarray(t[axis]).dtype, np.number):
            ax.set_xscale("log")
        positive = t["risk"][where] > 0
        if positive.any():
            ax.set_yscale("log")
        ax.set(xlabel=axis, ylabel="risk")
        if ax.get_yscale() == "log":
            # Exact fits (OLS at M ≤ d: risks of 1e-30) would stretch the axis over 30 decades.
            bottom, top = ax.get_ylim()
            if top > bottom * 1e11:
                ax.set_ylim(top * 1e-11, top)
                ax.text(0.02, 0.02, "lower values off scale", transform=ax.transAxes, fontsize=6,
                        color="grey")
        ax.grid(True, which="both", alpha=0.3)
        _log_ticks(ax)
        ax.tick_params(axis="x", labelrotation=30 if not np.issubdtype(
            np.asarray(t[axis]).dtype, np.number) else 0)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    held = ", ".join(f"{k} = {v}" for k, v in fixed.items())
    more = f"; {len(facets) - len(shown)} more panels in grid.csv" if len(facets) > len(shown) else ""
    fig.suptitle(f"risk against {axis}" + (f" at {held}" if held else "") + more +
                 f"; {ERROR_BAR_NOTE}", fontsize=8)
    fig.tight_layout()
    return _save(fig, folder, name, max_decades=12)
