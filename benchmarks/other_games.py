"""Learning benchmark on the other game families: MinAtar and MiniGrid, gridrl beside SB3 DQN and the papers.

For every env x learner x seed, one training run at a time in a fresh process (run nothing else on the
machine meanwhile), a fixed wall-clock budget (``--budget``, 600 s), and two scores: the mean return
(``eval/mean_return``, gridrl's evaluator: the experiment's 64 seeded episodes, greedy unless the
experiment sets ``trainer.eval_epsilon``: DoorKey 0.05, for every learner) at the end of the
budget and at a fixed number of env steps (``--steps``).

Envs: the five MinAtar games (``breakout asterix freeway seaquest space_invaders``: the paper's protocol,
sticky actions 0.1, all 6 actions) and three MiniGrid tasks (``empty-8x8 doorkey-8x8 lavagap-s7``), each
as its gridrl experiment preset has it (``conf/experiment/minatar_<game>.yaml`` / ``minigrid_<task>.yaml``:
env settings, network, evaluation). Learners:

* ``pqn`` -- gridrl's best: the experiment preset as is, ``gridrl train experiment=<env's> seed=S
  trainer.time_limit_s=B ...`` (PQN, ``pqn_minatar`` / ``pqn_minigrid``, the family's CNN);
* ``dqn_fast`` -- the same command with ``agent=dqn_fast`` (gridrl's batched replay DQN);
* ``sb3`` -- Stable-Baselines3 DQN (``benchmarks/sb3_peer.py --experiment <env's> --hparams paper``) with
  the MinAtar paper's DQN settings: replay 100k, batch 32, one update per env step after 5000 random
  steps, target copy every 1000 steps, epsilon 1.0 -> 0.1 over the first 100k frames, gamma 0.99,
  Huber loss, no gradient clipping and the paper's centred RMSprop (lr 2.5e-4, squared-gradient
  momentum 0.95, min squared gradient 0.01) instead of SB3's default Adam. The rl-baselines3-zoo has no
  DQN values for MinAtar or MiniGrid (its MiniGrid entries are PPO/A2C with flattened observations), so
  the same settings serve MiniGrid. SB3 sees gridrl's own observations (its MinAtar / MiniGrid adapter,
  one copy) and gridrl's network for the experiment (the same layers and parameter count), with SB3's
  game rewards unclipped as the paper's.

How it measures (the mechanics of ``time_to_solve.py``, whose helpers it imports):

* gridrl: the real CLI; the budget is ``trainer.time_limit_s`` (gridrl's own periodic evaluations, the
  experiment's ``eval_every`` unless ``--eval-every``, count in it, as in ``gridrl train``). A run that
  reaches the experiment's ``trainer.total_steps`` first stops there (5M for MinAtar, 1M-6M for
  MiniGrid). Score at the end: the trainer's final evaluation. Score at ``--steps``: the in-run
  evaluation there when ``eval_every`` divides ``--steps``; otherwise the run saves a checkpoint at
  ``--steps`` (``trainer.checkpoint_every``) that ``gridrl eval`` scores afterwards (the same episodes).
  A batched learner crosses ``--steps`` in strides of its games (128): "at ``--steps``" means within one
  stride after it.
* SB3: the budget is training seconds, its evaluations (every ``--eval-every-s`` of training, at
  ``--steps`` exactly and at the end, with gridrl's evaluator) are subtracted from its clock.
* A run that never reaches ``--steps`` has no score there (the cell says how many seeds reached it).

Each (env, learner) row gives the median and [min-max] over seeds of both scores beside the published
reference, and the issue's targets are checked on the medians at the end of the budget:

* MinAtar: gridrl's best >= the paper's DQN on at least 3 of the 5 games, and above SB3 (same wall
  time) on every game. The paper's DQN (Young & Tian 2019, arXiv:1903.03176, 5M frames) is
  :data:`gridrl.envs.reference.MINATAR_DQN`: the paper publishes learning curves only (its Figure 3 and
  the ``img/results.gif`` of github.com/kenjyoung/MinAtar; no table), so the values are readings of the
  curves' ends (breakout ~10, asterix ~16.5, freeway ~50.5, seaquest ~20, space_invaders ~45) as a
  third-party replication transcribes them (its README's "Paper ~" column). They are *training* returns
  with epsilon = 0.1 exploration; the scores here are greedy evaluations, which score higher for the
  same policy.
* MiniGrid: gridrl's best reaches a mean return >= 0.9 within the 10 minutes, on each task.

Runtime: runs x (budget + ~30 s of start-up and evaluations). The full default run is 8 envs x 3 learners
x 3 seeds x 10 min = **12 hours** of training (about 14 h in all): split it with ``--envs`` (one family,
or a few games, per session) and join the raw points with ``--merge``::

    python benchmarks/other_games.py --envs breakout,asterix,freeway --out benchmarks/results/other_games_a.md
    python benchmarks/other_games.py --envs seaquest,space_invaders --out benchmarks/results/other_games_b.md
    python benchmarks/other_games.py --envs empty-8x8,doorkey-8x8,lavagap-s7 --out benchmarks/results/other_games_c.md
    python benchmarks/other_games.py --merge benchmarks/results/other_games_[abc].json --out benchmarks/results/other_games.md

``--dry-run`` prints the commands and the runtime estimate only; ``--quick`` smoke-tests the plumbing
(seed 0, a 4 s budget, 1024 steps, 16 evaluation episodes; add ``--envs breakout,empty-8x8 --learners pqn,sb3`` for ~1 minute).
The markdown report goes to ``--out``, the raw evaluation points to ``<out>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from time_to_solve import (  # noqa: E402
    ROOT,
    Spec,
    gridrl_args,
    gridrl_command,
    machine_info,
    read_events,
    require_sb3,
    run_logged,
)

MEAN_RETURN_TAG = "eval/mean_return"  # gridrl.tblog.EVAL_MEAN_RETURN (kept literal: no torch import here)
MINIGRID_TARGET = 0.9  # issue 16: mean return >= 0.9 within 10 minutes
TARGET_BUDGET_S = 600.0  # the budget the targets are stated for
MINATAR_GAMES_TO_BEAT = 3  # gridrl's best >= the paper's DQN on at least 3 of the 5 games
BEST = "pqn"  # gridrl's best learner (the experiment presets)
PEER = "sb3"


@dataclass(frozen=True)
class Game:
    """One benchmarked env: a gridrl experiment preset ``<family>_<name>``."""

    family: str  # minatar | minigrid
    name: str  # the game / task

    @property
    def experiment(self) -> str:
        return f"{self.family}_{self.name}"

    @property
    def label(self) -> str:
        return f"{self.family}/{self.name}"


@dataclass(frozen=True)
class Learner:
    what: str  # a description for the report
    overrides: tuple[str, ...] = ()  # gridrl train overrides on top of experiment=<env's>
    sb3: bool = False


ENVS: dict[str, Game] = {
    name: Game(family, name)
    for family, names in (
        ("minatar", ("breakout", "asterix", "freeway", "seaquest", "space_invaders")),
        ("minigrid", ("empty-8x8", "doorkey-8x8", "lavagap-s7")),
    )
    for name in names
}
LEARNERS: dict[str, Learner] = {
    "pqn": Learner("gridrl's best: the env's experiment preset (PQN, the family's CNN)"),
    "dqn_fast": Learner(
        "gridrl `agent=dqn_fast` on the experiment preset (the experiment's rewards: unscaled and "
        "unclipped), gamma 0.99 on every env",
        # gamma 0.99 on Empty-8x8 too (its experiment has 0.95 since these runs were made): the recorded
        # dqn_fast runs are all at 0.99, and a rerun should match them
        ("agent=dqn_fast", "agent.gamma=0.99"),
    ),
    "sb3": Learner("Stable-Baselines3 DQN, the MinAtar paper's settings (centred RMSprop)", sb3=True),
}
QUICK = {"seeds": "0", "budget": 4.0, "steps": 1024, "eval_every_s": 4.0, "eval_episodes": 16}


# ------------------------------------------------------------------------------------------ references
def reference(game: Game) -> float:
    """The published score a row is compared with: the paper's DQN (MinAtar) or the target (MiniGrid)."""
    if game.family == "minatar":
        from gridrl.envs.reference import MINATAR_DQN

        return MINATAR_DQN[game.name].score
    return MINIGRID_TARGET


