"""Time to solve: wall time and env steps until the greedy policy reaches 90 % / 95 % of the oracle.

For every config x seed, one training run at a time (run nothing else on the machine meanwhile):

* gridrl configs run the real command line, ``gridrl train <overrides> seed=S trainer.time_limit_s=B
  trainer.eval_every=<about --eval-every-s of training> trainer.checkpoint_every=0 ...``, in a fresh
  process; the script then reads ``eval/oracle_ratio`` (greedy mean return over the oracle's, on the
  trainer's 1000 fixed evaluation layouts) with its wall time from the run's TensorBoard events.
  Times are wall seconds since the run's first event (the TensorBoard writer opens just before the
  first env step: process start-up, imports and network construction are not counted; the trainer's
  own periodic evaluations are, as in ``make train``: see the "eval share" column).
  ``eval_every`` is in env steps: a short calibration run per config measures its env steps/s first
  (``--calibrate-s``), or give ``--eval-every CONFIG=STEPS``.
* ``sb3`` / ``sb3_clip`` run Stable-Baselines3 DQN (``benchmarks/sb3_peer.py``) with the default
  config's CNN on the same game through the gymnasium adapter for the same budget, evaluated with
  gridrl's Evaluator on the same layouts every ``--eval-every-s`` seconds of training; the evaluation
  time is subtracted from SB3's clock.  ``sb3`` learns from the game's rewards, ``sb3_clip`` from
  gridrl's reward transform (scale and clip, via a gymnasium RewardWrapper).

A seed that never reaches a threshold counts as "> budget" (medians are taken with it as infinite).
Env steps/s = env steps / training seconds with evaluation excluded.  Usage::

    python benchmarks/time_to_solve.py --configs default,mlp,full,dqn,sb3 --seeds 0,1,2 --budget 120 \\
        [--env sentdex] --out benchmarks/results/default_120s.md

Configs: default (pqn, fovea view, fovea_cnn), ego (pqn, ego view, ego_cnn), mlp, full (planes view + small_cnn), dqn, dqn_fast, seed_cnn,
sb3, sb3_clip, sb3_fast (SB3 with dqn_fast's values and 128 games).  ``--dry-run`` prints the commands only.  Raw evaluation points go to ``<out>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ORACLE_TAG = "eval/oracle_ratio"  # gridrl.tblog.EVAL_ORACLE_RATIO (kept literal: no torch import here)
SPS_TAG = "charts/SPS"


@dataclass
class Spec:
    """One benchmarked configuration."""

    what: str  # a description for the table
    overrides: list[str] = field(default_factory=list)  # gridrl train overrides
    sb3_reward: str | None = None  # "raw" | "clip" for the SB3 peer; None for gridrl
    sb3_agent: str = "dqn"  # the gridrl agent preset whose values the SB3 peer takes
    sb3_n_envs: int = 1  # games in the SB3 peer's DummyVecEnv
    sb3_obs_mode: str = "ego"  # the SB3 peer's view of the game (the gridrl rows it mirrors use ego)
    prior_sps: float = 10_000.0  # env steps/s guess when not calibrated (2-core CPU, alone)

    @property
    def is_sb3(self) -> bool:
        return self.sb3_reward is not None


def _shape(games: int, steps: int, minibatches: int) -> list[str]:
    """The overrides of a PQN game-batch shape: games x rollout steps, split into minibatches."""
    return [f"agent.n_envs={games}", f"agent.rollout_steps={steps}", f"agent.minibatches={minibatches}"]


# the eager fp32 path: torch's conv2d in float32, what ran before issue 19 (trainer.precision / trainer.conv)
_EAGER_FP32 = ["trainer.precision=fp32", "trainer.conv=torch"]


CONFIGS: dict[str, Spec] = {
    "default": Spec("gridrl pqn, the defaults (fovea view, fovea_cnn; no overrides)", [], prior_sps=15_000),
    "ego": Spec(
        "gridrl pqn, ego view (env.obs_mode=ego), ego_cnn (the default before the fovea view)",
        ["env.obs_mode=ego", "model=ego_cnn"],
        prior_sps=30_000,
    ),
    "mlp": Spec(
        "gridrl pqn, ego view (env.obs_mode=ego), mlp", ["env.obs_mode=ego", "model=mlp"], prior_sps=20_000
    ),
    "full": Spec(
        "gridrl pqn, full planes view, small_cnn",
        ["env.obs_mode=planes", "model=small_cnn"],
        prior_sps=10_000,
    ),
    "dqn": Spec(
        "gridrl dqn (replay), ego view, ego_cnn",
        ["agent=dqn", "env.obs_mode=ego", "model=ego_cnn"],
        prior_sps=1_500,
    ),
    "dqn_fast": Spec(
        "gridrl dqn_fast (replay, 128 games, batch 512), ego view, ego_cnn",
        ["agent=dqn_fast", "env.obs_mode=ego", "model=ego_cnn"],
        prior_sps=15_000,
    ),
    "seed_cnn": Spec(
        "gridrl pqn, ego view, seed_cnn", ["env.obs_mode=ego", "model=seed_cnn"], prior_sps=2_500
    ),
    # issue 19: the default learner before it (128 games x 16 steps, Adam 3e-4, epsilon over 1M env steps)
    # on the eager fp32 path; the default on that path (the numeric path alone); the game-batch shapes
    "eager_fp32": Spec(
        "gridrl pqn, fovea, 128 games x 16 steps, eager fp32 (conv2d), lr 3e-4, epsilon over 1M: "
        "the default learner before issue 19",
        [*_EAGER_FP32, *_shape(128, 16, 4), "agent.lr=3e-4", "agent.epsilon.decay_steps=1000000"],
        prior_sps=20_000,
    ),
    "default_fp32": Spec(
        "gridrl pqn, the defaults on the eager fp32 path (trainer.precision=fp32 trainer.conv=torch)",
        _EAGER_FP32,
        prior_sps=35_000,
    ),
    **{
        f"g{games}x{steps}": Spec(
            f"gridrl pqn, fovea, {games} games x {steps} steps, {mb} minibatches, chosen path",
            _shape(games, steps, mb),
            prior_sps=sps,
        )
        for games, steps, mb, sps in (
            (128, 16, 4, 35_000),
            (256, 8, 4, 45_000),
            (256, 16, 8, 45_000),
            (512, 8, 8, 48_000),
        )
    },
    "sb3": Spec("SB3 DQN, ego view, ego_cnn, game rewards", sb3_reward="raw"),
    "sb3_clip": Spec("SB3 DQN, ego view, ego_cnn, gridrl reward scale+clip", sb3_reward="clip"),
    "sb3_fast": Spec(
        "SB3 DQN with dqn_fast's values, 128 games, ego view, ego_cnn, gridrl reward scale+clip",
        sb3_reward="clip",
        sb3_agent="dqn_fast",
        sb3_n_envs=128,
    ),
    "sb3_fast_fovea": Spec(
        "SB3 DQN with dqn_fast's values, 128 games, fovea view, ego_cnn's layers, gridrl reward scale+clip",
        sb3_reward="clip",
        sb3_agent="dqn_fast",
        sb3_n_envs=128,
        sb3_obs_mode="fovea",
    ),
}


# ------------------------------------------------------------------------------------------ machine
def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), "unknown" where it cannot be read: every benchmark names it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine_info(threads: int) -> dict[str, Any]:
    """The machine facts every benchmark report names: cores, CPU, torch, threads, Python, commit, load."""
    cpu = cpu_model()
    # a driver that has torch loaded already (throughput, cuda_checks) names its version; this one does not
    # import torch (its runs are subprocesses), so it asks the interpreter that runs them
    torch_version = getattr(sys.modules.get("torch"), "__version__", None)
    if torch_version is None:
        try:
            torch_version = subprocess.run(
                [sys.executable, "-c", "import torch; print(torch.__version__)"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            torch_version = "unknown"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:  # no git on the machine (a copy of the tree on a GPU host)
        commit, dirty = "", ""
    # GRIDRL_COMMIT names the commit where the tree is a copy without its .git
    commit = commit or os.environ.get("GRIDRL_COMMIT", "unknown")
    return {
        "nproc": cores,
        "cpu": cpu,
        "torch": torch_version,
        "threads": threads or cores,
        "python": platform.python_version(),
        "commit": commit + (" (uncommitted changes)" if dirty else ""),
        "load_before": os.getloadavg(),
    }


# ------------------------------------------------------------------------------------------ runs
def gridrl_command() -> list[str]:
    exe = Path(sys.executable).parent / "gridrl"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("gridrl")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from gridrl.cli import main; sys.exit(main())"]


def gridrl_args(
    spec: Spec, args: argparse.Namespace, seed: int, run_dir: Path, eval_every: int, budget: float
) -> list[str]:
    ov = [f"env={args.env}"] if args.env else []
    ov += spec.overrides + list(args.set)
    ov += [
        f"seed={seed}",
        f"trainer.time_limit_s={budget:g}",
        f"trainer.eval_every={eval_every}",
        "trainer.checkpoint_every=0",
        "trainer.progress=false",
        f"trainer.threads={args.threads}",
        f"hydra.run.dir={run_dir}",
    ]
    if any(o.startswith("agent=dqn") for o in ov):  # the final checkpoint without the replay (pqn has none)
        ov.append("trainer.save_replay=false")
    if args.total_steps != "config":
        ov.append(f"trainer.total_steps={int(float(args.total_steps))}")
    return [*gridrl_command(), "train", *ov]


def sb3_args(spec: Spec, args: argparse.Namespace, seed: int, run_dir: Path, budget: float) -> list[str]:
    return [
        sys.executable,
        str(ROOT / "benchmarks" / "sb3_peer.py"),
        f"--env={args.env or 'default'}",
        "--model=ego_cnn",
        f"--obs-mode={spec.sb3_obs_mode}",
        f"--seed={seed}",
        f"--budget={budget:g}",
        f"--eval-every-s={args.eval_every_s:g}",
        f"--reward={spec.sb3_reward}",
        f"--agent={spec.sb3_agent}",
        f"--n-envs={spec.sb3_n_envs}",
        f"--threads={args.threads}",
        f"--run-dir={run_dir}",
    ]


def run_logged(cmd: list[str], log: Path, timeout: float) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        try:
            return subprocess.run(
                cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT, timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            return 124


def read_events(run_dir: Path, tag: str = ORACLE_TAG) -> dict[str, Any]:
    """The points of ``tag`` (default eval/oracle_ratio) and of charts/SPS in one run's TensorBoard files,
    as (seconds since the first event, env step, value)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    ea.Reload()
    t0 = ea.FirstEventTimestamp()
    tags = ea.Tags()["scalars"]

    def points(tag: str) -> list[tuple[float, int, float]]:
        return (
            [(e.wall_time - t0, int(e.step), float(e.value)) for e in ea.Scalars(tag)] if tag in tags else []
        )

    return {"evals": points(tag), "sps": points(SPS_TAG)}


