"""The claims table: one row per claim of ZFB, each with what was measured, the theory value and a
verdict computed from the data (never written by hand). Claims without data say "not measured"."""
import numpy as np

AGREES, DISAGREES, MISSING = "agrees", "DISAGREES", "not measured"

TASK_SHIFTS = ("task-scale", "scale-y", "noisy")
QUERY_SHIFTS = ("query-scale", "query-cov", "overlapping-query")


def _family(shift, names):
    return any(shift == n or shift.startswith(n + "=") for n in names)


def _row(claim, measured, theory, verdict):
    return {"claim": claim, "measured": measured, "theory": theory, "verdict": verdict}


def _largest(t, rows):
    """Rows at the largest N, then the largest M, of a selection."""
    if not rows.any():
        return rows
    n = t["N"][rows].max()
    rows = rows & (t["N"] == n)
    return rows & (t["M"] == t["M"][rows].max())


def _ratio_to_zero(t, rows, predictor):
    """risk(predictor) / risk(zero) at the same points (largest N and M of the selection)."""
    ratios = []
    for point in np.unique(t["point"][rows]):
        at = t["point"] == point
        lsa, zero = at & (t["predictor"] == predictor), at & (t["predictor"] == "zero")
        if lsa.any() and zero.any():
            ratios.append(t["risk"][lsa][0] / t["risk"][zero][0])
    return np.array(ratios)


