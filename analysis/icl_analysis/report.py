"""The report: rates.csv, agreement.csv, figures, report.md and report.html in one folder."""
import csv
import html
import os

import numpy as np

from . import figures
from .claims import compute_claims
from .fit import affine_in_inverse_m, fit_power_law, log_log_slope
from . import depth, depth_stats, sweep
from .load import load, load_models, tidy

# Predictors with a fixed preconditioner: their risk is exactly A/M + B (best-lsa and gd1-opt retune
# with M, so their risk is not of this form).
FITTED = ("lsa", "lsa-theory", "gd1")
ALPHA_THEORY = {"lsa": 1.0, "lsa-theory": 1.0, "gd1": 1.0}


def series_keys(t):
    keys = set(zip(t["d"], t["N"], t["shift"], t["covariance"], t["task"], t["predictor"]))
    return sorted(k for k in keys if k[5] in FITTED)


def select(t, key):
    d, n, shift, covariance, task, predictor = key
    return ((t["d"] == d) & (t["N"] == n) & (t["shift"] == shift) & (t["covariance"] == covariance)
            & (t["task"] == task) & (t["predictor"] == predictor))


def fit_series(t, bootstrap=300):
    fits, rows = {}, []
    for key in series_keys(t):
        r = select(t, key)
        order = np.argsort(t["M"][r])
        m, risk, se, theory = (t[c][r][order] for c in ("M", "risk", "stderr", "theory"))
        fit = fit_power_law(m, risk, se, bootstrap=bootstrap)
        if fit is None:
            continue
        fits[key] = fit
        affine = affine_in_inverse_m(m, theory)
        b_theory = affine[1] if affine else np.nan
        alpha_theory = ALPHA_THEORY.get(key[5], np.nan)
        rows.append({
            "fit": "M", "d": key[0], "N": key[1], "shift": key[2], "covariance": key[3], "task": key[4],
            "predictor": key[5], "points": len(m), "alpha": fit["alpha"], "alpha_lo": fit["alpha_lo"],
            "alpha_hi": fit["alpha_hi"], "b": fit["b"], "b_lo": fit["b_lo"], "b_hi": fit["b_hi"],
            "alpha_theory": alpha_theory, "b_theory": b_theory,
            "alpha_in_interval": bool(fit["alpha_lo"] <= alpha_theory <= fit["alpha_hi"]),
            "b_in_interval": bool(fit["b_lo"] <= b_theory <= fit["b_hi"]),
            "chi2": fit["chi2"], "dof": fit["dof"]})
    return fits, rows


def fit_slopes(t, fits):
    """Over N: the slope at M = N (theory → −1) and of the fitted floor (theory → −2)."""
    slopes = []
    groups = sorted(set(zip(t["d"], t["covariance"], t["predictor"])))
    for d, covariance, predictor in groups:
        if predictor not in FITTED:
            continue
        base = (t["d"] == d) & (t["covariance"] == covariance) & (t["predictor"] == predictor) & \
               (t["shift"] == "none") & (t["task"] == "linear")
        diagonal = base & (t["M"] == t["N"])
        result = log_log_slope(t["N"][diagonal], t["risk"][diagonal], t["stderr"][diagonal])
        if result:
            theory = log_log_slope(t["N"][diagonal], t["theory"][diagonal])
            slopes.append({"fit": "N=M", "d": d, "covariance": covariance, "predictor": predictor,
                           "slope": result[0], "lo": result[1], "hi": result[2],
                           "theory": theory[0] if theory else None, "limit": -1.0})
        ns, b, b_se, b_theory = [], [], [], []
        for n in sorted(set(t["N"][base])):
            fit = fits.get((d, n, "none", covariance, "linear", predictor))
            r = base & (t["N"] == n)
            affine = affine_in_inverse_m(t["M"][r], t["theory"][r])
            if fit and affine and fit["b"] > 0 and len(fit["b_samples"]) > 10:
                ns.append(n)
                b.append(fit["b"])
                b_se.append(np.std(fit["b_samples"]))
                b_theory.append(affine[1])
        result = log_log_slope(ns, b, b_se) if len(ns) >= 3 else None
        if result:
            # The theory slope over the same N with the same weights, so that the two are comparable
            # (the floor is ∝ 1/N² only once N ≫ tr Λ).
            relative = np.array(b_se) / np.array(b)
            theory = log_log_slope(ns, b_theory, np.array(b_theory) * relative)
            slopes.append({"fit": "floor-N", "d": d, "covariance": covariance, "predictor": predictor,
                           "slope": result[0], "lo": result[1], "hi": result[2],
                           "theory": theory[0] if theory else None, "limit": -2.0})
    return slopes


