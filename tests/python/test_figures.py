"""The checks for a figure's obvious failures (icl_analysis.figures.figure_problems), each seen to
fail on a deliberately broken figure and to pass on a sound one; the report runs them on every
figure it draws (test_analysis checks that its figures pass)."""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from conftest import ROOT  # noqa: E402

sys.path.insert(0, str(ROOT / "analysis"))
from icl_analysis.figures import MAX_DECADES, figure_problems  # noqa: E402

M = np.array([10.0, 20.0, 40.0, 80.0])


def sound_figure():
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, title in zip(axes, ("left", "right")):
        ax.errorbar(M, 1 / M, yerr=0.01 / M, fmt="o", label="measured")
        ax.plot(M, 1 / M, "--", label="theory")  # a line without markers needs no error bars
        ax.set(xscale="log", yscale="log", title=title)
    fig.suptitle("a sound figure")
    fig.tight_layout()
    return fig


def test_a_sound_figure_passes():
    fig = sound_figure()
    assert figure_problems(fig) == []
    plt.close(fig)


def test_overlapping_titles_are_found():
    fig, axes = plt.subplots(1, 3, figsize=(6, 3))
    for ax in axes:
        ax.set_title("train random-exp, test random-cov-scale=9, N = 40")
    problems = figure_problems(fig)
    plt.close(fig)
    assert any("titles overlap" in p for p in problems), problems


def test_a_title_under_the_suptitle_is_found():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_title("panel")
    fig.suptitle("figure title", y=0.9)  # pushed down onto the panel's title
    problems = figure_problems(fig)
    plt.close(fig)
    assert any("titles overlap" in p for p in problems), problems


def test_a_y_range_beyond_the_span_is_found():
    fig, ax = plt.subplots()
    ax.errorbar(M, [1.0, 1e-3, 1e20, 1e45], yerr=[0.1, 1e-4, 1e19, 1e44], fmt="o")
    ax.set(yscale="log", title="a diverged model")
    problems = figure_problems(fig)
    assert any("decades" in p for p in problems), problems
    # The same axis passes when the figure states a span that covers it.
    assert figure_problems(fig, max_decades=60) == []
    plt.close(fig)
    assert MAX_DECADES < 45


def test_measured_points_without_error_bars_are_found():
    fig, ax = plt.subplots()
    ax.plot(M, 1 / M, "o-", label="lsa")
    ax.set_title("no error bars")
    problems = figure_problems(fig)
    plt.close(fig)
    assert problems == ["'lsa' in 'no error bars' has no error bars"], problems
