"""gridrl.stats: robust aggregates over seeds, probability of improvement, profiles, time to threshold."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gridrl import stats

REPS = 1_000


def trimmed_by_hand(values: np.ndarray) -> float:
    """The interquartile mean, spelled out: sort, drop a quarter (rounded down) at each end, average."""
    ordered = sorted(np.ravel(values).tolist())
    cut = len(ordered) // 4
    kept = ordered[cut : len(ordered) - cut]
    return sum(kept) / len(kept)


def test_point_estimates_by_hand():
    rng = np.random.default_rng(3)
    for shape in [(13,), (7,), (11,), (5, 3), (8, 3), (1,), (4,)]:
        x = rng.exponential(size=shape)
        a = stats.aggregate({"c": x}, reps=REPS)["c"]
        assert a.iqm.value == pytest.approx(trimmed_by_hand(x))
        assert a.mean.value == pytest.approx(float(np.mean(x)))
        assert a.median.value == pytest.approx(float(np.median(x)))
        assert (a.runs, a.tasks) == (shape[0], shape[1] if len(shape) > 1 else 1)
    # an outlier moves the mean but hardly the IQM
    x = np.array([1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 100.0])
    a = stats.aggregate({"c": x}, reps=REPS)["c"]
    assert a.iqm.value == pytest.approx(np.mean(np.sort(x)[2:6])) and a.mean.value > 10


def test_iqm_agrees_with_scipy_and_rliable_metrics():
    scipy_stats = pytest.importorskip("scipy.stats")
    x = np.random.default_rng(0).normal(size=(10, 3))
    iqm = stats.aggregate({"c": x}, reps=REPS)["c"].iqm.value
    assert iqm == pytest.approx(scipy_stats.trim_mean(x, 0.25, axis=None))
    metrics = pytest.importorskip("rliable.metrics")  # the module imports even where rliable.library cannot
    assert iqm == pytest.approx(metrics.aggregate_iqm(x))


def test_interval_contains_estimate_and_narrows_with_runs():
    rng = np.random.default_rng(1)
    scores = {"few": rng.normal(0.8, 0.1, 5), "many": rng.normal(0.8, 0.1, 80)}
    agg = stats.aggregate(scores, reps=2_000, seed=0)
    for a in agg.values():
        for iv in (a.iqm, a.mean, a.median):
            assert iv.low <= iv.value <= iv.high
    width = {n: (a.iqm.high - a.iqm.low, a.mean.high - a.mean.low) for n, a in agg.items()}
    assert width["many"][0] < width["few"][0] / 2 and width["many"][1] < width["few"][1] / 2


def test_bootstrap_matches_scipy_for_one_task():
    """With one task the stratified bootstrap is the plain one: the mean's percentile interval agrees
    with scipy.stats.bootstrap's (up to Monte Carlo error)."""
    scipy_stats = pytest.importorskip("scipy.stats")
    x = np.random.default_rng(2).normal(1.0, 0.3, 30)
    ours = stats.aggregate({"c": x}, reps=5_000, seed=0)["c"].mean
    ref = scipy_stats.bootstrap((x,), np.mean, n_resamples=5_000, method="percentile", rng=0)
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert abs(ours.low - ref.confidence_interval.low) < 0.1 * width
    assert abs(ours.high - ref.confidence_interval.high) < 0.1 * width


def test_one_run_has_no_interval():
    a = stats.aggregate({"solo": [0.5]}, reps=REPS)["solo"]
    assert a.iqm.value == 0.5 and math.isnan(a.iqm.low) and math.isnan(a.iqm.high)
    assert a.iqm.format() == "0.50" and a.iqm.format(percent=True) == "50.0%"


def test_probability_of_improvement():
    rng = np.random.default_rng(4)
    low, high = rng.uniform(0, 1, (6, 2)), rng.uniform(2, 3, (9, 2))
    p = stats.probability_of_improvement(high, low, reps=REPS)
    assert (p.value, p.low, p.high) == (1.0, 1.0, 1.0)
    assert stats.probability_of_improvement(low, high, reps=REPS).value == 0.0
    same = rng.normal(size=12)
    assert stats.probability_of_improvement(same, same.copy(), reps=REPS).value == 0.5  # ties count half
    p = stats.probability_of_improvement(rng.normal(size=20), rng.normal(size=20), reps=REPS)
    assert p.low < 0.5 < p.high  # one distribution: 0.5 is inside the interval


