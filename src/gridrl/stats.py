"""Robust statistics of final scores across seeds, after Agarwal et al., "Deep Reinforcement Learning at
the Edge of the Statistical Precipice", NeurIPS 2021 (the ``rliable`` library): IQM, mean and median
with stratified bootstrap confidence intervals, probability of improvement, performance profiles, and
the time runs take to reach a threshold.

The scores of one config are an array (runs x tasks); a 1-D array is one task (runs = seeds, the common
case). Every interval is a percentile interval of a stratified bootstrap: the runs of each task (the
strata) are resampled with replacement, as rliable's ``StratifiedBootstrap`` does; the bounds are order
statistics of the bootstrap distribution (no interpolation, so the infinite times of censored runs stay
exact). The bootstrap is this module's own, in numpy, vectorized over repetitions: ``rliable.library``
does not import here (rliable 1.2.0 imports arch 7.2, which calls pandas' private ``deprecate_kwarg``
with the pre-3.0 signature: TypeError under pandas 3.1), and ``scipy.stats.bootstrap`` has no strata.
Results are deterministic given ``seed``; each config (or pair) draws from its own stream seeded by
``(seed, its name)``, so adding a config leaves the others' intervals unchanged. Fewer than 2 runs give
no interval: ``low`` and ``high`` are NaN. Only numpy is imported here; matplotlib inside the writers.
Its length is the four estimators plus their figure and table writers, kept together so that a table
and its figure always show the same numbers.
"""

from __future__ import annotations

import io
import math
import os
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