def reference_label(game: Game) -> str:
    if game.family == "minatar":
        return f"~{reference(game):g} (paper DQN, 5M frames)"
    return f">= {MINIGRID_TARGET:g} (target)"


# ------------------------------------------------------------------------------------------ runs
def learner_config(game: Game, learner: Learner, args: argparse.Namespace) -> dict[str, int]:
    """What the run's composed config says about its evaluations: games per step (the stride of its
    env steps), eval_every, total_steps."""
    if learner.sb3:
        return {"stride": 1, "eval_every": 0, "total_steps": 0}
    from gridrl.config import compose_config

    cfg = compose_config([f"experiment={game.experiment}", *learner.overrides, *args.set])
    return {
        "stride": int(getattr(cfg.agent, "n_envs", 1)),
        "eval_every": int(args.eval_every or cfg.trainer.eval_every),
        "total_steps": int(cfg.trainer.total_steps),
    }


def exact_at_steps(eval_every: int, steps: int) -> bool:
    """Whether the in-run evaluations include one at ``steps`` (else a checkpoint there is scored)."""
    return eval_every > 0 and steps % eval_every == 0


def gridrl_cmd(
    game: Game, learner: Learner, seed: int, args: argparse.Namespace, run_dir: Path, info: dict[str, int]
) -> list[str]:
    spec = Spec(learner.what, [f"experiment={game.experiment}", *learner.overrides])
    cmd = gridrl_args(spec, args, seed, run_dir, info["eval_every"], args.budget)
    if not exact_at_steps(info["eval_every"], args.steps):  # a checkpoint at --steps, scored afterwards
        keep = info["total_steps"] // args.steps + 2
        at = cmd.index("trainer.checkpoint_every=0")
        cmd[at : at + 1] = [f"trainer.checkpoint_every={args.steps}", f"trainer.keep_checkpoints={keep}"]
    if args.eval_episodes:
        cmd.append(f"trainer.eval_episodes={args.eval_episodes}")
    return cmd


