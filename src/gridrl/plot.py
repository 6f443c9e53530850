"""Learning curves of several runs: read TensorBoard event files, group runs by config, draw, tabulate.

A *run* is a directory holding ``tb/`` (what ``gridrl train`` writes); a sweep dir holds runs below it.
Runs are grouped by their config (``final/config.yaml``, else ``.hydra/config.yaml``) minus the keys that
do not change what is learned (:data:`IGNORED_KEYS`: the seed, paths, logging knobs), so the seeds of
one setting form one group; ``group_by`` picks the keys explicitly instead.

The functions return the data (:func:`curves` -> one :class:`Curve` per group; :func:`summary_rows`);
:func:`plot_curves` and :func:`write_tables` turn it into a PNG (matplotlib, Agg canvas, without
touching pyplot's global backend) and markdown / CSV tables, all written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gridrl import tblog
from gridrl.config import ConfigError, canonical_layer
from gridrl.rundir import RunDir, atomic_write, find_runs

log = logging.getLogger("gridrl")

# config keys that do not change what a run learns: runs differing only there are one group
IGNORED_KEYS = (
    "seed", "name", "resume", "device",
    "trainer.progress", "trainer.threads", "trainer.auto_resume", "trainer.save_replay",
    "trainer.keep_checkpoints", "trainer.checkpoint_every", "trainer.log_every", "trainer.image_every",
    "trainer.video", "trainer.video_episodes",
)  # fmt: skip
SUMMARY_TAGS = (tblog.EVAL_MEAN_RETURN, tblog.EVAL_ORACLE_RATIO)  # final scores in the summary tables
SPREADS = ("std", "minmax")


@dataclass
class Run:
    """One training run: where it is, its flattened config and its scalars."""

    path: Path
    config: dict[str, Any]  # dotted key -> value (lists as JSON text); {} when no config file was found
    scalars: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # tag -> (steps, values)


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


# ------------------------------------------------------------------------------------------- reading
def read_config(run_dir: Path) -> dict[str, Any]:
    """The run's config, flattened (``final/config.yaml``, else ``.hydra/config.yaml``; {} if neither)."""
    import yaml

    path = RunDir(run_dir).saved_config()
    if path is None:
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    layers = data.get("model", {}).get("layers") if isinstance(data.get("model"), dict) else None
    if isinstance(layers, list):
        data["model"]["layers"] = [canonical_layer(layer) for layer in layers]
    return flatten(data)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> ``{"a.b": value}``; lists become JSON text (hashable, comparable)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, sort_keys=True)
        else:
            out[name] = value
    return out


def read_scalars(tb_dir: Path, tags: Sequence[str] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Scalars of the event files in ``tb_dir``: tag -> (steps int64, values float64), sorted by step.

    A step logged twice (a run resumed after a crash rewrites the steps after its checkpoint) keeps
    the value written last.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logging.getLogger("tensorboard").setLevel(logging.ERROR)  # its reader's "No path found after ..." chatter

    acc = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0})
    acc.Reload()
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for tag in acc.Tags().get("scalars", []):
        if tags is not None and tag not in tags:
            continue
        by_step = {int(e.step): float(e.value) for e in acc.Scalars(tag)}
        steps = np.array(sorted(by_step), dtype=np.int64)
        out[tag] = (steps, np.array([by_step[s] for s in steps], dtype=np.float64))
    return out


def load_runs(dirs: Iterable[str | os.PathLike[str]], tags: Sequence[str] | None = None) -> list[Run]:
    """:func:`find_runs` + each run's config and scalars (``tags``: only those; None: all)."""
    try:
        paths = find_runs(dirs)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    return [Run(p, read_config(p), read_scalars(RunDir(p).tb, tags)) for p in paths]


# ------------------------------------------------------------------------------------------ grouping
def group_runs(runs: Sequence[Run], group_by: Sequence[str] | None = None) -> dict[str, list[Run]]:
    """Label -> runs. Default: runs with equal configs minus :data:`IGNORED_KEYS` form a group, labelled
    by the keys that differ between groups (or a short description when there is one group). Runs
    without a config are groups of their own, labelled by their path. With ``group_by``, the values of
    those keys alone define the groups."""
    if group_by:
        known = set().union(*(r.config for r in runs)) if runs else set()
        for key in group_by:
            if key not in known:
                raise ConfigError(
                    f"group_by={key} is in no run's config; keys look like agent.lr, model.name"
                )
        buckets: dict[tuple[Any, ...], list[Run]] = {}
        for r in runs:
            buckets.setdefault(tuple(_hashable(r.config.get(k)) for k in group_by), []).append(r)
        return {
            ", ".join(f"{k}={_short(v)}" for k, v in zip(group_by, key, strict=True)): members
            for key, members in buckets.items()
        }
    keyed: dict[tuple[tuple[str, Any], ...], list[Run]] = {}
    loose: list[Run] = []
    for r in runs:
        if not r.config:
            loose.append(r)
            continue
        items = tuple(sorted((k, _hashable(v)) for k, v in r.config.items() if k not in IGNORED_KEYS))
        keyed.setdefault(items, []).append(r)
    groups: dict[str, list[Run]] = {}
    configs = [dict(items) for items in keyed]
    all_keys = set().union(*configs) if configs else set()
    differ = sorted(k for k in all_keys if len({str(c.get(k)) for c in configs}) > 1)
    if "model.name" in differ:  # the layer list is implied by the model's name
        differ = [k for k in differ if not k.startswith("model.layers")]
    names = {items: _run_name(members) for items, members in keyed.items()}
    implied = _implied_by_name(differ, names)
    for items, members in keyed.items():
        config = dict(items)
        parts = [str(names[items])] if implied else []
        parts += [f"{k}={_short(config.get(k))}" for k in differ if k not in implied]
        groups[_unique(", ".join(parts) if parts else describe(config), groups)] = members
    for r in loose:
        groups[_unique(r.path.name, groups)] = [r]
    return groups


def _run_name(members: Sequence[Run]) -> str | None:
    """The ``name`` the runs of a group share (by default ``<env preset>-<agent preset>``), else None."""
    found = {r.config.get("name") for r in members}
    name = found.pop() if len(found) == 1 else None
    return name if isinstance(name, str) and "${" not in name else None


def _implied_by_name(differ: Sequence[str], names: dict[Any, str | None]) -> set[str]:
    """The differing keys whose value the group's run name determines (e.g. the dozen ``agent.*`` keys
    that ``agent=pqn,dqn`` changes: the label then says ``default-dqn``). Empty unless every group has
    a name and the names differ."""
    distinct = set(names.values())
    if None in distinct or len(distinct) < 2:
        return set()
    values: dict[tuple[str, str | None], set[str]] = {}
    for items, name in names.items():
        config = dict(items)
        for k in differ:
            values.setdefault((k, name), set()).add(str(config.get(k)))
    return {k for k in differ if all(len(values[(k, n)]) == 1 for n in distinct)}


def describe(config: dict[str, Any]) -> str:
    """A short name of a config: learner, model and game (e.g. ``pqn, ego_cnn, 10x10 ego``)."""
    parts = [config.get("agent.name"), config.get("model.name")]
    if "env.height" in config:
        parts.append(
            f"{config['env.height']}x{config.get('env.width')} {config.get('env.obs_mode', '')}".strip()
        )
    return ", ".join(str(p) for p in parts if p) or "runs"


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def _short(value: Any, width: int = 40) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _unique(label: str, taken: dict[str, Any]) -> str:
    out, i = label, 2
    while out in taken:
        out, i = f"{label} ({i})", i + 1
    return out


# -------------------------------------------------------------------------------------------- curves
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
