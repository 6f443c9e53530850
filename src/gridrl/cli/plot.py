"""``gridrl plot``: learning curves (mean and spread over seeds) of runs and sweeps, with tables.

A Hydra app over ``conf/plot.yaml`` (schema :class:`PlotCommandConfig`); the run or sweep dirs are given
as positional arguments (or ``dirs=[a,b]``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from gridrl.cli import app
from gridrl.config import ConfigError, check_choice, check_range, register_schema, to_object


@dataclass
class PlotCommandConfig:
    """``gridrl plot``: learning curves (mean and spread over seeds) of runs and sweeps."""

    dirs: list[str] = field(default_factory=list)  # run or sweep dirs (positional arguments)
    out: str = "curves.png"  # the PNG; the summary tables go beside it as <stem>.md and <stem>.csv
    tag: str = "eval/mean_return"  # TensorBoard scalar to draw against env steps
    group_by: list[str] | None = None  # config keys defining groups (default: the config minus the seed)
    spread: str = "std"  # band around the mean: std (mean +/- std) | minmax (min to max over runs)
    title: str | None = None  # plot title (default: the tag and the spread)
    dpi: int = 120  # PNG resolution
    score: str | None = (
        None  # tag whose final values the statistics use (default: eval/normalized_score, else eval/oracle_ratio, else eval/mean_return)
    )
    compare: bool = False  # also P(X > Y) between groups and the performance-profile / interval figures
    threshold: float | None = None  # also the env steps each group took to reach this value of the score

    def __post_init__(self) -> None:
        if not self.dirs:
            raise ConfigError(
                "gridrl plot: give at least one run or sweep dir (a dir holding tb/, or above them)"
            )
        check_choice("spread", self.spread, ("std", "minmax"))
        check_range("dpi", self.dpi, 20)


def register() -> None:
    register_schema("base_plot", PlotCommandConfig)


def main(args: list[str]) -> Any:
    with app.funnel():
        if any(a in app.HELP_FLAGS for a in args):
            register()
            return app.show_help("plot", [], ())
        register()
        pos, rest = app.positional(args, tuple(f.name for f in dataclasses.fields(PlotCommandConfig)))
        rest = [_group_by(a) for a in rest]
        overrides = ([f"dirs=[{','.join(app.quote(p) for p in pos)}]"] if pos else []) + rest
        app.precheck("plot", overrides, lambda cfg: to_object(cfg, "gridrl plot"))
    return app.run("gridrl plot", "plot", plot_task, overrides)


def _group_by(arg: str) -> str:
    """``group_by=a,b`` (the plain form people type) as the list Hydra parses."""
    key, sep, value = arg.partition("=")
    if key == "group_by" and sep and not value.startswith("[") and value not in ("null", "~"):
        return f"group_by=[{value}]"
    return arg


@app.task
def plot_task(cfg: DictConfig) -> float:
    from gridrl.plot import plot_runs

    c = to_object(cfg, "gridrl plot")
    assert isinstance(c, PlotCommandConfig)
    try:
        res = plot_runs(c.dirs, c.out, c.tag, c.group_by, c.spread, c.title, c.dpi)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    from gridrl.compare import compare_runs
    from gridrl.rundir import atomic_write

    out = Path(c.out)
    found = compare_runs(res.groups, out.with_name(out.stem), c.score, c.compare, c.threshold, dpi=c.dpi)
    atomic_write(res.md, res.md.read_text() + "\n" + found.markdown())
    width = max(len(r["group"]) for r in res.rows)
    print(f"{len(res.runs)} run(s) in {len(res.groups)} group(s); {c.tag} vs env steps")
    print(f"  {'group':<{width}}  runs  {'env steps':>10}  {'final mean return':>18}  {'% of oracle':>16}")
    for r in res.rows:
        ret, ratio = r["eval/mean_return mean"], r["eval/oracle_ratio mean"]
        ret_s = f"{ret:.2f} ± {r['eval/mean_return std']:.2f}" if math.isfinite(ret) else "-"
        ratio_s = (
            f"{100 * ratio:.1f}% ± {100 * r['eval/oracle_ratio std']:.1f}%" if math.isfinite(ratio) else "-"
        )
        print(f"  {r['group']:<{width}}  {r['runs']:>4}  {r['steps']:>10,}  {ret_s:>18}  {ratio_s:>16}")
    print()
    print(found.text().rstrip())
    print(f"wrote {', '.join(str(p) for p in [res.png, res.md, res.csv, *found.figures])}")
    return float(len(res.runs))
