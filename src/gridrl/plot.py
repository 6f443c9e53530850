"""Learning curves of groups of runs (read and grouped by :mod:`gridrl.runs`): mean and spread of a
TensorBoard tag per group against env steps, drawn and tabulated.

The functions return the data (:func:`curves` -> one :class:`Curve` per group; :func:`summary_rows`);
:func:`plot_curves` and :func:`write_tables` turn it into a PNG (matplotlib, Agg canvas, without
touching pyplot's global backend) and markdown / CSV tables, all written atomically.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gridrl import tblog
from gridrl.config import ConfigError
from gridrl.rundir import atomic_write
from gridrl.runs import Run, group_runs, load_runs

log = logging.getLogger("gridrl")

SUMMARY_TAGS = (tblog.EVAL_MEAN_RETURN, tblog.EVAL_ORACLE_RATIO)  # final scores in the summary tables
SPREADS = ("std", "minmax")


@dataclass
class Curve:
    """Mean and spread of one tag over the runs of a group, at every env step any of them logged."""

    label: str
    runs: int  # runs of the group that logged the tag
    steps: np.ndarray  # (T,) env steps
    mean: np.ndarray  # (T,) mean over the runs that reached the step
    std: np.ndarray  # (T,) standard deviation over those runs
    low: np.ndarray  # (T,) lower edge of the band (mean - std, or the min)
    high: np.ndarray  # (T,) upper edge of the band (mean + std, or the max)
    count: np.ndarray  # (T,) runs that reached the step


def curves(
    groups: dict[str, list[Run]], tag: str = tblog.EVAL_MEAN_RETURN, spread: str = "std"
) -> dict[str, Curve]:
    """One :class:`Curve` of ``tag`` per group that logged it (groups without the tag are left out).

    The runs of a group are aligned on the union of their steps; a run contributes to the steps it
    logged (runs of one config evaluate at the same steps, so nothing is interpolated).
    """
    if spread not in SPREADS:
        raise ConfigError(f"spread={spread!r} is not allowed; choose one of {', '.join(SPREADS)}")
    out: dict[str, Curve] = {}
    for label, members in groups.items():
        series = [r.scalars[tag] for r in members if tag in r.scalars and len(r.scalars[tag][0])]
        if not series:
            continue
        steps = np.unique(np.concatenate([s for s, _ in series]))
        table = np.full((len(series), len(steps)), np.nan)
        for i, (s, v) in enumerate(series):
            table[i, np.searchsorted(steps, s)] = v
        count = (~np.isnan(table)).sum(0)
        mean = np.nanmean(table, 0)
        std = np.sqrt(np.nanmean((table - mean) ** 2, 0))
        if spread == "std":
            low, high = mean - std, mean + std
        else:
            low, high = np.nanmin(table, 0), np.nanmax(table, 0)
        out[label] = Curve(label, len(series), steps, mean, std, low, high, count)
    return out


def summary_rows(groups: dict[str, list[Run]], tags: Sequence[str] = SUMMARY_TAGS) -> list[dict[str, Any]]:
    """Per group: runs, final env step, and the mean / std over runs of each tag's last value."""
    rows = []
    for label, members in groups.items():
        row: dict[str, Any] = {"group": label, "runs": len(members)}
        last_steps = [int(s[-1]) for r in members for s, _ in r.scalars.values() if len(s)]
        row["steps"] = max(last_steps) if last_steps else 0
        for tag in tags:
            finals = [
                float(r.scalars[tag][1][-1]) for r in members if tag in r.scalars and len(r.scalars[tag][1])
            ]
            row[f"{tag} mean"] = float(np.mean(finals)) if finals else math.nan
            row[f"{tag} std"] = float(np.std(finals)) if finals else math.nan
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------- writing
def plot_curves(
    data: dict[str, Curve],
    out: Path,
    tag: str,
    title: str | None = None,
    spread: str = "std",
    dpi: int = 120,
    references: dict[str, float] | None = None,
) -> Path:
    """Draw one line (mean) and band (spread) per curve against env steps into the PNG ``out``;
    ``references`` (name -> value) become dashed horizontal lines (e.g. the oracle's return)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, c in enumerate(data.values()):
        color = f"C{i % 10}"
        ax.plot(c.steps, c.mean, color=color, lw=1.8, label=f"{c.label} ({c.runs} run{'s' * (c.runs != 1)})")
        if c.runs > 1:
            ax.fill_between(c.steps, c.low, c.high, color=color, alpha=0.2, lw=0)
    for name, level in (references or {}).items():
        ax.axhline(level, color="0.35", ls="--", lw=1.0, label=f"{name}: {level:.4g}")
    band = "mean ± std" if spread == "std" else "mean, band min to max"
    ax.set_xlabel("env steps")
    ax.set_ylabel(tag)
    ax.set_title(title or f"{tag} ({band} over seeds)")
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.grid(True, alpha=0.3)
    if data:
        ax.legend(loc="best", fontsize="small")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    atomic_write(out, buf.getvalue())
    return out


def write_tables(
    rows: list[dict[str, Any]], md_path: Path, csv_path: Path, tags: Sequence[str] = SUMMARY_TAGS
) -> tuple[Path, Path]:
    """The summary as a markdown table (``mean ± std``) and a CSV (one numeric column each)."""
    head = ["group", "runs", "env steps", *[f"final {t}" for t in tags]]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for row in rows:
        cells = [row["group"].replace("|", "\\|"), str(row["runs"]), f"{row['steps']:,}"]
        cells += [_pm(row[f"{t} mean"], row[f"{t} std"], percent=t == tblog.EVAL_ORACLE_RATIO) for t in tags]
        lines.append("| " + " | ".join(cells) + " |")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["group", "runs", "steps", *[f"{t} {s}" for t in tags for s in ("mean", "std")]])
    for row in rows:
        writer.writerow(
            [
                row["group"],
                row["runs"],
                row["steps"],
                *[_num(row[f"{t} {s}"]) for t in tags for s in ("mean", "std")],
            ]
        )
    atomic_write(md_path, "\n".join(lines) + "\n")
    atomic_write(csv_path, buf.getvalue())
    return md_path, csv_path


def _pm(mean: float, std: float, percent: bool = False) -> str:
    if math.isnan(mean):
        return "-"
    if percent:
        return f"{100 * mean:.1f}% ± {100 * std:.1f}%"
    return f"{mean:.2f} ± {std:.2f}"


def _num(x: float) -> str:
    return "" if math.isnan(x) else f"{x:.6g}"


def oracle_levels(groups: dict[str, list[Run]]) -> dict[str, float]:
    """The oracle's mean return on each group's evaluation layouts (mean return / oracle ratio at the
    last evaluation), one entry per distinct value: ``{"oracle": v}``, or ``{"oracle (group)": v}``."""
    levels: dict[str, float] = {}
    for label, members in groups.items():
        vals = []
        for r in members:
            if tblog.EVAL_MEAN_RETURN in r.scalars and tblog.EVAL_ORACLE_RATIO in r.scalars:
                (s1, ret), (s2, ratio) = r.scalars[tblog.EVAL_MEAN_RETURN], r.scalars[tblog.EVAL_ORACLE_RATIO]
                common = np.intersect1d(s1, s2)
                if len(common) and ratio[np.searchsorted(s2, common[-1])] != 0:
                    vals.append(ret[np.searchsorted(s1, common[-1])] / ratio[np.searchsorted(s2, common[-1])])
        if vals:
            levels[label] = round(float(np.median(vals)), 2)
    if len(set(levels.values())) == 1:
        return {"oracle": next(iter(levels.values()))}
    return {f"oracle ({label})": v for label, v in levels.items()}


@dataclass
class PlotResult:
    runs: list[Run]
    groups: dict[str, list[Run]]
    curves: dict[str, Curve]
    rows: list[dict[str, Any]]
    png: Path
    md: Path
    csv: Path


def plot_runs(
    dirs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str] = "curves.png",
    tag: str = tblog.EVAL_MEAN_RETURN,
    group_by: Sequence[str] | None = None,
    spread: str = "std",
    title: str | None = None,
    dpi: int = 120,
) -> PlotResult:
    """Everything ``gridrl plot`` does: runs -> groups -> curves -> ``out`` (PNG), ``.md`` and ``.csv``."""
    tags = list(dict.fromkeys([tag, *SUMMARY_TAGS]))
    runs = load_runs(dirs, tags)
    if not runs:
        raise ConfigError(f"no runs (directories holding tb/) under {', '.join(map(str, dirs))}")
    groups = group_runs(runs, group_by)
    data = curves(groups, tag, spread)
    if not data:
        have = sorted({t for r in runs for t in r.scalars})
        raise ConfigError(f"tag={tag}: no run logged it; these runs have {', '.join(have) or 'no scalars'}")
    for label in groups:
        if label not in data:
            log.warning("group %s: no run logged %s; left out of the plot", label, tag)
    out = Path(out)
    table_tags = list(dict.fromkeys([*SUMMARY_TAGS, tag]))
    rows = summary_rows(groups, table_tags)
    png = plot_curves(
        data, out, tag, title, spread, dpi, oracle_levels(groups) if tag == tblog.EVAL_MEAN_RETURN else {}
    )
    md, csv_path = write_tables(rows, out.with_suffix(".md"), out.with_suffix(".csv"), table_tags)
    return PlotResult(runs, groups, data, rows, png, md, csv_path)