def sb3_cmd(game: Game, seed: int, args: argparse.Namespace, run_dir: Path) -> list[str]:
    return [
        sys.executable,
        str(ROOT / "benchmarks" / "sb3_peer.py"),
        f"--experiment={game.experiment}",
        "--hparams=paper",
        f"--seed={seed}",
        f"--budget={args.budget:g}",
        f"--eval-every-s={args.eval_every_s:g}",
        f"--eval-every-steps={args.steps}",
        f"--eval-episodes={args.eval_episodes}",
        f"--threads={args.threads}",
        f"--run-dir={run_dir}",
    ]


def score_at_steps(
    evals: list[tuple[float, int, float]], steps: int, stride: int
) -> tuple[int, float] | None:
    """``(env step, score)`` of the evaluation at ``steps`` (within one stride after it), or None."""
    hits = [(s, v) for _, s, v in evals if steps <= s < steps + max(stride, 1)]
    return hits[-1] if hits else None


def checkpoint_score(
    run_dir: Path, steps: int, stride: int, timeout: float, episodes: int = 0
) -> tuple[int, float] | None:
    """Score the run's checkpoint at ``steps`` with ``gridrl eval`` (the run's evaluation episodes);
    None where the run never got there. Removes the other periodic checkpoints."""
    found = None
    for path in sorted((run_dir / "checkpoints").glob("ckpt_*.pt")):
        step = int(path.stem.split("_")[1])
        if steps <= step < steps + max(stride, 1) and found is None:
            found = (step, path)
        else:
            path.unlink()
    if found is None:
        return None
    out = run_dir / "eval_at_steps"
    cmd = [*gridrl_command(), "eval", f"checkpoint={found[1]}", f"out={out}", "device=cpu"]
    if episodes:
        cmd.append(f"episodes={episodes}")
    if run_logged(cmd, out / "stdout.log", timeout) != 0:
        raise RuntimeError(f"gridrl eval of {found[1]} failed; see {out / 'stdout.log'}")
    stats = json.loads((out / "eval.json").read_text())["stats"]
    return found[0], float(stats["mean_return"])