def compute_claims(t, fits, slopes, models, rate_rows):
    claims = []
    lsa = "lsa" if (t["predictor"] == "lsa").any() else "lsa-theory"

    # Theorem 4.1: gradient flow reaches the closed-form weights.
    flow = [m for m in models.values() if m["attrs"].get("method") == "flow"]
    if flow:
        worst = max(float(m["attrs"].get("final_distance", np.inf)) for m in flow)
        converged = all(float(m["attrs"].get("converged", 0)) == 1.0 for m in flow)
        claims.append(_row("Theorem 4.1: gradient flow reaches W_KQ = c Γ⁻¹, W_PV = e eᵀ/c",
                           f"{len(flow)} training settings, max ‖uU − Γ⁻¹‖/‖Γ⁻¹‖ = {worst:.1e}",
                           "0 (flow converges)", AGREES if converged and worst <= 1e-6 else DISAGREES))
    else:
        claims.append(_row("Theorem 4.1: gradient flow reaches the closed-form weights", "-", "-", MISSING))

    # Theorem 4.2: the trained model's risk equals the closed form.
    rows = (t["predictor"] == lsa) & (t["shift"] == "none") & np.isfinite(t["theory"]) & (t["theory"] > 0)
    if rows.any():
        z = (t["risk"][rows] - t["theory"][rows]) / t["stderr"][rows]
        share = np.mean(np.abs(z) > 4)
        claims.append(_row(f"Theorem 4.2: risk of the trained LSA ({lsa}) equals the closed form",
                           f"{rows.sum()} points, max abs z = {np.abs(z).max():.2f}, mean z² = {np.mean(z**2):.2f}",
                           "abs z ≤ 4 (z ~ N(0, 1))", AGREES if share <= 0.01 and np.abs(z).max() <= 5 else DISAGREES))
    else:
        claims.append(_row("Theorem 4.2 value", "-", "-", MISSING))

    # The 1/M rate.
    alphas = [(f["alpha"], f["alpha_lo"], f["alpha_hi"]) for key, f in fits.items()
              if key[5] == lsa and key[2] == "none" and key[4] == "linear"]
    if alphas:
        a = np.array(alphas)
        inside = np.mean((a[:, 1] <= 1) & (1 <= a[:, 2]))
        median = float(np.median(a[:, 0]))
        claims.append(_row("risk − floor falls like 1/M", f"median α = {median:.3f} over {len(a)} series; "
                           f"95% interval holds 1 in {100 * inside:.0f}%", "α = 1",
                           AGREES if 0.85 <= median <= 1.15 and inside >= 0.7 else DISAGREES))
    else:
        claims.append(_row("risk − floor falls like 1/M", "-", "α = 1", MISSING))

    # The 1/N² floor.
    floor = [s for s in slopes if s["fit"] == "floor-N" and s["predictor"] == lsa]
    floors = [r for r in rate_rows if r["predictor"] == lsa and r["shift"] == "none" and r["task"] == "linear"]
    if floor and floors:
        inside = np.mean([r["b_in_interval"] for r in floors])
        ok = [s["theory"] is not None and s["lo"] - 0.05 <= s["theory"] <= s["hi"] + 0.05 for s in floor]
        text = (f"fitted floor b inside its 95% interval of the theory floor in {100 * inside:.0f}% of "
                f"{len(floors)} series; log-log slope of b against N: " +
                "; ".join(f"d={s['d']} {s['covariance']}: {s['slope']:.2f} [{s['lo']:.2f}, {s['hi']:.2f}]"
                          for s in floor))
        theory = "; ".join(f"{s['theory']:.2f}" for s in floor)
        claims.append(_row("the floor falls like 1/N² (fitted b against N)", text,
                           f"b = Theorem 4.2's 1/N² term; slope over the same N: {theory} (→ −2 as N → ∞)",
                           AGREES if all(ok) and inside >= 0.8 else DISAGREES))
    else:
        claims.append(_row("the floor falls like 1/N²", "-", "slope −2", MISSING))

    # Nonlinear tasks: the LSA reaches the best linear predictor.
    nonlinear = sorted(set(t["task"][t["task"] != "linear"]) - {x for x in t["task"] if x.startswith("sparse")})
    measured, good = [], True
    for task in nonlinear:
        rows = (t["task"] == task) & (t["shift"] == "none") & (t["M"] == t["N"])
        best_rows = _largest(t, rows & (t["predictor"] == "ols"))
        lsa_rows = _largest(t, rows & (t["predictor"] == lsa))
        if not best_rows.any() or not lsa_rows.any():
            continue
        lsa_risk, best_risk = t["risk"][lsa_rows][0], t["risk"][best_rows][0]
        excess = lsa_risk / best_risk - 1
        # Heavy-tailed targets (quadratic) leave a few per cent of Monte Carlo error in the ratio:
        # the bound is 10% plus three standard errors of it (errors added as if independent, which
        # is conservative: both predictors see the same prompts).
        relative_error = np.hypot(t["stderr"][lsa_rows][0] / lsa_risk, t["stderr"][best_rows][0] / best_risk)
        measured.append(f"{task}: {100 * excess:+.1f}% ± {100 * relative_error:.1f}% at N = M = {t['N'][lsa_rows][0]}")
        good &= excess < 0.1 + 3 * relative_error * (1 + excess)
    claims.append(_row("nonlinear tasks: the LSA predicts like the best linear predictor",
                       "; ".join(measured) if measured else "-", "excess over OLS (long prompts) → 0",
                       (AGREES if good else DISAGREES) if measured else MISSING))

    # Shifts, judged at the largest N and M: a tolerated shift keeps the error a small fraction of
    # the zero predictor's, as without shift; a failing one does not.
    def shift_claim(label, names, tolerated):
        """Each shift's error relative to the zero predictor's, divided by the same ratio without the
        shift at the same d, N, M and covariance (largest N and M measured): near 1 when the shift is
        tolerated, large when it is not."""
        rows = (t["task"] == "linear") & np.array([_family(s, names) for s in t["shift"]])
        results = []
        for shift in sorted(set(t["shift"][rows])):
            end = _largest(t, rows & (t["shift"] == shift) & (t["predictor"] == lsa))
            if not end.any():
                continue
            i = np.flatnonzero(end)[0]
            base = ((t["d"] == t["d"][i]) & (t["N"] == t["N"][i]) & (t["M"] == t["M"][i]) &
                    (t["covariance"] == t["covariance"][i]) & (t["task"] == "linear") & (t["shift"] == "none"))
            shifted, unshifted = _ratio_to_zero(t, end, lsa), _ratio_to_zero(t, base & (t["predictor"] == lsa), lsa)
            if len(shifted) and len(unshifted):
                results.append((shift, shifted[0], shifted[0] / unshifted[0]))
        if not results:
            return _row(label, "-", "-", MISSING)
        text = "; ".join(f"{s}: {x:.3f} ({r:.2f}x unshifted)" for s, x, r in results)
        relative = np.array([r for _, _, r in results])
        ok = relative.max() <= 1.5 if tolerated else relative.min() >= 5.0
        return _row(label, f"error / zero-predictor error at the largest N, M: {text}",
                    "as without the shift (≤ 1.5x)" if tolerated else "far above it (≥ 5x)",
                    AGREES if ok else DISAGREES)

    claims.append(shift_claim("task shift tolerated", TASK_SHIFTS, True))
    claims.append(shift_claim("query shift tolerated", QUERY_SHIFTS, True))
    claims.append(shift_claim("covariate shift fails (scale-x = c ≠ 1)", ("scale-x",), False))

    # Random covariance: trained on random-exp, V → I/3 and the error stays near d/3.
    random_models = [m for m in models.values() if m["attrs"].get("covariance") == "random-exp"
                     and m["attrs"].get("model", "lsa") == "lsa"]
    rows = (t["covariance"] == "random-exp") & (t["predictor"] == lsa) & \
           np.isin(t["shift"], ["none", "random-cov-scale=1"]) & (t["task"] == "linear")
    if random_models and rows.any():
        model = max(random_models, key=lambda m: int(m["attrs"]["N"]))
        d, n = int(model["attrs"]["d"]), int(model["attrs"]["N"])
        w_pv, w_kq = np.asarray(model["W_PV"]), np.asarray(model["W_KQ"])
        v = w_pv[d, d] * w_kq[:d, :d]
        b = float(np.mean(np.diag(v)))
        b_theory = 2.0 / (6.0 * (1 + 2.0 / n) + 2.0 * (d - 1) / n)
        end = _largest(t, rows)
        per_dim = t["risk"][end][0] / t["d"][end][0]
        theory_per_dim = t["theory"][end][0] / t["d"][end][0]
        ok = abs(b - b_theory) < 1e-3 and per_dim > 0.25 and abs(per_dim - theory_per_dim) < 0.05
        claims.append(_row("random covariance: one layer cannot learn across covariances; E ŷ → ⅓ <w, x_q>",
                           f"trained V = {b:.4f}·I at N = {n} (→ ⅓); error/d = {per_dim:.3f} at N = "
                           f"{t['N'][end][0]}, M = {t['M'][end][0]}",
                           f"V = {b_theory:.4f}·I; error/d = {theory_per_dim:.3f} (→ ⅓)",
                           AGREES if ok else DISAGREES))
    else:
        claims.append(_row("random covariance fails", "-", "-", MISSING))
    return claims
