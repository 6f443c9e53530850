"""Statistics of runs across seeds and configs, for ``gridrl plot``: per group, the final score of each
run, its IQM and mean with 95 % stratified-bootstrap confidence intervals; with ``compare``, the
probability of improvement between every pair of groups and a performance profile (Agarwal et al.,
NeurIPS 2021); with a threshold, the env steps each group took to reach it, with an interval.
The statistics are :mod:`gridrl.stats`'s; this module picks the scores from the runs and names the files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gridrl import stats, tblog
from gridrl.config import ConfigError
from gridrl.runs import Run

log = logging.getLogger("gridrl")
# the score the statistics use when none is named: the first that every run logged
SCORE_PREFERENCE = ("eval/normalized_score", tblog.EVAL_ORACLE_RATIO, tblog.EVAL_MEAN_RETURN)
PERCENT_TAGS = ("eval/normalized_score", tblog.EVAL_ORACLE_RATIO)


@dataclass
class Comparison:
    """What the statistics found, and the files written."""

    score: str  # the TensorBoard tag the scores are the final values of
    aggregates: dict[str, stats.Aggregate]
    poi: dict[tuple[str, str], stats.Interval] = field(default_factory=dict)
    times: dict[str, stats.TimeToThreshold] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)

    @property
    def percent(self) -> bool:
        return self.score in PERCENT_TAGS

    def text(self) -> str:
        return stats.format_text(
            self.aggregates, self.poi or None, self.times or None, self.score, self.percent
        )

    def markdown(self) -> str:
        return stats.format_markdown(
            self.aggregates, self.poi or None, self.times or None, self.score, self.percent
        )


def pick_score(groups: dict[str, list[Run]], score: str | None) -> str:
    """``score`` if every run logged it, else the first of :data:`SCORE_PREFERENCE` that they all did."""
    runs = [r for members in groups.values() for r in members]
    logged = [t for t in ((score,) if score else SCORE_PREFERENCE) if all(t in r.scalars for r in runs)]
    if not logged:
        have = sorted(set.intersection(*(set(r.scalars) for r in runs))) if runs else []
        want = score or " or ".join(SCORE_PREFERENCE)
        raise ConfigError(
            f"score={want}: not logged by every run; every run has {', '.join(have) or 'nothing'}"
        )
    return logged[0]


def final_scores(groups: dict[str, list[Run]], tag: str) -> dict[str, np.ndarray]:
    """Per group: the last value of ``tag`` of each run that logged it (runs x 1 task)."""
    out = {}
    for label, members in groups.items():
        finals = [
            float(r.scalars[tag][1][-1]) for r in members if tag in r.scalars and len(r.scalars[tag][1])
        ]
        if finals:
            out[label] = np.asarray(finals)[:, None]
    return out


def compare_runs(
    groups: dict[str, list[Run]],
    stem: Path,
    score: str | None = None,
    compare: bool = False,
    threshold: float | None = None,
    seed: int = 0,
    dpi: int = 120,
) -> Comparison:
    """Aggregate the final ``score`` of every group; with ``compare`` (and 2+ groups) write
    ``<stem>_poi.png``, ``<stem>_profile.png`` and ``<stem>_intervals.png``; with ``threshold``, the env
    steps to reach it per group (a run that never did is censored, shown as ``>budget``)."""
    tag = pick_score(groups, score)
    scores = final_scores(groups, tag)
    result = Comparison(tag, stats.aggregate(scores, reps=2000, seed=seed))
    percent = result.percent
    if compare and len(scores) >= 2:
        result.poi = stats.pairwise_probability_of_improvement(scores, seed=seed)
        result.figures = [
            stats.plot_probability_of_improvement(result.poi, f"{stem}_poi.png", dpi=dpi),
            stats.plot_performance_profile(
                scores, f"{stem}_profile.png", tag, percent=percent, seed=seed, dpi=dpi
            ),
            stats.plot_interval_estimates(
                result.aggregates, f"{stem}_intervals.png", tag, percent=percent, dpi=dpi
            ),
        ]
    elif compare:
        log.warning("compare=true needs two groups or more; found %d", len(scores))
    if threshold is not None:
        for label, members in groups.items():
            curves = [r.scalars[tag] for r in members if tag in r.scalars]
            if curves:
                result.times[label] = stats.time_to_threshold(curves, threshold, seed=seed)
    return result
