"""A curriculum with ``init_from``, beside training from scratch on the final game for the same budget.

Three stages, each a new ``gridrl train`` run started from the previous stage's final weights
(``init_from=<previous run dir>``: the network only; optimizer, counters and schedules start fresh):

1. the default game (sentdex's 10x10 rules, 1 static enemy), epsilon 1 -> 0.05;
2. 3 static enemies, epsilon ``--warm-epsilon`` -> 0.05;
3. 3 random-walking enemies (the final game), epsilon ``--warm-epsilon`` -> 0.05;

against one run from scratch on the final game with 3x the stage budget (the default learner; epsilon
1 -> 0.05). Every run anneals its learning rate 3e-4 -> 0 over its own budget and decays epsilon over
2/3 of it (the default's shape: 1M of 1.5M steps for the scratch run). Each run ends with the trainer's
greedy evaluation on its game's 1000 fixed layouts; the script reads ``final/metrics.json``: the mean
return and its ratio to the oracle (static enemies: the BFS optimum; moving enemies: the scripted
heuristic, which a learner can beat). One run at a time, in a fresh process (run nothing else
meanwhile). Usage::

    python benchmarks/curriculum.py --seeds 0,1,2 --stage-steps 500000 --out benchmarks/results/curriculum.md

``--dry-run`` prints the commands only; ``--keep-runs DIR`` keeps the run dirs; ``--report <out>.json``
prints the table of a saved measurement again.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from time_to_solve import gridrl_command, machine_info  # noqa: E402

GAMES = {  # stage name -> env overrides
    "default": [],
    "3 enemies": ["env.n_enemies=3"],
    "3 moving enemies": ["env.n_enemies=3", "env.enemy_motion=random"],
}
FINAL = "3 moving enemies"


def run_args(args: argparse.Namespace, seed: int, game: str, steps: int, start_eps: float) -> list[str]:
    return [
        *GAMES[game],
        f"seed={seed}",
        f"trainer.total_steps={steps}",
        f"agent.epsilon.start={start_eps:g}",
        f"agent.epsilon.decay_steps={2 * steps // 3}",
        "trainer.eval_every=0",
        "trainer.checkpoint_every=0",
        "trainer.progress=false",
        f"trainer.threads={args.threads}",
    ]


def train(args: argparse.Namespace, overrides: list[str], run_dir: Path) -> dict[str, Any]:
    cmd = [*gridrl_command(), "train", *overrides, f"hydra.run.dir={run_dir}"]
    print(" ".join(cmd), flush=True)
    if args.dry_run:
        return {}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    metrics = json.loads((run_dir / "final" / "metrics.json").read_text())
    metrics["wall_s"] = time.perf_counter() - start
    return metrics


def spread(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return f"{statistics.median(values):{fmt}} [{lo:{fmt}}{' to ' if lo < 0 else '-'}{hi:{fmt}}]"


def report(records: list[dict[str, Any]], args: argparse.Namespace, machine: dict[str, Any]) -> str:
    lines = [
        "# Curriculum with init_from vs from scratch",
        "",
        f"`python benchmarks/curriculum.py --seeds {args.seeds} --stage-steps {args.stage_steps} "
        f"--warm-epsilon {args.warm_epsilon:g} --threads {args.threads}`",
        "",
        f"CPU: {machine['lscpu']} ({machine['nproc']} cores), torch {machine['torch']}, "
        f"{machine['threads']} threads, commit {machine['commit']}, load average before "
        f"{machine['load_before'][0]:.2f}; measurement wall time {machine['wall_s'] / 60:.1f} min.",
        "",
        f"Final game: 10x10, sentdex's rules, 3 random-walking enemies. Curriculum: 3 stages of "
        f"{args.stage_steps:,} env steps (default game -> 3 static enemies -> 3 moving enemies), each a new run "
        f"with `init_from=<previous stage>`; scratch: {3 * args.stage_steps:,} env steps on the final game. "
        "Scores: the final greedy evaluation on 1000 fixed layouts of the run's own game (`final/metrics.json`); "
        "% is of the BFS oracle (static enemies) or of the scripted heuristic (moving enemies).",
        "",
        "| run | game | env steps | seeds | mean return, median [min-max] | % of oracle / heuristic | enemy rate "
        "| wall s |",
        "|---|---|---:|---:|---|---|---|---:|",
    ]
    for name, game in [("curriculum 1", "default"), ("curriculum 2", "3 enemies"), ("curriculum 3", FINAL),
                       ("scratch", FINAL)]:  # fmt: skip
        rows = [r for r in records if r["run"] == name]
        if not rows:
            continue
        bold = "**" if game == FINAL else ""
        lines.append(
            f"| {bold}{name}{bold} | {game} | {rows[0]['env_step']:,} | {len(rows)} | "
            f"{bold}{spread([r['mean_return'] for r in rows], '.2f')}{bold} | "
            f"{spread([100 * r['oracle_ratio'] for r in rows], '.1f')} | "
            f"{spread([100 * r['enemy_rate'] for r in rows], '.1f')} % | "
            f"{statistics.median(r['wall_s'] for r in rows):.0f} |"
        )
    final = {n: [r["mean_return"] for r in records if r["run"] == n] for n in ("curriculum 3", "scratch")}
    if all(final.values()):
        from gridrl import stats

        poi = {
            ("curriculum 3", "scratch"): stats.probability_of_improvement(
                final["curriculum 3"], final["scratch"]
            )
        }
        lines += [
            "",
            stats.format_markdown(stats.aggregate(final), poi, score_name="final mean return").rstrip(),
        ]
    lines += ["", "Every run:", "", "| run | seed | mean return | % | food | enemy | wall s |", "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in records:
        lines.append(
            f"| {r['run']} | {r['seed']} | {r['mean_return']:.2f} | {100 * r['oracle_ratio']:.1f} | "
            f"{100 * r['food_rate']:.1f} | {100 * r['enemy_rate']:.1f} | {r['wall_s']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def lscpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return next(
        (line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "?"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--stage-steps", type=int, default=500_000, help="env steps per curriculum stage")
    p.add_argument("--warm-epsilon", type=float, default=0.3, help="epsilon.start of the warm-started stages")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    p.add_argument(
        "--out", type=Path, default=None, help="write the table here (.md) and the raw records (.json)"
    )
    p.add_argument("--keep-runs", type=Path, default=None)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--report", type=Path, default=None, help="print the table of a saved measurement (.json)")
    args = p.parse_args(argv)
    if args.report:
        saved = json.loads(args.report.read_text())
        args = argparse.Namespace(**{**vars(args), **saved["args"]})
        print(report(saved["records"], args, saved["machine"]), end="")
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    machine = {**machine_info(args.threads), "lscpu": lscpu_model()}
    start = time.perf_counter()
    records = []
    with tempfile.TemporaryDirectory(prefix="gridrl_curriculum_") as tmp:
        work = args.keep_runs or Path(tmp)
        for seed in seeds:
            previous: Path | None = None
            for stage, game in enumerate(GAMES, 1):
                run_dir = work / f"s{seed}_stage{stage}"
                eps = 1.0 if previous is None else args.warm_epsilon
                warm = [f"init_from={previous}"] if previous else []
                m = train(args, [*run_args(args, seed, game, args.stage_steps, eps), *warm], run_dir)
                records.append({"run": f"curriculum {stage}", "seed": seed, "game": game, **m})
                previous = run_dir
            m = train(args, run_args(args, seed, FINAL, 3 * args.stage_steps, 1.0), work / f"s{seed}_scratch")
            records.append({"run": "scratch", "seed": seed, "game": FINAL, **m})
    if args.dry_run:
        return
    machine["wall_s"] = time.perf_counter() - start
    text = report(records, args, machine)
    print(text)
    if args.out:
        args.out.write_text(text)
        settings = {k: vars(args)[k] for k in ("seeds", "stage_steps", "warm_epsilon", "threads")}
        raw = {"args": settings, "machine": machine, "records": records}
        args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