def run_one(
    game: Game, name: str, seed: int, args: argparse.Namespace, work: Path, info: dict[str, int]
) -> dict[str, Any]:
    learner = LEARNERS[name]
    run_dir = work / f"{game.experiment}_{name}_s{seed}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    cmd = (
        sb3_cmd(game, seed, args, run_dir)
        if learner.sb3
        else gridrl_cmd(game, learner, seed, args, run_dir, info)
    )
    print(f"  $ {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    rc = run_logged(cmd, run_dir / "stdout.log", args.budget * 3 + 300)
    rec: dict[str, Any] = {
        "env": game.label,
        "learner": name,
        "seed": seed,
        "rc": rc,
        "process_wall_s": time.perf_counter() - start,
        "run_dir": str(run_dir),
        "stride": info["stride"],
    }
    if rc != 0:
        log = run_dir / "stdout.log"
        rec["error"] = " | ".join(log.read_text().splitlines()[-5:]) if log.exists() else ""
        print(f"  FAILED (exit {rc}): {rec['error']}", flush=True)
        return rec
    evals = read_events(run_dir, MEAN_RETURN_TAG)["evals"]
    metrics = json.loads((run_dir / "final" / "metrics.json").read_text())
    times = metrics.get("times_s", {})
    at = score_at_steps(evals, args.steps, info["stride"])
    source = "evaluation"
    if at is None and not learner.sb3 and not exact_at_steps(info["eval_every"], args.steps):
        source = "checkpoint"
        try:
            at = checkpoint_score(run_dir, args.steps, info["stride"], args.budget + 300, args.eval_episodes)
        except RuntimeError as exc:  # the training run stands; only its score at --steps is missing
            rec["at_steps_error"] = str(exc)
            print(f"  score at --steps: {exc}", flush=True)
    end_t = evals[-1][0] if evals else math.nan
    rec.update(
        evals=evals,
        final=float(metrics["mean_return"]),
        final_normalized=metrics.get("normalized_score"),
        env_steps=int(metrics["env_step"]),
        end_s=float(times["train"]) if learner.sb3 else end_t,
        eval_s=float(times.get("eval", 0.0)),
        stopped_by_time=bool(metrics.get("stopped_by_time_limit", True)),
        at_steps=None if at is None else at[1],
        at_steps_step=None if at is None else at[0],
        at_steps_source=None if at is None else source,
    )
    if learner.sb3:
        rec["threads"] = metrics.get("threads")
    at_text = "not reached" if at is None else f"{at[1]:.3g} at step {at[0]:,} ({source})"
    print(
        f"  -> {rec['env_steps']:,} env steps, end score {rec['final']:.3g}, at {args.steps:,} steps: {at_text}",
        flush=True,
    )
    return rec


# ------------------------------------------------------------------------------------------ summary
def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def summarize(records: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (env label, learner): runs, and the median / min / max over the successful seeds of the score
    at the end of the budget and at ``--steps`` (seeds that reached it), and of the env steps done."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in records:
        out.setdefault((rec["env"], rec["learner"]), {"records": []})["records"].append(rec)
    for row in out.values():
        ok = [r for r in row["records"] if r.get("rc") == 0]
        finals = [float(r["final"]) for r in ok]
        at = [float(r["at_steps"]) for r in ok if r.get("at_steps") is not None]
        row.update(
            runs=len(row["records"]),
            ok=len(ok),
            final=finals,
            final_median=_median(finals),
            at_steps=at,
            at_steps_median=_median(at),
            env_steps_median=_median([float(r["env_steps"]) for r in ok]),
        )
    return out


@dataclass
class Target:
    what: str
    status: str  # met | missed | incomplete
    detail: str


def _status(met: bool, decided: bool) -> str:
    return "met" if met else ("missed" if decided else "incomplete")


def targets(summary: dict[tuple[str, str], dict[str, Any]], budget: float) -> list[Target]:
    """Issue 16's targets on the medians at the end of the budget (``summarize``'s rows); a target whose
    games were not all run is ``incomplete`` unless the games run already decide it."""
    med = {key: row["final_median"] for key, row in summary.items() if row["ok"]}
    minatar = [g for g in ENVS.values() if g.family == "minatar"]
    minigrid = [g for g in ENVS.values() if g.family == "minigrid"]
    out = []
    # MinAtar: gridrl's best >= the paper's DQN on 3 of the 5 games
    best = {g.name: med[(g.label, BEST)] for g in minatar if (g.label, BEST) in med}
    above = [n for n, v in best.items() if v >= reference(ENVS[n])]
    missing = len(minatar) - len(best)
    out.append(
        Target(
            f"MinAtar: gridrl's best >= the paper's DQN on {MINATAR_GAMES_TO_BEAT} of {len(minatar)} games",
            _status(len(above) >= MINATAR_GAMES_TO_BEAT, len(above) + missing < MINATAR_GAMES_TO_BEAT),
            f"at or above it on {len(above)} of {len(best)} games run ({', '.join(above) or 'none'})"
            + (f"; {missing} not run" if missing else ""),
        )
    )
    # MinAtar: gridrl's best above SB3 on every game, same wall time
    pairs = {
        g.name: (med[(g.label, BEST)], med[(g.label, PEER)])
        for g in minatar
        if (g.label, BEST) in med and (g.label, PEER) in med
    }
    behind = [n for n, (b, p) in pairs.items() if not b > p]
    out.append(
        Target(
            "MinAtar: gridrl's best beats SB3 DQN on every game at the same wall time",
            _status(not behind and len(pairs) == len(minatar), bool(behind)),
            f"ahead on {len(pairs) - len(behind)} of {len(pairs)} games compared"
            + (f"; behind or equal on {', '.join(behind)}" if behind else "")
            + (f"; {len(minatar) - len(pairs)} not compared" if len(pairs) < len(minatar) else ""),
        )
    )
    # MiniGrid: >= 0.9 within 10 minutes, on each task
    tasks = {g.name: med[(g.label, BEST)] for g in minigrid if (g.label, BEST) in med}
    below = [n for n, v in tasks.items() if not v >= MINIGRID_TARGET]
    out.append(
        Target(
            f"MiniGrid: gridrl's best reaches a mean return >= {MINIGRID_TARGET:g} within 10 minutes",
            _status(not below and len(tasks) == len(minigrid), bool(below)),
            f"reached on {len(tasks) - len(below)} of {len(tasks)} tasks run"
            + (f"; below on {', '.join(below)}" if below else "")
            + (f"; {len(minigrid) - len(tasks)} not run" if len(tasks) < len(minigrid) else ""),
        )
    )
    if budget != TARGET_BUDGET_S:
        for t in out:
            t.detail += f" (budget {budget:g} s; the targets are stated for {TARGET_BUDGET_S:g} s)"
    return out


# ------------------------------------------------------------------------------------------ report
def _fmt(value: float, game: Game) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.2f}" if game.family == "minigrid" else f"{value:.1f}"


def _spread(values: list[float], game: Game) -> str:
    if not values:
        return "-"
    med = _fmt(statistics.median(values), game)
    return med if len(values) == 1 else f"{med} [{_fmt(min(values), game)}-{_fmt(max(values), game)}]"


def _steps(v: float) -> str:
    if not math.isfinite(v):
        return "-"
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}k"