def test_pairwise_probability_of_improvement():
    rng = np.random.default_rng(5)
    scores = {"a": rng.normal(0, 1, 8), "b": rng.normal(1, 1, 8), "c": rng.normal(2, 1, 5)}
    pairs = stats.pairwise_probability_of_improvement(scores, reps=REPS)
    assert list(pairs) == [("a", "b"), ("a", "c"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "b")]
    for (x, y), iv in pairs.items():
        assert iv.value + pairs[(y, x)].value == pytest.approx(1.0)
        assert iv.value == stats.probability_of_improvement(scores[x], scores[y], reps=10).value


@pytest.mark.parametrize(("random", "reference"), [(0.0, 10.0), (-10.0, -2.0), (-5.0, 0.0), (3.0, -1.0)])
def test_normalized_score(random, reference):
    assert stats.normalized_score(random, random, reference) == 0.0
    assert stats.normalized_score(reference, random, reference) == 1.0
    mid = stats.normalized_score((random + reference) / 2, random, reference)
    assert mid == pytest.approx(0.5)


def test_normalized_score_per_task():
    returns = np.array([[1.0, -4.0], [3.0, -3.0]])  # runs x tasks
    out = stats.normalized_score(returns, [1.0, -5.0], [3.0, -3.0])
    np.testing.assert_allclose(out, [[0.0, 0.5], [1.0, 1.0]])


def test_performance_profile():
    rng = np.random.default_rng(6)
    scores = {"a": rng.normal(0.5, 0.2, 10), "b": rng.normal(0.7, 0.1, (10, 2))}
    taus = np.linspace(-0.5, 1.5, 41)
    profiles = stats.performance_profile(scores, taus, reps=REPS)
    for name, p in profiles.items():
        assert (
            np.all(np.diff(p.fraction) <= 0) and np.all(np.diff(p.low) <= 0) and np.all(np.diff(p.high) <= 0)
        )
        assert np.all(p.low <= p.fraction) and np.all(p.fraction <= p.high)
        assert p.fraction[0] == 1.0 and p.fraction[-1] == 0.0
        i = 20  # tau = 0.5
        assert p.fraction[i] == pytest.approx(np.mean(np.asarray(scores[name]) > taus[i]))
    tied = stats.performance_profile({"t": [0.0, 1.0, 1.0, 2.0]}, [1.0], reps=REPS)["t"]
    assert tied.fraction.tolist() == [0.25]  # strictly above tau
    default = stats.performance_profile(scores, reps=REPS)["a"]
    assert default.fraction[0] == 1.0 and default.fraction[-1] == 0.0 and len(default.taus) == 101


def test_time_to_threshold_with_a_censored_run():
    steps = np.arange(1, 11) * 1_000
    curves = [
        (steps, np.where(steps >= reach, 1.0, 0.0), steps / 100.0) for reach in (3_000, 5_000, 8_000)
    ] + [(steps, np.full(10, 0.5), steps / 100.0)]  # never reaches 0.9
    t = stats.time_to_threshold(curves, 0.9, reps=REPS)
    assert (t.runs, t.reached, t.budget_steps, t.budget_seconds) == (4, 3, 10_000, 100.0)
    assert t.steps.tolist() == [3_000, 5_000, 8_000, math.inf]
    assert t.seconds.tolist() == [30.0, 50.0, 80.0, math.inf]
    assert t.median_steps.value == (5_000 + 8_000) / 2  # the censored run sits above every finite time
    assert t.iqm_steps.value == (5_000 + 8_000) / 2  # int(4/4) = 1 run trimmed at each end
    assert t.median_seconds.value == 65.0 and t.median_steps.high == math.inf
    # most runs censored: the median is "beyond the budget", not the budget
    t = stats.time_to_threshold([(steps, np.zeros(10))] * 3 + [(steps, np.ones(10))], 0.5, reps=REPS)
    assert t.median_steps.value == math.inf and t.reached == 1 and t.seconds is None
    assert ">10,000" in stats.format_text(times={"c": t})