def agreement(t):
    keep = np.isfinite(t["theory"]) & (t["theory"] > 0) & (t["stderr"] > 0)
    z = (t["risk"][keep] - t["theory"][keep]) / t["stderr"][keep]
    rows = []
    for i, index in enumerate(np.flatnonzero(keep)):
        rows.append({k: t[k][index] for k in ("point", "d", "N", "M", "shift", "covariance", "task",
                                              "predictor", "risk", "stderr", "theory")})
        rows[-1]["z"] = z[i]
        rows[-1]["heavy_tailed"] = bool(t["heavy_tailed"][index])
        # A heavy-tailed estimate's z-score is explained (too few prompts), not a disagreement.
        rows[-1]["flagged"] = bool(abs(z[i]) > 4 and not t["heavy_tailed"][index])
    return rows, z


def write_csv(path, rows, columns):
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, (float, np.floating)) else v)
                             for k, v in row.items()})


def markdown_table(rows, columns):
    if not rows:
        return "(none)"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, "")
            cells.append(f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v))
        # A | inside a cell (|z|) would end it: escaped, as Markdown tables require.
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def make_figures(t, fits, models, folder, depth_means=None):
    """`depth_means`: the depth study's winners, replicates averaged (depth_stats), if any."""
    made = []
    lsa = "lsa" if (t["predictor"] == "lsa").any() else "lsa-theory"
    none = t["shift"] == "none"
    for d, covariance, task in sorted(set(zip(t["d"][none], t["covariance"][none], t["task"][none]))):
        if covariance == "random-exp" or len(set(t["M"][none & (t["d"] == d)])) < 3:
            continue
        safe = f"d{d}_{covariance}_{task}".replace(":", "-").replace(",", "_").replace("=", "")
        made.append((f"risk against M: d = {d}, {covariance}, {task}", figures.risk_against_m(t, fits, folder, f"risk_vs_M_{safe}", d,
                                                              covariance, task, lsa)))
        if task == "linear" and len(set(t["N"][none & (t["d"] == d)])) >= 3:
            made.append((f"risk against N: d = {d}, {covariance}", figures.risk_against_n(t, fits, folder, f"risk_vs_N_{safe}", d,
                                                                  covariance, lsa)))
    order = ("task-scale", "scale-y", "noisy", "query-scale", "query-cov", "overlapping-query",
             "orthogonal-query", "scale-x", "test-cov", "skewed", "half-subspace", "random-quadrants")
    family = {name: i for i, name in enumerate(order)}
    shifted = sorted(set(t["shift"]) - {"none"} - {s for s in t["shift"] if s.startswith(("random-cov", "test-cov"))},
                     key=lambda s: (family.get(s.split("=")[0], len(order)), s))
    if shifted:
        rows = np.isin(t["shift"], shifted)
        d = int(t["d"][rows].max())
        n = int(t["N"][rows & (t["d"] == d)].max())
        covariance = t["covariance"][rows & (t["d"] == d)][0]
        predictors = [p for p in (lsa, "ols", "gd1", "knn3", "zero") if (t["predictor"] == p).any()]
        made.append(("shifts (Garg-style)", figures.shift_panels(
            t, folder, "shifts", d, n, covariance, ["none"] + shifted, predictors)))
    tests = sorted({s for s in t["shift"] if s.startswith("random-cov-scale")} |
                   ({"test-cov=identity"} & set(t["shift"])))
    if tests and (t["covariance"] == "random-exp").any():
        d = int(t["d"][t["covariance"] == "random-exp"].max())
        limits = {}
        for test in tests:
            c = float(test.split("=")[1]) if test.startswith("random-cov-scale") else None
            for training, b in (("random-exp", 1.0 / 3.0), ("identity", 1.0)):
                limits[(training, test)] = (6 * c**3 * b * b - 4 * c * c * b + c) if c else (b - 1) ** 2
        made.append(("random covariances (ZFB Figure 1, one layer)",
                     figures.random_covariance_panels(t, folder, "random_covariance", d, tests, limits)))
    if models:
        made.append(("training trajectories", figures.training_trajectories(models, folder, "training")))
    if depth_means is not None:
        made.append(("deeper models across random covariances (ZFB Figure 1 with depth)",
                     depth.depth_panels(depth_means, folder, "depth")))
        if models and any("reference_loss" in e["attrs"] and "step" in e for e in models.values()):
            made.append(("deeper models' training curves",
                         depth.training_curves(models, depth_stats.winner_labels(models), folder,
                                               "depth_training")))
    return made