def first_hit(
    evals: list[tuple[float, int, float]], threshold: float, strict: bool = False
) -> tuple[float, float]:
    """(seconds, env steps) of the first evaluation at >= ``threshold`` (> with ``strict``); (inf, inf)
    when none is."""
    hit = next(((t, s) for t, s, v in evals if (v > threshold if strict else v >= threshold)), None)
    return (hit[0], hit[1]) if hit else (math.inf, math.inf)


def eval_every_steps(sps: float, seconds: float) -> int:
    """``trainer.eval_every`` (env steps, a multiple of 1000) for an evaluation every ``seconds`` at ``sps``."""
    return max(1000, int(round(sps * seconds, -3)))


def calibrate(name: str, spec: Spec, args: argparse.Namespace, work: Path) -> float:
    """Env steps/s of a gridrl config from a short run (its env steps over its collect + update time)."""
    run_dir = work / f"calibrate_{name}"
    cmd = gridrl_args(spec, args, 0, run_dir, 0, args.calibrate_s)
    cmd += ["trainer.eval_episodes=10", "trainer.log_every=1024"]
    rc = run_logged(cmd, run_dir / "stdout.log", args.calibrate_s * 4 + 300)
    if rc != 0:
        raise RuntimeError(f"calibration of {name} failed (exit {rc}); see {run_dir / 'stdout.log'}")
    # env steps over the time spent collecting and updating (not charts/SPS: with more games than
    # log_every / rollout_steps, most logging windows hold no update and read as pure collection speed)
    metrics = json.loads((run_dir / "final" / "metrics.json").read_text())
    busy = metrics["times_s"]["collect"] + metrics["times_s"]["update"]
    return metrics["env_step"] / max(busy, 1e-9)