def test_time_to_threshold_unsorted_steps_and_nan():
    t = stats.time_to_threshold([([300, 100, 200], [1.0, np.nan, 0.9])], 0.9, reps=10)
    assert t.steps.tolist() == [200.0]


def test_deterministic_under_a_seed():
    rng = np.random.default_rng(7)
    scores = {"a": rng.normal(size=10), "b": rng.normal(size=10)}
    one = stats.aggregate(scores, reps=REPS, seed=3)
    assert one == stats.aggregate(scores, reps=REPS, seed=3)
    assert one != stats.aggregate(scores, reps=REPS, seed=4)
    assert stats.aggregate({"a": scores["a"]}, reps=REPS, seed=3)["a"] == one["a"]  # others do not matter
    p = stats.pairwise_probability_of_improvement(scores, reps=REPS, seed=3)
    assert p == stats.pairwise_probability_of_improvement(scores, reps=REPS, seed=3)
    prof = stats.performance_profile(scores, reps=REPS, seed=3)["a"]
    np.testing.assert_array_equal(prof.low, stats.performance_profile(scores, reps=REPS, seed=3)["a"].low)


def test_figures(tmp_path: Path):
    image = pytest.importorskip("matplotlib.image")
    rng = np.random.default_rng(8)
    scores = {"pqn, lr=1e-3": rng.normal(0.9, 0.05, 6), "dqn": rng.normal(0.7, 0.1, 6), "one": [0.4]}
    agg = stats.aggregate(scores, reps=REPS)
    pairs = stats.pairwise_probability_of_improvement(scores, reps=REPS)
    paths = [
        stats.plot_interval_estimates(agg, tmp_path / "iv.png", "% of oracle", percent=True),
        stats.plot_performance_profile(scores, tmp_path / "sub" / "pp.png", "normalized score", reps=REPS),
        stats.plot_probability_of_improvement(pairs, tmp_path / "poi.png"),
    ]
    for path in paths:
        assert path.stat().st_size > 1_000
        img = image.imread(path)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["iv.png", "poi.png", "pp.png", "sub"]


def test_tables():
    rng = np.random.default_rng(9)
    scores = {"pqn": rng.normal(0.97, 0.01, 10), "dqn|x": rng.normal(0.5, 0.1, 10)}
    agg = stats.aggregate(scores, reps=REPS)
    pairs = stats.pairwise_probability_of_improvement(scores, reps=REPS)
    text = stats.format_text(agg, pairs, score_name="% of oracle", percent=True)
    a = agg["pqn"].iqm
    assert f"{100 * a.value:.1f}% [{100 * a.low:.1f}%, {100 * a.high:.1f}%]" in text
    table = text.split("\n\n")[0].splitlines()[1:]
    assert len({len(line) for line in table}) == 1  # aligned columns
    md = stats.format_markdown(agg, pairs, score_name="normalized score")
    assert f"| {a.format()} |" in md and "dqn\\|x" in md and "| X | Y | P(X > Y) |" in md
    assert "normalized score" in md and str(a).startswith(f"{a.value:.2f} [")


@pytest.mark.parametrize(
    "call",
    [
        lambda: stats.normalized_score([1.0, 2.0], 3.0, 3.0),
        lambda: stats.normalized_score(1.0, np.nan, 3.0),
        lambda: stats.normalized_score(
            np.zeros((3, 40)), np.arange(40.0), np.arange(40.0) + (np.arange(40) > 2)
        ),
        lambda: stats.time_to_threshold([([1, np.nan], [1.0, 2.0])], 1.0),
        lambda: stats.aggregate({}),
        lambda: stats.aggregate({"a": []}),
        lambda: stats.aggregate({"a": [1.0, np.nan]}),
        lambda: stats.aggregate({"a": np.zeros((2, 2, 2))}),
        lambda: stats.aggregate({"a": ["x", "y"]}),
        lambda: stats.aggregate({"a": [1.0]}, reps=0),
        lambda: stats.aggregate({"a": [1.0]}, confidence=95),
        lambda: stats.probability_of_improvement(np.zeros((3, 2)), np.zeros((3, 1))),
        lambda: stats.performance_profile({"a": [1.0]}, taus=[]),
        lambda: stats.time_to_threshold([], 1.0),
        lambda: stats.time_to_threshold([([1, 2], [1.0])], 1.0),
        lambda: stats.format_text(
            times={
                n: stats.time_to_threshold([([1], [1.0])], level, reps=10)
                for n, level in [("a", 1), ("b", 2)]
            }
        ),
    ],
)
def test_bad_input_is_a_one_line_value_error(call):
    with pytest.raises(ValueError) as info:
        call()
    assert "\n" not in str(info.value) and str(info.value)