GRID_AXES = ("d", "N", "M", "shift", "covariance", "task", "model", "training")


def grid_section(t, folder):
    """A description of any grid, paper study or not: its axes and values, the mean risk of every
    (point, predictor) in grid.csv, and the risk against each numeric axis that varies, faceted by
    the categorical axes that vary, the other numeric axes at their largest value."""
    if not len(t["risk"]):
        return [], []
    varying = [a for a in GRID_AXES if len(set(t[a])) > 1]
    rows = [{"axis": a, "values": ", ".join(str(v) for v in sorted(set(t[a]))[:20]) +
             (" …" if len(set(t[a])) > 20 else ""), "count": len(set(t[a]))} for a in GRID_AXES]
    columns = [c for c in ("point", *GRID_AXES, "replicate", "predictor", "risk", "stderr", "prompts",
                           "theory") if c in t]
    write_csv(os.path.join(folder, "grid.csv"),
              [{c: t[c][i] for c in columns} for i in range(len(t["risk"]))], columns)
    lines = ["## The grid", "",
             f"{len(set(t['point']))} finished points, {len(set(t['predictor']))} predictors; every "
             "estimate in [grid.csv](grid.csv). Axes that vary: "
             + (", ".join(varying) if varying else "none") + ".", "",
             markdown_table(rows, ["axis", "count", "values"]), ""]
    made = []
    numeric = [a for a in ("M", "N", "d") if a in varying]
    facets = [a for a in varying if a not in ("M", "N", "d")]
    for axis in numeric:
        fixed = {other: max(t[other]) for other in ("M", "N", "d") if other != axis and other in varying}
        made.append((f"risk against {axis}" + (f" (faceted by {', '.join(facets)})" if facets else ""),
                     figures.risk_against_axis(t, folder, f"grid_{axis}", axis, facets, fixed)))
    return lines, made


def claims_of(path):
    """The claims table of one result file (rows of claim, measured, theory, verdict)."""
    t = tidy(load(path))
    fits, _ = fit_series(t, bootstrap=0)  # the claims use only the fitted exponents
    return compute_claims(t, load_models(path), fits)