def table(records: list[dict[str, Any]], budget: float, steps: int) -> str:
    summary = summarize(records)
    head = [
        "env",
        "learner",
        "runs",
        f"score at {budget:g} s, median [min-max]",
        f"score at {_steps(steps)} steps",
        "env steps in budget",
        "reference",
        "vs reference",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    envs = [g for g in ENVS.values() if any(env == g.label for env, _ in summary)]
    for game in envs:
        for name in LEARNERS:
            row = summary.get((game.label, name))
            if row is None:
                continue
            reached = len(row["at_steps"])
            at = _spread(row["at_steps"], game)
            if reached < row["ok"]:
                at += f" ({reached}/{row['ok']} reached)"
            med, ref = row["final_median"], reference(game)
            verdict = "-" if not math.isfinite(med) else (">=" if med >= ref else "<")
            lines.append(
                "| "
                + " | ".join(
                    [
                        game.label,
                        name,
                        f"{row['ok']}/{row['runs']}",
                        _spread(row["final"], game),
                        at,
                        _steps(row["env_steps_median"]),
                        reference_label(game),
                        verdict,
                    ]
                )
                + " |"
            )
    return "\n".join(lines)


def per_run_table(records: list[dict[str, Any]]) -> str:
    head = [
        "env",
        "learner",
        "seed",
        "end score",
        "at steps",
        "env steps",
        "end at s",
        "eval s",
        "stopped by",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        if r.get("rc") != 0:
            lines.append(
                f"| {r['env']} | {r['learner']} | {r['seed']} | failed (exit {r['rc']}): {r.get('error', '')} |"
            )
            continue
        at = (
            "-"
            if r["at_steps"] is None
            else f"{r['at_steps']:.3g} @ {r['at_steps_step']:,} ({r['at_steps_source']})"
        )
        row = [
            r["env"],
            r["learner"],
            str(r["seed"]),
            f"{r['final']:.3g}",
            at,
            f"{r['env_steps']:,}",
            f"{r['end_s']:.0f}",
            f"{r['eval_s']:.0f}",
            "time" if r["stopped_by_time"] else "total_steps",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def report(records: list[dict[str, Any]], args: argparse.Namespace, machines: list[dict[str, Any]]) -> str:
    seeds = sorted({r["seed"] for r in records})
    parts = [
        f"# Other game families: {args.budget:g} s budget, score at {args.steps:,} env steps, seeds "
        + ",".join(map(str, seeds)),
        "",
    ]
    lines = (  # one line per invocation (merged reports: identical lines once)
        f"Machine: {m['nproc']} cores ({m['cpu']}), torch {m['torch']}, {m['threads']} torch threads per run, "
        f"Python {m['python']}, the invocation's runs one after another; load average before "
        f"{m['load_before'][0]:.2f}. gridrl commit {m['commit']}."
        for m in machines
    )
    parts += list(dict.fromkeys(lines))
    parts += [
        "",
        "Command: `python benchmarks/other_games.py " + " ".join(sys.argv[1:]) + "`",
        "",
        table(records, args.budget, args.steps),
        "",
        "## Targets (issue 16)",
        "",
    ]
    parts += [f"- **{t.status}**: {t.what}: {t.detail}" for t in targets(summarize(records), args.budget)]
    episodes = args.eval_episodes or "the experiment's 64"
    parts += [
        "",
        f"- Scores: mean return on {episodes} seeded evaluation "
        "episodes (gridrl's evaluator for every learner; greedy, DoorKey with epsilon 0.05 as its preset)."
        " Medians and [min-max] over the seeds that ran; "
        "the targets compare medians at the end of the budget.",
        "- MinAtar reference: the paper's DQN at 5M frames (Young & Tian 2019), read off its learning curves "
        "(training returns at epsilon 0.1; the paper prints no table): approximate, and below what a greedy "
        "evaluation of the same policy scores.",
        "- gridrl's budget includes its own periodic evaluations (`trainer.time_limit_s`); SB3's excludes "
        "its evaluations. A gridrl run that reaches the experiment's total_steps stops there "
        "(`stopped by total_steps`).",
        f"- Score at {args.steps:,} steps: the evaluation within one stride of games after that step (an "
        "in-run evaluation, or `gridrl eval` of the run's checkpoint there); `(k/n reached)`: seeds that "
        "got that far within the budget.",
        "",
        "## Runs",
        "",
        per_run_table(records),
        "",
    ]
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------ main
def _names(text: str, known: dict[str, Any], what: str, p: argparse.ArgumentParser) -> list[str]:
    names = []
    for raw in (t.strip() for t in text.split(",")):
        if not raw:
            continue
        name = raw.split("/", 1)[1] if raw.startswith(("minatar/", "minigrid/")) else raw
        if name not in known:
            p.error(f"unknown {what} {raw!r}; choose from {', '.join(known)}")
        names.append(name)
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--envs", default=",".join(ENVS), help=f"comma list of {', '.join(ENVS)}")
    p.add_argument("--learners", default=",".join(LEARNERS), help=f"comma list of {', '.join(LEARNERS)}")
    p.add_argument("--seeds", default=None, help="comma list of training seeds (default 0,1,2)")
    p.add_argument("--budget", type=float, default=None, help="wall seconds of training per run (600)")
    p.add_argument(
        "--steps", type=int, default=None, help="env steps of the second score (100000: SB3 gets there)"
    )
    p.add_argument(
        "--eval-every",
        type=int,
        default=0,
        help="gridrl's trainer.eval_every in env steps (0: the experiment's own)",
    )
    p.add_argument(
        "--eval-every-s", type=float, default=None, help="SB3: training seconds between evaluations (60)"
    )
    p.add_argument(
        "--eval-episodes", type=int, default=None, help="evaluation episodes (0: the experiment's own, 64)"
    )
    p.add_argument("--threads", type=int, default=0, help="torch threads per run (0 = all cores)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="extra override for every gridrl run"
    )
    p.add_argument(
        "--keep-runs", type=Path, default=None, help="keep run dirs here (default: a temporary dir, removed)"
    )
    p.add_argument(
        "--out", type=Path, default=None, help="write the markdown report here (and raw points to <out>.json)"
    )
    p.add_argument("--dry-run", action="store_true", help="print the commands and the runtime estimate only")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke-test the plumbing: seed 0, a 4 s budget, 1024 steps, 16 evaluation episodes",
    )
    p.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="ENV:LEARNER:SEED",
        help="with --merge: leave this run out (e.g. minigrid/doorkey-8x8:pqn:0, run with an earlier preset)",
    )
    p.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        default=None,
        metavar="JSON",
        help="build the report from the raw points of earlier runs (their <out>.json) instead of running; a later file's run of the same env, learner and seed replaces an earlier one's",
    )
    args = p.parse_args(argv)
    args.envs = _names(args.envs, ENVS, "env", p)
    args.learners = _names(args.learners, LEARNERS, "learner", p)
    defaults = {"seeds": "0,1,2", "budget": 600.0, "steps": 100_000, "eval_every_s": 60.0, "eval_episodes": 0}
    for key, value in (QUICK if args.quick else defaults).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.quick and not args.eval_every:
        args.eval_every = args.steps  # in-run evaluations at --steps: no checkpoint to score afterwards
    args.seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    if args.steps < 1 or args.budget <= 0:
        p.error("--steps and --budget must be positive")
    args.env, args.total_steps = None, "config"  # for time_to_solve.gridrl_args: the experiment's own
    return args