def run_one(
    name: str,
    spec: Spec,
    seed: int,
    args: argparse.Namespace,
    work: Path,
    eval_every: int,
    budget: float | None = None,
    tag: str = ORACLE_TAG,
) -> dict[str, Any]:
    """One run of ``spec`` for ``budget`` seconds (default ``args.budget``), timed on the evaluations' ``tag``."""
    budget = args.budget if budget is None else budget
    run_dir = work / f"{name}_s{seed}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    if spec.is_sb3:
        cmd = sb3_args(spec, args, seed, run_dir, budget)
    else:
        cmd = gridrl_args(spec, args, seed, run_dir, eval_every, budget)
    print(f"  $ {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    rc = run_logged(cmd, run_dir / "stdout.log", budget * 3 + 300)
    wall = time.perf_counter() - start
    rec: dict[str, Any] = {
        "config": name,
        "seed": seed,
        "budget": budget,
        "rc": rc,
        "process_wall_s": wall,
        "run_dir": str(run_dir),
    }
    if rc != 0:
        tail = (
            (run_dir / "stdout.log").read_text().splitlines()[-5:]
            if (run_dir / "stdout.log").exists()
            else []
        )
        rec["error"] = " | ".join(tail)
        print(f"  FAILED (exit {rc}): {rec['error']}", flush=True)
        return rec
    ev = read_events(run_dir, tag)
    metrics = json.loads((run_dir / "final" / "metrics.json").read_text())
    evals = ev["evals"]
    end = evals[-1][0] if evals else wall
    eval_s = float(metrics.get("times_s", {}).get("eval", 0.0))
    if spec.is_sb3:  # SB3's clock already excludes evaluation
        train_s = float(metrics["times_s"]["train"])
        eval_share = 0.0
    else:
        # never below the trainer's own collect + update time (a run of a few iterations writes its
        # first event late enough for wall minus evaluation to fall under it)
        times = metrics.get("times_s", {})
        busy = float(times.get("collect", 0.0)) + float(times.get("update", 0.0))
        train_s = max(end - eval_s, busy, 1e-9)
        eval_share = eval_s / max(end, 1e-9)
    rec.update(
        evals=evals,
        env_steps=int(metrics["env_step"]),
        train_s=train_s,
        sps=int(metrics["env_step"]) / train_s,
        eval_share=eval_share,
        final=evals[-1][2] if evals else math.nan,
        stopped_by_time=bool(metrics.get("stopped_by_time_limit", True)),
    )
    for thr in args.thresholds:
        rec[f"t{thr}"], rec[f"steps{thr}"] = first_hit(evals, thr)
    print(
        f"  -> {rec['env_steps']} env steps, {rec['sps']:.0f} env steps/s, final {100 * rec['final']:.1f}% "
        + ("of oracle" if tag == ORACLE_TAG else f"({tag})")
        + "".join(f", t{round(100 * th)}={_t(rec[f't{th}'], budget)}" for th in args.thresholds),
        flush=True,
    )
    return rec


# ------------------------------------------------------------------------------------------ table
def _t(v: float, budget: float) -> str:
    return f">{budget:g}" if math.isinf(v) else f"{v:.0f}"


def _steps(v: float) -> str:
    if math.isinf(v):
        return "-"
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}k"