def test_import_stays_light():
    code = "import sys, gridrl.stats; print(sorted({'matplotlib', 'scipy', 'rliable', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------ one evaluation's interval
def test_ratio_of_means_value_and_degenerate_cases():
    x, y = np.array([1.0, 2.0, 6.0]), np.array([2.0, 2.0, 4.0])
    iv = stats.ratio_of_means(x, y)
    assert iv.value == pytest.approx(9 / 8) and iv.low < iv.value < iv.high
    assert (
        math.isnan(stats.ratio_of_means([3.0], [2.0]).low) and stats.ratio_of_means([3.0], [2.0]).value == 1.5
    )
    assert all(math.isnan(v) for v in (stats.ratio_of_means([1.0, 2.0], [1.0, -1.0]).value,))
    with pytest.raises(ValueError, match="paired"):
        stats.ratio_of_means([1.0, 2.0], [1.0])
    # a ratio known exactly has no width
    same = stats.ratio_of_means(2 * y, y)
    assert same.value == pytest.approx(2) and same.high - same.low == pytest.approx(0, abs=1e-12)


def test_ratio_of_means_covers_the_true_ratio_like_an_evaluation():
    """Episodes like an evaluation's (an oracle return per layout, a policy that mostly matches it and in
    3 % of games meets an enemy at -300): the 95 % interval covers the population ratio in about 95 % of
    1000-episode evaluations, and is about as wide as a paired bootstrap's. (With about one enemy hit
    expected per evaluation neither interval covers well: a third of such evaluations see none; the
    README says so.)"""
    rng = np.random.default_rng(0)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        oracle = 25.0 - rng.integers(1, 12, n)
        policy = np.where(
            rng.random(n) < 0.03, -300.0, oracle - (rng.random(n) < 0.1) * rng.integers(1, 6, n)
        )
        return policy, oracle

    big_x, big_y = draw(2_000_000)
    truth = big_x.mean() / big_y.mean()
    covered, widths = 0, []
    for _ in range(400):
        x, y = draw(1000)
        iv = stats.ratio_of_means(x, y)
        covered += iv.low <= truth <= iv.high
        widths.append(iv.high - iv.low)
    assert 0.92 <= covered / 400 <= 0.98, covered / 400
    x, y = draw(1000)
    idx = rng.integers(0, 1000, (4000, 1000))
    boot = x[idx].mean(1) / y[idx].mean(1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    iv = stats.ratio_of_means(x, y)
    assert (iv.high - iv.low) == pytest.approx(hi - lo, rel=0.15)


def test_wilson_interval_by_hand_and_at_the_edges():
    iv = stats.wilson_interval(0.0, 1000)
    assert iv.low == pytest.approx(0.0, abs=1e-15) and iv.high == pytest.approx(
        1.96**2 / (1000 + 1.96**2), rel=1e-3
    )  # ~ 3.84 / n
    iv = stats.wilson_interval(0.5, 100)  # (p + z^2/2n) / (1 + z^2/n) +- ...: symmetric around 0.5
    assert iv.low == pytest.approx(0.4038, abs=1e-3) and iv.high == pytest.approx(0.5962, abs=1e-3)
    assert stats.wilson_interval(1.0, 50).high == 1.0 and stats.wilson_interval(1.0, 50).low < 1.0
    assert math.isnan(stats.wilson_interval(0.0, 0).low)