def estimate_s(args: argparse.Namespace) -> float:
    return len(args.envs) * len(args.learners) * len(args.seeds) * (args.budget * 1.1 + 30)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.merge:
        raws = [json.loads(path.read_text()) for path in args.merge]
        # a later file's run of the same env, learner and seed replaces an earlier one's (a preset changed)
        latest = {(r["env"], r["learner"], r["seed"]): r for raw in raws for r in raw["runs"]}
        runs = {f"{env}:{learner}:{seed}": r for (env, learner, seed), r in latest.items()}
        unknown = [d for d in args.drop if d not in runs]
        if unknown:
            raise SystemExit(
                f"--drop {', '.join(unknown)}: no such run in the merged files; runs: {', '.join(runs)}"
            )
        records = [r for name, r in runs.items() if name not in args.drop]
        args.budget, args.steps = raws[0]["args"]["budget"], raws[0]["args"]["steps"]
        args.eval_episodes = raws[0]["args"].get("eval_episodes") or 0
        if any((r["args"]["budget"], r["args"]["steps"]) != (args.budget, args.steps) for r in raws):
            print("warning: the merged files differ in --budget / --steps; the first file's are shown")
        write(report(records, args, [raw["machine"] for raw in raws]), records, args, raws[0]["machine"])
        return
    machine = machine_info(args.threads)
    n = len(args.envs) * len(args.learners) * len(args.seeds)
    print(
        f"{len(args.envs)} envs x {len(args.learners)} learners x {len(args.seeds)} seeds = {n} runs of "
        f"{args.budget:g} s: {n * args.budget / 3600:.1f} h of training, about {estimate_s(args) / 3600:.1f} h "
        f"in all. Machine: {machine['nproc']} cores, {machine['cpu']}, torch {machine['torch']}, "
        f"{machine['threads']} torch threads per run, load average {machine['load_before'][0]:.2f}",
        flush=True,
    )
    if any(LEARNERS[name].sb3 for name in args.learners) and not args.dry_run:
        require_sb3("--learners")
    work = args.keep_runs or Path(tempfile.mkdtemp(prefix="gridrl_other_"))
    work.mkdir(parents=True, exist_ok=True)
    records = []
    try:
        for env in args.envs:
            game = ENVS[env]
            for name in args.learners:
                info = learner_config(game, LEARNERS[name], args)
                print(f"{game.label} / {name}: {LEARNERS[name].what}", flush=True)
                for seed in args.seeds:
                    if args.dry_run:
                        run_dir = work / f"{game.experiment}_{name}_s{seed}"
                        learner = LEARNERS[name]
                        cmd = (
                            sb3_cmd(game, seed, args, run_dir)
                            if learner.sb3
                            else gridrl_cmd(game, learner, seed, args, run_dir, info)
                        )
                        print(" ".join(cmd))
                        continue
                    records.append(run_one(game, name, seed, args, work, info))
        if args.dry_run:
            return
        write(report(records, args, [machine]), records, args, machine)
    finally:
        if args.keep_runs is None:
            shutil.rmtree(work, ignore_errors=True)


def write(
    text: str, records: list[dict[str, Any]], args: argparse.Namespace, machine: dict[str, Any]
) -> None:
    print()
    print(text)
    if not args.out:
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    raw = {
        "machine": machine,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "merge"},
        "runs": records,
    }
    args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str))
    print(f"\nwrote {args.out} and {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