def median_inf(values: list[float]) -> float:
    """The median; with infinite values ("never reached") the upper middle one, so they count as largest."""
    if not any(math.isinf(v) for v in values):
        return statistics.median(values)
    return sorted(values)[len(values) // 2]


def _spread(values: list[float], fmt: Any) -> str:
    if not values:
        return "-"
    med = median_inf(values)
    if len(values) == 1:
        return fmt(med)
    return f"{fmt(med)} [{fmt(min(values))}-{fmt(max(values))}]"


def table(records: list[dict[str, Any]], names: list[str], args: argparse.Namespace) -> str:
    ths = args.thresholds
    head = ["config", "what", "runs"]
    head += [f"t{round(100 * th)} s median [min-max]" for th in ths]
    head += [f"steps to {round(100 * ths[0])} %", "final % oracle", "env steps/s", "eval share"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        recs = [r for r in records if r["config"] == name]
        ok = [r for r in recs if r.get("rc") == 0]
        spec = CONFIGS.get(name.split(" (")[0])
        row = [name, spec.what if spec else "", f"{len(ok)}/{len(recs)}"]
        for th in ths:
            vals = [r[f"t{th}"] for r in ok]
            reached = sum(not math.isinf(v) for v in vals)
            cell = _spread(vals, lambda v: _t(v, args.budget))
            row.append(cell + ("" if reached == len(vals) else f" ({reached}/{len(vals)} reached)"))
        row.append(_spread([r[f"steps{ths[0]}"] for r in ok], _steps))
        row.append(_spread([100 * r["final"] for r in ok], lambda v: f"{v:.1f}"))
        row.append(_spread([r["sps"] for r in ok], lambda v: f"{v:,.0f}"))
        row.append(f"{100 * statistics.mean(r['eval_share'] for r in ok):.0f} %" if ok else "-")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def per_run_table(records: list[dict[str, Any]], args: argparse.Namespace) -> str:
    ths = args.thresholds
    head = [
        "config",
        "seed",
        *[f"t{round(100 * th)} s" for th in ths],
        *[f"steps{round(100 * th)}" for th in ths],
    ]
    head += ["final %", "env steps", "env steps/s", "stopped by"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        if r.get("rc") != 0:
            lines.append(f"| {r['config']} | {r['seed']} | failed (exit {r['rc']}): {r.get('error', '')} |")
            continue
        row = [r["config"], str(r["seed"])]
        row += [_t(r[f"t{th}"], args.budget) for th in ths] + [_steps(r[f"steps{th}"]) for th in ths]
        row += [
            f"{100 * r['final']:.1f}",
            f"{r['env_steps']:,}",
            f"{r['sps']:,.0f}",
            "time" if r["stopped_by_time"] else "total_steps",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def report(
    records: list[dict[str, Any]],
    names: list[str],
    args: argparse.Namespace,
    machine: dict[str, Any],
    eval_every: dict[str, int],
    source: str | None = None,
    notes: list[str] | None = None,
) -> str:
    """The markdown report; ``source`` replaces the command line (a rebuilt report says its raw files),
    ``notes`` (edits of the raw files) go before the statistics."""
    load_after = os.getloadavg()
    gridrl_evals = ", ".join(f"{n} {eval_every[n]:,}" for n in names if n in eval_every)
    parts = [
        f"# Time to solve: {args.env or 'default'} game, {args.budget:g} s budget, seeds {','.join(map(str, args.seeds))}",
        "",
        f"Machine: {machine['nproc']} cores ({machine['cpu']}), torch {machine['torch']}, {machine['threads']} torch "
        f"threads per run, Python {machine['python']}, one run at a time; load average before "
        f"{machine['load_before'][0]:.2f}, after {load_after[0]:.2f}. gridrl commit {machine['commit']}. "
        f"{time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        source or "Command: `python benchmarks/time_to_solve.py " + " ".join(sys.argv[1:]) + "`",
        "",
        table(records, names, args),
        "",
        "- t90 / t95: wall seconds from the run's first TensorBoard event to the first evaluation at >= 90 % / 95 % "
        "of the oracle's mean return (1000 fixed layouts, greedy, loop-stop rule); `>B`: not reached within the "
        "budget B (a seed that never reaches it counts as infinite in the median).",
        "- gridrl times include gridrl's own periodic evaluations (eval share = their part of the wall time); "
        "SB3's clock excludes its evaluations (subtracted), so SB3 is not charged for them.",
        f"- gridrl eval_every (env steps, about {args.eval_every_s:g} s of training): {gridrl_evals or '-'}; "
        f"SB3 evaluates every {args.eval_every_s:g} s of training.",
        "- env steps/s: env steps over training seconds with evaluation excluded.",
    ]
    if args.total_steps == "config":
        parts.append(
            "- trainer.total_steps is each config's own (its lr annealing schedule depends on it): a run that "
            "reaches it before the budget stops there (`stopped by total_steps` below)."
        )
    if notes:
        parts += ["", "Edits of the raw file:", *notes]
    parts += ["", stats_section(records, names, args)]
    parts += ["", "## Runs", "", per_run_table(records, args), ""]
    return "\n".join(parts)


def stats_section(
    records: list[dict[str, Any]],
    names: list[str],
    args: argparse.Namespace,
    score: str = "oracle ratio",
    compare: bool = True,
    key: str = "config",
) -> str:
    """IQM / mean / median of the final score (``score``: what the evaluations' values are) and times to
    each threshold (env steps and seconds), each with a 95 % stratified bootstrap interval over the seeds
    (``gridrl.stats``), and (``compare``) the probability that each config's final score beats the first
    config's. Records are grouped by their ``key`` field (``config``; the game matrix's ``game``)."""
    from gridrl import stats

    ok = {n: [r for r in records if r.get(key) == n and r.get("rc") == 0 and r.get("evals")] for n in names}
    ok = {n: rs for n, rs in ok.items() if rs}
    if not ok:
        return ""
    finals = {n: [r["final"] for r in rs] for n, rs in ok.items()}
    first = next(iter(ok))
    poi = {
        (n, first): stats.probability_of_improvement(finals[n], finals[first])
        for n in ok
        if n != first and compare
    }
    text = [
        "## Statistics over seeds",
        "",
        "Estimates with 95 % stratified-bootstrap confidence intervals over the seeds (`gridrl.stats`, after "
        "Agarwal et al. 2021); a time interval bound `>N` means some runs never reached the threshold within "
        "the budget (censored, counted as infinite, never as the budget)."
        + (f" P(X > Y): the probability that a run of X ends above a run of Y (Y = {first})." if poi else ""),
        "",
        stats.format_markdown(
            stats.aggregate(finals), poi or None, score_name=f"final {score}", percent=True
        ),
    ]
    for th in args.thresholds:
        times = {
            n: stats.time_to_threshold(
                [([s for _, s, _ in r["evals"]], [v for _, _, v in r["evals"]], [t for t, _, _ in r["evals"]])
                 for r in rs],
                th,
            )
            for n, rs in ok.items()
        }  # fmt: skip
        text.append(stats.format_markdown(times=times, score_name=score, percent=True))
    return "\n".join(text)


# ------------------------------------------------------------------------------------------ main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--configs", default="default,mlp,full,dqn,sb3", help=f"comma list of {', '.join(CONFIGS)}"
    )
    p.add_argument("--seeds", default="0,1,2", help="comma list of training seeds")
    p.add_argument("--budget", type=float, default=120.0, help="wall seconds of training per run")
    p.add_argument("--env", default=None, help="env preset for every config (gridrl env=..., SB3 preset)")
    p.add_argument(
        "--eval-every-s", type=float, default=7.5, help="target seconds of training between evaluations"
    )
    p.add_argument(
        "--eval-every",
        action="append",
        default=[],
        metavar="CONFIG=STEPS",
        help="fix a gridrl config's eval_every (skips its calibration)",
    )
    p.add_argument(
        "--calibrate-s",
        type=float,
        default=10.0,
        help="length of the env-steps/s calibration run per gridrl config (0: use built-in guesses)",
    )
    p.add_argument("--thresholds", default="0.9,0.95", help="oracle ratios to time")
    p.add_argument(
        "--total-steps",
        default="config",
        help="trainer.total_steps: 'config' (keep each config's) or a number",
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
    p.add_argument(
        "--interleave",
        action="store_true",
        help="run seed by seed, every config in turn (A B A B ...), so that the machine's speed drift hits all alike",
    )
    p.add_argument("--dry-run", action="store_true", help="print the commands and the runtime estimate only")
    p.add_argument(
        "--report",
        type=Path,
        nargs="+",
        default=None,
        metavar="JSON",
        help="run nothing: rebuild the report from these raw files (<out>.json of earlier runs, merged in order)",
    )
    args = p.parse_args(argv)
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in args.configs if c not in CONFIGS]
    if unknown:
        p.error(f"unknown config(s) {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.thresholds = [float(t) for t in args.thresholds.split(",") if t.strip()]
    fixed = {}
    for item in args.eval_every:
        name, _, steps = item.partition("=")
        if name not in CONFIGS or not steps:
            p.error(f"--eval-every {item!r}: expected CONFIG=STEPS with CONFIG one of {', '.join(CONFIGS)}")
        fixed[name] = int(float(steps))
    args.eval_every = fixed
    if args.total_steps != "config":
        try:
            float(args.total_steps)
        except ValueError:
            p.error("--total-steps: 'config' or a number")
    return args


def estimate_s(args: argparse.Namespace) -> float:
    gridrl = [c for c in args.configs if not CONFIGS[c].is_sb3]
    calib = (
        sum(c not in args.eval_every for c in gridrl) * (args.calibrate_s + 15) if args.calibrate_s > 0 else 0
    )
    return calib + len(args.configs) * len(args.seeds) * (args.budget * 1.1 + 15)


def require_sb3(option: str) -> None:
    """Exit with one line when Stable-Baselines3 (the peer runs) is not installed."""
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        sys.exit(f"stable-baselines3 is not installed: pip install -e '.[bench]' (or drop sb3 from {option})")


def rebuild(args: argparse.Namespace) -> None:
    """``--report``: the report of earlier runs (their raw JSON files merged), to stdout or ``--out``."""
    raws = [json.loads(f.read_text()) for f in args.report]
    records, seen = [], set()
    for f, raw in zip(args.report, raws, strict=True):
        clash = {(r["config"], r["seed"]) for r in raw["runs"]} & seen
        for r in raw["runs"]:  # one config measured in two files (other --set) keeps both, labelled
            records.append(r | {"config": f"{r['config']} ({f.stem})"} if clash else r)
            seen.add((r["config"], r["seed"]))
    names = list(dict.fromkeys(r["config"] for r in records))
    first = raws[0]["args"]
    args.budget, args.thresholds = float(first["budget"]), [float(t) for t in first["thresholds"]]
    args.seeds = sorted({int(r["seed"]) for r in records})
    args.env, args.total_steps, args.eval_every_s = (
        first["env"],
        first["total_steps"],
        float(first["eval_every_s"]),
    )
    eval_every = {k: v for raw in raws for k, v in raw["eval_every"].items()}
    source = (
        "Report of the runs in " + ", ".join(map(str, args.report)) + ": "
        "`python benchmarks/time_to_solve.py " + " ".join(sys.argv[1:]) + "`"
    )
    # records a raw file says were rerun or relabelled, and why
    notes = [f"- {what}: {why}" for raw in raws for what, why in raw.get("replaced", {}).items()]
    machine = raws[0]["machine"] | {"load_before": [math.nan]}
    text = report(records, names, args, machine, eval_every, source, notes)
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.report:
        rebuild(args)
        return
    machine = machine_info(args.threads)
    print(
        f"{len(args.configs)} configs x {len(args.seeds)} seeds x {args.budget:g} s: about "
        f"{estimate_s(args) / 60:.0f} min. Machine: {machine['nproc']} cores, {machine['cpu']}, torch {machine['torch']}, "
        f"load average {machine['load_before'][0]:.2f}",
        flush=True,
    )
    if any(CONFIGS[c].is_sb3 for c in args.configs) and not args.dry_run:
        require_sb3("--configs")
    work = args.keep_runs or Path(tempfile.mkdtemp(prefix="gridrl_tts_"))
    work.mkdir(parents=True, exist_ok=True)
    eval_every: dict[str, int] = {}
    try:
        for name in args.configs:
            spec = CONFIGS[name]
            if spec.is_sb3:
                continue
            if name in args.eval_every:
                eval_every[name] = args.eval_every[name]
                continue
            if args.calibrate_s > 0 and not args.dry_run:
                sps = calibrate(name, spec, args, work)
                print(f"calibration {name}: {sps:,.0f} env steps/s", flush=True)
            else:
                sps = spec.prior_sps
            eval_every[name] = eval_every_steps(sps, args.eval_every_s)
        if args.interleave:  # seed by seed, every config in turn: the machine's drift hits them alike
            order = [(name, seed) for seed in args.seeds for name in args.configs]
        else:
            order = [(name, seed) for name in args.configs for seed in args.seeds]
        if args.dry_run:
            for name, seed in order:
                spec = CONFIGS[name]
                run_dir = work / f"{name}_s{seed}"
                cmd = (
                    sb3_args(spec, args, seed, run_dir, args.budget)
                    if spec.is_sb3
                    else gridrl_args(spec, args, seed, run_dir, eval_every[name], args.budget)
                )
                print(" ".join(cmd))
            return
        records = []
        for name, seed in order:
            if args.interleave or seed == args.seeds[0]:
                print(f"{name}: {CONFIGS[name].what}", flush=True)
            records.append(run_one(name, CONFIGS[name], seed, args, work, eval_every.get(name, 0)))
        text = report(records, args.configs, args, machine, eval_every)
        print()
        print(text)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text)
            raw = {
                "machine": machine,
                "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                "eval_every": eval_every,
                "runs": records,
            }
            args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str))
            print(f"\nwrote {args.out} and {args.out.with_suffix('.json')}")
    finally:
        if args.keep_runs is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