def write_report(path, folder):
    data = load(path)
    models = load_models(path)
    os.makedirs(folder, exist_ok=True)
    t = tidy(data)
    fits, rate_rows = fit_series(t)
    slopes = fit_slopes(t, fits)
    agreement_rows, z = agreement(t)
    rate_columns = ["fit", "d", "N", "shift", "covariance", "task", "predictor", "points", "alpha",
                    "alpha_lo", "alpha_hi", "alpha_theory", "alpha_in_interval", "b", "b_lo", "b_hi",
                    "b_theory", "b_in_interval", "chi2", "dof"]
    slope_rows = [{"fit": s["fit"], "d": s["d"], "covariance": s["covariance"], "predictor": s["predictor"],
                   "alpha": s["slope"], "alpha_lo": s["lo"], "alpha_hi": s["hi"],
                   "alpha_theory": s["theory"] if s["theory"] is not None else np.nan,
                   "alpha_in_interval": bool(s["theory"] is not None and s["lo"] <= s["theory"] <= s["hi"])}
                  for s in slopes]
    write_csv(os.path.join(folder, "rates.csv"), rate_rows + slope_rows, rate_columns)
    agreement_columns = ["point", "d", "N", "M", "shift", "covariance", "task", "predictor", "risk",
                         "stderr", "theory", "z", "flagged", "heavy_tailed"]
    write_csv(os.path.join(folder, "agreement.csv"), agreement_rows, agreement_columns)
    figures.PROBLEMS.clear()
    # The depth study's view: each group's winner with all its replicates (every row outside a
    # sweep), and those replicates averaged (error bars over replicates) for the figure and table.
    depth_rows = (depth_stats.winners_only(t, models)
                  if depth.depths(t) or depth.softmax_models(t) else None)
    depth_means = depth_stats.replicate_means(depth_rows) if depth_rows is not None else None
    made = make_figures(t, fits, models, folder, depth_means)
    if len(z):
        made.append(("agreement histogram", figures.z_histogram(z, folder, "agreement")))
    grid_lines, grid_figures = grid_section(t, folder)
    made += grid_figures
    # Every figure is checked for the obvious failures (figures.figure_problems).
    checks = (f"Figure checks: all {len(made)} figures pass (titles apart, log y axes within their "
              "stated span, error bars on every measured series)." if not figures.PROBLEMS else
              f"Figure checks: {len(figures.PROBLEMS)} problems: " +
              "; ".join(f"{name}: {problem}" for name, problem in figures.PROBLEMS) + ".")
    claims = compute_claims(t, models, fits)
    measured = [row for row in claims if row["verdict"] != "not measured"]
    # A file without the paper's points (a sweep of its own) gets one sentence, not 9 empty rows.
    claims_lines = ([markdown_table(claims, ["claim", "measured", "theory", "verdict"])] if measured
                    else ["None of the paper's claims has its points in this file (the section "
                          "below describes its grid)."])

    attrs = data["attrs"]
    status = data["points"]["status"]
    # Points of candidates dropped by successive halving (status 2) are not part of the study.
    done, total = int((status == 1).sum()), int((status != 2).sum())
    flagged = [r for r in agreement_rows if r["flagged"]]
    lines = [f"# icl-study report: {attrs.get('study')}", "",
             f"File `{os.path.basename(path)}`: {done} of {total} points done, seed {attrs.get('seed')}, "
             f"{attrs.get('mpi_ranks')} ranks x {attrs.get('omp_threads')} threads, program "
             f"{attrs.get('version')} ({attrs.get('git_commit')}), written {attrs.get('created')}.", "",
             "## Claims of Zhang, Frei & Bartlett (2023), checked against the data", "",
             *claims_lines, "",
             "## Agreement with the closed forms", "",
             f"{len(z)} estimates have a closed form (each with its z-score in "
             f"[agreement.csv](agreement.csv)); {len(flagged)} "
             f"{'has' if len(flagged) == 1 else 'have'} abs z > 4"
             + (f"; mean z² = {np.mean(z**2):.3f}." if len(z) else "."), ""]
    heavy = [r for r in agreement_rows if r["heavy_tailed"]]
    if heavy:
        heavy_z = np.array([r["z"] for r in heavy])
        lines += [f"{len(heavy)} of them are heavy-tailed: fewer prompts than 25·skewness² of their squared "
                  "errors (Cochran's rule for the normal approximation of a mean), so their standard errors "
                  "understate the uncertainty. Their z-scores are not judged here or in the claims: "
                  f"{int(np.sum(np.abs(heavy_z) > 4))} have abs z > 4 and their mean z is {np.mean(heavy_z):+.2f}. "
                  "More prompts per point serve them.", ""]
    if flagged:
        lines += [markdown_table(flagged[:50], agreement_columns), ""]
    if depth_rows is not None:
        lines += depth_section(depth_rows, depth_means, models, folder)
    if sweep.is_sweep(models):
        lines += sweep_section(path, models, data["predictors"], folder)
    lines += grid_lines
    lines += ["## Convergence rates", "",
              "Fits of risk = a·M^-α + b (weighted, 95% bootstrap intervals); full table in "
              "[rates.csv](rates.csv).", "",
              markdown_table(rate_rows[:60], ["d", "N", "shift", "covariance", "task", "predictor", "alpha",
                                              "alpha_lo", "alpha_hi", "b", "b_theory", "b_in_interval"]), "",
              markdown_table(slope_rows, ["fit", "d", "covariance", "predictor", "alpha", "alpha_lo",
                                          "alpha_hi", "alpha_theory"]), "",
              "## Figures", "", checks, ""]
    for title, png in made:
        lines += [f"### {title}", "", f"![{title}]({os.path.basename(png)})", ""]
    markdown = "\n".join(lines)
    with open(os.path.join(folder, "report.md"), "w") as out:
        out.write(markdown)
    with open(os.path.join(folder, "report.html"), "w") as out:
        out.write(to_html(markdown, f"icl-study report: {attrs.get('study')}"))
    return os.path.join(folder, "report.md")