ArrayLike = Any  # anything np.asarray turns into a float array
_CHUNK = 4_000_000  # resampled values held in memory at once


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap confidence interval (``low``/``high`` NaN: not estimable)."""

    value: float
    low: float
    high: float

    def format(self, percent: bool = False, digits: int | None = None) -> str:
        """``0.97 [0.95, 0.99]``, or ``97.0% [95.0%, 99.0%]``; just the value when there is no interval."""
        d = (1 if percent else 2) if digits is None else digits
        f = (lambda v: f"{100 * v:.{d}f}%") if percent else (lambda v: f"{v:.{d}f}")
        return f(self.value) if math.isnan(self.low) else f"{f(self.value)} [{f(self.low)}, {f(self.high)}]"

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class Aggregate:
    """The aggregate scores of one config (``dataclasses.asdict`` gives plain dicts of floats)."""

    runs: int
    tasks: int
    iqm: Interval
    mean: Interval
    median: Interval


@dataclass(frozen=True)
class Profile:
    """A performance profile: fraction of runs scoring above each tau, with its pointwise interval."""

    taus: np.ndarray  # (T,)
    fraction: np.ndarray  # (T,)
    low: np.ndarray  # (T,) NaN with one run
    high: np.ndarray  # (T,)
    runs: int


@dataclass(frozen=True)
class TimeToThreshold:
    """When the runs of one config first reached a threshold; ``inf`` marks a censored run (never)."""

    threshold: float
    runs: int
    reached: int  # runs that reached the threshold
    steps: np.ndarray  # (runs,) first env step at or above the threshold, inf when never
    seconds: np.ndarray | None  # (runs,) wall seconds at that step, inf when never; None without seconds
    budget_steps: float  # the largest last logged step: inf in a statistic means "beyond this"
    budget_seconds: float | None
    median_steps: Interval
    iqm_steps: Interval
    median_seconds: Interval | None
    iqm_seconds: Interval | None


# --------------------------------------------------------------------------------------------- core
def _as_scores(x: ArrayLike, what: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: not a numeric array (runs,) or (runs x tasks)") from None
    a = a[:, None] if a.ndim == 1 else a
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"{what}: expected a non-empty array (runs,) or (runs x tasks), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{what}: {int((~np.isfinite(a)).sum())} value(s) are NaN or infinite")
    return a


def _check(reps: int, confidence: float, what: Mapping[str, Any] | None = None) -> None:
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ValueError(f"reps={reps!r}: expected a positive int")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r}: expected a level in (0, 1), e.g. 0.95")
    if what is not None and not what:
        raise ValueError("no configs given (an empty mapping of scores)")


def _rng(seed: int, *names: str) -> np.random.Generator:
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])


def _bootstrap(arrays: Sequence[np.ndarray], fn: Callable[..., np.ndarray], reps: int, rng, cost: int):
    """``fn`` on ``reps`` stratified resamples of ``arrays`` (each (runs x tasks), resampled
    independently, runs drawn with replacement within each task), in chunks; -> (reps, ...)."""
    per, out = max(1, _CHUNK // max(cost, 1)), []
    for start in range(0, reps, per):
        b = min(per, reps - start)
        out.append(fn(*(a[rng.integers(0, len(a), (b, *a.shape)), np.arange(a.shape[1])] for a in arrays)))
    return np.concatenate(out)


def _interval(point: Any, dist: np.ndarray, confidence: float, estimable: bool) -> Any:
    """Percentile interval (order statistics) of the bootstrap distribution ``dist`` along axis 0."""
    nan = np.full(np.shape(point), np.nan)
    a = (1 - confidence) / 2
    lo = np.quantile(dist, a, axis=0, method="lower") if estimable else nan
    hi = np.quantile(dist, 1 - a, axis=0, method="higher") if estimable else nan
    return (point, lo, hi) if np.ndim(point) else Interval(float(point), float(lo), float(hi))


def _iqm(x: np.ndarray) -> np.ndarray:
    """Interquartile mean of each resample (B, ...) -> (B,): the mean of the pooled scores with
    int(N/4) dropped at each end (scipy.stats.trim_mean(0.25), rliable's aggregate_iqm)."""
    flat = np.sort(x.reshape(len(x), -1), axis=1)
    cut = flat.shape[1] // 4
    return flat[:, cut : flat.shape[1] - cut].mean(1)


def _three(x: np.ndarray) -> np.ndarray:
    flat = x.reshape(len(x), -1)
    return np.stack([_iqm(x), flat.mean(1), np.median(flat, 1)], axis=1)


# ------------------------------------------------------------------------------------------ metrics
def normalized_score(returns: ArrayLike, random_return: ArrayLike, reference_return: ArrayLike) -> np.ndarray:
    """(R - R_random) / (R_reference - R_random), elementwise with broadcasting (per-task references as
    arrays (tasks,)): 0 = random play, 1 = the reference (e.g. the oracle), whatever the signs."""
    r, lo, hi = (np.asarray(v, dtype=np.float64) for v in (returns, random_return, reference_return))
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ValueError("normalized_score: random_return and reference_return must be finite")
    if np.any(same := np.broadcast_to(hi == lo, np.broadcast_shapes(hi.shape, lo.shape))):
        where = f" in {int(same.sum())} of {same.size} tasks" if same.ndim else f" ({float(hi):g})"
        raise ValueError(
            f"normalized_score: reference_return equals random_return{where}; the score is undefined"
        )
    return (r - lo) / (hi - lo)


def _z(confidence: float) -> float:
    """The two-sided normal quantile of a ``confidence`` level (1.96 at 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def ratio_of_means(numerator: ArrayLike, denominator: ArrayLike, confidence: float = 0.95) -> Interval:
    """``mean(numerator) / mean(denominator)`` over paired samples (the episodes of one evaluation: a
    policy's returns over the oracle's on the same layouts) with its delta-method (normal) interval:
    how far the ratio measured on these n episodes may be from the ratio over the distribution they are
    drawn from. It says whether an evaluation is large enough, not how seeds vary (:func:`aggregate`).
    Bounds are NaN with fewer than 2 samples; everything is NaN when the denominator's mean is 0."""
    x, y = (np.asarray(a, dtype=np.float64).ravel() for a in (numerator, denominator))
    if x.shape != y.shape or not 0 < confidence < 1:
        raise ValueError("ratio_of_means: expected paired 1-D samples of one length and 0 < confidence < 1")
    mean_y = float(y.mean()) if len(y) else 0.0
    if mean_y == 0:
        return Interval(math.nan, math.nan, math.nan)
    r = float(x.mean()) / mean_y
    if len(x) < 2:
        return Interval(r, math.nan, math.nan)
    half = _z(confidence) * float(np.std(x - r * y, ddof=1))
    half /= abs(mean_y) * math.sqrt(len(x))
    return Interval(r, r - half, r + half)


def wilson_interval(rate: float, n: int, confidence: float = 0.95) -> Interval:
    """A share ``rate`` of ``n`` trials with its Wilson score interval (well behaved at 0 and 1: no
    outcome in 1000 trials still allows a rate up to 0.38 %). NaN bounds when ``n`` is 0."""
    if n <= 0:
        return Interval(rate, math.nan, math.nan)
    z = _z(confidence)
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(rate, max(0.0, centre - half), min(1.0, centre + half))


def aggregate(
    scores: Mapping[str, ArrayLike], reps: int = 10_000, seed: int = 0, confidence: float = 0.95
) -> dict[str, Aggregate]:
    """Per config: IQM (25 % trimmed mean of all run x task scores), mean, and median of all scores
    (pooled like the IQM; rliable's ``aggregate_median`` takes the median of per-task means instead, which
    with one task is just the mean), each with a stratified bootstrap confidence interval."""
    _check(reps, confidence, scores)
    out = {}
    for name, raw in scores.items():
        x = _as_scores(raw, f"scores[{name!r}]")
        dist = _bootstrap([x], _three, reps, _rng(seed, name), x.size)
        point = _three(x[None])[0]
        iqm, mean, med = (_interval(point[i], dist[:, i], confidence, len(x) > 1) for i in range(3))
        out[name] = Aggregate(len(x), x.shape[1], iqm, mean, med)
    return out


def _poi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    gt = (x[:, :, None, :] > y[:, None, :, :]).mean((1, 2))
    eq = (x[:, :, None, :] == y[:, None, :, :]).mean((1, 2))
    return (gt + 0.5 * eq).mean(1)


def _poi_interval(
    x: ArrayLike, y: ArrayLike, reps: int, rng, confidence: float, names=("x", "y")
) -> Interval:
    a, b = _as_scores(x, names[0]), _as_scores(y, names[1])
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{names[0]} has {a.shape[1]} task(s), {names[1]} has {b.shape[1]}: they must match")
    dist = _bootstrap([a, b], _poi, reps, rng, len(a) * len(b) * a.shape[1])
    return _interval(_poi(a[None], b[None])[0], dist, confidence, min(len(a), len(b)) > 1)


def probability_of_improvement(
    x: ArrayLike, y: ArrayLike, reps: int = 2_000, seed: int = 0, confidence: float = 0.95
) -> Interval:
    """P(X > Y): the chance that a run of X scores above a run of Y on the same task, ties counting
    one half (Mann-Whitney U / (n_x n_y)), averaged over tasks; the interval resamples the runs of X and
    of Y independently within each task (rliable's StratifiedIndependentBootstrap)."""
    _check(reps, confidence)
    return _poi_interval(x, y, reps, _rng(seed), confidence)


def pairwise_probability_of_improvement(
    scores: Mapping[str, ArrayLike], reps: int = 2_000, seed: int = 0, confidence: float = 0.95
) -> dict[tuple[str, str], Interval]:
    """:func:`probability_of_improvement` of every ordered pair ``(a, b)``, a != b, in the mapping's order."""
    _check(reps, confidence, scores)
    return {
        (a, b): _poi_interval(scores[a], scores[b], reps, _rng(seed, a, b), confidence, (a, b))
        for a in scores
        for b in scores
        if a != b
    }


def performance_profile(
    scores: Mapping[str, ArrayLike],
    taus: ArrayLike | None = None,
    reps: int = 2_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Profile]:
    """Score distributions (performance profiles): for each tau, the fraction of runs scoring strictly
    above tau (per task, averaged over tasks) with pointwise stratified bootstrap intervals. ``taus``
    default: 101 points spanning all configs' scores with a 5 % margin (the curves go from 1 to 0)."""
    _check(reps, confidence, scores)
    xs = {name: _as_scores(v, f"scores[{name!r}]") for name, v in scores.items()}
    if taus is None:
        lo, hi = min(x.min() for x in xs.values()), max(x.max() for x in xs.values())
        pad = 0.05 * (hi - lo) or 0.5
        t = np.linspace(lo - pad, hi + pad, 101)
    else:
        t = np.asarray(taus, dtype=np.float64)
        if t.ndim != 1 or t.size == 0 or not np.isfinite(t).all():
            raise ValueError(
                f"taus: expected a non-empty 1-D array of finite thresholds, got shape {t.shape}"
            )

    def frac(r: np.ndarray) -> np.ndarray:
        return (r[..., None] > t).mean((1, 2))

    out = {}
    for name, x in xs.items():
        dist = _bootstrap([x], frac, reps, _rng(seed, name), x.size * t.size)
        point, lo_, hi_ = _interval(frac(x[None])[0], dist, confidence, len(x) > 1)
        out[name] = Profile(t, point, lo_, hi_, len(x))
    return out


def time_to_threshold(
    curves: Sequence[tuple[ArrayLike, ...]],
    threshold: float,
    reps: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> TimeToThreshold:
    """First step (and wall second) at which each run's value is >= ``threshold``; ``curves`` holds one
    ``(steps, values)`` or ``(steps, values, seconds)`` per run (NaN values never count as reached).
    A run that never reached it is censored: its time is ``inf``, not the budget (that would bias the
    statistics low). The median and IQM (stratified bootstrap intervals) are then exact when finite,
    for runs sharing one budget: the median needs more than half of the runs, the IQM all but int(n/4),
    to have reached it; otherwise they are ``inf`` ("beyond ``budget_steps``")."""
    _check(reps, confidence)
    if not len(curves) or not math.isfinite(threshold):
        raise ValueError("time_to_threshold: expected at least one curve and a finite threshold")
    steps, secs, budget, budget_s = [], [], 0.0, 0.0
    timed = all(len(c) == 3 for c in curves)
    for i, c in enumerate(curves):
        arrs = [np.asarray(a, dtype=np.float64) for a in c]
        if (
            len(arrs) not in (2, 3)
            or arrs[0].ndim != 1
            or any(a.shape != arrs[0].shape for a in arrs)
            or not np.isfinite(arrs[0]).all()
        ):
            raise ValueError(
                f"curves[{i}]: expected (steps, values[, seconds]): 1-D arrays of one length, finite steps"
            )
        order = np.argsort(arrs[0], kind="stable")
        s, v, *w = (a[order] for a in arrs)
        hit = np.flatnonzero(v >= threshold)
        budget = max(budget, float(s[-1])) if len(s) else budget
        steps.append(float(s[hit[0]]) if len(hit) else math.inf)
        if timed:
            budget_s = max(budget_s, float(w[0][-1])) if len(s) else budget_s
            secs.append(float(w[0][hit[0]]) if len(hit) else math.inf)

    def two(values: list[float], name: str) -> tuple[np.ndarray, Interval, Interval]:
        x = np.asarray(values)[:, None]
        dist = _bootstrap([x], _three, reps, _rng(seed, name), x.size)
        point = _three(x[None])[0]
        return x[:, 0], *(_interval(point[i], dist[:, i], confidence, len(x) > 1) for i in (2, 0))

    st, med, iqm = two(steps, "steps")
    sec, med_s, iqm_s = two(secs, "seconds") if timed else (None, None, None)
    reached = int(np.isfinite(st).sum())
    return TimeToThreshold(
        threshold, len(st), reached, st, sec, budget, budget_s if timed else None, med, iqm, med_s, iqm_s
    )


# ------------------------------------------------------------------------------------------ figures
def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike[str], dpi: int) -> Path:
    """Render ``fig`` as PNG to a temporary name beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _hbars(ax, labels: list[str], ivs: list[Interval], color: str, percent: bool) -> None:
    """Horizontal bars at the point estimates with their intervals as error bars, values on the right."""
    y = np.arange(len(ivs))[::-1]
    v = np.array([i.value for i in ivs])
    err = np.nan_to_num(np.array([[i.value - i.low for i in ivs], [i.high - i.value for i in ivs]]))
    ax.barh(y, v, xerr=err, color=color, alpha=0.75, capsize=4, error_kw={"lw": 1.2})
    ax.set_yticks(y, labels)
    for yi, iv in zip(y, ivs, strict=True):
        ax.annotate(
            iv.format(percent), (1, yi), xytext=(6, 0), xycoords=("axes fraction", "data"),
            textcoords="offset points", va="center",
        )  # fmt: skip
    if percent:
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(True, axis="x", alpha=0.3)


def plot_interval_estimates(
    aggregates: Mapping[str, Aggregate],
    path: str | os.PathLike[str],
    score_name: str = "score",
    metrics: Sequence[str] = ("iqm", "mean"),
    percent: bool = False,
    confidence: float = 0.95,
    title: str | None = None,
    dpi: int = 120,
) -> Path:
    """One panel per metric (``iqm``, ``mean``, ``median``): a bar per config with its interval."""
    labels = [f"{name} ({a.runs} run{'s' * (a.runs != 1)})" for name, a in aggregates.items()]
    fig = _figure(
        4.0 * len(metrics) + 1.5 + 0.075 * max(map(len, labels), default=0), 0.45 * len(labels) + 1.6
    )
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), k + 1, sharey=fig.axes[0] if k else None)
        _hbars(ax, labels, [getattr(a, metric) for a in aggregates.values()], f"C{k}", percent)
        ax.set_xlabel(f"{'IQM' if metric == 'iqm' else metric} of {score_name}")
        ax.tick_params(axis="y", labelleft=k == 0)
    fig.suptitle(title or f"{score_name}: {100 * confidence:g}% stratified bootstrap intervals over runs")
    return _save(fig, path, dpi)


def plot_performance_profile(
    scores: Mapping[str, ArrayLike],
    path: str | os.PathLike[str],
    score_name: str = "score",
    taus: ArrayLike | None = None,
    percent: bool = False,
    reps: int = 2_000,
    seed: int = 0,
    confidence: float = 0.95,
    title: str | None = None,
    dpi: int = 120,
) -> Path:
    """:func:`performance_profile` of each config as a line with its interval as a band."""
    profiles = performance_profile(scores, taus, reps, seed, confidence)
    fig = _figure(7.5, 4.5)
    ax = fig.add_subplot()
    for i, (name, p) in enumerate(profiles.items()):
        ax.plot(
            p.taus,
            p.fraction,
            color=f"C{i % 10}",
            lw=1.8,
            label=f"{name} ({p.runs} run{'s' * (p.runs != 1)})",
        )
        if not np.isnan(p.low).all():
            ax.fill_between(p.taus, p.low, p.high, color=f"C{i % 10}", alpha=0.2, lw=0)
    if percent:
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(f"{score_name} (τ)")
    ax.set_ylabel(f"fraction of runs with {score_name} > τ")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title or f"performance profile ({100 * confidence:g}% bootstrap bands)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return _save(fig, path, dpi)


def plot_probability_of_improvement(
    pairs: Mapping[tuple[str, str], Interval],
    path: str | os.PathLike[str],
    confidence: float = 0.95,
    title: str | None = None,
    dpi: int = 120,
) -> Path:
    """A bar per pair ``(X, Y)``: P(X > Y) with its interval; the dashed line at 0.5 is "no difference"."""
    labels = [f"{a} > {b}" for a, b in pairs]
    fig = _figure(6.5 + 0.075 * max(map(len, labels), default=0), 0.45 * len(pairs) + 1.6)
    ax = fig.add_subplot()
    _hbars(ax, labels, list(pairs.values()), "C0", False)
    ax.axvline(0.5, color="0.3", ls="--", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability of improvement P(X > Y)")
    ax.set_title(title or f"probability of improvement ({100 * confidence:g}% bootstrap intervals)")
    return _save(fig, path, dpi)


# ------------------------------------------------------------------------------------------- tables
def _time(iv: Interval | None, budget: float | None) -> str:
    """An interval of times; ``inf`` (never reached) reads ``>budget``."""
    if iv is None:
        return "-"
    f = lambda v: f">{budget:,.0f}" if math.isinf(v) else f"{v:,.0f}"  # noqa: E731
    return f(iv.value) if math.isnan(iv.low) else f"{f(iv.value)} [{f(iv.low)}, {f(iv.high)}]"


def _tables(aggregates, poi, times, score_name, percent, confidence, markdown) -> str:
    ci = f"{100 * confidence:g}% CI"
    blocks = []
    if aggregates:
        rows = [
            [n, str(a.runs) + (f" x {a.tasks} tasks" if a.tasks > 1 else ""), a.iqm.format(percent),
             a.mean.format(percent), a.median.format(percent)]
            for n, a in aggregates.items()
        ]  # fmt: skip
        blocks.append(
            (f"{score_name} over runs: estimate [{ci}]", ["config", "runs", "IQM", "mean", "median"], rows)
        )
    if poi:
        rows = [[a, b, iv.format()] for (a, b), iv in poi.items()]
        blocks.append((f"probability of improvement [{ci}]", ["X", "Y", "P(X > Y)"], rows))
    if times:
        if len({t.threshold for t in times.values()}) > 1:
            raise ValueError("times: one table needs one threshold; format each threshold separately")
        t0 = next(iter(times.values()))
        rows = [
            [n, str(t.runs), str(t.reached), _time(t.median_steps, t.budget_steps),
             _time(t.iqm_steps, t.budget_steps), _time(t.median_seconds, t.budget_seconds)]
            for n, t in times.items()
        ]  # fmt: skip
        head = ["config", "runs", "reached", "median env steps", "IQM env steps", "median seconds"]
        note = "never reached = inf; >N: beyond the budget N"
        level = f"{100 * t0.threshold:g}%" if percent else f"{t0.threshold:g}"
        blocks.append((f"time to {score_name} >= {level} [{ci}] ({note})", head, rows))
    out = []
    for caption, head, rows in blocks:
        if markdown:
            esc = [[c.replace("|", "\\|") for c in r] for r in [head, *rows]]
            lines = ["| " + " | ".join(r) + " |" for r in esc]
            lines.insert(1, "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
            out.append(f"**{caption}**\n\n" + "\n".join(lines))
        else:
            w = [max(len(r[j]) for r in [head, *rows]) for j in range(len(head))]
            lines = [
                "  ".join(c.ljust(w[j]) if j == 0 else c.rjust(w[j]) for j, c in enumerate(r))
                for r in [head, *rows]
            ]
            lines.insert(1, "  ".join("-" * x for x in w))
            out.append(caption + "\n" + "\n".join(lines))
    return "\n\n".join(out) + "\n"


def format_tables(
    aggregates: Mapping[str, Aggregate] | None = None,
    poi: Mapping[tuple[str, str], Interval] | None = None,
    times: Mapping[str, TimeToThreshold] | None = None,
    score_name: str = "score",
    percent: bool = False,
    confidence: float = 0.95,
    markdown: bool = False,
) -> str:
    """The given tables (aggregates, pairwise P(X > Y), times to a threshold), each under a caption, as
    aligned plain text or (``markdown``) markdown tables; cells read ``0.97 [0.95, 0.99]`` (``percent``:
    ``97.0% [95.0%, 99.0%]``)."""
    return _tables(aggregates, poi, times, score_name, percent, confidence, markdown=markdown)


format_text = partial(format_tables, markdown=False)  # the terminal's tables
format_markdown = partial(format_tables, markdown=True)  # README / summary.md tables