def depth_section(winners, shown, models, folder):
    """Deeper models across random covariances: the winners' gap to OLS with intervals over seeds
    and prompts (M <= N and M > N apart), the growth with the covariance's scale against the
    polynomial degree, the training against the hand-built GD weights, and the answer in words.
    `winners`: depth_stats.winners_only of the tidy table; `shown`: its replicate_means."""
    summary_rows, summary = depth.depth_summary(shown)
    columns = ["training", "test", "M", "lsa"] + [f"lsa-{k}" for k in depth.depths(shown)] + \
        depth.softmax_models(shown) + [f"pgd-{k}" for k in depth.depths(shown)]
    write_csv(os.path.join(folder, "depth.csv"), summary_rows, columns)
    lines = ["## Beyond the paper: deeper models across random covariances", ""]
    gaps = depth_stats.gap_rows(winners) if models else []
    if not gaps:
        return lines + ["Gap to OLS relative to the zero predictor, (risk − risk_OLS) / risk_zero, at the "
                        "largest M (lsa: ZFB's one layer by gradient flow; lsa-L: L layers by Adam; pgd-L: L "
                        "steps of preconditioned gradient descent with a step tuned on the training law).", "",
                        markdown_table(summary_rows, columns), "", summary, ""]
    exponents = depth_stats.exponent_rows(winners)
    trainings = depth_stats.training_rows(models)
    gap_columns = ["training", "test", "regime", "M", "model", "replicates", "statistic", "gap",
                   "gap_lo", "gap_hi", "vs_one_layer", "vs_lo", "vs_hi", "verdict"]
    exponent_columns = ["training", "model", "M", "scales", "exponent", "lo", "hi", "predicted", "verdict"]
    training_columns = ["model", "covariance", "training", "replicates", "validation_loss",
                        "validation_min", "validation_max", "reference_loss", "reference_step", "ratio",
                        "plateaued", "from_gd_weights"]
    write_csv(os.path.join(folder, "depth_gaps.csv"), gaps, gap_columns)
    write_csv(os.path.join(folder, "depth_scale.csv"), exponents, exponent_columns)
    write_csv(os.path.join(folder, "depth_training.csv"), trainings, training_columns)
    headline = [r for r in gaps if r["test"] in ("random-cov-scale=1", "test-cov=identity")]
    return lines + [
        "### The answer", "", depth_stats.statement(gaps, exponents, trainings), "",
        "### Training: each group's winner (validation loss only) against the hand-built GD weights", "",
        "Validation loss ½(ŷ − y)² on held-out prompts of the training law (mean, min and max over "
        "replicates) beside the loss of the hand-built weights of L steps of preconditioned GD on the same "
        "prompts (L* for ZFB's one layer), with the step tuned on the training law (`reference_step`).", "",
        markdown_table(trainings, training_columns), "",
        "### Gap to OLS, with intervals", "",
        "(risk − risk_OLS) / risk_zero averaged over the regime's M values; the statistic over replicates "
        "is the median where the errors are heavy-tailed (Cochran's rule, or a replicate ten times the "
        "median), else the mean; 95% bootstrap intervals over seeds and prompts; `vs_one_layer`: the "
        "difference to ZFB's one layer. Scales 1 and identity here, every test in "
        "[depth_gaps.csv](depth_gaps.csv).", "",
        markdown_table(headline, gap_columns), "",
        "### Growth with the test covariance's scale", "",
        markdown_table(exponents, exponent_columns), "",
        "### At the largest M (replicate means)", "", markdown_table(summary_rows, columns), ""]


def sweep_section(path, models, predictors, folder):
    """The training sweep: every candidate ranked by validation loss (never by test risk), and the
    winners' test risk over replicates; both tables also as CSV."""
    ranked = sweep.ranking(models)
    columns = ["group", "training", "replicates", "validation_loss", "spread", "eliminated_at_steps",
               "diverged", "selected"]
    write_csv(os.path.join(folder, "candidates.csv"), ranked, columns)
    rows = sweep.winners(path, "lsa", models=models) if "lsa" in predictors else []
    winner_columns = ["d", "N", "M", "shift", "covariance", "task", "model", "training", "replicates",
                      "mean", "spread", "low", "high"]
    write_csv(os.path.join(folder, "winners.csv"), rows, winner_columns)
    groups = len({r["group"] for r in ranked})
    dropped = sum(1 for r in ranked if r["eliminated_at_steps"])
    diverged = sum(1 for r in ranked if r["diverged"])
    lines = ["## Training sweep", "",
             f"{len(ranked)} candidates in {groups} groups, ranked by validation loss on held-out prompts of "
             f"the training law (mean over replicates; test risk never selects); {dropped} dropped by "
             f"successive halving, {diverged} of them diverged. Full tables: `candidates.csv`, `winners.csv`.", "",
             markdown_table(ranked[:80], columns), ""]
    if rows:
        lines += ["Test risk of each group's winner (mean and spread over replicates, 95% bootstrap interval "
                  "over seeds and prompts):", "", markdown_table(rows[:60], winner_columns), ""]
    return lines


def to_html(text, title):
    """report.md as a standalone HTML page: Python-Markdown (tables) for the body, a <title>, links,
    verdicts in colour, images that shrink to the window, wide tables that scroll. A short script
    records how many images settled and failed to load (`data-images-settled`,
    `data-broken-images` on <body>), which the browser test reads."""
    import markdown
    body = markdown.markdown(text, extensions=["tables"], output_format="html")
    for verdict in ("disagrees", "agrees", "not measured"):
        body = body.replace(f"<td>{verdict}</td>",
                            f'<td class="verdict {verdict.replace(" ", "-")}">{verdict}</td>')
    body = body.replace("<table>", '<div class="table"><table>').replace("</table>", "</table></div>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:0 1em;line-height:1.4}"
             "img{max-width:100%;height:auto}div.table{overflow-x:auto}"
             "table{border-collapse:collapse;margin:0.5em 0}"
             "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;vertical-align:top}"
             "td.agrees{background:#d7f5d7}td.disagrees{background:#f8d0d0}"
             "td.not-measured{background:#eee;color:#555}code{background:#f4f4f4;padding:0 2px}")
    # Marks <body> with how many images have settled (loaded or failed) and how many failed, on
    # every image event and at load: a browser (the tests' headless Chromium) reads them.
    check = ("function icl_mark(){var i=Array.from(document.images);"
             "document.body.dataset.imagesSettled=i.filter(function(x){return x.complete}).length;"
             "document.body.dataset.brokenImages=i.filter(function(x){return x.complete&&"
             "!x.naturalWidth}).length;}icl_mark();Array.from(document.images).forEach(function(x)"
             "{x.addEventListener('load',icl_mark);x.addEventListener('error',icl_mark);});"
             "window.addEventListener('load',icl_mark);")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{style}</style></head>\n"
            f"<body>\n{body}\n<script>{check}</script></body></html>\n")